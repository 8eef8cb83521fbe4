// The dashboard's server side, against a real node: its files and headers, the session login
// (cookie flags, expiry, logout, a revoked token), CSRF and origin checks on every write made
// with a session, a session never opening the federation API, and the /v1 routes the pages read
// (overview, workload, reference, dead letters, the actions on a complaint) under the same
// scopes and agency rules as the rest of the API. The browser itself: tests/ui.

#include <doctest/doctest.h>

#include <atomic>
#include <fstream>

#include "core/json.hpp"
#include "http/session.hpp"
#include "simpul/signing.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::TestNode;

namespace {

struct Dash {
  test::TempDir dir;
  std::atomic<TimeMs> now{system_now_ms()};
  Config cfg = [this] {
    std::ofstream(dir.file("agencies.json"))
        << R"([{"id": "dinas-pu-batam", "name": "Dinas PU"}, {"id": "disdukcapil-batam", "name": "Disdukcapil"}])";
    return test::node_config(
        dir, "kota-batam",
        R"("reference": {"agencies": "agencies.json"}, "ui": {"session_idle_minutes": 30, "session_max_hours": 2},)");
  }();
  TestNode node{cfg, [this] { return now.load(); }};
  http::Client c = node.client();
  std::string pu, dukcapil, reader, node_token, pu_id;

  Dash() {
    SqliteStore s(test::keyed_store(cfg.store.path));
    auto t = s.create_token("petugas-pu", "read,act", "", 1, "dinas-pu-batam");
    pu = t.secret;
    pu_id = t.id;
    dukcapil = s.create_token("petugas-dukcapil", "read,act", "", 1, "disdukcapil-batam").secret;
    reader = s.create_token("pemantau", "read", "", 1).secret;
    node_token = s.create_token("anak", "node", "kota-child", 1).secret;
  }

  struct Session {
    std::string cookie;  // "simpul_session=..."
    std::string csrf;
    std::string set_cookie;
  };
  Session login(const std::string& token) {
    auto r = c.request("POST", "/ui/session", R"({"token": ")" + token + R"("})",
                       {{"content-type", "application/json"}});
    REQUIRE_MESSAGE(r.status == 201, r.body);
    Session s;
    s.set_cookie = r.header("set-cookie");
    s.cookie = s.set_cookie.substr(0, s.set_cookie.find(';'));
    s.csrf = json::get_string(*json::parse(r.body), "csrf");
    return s;
  }
  http::ClientResponse with(const Session& s, const std::string& method, const std::string& target,
                            const std::string& body = "", bool csrf = true,
                            std::vector<http::Header> extra = {}) {
    std::vector<http::Header> h{{"cookie", s.cookie}, {"content-type", "application/json"}};
    if (csrf) h.push_back({"x-csrf-token", s.csrf});
    for (auto& e : extra) h.push_back(std::move(e));
    return c.request(method, target, body, h);
  }
  std::string ingest(const std::string& title, const std::string& privacy = "anonim") {
    auto r = c.request("POST", "/v1/complaints",
                       test::sample_complaint(title, R"(,"privacy":")" + privacy + "\""),
                       TestNode::auth());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json::get_string(*json::parse(r.body), "id");
  }
  void dispose(const std::string& id, const std::string& agency) {
    auto r = c.request("POST", "/v1/complaints/" + id + "/events",
                       R"({"kind": "disposed", "payload": {"agency": ")" + agency + R"("}})",
                       TestNode::auth());
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }
  std::int64_t events() { return test::db_count(cfg.store.path, "SELECT count(*) FROM events"); }
};

std::string member(const std::string& body, const char* key) {
  auto doc = json::parse(body);
  REQUIRE_MESSAGE(doc.has_value(), body);
  return json::stringify((*doc)[key]);
}

}  // namespace

TEST_CASE_FIXTURE(Dash,
                  "dashboard: / redirects to /ui/ - the pages come from the binary with "
                  "their security headers - a repeat load is 304 - no path climbs out") {
  auto root = c.request("GET", "/", "", {});
  CHECK(root.status == 302);
  CHECK(root.header("location") == "/ui/");
  auto page = c.request("GET", "/ui/", "", {});
  REQUIRE(page.status == 200);
  CHECK(page.header("content-type") == "text/html; charset=utf-8");
  CHECK(page.body.find("<html lang=\"id\">") != std::string::npos);
  CHECK(page.header("content-security-policy").find("script-src 'self'") != std::string::npos);
  CHECK(page.header("x-frame-options") == "DENY");
  CHECK(page.header("x-content-type-options") == "nosniff");
  auto js = c.request("GET", "/ui/app.js", "", {});
  REQUIRE(js.status == 200);
  CHECK(js.header("content-type") == "text/javascript; charset=utf-8");
  const std::string etag = js.header("etag");
  REQUIRE(!etag.empty());
  auto again = c.request("GET", "/ui/app.js", "", {{"if-none-match", etag}});
  CHECK(again.status == 304);
  CHECK(again.body.empty());
  for (const char* bad :
       {"/ui/..%2Fschema%2Fconfig.schema.json", "/ui/.hidden", "/ui/nope.js", "/ui/%2e%2e"}) {
    CAPTURE(bad);
    CHECK(c.request("GET", bad, "", {}).status == 404);
  }
}

TEST_CASE_FIXTURE(Dash,
                  "dashboard: login sets an HttpOnly SameSite=Strict cookie - a wrong "
                  "token or a node credential is refused - logout ends the session") {
  auto wrong = c.request("POST", "/ui/session", R"({"token": "spl.0000.wrong"})",
                         {{"content-type", "application/json"}});
  CHECK(wrong.status == 401);
  CHECK(wrong.header("set-cookie").empty());
  auto node_login = c.request("POST", "/ui/session", R"({"token": ")" + node_token + R"("})",
                              {{"content-type", "application/json"}});
  CHECK(node_login.status == 403);
  // A form another site posts cannot be JSON: a form-encoded login is refused.
  CHECK(c.request("POST", "/ui/session", "token=" + pu,
                  {{"content-type", "application/x-www-form-urlencoded"}})
            .status == 415);
  CHECK(c.request("POST", "/ui/session", R"({"token": ")" + pu + R"("})",
                  {{"content-type", "application/json"}, {"origin", "http://evil.example"}})
            .status == 403);

  auto s = login(pu);
  CHECK(s.set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(s.set_cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(s.set_cookie.find("Path=/") != std::string::npos);
  CHECK(s.set_cookie.find("Secure") == std::string::npos);  // plain HTTP here; Secure under TLS
  auto me = with(s, "GET", "/ui/session");
  REQUIRE(me.status == 200);
  CHECK(member(me.body, "agencies") == R"(["dinas-pu-batam"])");
  CHECK(json::get_string(*json::parse(me.body), "csrf") == s.csrf);
  CHECK(with(s, "GET", "/v1/complaints").status == 200);

  CHECK(with(s, "DELETE", "/ui/session", "", false).status == 403);  // logout needs CSRF too
  auto out = with(s, "DELETE", "/ui/session");
  CHECK(out.status == 204);
  CHECK(out.header("set-cookie").find("Max-Age=0") != std::string::npos);
  CHECK(with(s, "GET", "/v1/complaints").status == 401);
  CHECK(with(s, "GET", "/ui/session").status == 401);
}

TEST_CASE_FIXTURE(Dash,
                  "dashboard: a session ends after its idle time and after its longest "
                  "life - and at once when its token is revoked") {
  auto s = login(pu);
  now += 29 * 60'000;
  CHECK(with(s, "GET", "/v1/complaints").status == 200);  // used: idle time starts again
  now += 29 * 60'000;
  CHECK(with(s, "GET", "/v1/complaints").status == 200);
  now += 31 * 60'000;  // idle past 30 minutes
  CHECK(with(s, "GET", "/v1/complaints").status == 401);

  auto busy = login(pu);
  for (int i = 0; i < 5; ++i) {  // used every 25 minutes: past its 2 hours all the same
    now += 25 * 60'000;
    CHECK(with(busy, "GET", "/v1/complaints").status == (i < 4 ? 200 : 401));
  }

  auto revoked = login(pu);
  CHECK(with(revoked, "GET", "/v1/complaints").status == 200);
  REQUIRE(test::run_simpul({"token", "revoke", "--config", cfg.file, pu_id}) == 0);
  CHECK(with(revoked, "GET", "/v1/complaints").status == 401);
}

TEST_CASE_FIXTURE(Dash,
                  "dashboard: a write made with a session needs its CSRF token and this "
                  "origin - the refused write stores nothing") {
  const std::string id = ingest("Jalan rusak");
  auto s = login(test::kAdminToken);
  const std::string verify = R"({"kind": "verified"})";
  const auto before = events();
  auto none = with(s, "POST", "/v1/complaints/" + id + "/events", verify, false);
  CHECK(none.status == 403);
  CHECK(json::get_string(*json::parse(none.body), "rule") == "csrf");
  auto wrong = with(s, "POST", "/v1/complaints/" + id + "/events", verify, false,
                    {{"x-csrf-token", s.csrf.substr(1) + "x"}});
  CHECK(wrong.status == 403);
  auto other = login(test::kAdminToken);  // another session's token is no good here
  CHECK(with(s, "POST", "/v1/complaints/" + id + "/events", verify, false,
             {{"x-csrf-token", other.csrf}})
            .status == 403);
  auto cross = with(s, "POST", "/v1/complaints/" + id + "/events", verify, true,
                    {{"origin", "http://evil.example"}});
  CHECK(cross.status == 403);
  CHECK(json::get_string(*json::parse(cross.body), "rule") == "origin");
  CHECK(with(s, "POST", "/v1/complaints/" + id + "/events", verify, true,
             {{"sec-fetch-site", "cross-site"}})
            .status == 403);
  CHECK(with(s, "POST", "/v1/complaints", test::sample_complaint("Lewat formulir"), false).status ==
        403);
  CHECK(events() == before);
  // With its token, from its own origin: accepted.
  auto ok = with(s, "POST", "/v1/complaints/" + id + "/events", verify, true,
                 {{"origin", "http://127.0.0.1:" + std::to_string(node.port())},
                  {"host", "127.0.0.1:" + std::to_string(node.port())}});
  CHECK_MESSAGE(ok.status == 201, ok.body);
  // A bearer token needs no CSRF token: it is not a browser's ambient credential.
  CHECK(
      c.request("POST", "/v1/complaints/" + id + "/events", R"({"kind": "held"})", TestNode::auth())
          .status == 201);
}

TEST_CASE_FIXTURE(Dash,
                  "dashboard: a session cookie never opens the federation API - not even an "
                  "admin's") {
  auto s = login(test::kAdminToken);
  CHECK(with(s, "GET", "/fed/v1/changes?after=0").status == 401);
  CHECK(with(s, "POST", "/fed/v1/events", R"({"events": []})").status == 401);
  CHECK(c.request("GET", "/fed/v1/changes?after=0&wait=0", "", TestNode::auth(node_token)).status !=
        401);
}

TEST_CASE_FIXTURE(Dash,
                  "dashboard: the overview and the workload count only what the token "
                  "sees - the links and dead letters are not an agency officer's") {
  const std::string a = ingest("Jalan rusak");
  const std::string b = ingest("Laporan rahasia", "rahasia");
  ingest("Belum didisposisi");
  dispose(a, "dinas-pu-batam");
  dispose(b, "dinas-pu-batam");
  auto admin = json::parse(c.request("GET", "/v1/overview", "", TestNode::auth()).body);
  REQUIRE(admin.has_value());
  CHECK((*admin)["today"]["received"].GetInt() == 3);
  CHECK((*admin)["today"]["disposed"].GetInt() == 2);
  CHECK(admin->HasMember("connectors"));
  CHECK(admin->HasMember("dead_letters"));
  auto pu_view = json::parse(c.request("GET", "/v1/overview", "", TestNode::auth(pu)).body);
  CHECK((*pu_view)["today"]["received"].GetInt() == 2);
  CHECK_FALSE(pu_view->HasMember("connectors"));
  CHECK_FALSE(pu_view->HasMember("upstream"));
  CHECK_FALSE(pu_view->HasMember("dead_letters"));
  auto other = json::parse(c.request("GET", "/v1/overview", "", TestNode::auth(dukcapil)).body);
  CHECK((*other)["today"]["received"].GetInt() == 0);
  CHECK((*other)["today"]["disposed"].GetInt() == 0);
  // An unbound read token sees every complaint but the rahasia one.
  auto plain = json::parse(c.request("GET", "/v1/overview", "", TestNode::auth(reader)).body);
  CHECK((*plain)["today"]["received"].GetInt() == 2);

  // Six working days on: PU's two follow-ups and the undisposed verify are past due.
  now += 9LL * 86'400'000;
  auto w = json::parse(c.request("GET", "/v1/workload", "", TestNode::auth()).body);
  REQUIRE(w.has_value());
  std::map<std::string, std::int64_t> overdue;
  for (const auto& row : (*w)["items"].GetArray())
    overdue[(row["agency"].IsNull() ? std::string("-") : json::get_string(row, "agency")) + "/" +
            json::get_string(row, "clock")] = row["overdue"].GetInt64();
  CHECK(overdue["dinas-pu-batam/followup"] == 2);
  CHECK(overdue["-/verify"] == 1);
  auto o = json::parse(c.request("GET", "/v1/overview", "", TestNode::auth()).body);
  CHECK((*o)["overdue"]["followup"].GetInt() == 2);
  CHECK((*o)["overdue"]["verify"].GetInt() == 1);
  auto wd = json::parse(c.request("GET", "/v1/workload", "", TestNode::auth(dukcapil)).body);
  CHECK((*wd)["items"].Size() == 0);
  auto wp = json::parse(c.request("GET", "/v1/workload", "", TestNode::auth(pu)).body);
  REQUIRE((*wp)["items"].Size() == 1);
  CHECK(json::get_string((*wp)["items"][0], "agency") == "dinas-pu-batam");
}

TEST_CASE_FIXTURE(Dash,
                  "dashboard: a complaint lists the actions the token may take now - "
                  "none without the act scope - the reference list is served") {
  const std::string id = ingest("Jalan rusak");
  auto actions = [&](const std::string& token) {
    auto r = c.request("GET", "/v1/complaints/" + id, "", TestNode::auth(token));
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return member(r.body, "actions");
  };
  CHECK(actions(test::kAdminToken) ==
        R"(["verified","held","disposed","forwarded","archived","cancelled"])");
  CHECK(actions(reader) == "[]");
  dispose(id, "dinas-pu-batam");
  CHECK(actions(pu) ==
        R"(["held","forwarded","not_authority","progressed","responded","cancelled"])");
  auto ref = c.request("GET", "/v1/reference/agencies", "", TestNode::auth(reader));
  REQUIRE(ref.status == 200);
  CHECK(ref.body.find("\"Dinas PU\"") != std::string::npos);
  CHECK(c.request("GET", "/v1/reference/nothing", "", TestNode::auth()).status == 404);
  CHECK(c.request("GET", "/v1/reference/agencies", "", {}).status == 401);
}

TEST_CASE_FIXTURE(Dash,
                  "dashboard: dead letters are an admin's - a retry puts the event back in "
                  "its outbox - a drop forgets it - both audited") {
  const std::string id = ingest("Jalan rusak");
  {
    // An event the parent refused, as the relay records it.
    SqliteStore s(test::keyed_store(cfg.store.path));
    s.begin();
    s.enqueue("upstream", 1, 1);
    auto due = s.due_outbox("upstream", system_now_ms(), 10);
    REQUIRE(due.size() == 1);
    s.outbox_dead(due[0].id, "upstream", "rejected: schema", 2);
    s.commit();
  }
  CHECK(c.request("GET", "/v1/dead-letters", "", TestNode::auth(reader)).status == 403);
  auto list = c.request("GET", "/v1/dead-letters", "", TestNode::auth());
  REQUIRE(list.status == 200);
  auto doc = json::parse(list.body);
  REQUIRE((*doc)["items"].Size() == 1);
  const auto& d = (*doc)["items"][0];
  CHECK(json::get_string(d, "complaint_id") == id);
  CHECK(json::get_string(d, "error") == "rejected: schema");
  const std::string dl = std::to_string(d["id"].GetInt64());
  CHECK(c.request("POST", "/v1/dead-letters/" + dl + "/retry", "", TestNode::auth(pu)).status ==
        403);
  auto retry = c.request("POST", "/v1/dead-letters/" + dl + "/retry", "", TestNode::auth());
  CHECK_MESSAGE(retry.status == 200, retry.body);
  CHECK(test::db_count(cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
  CHECK(test::db_count(cfg.store.path,
                       "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = "
                       "'pending'") == 1);
  CHECK(c.request("POST", "/v1/dead-letters/" + dl + "/retry", "", TestNode::auth()).status == 404);
  CHECK(c.request("POST", "/v1/dead-letters/x/drop", "", TestNode::auth()).status == 404);
  CHECK(test::db_count(cfg.store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'dlq.retry' AND actor = "
                       "'admin'") == 1);
  {
    // Refused again; this time the admin drops it (the event stays stored here).
    SqliteStore s(test::keyed_store(cfg.store.path));
    s.begin();
    auto due = s.due_outbox("upstream", system_now_ms() + 1000, 10);
    REQUIRE(due.size() == 1);
    s.outbox_dead(due[0].id, "upstream", "rejected: schema", 3);
    s.commit();
  }
  auto again = json::parse(c.request("GET", "/v1/dead-letters", "", TestNode::auth()).body);
  REQUIRE((*again)["items"].Size() == 1);
  const std::string dl2 = std::to_string((*again)["items"][0]["id"].GetInt64());
  CHECK(c.request("POST", "/v1/dead-letters/" + dl2 + "/drop", "", TestNode::auth()).status == 200);
  CHECK(test::db_count(cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
  CHECK(test::db_count(cfg.store.path, "SELECT count(*) FROM events") >= 1);
  CHECK(test::db_count(cfg.store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'dlq.drop'") == 1);
}

TEST_CASE_FIXTURE(Dash,
                  "dashboard: with ui.enabled false there are no pages and a session "
                  "cookie is no credential") {
  auto s = login(pu);
  auto off = cfg;
  off.ui.enabled = false;
  off.store.path = dir.file("off.db");
  TestNode quiet(off);
  auto q = quiet.client();
  CHECK(q.request("GET", "/ui/", "", {}).status == 404);
  CHECK(q.request("POST", "/ui/session", R"({"token": ")" + std::string(test::kAdminToken) + "\"}",
                  {{"content-type", "application/json"}})
            .status == 404);
  CHECK(q.request("GET", "/v1/complaints", "", {{"cookie", s.cookie}}).status == 401);
}

TEST_CASE("dashboard: the session table - cookie parsing - the oldest session goes past the cap") {
  TimeMs t = 1'000'000;
  http::SessionTable table({60'000, 600'000, 3}, [&] { return t; });
  auto a = table.open("hash-a");
  auto b = table.open("hash-b");
  t += 10;
  CHECK(table.find(a.cookie).has_value());  // a used after b
  table.open("hash-c");
  table.open("hash-d");  // past the cap of 3: b, idle the longest, goes
  CHECK_FALSE(table.find(b.cookie).has_value());
  CHECK(table.find(a.cookie).has_value());
  CHECK(table.size() == 3);
  table.close_all_of("hash-a");
  CHECK_FALSE(table.find(a.cookie).has_value());
  CHECK_FALSE(table.find("").has_value());
  CHECK(http::cookie_value("a=1; simpul_session=xyz; b=2", "simpul_session") == "xyz");
  CHECK(http::cookie_value("simpul_session_old=1;simpul_session=v", "simpul_session") == "v");
  CHECK(http::cookie_value("x=simpul_session=1", "simpul_session").empty());
  CHECK(http::cookie_value("", "simpul_session").empty());
}
