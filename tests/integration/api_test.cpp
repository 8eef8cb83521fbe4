// The ingest and admin API against a real server on 127.0.0.1:0 with a temp database.

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/uuid.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::TestNode;

namespace {

struct Api {
  test::TempDir dir;
  TestNode node{test::test_config(dir)};
  http::Client c = node.client();

  http::ClientResponse post(const std::string& body, const std::string& key = "",
                            const std::string& token = test::kAdminToken) {
    auto h = TestNode::auth(token);
    if (!key.empty()) h.push_back({"idempotency-key", key});
    return c.request("POST", "/v1/complaints", body, h);
  }
  http::ClientResponse act(const std::string& id, const std::string& body,
                           const std::string& token = test::kAdminToken) {
    return c.request("POST", "/v1/complaints/" + id + "/events", body, TestNode::auth(token));
  }
  http::ClientResponse get(const std::string& target,
                           const std::string& token = test::kAdminToken) {
    return c.request("GET", target, "", TestNode::auth(token));
  }
  std::int64_t stored() {
    SqliteStore s(StoreOptions{node.config().store.path, true, 5000, false});
    return s.complaint_count() + s.event_count();
  }
  std::string token(const std::string& scopes) {
    SqliteStore s(StoreOptions{node.config().store.path, true, 5000, false});
    return s.create_token("t", scopes, "", 1).secret;
  }
};

std::string field(const std::string& body, const char* k) {
  return json::get_string(*json::parse(body), k);
}

}  // namespace

TEST_CASE_FIXTURE(Api,
                  "ingest: 201 with a Location - then a retry with the same Idempotency-Key is 200 "
                  "with the same id") {
  auto r1 = post(test::sample_complaint(), "apekesah-8812");
  REQUIRE(r1.status == 201);
  auto id = field(r1.body, "id");
  CHECK(is_uuid_v7(id));
  CHECK(r1.header("location") == "/v1/complaints/" + id);
  CHECK(field(r1.body, "status") == "received");
  auto r2 = post(test::sample_complaint(), "apekesah-8812");
  CHECK(r2.status == 200);
  CHECK(field(r2.body, "id") == id);
  CHECK(r2.body == r1.body);
  auto r3 = post(test::sample_complaint("Berbeda"), "apekesah-8812");
  CHECK(r3.status == 422);
  CHECK(r3.header("content-type") == "application/problem+json");
  CHECK(stored() == 2);  // one complaint, one event
}

TEST_CASE_FIXTURE(Api, "ingest: the same request sent concurrently is stored once") {
  // Same Idempotency-Key (and same external ref) from 16 clients at once: the writes can share
  // one group commit, and still exactly one is created.
  for (int round = 0; round < 5; ++round) {
    std::string key = "dup-" + std::to_string(round);
    std::string body =
        test::sample_complaint("Dup", R"(,"refs":[{"system":"wa","id":")" + key + "\"}]");
    std::vector<std::thread> threads;
    std::mutex mu;
    std::vector<int> statuses;
    std::set<std::string> ids;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&, t] {
        auto client = node.client();
        auto h = TestNode::auth();
        if (t % 2 == 0) h.push_back({"idempotency-key", key});  // half by key, half by ref only
        auto r = client.request("POST", "/v1/complaints", body, h);
        std::lock_guard lock(mu);
        statuses.push_back(r.status);
        ids.insert(field(r.body, "id"));
      });
    }
    for (auto& t : threads) t.join();
    CHECK(std::count(statuses.begin(), statuses.end(), 201) == 1);
    CHECK(std::count(statuses.begin(), statuses.end(), 200) == 15);
    CHECK(ids.size() == 1);
  }
  CHECK(stored() == 10);  // five complaints, five created events
}

TEST_CASE_FIXTURE(Api, "ingest: a known external ref returns the original complaint") {
  auto body = test::sample_complaint("A", R"(,"refs":[{"system":"apekesah","id":"77"}])");
  auto r1 = post(body);
  auto r2 =
      post(test::sample_complaint("A edited", R"(,"refs":[{"system":"apekesah","id":"77"}])"));
  CHECK(r1.status == 201);
  CHECK(r2.status == 200);
  CHECK(field(r2.body, "id") == field(r1.body, "id"));
}

TEST_CASE_FIXTURE(
    Api, "ingest: bad input gets 400/413/415/422 naming the pointer - and nothing is stored") {
  struct Case {
    std::string body;
    int status;
    std::string pointer;
    std::string content_type = "application/json";
  };
  const Case cases[] = {
      {"{\"type\": ", 400, ""},
      {"[]", 422, ""},
      {R"({"type":"pengaduan","title":"x","channel":"app"})", 422, "/body"},
      {test::sample_complaint("x", R"(,"type":"pujian")"), 422, ""},
      {test::sample_complaint("x", R"(,"privacy":true)"), 422, "/privacy"},
      {test::sample_complaint("x", R"(,"location":{"lat":"north"})"), 422, "/location/lat"},
      {test::sample_complaint("bad \xc3\x28 utf8"), 400, "/title"},
      {test::sample_complaint("x", R"(,"incident_at":"2026-02-30")"), 422, "/incident_at"},
      {test::sample_complaint("x", R"(,"status":"closed")"), 422, "/status"},
      {test::sample_complaint(), 415, "", "text/plain"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto h = TestNode::auth();
    h.push_back({"content-type", c.content_type});
    auto r = this->c.request("POST", "/v1/complaints", c.body, h);
    CHECK(r.status == c.status);
    CHECK(r.header("content-type") == "application/problem+json");
    auto doc = json::parse(r.body);
    REQUIRE(doc.has_value());
    CHECK(json::get_string(*doc, "pointer") == c.pointer);
    CHECK((*doc)["status"].GetInt() == c.status);
    CHECK(r.body.find("CANARY") == std::string::npos);  // never echo personal data
  }
  CHECK(stored() == 0);
}

TEST_CASE_FIXTURE(Api, "deeply nested JSON is refused without crashing the server") {
  // Regression: a body of a million '[' overflowed the recursive parser's stack (segfault).
  for (const std::string& deep :
       {std::string(1'000'000, '['),
        "{\"type\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}"}) {
    auto r = post(deep);
    CHECK((r.status == 400 || r.status == 422));
    auto e = act("019a9ec0-6400-7000-8000-000000000000",
                 "{\"kind\":\"verified\",\"payload\":" + std::string(200'000, '[') + "}");
    CHECK(e.status == 400);
  }
  auto nested = post(test::sample_complaint(
      "x", ",\"location\":{\"text\":" + std::string(40, '[') + std::string(40, ']') + "}"));
  CHECK(nested.status == 422);
  CHECK(c.request("GET", "/livez").status == 200);
  CHECK(stored() == 0);
}

TEST_CASE_FIXTURE(
    Api, "auth: no token 401 - wrong scope 403 - revoked 401 - scopes are enforced per route") {
  CHECK(c.request("POST", "/v1/complaints", test::sample_complaint()).status == 401);
  CHECK(post(test::sample_complaint(), "", "spl.nope.nope").status == 401);
  CHECK(c.request("GET", "/v1/complaints", "",
                  {{"authorization", std::string("bearer ") + test::kAdminToken}})
            .status == 200);
  CHECK(c.request("GET", "/v1/complaints", "",
                  {{"authorization", std::string("Basic ") + test::kAdminToken}})
            .status == 401);
  auto reader = token("read");
  CHECK(post(test::sample_complaint(), "", reader).status == 403);
  auto ingester = token("ingest");
  auto r = post(test::sample_complaint(), "", ingester);
  REQUIRE(r.status == 201);
  auto id = field(r.body, "id");
  CHECK(get("/v1/complaints/" + id, ingester).status == 403);
  CHECK(get("/v1/complaints/" + id, reader).status == 200);
  CHECK(act(id, R"({"kind":"verified"})", reader).status == 403);
  {
    SqliteStore s(StoreOptions{node.config().store.path, true, 5000, false});
    auto t = s.list_tokens();
    for (const auto& tok : t) s.revoke_token(tok.id, 5);
  }
  CHECK(get("/v1/complaints/" + id, reader).status == 401);
}

TEST_CASE_FIXTURE(Api, "privacy: the reporter is returned only to tokens with the pii scope") {
  auto r = post(test::sample_complaint());
  auto id = field(r.body, "id");
  CHECK(r.body.find("CANARY-NAME-7731") == std::string::npos);
  auto plain = token("read");
  auto pii = token("read,pii");
  auto g1 = get("/v1/complaints/" + id, plain);
  auto g2 = get("/v1/complaints/" + id, pii);
  auto l1 = get("/v1/complaints", plain);
  auto l2 = get("/v1/complaints", pii);
  CHECK(g1.status == 200);
  CHECK(g1.body.find("CANARY-NAME-7731") == std::string::npos);
  CHECK(g1.body.find("2171010101900001") == std::string::npos);
  CHECK(g1.body.find("\"events\"") != std::string::npos);
  CHECK(l1.body.find("CANARY-NAME-7731") == std::string::npos);
  CHECK(g2.body.find("CANARY-NAME-7731") != std::string::npos);
  CHECK(g2.body.find("+6281270001234") != std::string::npos);
  CHECK(l2.body.find("CANARY-NAME-7731") != std::string::npos);
}

TEST_CASE_FIXTURE(
    Api,
    "events: officers' actions - 409 for what the state machine refuses - idempotent by event_id") {
  auto id = field(post(test::sample_complaint()).body, "id");
  CHECK(act(id, R"({"kind":"closed"})").status == 409);
  auto eid = make_uuid_v7();
  auto v1 = act(id, R"({"event_id":")" + eid +
                        R"(","kind":"verified","actor":{"role":"admin","name":"Admin"}})");
  CHECK(v1.status == 201);
  auto v2 = act(id, R"({"event_id":")" + eid +
                        R"(","kind":"verified","actor":{"role":"admin","name":"Admin"}})");
  CHECK(v2.status == 200);
  CHECK(act(id, R"({"kind":"disposed","payload":{}})").status == 422);
  CHECK(act(id, R"({"kind":"disposed","payload":{"agency":"dinas-pu"}})").status == 201);
  CHECK(act(id, R"({"kind":"responded","payload":{"text":"Sudah diperbaiki"}})").status == 201);
  auto closed = act(id, R"({"kind":"closed"})");
  CHECK(closed.status == 201);
  auto doc = json::parse(closed.body);
  CHECK(json::get_string((*doc)["complaint"], "status") == "closed");
  CHECK(act(id, R"({"kind":"teleported"})").status == 422);
  CHECK(act(id, R"({"kind":"amended","payload":{"fields":{"title":42}}})").status == 422);
  CHECK(act(id, R"({"kind":"amended","payload":{"fields":{"title":"Intisari"}}})").status == 201);
  CHECK(act(id, "{oops").status == 400);
  CHECK(act("019a9ec0-6400-7000-8000-000000000000", R"({"kind":"verified"})").status == 404);
  auto full = json::parse(get("/v1/complaints/" + id).body);
  CHECK((*full)["events"].Size() == 6);
  CHECK(json::get_string(*full, "title") == "Intisari");
}

TEST_CASE_FIXTURE(Api, "list: cursor pagination and filters") {
  for (int i = 0; i < 5; ++i) post(test::sample_complaint("C" + std::to_string(i)));
  std::string cursor;
  int seen = 0, pages = 0;
  do {
    auto r = get("/v1/complaints?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    auto doc = json::parse(r.body);
    seen += static_cast<int>((*doc)["items"].Size());
    cursor = (*doc)["next_cursor"].IsString() ? (*doc)["next_cursor"].GetString() : "";
    ++pages;
  } while (!cursor.empty());
  CHECK(seen == 5);
  CHECK(pages == 3);
  CHECK(get("/v1/complaints?status=verified").body == R"({"items":[],"next_cursor":null})");
  CHECK(get("/v1/complaints?status=bogus").status == 400);
  CHECK(get("/v1/complaints?cursor=xyz").status == 400);
  CHECK(get("/v1/complaints?limit=0").status == 400);
  CHECK(get("/v1/complaints?since=2999-01-01").body == R"({"items":[],"next_cursor":null})");
}

TEST_CASE_FIXTURE(Api,
                  "errors: every problem has the status and title its code has in the table - one "
                  "way on every endpoint") {
  auto id = json::get_string(*json::parse(post(test::sample_complaint()).body), "id");
  struct Case {
    http::ClientResponse r;
    const char* code;
  };
  auto plain = [&](const std::string& target) {
    return c.request("POST", target, "{}",
                     {{"authorization", std::string("Bearer ") + test::kAdminToken},
                      {"content-type", "text/plain"}});
  };
  std::vector<Case> cases = {
      {get("/v1/complaints?limit=0"), "invalid-query"},
      {get("/v1/complaints?status=bogus"), "invalid-query"},
      {get("/v1/complaints?cursor=xyz"), "invalid-query"},
      {get("/fed/v1/changes?limit=0"), "forbidden"},  // the admin is no child node
      {post(test::sample_complaint("x", R"(,"incident_at":"bukan tanggal")")), "invalid-value"},
      {post("{oops"), "invalid-json"},
      {act(id, R"({"kind":"closed"})"), "transition-not-allowed"},
      {act("019a9ec0-6400-7000-8000-000000000000", R"({"kind":"verified"})"), "not-found"},
      {get("/v1/nothing-here"), "not-found"},
      {c.request("DELETE", "/v1/complaints", "", TestNode::auth()), "method-not-allowed"},
      {c.request("GET", "/v1/complaints"), "unauthenticated"},
      {plain("/v1/complaints"), "unsupported-media-type"},
      {plain("/v1/complaints/" + id + "/events"), "unsupported-media-type"},
  };
  for (const auto& [r, code] : cases) {
    INFO(code, " ", r.body);
    auto doc = json::parse(r.body);
    REQUIRE(doc.has_value());
    CHECK(r.header("content-type") == "application/problem+json");
    CHECK(json::get_string(*doc, "type") == std::string("urn:simpul:problem:") + code);
    std::optional<errc> e;
    for (int i = 1; i <= static_cast<int>(errc::header_too_large); ++i)
      if (code_name(static_cast<errc>(i)) == std::string(code)) e = static_cast<errc>(i);
    REQUIRE(e.has_value());
    CHECK(r.status == http_status(*e));
    CHECK((*doc)["status"].GetInt() == r.status);
    CHECK(json::get_string(*doc, "title") == make_error_code(*e).message());
  }
  // The same refusal is the same answer wherever it is given.
  CHECK(cases[11].r.body == cases[12].r.body);
}

TEST_CASE_FIXTURE(Api, "health and metrics endpoints") {
  CHECK(c.request("GET", "/livez").status == 200);
  CHECK(c.request("GET", "/readyz").status == 200);
  post(test::sample_complaint());
  post("{bad");
  auto m = c.request("GET", "/metrics");
  CHECK(m.status == 200);
  CHECK(m.header("content-type").find("text/plain") == 0);
  CHECK(m.body.find(R"(simpul_ingest_total{result="created"} 1)") != std::string::npos);
  CHECK(m.body.find(R"(simpul_ingest_total{result="rejected"} 1)") != std::string::npos);
  CHECK(m.body.find(R"(simpul_http_requests_total{route="/v1/complaints",code="201"} 1)") !=
        std::string::npos);
  CHECK(m.body.find("simpul_http_request_duration_seconds_bucket") != std::string::npos);
  CHECK(m.body.find("simpul_outbox_depth 0") != std::string::npos);
  CHECK(m.body.find("simpul_http_connections 1") != std::string::npos);  // this client
  CHECK(c.request("GET", "/nope").status == 404);
  CHECK(c.request("DELETE", "/v1/complaints").status == 405);
}

TEST_CASE("logs never carry the reporter's identity or a token") {
  std::mutex mu;
  std::string captured;
  log::set_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    captured.append(line).push_back('\n');
  });
  {
    Api api;
    log::set_level(log::Level::debug);  // after the node applied its configured level
    auto r = api.post(test::sample_complaint());
    api.post(test::sample_complaint("x", R"(,"reporter":{"phone":"CANARY-PHONE"})"));
    api.act(json::get_string(*json::parse(r.body), "id"), R"({"kind":"verified"})");
  }
  log::set_sink(nullptr);
  log::set_level(log::Level::info);
  std::lock_guard lock(mu);
  CHECK(captured.find("ingest.accepted") != std::string::npos);
  CHECK(captured.find("CANARY") == std::string::npos);
  CHECK(captured.find("2171010101900001") == std::string::npos);
  CHECK(captured.find(test::kAdminToken) == std::string::npos);
}

TEST_CASE(
    "agencies: a disposition or forward to an agency missing from the node's reference is refused "
    "with 422 naming it - nothing stored") {
  test::TempDir dir;
  std::ofstream(dir.file("agencies.json"))
      << R"([{"id": "dinas-pu-batam"}, {"id": "disdukcapil-batam"}])";
  TestNode node(
      test::node_config(dir, "kota-batam", R"("reference": {"agencies": "agencies.json"},)"));
  auto c = node.client();
  auto r =
      c.request("POST", "/v1/complaints", test::sample_complaint("Jalan rusak"), TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  const std::string id = field(r.body, "id");
  auto act = [&](const std::string& body) {
    return c.request("POST", "/v1/complaints/" + id + "/events", body, TestNode::auth());
  };
  auto events = [&] {
    return test::db_count(node.config().store.path,
                          "SELECT count(*) FROM events WHERE complaint_id = '" + id + "'");
  };
  const auto before = events();
  auto typo = act(R"({"kind":"disposed","payload":{"agency":"dinas-pu-btam"}})");
  CHECK(typo.status == 422);
  CHECK_MESSAGE(typo.body.find("dinas-pu-btam") != std::string::npos, typo.body);
  CHECK(field(typo.body, "pointer") == "/payload/agency");
  CHECK(events() == before);
  // A known agency is taken; a forward to an unknown one is refused as well.
  CHECK(act(R"({"kind":"disposed","payload":{"agency":"dinas-pu-batam"}})").status == 201);
  auto fwd = act(R"({"kind":"forwarded","payload":{"agency":"dinas-sosial"}})");
  CHECK(fwd.status == 422);
  CHECK(fwd.body.find("dinas-sosial") != std::string::npos);
  CHECK(act(R"({"kind":"forwarded","payload":{"agency":"disdukcapil-batam"}})").status == 201);
  CHECK(events() == before + 2);
}
