// Connectors on a real node: signed webhook deliveries through POST /v1/ingest/{id} (created,
// redelivered, updated, refused with nothing stored), health in /readyz and /metrics, and
// `simpul import` of export files (dry run, rejects, a second run that changes nothing).

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/json.hpp"
#include "core/log.hpp"
#include "node/importer.hpp"
#include "simpul/signing.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;

namespace {

const char* kSecret = "apekesah-webhook-secret-0123456789";

std::string connectors_member() {
  const std::string mapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";
  return R"("connectors": [
      {"id": "apekesah", "type": "webhook", "mapping": ")" +
         mapping + R"(", "settings": {"secret": "env:SIMPUL_TEST_WEBHOOK"}},
      {"id": "arsip", "type": "file_import", "mapping": ")" +
         mapping + R"(", "settings": {"format": "csv", "delimiter": ";"}}],)";
}

struct Bridge {
  test::TempDir dir;
  Config cfg = [this] {
    setenv("SIMPUL_TEST_WEBHOOK", kSecret, 1);
    return test::node_config(dir, "kota-batam", connectors_member());
  }();
  test::TestNode node{cfg};
  http::Client c = node.client();

  http::ClientResponse deliver(const std::string& body, TimeMs at = system_now_ms(),
                               const std::string& secret = kSecret) {
    std::string ts = std::to_string(at / 1000);
    return c.request(
        "POST", "/v1/ingest/apekesah", body,
        {{"x-simpul-timestamp", ts}, {"x-simpul-signature", webhook_signature(secret, ts, body)}});
  }
  std::int64_t count(const std::string& sql) { return db_count(cfg.store.path, sql); }
  std::string status_of(const std::string& id) {
    auto r = c.request("GET", "/v1/complaints/" + id, "", test::TestNode::auth());
    REQUIRE(r.status == 200);
    return json::get_string(*json::parse(r.body), "status");
  }
};

std::string aduan(const std::string& id, const std::string& status,
                  const std::string& judul = "Jalan berlubang") {
  return R"({"id": ")" + id + R"(", "judul": ")" + judul +
         R"(", "uraian": "Lubang besar di depan halte",
             "lokasi": "Batam Kota", "tanggal": "21/11/2026", "waktu": "07:30", "opd_tujuan": "Dinas Pekerjaan Umum",
             "status": ")" +
         status + R"(", "tanggapan": "Sudah ditambal", "dibuat": "2026-11-21 08:00:00",
             "diperbarui": "2026-11-22 09:00:00", "pelapor": {"nama": "CANARY-NAME-7731", "hp": "0812-7000-1234"}})";
}

}  // namespace

TEST_CASE_FIXTURE(Bridge,
                  "connectors: a signed delivery creates the complaint with its history - a "
                  "redelivery gets the first answer") {
  auto r = deliver(aduan("8812", "Selesai"));
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto doc = json::parse(r.body);
  const auto& result = (*doc)["results"][0];
  CHECK(json::get_string(result, "source_id") == "8812");
  CHECK(json::get_string(result, "outcome") == "created");
  std::string id = json::get_string(result, "complaint_id");
  CHECK(status_of(id) == "closed");
  CHECK(count("SELECT count(*) FROM events") == 4);  // created, disposed, responded, closed
  CHECK(count("SELECT count(*) FROM refs WHERE system = 'apekesah' AND ext_id = '8812'") == 1);
  CHECK(count("SELECT count(*) FROM raw_payloads WHERE source = 'apekesah'") == 1);
  // The reporter did not say: anonim, and the name stays out of the answer.
  CHECK(r.body.find("CANARY-NAME-7731") == std::string::npos);

  // The app retries the same delivery a minute later (new timestamp, same body).
  auto again = deliver(aduan("8812", "Selesai"), system_now_ms() + 60'000);
  CHECK(again.status == 200);
  CHECK(again.body == r.body);
  CHECK(count("SELECT count(*) FROM events") == 4);
  CHECK(count("SELECT count(*) FROM complaints") == 1);
}

TEST_CASE_FIXTURE(
    Bridge,
    "connectors: an update from the app amends what changed and adds the missing status events") {
  auto first = deliver(aduan("9001", "Submitted"));
  REQUIRE(first.status == 200);
  std::string id = json::get_string((*json::parse(first.body))["results"][0], "complaint_id");
  CHECK(status_of(id) == "disposed");
  auto update = deliver(aduan("9001", "Proses", "Jalan berlubang parah"));
  REQUIRE(update.status == 200);
  CHECK(json::get_string((*json::parse(update.body))["results"][0], "outcome") == "updated");
  CHECK(status_of(id) == "in_progress");
  auto events = test::stored_events(cfg.store.path);
  CHECK(std::count_if(events.begin(), events.end(), [](const Event& e) {
          return e.kind == EventKind::amended && e.payload.find("parah") != std::string::npos;
        }) == 1);
  CHECK(count("SELECT count(*) FROM events WHERE kind = 'progressed'") == 1);
  // Same content, different bytes (a field order or a new delivery id): nothing to do.
  auto same =
      deliver(R"({"extra": 1, )" + aduan("9001", "Proses", "Jalan berlubang parah").substr(1));
  REQUIRE(same.status == 200);
  CHECK(json::get_string((*json::parse(same.body))["results"][0], "outcome") == "unchanged");
  // The app reporting an older status never moves the complaint back.
  auto older = deliver(aduan("9001", "Submitted", "Jalan berlubang parah"));
  CHECK(json::get_string((*json::parse(older.body))["results"][0], "outcome") == "unchanged");
  CHECK(status_of(id) == "in_progress");
}

TEST_CASE_FIXTURE(Bridge,
                  "connectors: bad signature - stale - oversized - malformed and unmappable "
                  "deliveries store nothing") {
  const std::string good = aduan("7001", "Submitted");
  CHECK(deliver(good, system_now_ms(), "the-wrong-secret-0123456789").status == 401);
  CHECK(deliver(good, system_now_ms() - 10 * 60'000).status == 401);
  CHECK(c.request("POST", "/v1/ingest/apekesah", good).status == 401);  // unsigned
  std::string huge = R"({"id": "1", "judul": ")" + std::string(2 << 20, 'x') + "\"}";
  // 413 before the body is read; a client still writing may see the connection close first.
  int huge_status = 0;
  try {
    huge_status = deliver(huge).status;
  } catch (const std::system_error&) {
    huge_status = 413;
  }
  CHECK(huge_status == 413);
  CHECK(deliver("{\"id\": ").status == 400);
  CHECK(
      deliver(R"({"records": [)" + good + R"(, {"id": "7002", "pelapor": {"hp": "bukan nomor"}}]})")
          .status == 422);
  CHECK(deliver(aduan("7003", "Hilang")).status == 422);  // a status the mapping does not know
  CHECK(c.request("POST", "/v1/ingest/nobody", good).status == 404);
  CHECK(count("SELECT count(*) FROM complaints") == 0);
  CHECK(count("SELECT count(*) FROM events") == 0);
  CHECK(count("SELECT count(*) FROM raw_payloads") == 0);
  CHECK(count("SELECT count(*) FROM idempotency") == 0);
  // The first good delivery after all that is stored.
  CHECK(deliver(good).status == 200);
  CHECK(count("SELECT count(*) FROM complaints") == 1);
}

TEST_CASE_FIXTURE(Bridge,
                  "connectors: a delivery with a bad signature is logged at warn with where it "
                  "came from - a record the mapping refuses stays at info") {
  std::mutex mu;
  std::string captured;
  log::set_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    captured.append(line).push_back('\n');
  });
  log::set_level(log::Level::info);  // after the node applied its configured level (warn)
  deliver(aduan("8001", "Submitted"), system_now_ms(), "the-wrong-secret-0123456789");
  deliver(aduan("8002", "Hilang"));  // a status the mapping does not know
  log::set_sink(nullptr);
  std::lock_guard lock(mu);
  CAPTURE(captured);
  CHECK(
      captured.find(
          R"("level":"warn","msg":"connector.rejected","connector":"apekesah","reason":"signature")") !=
      std::string::npos);
  CHECK(captured.find(R"("remote":"127.0.0.1")") != std::string::npos);
  CHECK(
      captured.find(
          R"("level":"info","msg":"connector.rejected","connector":"apekesah","reason":"record")") !=
      std::string::npos);
}

TEST_CASE_FIXTURE(Bridge, "connectors: health is reported in readyz and metrics") {
  auto ready = c.request("GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(ready.body.find(R"("connector:apekesah":"ok")") != std::string::npos);
  CHECK(ready.body.find(R"("connector:arsip":"ok")") != std::string::npos);
  deliver(aduan("1", "Submitted"), system_now_ms(), "the-wrong-secret-0123456789");
  ready = c.request("GET", "/readyz");
  CHECK(ready.status == 200);  // reported, not gating
  CHECK(ready.body.find(R"("connector:apekesah":{"state":"degraded")") != std::string::npos);
  auto metrics = c.request("GET", "/metrics").body;
  CHECK(metrics.find(R"(simpul_connector_health{connector="apekesah"} 1)") != std::string::npos);
  CHECK(metrics.find(R"(simpul_connector_bad_signatures_total{connector="apekesah"} 1)") !=
        std::string::npos);
  deliver(aduan("2", "Submitted"));
  metrics = c.request("GET", "/metrics").body;
  CHECK(
      metrics.find(R"(simpul_connector_records_total{connector="apekesah",outcome="created"} 1)") !=
      std::string::npos);
  CHECK(metrics.find(R"(simpul_connector_health{connector="apekesah"} 0)") != std::string::npos);
}

TEST_CASE(
    "connectors: simpul import - dry run stores nothing - rejects listed - a second run changes "
    "nothing") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_WEBHOOK", kSecret, 1);
  auto cfg = test::node_config(dir, "kota-batam", connectors_member());
  std::ofstream(dir.file("old.csv"), std::ios::binary)
      << "\xEF\xBB\xBFid;judul;uraian;lokasi;tanggal;waktu;opd_tujuan;status;tanggapan;dibuat;"
         "diperbarui\r\n"
         "1;Jalan rusak;\"Lubang \"\"besar\"\"\r\ndi depan\";Batam;01/03/2025;08:00;Dinas "
         "Pekerjaan Umum;Selesai;Sudah;2025-03-01 09:00:00;2025-03-05 10:00:00\r\n"
         "2;Lampu;Gelap;Batam;02/03/2025;19:00;Dinas Pekerjaan Umum;Submitted;;2025-03-02 "
         "20:00:00;2025-03-02 "
         "20:00:00\r\n"
         "3;Salah;x;y;31/02/2025x;08:00;;Proses;;2025-03-02 20:00:00;\r\n"
         "4;Kurang kolom\r\n";
  std::string out;
  const std::string file = dir.file("old.csv");
  REQUIRE(test::run_simpul(
              {"import", "--config", cfg.file, "--connector", "arsip", "--dry-run", file}, &out) ==
          0);
  CHECK(out.find("dry run (nothing stored)") != std::string::npos);
  CHECK(out.find("4 rows, 2 created, 0 updated, 0 unchanged, 2 rejected") != std::string::npos);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints") == 0);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM cursors") == 0);

  REQUIRE(test::run_simpul({"import", "--config", cfg.file, "--connector", "arsip", file}, &out) ==
          0);
  INFO(out);
  CHECK(out.find("4 rows, 2 created, 0 updated, 0 unchanged, 2 rejected") != std::string::npos);
  // Not a terminal: plain progress lines with the rate and the ETA.
  CHECK(out.find("import: 100% (4 rows, ") != std::string::npos);
  CHECK(out.find(" rows/s, ETA ") != std::string::npos);
  std::ifstream rejects(file + ".rejects.csv");
  std::string text((std::istreambuf_iterator<char>(rejects)), std::istreambuf_iterator<char>());
  CHECK(text.find("line,source_id,reason\n5,") != std::string::npos);
  CHECK(text.find("/tanggal") != std::string::npos);
  CHECK(text.find("\n6,\"\",\"expected 11 columns, found 2\"") != std::string::npos);
  // History with the source's own times: closed at 2025-03-05 10:00 WIB.
  CHECK(db_count(cfg.store.path,
                 "SELECT count(*) FROM events WHERE kind = 'closed' AND at >= 1741143600000") == 1);
  const auto events = db_count(cfg.store.path, "SELECT count(*) FROM events");

  REQUIRE(test::run_simpul({"import", "--config", cfg.file, "--connector", "arsip", file}, &out) ==
          0);
  CHECK(out.find("0 rows") != std::string::npos);  // resumed after the end
  CHECK(out.find("resumed after line 6") != std::string::npos);
  REQUIRE(test::run_simpul(
              {"import", "--config", cfg.file, "--connector", "arsip", "--restart", file}, &out) ==
          0);
  CHECK(out.find("4 rows, 0 created, 0 updated, 2 unchanged, 2 rejected") != std::string::npos);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events") == events);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints") == 2);

  CHECK(test::run_simpul({"import", "--config", cfg.file, "--connector", "apekesah", file}, &out) ==
        78);
  CHECK(out.find("not a file_import connector") != std::string::npos);
  CHECK(test::run_simpul(
            {"import", "--config", cfg.file, "--connector", "arsip", dir.file("missing.csv")},
            &out) == 1);
}

TEST_CASE("connectors: imported complaints show the same deadlines in the list as by id") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_WEBHOOK", kSecret, 1);
  auto cfg = test::node_config(dir, "kota-batam", connectors_member());
  std::ofstream(dir.file("old.csv"), std::ios::binary)
      << "id;judul;uraian;lokasi;tanggal;waktu;opd_tujuan;status;tanggapan;dibuat;diperbarui\n"
         "2;Lampu;Gelap;Batam;02/03/2025;19:00;Dinas Pekerjaan Umum;Submitted;;2025-03-02 "
         "20:00:00;2025-03-02 "
         "20:00:00\n";
  std::string out;
  REQUIRE(test::run_simpul(
              {"import", "--config", cfg.file, "--connector", "arsip", dir.file("old.csv")},
              &out) == 0);
  test::TestNode node(cfg);
  auto c = node.client();
  auto list = c.request("GET", "/v1/complaints", "", test::TestNode::auth());
  REQUIRE(list.status == 200);
  auto page = json::parse(list.body);
  REQUIRE(page.has_value());
  REQUIRE((*page)["items"].Size() == 1);
  const auto& item = (*page)["items"][0];
  const std::string id = json::get_string(item, "id");
  auto one = c.request("GET", "/v1/complaints/" + id, "", test::TestNode::auth());
  REQUIRE(one.status == 200);
  auto by_id = json::parse(one.body);
  REQUIRE(by_id.has_value());
  CHECK(json::stringify((*by_id)["deadlines"]) == json::stringify(item["deadlines"]));
  CHECK(item["deadlines"].HasMember("followup_due"));  // Submitted: disposed to the OPD
}

TEST_CASE(
    "connectors: renormalize after a mapping fix amends only what really changed - dry run first") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_WEBHOOK", kSecret, 1);
  // A private copy of the mapping, to fix after the import.
  std::filesystem::copy_file(std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json",
                             dir.file("apekesah.json"));
  auto cfg = test::node_config(dir, "kota-batam",
                               R"("connectors": [{"id": "arsip", "type": "file_import",
      "mapping": ")" + dir.file("apekesah.json") +
                                   R"(", "settings": {"format": "jsonl"}}],)");
  std::ofstream(dir.file("old.jsonl"))
      << R"({"id": "1", "judul": "Jalan", "uraian": "a", "kategori": "Internet", "status": "Submitted"})"
         "\n"
      << R"({"id": "2", "judul": "Lampu", "uraian": "b", "kategori": "Jalan", "status": "Submitted"})"
         "\n";
  std::string out;
  REQUIRE(test::run_simpul(
              {"import", "--config", cfg.file, "--connector", "arsip", dir.file("old.jsonl")},
              &out) == 0);
  const auto events = db_count(cfg.store.path, "SELECT count(*) FROM events");

  // The fix: "internet" was mapped to the wrong hub topic.
  std::ifstream in(dir.file("apekesah.json"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto at = text.find(R"("internet": "13")");
  REQUIRE(at != std::string::npos);
  text.replace(at, 16, R"("internet": "14")");
  std::ofstream(dir.file("apekesah.json"), std::ios::trunc) << text;

  REQUIRE(test::run_simpul(
              {"renormalize", "--config", cfg.file, "--connector", "arsip", "--dry-run"}, &out) ==
          0);
  INFO(out);
  CHECK(out.find(R"(amended {"fields":{"category":{"local":"internet","topic_id":"14"}}})") !=
        std::string::npos);
  CHECK(out.find("dry run (nothing stored): 2 complaints, 1 changed, 0 failed") !=
        std::string::npos);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events") == events);

  REQUIRE(test::run_simpul({"renormalize", "--config", cfg.file, "--connector", "arsip"}, &out) ==
          0);
  CHECK(out.find("2 complaints, 1 changed, 0 failed") != std::string::npos);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'amended'") == 1);
  {
    // Read back through the store: each complaint as its events fold.
    SqliteStore store(StoreOptions{cfg.store.path, false, 5000, false, false});
    ListQuery all;
    all.limit = 500;
    int fixed = 0;
    for (const auto& id : store.list(all).ids)
      if (json::state_to_json(fold(store.events_of(id), FoldContext{}), true)
              .find(R"("topic_id":"14")") != std::string::npos)
        ++fixed;
    CHECK(fixed == 1);
  }
  REQUIRE(test::run_simpul({"renormalize", "--config", cfg.file, "--connector", "arsip"}, &out) ==
          0);
  CHECK(out.find("2 complaints, 0 changed, 0 failed") != std::string::npos);
}

TEST_CASE("connectors: connector test checks the app live - and says why it fails") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_WEBHOOK", kSecret, 1);
  const std::string mapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";
  auto dead = test::free_port();
  auto cfg =
      test::node_config(dir, "kota-batam",
                        R"("connectors": [
      {"id": "poll", "type": "rest_poll", "mapping": ")" +
                            mapping + R"(",
       "settings": {"url": "http://127.0.0.1:)" +
                            std::to_string(dead) + R"(/api/aduan", "updated_at": "/updated_at"}},
      {"id": "apekesah", "type": "webhook", "mapping": ")" +
                            mapping + R"(", "settings": {"secret": "env:SIMPUL_TEST_WEBHOOK"}}],)");
  std::string out;
  CHECK(test::run_simpul({"connector", "test", "--config", cfg.file, "poll"}, &out) == 1);
  CHECK(out.find("poll: FAILED") != std::string::npos);
  CHECK(out.find("Connection refused") != std::string::npos);
  CHECK(test::run_simpul({"connector", "test", "--config", cfg.file, "apekesah"}, &out) == 0);
  CHECK(test::run_simpul({"connector", "test", "--config", cfg.file, "nobody"}, &out) == 78);
  CHECK(test::run_simpul({"connector", "list"}, &out) == 0);
  for (const char* type : {"webhook", "file_import", "rest_poll", "callback", "rest_write"})
    CHECK(out.find(std::string(type) + "  (") != std::string::npos);
}

TEST_CASE(
    "connectors: on a terminal the import draws one redrawn line with rate and ETA - it fits the "
    "terminal's width - each redraw erases what it overwrote") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_WEBHOOK", kSecret, 1);
  auto cfg = test::node_config(dir, "kota-batam", connectors_member());
  {
    std::ofstream f(dir.file("rows.csv"), std::ios::binary);
    f << "id;judul;uraian\n";
    for (int i = 0; i < 1200; ++i) f << i << ";Aduan " << i << ";Uraian aduan\n";
  }
  ImportOptions opt;
  opt.connector_id = "arsip";
  opt.file = dir.file("rows.csv");
  opt.progress_bar = true;
  std::string drawn;
  opt.progress = [&](const std::string& text) { drawn += text; };
  int columns = 120;
  opt.columns = [&] { return columns; };
  auto r = run_import(cfg, opt);
  CHECK(r.created == 1200);
  CHECK(drawn.find("\r[########################################] 100%  1200 rows  ") !=
        std::string::npos);
  CHECK(drawn.find("/s  ETA ") != std::string::npos);
  CHECK(drawn.back() == '\n');  // the last redraw ends the line
  CHECK(std::count(drawn.begin(), drawn.end(), '\n') == 1);
  // Every redraw: \r, the line, then erase to its end (a shorter one leaves no debris).
  auto redraws = [&] {
    std::vector<std::string> out;
    for (std::size_t at = drawn.find('\r'); at != std::string::npos;) {
      std::size_t next = drawn.find('\r', at + 1);
      out.push_back(drawn.substr(at + 1, next == std::string::npos ? next : next - at - 1));
      at = next;
    }
    return out;
  };
  for (const auto& line : redraws()) CHECK(line.find("\x1b[K") != std::string::npos);

  // A narrow terminal: no line as wide as it (a wider one would wrap and stack half-lines).
  columns = 40;
  drawn.clear();
  opt.restart = true;
  run_import(cfg, opt);
  for (const auto& line : redraws()) {
    const std::string visible = line.substr(0, line.find("\x1b[K"));
    CHECK_MESSAGE(static_cast<int>(visible.size()) < columns, visible);
  }
}

TEST_CASE(
    "connectors: an aduan the app sent to no OPD is taken in undisposed on a node with an agency "
    "reference - never refused for a disposition to a made-up agency") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_WEBHOOK", kSecret, 1);
  auto cfg = test::node_config(dir, "kota-batam",
                               R"("reference": {"agencies": ")" + std::string(SIMPUL_SOURCE_DIR) +
                                   R"(/config/reference/agencies.json"},)" + connectors_member());
  test::TestNode node(cfg);
  auto c = node.client();
  // "Submitted" means "with an OPD" in Ape Kesah, but the citizen chose none.
  const std::string body = R"({"id": 4401, "judul": "Saluran tersumbat", "uraian": "Air meluap",
      "status": "Submitted", "dibuat": "2026-12-01 08:00:00", "diperbarui": "2026-12-01 08:00:00"})";
  const std::string ts = std::to_string(system_now_ms() / 1000);
  auto r = c.request(
      "POST", "/v1/ingest/apekesah", body,
      {{"x-simpul-timestamp", ts}, {"x-simpul-signature", webhook_signature(kSecret, ts, body)}});
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto answer = json::parse(r.body);
  REQUIRE(answer.has_value());
  const auto& result = (*answer)["results"][0];
  CHECK(json::get_string(result, "outcome") == "created");
  auto one = c.request("GET", "/v1/complaints/" + json::get_string(result, "complaint_id"), "",
                       test::TestNode::auth());
  REQUIRE(one.status == 200);
  CHECK(json::get_string(*json::parse(one.body), "status") ==
        "received");  // the admin's to dispose
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'disposed'") == 0);
}
