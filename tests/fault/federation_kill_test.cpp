// SIGKILL any node of a three-tier federation at random points while complaints stream in at
// the leaf and the top acts on them; restart it; many cycles. Afterwards every acknowledged
// complaint and action is at every tier exactly once, and all tiers hold the same event set for
// every complaint. Cycles: SIMPUL_FED_KILL_CYCLES (default 8).

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "core/json.hpp"
#include "core/uuid.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

const std::vector<std::string> kNodes = {"nasional", "provinsi-kepri", "kota-batam"};

class Tiers {
 public:
  Tiers() {
    for (const auto& id : kNodes) ports_[id] = test::free_port();
    write("nasional", "nasional", "00", "", R"([{"id":"provinsi-kepri","regions":["21"]}])");
    write("provinsi-kepri", "provinsi", "21", "nasional",
          R"([{"id":"kota-batam","regions":["21.71"]}])");
    write("kota-batam", "kabkota", "21.71", "provinsi-kepri", "[]");
    for (const auto& id : kNodes) start(id);
  }
  void start(const std::string& id) {
    procs_[id] =
        std::make_unique<test::ServeProcess>(dir_.file(id + ".json"), dir_.file(id + ".ready"));
  }
  void kill9(const std::string& id) { procs_[id]->kill9(); }
  bool up(const std::string& id) { return procs_[id] && procs_[id]->running(); }
  std::uint16_t port(const std::string& id) { return ports_.at(id); }
  std::string db(const std::string& id) { return dir_.file(id + ".db"); }

 private:
  void write(const std::string& id, const std::string& tier, const std::string& region,
             const std::string& parent, const std::string& children) {
    std::string upstream;
    if (!parent.empty()) {
      std::string out;
      REQUIRE(test::run_simpul(
                  {"token", "create", "--config", dir_.file(parent + ".json"), "--node", id},
                  &out) == 0);
      auto pos = out.find("token: ");
      std::string var = "SIMPUL_KILL_UP_" + std::to_string(ports_.at(id));
      setenv(var.c_str(), out.substr(pos + 7, out.find('\n', pos) - pos - 7).c_str(), 1);
      upstream = R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(ports_.at(parent)) +
                 R"(", "node": ")" + parent + R"(", "credential": "env:)" + var +
                 R"(", "poll_wait_s": 2, "timeout_ms": 1000},)";
    }
    std::ofstream(dir_.file(id + ".json"))
        << R"({"node": {"id": ")" << id << R"(", "tier": ")" << tier << R"(", "region": ")"
        << region << R"(", "timezone": "WIB"}, "store": {"path": ")" << db(id)
        << R"("}, "http": {"listen": "127.0.0.1:)" << ports_.at(id)
        << R"("}, "auth": {"admin_token": "env:SIMPUL_TEST_ADMIN"},
        )"
        << upstream << R"("children": )" << children << R"(, "log": {"level": "error"}})";
  }

  test::TempDir dir_;
  std::map<std::string, std::uint16_t> ports_;
  std::map<std::string, std::unique_ptr<test::ServeProcess>> procs_;
};

std::map<std::string, std::set<std::string>> events_by_complaint(const std::string& db) {
  test::RawDb raw(db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(raw.db, "SELECT complaint_id, event_id FROM events", -1, &st, nullptr);
  std::map<std::string, std::set<std::string>> out;
  while (sqlite3_step(st) == SQLITE_ROW)
    out[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))].insert(
        reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
  sqlite3_finalize(st);
  return out;
}

struct Ledger {
  std::mutex mu;
  std::map<std::string, std::string> acked;      // ingest key -> complaint id
  std::set<std::string> pending_keys;            // sent without a known answer
  std::map<std::string, std::string> verified;   // complaint id -> event_id acknowledged
  std::map<std::string, std::string> verifying;  // complaint id -> event_id sent, unknown
  int next = 0;
};

bool ok(int status) { return status == 200 || status == 201; }

void leaf_ingest(Tiers& t, Ledger& l, std::atomic<bool>& stop) {
  while (!stop) {
    std::string key;
    {
      std::lock_guard lock(l.mu);
      if (!l.pending_keys.empty())
        key = *l.pending_keys.begin();
      else
        key = "k" + std::to_string(l.next++);
      l.pending_keys.insert(key);
    }
    try {
      http::Client c("127.0.0.1", t.port("kota-batam"), 3000);
      auto h = test::TestNode::auth();
      h.push_back({"idempotency-key", key});
      auto r = c.request("POST", "/v1/complaints",
                         test::sample_complaint("K " + key, R"(,"region":"21.71")"), h);
      if (ok(r.status)) {
        std::lock_guard lock(l.mu);
        l.acked[key] = json::get_string(*json::parse(r.body), "id");
        l.pending_keys.erase(key);
      }
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

void top_verify(Tiers& t, Ledger& l, std::atomic<bool>& stop, std::mt19937& rng) {
  while (!stop) {
    std::string id, eid;
    {
      std::lock_guard lock(l.mu);
      if (!l.verifying.empty()) {
        id = l.verifying.begin()->first;
        eid = l.verifying.begin()->second;
      } else {
        std::vector<std::string> candidates;
        for (const auto& [k, cid] : l.acked)
          if (!l.verified.count(cid)) candidates.push_back(cid);
        if (!candidates.empty()) {
          id = candidates[rng() % candidates.size()];
          eid = make_uuid_v7();
          l.verifying[id] = eid;
        }
      }
    }
    if (id.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    try {
      http::Client c("127.0.0.1", t.port("nasional"), 3000);
      auto r =
          c.request("POST", "/v1/complaints/" + id + "/events",
                    R"({"event_id":")" + eid + R"(","kind":"verified"})", test::TestNode::auth());
      if (ok(r.status)) {
        std::lock_guard lock(l.mu);
        l.verified[id] = eid;
        l.verifying.erase(id);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // 404: not up there yet
      }
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace

TEST_CASE("federation: SIGKILL of any tier during sync loses and duplicates nothing") {
  int cycles = 8;
  if (const char* env = std::getenv("SIMPUL_FED_KILL_CYCLES")) cycles = std::max(1, std::atoi(env));
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  Tiers tiers;
  Ledger ledger;
  std::mt19937 rng(1122);
  std::mt19937 verify_rng(2211);
  std::atomic<bool> stop{false};
  std::thread ingest(leaf_ingest, std::ref(tiers), std::ref(ledger), std::ref(stop));
  std::thread verify(top_verify, std::ref(tiers), std::ref(ledger), std::ref(stop),
                     std::ref(verify_rng));
  for (int i = 0; i < cycles; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 400));
    const auto& victim = kNodes[rng() % kNodes.size()];
    tiers.kill9(victim);
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 300));
    tiers.start(victim);
  }
  // Settle: stop the load once every request has a known answer.
  auto settle_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard lock(ledger.mu);
    bool settled = ledger.verifying.empty() && ledger.pending_keys.size() <= 1;
    if (settled || std::chrono::steady_clock::now() > settle_deadline) break;
  }
  stop = true;
  ingest.join();
  verify.join();
  std::map<std::string, std::string> acked;
  std::map<std::string, std::string> verified;
  {
    std::lock_guard lock(ledger.mu);
    acked = ledger.acked;
    verified = ledger.verified;
  }
  MESSAGE("cycles " << cycles << ", complaints acknowledged " << acked.size()
                    << ", verifications acknowledged " << verified.size());
  REQUIRE(acked.size() > 10);

  // Converge: every tier holds the same events for every acknowledged complaint. Wait as long
  // as events keep moving (sanitizer builds are many times slower); a stall longer than the
  // relay's longest backoff (30 s) fails.
  std::map<std::string, std::set<std::string>> leaf, mid, top;
  bool converged = false;
  std::size_t last_total = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (!converged &&
         std::chrono::steady_clock::now() - last_progress < std::chrono::seconds(45)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    leaf = events_by_complaint(tiers.db("kota-batam"));
    mid = events_by_complaint(tiers.db("provinsi-kepri"));
    top = events_by_complaint(tiers.db("nasional"));
    converged = leaf == mid && mid == top;
    for (const auto& [id, eid] : verified) converged = converged && leaf[id].count(eid);
    std::size_t total = 0;
    for (const auto* m : {&leaf, &mid, &top})
      for (const auto& [id, events] : *m) total += events.size();
    if (total != last_total) {
      last_total = total;
      last_progress = std::chrono::steady_clock::now();
    }
  }
  CHECK(converged);
  std::set<std::string> ids;
  for (const auto& [k, id] : acked) ids.insert(id);
  CHECK(ids.size() == acked.size());  // no key answered with two different complaints
  for (const auto& id : ids) {
    INFO(id);
    CHECK(leaf.count(id) == 1);
    CHECK(top.count(id) == 1);
  }
  // Only acknowledged complaints exist (a request whose answer was lost was retried with its key).
  CHECK(leaf.size() <= ids.size() + 1);
  for (const auto& [id, eid] : verified) CHECK(top[id].count(eid) == 1);
}
