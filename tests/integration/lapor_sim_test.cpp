// The SP4N-LAPOR! simulator on a real port: tokens and their expiry, report create by multipart
// with tracking ids, one report per ext_id however often a create is repeated, lookup, follow-ups,
// notifications, the topic tree, the admin actions, and the faults it can inject.

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <thread>

#include "core/json.hpp"
#include "http/multipart.hpp"
#include "lapor/simulator.hpp"
#include "support/lapor_sim_support.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

struct Sim : test::LaporSim {
  explicit Sim(lapor::SimFaults faults = {}, int ttl_s = 3600) : test::LaporSim(faults, ttl_s) {}
  std::string token(http::Client& c) {
    auto r = c.request("POST", "/api/lapor/token",
                       R"({"client_id": "kepri", "client_secret": "kepri-secret-0123456789"})");
    REQUIRE(r.status == 200);
    return json::get_string(*json::parse(r.body), "KeyToken");
  }
  http::ClientResponse create(http::Client& c, const std::string& token, const std::string& ext_id,
                              const std::string& report_type = "1",
                              const std::string& is_anonim = "0") {
    auto [body, type] = http::build_multipart(
        {{"subject", "", "", "Jalan berlubang"},
         {"content", "", "", "Lubang besar di depan halte Batam Centre."},
         {"topik_nid", "", "", "3"},
         {"report_type", "", "", report_type},
         {"is_anonim", "", "", is_anonim},
         {"source", "", "", "simpul-kepri"},
         {"ext_id", "", "", ext_id},
         {"photo0", "foto.jpg", "image/jpeg", std::string("\xFF\xD8\xFF\xE0 jpeg", 9)}});
    return c.request("POST", "/api/lapor/stream", body,
                     {{"keytoken", token}, {"content-type", type}});
  }
};

std::int64_t nid_of(const http::ClientResponse& r) {
  auto doc = json::parse(r.body);
  REQUIRE_MESSAGE(doc.has_value(), r.body);
  return (*doc)["nid"].GetInt64();
}

}  // namespace

TEST_CASE("multipart: built bodies parse back - files and fields - and garbage is refused") {
  std::vector<http::FormPart> parts = {
      {"subject", "", "", "Judul"}, {"photo0", "a.jpg", "image/jpeg", std::string("\0\r\n--x", 6)}};
  auto [body, type] = http::build_multipart(parts);
  auto back = http::parse_multipart(type, body);
  REQUIRE(back.has_value());
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].name == "subject");
  CHECK((*back)[0].data == "Judul");
  CHECK((*back)[1].filename == "a.jpg");
  CHECK((*back)[1].content_type == "image/jpeg");
  CHECK((*back)[1].data == std::string("\0\r\n--x", 6));
  CHECK_FALSE(http::parse_multipart("application/json", body).has_value());
  CHECK_FALSE(http::parse_multipart(type, "no boundary here").has_value());
  CHECK_FALSE(http::parse_multipart(type, body.substr(0, body.size() / 2)).has_value());
}

TEST_CASE("lapor-sim: tokens - create with tracking ids - one report per ext_id - lookup") {
  Sim s;
  auto c = s.client();
  CHECK(c.request("POST", "/api/lapor/token", R"({"client_id": "kepri", "client_secret": "wrong"})")
            .status == 401);
  auto token = s.token(c);
  CHECK(s.create(c, "", "x").status == 401);  // no KEYTOKEN
  auto r = s.create(c, token, "batam:01a2");
  REQUIRE(r.status == 200);
  CHECK(json::get_string(*json::parse(r.body), "error").empty());
  auto nid = nid_of(r);
  CHECK(nid > 4'000'000);
  CHECK(nid_of(s.create(c, token, "batam:01a2")) == nid);  // a repeated create: the same report
  CHECK(nid_of(s.create(c, token, "batam:01a3")) == nid + 1);
  auto found = c.request("GET", "/api/lapor/lookup?ext_id=batam:01a2", "", {{"keytoken", token}});
  CHECK(json::parse(found.body)->operator[]("nid").GetInt64() == nid);
  auto missing = c.request("GET", "/api/lapor/lookup?ext_id=nope", "", {{"keytoken", token}});
  CHECK(json::parse(missing.body)->operator[]("status").GetInt() == 0);
  auto detail = json::parse(
      c.request("GET", "/api/lapor/stream?nid=" + std::to_string(nid), "", {{"keytoken", token}})
          .body);
  CHECK((*detail)["data"]["status"].GetInt() == 0);
  CHECK((*detail)["data"]["photos"].GetInt() == 1);
  auto topics = c.request("POST", "/api/services/f01/gettopics", "", {{"keytoken", token}});
  CHECK(topics.body.find("Infrastruktur") != std::string::npos);
}

TEST_CASE("lapor-sim: decisions at the hub become status codes - follow-ups and notifications") {
  Sim s;
  auto c = s.client();
  auto token = s.token(c);
  auto nid = std::to_string(nid_of(s.create(c, token, "batam:1")));
  auto act = [&](const std::string& action, const std::string& body = "{}") {
    return c.request("POST", "/admin/stream/" + nid + "/" + action, body, s.admin()).status;
  };
  auto status = [&] {
    return (*json::parse(c.request("GET", "/api/lapor/stream?nid=" + nid, "", {{"keytoken", token}})
                             .body))["data"]["status"]
        .GetInt();
  };
  CHECK(c.request("POST", "/admin/stream/" + nid + "/verify", "{}").status == 401);
  CHECK(act("verify") == 200);
  CHECK(status() == 1);
  CHECK(act("dispose", R"({"agency": "dinas-pu-batam"})") == 200);
  CHECK(act("answer", R"({"text": "Sudah ditambal.", "agency": "Dinas PU Kota Batam"})") == 200);
  CHECK(status() == 5);
  CHECK(act("close") == 200);
  CHECK(status() == 9);
  auto notes = c.request("GET", "/api/lapor/notification?since=0", "", {{"keytoken", token}}).body;
  CHECK(notes.find("SUDAHDIDISPOSISIKAN") != std::string::npos);
  CHECK(notes.find("TINDAKLANJUT") != std::string::npos);
  auto [body, type] = http::build_multipart(
      {{"nid", "", "", nid}, {"claim_text", "", "", "Terima kasih"}, {"source", "", "", "simpul"}});
  CHECK(c.request("POST", "/api/lapor/claim", body, {{"keytoken", token}, {"content-type", type}})
            .status == 200);
  auto claims = c.request("GET", "/api/lapor/claims?nid=" + nid, "", {{"keytoken", token}}).body;
  CHECK(claims.find("Sudah ditambal.") != std::string::npos);
  CHECK(claims.find("Terima kasih") != std::string::npos);
  CHECK(claims.find(R"("LevelName":"Dinas PU Kota Batam")") != std::string::npos);
}

TEST_CASE(
    "lapor-sim: faults - rate limit with Retry-After - expired tokens - a create stored but never "
    "answered") {
  lapor::SimFaults f;
  f.rate_limit_every = 3;
  f.retry_after_s = 2;
  Sim s(f);
  auto c = s.client();
  auto token = s.token(c);  // token calls are not /api calls: not counted
  CHECK(s.create(c, token, "a").status == 200);
  CHECK(s.create(c, token, "b").status == 200);
  auto limited = s.create(c, token, "c");
  CHECK(limited.status == 429);
  CHECK(limited.header("retry-after") == "2");

  lapor::SimFaults e;
  e.expire_tokens_every = 2;
  Sim expiring(e);
  auto c2 = expiring.client();
  auto t2 = expiring.token(c2);
  CHECK(expiring.create(c2, t2, "a").status == 200);
  auto expired = expiring.create(c2, t2, "b");
  CHECK(json::parse(expired.body)->operator[]("status").GetInt() == -1);
  auto t3 = expiring.token(c2);  // a new token works again
  CHECK(nid_of(expiring.create(c2, t3, "b")) > 0);

  lapor::SimFaults h;
  h.hang_after_commit_rate = 1;
  h.hang_ms = 3000;
  Sim hanging(h);
  auto slow = hanging.client(500);
  auto t4 = hanging.token(slow);
  CHECK_THROWS(hanging.create(slow, t4, "batam:9"));  // timed out after the hub stored it
  auto fresh = hanging.client();
  auto found = fresh.request("GET", "/api/lapor/lookup?ext_id=batam:9", "", {{"keytoken", t4}});
  CHECK(json::parse(found.body)->operator[]("status").GetInt() == 1);
  auto all = fresh.request("GET", "/admin/streams", "", hanging.admin()).body;
  CHECK(all.find(R"("ext_id":"batam:9")") != std::string::npos);
  CHECK(all.find(R"("source":"simpul-kepri")") !=
        std::string::npos);  // what was received, for inspection
}

TEST_CASE("lapor-sim: the example config loads - a bad one exits 78 naming its pointer") {
  setenv("LAPOR_SIM_CLIENT_SECRET", "kepri-secret-0123456789", 1);
  setenv("LAPOR_SIM_ADMIN_TOKEN", "lapor-admin-0123456789", 1);
  auto cfg =
      lapor::load_sim_config(std::string(SIMPUL_SOURCE_DIR) + "/config/lapor-sim.example.json");
  CHECK(cfg.port == 7800);
  CHECK(cfg.clients.size() == 1);
  CHECK(cfg.topics_json.find("Infrastruktur") != std::string::npos);
  test::TempDir dir;
  std::ofstream(dir.file("bad.json"))
      << R"({"listen": "127.0.0.1:0", "store": "x.db", "clients": [], "admin_token": "env:LAPOR_SIM_ADMIN_TOKEN"})";
  std::string out;
  CHECK(test::run_simpul({"lapor-sim", "--config", dir.file("bad.json")}, &out) == 78);
  CHECK(out.find("/clients") != std::string::npos);
}
