// rest_poll against the Ape Kesah stand-in's API: records come in, a record the mapping refuses
// is dead-lettered once (not again on every overlapping cycle) and polling goes on, and an app
// that cannot be reached shows as failing without losing the cursor.

#include <doctest/doctest.h>

#include <thread>

#include "core/json.hpp"
#include "standin.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;

TEST_CASE("rest_poll: a refused record is dead-lettered once - the others keep coming") {
  test::TempDir dir;
  auto app = std::make_unique<apekesah::StandIn>(
      apekesah::StandInOptions{dir.file("apekesah.db"), 0, "", "", ""});
  const TimeMs t = system_now_ms() - 10'000;
  app->insert_at(R"({"judul": "Satu", "uraian": "a"})", t);
  auto bad =
      app->insert_at(R"({"judul": "Dua", "uraian": "b", "pelapor": {"hp": "bukan nomor"}})", t);
  app->insert_at(R"({"judul": "Tiga", "uraian": "c"})", t);
  const std::string mapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";
  auto cfg = test::node_config(
      dir, "kota-batam",
      R"("connectors": [{"id": "ak-poll", "type": "rest_poll", "mapping": ")" + mapping +
          R"(", "settings": {"url": "http://127.0.0.1:)" + std::to_string(app->port()) +
          R"(/api/aduan", "updated_at": "/updated_at",
                   "page_size": 2, "interval_s": 1, "min_interval_ms": 10}}],)");
  test::TestNode node(cfg);
  REQUIRE(
      eventually([&] { return db_count(cfg.store.path, "SELECT count(*) FROM complaints") == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // more cycles re-read the overlap
  CHECK(db_count(cfg.store.path,
                 "SELECT count(*) FROM dead_letters WHERE destination = 'connector:ak-poll'") == 1);
  std::string out;
  CHECK(test::run_simpul({"dlq", "list", "--config", cfg.file}, &out) == 0);
  CHECK(out.find("record " + std::to_string(bad) + ": /pelapor/hp") != std::string::npos);
  CHECK(out.find("bukan nomor") == std::string::npos);  // the value itself is not repeated

  // The app goes away: the connector reports failing, and picks up where it was when it is back.
  auto c = node.client();
  CHECK(c.request("GET", "/metrics")
            .body.find(R"(simpul_connector_pages_total{connector="ak-poll"})") !=
        std::string::npos);
  app.reset();
  CHECK(eventually(
      [&] {
        return c.request("GET", "/readyz").body.find(R"("connector:ak-poll":{"state":"failing")") !=
               std::string::npos;
      },
      15));
  CHECK(db_count(cfg.store.path,
                 "SELECT count(*) FROM cursors WHERE name = 'connector.ak-poll.cursor'") == 1);
}
