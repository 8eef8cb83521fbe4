// GET /v1/reports/agencies against a hand-computed fixture: 63 complaints, 5 agencies, follow-up
// delays chosen per complaint (November 2026 has no holidays, so a delay of k working days
// from Monday 2 November is a known date), and the same report at a province over two
// kabupaten/kota.

#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <optional>

#include "core/json.hpp"
#include "node/uplinks.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::TestNode;

namespace {

const Zone kWib{7 * 60, "WIB"};
TimeMs wib(const std::string& local) { return *parse_timestamp(local + ":00+07:00", kWib); }

// The k-th working day after Monday 2 November 2026, at 10:00 WIB.
TimeMs working_day(int k) {
  static const char* days[] = {"02", "03", "04", "05", "06", "09", "10", "11", "12", "13", "16"};
  return wib(std::string("2026-11-") + days[k] + "T10:00");
}

struct Fixture {
  test::TempDir dir;
  std::shared_ptr<std::atomic<TimeMs>> now = std::make_shared<std::atomic<TimeMs>>(0);
  Config cfg = [this] {
    std::ofstream(dir.file("agencies.json")) << R"([{"id": "dinas-pu-batam"},
      {"id": "disdukcapil-batam"}, {"id": "dinsos-batam"}, {"id": "dishub-batam"},
      {"id": "dinkes-batam"}, {"id": "dispora-batam"}])";
    Config c =
        test::node_config(dir, "kota-batam", R"("reference": {"agencies": "agencies.json"},)");
    c.sla.scheduler = false;  // the figures come from the fold, whoever wrote the breaches
    return c;
  }();
  std::unique_ptr<TestNode> node;
  std::unique_ptr<http::Client> c;
  std::map<std::string, std::string> tokens;

  Fixture() {
    now->store(wib("2026-10-30T09:00"));
    auto n = now;
    node = std::make_unique<TestNode>(cfg, [n] { return n->load(); });
    c = std::make_unique<http::Client>("127.0.0.1", node->port(), 10'000);
    SqliteStore s(StoreOptions{cfg.store.path, true, 5000, false});
    for (const char* a :
         {"dinas-pu-batam", "disdukcapil-batam", "dinsos-batam", "dishub-batam", "dinkes-batam"})
      tokens[a] = s.create_token(std::string("petugas-") + a, "read,act", "", 1, a).secret;
  }
  void at(TimeMs t) { now->store(t); }
  std::string ingest() {
    auto r =
        c->request("POST", "/v1/complaints", test::sample_complaint("Aduan"), TestNode::auth());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json::get_string(*json::parse(r.body), "id");
  }
  void act(const std::string& id, const std::string& body,
           const std::string& token = test::kAdminToken) {
    auto r = c->request("POST", "/v1/complaints/" + id + "/events", body, TestNode::auth(token));
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }
  void dispose(const std::string& id, const std::string& agency) {
    act(id, R"({"kind":"disposed","payload":{"agency":")" + agency + "\"}}");
  }
  void respond(const std::string& id, const std::string& agency) {
    act(id, R"({"kind":"responded","payload":{"text":"Ditindaklanjuti"}})", tokens.at(agency));
  }
};

const rapidjson::Value& row(const rapidjson::Document& d, const std::string& agency) {
  for (const auto& r : d["agencies"].GetArray())
    if (json::get_string(r, "agency") == agency) return r;
  FAIL("no row for " << agency);
  return d;
}
int count(const rapidjson::Value& r, const char* k) { return r[k]["count"].GetInt(); }
int n_of(const rapidjson::Value& r, const char* k) { return r[k]["n"].GetInt(); }

}  // namespace

TEST_CASE_FIXTURE(Fixture,
                  "report: agencies for a period match a hand-computed fixture of 63 complaints") {
  // October: one disposed to Disdukcapil before the period (not received in it; overdue now).
  std::string october = ingest();
  dispose(october, "disdukcapil-batam");

  // Monday 2 November, 09:00: 62 complaints disposed. Delays in working days to the
  // follow-up; nullopt: none.
  at(wib("2026-11-02T09:00"));
  using Delays = std::vector<std::optional<int>>;
  const std::map<std::string, Delays> plan = {
      {"dinas-pu-batam", {1, 2, 3, 4, 5, 5, 6, 7, 8, 10, std::nullopt, std::nullopt, 2, 3, 4}},
      {"disdukcapil-batam", Delays(15, 1)},
      {"dinsos-batam",
       {std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
        std::nullopt, std::nullopt, std::nullopt, std::nullopt, 6, 7, 8, 9, 10}},
      // Two of Dishub's go back as not its authority (on day 1); three are answered on day 3.
      {"dishub-batam",
       {3, 3, 3, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
        std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt}},
      {"dinkes-batam", {1, 1}},
  };
  std::map<std::string, std::vector<std::string>> ids;
  for (const auto& [agency, delays] : plan)
    for (std::size_t i = 0; i < delays.size(); ++i) {
      ids[agency].push_back(ingest());
      dispose(ids[agency].back(), agency);
    }
  const std::vector<std::string> rerouted = {ids["dishub-batam"][13], ids["dishub-batam"][14]};

  for (int k = 1; k <= 10; ++k) {
    at(working_day(k));
    for (const auto& [agency, delays] : plan)
      for (std::size_t i = 0; i < delays.size(); ++i)
        if (delays[i] == k) respond(ids[agency][i], agency);
    if (k == 1) {
      for (const auto& id : rerouted)
        act(id, R"({"kind":"not_authority","payload":{"agency":"dishub-batam"}})",
            tokens.at("dishub-batam"));
      at(working_day(1) + 3'600'000);  // 11:00: the admin disposes them to PU
      for (const auto& id : rerouted) dispose(id, "dinas-pu-batam");
    }
    if (k == 3)  // PU answers the two it got from Dishub: 2 working days after Tuesday 11:00
      for (const auto& id : rerouted) respond(id, "dinas-pu-batam");
    if (k == 4) {
      for (int i = 0; i < 10; ++i) act(ids["disdukcapil-batam"][i], R"({"kind":"closed"})");
      for (int i = 0; i < 4; ++i)
        act(ids["disdukcapil-batam"][i],
            R"({"kind":"linked","payload":{"system":"lapor","id":"LPR-)" + std::to_string(i) +
                "\"}}");
    }
  }

  at(wib("2026-11-20T10:00"));
  auto res =
      c->request("GET", "/v1/reports/agencies?from=2026-11-01&to=2026-11-30", "", TestNode::auth());
  REQUIRE_MESSAGE(res.status == 200, res.body);
  auto doc = json::parse(res.body);
  REQUIRE(doc.has_value());
  const auto& d = *doc;
  CHECK(d["min_n"].GetInt() == 5);

  const auto& pu = row(d, "dinas-pu-batam");
  CHECK(pu["received"].GetInt() == 17);  // 15 disposed, 2 rerouted from Dishub
  CHECK(count(pu, "followed_up") == 15);
  CHECK(pu["followed_up"]["rate"].GetDouble() == doctest::Approx(0.882));
  CHECK(count(pu, "followed_up_in_time") == 11);  // 1,2,3,4,5,5,2,3,4 and the rerouted two
  CHECK(n_of(pu, "followed_up_in_time") == 17);
  CHECK(count(pu, "done") == 0);
  CHECK(count(pu, "in_process") == 15);
  CHECK(pu["days_to_followup"]["n"].GetInt() == 15);
  CHECK(pu["days_to_followup"]["median"].GetDouble() == 4);
  CHECK(pu["days_to_followup"]["p90"].GetDouble() == 8);
  CHECK(pu["overdue_now"].GetInt() == 2);
  CHECK(count(pu, "not_authority") == 0);
  CHECK(pu["days_since_last_action"].GetInt() == 4);  // Monday 16 to Friday 20

  const auto& dukcapil = row(d, "disdukcapil-batam");
  CHECK(dukcapil["received"].GetInt() == 15);  // the October one is not in the period
  CHECK(count(dukcapil, "followed_up_in_time") == 15);
  CHECK(count(dukcapil, "done") == 10);
  CHECK(count(dukcapil, "in_process") == 5);
  CHECK(dukcapil["days_to_followup"]["median"].GetDouble() == 1);
  CHECK(dukcapil["overdue_now"].GetInt() == 1);  // ... but it is overdue now
  CHECK(count(dukcapil, "reached_hub") == 4);
  CHECK(dukcapil["reached_hub"]["rate"].GetDouble() == doctest::Approx(0.267));
  CHECK(dukcapil["days_since_last_action"].GetInt() == 13);  // its officers last acted on the 3rd

  const auto& dinsos = row(d, "dinsos-batam");
  CHECK(count(dinsos, "followed_up") == 5);
  CHECK(count(dinsos, "followed_up_in_time") == 0);
  CHECK(dinsos["days_to_followup"]["median"].GetDouble() == 8);
  CHECK(dinsos["days_to_followup"]["p90"].GetDouble() == 10);
  CHECK(dinsos["overdue_now"].GetInt() == 10);

  const auto& dishub = row(d, "dishub-batam");
  CHECK(dishub["received"].GetInt() == 15);
  CHECK(count(dishub, "not_authority") == 2);
  CHECK(count(dishub, "followed_up") == 3);
  CHECK(dishub["days_to_followup"]["n"].GetInt() == 3);
  CHECK(dishub["days_to_followup"]["median"].IsNull());  // 3 < min_n
  CHECK(dishub["overdue_now"].GetInt() == 10);

  // Two received, both answered: not enough data, never "100%".
  const auto& dinkes = row(d, "dinkes-batam");
  CHECK(count(dinkes, "followed_up") == 2);
  CHECK(dinkes["followed_up"]["rate"].IsNull());
  CHECK(json::get_string(dinkes["followed_up"], "note") == "not enough data");
  // In the reference, nothing received: still a row.
  CHECK(row(d, "dispora-batam")["received"].GetInt() == 0);

  // Holding a SP4N-LAPOR! tracking id: at the hub.
  auto linked = json::parse(
      c->request("GET", "/v1/complaints/" + ids["disdukcapil-batam"][0], "", TestNode::auth())
          .body);
  CHECK(json::get_string(*linked, "sync") == "at_hub");

  // CSV, and an agency-bound token gets its own row only.
  auto csv = c->request(
      "GET", "/v1/reports/agencies?from=2026-11-01&to=2026-11-30", "",
      {{"authorization", std::string("Bearer ") + test::kAdminToken}, {"accept", "text/csv"}});
  CHECK(csv.header("content-type").find("text/csv") == 0);
  CHECK(csv.body.find("\"dinas-pu-batam\",17,15,0.882,11,0.647,0,0.000,15,0.882,15,4,8,2,0,") !=
        std::string::npos);
  CHECK(csv.body.find("\"dinkes-batam\",2,2,NA,") != std::string::npos);
  auto own = c->request("GET", "/v1/reports/agencies?from=2026-11-01&to=2026-11-30", "",
                        TestNode::auth(tokens.at("dinsos-batam")));
  auto od = json::parse(own.body);
  REQUIRE(od.has_value());
  CHECK((*od)["agencies"].Size() == 1);
  CHECK(res.body.find("CANARY") == std::string::npos);

  CHECK(
      c->request("GET", "/v1/reports/agencies?from=2026-11-30&to=2026-11-01", "", TestNode::auth())
          .status == 400);
  CHECK(c->request("GET", "/v1/reports/agencies?from=kemarin&to=2026-11-01", "", TestNode::auth())
            .status == 400);
  CHECK(c->request("GET", "/v1/reports/agencies", "", TestNode::auth()).status == 400);

  // The CLI reads the same numbers from the store.
  std::string out;
  CHECK(test::run_simpul({"report", "agencies", "--config", dir.file("kota-batam.json"), "--from",
                          "2026-11-01", "--to", "2026-11-30", "--csv"},
                         &out) == 0);
  CHECK(out.find("\"disdukcapil-batam\",15,15,1.000,15,1.000,10,0.667,5,0.333,15,1,1,") !=
        std::string::npos);
}

TEST_CASE(
    "report: a province sees its kabupaten/kota's agencies through federation - without "
    "reporter identity") {
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  test::TempDir pdir, bdir, tdir;
  auto now = std::make_shared<std::atomic<TimeMs>>(wib("2026-11-02T09:00"));
  auto clock = [now] { return now->load(); };
  std::string ptext = test::config_json(pdir, "provinsi-kepri");
  ptext.replace(ptext.find("\"log\""), 0,
                R"("children": [{"id": "kota-batam", "regions": ["21.71"]},
                                {"id": "kota-tanjungpinang", "regions": ["21.72"]}],
    )");
  ptext.replace(ptext.find("\"tier\": \"kabkota\""), 17, "\"tier\": \"provinsi\"");
  ptext.replace(ptext.find("\"region\": \"21.71\""), 17, "\"region\": \"21\"");
  Config pcfg = parse_node_config(ptext, pdir.file("province.json"), pdir.path());
  pcfg.sla.scheduler = false;
  TestNode province(pcfg, clock);
  auto leaf_config = [&](test::TempDir& dir, const std::string& id, const std::string& region,
                         const char* env) {
    {
      SqliteStore s(StoreOptions{pcfg.store.path, true, 5000, false});
      setenv(env, s.create_token(id, "node", id, 1).secret.c_str(), 1);
    }
    std::string text = test::config_json(dir, id);
    text.replace(text.find("\"log\""), 0,
                 R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(province.port()) +
                     R"(", "node": "provinsi-kepri", "credential": "env:)" + env +
                     R"(", "poll_wait_s": 1},
    )");
    text.replace(text.find("\"region\": \"21.71\""), 17, "\"region\": \"" + region + "\"");
    Config c = parse_node_config(text, dir.file(id + ".json"), dir.path());
    c.sla.scheduler = false;
    return c;
  };
  Config bcfg = leaf_config(bdir, "kota-batam", "21.71", "SIMPUL_TEST_UP_BATAM");
  Config tcfg = leaf_config(tdir, "kota-tanjungpinang", "21.72", "SIMPUL_TEST_UP_TPI");
  TestNode batam(bcfg, clock), tpi(tcfg, clock);

  // Each leaf: 6 complaints to its own agency, 4 answered the next working day.
  auto run_leaf = [&](TestNode& leaf, const std::string& agency) {
    auto c = leaf.client();
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) {
      auto r = c.request("POST", "/v1/complaints", test::sample_complaint("Aduan warga"),
                         TestNode::auth());
      REQUIRE_MESSAGE(r.status == 201, r.body);
      ids.push_back(json::get_string(*json::parse(r.body), "id"));
      REQUIRE(c.request("POST", "/v1/complaints/" + ids.back() + "/events",
                        R"({"kind":"disposed","payload":{"agency":")" + agency + "\"}}",
                        TestNode::auth())
                  .status == 201);
    }
    return ids;
  };
  auto bids = run_leaf(batam, "dinas-pu-batam");
  auto tids = run_leaf(tpi, "dinas-pu-tanjungpinang");
  now->store(working_day(1));
  for (auto* pair : {&bids, &tids}) {
    TestNode& leaf = pair == &bids ? batam : tpi;
    auto c = leaf.client();
    for (int i = 0; i < 4; ++i)
      REQUIRE(c.request("POST", "/v1/complaints/" + (*pair)[i] + "/events",
                        R"({"kind":"responded","payload":{"text":"Sudah"}})", TestNode::auth())
                  .status == 201);
  }
  // Everything reached the province.
  REQUIRE(test::eventually([&] {
    return test::db_count(pcfg.store.path,
                          "SELECT count(*) FROM events WHERE kind = 'responded'") == 8;
  }));
  now->store(wib("2026-11-20T10:00"));
  auto pc = province.client();
  auto res =
      pc.request("GET", "/v1/reports/agencies?from=2026-11-01&to=2026-11-30", "", TestNode::auth());
  REQUIRE_MESSAGE(res.status == 200, res.body);
  auto doc = json::parse(res.body);
  REQUIRE(doc.has_value());
  for (const char* agency : {"dinas-pu-batam", "dinas-pu-tanjungpinang"}) {
    const auto& r = row(*doc, agency);
    CHECK(r["received"].GetInt() == 6);
    CHECK(count(r, "followed_up") == 4);
    CHECK(r["followed_up"]["rate"].GetDouble() == doctest::Approx(0.667));
    CHECK(count(r, "followed_up_in_time") == 4);
    CHECK(r["overdue_now"].GetInt() == 2);
    CHECK(r["days_to_followup"]["median"].IsNull());  // 4 < min_n
  }
  CHECK(res.body.find("CANARY") == std::string::npos);
  // The province holds no reporter of theirs at all: they were never sent up.
  CHECK_FALSE(test::store_holds(pcfg.store.path, "CANARY-NAME-7731"));
  CHECK(test::store_holds(bcfg.store.path, "CANARY-NAME-7731"));  // the leaf does keep it
}

TEST_CASE(
    "list: each complaint shows its sync state - local - queued - at_parent - failed - and "
    "the sync filter selects by it") {
  test::TempDir pdir, ldir, odir, sdir;
  Config pcfg = test::province_config(pdir);
  TestNode province(pcfg);
  TestNode leaf(test::node_config(ldir, "kota-batam", test::upstream_member(province)));
  auto c = leaf.client();
  auto ingest = [](http::Client& to, const std::string& region) {
    auto r = to.request("POST", "/v1/complaints",
                        test::sample_complaint("Aduan", R"(,"region":")" + region + "\""),
                        TestNode::auth());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json::get_string(*json::parse(r.body), "id");
  };
  auto sync_of = [](http::Client& on, const std::string& id) {
    auto r = on.request("GET", "/v1/complaints/" + id, "", TestNode::auth());
    return json::get_string(*json::parse(r.body), "sync");
  };
  std::string up = ingest(c, "21.71");
  CHECK(test::eventually([&] { return sync_of(c, up) == "at_parent"; }));
  // Tanjungpinang is not Batam's to send: the province refuses it for good.
  std::string refused = ingest(c, "21.72");
  CHECK(test::eventually([&] { return sync_of(c, refused) == "failed"; }));
  auto failed = c.request("GET", "/v1/complaints?sync=failed", "", TestNode::auth());
  CHECK(failed.body.find(refused) != std::string::npos);
  CHECK(failed.body.find(up) == std::string::npos);
  CHECK(c.request("GET", "/v1/complaints?sync=at_parent", "", TestNode::auth()).body.find(up) !=
        std::string::npos);
  CHECK(c.request("GET", "/v1/complaints?sync=sent", "", TestNode::auth()).status == 400);

  // A parent that does not answer: queued. No parent at all: local.
  TestNode cut(test::node_config(
      odir, "kota-batam",
      R"("upstream": {"url": "http://127.0.0.1:9", "node": "provinsi-kepri", "credential": "env:SIMPUL_TEST_UPSTREAM"},)"));
  auto cc = cut.client();
  std::string waiting = ingest(cc, "21.71");
  CHECK(sync_of(cc, waiting) == "queued");
  TestNode solo(test::node_config(sdir, "kota-batam", ""));
  auto sc = solo.client();
  std::string alone = ingest(sc, "21.71");
  CHECK(sync_of(sc, alone) == "local");
  CHECK(sc.request("GET", "/v1/complaints?sync=local", "", TestNode::auth()).body.find(alone) !=
        std::string::npos);
}
