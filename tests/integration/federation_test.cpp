// The parent side of the federation protocol against a real node: POST /fed/v1/events and the
// long-polling changes feed, with routing by region and agency, hop paths and redaction.

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <fstream>
#include <thread>

#include "core/json.hpp"
#include "core/uuid.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::TestNode;

namespace {

const char* kCanary = "CANARY-REPORTER-5521";

// The tests send children's events by hand, unsigned: the rules under test here come after the
// signatures' (trust_test.cpp), so this parent does not ask for them.
Config parent_config(const test::TempDir& dir) {
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::string text = test::config_json(dir, "provinsi-kepri");
  text.replace(text.find("\"log\""), 0,
               R"("federation": {"signatures": "off"},
    "children": [
      {"id": "kota-batam", "regions": ["21.71"], "agencies": ["dinas-pu-batam"]},
      {"id": "kota-tanjungpinang", "regions": ["21.72"], "agencies": ["dinas-pu-tpi"]}],
    "reference": {"regions": ")" +
                   std::string(SIMPUL_SOURCE_DIR) + R"(/config/reference/regions.json"},
    )");
  text.replace(text.find("\"tier\": \"kabkota\""), 17, "\"tier\": \"provinsi\"");
  text.replace(text.find("\"region\": \"21.71\""), 17, "\"region\": \"21\"");
  std::ofstream(dir.file("parent.json")) << text;  // for `simpul status`
  return parse_config(text, dir.file("parent.json"), dir.path());
}

std::string complaint_json(const std::string& id, const std::string& region,
                           const std::string& privacy) {
  return R"({"id":")" + id +
         R"(","refs":[],"type":"pengaduan","title":"Jalan rusak","body":"Lubang","region":")" +
         region +
         R"(","received_at":"2026-11-20T01:00:00.000Z","channel":"app","reporter":{"name":")" +
         kCanary + R"("},"privacy":")" + privacy + R"(","attachments":[]})";
}

// An event as a child node would send it: hops end with the child.
std::string event_json(const std::string& complaint_id, const std::string& kind,
                       const std::string& payload, const std::vector<std::string>& hops,
                       std::string event_id = "") {
  Event e;
  e.event_id = event_id.empty() ? make_uuid_v7() : event_id;
  e.complaint_id = complaint_id;
  e.origin = hops.front();
  e.at = system_now_ms();
  e.actor = Actor{"operator", "", ""};
  e.kind = *parse_event_kind(kind);
  e.payload = payload;
  e.hops = hops;
  return json::event_to_json(e);
}

struct Federation {
  test::TempDir dir;
  TestNode parent{parent_config(dir)};
  std::string batam, tpi, stranger;
  http::Client c = parent.client(20'000);

  Federation() {
    SqliteStore s(StoreOptions{parent.config().store.path, true, 5000, false});
    batam = s.create_token("batam", "node", "kota-batam", 1).secret;
    tpi = s.create_token("tpi", "node", "kota-tanjungpinang", 1).secret;
    stranger = s.create_token("x", "node", "kota-lain", 1).secret;
  }
  http::ClientResponse send(const std::string& token, const std::vector<std::string>& events) {
    std::string body = "{\"events\":[";
    for (std::size_t i = 0; i < events.size(); ++i) body += (i ? "," : "") + events[i];
    return c.request("POST", "/fed/v1/events", body + "]}", TestNode::auth(token));
  }
  std::vector<std::string> outcomes(const http::ClientResponse& r) {
    std::vector<std::string> out;
    auto doc = json::parse(r.body);
    for (const auto& x : (*doc)["results"].GetArray())
      out.push_back(json::get_string(x, "outcome"));
    return out;
  }
  // The child's whole feed from `since`: (kinds, next cursor, raw body).
  std::tuple<std::vector<std::string>, std::string, std::string> feed(
      const std::string& token, const std::string& since = "", int wait = 0,
      http::Client* client = nullptr) {
    auto r = (client ? *client : c)
                 .request("GET", "/fed/v1/changes?since=" + since + "&wait=" + std::to_string(wait),
                          "", TestNode::auth(token));
    REQUIRE(r.status == 200);
    auto doc = json::parse(r.body);
    std::vector<std::string> kinds;
    for (const auto& e : (*doc)["events"].GetArray()) kinds.push_back(json::get_string(e, "kind"));
    return {kinds, json::get_string(*doc, "next"), r.body};
  }
  std::string ingest_at_parent(const std::string& region, const std::string& privacy = "anonim") {
    auto body =
        R"({"type":"pengaduan","title":"Di provinsi","body":"Isi","channel":"web","region":")" +
        region + R"(","privacy":")" + privacy + R"(","reporter":{"name":")" + kCanary + "\"}}";
    auto r = c.request("POST", "/v1/complaints", body, TestNode::auth());
    REQUIRE(r.status == 201);
    return json::get_string(*json::parse(r.body), "id");
  }
  int act(const std::string& id, const std::string& body) {
    return c.request("POST", "/v1/complaints/" + id + "/events", body, TestNode::auth()).status;
  }
  bool parent_db_contains(const std::string& needle) {
    return test::store_holds(parent.config().store.path, needle);
  }
};

}  // namespace

TEST_CASE_FIXTURE(Federation,
                  "fed: a child's batch is merged and each event's outcome is reported") {
  auto cid = make_uuid_v7();
  auto created = event_json(cid, "created", complaint_json(cid, "21.71", "anonim"), {"kota-batam"});
  auto r = send(batam, {created});
  REQUIRE(r.status == 200);
  CHECK(outcomes(r) == std::vector<std::string>{"accepted"});
  CHECK(outcomes(send(batam, {created})) == std::vector<std::string>{"duplicate"});
  // The child sent an anonim reporter: the parent keeps none of it (and does keep the record).
  CHECK_FALSE(parent_db_contains(kCanary));
  CHECK(parent_db_contains(R"("title":"Jalan rusak")"));
  auto stored = json::parse(c.request("GET", "/v1/complaints/" + cid, "", TestNode::auth()).body);
  CHECK(json::get_string(*stored, "status") == "received");
  CHECK((*stored)["events"][0]["hops"].Size() == 2);  // kota-batam, provinsi-kepri

  auto spoofed_path = event_json(cid, "verified", "{}", {"kota-tanjungpinang"});
  auto echo = event_json(cid, "verified", "{}", {"provinsi-kepri", "kota-batam"});
  auto fine = event_json(cid, "citizen_replied", R"({"text":"tambahan"})", {"kota-batam"});
  // A hop path naming this node is refused (it never comes back from below), not taken for an echo.
  CHECK(outcomes(send(batam, {spoofed_path, echo, fine})) ==
        std::vector<std::string>{"rejected", "rejected", "accepted"});

  // An event whose complaint has not arrived yet (reordered delivery) is to be sent again.
  auto unknown = make_uuid_v7();
  auto early = send(batam, {event_json(unknown, "verified", "{}", {"kota-batam"})});
  CHECK(outcomes(early) == std::vector<std::string>{"retry"});
  // Tanjungpinang may not write to Batam's complaint; the attempt is audited.
  auto intrusion = event_json(cid, "verified", "{}", {"kota-tanjungpinang"});
  auto res = send(tpi, {intrusion});
  CHECK(outcomes(res) == std::vector<std::string>{"rejected"});
  CHECK(res.body.find("neither created by nor routed to") != std::string::npos);
  {
    CHECK(test::db_count(parent.config().store.path,
                         "SELECT count(*) FROM audit_log WHERE action = 'fed.rejected' AND actor = "
                         "'node:kota-tanjungpinang'") == 1);
  }
}

TEST_CASE_FIXTURE(Federation,
                  "fed: only configured children with node credentials may use the protocol") {
  auto cid = make_uuid_v7();
  auto created = event_json(cid, "created", complaint_json(cid, "21.71", "anonim"), {"kota-batam"});
  CHECK(send(test::kAdminToken, {created}).status == 403);  // no node identity
  CHECK(send(stranger, {created}).status == 403);           // not a child of this node
  CHECK(c.request("POST", "/fed/v1/events", "{\"events\":[]}").status == 401);
  CHECK(c.request("GET", "/fed/v1/changes", "", TestNode::auth(stranger)).status == 403);
  CHECK(c.request("POST", "/fed/v1/events", "{\"events\":[]}", TestNode::auth(batam)).status ==
        422);
  CHECK(
      c.request("POST", "/fed/v1/events", "{\"events\":[{\"event_id\":1}]}", TestNode::auth(batam))
          .status == 422);
  CHECK(c.request("POST", "/fed/v1/events", "{garbage", TestNode::auth(batam)).status == 400);
  std::vector<std::string> many(501, created);
  CHECK(send(batam, many).status == 422);
  CHECK(c.request("GET", "/fed/v1/changes?since=bogus", "", TestNode::auth(batam)).status == 400);
  CHECK(c.request("GET", "/fed/v1/changes?wait=61", "", TestNode::auth(batam)).status == 400);
}

TEST_CASE_FIXTURE(
    Federation,
    "fed: the changes feed carries what is routed to each child - redacted and without echoes") {
  auto for_batam = ingest_at_parent("21.71.05");
  auto public_batam = ingest_at_parent("21.71", "public");
  auto for_tpi = ingest_at_parent("21.72");
  auto [kinds, next, body] = feed(batam);
  CHECK(kinds == std::vector<std::string>{"created", "created"});
  CHECK(body.find(for_batam) != std::string::npos);
  CHECK(body.find(public_batam) != std::string::npos);
  CHECK(body.find(for_tpi) == std::string::npos);
  // anonim: the reporter stays here; public: it may travel.
  auto doc = json::parse(body);
  for (const auto& e : (*doc)["events"].GetArray()) {
    bool is_public = json::get_string(e, "complaint_id") == public_batam;
    CHECK(e["payload"].HasMember("reporter") == is_public);
  }
  auto [tpi_kinds, tpi_next, tpi_body] = feed(tpi);
  CHECK(tpi_kinds == std::vector<std::string>{"created"});
  CHECK(tpi_body.find(for_tpi) != std::string::npos);
  // The cursor moves on; nothing is delivered twice.
  auto [again, next2, body2] = feed(batam, next);
  CHECK(again.empty());
  CHECK(next2 == next);
  // A complaint Batam sent up: Batam gets the parent's decisions but never its own events back.
  auto cid = make_uuid_v7();
  REQUIRE(outcomes(send(batam, {event_json(cid, "created", complaint_json(cid, "21.71", "anonim"),
                                           {"kota-batam"})}))[0] == "accepted");
  CHECK(act(cid, R"({"kind":"verified"})") == 201);
  auto [after, next3, body3] = feed(batam, next);
  CHECK(after == std::vector<std::string>{"verified"});
  CHECK(body3.find(R"("hops":["provinsi-kepri"])") != std::string::npos);
}

TEST_CASE_FIXTURE(Federation, "fed: forwarding between sibling kabupaten goes through the parent") {
  auto cid = make_uuid_v7();
  REQUIRE(outcomes(send(batam, {event_json(cid, "created", complaint_json(cid, "21.71", "anonim"),
                                           {"kota-batam"})}))[0] == "accepted");
  auto [b0, batam_cursor, bb0] = feed(batam);
  auto [t0, tpi_cursor, tb0] = feed(tpi);
  CHECK(tb0.find(cid) == std::string::npos);
  // No Wrong Door: Batam says it belongs to Tanjungpinang's Dinas PU.
  auto fwd =
      event_json(cid, "forwarded", R"({"agency":"dinas-pu-tpi","reason":"bukan wilayah Batam"})",
                 {"kota-batam"});
  CHECK(outcomes(send(batam, {fwd})) == std::vector<std::string>{"accepted"});
  // Tanjungpinang now sees the whole history, created included.
  auto [t1, tpi_cursor2, tb1] = feed(tpi, tpi_cursor);
  CHECK(t1 == std::vector<std::string>{"created", "forwarded"});
  // It answers; the answer goes to the parent and from there back to Batam. Stamped at least a
  // millisecond after the forward it follows: two events of one millisecond from two nodes fold
  // in event-id order, and this test is about routing, not about concurrent actions.
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto answer =
      event_json(cid, "responded", R"({"text":"Sudah ditangani"})", {"kota-tanjungpinang"});
  CHECK(outcomes(send(tpi, {answer})) == std::vector<std::string>{"accepted"});
  auto [b1, batam_cursor2, bb1] = feed(batam, batam_cursor);
  CHECK(b1 == std::vector<std::string>{"responded"});
  auto state = json::parse(c.request("GET", "/v1/complaints/" + cid, "", TestNode::auth()).body);
  CHECK(json::get_string(*state, "status") == "responded");
  CHECK(json::get_string(*state, "agency") == "dinas-pu-tpi");
}

TEST_CASE_FIXTURE(Federation,
                  "fed: a long-poll is answered when an event for the child is committed") {
  auto [k0, cursor, b0] = feed(batam);
  CHECK(k0.empty());
  auto [k1, cursor1, b1] = feed(batam, cursor, 1);  // nothing arrives: empty answer after the wait
  CHECK(k1.empty());
  std::vector<std::string> got;
  std::thread poller([&] {
    // wait=60 with a 20 s client timeout: only a wake-up on commit can answer in time.
    http::Client own = parent.client(20'000);  // a Client is not thread-safe
    try {
      auto [kinds, next, body] = feed(batam, cursor, 60, &own);
      got = kinds;
    } catch (const std::exception&) {
      got = {"timed out"};
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ingest_at_parent("21.71");
  poller.join();
  CHECK(got == std::vector<std::string>{"created"});
}

TEST_CASE_FIXTURE(Federation, "fed: reference data is served to children") {
  auto r = c.request("GET", "/fed/v1/reference/regions", "", TestNode::auth(batam));
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  CHECK((*doc)["items"].Size() == 4);
  CHECK(r.body.find("Kota Batam") != std::string::npos);
  CHECK(c.request("GET", "/fed/v1/reference/topics", "", TestNode::auth(batam)).status ==
        404);  // not configured here
  CHECK(c.request("GET", "/fed/v1/reference/regions", "", TestNode::auth(stranger)).status == 403);
}

TEST_CASE_FIXTURE(
    Federation, "fed: the parent shows per child what it has not fetched - its lag and last poll") {
  auto metric = [&](const std::string& series) {
    auto body = c.request("GET", "/metrics").body;
    auto at = body.find("\n" + series + " ");
    REQUIRE_MESSAGE(at != std::string::npos, series);
    return std::atof(body.c_str() + at + series.size() + 2);
  };
  const std::string unfetched = R"(simpul_child_feed_unfetched{child="kota-batam"})";
  // Before the first poll there is no sample (no made-up -1).
  CHECK(c.request("GET", "/metrics")
            .body.find(R"(simpul_child_last_poll_seconds{child="kota-batam"})") ==
        std::string::npos);
  ingest_at_parent("21.71");
  ingest_at_parent("21.71");
  CHECK(metric(unfetched) == 2);
  CHECK(metric(R"(simpul_child_feed_lag_seconds{child="kota-batam"})") >= 0);
  CHECK(metric(R"(simpul_child_feed_unfetched{child="kota-tanjungpinang"})") == 0);
  std::string out;
  CHECK(test::run_simpul({"status", "--config", dir.file("parent.json")}, &out) == 0);
  CHECK(out.find("kota-batam           unfetched 2") != std::string::npos);
  CHECK(out.find("acknowledged nothing yet") != std::string::npos);

  // Fetching is not acknowledging: the child has the events only when it asks for what follows.
  auto [kinds, next, body] = feed(batam);
  CHECK(kinds.size() == 2);
  CHECK(metric(unfetched) == 2);
  CHECK(metric(R"(simpul_child_last_poll_seconds{child="kota-batam"})") >= 0);
  feed(batam, next);
  bool acknowledged = false;
  for (int i = 0; i < 100 && !acknowledged; ++i) {
    acknowledged = metric(unfetched) == 0;
    if (!acknowledged) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(acknowledged);
  CHECK(test::run_simpul({"status", "--config", dir.file("parent.json")}, &out) == 0);
  INFO(out);
  CHECK(out.find("kota-batam           unfetched 0, lag none, acknowledged " + next) !=
        std::string::npos);
}
