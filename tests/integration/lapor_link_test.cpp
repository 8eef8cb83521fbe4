// The `lapor` upstream dialect against the SP4N-LAPOR! simulator: reports created with tracking
// ids stored as lapor:<nid>, privacy flags as the hub received them, hub decisions coming down
// as events, local follow-ups going up as claims, lost answers resolved without a second report,
// tokens expiring mid-run, faults, the hub down and back, and the topic tree for `simpul check`.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "core/json.hpp"
#include "http/multipart.hpp"
#include "lapor/lapor_settings.hpp"
#include "support/lapor_sim_support.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;

namespace {

std::string upstream_to(std::uint16_t port, const std::string& extra_lapor = "",
                        const std::string& extra = "") {
  setenv("SIMPUL_TEST_LAPOR_SECRET", test::kSimClientSecret, 1);
  // A sweep every second unless the test names its own.
  const std::string sweep =
      extra_lapor.find("sweep_interval_s") == std::string::npos ? R"(, "sweep_interval_s": 1)" : "";
  return R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(port) +
         R"(", "node": "lapor", "dialect": "lapor", "credential": "env:SIMPUL_TEST_LAPOR_SECRET", "timeout_ms": 1000,
         "max_backoff_ms": 1000)" +
         extra + R"(, "lapor": {"client_id": "kepri", "source": "simpul-kepri",
         "poll_interval_ms": 100)" +
         sweep + extra_lapor + "}},";
}

struct Kepri {
  test::TempDir dir;
  Config cfg;
  std::unique_ptr<test::TestNode> node;
  explicit Kepri(std::uint16_t hub_port, const std::string& extra_lapor = "",
                 const std::string& extra_top = "") {
    cfg = test::node_config(dir, "provinsi-kepri", upstream_to(hub_port, extra_lapor) + extra_top);
    node = std::make_unique<test::TestNode>(cfg);
  }
  std::string ingest(const std::string& body) {
    auto r = node->client().request("POST", "/v1/complaints", body, test::TestNode::auth());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json::get_string(*json::parse(r.body), "id");
  }
  void act(const std::string& id, const std::string& event) {
    auto r = node->client().request("POST", "/v1/complaints/" + id + "/events", event,
                                    test::TestNode::auth());
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }
  std::string status(const std::string& id) {
    auto r = node->client().request("GET", "/v1/complaints/" + id, "", test::TestNode::auth());
    return json::get_string(*json::parse(r.body), "status");
  }
  std::int64_t nid(const std::string& id) {
    return db_count(
        cfg.store.path,
        "SELECT coalesce(max(CAST(ext_id AS INTEGER)), 0) FROM refs WHERE system = 'lapor' "
        "AND complaint_id = '" +
            id + "'");
  }
  std::int64_t linked() {
    return db_count(cfg.store.path, "SELECT count(*) FROM refs WHERE system = 'lapor'");
  }
};

// Every report the hub holds, by ext_id (the complaint id).
std::map<std::string, rapidjson::Document> hub_reports(test::LaporSim& hub) {
  auto r = hub.client().request("GET", "/admin/streams", "", hub.admin());
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  REQUIRE(doc.has_value());
  std::map<std::string, rapidjson::Document> out;
  for (const auto& v : doc->GetArray()) {
    rapidjson::Document d;
    d.CopyFrom(v, d.GetAllocator());
    out[json::get_string(v, "ext_id")] = std::move(d);
  }
  return out;
}

void hub_action(test::LaporSim& hub, std::int64_t nid, const std::string& action,
                const std::string& body = "{}") {
  auto r = hub.client().request("POST", "/admin/stream/" + std::to_string(nid) + "/" + action, body,
                                hub.admin());
  REQUIRE_MESSAGE(r.status == 200, r.body);
}

std::string received(const rapidjson::Document& report, const char* field) {
  return json::get_string(report["received"], field);
}

}  // namespace

TEST_CASE(
    "lapor dialect: complaints become hub reports - tracking ids stored - privacy flags on the "
    "wire") {
  test::LaporSim hub;
  Kepri kepri(hub.port());
  const std::string pub = kepri.ingest(test::sample_complaint(
      "Jalan rusak publik", R"(,"privacy":"publik","category":{"local":"jalan","topic_id":"3"})"));
  const std::string anon =
      kepri.ingest(test::sample_complaint("Jalan rusak anonim", R"(,"privacy":"anonim")"));
  const std::string secret =
      kepri.ingest(test::sample_complaint("Pungli di kantor", R"(,"privacy":"rahasia")"));
  REQUIRE(eventually([&] { return kepri.linked() == 3; }));

  auto reports = hub_reports(hub);
  REQUIRE(reports.size() == 3);
  for (const auto& id : {pub, anon, secret}) {
    REQUIRE(reports.count(id));
    CHECK(json::get_string(reports[id], "nid") == std::to_string(kepri.nid(id)));
    CHECK(reports[id]["creates"].GetInt() == 1);
    CHECK(received(reports[id], "source") == "simpul-kepri");
    CHECK(received(reports[id], "content") == "Lubang di jalan sudah dua minggu.");
  }
  // Public: the reporter's name goes with it; a topic id the record has is sent.
  CHECK(received(reports[pub], "report_type") == "1");
  CHECK(received(reports[pub], "is_anonim") == "0");
  CHECK(received(reports[pub], "reporter_name") == "CANARY-NAME-7731");
  CHECK(received(reports[pub], "topik_nid") == "3");
  // Anonim: flagged, and no identity at all.
  CHECK(received(reports[anon], "is_anonim") == "2");
  CHECK(received(reports[anon], "report_type") == "1");
  CHECK(received(reports[anon], "topik_nid") == "0");
  // Rahasia: flagged as both, no identity.
  CHECK(received(reports[secret], "report_type") == "2");
  CHECK(received(reports[secret], "is_anonim") == "2");
  auto all = hub.client().request("GET", "/admin/streams", "", hub.admin()).body;
  CHECK(all.find("CANARY-NAME-7731") == all.rfind("CANARY-NAME-7731"));  // once: the public one
  CHECK(all.find("081270001234") == std::string::npos);
  CHECK(all.find("+6281270001234") == all.rfind("+6281270001234"));
  CHECK(all.find("2171010101900001") == std::string::npos);  // a NIK never goes to the hub
  // The tracking id is a `linked` event: it travels on like any other event.
  CHECK(db_count(kepri.cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'linked'") == 3);
}

TEST_CASE(
    "lapor dialect: hub decisions come down as events - a local follow-up goes up as a claim "
    "once") {
  test::LaporSim hub;
  Kepri kepri(hub.port());
  const std::string id = kepri.ingest(test::sample_complaint());
  REQUIRE(eventually([&] { return kepri.nid(id) > 0; }));
  const std::int64_t nid = kepri.nid(id);

  hub_action(hub, nid, "dispose", R"({"agency": "dinas-pu-batam"})");  // notified
  REQUIRE(eventually([&] { return kepri.status(id) == "disposed"; }));
  auto state = json::parse(
      kepri.node->client().request("GET", "/v1/complaints/" + id, "", test::TestNode::auth()).body);
  CHECK(json::get_string(*state, "agency") == "dinas-pu-batam");

  hub_action(hub, nid, "answer",
             R"({"text": "Sudah ditambal oleh Dinas PU", "agency": "dinas-pu-batam"})");
  REQUIRE(eventually([&] { return kepri.status(id) == "responded"; }));
  auto answers = test::stored_events(kepri.cfg.store.path);
  CHECK(std::count_if(answers.begin(), answers.end(), [](const Event& e) {
          return e.kind == EventKind::responded &&
                 e.payload.find("Sudah ditambal") != std::string::npos && e.origin == "lapor";
        }) == 1);

  // The OPD answers again here: one claim on the hub, with our source name.
  kepri.act(
      id,
      R"({"kind": "responded", "payload": {"text": "Pengaspalan ulang dijadwalkan pekan depan"}})");
  auto claims = [&] {
    http::Client c = hub.client();
    auto t = c.request("POST", "/api/lapor/token",
                       R"({"client_id": "kepri", "client_secret": ")" +
                           std::string(test::kSimClientSecret) + "\"}");
    auto token = json::get_string(*json::parse(t.body), "KeyToken");
    auto cl =
        c.request("GET", "/api/lapor/claims?nid=" + std::to_string(nid), "", {{"keytoken", token}});
    return json::parse(cl.body);
  };
  REQUIRE(eventually([&] { return (*claims())["data"].Size() == 2; }));
  auto list = claims();
  CHECK(json::get_string((*list)["data"][1], "claim_text") ==
        "Pengaspalan ulang dijadwalkan pekan depan");
  CHECK(json::get_string((*list)["data"][1], "source") == "simpul-kepri");

  // Closed at the hub: the sweep finds it (the hub sends no notification for a close).
  hub_action(hub, nid, "close");
  REQUIRE(eventually([&] { return kepri.status(id) == "closed"; }));
  // Our own claim came back in the hub's list and was not taken for a hub answer; nothing from
  // the hub went back up.
  CHECK(db_count(kepri.cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'responded'") ==
        2);
  CHECK((*claims())["data"].Size() == 2);
  // Reading the same hub state again stores nothing new.
  auto events = db_count(kepri.cfg.store.path, "SELECT count(*) FROM events");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(db_count(kepri.cfg.store.path, "SELECT count(*) FROM events") == events);
}

TEST_CASE(
    "lapor dialect: a create stored at the hub but answered too late is looked up - exactly one "
    "report each") {
  lapor::SimFaults f;
  f.hang_after_commit_rate = 1.0;  // every create is stored, and answered after the link gave up
  f.hang_ms = 2500;
  test::LaporSim hub(f);
  Kepri kepri(hub.port());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(kepri.ingest(test::sample_complaint("Aduan " + std::to_string(i))));
  REQUIRE(eventually([&] { return kepri.linked() == 3; }));
  auto reports = hub_reports(hub);
  CHECK(reports.size() == 3);
  for (const auto& id : ids) {
    REQUIRE(reports.count(id));
    CHECK(reports[id]["creates"].GetInt() == 1);  // never sent twice
    CHECK(json::get_string(reports[id], "nid") == std::to_string(kepri.nid(id)));
  }
  CHECK(db_count(kepri.cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
}

TEST_CASE(
    "lapor dialect: expiring tokens - 429 with Retry-After - 5xx - a slow hub - nothing lost and "
    "no report twice") {
  lapor::SimFaults f;
  f.expire_tokens_every = 4;
  f.rate_limit_every = 7;
  f.retry_after_s = 1;
  f.error_rate = 0.15;
  f.latency_ms = 20;  // a slow hub too
  f.seed = 7;
  test::LaporSim hub(f);
  Kepri kepri(hub.port());
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i)
    ids.push_back(kepri.ingest(test::sample_complaint("Aduan " + std::to_string(i))));
  REQUIRE(eventually([&] { return kepri.linked() == 12; }, 60));
  auto reports = hub_reports(hub);
  CHECK(reports.size() == 12);
  for (const auto& id : ids) {
    REQUIRE(reports.count(id));
    CHECK(reports[id]["creates"].GetInt() == 1);
  }
  CHECK(db_count(kepri.cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
  // The flow down survives the same faults.
  hub_action(hub, kepri.nid(ids[0]), "dispose", R"({"agency": "dinas-pu-batam"})");
  CHECK(eventually([&] { return kepri.status(ids[0]) == "disposed"; }, 60));
}

TEST_CASE("lapor dialect: the hub down then back - every complaint reaches it once") {
  const auto port = test::free_port();
  Kepri kepri(port);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(kepri.ingest(test::sample_complaint("Aduan " + std::to_string(i))));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(kepri.linked() == 0);
  CHECK(db_count(kepri.cfg.store.path,
                 "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = 'pending' "
                 "AND attempts > 0") >= 1);
  test::TempDir hub_dir;
  const std::string hub_db = hub_dir.file("lapor.db");
  {
    test::LaporSim hub({}, 3600, port, hub_db);
    REQUIRE(eventually([&] { return kepri.linked() == 4; }));
    CHECK(hub_reports(hub).size() == 4);
  }
  // Down again (flapping): a new complaint waits, then goes when the hub is back.
  ids.push_back(kepri.ingest(test::sample_complaint("Aduan sesudah")));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  {
    test::LaporSim hub({}, 3600, port,
                       hub_db);  // its tokens are gone with the restart: a new one is asked for
    REQUIRE(eventually([&] { return kepri.linked() == 5; }));
    auto reports = hub_reports(hub);
    CHECK(reports.size() == 5);
    for (const auto& id : ids) CHECK(reports[id]["creates"].GetInt() == 1);
  }
  CHECK(db_count(kepri.cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
}

TEST_CASE(
    "lapor dialect: a tracking id the hub gives twice is refused here - dead letter naming both") {
  // A hub whose database was reset hands out the same tracking ids again.
  const auto port = test::free_port();
  Kepri kepri(port);
  const std::string first = kepri.ingest(test::sample_complaint("Aduan pertama"));
  {
    test::LaporSim hub({}, 3600, port);
    REQUIRE(eventually([&] { return kepri.linked() == 1; }));
  }
  const std::string second = kepri.ingest(test::sample_complaint("Aduan kedua"));
  test::LaporSim fresh({}, 3600, port);
  REQUIRE(eventually(
      [&] { return db_count(kepri.cfg.store.path, "SELECT count(*) FROM dead_letters") == 1; }));
  CHECK(kepri.linked() == 1);
  CHECK(db_count(kepri.cfg.store.path, "SELECT count(*) FROM dead_letters WHERE complaint_id = '" +
                                           second + "' AND instr(error, '" + first + "') > 0") ==
        1);
}

TEST_CASE(
    "lapor dialect: the topic tree is cached - simpul check names a mapping topic the hub does not "
    "have") {
  test::LaporSim hub;
  const std::string mapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";
  setenv("SIMPUL_TEST_WEBHOOK", "apekesah-webhook-secret-0123456789", 1);
  Kepri kepri(hub.port(), "",
              R"("connectors": [{"id": "apekesah", "type": "webhook", "mapping": ")" + mapping +
                  R"(", "settings": {"secret": "env:SIMPUL_TEST_WEBHOOK"}}],)");
  REQUIRE(eventually([&] {
    return db_count(kepri.cfg.store.path,
                    "SELECT count(*) FROM cursors WHERE name = 'lapor.topics' AND value LIKE "
                    "'%Infrastruktur%'") == 1;
  }));
  kepri.node.reset();
  std::string out;
  // apekesah.json maps "internet" to topic 13, which this hub's tree does not have.
  CHECK(test::run_simpul({"check", "--config", kepri.dir.file("provinsi-kepri.json")}, &out) == 78);
  CHECK_MESSAGE(
      out.find("/lookups/topik/internet: topic id \"13\" is not in the hub's topic tree") !=
          std::string::npos,
      out);
  CHECK(out.find("/lookups/topik/jalan") == std::string::npos);
}

TEST_CASE("lapor dialect: config names what is wrong") {
  test::TempDir dir;
  auto bad = [&](const std::string& upstream, const std::string& pointer) {
    std::string err;
    try {
      test::node_config(dir, "provinsi-kepri", upstream);
    } catch (const ConfigError& e) {
      err = e.what();
    }
    CHECK_MESSAGE(err.find(pointer) != std::string::npos, err);
  };
  bad(R"("upstream": {"url": "http://127.0.0.1:9", "node": "lapor", "dialect": "lapor", "credential": "env:X"},)",
      "/upstream/lapor");
  bad(R"("upstream": {"url": "http://127.0.0.1:9", "node": "lapor", "dialect": "lapor", "credential": "env:X",
         "lapor": {"client_id": "k", "endpoints": {"crate": "/x"}}},)",
      "/upstream/lapor/endpoints/crate");
  bad(R"("upstream": {"url": "http://127.0.0.1:9", "node": "lapor", "dialect": "lapor", "credential": "env:X",
         "lapor": {"client_id": "k", "status_codes": {"9": "done"}}},)",
      "/upstream/lapor/status_codes/9");
  auto cfg = test::node_config(dir, "provinsi-kepri",
                               R"("upstream": {"url": "http://127.0.0.1:9", "node": "lapor",
      "dialect": "lapor", "credential": "env:X", "lapor": {"client_id": "k", "fields": {"topic": "kategori_id"},
      "success": {"create": 1}, "status_codes": {"3": "closed"}}},)");
  const lapor::Settings L = lapor::read_settings(cfg);
  CHECK(L.field("topic") == "kategori_id");
  CHECK(L.field("subject") == "subject");  // the rest keep their defaults
  CHECK(L.success.at("create") == 1);
  CHECK(L.status_codes.size() == 1);  // an operator's table replaces the default
}

TEST_CASE(
    "lapor dialect: attachments go as files when they can be fetched - otherwise as links in the "
    "content") {
  test::LaporSim hub;
  Kepri kepri(hub.port());
  // A file any HTTP server can give (the node's own /livez), and one that cannot be fetched.
  const std::string served = "http://127.0.0.1:" + std::to_string(kepri.node->port()) + "/livez";
  const std::string gone = "http://127.0.0.1:1/foto-hilang.jpg";
  const std::string id = kepri.ingest(test::sample_complaint(
      "Jalan rusak berfoto", R"(,"attachments":[{"uri":")" + served +
                                 R"(","name":"foto.jpg","mime":"image/jpeg"},{"uri":")" + gone +
                                 R"("}])"));
  REQUIRE(eventually([&] { return kepri.linked() == 1; }));
  auto reports = hub_reports(hub);
  REQUIRE(reports.count(id));
  CHECK(reports[id]["photos"].GetInt() == 1);
  CHECK(received(reports[id], "photo") == "1");
  CHECK(received(reports[id], "content").find("Lampiran: " + gone) != std::string::npos);
  CHECK(received(reports[id], "content").find(served) == std::string::npos);
}

TEST_CASE(
    "lapor dialect: a report staff entered on the hub by hand - simpul link - no second report and "
    "its status syncs") {
  const auto port = test::free_port();
  test::TempDir hub_dir;
  const std::string hub_db = hub_dir.file("lapor.db");
  std::int64_t nid = 0;
  {  // Staff type the complaint into LAPOR! themselves.
    test::LaporSim hub({}, 3600, port, hub_db);
    http::Client c = hub.client();
    auto t = c.request("POST", "/api/lapor/token",
                       R"({"client_id": "kepri", "client_secret": ")" +
                           std::string(test::kSimClientSecret) + "\"}");
    auto token = json::get_string(*json::parse(t.body), "KeyToken");
    auto [body, type] = http::build_multipart(
        {{"subject", "", "", "Jalan rusak (diketik ulang)"},
         {"content", "", "", "Diketik ulang oleh petugas dari surat warga."}});
    auto r =
        c.request("POST", "/api/lapor/stream", body, {{"keytoken", token}, {"content-type", type}});
    nid = (*json::parse(r.body))["nid"].GetInt64();
  }
  Kepri kepri(port);  // the hub is down while the complaint is stored and linked here
  const std::string id = kepri.ingest(test::sample_complaint());
  std::string out;
  REQUIRE(test::run_simpul({"link", "--config", kepri.dir.file("provinsi-kepri.json"), id,
                            "lapor:" + std::to_string(nid)},
                           &out) == 0);
  test::LaporSim hub({}, 3600, port, hub_db);
  hub_action(hub, nid, "dispose", R"({"agency": "dinas-pu-batam"})");
  REQUIRE(eventually([&] { return kepri.status(id) == "disposed"; }));
  // The push loop may still be waiting out its backoff from the time the hub was down.
  CHECK(eventually([&] {
    return db_count(kepri.cfg.store.path,
                    "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = "
                    "'pending'") == 0;
  }));
  CHECK(hub_reports(hub).size() == 1);  // the link's create saw the tracking id and sent nothing
}

TEST_CASE(
    "lapor dialect: a hub close of a report never answered here is a conflict an admin sees - the "
    "complaint stays disposed") {
  test::LaporSim hub;
  Kepri kepri(hub.port());
  const std::string id = kepri.ingest(test::sample_complaint());
  REQUIRE(eventually([&] { return kepri.nid(id) > 0; }));
  const std::int64_t nid = kepri.nid(id);
  hub_action(hub, nid, "dispose", R"({"agency": "dinas-pu-batam"})");
  REQUIRE(eventually([&] { return kepri.status(id) == "disposed"; }));
  hub_action(hub, nid, "close");  // nobody answered: our state machine refuses the close
  auto conflicts = [&] {
    auto r = kepri.node->client().request("GET", "/v1/complaints?conflict=true", "",
                                          test::TestNode::auth());
    return r.body;
  };
  REQUIRE(eventually([&] { return conflicts().find(id) != std::string::npos; }));
  CHECK(kepri.status(id) == "disposed");
  CHECK(db_count(kepri.cfg.store.path,
                 "SELECT count(*) FROM conflicts WHERE kind = 'closed' AND complaint_id = '" + id +
                     "'") == 1);
  // The sweep reads the same hub state again: still one conflict, one stored close.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(db_count(kepri.cfg.store.path,
                 "SELECT count(*) FROM events WHERE kind = 'closed' AND complaint_id = '" + id +
                     "'") == 1);
}

TEST_CASE(
    "lapor dialect: a second tracking id for one complaint is refused naming the one it has") {
  test::LaporSim hub;
  Kepri kepri(hub.port());
  const std::string id = kepri.ingest(test::sample_complaint());
  REQUIRE(eventually([&] { return kepri.nid(id) > 0; }));
  const std::string has = "lapor:" + std::to_string(kepri.nid(id));
  auto r = kepri.node->client().request(
      "POST", "/v1/complaints/" + id + "/events",
      R"({"kind": "linked", "payload": {"system": "lapor", "id": "999999"}})",
      test::TestNode::auth());
  CHECK(r.status == 409);
  CHECK(r.body.find("already has " + has) != std::string::npos);
  kepri.node.reset();
  std::string out;
  CHECK(test::run_simpul(
            {"link", "--config", kepri.dir.file("provinsi-kepri.json"), id, "lapor:999998"},
            &out) != 0);
  CHECK(out.find("already has " + has) != std::string::npos);
  CHECK(db_count(kepri.cfg.store.path,
                 "SELECT count(*) FROM refs WHERE system = 'lapor' AND complaint_id = '" + id +
                     "'") == 1);
}

TEST_CASE(
    "lapor dialect: the agency table folds two hub spellings into one agency - simpul check names "
    "a hub agency no entry maps") {
  test::LaporSim hub;
  Kepri kepri(hub.port(), R"(, "agencies": {"Dinas PU Kota Batam": "dinas-pu-batam"})");
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(kepri.ingest(test::sample_complaint("Aduan " + std::to_string(i))));
  REQUIRE(eventually([&] { return kepri.linked() == 3; }));
  hub_action(hub, kepri.nid(ids[0]), "dispose", R"({"agency": "Dinas PU Kota Batam"})");
  hub_action(hub, kepri.nid(ids[1]), "dispose", R"({"agency": "DINAS PU - KOTA  BATAM"})");
  hub_action(hub, kepri.nid(ids[2]), "dispose", R"({"agency": "Dinas Kesehatan"})");
  for (const auto& id : ids) REQUIRE(eventually([&] { return kepri.status(id) == "disposed"; }));
  auto agency = [&](const std::string& id) {
    auto r =
        kepri.node->client().request("GET", "/v1/complaints/" + id, "", test::TestNode::auth());
    return json::get_string(*json::parse(r.body), "agency");
  };
  CHECK(agency(ids[0]) == "dinas-pu-batam");
  CHECK(agency(ids[1]) == "dinas-pu-batam");
  CHECK(agency(ids[2]) == "Dinas Kesehatan");  // kept as the hub wrote it, and named below
  // One row for the OPD in the per-agency numbers, received 2.
  // The report's days are the node's (WIB): today there, which is tomorrow in UTC after 17:00.
  const std::string today = format_utc(system_now_ms() + 7 * 3'600'000LL).substr(0, 10);
  auto report = json::parse(kepri.node->client()
                                .request("GET", "/v1/reports/agencies?from=2026-01-01&to=" + today,
                                         "", test::TestNode::auth())
                                .body);
  REQUIRE(report.has_value());
  int rows = 0;
  for (const auto& row : (*report)["agencies"].GetArray()) {
    const std::string a = json::get_string(row, "agency");
    if (a.find("PU") != std::string::npos || a.find("pu") != std::string::npos) {
      ++rows;
      CHECK(a == "dinas-pu-batam");
      CHECK(row["received"].GetInt() == 2);
    }
  }
  CHECK(rows == 1);
  REQUIRE(eventually([&] {
    return db_count(kepri.cfg.store.path,
                    "SELECT count(*) FROM cursors WHERE name = 'lapor.unmapped_agencies' AND "
                    "value LIKE '%Dinas Kesehatan%'") == 1;
  }));
  kepri.node.reset();
  std::string out;
  CHECK(test::run_simpul({"check", "--config", kepri.dir.file("provinsi-kepri.json")}, &out) == 78);
  CHECK(out.find("the hub disposed reports to \"Dinas Kesehatan\", which no entry maps") !=
        std::string::npos);
  CHECK(out.find("DINAS PU") == std::string::npos);
}

TEST_CASE(
    "lapor dialect: a hub close arrives without the sweep - from the hub's list of changed reports "
    "- or the recent-activity pass - which takes over from a hub without that list - not with "
    "both off") {
  test::LaporSim hub;
  struct Mode {
    const char* settings;
    bool arrives;
  };
  int n = 0;
  for (const Mode& mode :
       {Mode{"", true}, Mode{R"(, "activity_poll": false, "hot_batch": 5)", true},
        Mode{R"(, "endpoints": {"list": "/api/lapor/no-such-list"})", true},
        Mode{R"(, "activity_poll": false, "hot_batch": 0)", false}}) {
    Kepri kepri(hub.port(), std::string(R"(, "sweep_interval_s": 3600)") + mode.settings);
    const std::string id = kepri.ingest(test::sample_complaint("Aduan " + std::to_string(++n)));
    REQUIRE(eventually([&] { return kepri.nid(id) > 0; }));
    const std::int64_t nid = kepri.nid(id);
    hub_action(hub, nid, "dispose", R"({"agency": "dinas-pu-batam"})");  // notified
    REQUIRE(eventually([&] { return kepri.status(id) == "disposed"; }));
    hub_action(hub, nid, "answer", R"({"text": "Sudah ditambal", "agency": "dinas-pu-batam"})");
    REQUIRE(eventually([&] { return kepri.status(id) == "responded"; }));
    // Every notification about the answer read, so none of them brings the close along.
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    hub_action(hub, nid, "close");  // the hub notifies no close
    if (mode.arrives) {
      CHECK(eventually([&] { return kepri.status(id) == "closed"; }, 10));
    } else {
      // Without either pass only the hourly sweep would find it.
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      CHECK(kepri.status(id) == "responded");
    }
  }
}
