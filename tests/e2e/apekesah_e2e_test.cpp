// The first real bridge end to end: citizens submit to the Ape Kesah stand-in, the Batam node
// takes the aduan in (webhook, or rest_poll), relays them to the province, the province answers
// and closes, and the answers land back in Ape Kesah (callback, or rest_write) where the
// citizen sees them.

#include <doctest/doctest.h>

#include <filesystem>
#include <thread>

#include "core/json.hpp"
#include "standin.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;

namespace {

const char* kWebhookSecret = "apekesah-webhook-secret-0123456789";
const char* kCallbackSecret = "apekesah-callback-secret-987654321";
const std::string kMapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";

std::string aduan(int i) {
  return R"({"judul": "Jalan berlubang )" + std::to_string(i) +
         R"(", "uraian": "Lubang besar di depan halte",
             "lokasi": "Batam Kota", "tanggal": "21/11/2026", "waktu": "07:30", "opd_tujuan": "Dinas Pekerjaan Umum",
             "kategori": "Jalan", "pelapor": {"nama": "CANARY-NAME-7731", "hp": "0812-7000-1234", "anonim": true}})";
}

struct Federation {
  test::TempDir dir;
  Config kepri_cfg = [this] {
    setenv("SIMPUL_TEST_WEBHOOK", kWebhookSecret, 1);
    setenv("SIMPUL_TEST_CALLBACK", kCallbackSecret, 1);
    return test::node_config(dir, "provinsi-kepri",
                             R"("children": [{"id": "kota-batam", "regions": ["21.71"]}],)");
  }();
  test::TestNode kepri{kepri_cfg};
  http::Client kc = kepri.client();

  Federation() {
    SqliteStore s(test::keyed_store(kepri_cfg.store.path));
    setenv("SIMPUL_TEST_UPSTREAM", s.create_token("batam", "node", "kota-batam", 1).secret.c_str(),
           1);
  }
  std::string upstream() const {
    return R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(kepri.port()) +
           R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_TEST_UPSTREAM", "poll_wait_s": 5},)";
  }
  // The province answers and closes a complaint that reached it.
  void answer_and_close(const std::string& id, const std::string& text) {
    REQUIRE(kc.request("POST", "/v1/complaints/" + id + "/events",
                       R"({"kind": "responded", "payload": {"text": ")" + text + R"("}})",
                       test::TestNode::auth())
                .status == 201);
    REQUIRE(kc.request("POST", "/v1/complaints/" + id + "/events", R"({"kind": "closed"})",
                       test::TestNode::auth())
                .status == 201);
  }
  std::vector<std::string> kepri_ids() {
    auto r = kc.request("GET", "/v1/complaints?limit=500", "", test::TestNode::auth());
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto doc = json::parse(r.body);
    REQUIRE_MESSAGE(doc.has_value(), r.body.substr(0, 300));
    std::vector<std::string> ids;
    for (const auto& c : (*doc)["items"].GetArray()) ids.push_back(json::get_string(c, "id"));
    return ids;
  }
};

}  // namespace

TEST_CASE_FIXTURE(
    Federation,
    "e2e: Ape Kesah -> Batam (webhook) -> Kepri - and the answers back into Ape Kesah (callback)") {
  // Batam's port must be known before Ape Kesah can post to it: take a free one.
  const auto batam_port = test::free_port();
  apekesah::StandIn app({dir.file("apekesah.db"), 0,
                         "http://127.0.0.1:" + std::to_string(batam_port) + "/v1/ingest/apekesah",
                         kWebhookSecret, kCallbackSecret});
  auto batam_cfg =
      test::node_config(dir, "kota-batam",
                        upstream() + R"("connectors": [
      {"id": "apekesah", "type": "webhook", "mapping": ")" +
                            kMapping + R"(", "settings": {"secret": "env:SIMPUL_TEST_WEBHOOK"}},
      {"id": "apekesah-balik", "type": "callback", "mapping": ")" +
                            kMapping + R"(",
       "settings": {"url": "http://127.0.0.1:)" +
                            std::to_string(app.port()) +
                            R"(/simpul/callback", "secret": "env:SIMPUL_TEST_CALLBACK"}}],)");
  batam_cfg.http.port = batam_port;
  test::TestNode batam(batam_cfg);

  std::vector<std::int64_t> aduan_ids;
  for (int i = 0; i < 5; ++i) aduan_ids.push_back(app.submit(aduan(i)));
  REQUIRE(eventually([&] { return kepri_ids().size() == 5; }));
  CHECK(app.pending_webhooks() == 0);
  // The reporter asked to be anonymous: the name never left Batam.
  CHECK_FALSE(test::store_holds(kepri_cfg.store.path, "CANARY-NAME-7731"));
  CHECK(test::store_holds(batam_cfg.store.path, "CANARY-NAME-7731"));  // kept where it was given

  for (const auto& id : kepri_ids()) answer_and_close(id, "Sudah ditambal oleh Dinas PU");
  CHECK(eventually([&] {
    for (auto id : aduan_ids) {
      auto a = json::parse(app.get(id));
      if (json::get_string(*a, "status") != "Selesai") return false;
    }
    return true;
  }));
  auto shown = json::parse(app.get(aduan_ids[0]));
  CHECK(json::get_string(*shown, "tanggapan") == "Sudah ditambal oleh Dinas PU");
  // Each decision went back once: responded and closed per aduan.
  CHECK(app.callbacks().size() == 10);
}

TEST_CASE_FIXTURE(Federation,
                  "e2e: Ape Kesah polled by Batam (rest_poll) - 250 aduan sharing one time across "
                  "pages - answers written back (rest_write)") {
  apekesah::StandIn app({dir.file("apekesah.db"), 0, "", "", ""});
  // Many records with one updated time: page boundaries fall inside the group.
  const TimeMs t = system_now_ms() - 3'600'000;
  for (int i = 0; i < 250; ++i) app.insert_at(aduan(i), t);
  const std::string base = "http://127.0.0.1:" + std::to_string(app.port());
  auto batam_cfg =
      test::node_config(dir, "kota-batam",
                        upstream() + R"("connectors": [
      {"id": "apekesah-poll", "type": "rest_poll", "mapping": ")" +
                            kMapping + R"(",
       "settings": {"url": ")" +
                            base + R"(/api/aduan", "updated_at": "/updated_at", "page_size": 100,
                    "interval_s": 1, "min_interval_ms": 10}},
      {"id": "apekesah-tulis", "type": "rest_write", "mapping": ")" +
                            kMapping + R"(",
       "settings": {"url": ")" +
                            base + R"(/api/aduan/{source_id}/status",
                    "body": {"status": "{app_status}", "catatan": "{text}"}}}],)");
  test::TestNode batam(batam_cfg);
  REQUIRE(eventually(
      [&] { return db_count(batam_cfg.store.path, "SELECT count(*) FROM complaints") == 250; },
      60));
  // A new aduan at the same time as the others, after the cursor passed it: the overlap finds it.
  auto late = app.insert_at(aduan(999), t);
  CHECK(eventually(
      [&] { return db_count(batam_cfg.store.path, "SELECT count(*) FROM complaints") == 251; },
      30));
  CHECK(db_count(batam_cfg.store.path,
                 "SELECT count(DISTINCT ext_id) FROM refs WHERE system = 'apekesah'") == 251);
  REQUIRE(eventually([&] { return kepri_ids().size() == 251; }, 60));

  // Answer one at the province: it is written into Ape Kesah through the app's own API.
  std::string id;
  {
    SqliteStore s(test::keyed_store(batam_cfg.store.path));
    id = *s.find_by_ref("apekesah", std::to_string(late));
  }
  answer_and_close(id, "Lampu sudah diganti");
  CHECK(eventually(
      [&] { return json::get_string(*json::parse(app.get(late)), "status") == "Selesai"; }));
  CHECK(json::get_string(*json::parse(app.get(late)), "tanggapan") == "Lampu sudah diganti");
  // Polling again reads the aduan Batam itself just changed: nothing new comes of it.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(db_count(batam_cfg.store.path, "SELECT count(*) FROM complaints") == 251);
  CHECK(db_count(batam_cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
}

TEST_CASE(
    "e2e: make demo runs Ape Kesah -> Batam -> Kepri -> SP4N-LAPOR! - and the citizen sees the "
    "hub's answer in Ape Kesah - and in e-Aduan's MariaDB tables") {
  // The demo's configs, copied with their relative layout: its data lands in this temp dir.
  test::TempDir dir;
  std::filesystem::copy(std::string(SIMPUL_SOURCE_DIR) + "/config", dir.file("config"),
                        std::filesystem::copy_options::recursive);
  std::string out;
  REQUIRE(test::run_simpul({"demo", "--config-dir", dir.file("config/demo"), "--samples",
                            dir.file("config/demo/complaints.jsonl")},
                           &out) == 0);
  INFO(out);
  CHECK(
      out.find(
          "the citizen sees in Ape Kesah: status \"Selesai\", tanggapan \"Lubang sudah ditambal") !=
      std::string::npos);
  CHECK(out.find("-> Batam sees \"closed\"") != std::string::npos);
  // Bintan's e-Aduan (MariaDB only): its rows reach LAPOR! and the hub's answer is in its tables.
  CHECK(out.find("e-Aduan's tables now: aduan.status 4, tanggapan \"Papan jembatan diganti") !=
        std::string::npos);
  CHECK(out.find("at Kepri   : reporter absent") != std::string::npos);
  CHECK(out.find("at LAPOR!  : reporter absent (never sent), is_anonim 2") != std::string::npos);
  CHECK(out.find("LAPOR! #0") == std::string::npos);  // every complaint got a hub tracking id
  CHECK(out.find("report #4000") != std::string::npos);
  CHECK(out.find("after   -1") == std::string::npos);  // no step timed out
  CHECK(std::filesystem::exists(dir.file("demo-data/apekesah.db")));
}
