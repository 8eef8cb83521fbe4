// What broke the promise under attack (rewritten, leaked, taken down, lost), each against a real
// node on 127.0.0.1:0: the request that did it, and proof that it no longer does. Named after
// what broke. Store-level cases (a remote privacy change, clocks, the parent's ancestors) are in
// tests/unit/store/integrity_test.cpp.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "core/uuid.hpp"
#include "simpul/signing.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::TestNode;

namespace {

const char* kCanary = "CANARY-REPORTER-9042";
const char* kSecret = "integrity-webhook-secret-0123456789";

// A province with two children and an Ape Kesah webhook, so every write path is reachable.
// The tests send children's events by hand, unsigned: the checks under test here are the ones
// after the signatures' (which trust_test.cpp tests), so the province does not ask for them.
Config two_children_province(const test::TempDir& dir) {
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  setenv("SIMPUL_TEST_WEBHOOK", kSecret, 1);
  const std::string mapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";
  std::string text = test::config_json(dir, "provinsi-kepri");
  text.replace(text.find("\"log\""), 0,
               R"("federation": {"signatures": "off"},
    "children": [
      {"id": "kota-batam", "regions": ["21.71"], "agencies": ["dinas-pu-batam"]},
      {"id": "kota-tanjungpinang", "regions": ["21.72"], "agencies": ["dinas-pu-tpi"]}],
    "connectors": [{"id": "apekesah", "type": "webhook", "mapping": ")" +
                   mapping +
                   R"(", "settings": {"secret": "env:SIMPUL_TEST_WEBHOOK"}}],
    )");
  text.replace(text.find("\"tier\": \"kabkota\""), 17, "\"tier\": \"provinsi\"");
  text.replace(text.find("\"region\": \"21.71\""), 17, "\"region\": \"21\"");
  std::ofstream(dir.file("province.json")) << text;
  return parse_config(text, dir.file("province.json"), dir.path());
}

std::string record(const std::string& id, const std::string& region, const std::string& privacy,
                   const std::string& title = "Jalan rusak",
                   const std::string& received = "2026-11-20T01:00:00.000Z") {
  return R"({"id":")" + id + R"(","refs":[],"type":"pengaduan","title":")" + title +
         R"(","body":"Lubang","region":")" + region + R"(","received_at":")" + received +
         R"(","channel":"app","privacy":")" + privacy + R"(","attachments":[]})";
}

std::string event_json(const std::string& complaint_id, const std::string& kind,
                       const std::string& payload, const std::vector<std::string>& hops,
                       const std::string& origin = "", TimeMs at = 0) {
  Event e;
  e.event_id = make_uuid_v7();
  e.complaint_id = complaint_id;
  e.origin = origin.empty() ? hops.front() : origin;
  e.at = at ? at : system_now_ms();
  e.actor = Actor{"operator", "", ""};
  e.kind = *parse_event_kind(kind);
  e.payload = payload;
  e.hops = hops;
  return json::event_to_json(e);
}

struct Province {
  test::TempDir dir;
  Config cfg = two_children_province(dir);
  TestNode node{cfg};
  http::Client c = node.client(20'000);
  std::string batam, tpi, read_token, act_token, pii_token, ingest_token;

  Province() {
    SqliteStore s(StoreOptions{cfg.store.path, true, 5000, false});
    batam = s.create_token("batam", "node", "kota-batam", 1).secret;
    tpi = s.create_token("tpi", "node", "kota-tanjungpinang", 1).secret;
    read_token = s.create_token("r", "read", "", 1).secret;
    act_token = s.create_token("a", "read,act", "", 1).secret;
    pii_token = s.create_token("p", "read,pii", "", 1).secret;
    ingest_token = s.create_token("i", "ingest", "", 1).secret;
  }
  http::ClientResponse post(const std::string& target, const std::string& body,
                            const std::string& token = test::kAdminToken,
                            const std::string& content_type = "application/json") {
    auto h = TestNode::auth(token);
    h.push_back({"content-type", content_type});
    return c.request("POST", target, body, h);
  }
  http::ClientResponse get(const std::string& target,
                           const std::string& token = test::kAdminToken) {
    return c.request("GET", target, "", TestNode::auth(token));
  }
  http::ClientResponse send(const std::string& token, const std::vector<std::string>& events) {
    std::string body = "{\"events\":[";
    for (std::size_t i = 0; i < events.size(); ++i) body += (i ? "," : "") + events[i];
    return post("/fed/v1/events", body + "]}", token);
  }
  std::string outcome(const http::ClientResponse& r, std::string* reason = nullptr) {
    auto doc = json::parse(r.body);
    REQUIRE_MESSAGE(doc.has_value(), r.body);
    const auto& x = (*doc)["results"][0];
    if (reason) *reason = json::get_string(x, "reason");
    return json::get_string(x, "outcome");
  }
  http::ClientResponse deliver(const std::string& body) {
    std::string ts = std::to_string(system_now_ms() / 1000);
    return c.request("POST", "/v1/ingest/apekesah", body,
                     {{"content-type", "application/json"},
                      {"x-simpul-timestamp", ts},
                      {"x-simpul-signature", webhook_signature(kSecret, ts, body)}});
  }
  std::int64_t count(const std::string& sql) { return db_count(cfg.store.path, sql); }
  // Every table a write touches: an error answer must leave each of them as it was.
  std::string rows() {
    std::string out;
    for (const char* t : {"events", "complaints", "refs", "outbox", "raw_payloads", "idempotency",
                          "complaint_children"})
      out += std::string(t) + "=" +
             std::to_string(count(std::string("SELECT count(*) FROM ") + t)) + " ";
    return out;
  }
  std::string ingest(const std::string& region, const std::string& privacy,
                     const std::string& extra = "") {
    auto r = post("/v1/complaints",
                  R"({"type":"pengaduan","title":"Asli","body":"Isi","channel":"web","region":")" +
                      region + R"(","privacy":")" + privacy + R"(","reporter":{"name":")" +
                      kCanary + "\"}" + extra + "}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json::get_string(*json::parse(r.body), "id");
  }
  std::string state(const std::string& id) {
    auto r = get("/v1/complaints/" + id);
    REQUIRE(r.status == 200);
    return r.body;
  }
};

std::string field(const std::string& body, const char* k) {
  return json::get_string(*json::parse(body), k);
}

std::string aduan(const std::string& id, const std::string& judul) {
  return R"({"id": ")" + id + R"(", "judul": ")" + judul +
         R"(", "uraian": "Lubang besar", "lokasi": "Batam Kota",
             "tanggal": "21/11/2026", "waktu": "07:30", "opd_tujuan": "Dinas Pekerjaan Umum", "status": "Submitted",
             "dibuat": "2026-11-21 08:00:00", "diperbarui": "2026-11-21 08:00:00"})";
}

}  // namespace

// Item 1.
TEST_CASE_FIXTURE(Province,
                  "integrity: an ingest token posting an existing id with an earlier received_at "
                  "rewrites nothing") {
  std::string id = ingest("21", "rahasia");
  std::string before = state(id), counts = rows();
  auto r = post(
      "/v1/complaints",
      R"({"id":")" + id +
          R"(","type":"aspirasi","title":"Diganti","body":"Lain","channel":"web","region":"21.72",
                     "privacy":"public","received_at":"2000-01-01T00:00:00Z"})",
      ingest_token);
  CHECK(r.status == 409);
  CHECK(field(r.body, "pointer") == "/id");
  CHECK(rows() == counts);
  CHECK(state(id) == before);
  CHECK(field(state(id), "privacy") == "rahasia");
  CHECK(count("SELECT count(*) FROM audit_log WHERE action = 'ingest.rejected' AND target = '" +
              id + "'") == 1);
}

TEST_CASE_FIXTURE(
    Province, "integrity: every error answer of every write path leaves every table as it was") {
  std::string id = ingest("21", "anonim");
  REQUIRE(post("/v1/complaints/" + id + "/events", R"({"kind":"verified"})").status == 201);
  struct Case {
    const char* what;
    std::function<int()> call;
    int status;
  };
  const std::string valid = R"({"type":"pengaduan","title":"A","body":"B","channel":"web"})";
  std::vector<Case> cases = {
      {"ingest: a different record under an existing id",
       [&] {
         return post("/v1/complaints",
                     R"({"id":")" + id +
                         R"(","type":"pengaduan","title":"X","body":"Y","channel":"web"})")
             .status;
       },
       409},
      {"ingest: schema",
       [&] {
         return post("/v1/complaints",
                     R"({"type":"pujian","title":"A","body":"B","channel":"web"})")
             .status;
       },
       422},
      {"ingest: trailing bytes",
       [&] { return post("/v1/complaints", valid + R"({"title":"second"})").status; }, 400},
      {"ingest: text/plain",
       [&] { return post("/v1/complaints", valid, test::kAdminToken, "text/plain").status; }, 415},
      {"event: not allowed now",
       [&] { return post("/v1/complaints/" + id + "/events", R"({"kind":"closed"})").status; },
       409},
      {"event: a payload the fold cannot read",
       [&] {
         return post("/v1/complaints/" + id + "/events", R"({"kind":"disposed","payload":{}})")
             .status;
       },
       422},
      {"event: amended status",
       [&] {
         return post("/v1/complaints/" + id + "/events",
                     R"({"kind":"amended","payload":{"fields":{"status":"closed"}}})")
             .status;
       },
       422},
      {"event: privacy lowered without admin",
       [&] {
         return post("/v1/complaints/" + id + "/events",
                     R"({"kind":"amended","payload":{"fields":{"privacy":"public"}}})", act_token)
             .status;
       },
       403},
      {"event: unknown complaint",
       [&] {
         return post("/v1/complaints/" + make_uuid_v7() + "/events", R"({"kind":"verified"})")
             .status;
       },
       404},
      {"webhook: a record the mapping cannot read",
       [&] { return deliver(R"({"id":"77","judul":""})").status; }, 422},
      {"webhook: NUL in the title",
       [&] { return deliver(aduan("78", "Jalan\\u0000 rusak")).status; }, 422},
      {"webhook: duplicate keys", [&] { return deliver(R"({"id":"79","id":"80"})").status; }, 422},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    std::string counts = rows();
    CHECK(c.call() == c.status);
    CHECK(rows() == counts);
  }
  // The federation answers 200 with per-event outcomes; a rejected event stores nothing either.
  std::string counts = rows();
  CHECK(outcome(send(batam, {event_json(id, "verified", "{}", {"kota-batam"})})) == "rejected");
  CHECK(rows() == counts);
  // One the fold cannot read, for a complaint batam sees: merged, found unreadable, undone whole.
  std::string batams = ingest("21.71", "anonim");
  counts = rows();
  CHECK(outcome(send(batam, {event_json(batams, "disposed", R"({"agency":""})",
                                        {"kota-batam"})})) == "rejected");
  CHECK(rows() == counts);
}

// Item 2.
TEST_CASE_FIXTURE(
    Province,
    "integrity: a routed child's second created does not replace the originator's record") {
  std::string id = ingest("21.71", "anonim");  // routed to kota-batam by region
  std::string before = state(id);
  std::string reason;
  auto r = send(
      batam, {event_json(id, "created",
                         record(id, "21.71", "public", "Versi Batam", "2000-01-01T00:00:00.000Z"),
                         {"kota-batam"})});
  CHECK(outcome(r, &reason) == "rejected");
  CHECK(reason.find("exists") != std::string::npos);
  CHECK(state(id) == before);
  CHECK(count("SELECT count(*) FROM events WHERE kind = 'created' AND complaint_id = '" + id +
              "'") == 1);
  CHECK(count("SELECT count(*) FROM outbox WHERE destination = 'child:kota-tanjungpinang'") == 0);
  CHECK(count("SELECT count(*) FROM audit_log WHERE action = 'fed.rejected' AND target = '" + id +
              "'") == 1);
  // The same record sent again under another event id is a duplicate, not a second created.
  std::string cid = make_uuid_v7();
  REQUIRE(outcome(send(batam, {event_json(cid, "created", record(cid, "21.71", "anonim"),
                                          {"kota-batam"})})) == "accepted");
  CHECK(outcome(send(batam, {event_json(cid, "created", record(cid, "21.71", "anonim"),
                                        {"kota-batam"})})) == "duplicate");
  CHECK(count("SELECT count(*) FROM events WHERE complaint_id = '" + cid + "'") == 1);
}

// Item 3.
TEST_CASE_FIXTURE(Province,
                  "integrity: a forged origin or hop path from a child is rejected with a reason") {
  struct Case {
    const char* what;
    std::string region, origin;
    std::vector<std::string> hops;
  };
  const Case cases[] = {
      {"a sibling's complaint passed off through batam",
       "21.72",
       "kota-tanjungpinang",
       {"kota-tanjungpinang", "kota-batam"}},
      {"a sibling as origin in batam's region",
       "21.71",
       "kota-tanjungpinang",
       {"kota-tanjungpinang", "kota-batam"}},
      {"origin nasional, hops only batam", "21.71", "nasional", {"kota-batam"}},
      {"this node on the path", "21.71", "provinsi-kepri", {"provinsi-kepri", "kota-batam"}},
      {"a node twice",
       "21.71",
       "kec-batam-kota",
       {"kec-batam-kota", "kota-batam", "kec-batam-kota", "kota-batam"}},
      {"outside batam's regions", "21.72", "kota-batam", {"kota-batam"}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    std::string id = make_uuid_v7(), reason;
    CHECK(outcome(send(batam, {event_json(id, "created", record(id, c.region, "anonim"), c.hops,
                                          c.origin)}),
                  &reason) == "rejected");
    CHECK_FALSE(reason.empty());
    CHECK(get("/v1/complaints/" + id).status == 404);
  }
  // A real path from below batam is fine.
  std::string id = make_uuid_v7();
  CHECK(outcome(send(batam, {event_json(id, "created", record(id, "21.71.05", "anonim"),
                                        {"kec-batam-kota", "kota-batam"})})) == "accepted");
}

// Items 4 and 5.
TEST_CASE_FIXTURE(Province,
                  "integrity: federation payloads are validated like the API's own input") {
  auto rejected = [&](const std::string& id, const std::string& payload) {
    std::string reason;
    bool r = outcome(send(batam, {event_json(id, "created", payload, {"kota-batam"})}), &reason) ==
             "rejected";
    INFO(reason);
    return r && get("/v1/complaints/" + id).status == 404;
  };
  std::string id = make_uuid_v7();
  CHECK(
      rejected(id, record(make_uuid_v7(), "21.71", "anonim")));  // payload.id is another complaint
  CHECK(rejected(id, record(id, "21.71", "anonim", std::string(600'000, 'x'))));
  CHECK(rejected(id, record(id, "21.71", "bogus")));
  std::string array_title = record(id, "21.71", "anonim");
  array_title.replace(array_title.find("\"Jalan rusak\""), 13, "[\"Jalan\"]");
  CHECK(rejected(id, array_title));
  // An event other than created with a payload no fold could apply.
  std::string known = ingest("21.71", "anonim");
  std::string reason;
  CHECK(outcome(send(batam, {event_json(known, "disposed", R"({"agency":""})", {"kota-batam"})}),
                &reason) == "rejected");
  // A body sent as text/plain.
  auto plain = post("/fed/v1/events",
                    "{\"events\":[" + event_json(known, "verified", "{}", {"kota-batam"}) + "]}",
                    batam, "text/plain");
  CHECK(plain.status == 415);
  // A feed position that overflows, and query numbers read loosely.
  CHECK(get("/fed/v1/changes?since=f99999999999999999999", batam).status == 400);
  CHECK(get("/fed/v1/changes?limit=10abc", batam).status == 400);
  CHECK(get("/fed/v1/changes?limit=1e3", batam).status == 400);
  CHECK(get("/v1/complaints?limit=10abc").status == 400);
  CHECK(get("/v1/complaints?limit=1e3").status == 400);
  CHECK(get("/v1/complaints?cursor=c99999999999999999999").status == 400);
  CHECK(get("/v1/complaints?limit=10").status == 200);
}

// Items 6 and 8.
TEST_CASE_FIXTURE(
    Province,
    "integrity: a read token never sees the reporter in amended fields or as the citizen actor") {
  // anonim: a token without pii reads the complaint but never who sent it (a rahasia one it
  // does not read at all: agency scopes, tests/integration/agency_scope_test.cpp).
  std::string id = ingest("21", "anonim");
  REQUIRE(post("/v1/complaints/" + id + "/events",
               std::string(R"({"kind":"amended","payload":{"fields":{"reporter":{"name":")") +
                   kCanary + R"(","phone":"+6281270001234","nik":"2171010101900001"}}}})")
              .status == 201);
  REQUIRE(post("/v1/complaints/" + id + "/events",
               std::string(R"({"kind":"citizen_replied","actor":{"role":"citizen","name":")") +
                   kCanary + R"("},"payload":{"text":"Belum diperbaiki"}})")
              .status == 201);
  auto seen = get("/v1/complaints/" + id, read_token);
  REQUIRE(seen.status == 200);
  CHECK(seen.body.find(kCanary) == std::string::npos);
  CHECK(seen.body.find("2171010101900001") == std::string::npos);
  CHECK(get("/v1/complaints", read_token).body.find(kCanary) == std::string::npos);
  CHECK(get("/v1/complaints/" + id, pii_token).body.find(kCanary) != std::string::npos);
}

// Item 7 (the API side; the federation side is in the store tests).
TEST_CASE_FIXTURE(Province,
                  "integrity: only an admin of the receiving node lowers privacy - audited") {
  std::string id = ingest("21", "rahasia");
  std::string seen = ingest("21", "anonim");  // an act token that is not an admin reads it
  auto r = post("/v1/complaints/" + seen + "/events",
                R"({"kind":"amended","payload":{"fields":{"privacy":"public"}}})", act_token);
  CHECK(r.status == 403);
  CHECK(field(state(seen), "privacy") == "anonim");
  // Raising it is anyone's to do.
  std::string other = ingest("21", "anonim");
  CHECK(post("/v1/complaints/" + other + "/events",
             R"({"kind":"amended","payload":{"fields":{"privacy":"rahasia"}}})", act_token)
            .status == 201);
  CHECK(post("/v1/complaints/" + id + "/events",
             R"({"kind":"amended","payload":{"fields":{"privacy":"anonim"}}})")
            .status == 201);
  CHECK(field(state(id), "privacy") == "anonim");
  CHECK(count("SELECT count(*) FROM audit_log WHERE action = 'privacy.lowered' AND target = '" +
              id + "'") == 1);
}

// Item 9.
TEST_CASE_FIXTURE(Province,
                  "integrity: an unknown key inside the reporter is not echoed in the problem") {
  auto r = post(
      "/v1/complaints",
      std::string(R"({"type":"pengaduan","title":"A","body":"B","channel":"web","reporter":{")") +
          kCanary + R"(":"x"}})");
  CHECK(r.status == 422);
  CHECK(field(r.body, "pointer") == "/reporter");
  CHECK(r.body.find(kCanary) == std::string::npos);
}

// Item 10.
TEST_CASE_FIXTURE(
    Province,
    "integrity: a signed webhook nested 100 000 levels deep is refused - the node stays up") {
  std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  auto r = deliver(deep);
  CHECK(r.status == 400);
  CHECK(field(r.body, "rule") == "depth");
  std::string deep_object;
  for (int i = 0; i < 50'000; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(50'000, '}');
  CHECK(deliver(deep_object).status == 400);
  CHECK(post("/v1/complaints", deep).status == 400);
  CHECK(send(batam, {deep}).status == 400);
  CHECK(get("/livez").status == 200);
}

// Item 11.
TEST_CASE_FIXTURE(Province,
                  "integrity: NUL - duplicate keys and bytes after the value are refused on every "
                  "JSON endpoint") {
  std::string counts = rows();
  auto nul = deliver(aduan("501", "Jalan\\u0000 rusak"));
  CHECK(nul.status == 422);
  CHECK(field(nul.body, "rule") == "nul");
  CHECK(deliver(R"({"id":"502","id":"503"})").status == 422);
  std::string good = aduan("504", "Jalan rusak");
  CHECK(deliver(good + R"({"judul":"second"})").status == 400);
  CHECK(post("/v1/complaints",
             R"({"type":"pengaduan","title":"A","body":"B","channel":"web"}{"title":"second"})")
            .status == 400);
  CHECK(send(batam, {event_json(make_uuid_v7(), "verified", "{}", {"kota-batam"}) + "]}{\"x\":["})
            .status == 400);
  CHECK(rows() == counts);
  std::string id = ingest("21", "anonim");
  CHECK(
      post("/v1/complaints/" + id + "/events", R"({"kind":"verified"}{"kind":"closed"})").status ==
      400);
  CHECK(field(state(id), "status") == "received");
  // The untouched delivery still goes in.
  auto taken = deliver(good);
  CHECK_MESSAGE(taken.status == 200, taken.body);
}

// Item 12.
TEST_CASE_FIXTURE(
    Province,
    "integrity: content types - Content-Encoding - impossible values and bad chunks are refused") {
  std::string counts = rows();
  auto h = TestNode::auth();
  h.push_back({"content-type", "application/json"});
  h.push_back({"content-encoding", "gzip"});
  CHECK(c.request("POST", "/v1/complaints",
                  R"({"type":"pengaduan","title":"A","body":"B","channel":"web"})", h)
            .status == 415);
  CHECK(c.request("GET", "/v1/complaints", "", h).status == 415);
  std::string ts = std::to_string(system_now_ms() / 1000), body = aduan("601", "Jalan");
  CHECK(c.request("POST", "/v1/ingest/apekesah", body,
                  {{"content-type", "text/plain"},
                   {"x-simpul-timestamp", ts},
                   {"x-simpul-signature", webhook_signature(kSecret, ts, body)}})
            .status == 415);
  for (const char* when : {"0000-01-01T00:00:00Z", "9999-12-31T00:00:00Z"})
    CHECK(
        post("/v1/complaints",
             std::string(
                 R"({"type":"pengaduan","title":"A","body":"B","channel":"web","received_at":")") +
                 when + "\"}")
            .status == 422);
  CHECK(post("/v1/complaints", R"({"type":"pengaduan","title":"A","body":"B","channel":"web",
                                   "attachments":[{"uri":"https://x/1.jpg","size":9223372036854775807}]})")
            .status == 422);
  CHECK(rows() == counts);
  std::string id = ingest("21", "anonim");
  CHECK(post("/v1/complaints/" + id + "/events",
             R"({"kind":"amended","payload":{"fields":{"status":"closed"}}})")
            .status == 422);
  CHECK(field(state(id), "status") == "received");

  // A bad chunk size gets a 400, not a closed connection with no answer.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(node.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string req = "POST /v1/complaints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                    std::string(test::kAdminToken) +
                    "\r\nContent-Type: application/json\r\nTransfer-Encoding: "
                    "chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
}

// Item 13.
TEST_CASE(
    "integrity: a database deleted under a running node fails readiness and refuses writes - and "
    "the node will not start empty") {
  test::TempDir dir;
  auto cfg = test::node_config(dir, "kota-batam", "");
  {
    TestNode node(cfg);
    auto c = node.client();
    auto h = TestNode::auth();
    REQUIRE(c.request("POST", "/v1/complaints", test::sample_complaint(), h).status == 201);
    REQUIRE(c.request("GET", "/readyz", "", {}).status == 200);
    std::filesystem::remove(cfg.store.path);
    CHECK(c.request("GET", "/readyz", "", {}).status == 503);
    CHECK(c.request("POST", "/v1/complaints", test::sample_complaint("Sesudah"), h).status == 503);
  }
  // The node had a database: it does not begin an empty one in its place.
  std::string out;
  CHECK(test::run_simpul({"serve", "--config", dir.file("kota-batam.json")}, &out) == 1);
  CHECK(out.find("missing") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(cfg.store.path));
  // Nor do commands that only read.
  CHECK(test::run_simpul({"status", "--config", dir.file("kota-batam.json")}, &out) != 0);
  CHECK_FALSE(std::filesystem::exists(cfg.store.path));
}

TEST_CASE(
    "integrity: a database replaced under a running node fails readiness and refuses writes") {
  test::TempDir dir;
  auto cfg = test::node_config(dir, "kota-batam", "");
  TestNode node(cfg);
  auto c = node.client();
  REQUIRE(c.request("POST", "/v1/complaints", test::sample_complaint(), TestNode::auth()).status ==
          201);
  { SqliteStore other(StoreOptions{dir.file("other.db"), true, 5000, true}); }
  std::filesystem::rename(dir.file("other.db"), cfg.store.path);
  CHECK(c.request("GET", "/readyz", "", {}).status == 503);
  CHECK(c.request("POST", "/v1/complaints", test::sample_complaint("Sesudah"), TestNode::auth())
            .status == 503);
}

TEST_CASE_FIXTURE(Province,
                  "conflicts: listed for an admin - resolved by an admin's recorded decision - "
                  "both events kept") {
  std::string id = ingest("21.71", "anonim");
  REQUIRE(post("/v1/complaints/" + id + "/events",
               R"({"kind":"disposed","payload":{"agency":"dinas-pu-batam"}})")
              .status == 201);
  // Batam archived it meanwhile (its clock a little ahead): not allowed after the disposition.
  auto archived = event_json(id, "archived", "{}", {"kota-batam"}, "", system_now_ms() + 2000);
  REQUIRE(outcome(send(batam, {archived})) == "accepted");
  const std::string archived_id = json::get_string(*json::parse(archived), "event_id");
  auto listed = get("/v1/complaints?conflict=true");
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(id) != std::string::npos);
  auto st = json::parse(state(id));
  REQUIRE((*st)["conflicts"].Size() == 1);
  CHECK(json::get_string((*st)["conflicts"][0], "event_id") == archived_id);

  const std::string decision = R"({"kind":"resolved","payload":{"event_id":")" + archived_id +
                               R"(","decision":"Tetap didisposisi; pengarsipan Batam diabaikan"}})";
  CHECK(post("/v1/complaints/" + id + "/events", decision, act_token).status == 403);
  auto bogus = post("/v1/complaints/" + id + "/events",
                    R"({"kind":"resolved","payload":{"event_id":"no-such","decision":"x"}})");
  CHECK(bogus.status >= 400);
  REQUIRE(post("/v1/complaints/" + id + "/events", decision).status == 201);
  CHECK(get("/v1/complaints?conflict=true").body.find(id) == std::string::npos);
  st = json::parse(state(id));
  const auto& c = (*st)["conflicts"][0];
  CHECK(json::get_string(c, "decision") == "Tetap didisposisi; pengarsipan Batam diabaikan");
  CHECK(json::get_string(c, "resolved_by") == "admin");
  CHECK(json::get_string(*st, "status") == "disposed");
  // Both stay in the log.
  CHECK(count("SELECT count(*) FROM events WHERE complaint_id = '" + id +
              "' AND kind IN ('archived', 'resolved')") == 2);
}
