// Whole federations of real `simpul serve` processes on loopback:
//   nasional <- provinsi-kepri <- {kota-batam, kota-tanjungpinang}
// Complaints entered at the leaf reach the top; decisions at the top reach the leaf; a complaint
// entered at the top for Batam's region reaches Batam; forwarding between siblings works via
// the parent; an anonim reporter never leaves Batam.

#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "core/json.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

const char* kCanary = "CANARY-E2E-REPORTER-0815";

struct Tier {
  std::string id, tier, region, parent, children;  // children: JSON array text
};

class Federation {
 public:
  Federation() {
    add({"nasional", "nasional", "00", "", R"([{"id":"provinsi-kepri","regions":["21"]}])"});
    add({"provinsi-kepri", "provinsi", "21", "nasional",
         R"([{"id":"kota-batam","regions":["21.71"],"agencies":["dinas-pu-batam"]},
             {"id":"kota-tanjungpinang","regions":["21.72"],"agencies":["dinas-pu-tpi"]}])"});
    add({"kota-batam", "kabkota", "21.71", "provinsi-kepri", "[]"});
    add({"kota-tanjungpinang", "kabkota", "21.72", "provinsi-kepri", "[]"});
    // Parents first: each child's credential is issued by its parent.
    for (const auto& id : order_) start(id);
  }

  http::Client client(const std::string& id) {
    return http::Client("127.0.0.1", procs_.at(id)->port(), 10'000);
  }
  std::string db(const std::string& id) { return dir_.file(id + ".db"); }
  std::string log(const std::string& id) { return dir_.file(id + ".log"); }

 private:
  void add(Tier t) {
    tiers_[t.id] = t;
    order_.push_back(t.id);
  }
  void start(const std::string& id) {
    const Tier& t = tiers_.at(id);
    std::string upstream;
    if (!t.parent.empty()) {
      std::string out;
      REQUIRE(test::run_simpul(
                  {"token", "create", "--config", dir_.file(t.parent + ".json"), "--node", id},
                  &out) == 0);
      auto pos = out.find("token: ");
      std::string token = out.substr(pos + 7, out.find('\n', pos) - pos - 7);
      std::string var = "SIMPUL_E2E_UP_" + std::to_string(order_index(id));
      setenv(var.c_str(), token.c_str(), 1);
      upstream = R"("upstream": {"url": "http://127.0.0.1:)" +
                 std::to_string(procs_.at(t.parent)->port()) + R"(", "node": ")" + t.parent +
                 R"(", "credential": "env:)" + var + R"(", "poll_wait_s": 5},)";
    }
    std::ofstream(dir_.file(id + ".json")) << R"({
      "node": {"id": ")" << id << R"(", "tier": ")"
                                           << t.tier << R"(", "region": ")" << t.region
                                           << R"(", "timezone": "WIB"},
      "store": {"path": ")" << db(id) << R"("},
      "http": {"listen": "127.0.0.1:0"},
      "auth": {"admin_token": "env:SIMPUL_TEST_ADMIN"},
      )" << upstream << R"("children": )" << t.children
                                           << R"(,
      "log": {"level": "debug"}
    })";
    procs_[id] = std::make_unique<test::ServeProcess>(dir_.file(id + ".json"),
                                                      dir_.file(id + ".ready"), log(id));
  }
  int order_index(const std::string& id) {
    return static_cast<int>(std::find(order_.begin(), order_.end(), id) - order_.begin());
  }

  test::TempDir dir_;
  std::map<std::string, Tier> tiers_;
  std::vector<std::string> order_;
  std::map<std::string, std::unique_ptr<test::ServeProcess>> procs_;
};

std::vector<http::Header> admin() { return test::TestNode::auth(); }

// Polls until `pred` holds for the complaint at node `c` (or 20 s pass).
bool eventually(http::Client& c, const std::string& id,
                const std::function<bool(const rapidjson::Document&)>& pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.request("GET", "/v1/complaints/" + id, "", admin());
    if (r.status == 200) {
      auto doc = json::parse(r.body);
      if (doc && pred(*doc)) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool has_status(const rapidjson::Document& d, const char* s) {
  return json::get_string(d, "status") == s;
}

std::string ingest(http::Client& c, const std::string& region,
                   const std::string& privacy = "anonim") {
  auto body =
      R"({"type":"pengaduan","title":"Jalan rusak","body":"Lubang besar","channel":"app","region":")" +
      region + R"(","privacy":")" + privacy + R"(","reporter":{"name":")" + kCanary +
      R"(","phone":"081270001234"}})";
  auto r = c.request("POST", "/v1/complaints", body, admin());
  REQUIRE(r.status == 201);
  return json::get_string(*json::parse(r.body), "id");
}

int act(http::Client& c, const std::string& id, const std::string& body) {
  return c.request("POST", "/v1/complaints/" + id + "/events", body, admin()).status;
}

bool file_contains(const std::string& path, const std::string& needle) {
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(path + suffix, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("e2e: up from the leaf and back down from the top across three tiers") {
  Federation f;
  auto batam = f.client("kota-batam");
  auto kepri = f.client("provinsi-kepri");
  auto top = f.client("nasional");

  auto id = ingest(batam, "21.71.05");
  REQUIRE(eventually(top, id, [](const auto& d) { return has_status(d, "received"); }));
  CHECK(eventually(kepri, id, [](const auto& d) { return has_status(d, "received"); }));
  // Signed at Batam and verified at both tiers above (federation.signatures defaults to
  // require): the nation holds Batam's key as the province vouched for it, and the proof.
  CHECK(test::db_count(f.db("nasional"),
                       "SELECT count(*) FROM node_keys WHERE node_id = 'kota-batam' AND via = "
                       "'provinsi-kepri'") == 1);
  CHECK(test::db_count(f.db("nasional"),
                       "SELECT count(*) FROM event_proofs p JOIN events e ON e.event_id = "
                       "p.event_id WHERE e.complaint_id = '" +
                           id + "' AND e.kind = 'created'") == 1);

  CHECK(act(top, id, R"({"kind":"verified","actor":{"role":"admin","name":"Admin Nasional"}})") ==
        201);
  CHECK(act(top, id, R"({"kind":"disposed","payload":{"agency":"dinas-pu-batam"}})") == 201);
  CHECK(
      act(top, id,
          R"({"kind":"responded","actor":{"role":"agency","agency":"dinas-pu-batam"},"payload":{"text":"Diperbaiki"}})") ==
      201);
  CHECK(act(top, id, R"({"kind":"closed"})") == 201);
  CHECK(eventually(batam, id, [](const auto& d) {
    return has_status(d, "closed") && json::get_string(d, "agency") == "dinas-pu-batam" &&
           d["events"].Size() == 5;
  }));
  CHECK(eventually(kepri, id, [](const auto& d) { return has_status(d, "closed"); }));

  // The anonim reporter stayed at Batam: in no other node's database, in no log line, metric
  // or error body anywhere (Batam's own database keeps it).
  CHECK(test::store_holds(f.db("kota-batam"), kCanary));
  CHECK_FALSE(test::store_holds(f.db("provinsi-kepri"), kCanary));
  CHECK_FALSE(test::store_holds(f.db("nasional"), kCanary));
  auto bad = batam.request(
      "POST", "/v1/complaints",
      std::string(
          R"({"type":"pengaduan","title":"x","body":"y","channel":"app","reporter":{"name":")") +
          kCanary + R"(","phone":"not-a-phone"}})",
      admin());
  CHECK(bad.status == 422);
  CHECK(bad.body.find(kCanary) == std::string::npos);
  for (const char* node : {"kota-batam", "provinsi-kepri", "nasional"}) {
    INFO(node);
    auto c = f.client(node);
    CHECK(c.request("GET", "/metrics").body.find(kCanary) == std::string::npos);
    CHECK(c.request("GET", "/v1/complaints/" + id, "", {{"authorization", "Bearer wrong"}})
              .body.find(kCanary) == std::string::npos);
    CHECK_FALSE(file_contains(f.log(node), kCanary));
    CHECK(file_contains(f.log(node), "node.listening"));  // the log is really there
  }
}

TEST_CASE("e2e: a complaint entered at the top for Batam's region reaches Batam only") {
  Federation f;
  auto top = f.client("nasional");
  auto batam = f.client("kota-batam");
  auto tpi = f.client("kota-tanjungpinang");
  auto id = ingest(top, "21.71");
  REQUIRE(eventually(batam, id, [](const auto& d) { return has_status(d, "received"); }));
  // Batam answers; the answer reaches the top.
  CHECK(act(batam, id, R"({"kind":"disposed","payload":{"agency":"dinas-pu-batam"}})") == 201);
  CHECK(eventually(top, id, [](const auto& d) { return has_status(d, "disposed"); }));
  CHECK(tpi.request("GET", "/v1/complaints/" + id, "", admin()).status == 404);
}

TEST_CASE("e2e: No Wrong Door - forwarding between sibling kabupaten goes through the province") {
  Federation f;
  auto batam = f.client("kota-batam");
  auto tpi = f.client("kota-tanjungpinang");
  auto id = ingest(batam, "21.71");
  CHECK(
      act(batam, id,
          R"({"kind":"forwarded","payload":{"agency":"dinas-pu-tpi","reason":"lokasi di Tanjungpinang"}})") ==
      201);
  REQUIRE(eventually(tpi, id, [](const auto& d) {
    return has_status(d, "disposed") && json::get_string(d, "agency") == "dinas-pu-tpi";
  }));
  CHECK(act(tpi, id, R"({"kind":"responded","payload":{"text":"Sedang ditangani"}})") == 201);
  CHECK(eventually(batam, id, [](const auto& d) { return has_status(d, "responded"); }));
  CHECK_FALSE(test::store_holds(f.db("kota-tanjungpinang"), kCanary));
}
