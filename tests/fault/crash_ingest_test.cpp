// Crash test: clients stream ingests while `simpul serve` is SIGKILLed at random points, then
// restarted, many cycles. Afterwards every complaint that got a 2xx is present exactly once,
// and nothing is half-stored. Cycles: SIMPUL_CRASH_CYCLES (default 20; `make soak` runs 200).

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
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

std::int64_t scalar(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  auto v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

std::string body_for(const std::string& key) {
  return test::sample_complaint("Crash " + key,
                                R"(,"refs":[{"system":"crash","id":")" + key + "\"}]");
}

struct Ledger {
  std::mutex mu;
  std::map<std::string, std::string> acked;  // key -> complaint id
  std::set<std::string> unanswered;          // sent, no answer seen
  std::atomic<int> next{0};
  std::atomic<int> conflicts{0};

  std::string take_key() {
    std::lock_guard lock(mu);
    if (!unanswered.empty()) {
      auto k = *unanswered.begin();
      unanswered.erase(unanswered.begin());
      return k;
    }
    return "k" + std::to_string(next++);
  }
  void answered(const std::string& key, const std::string& id) {
    std::lock_guard lock(mu);
    auto [it, fresh] = acked.emplace(key, id);
    if (!fresh && it->second != id) ++conflicts;
  }
  void lost(const std::string& key) {
    std::lock_guard lock(mu);
    if (!acked.count(key)) unanswered.insert(key);
  }
};

void client_loop(std::uint16_t port, Ledger& ledger, std::atomic<bool>& stop) {
  http::Client c("127.0.0.1", port, 5000);
  while (!stop) {
    auto key = ledger.take_key();
    auto h = test::TestNode::auth();
    h.push_back({"idempotency-key", key});
    try {
      auto r = c.request("POST", "/v1/complaints", body_for(key), h);
      if (r.status == 200 || r.status == 201) {
        ledger.answered(key, json::get_string(*json::parse(r.body), "id"));
      } else {
        ledger.lost(key);
      }
    } catch (const std::exception&) {
      ledger.lost(key);  // the server died under us: unknown outcome, retry later
      return;
    }
  }
}

}  // namespace

TEST_CASE("crash: every acknowledged complaint survives SIGKILL exactly once - none half-stored") {
  int cycles = 20;
  if (const char* env = std::getenv("SIMPUL_CRASH_CYCLES")) cycles = std::max(1, std::atoi(env));
  test::TempDir dir;
  std::ofstream(dir.file("node.json")) << test::config_json(dir, "crash-node");
  Ledger ledger;
  std::mt19937 rng(20261122);

  for (int cycle = 0; cycle < cycles; ++cycle) {
    test::ServeProcess serve(dir.file("node.json"), dir.file("ready"));
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int i = 0; i < 8; ++i)
      clients.emplace_back(client_loop, serve.port(), std::ref(ledger), std::ref(stop));
    std::this_thread::sleep_for(std::chrono::milliseconds(80 + rng() % 400));
    serve.kill9();
    stop = true;
    for (auto& t : clients) t.join();
  }

  // Restart once more and settle every request whose outcome the clients never learned.
  {
    test::ServeProcess serve(dir.file("node.json"), dir.file("ready"));
    http::Client c("127.0.0.1", serve.port());
    std::set<std::string> pending;
    {
      std::lock_guard lock(ledger.mu);
      pending = ledger.unanswered;
      ledger.unanswered.clear();
    }
    for (const auto& key : pending) {
      auto h = test::TestNode::auth();
      h.push_back({"idempotency-key", key});
      auto r = c.request("POST", "/v1/complaints", body_for(key), h);
      REQUIRE((r.status == 200 || r.status == 201));
      ledger.answered(key, json::get_string(*json::parse(r.body), "id"));
    }
    CHECK(serve.terminate() == 0);
  }

  CHECK(ledger.conflicts == 0);  // no key was ever answered with two different ids
  MESSAGE("cycles: " << cycles << ", acknowledged complaints: " << ledger.acked.size());
  REQUIRE(ledger.acked.size() > static_cast<std::size_t>(cycles));

  SqliteStore store(test::keyed_store(dir.file("crash-node.db")));
  test::RawDb raw(dir.file("crash-node.db"));
  sqlite3* db = raw.db;
  CHECK(scalar(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") ==
        1);
  std::set<std::string> ids;
  for (const auto& [key, id] : ledger.acked) {
    ids.insert(id);
    CHECK(store.find_by_ref("crash", key) == id);
  }
  CHECK(ids.size() == ledger.acked.size());
  // Exactly the acknowledged complaints, each complete: projection, one created event, raw
  // payload, ref, idempotency answer. Nothing orphaned.
  CHECK(scalar(db, "SELECT count(*) FROM complaints") == static_cast<std::int64_t>(ids.size()));
  CHECK(scalar(db, "SELECT count(*) FROM events WHERE kind = 'created'") ==
        static_cast<std::int64_t>(ids.size()));
  CHECK(scalar(db, "SELECT count(*) FROM raw_payloads") == static_cast<std::int64_t>(ids.size()));
  CHECK(scalar(db, "SELECT count(*) FROM refs") == static_cast<std::int64_t>(ids.size()));
  CHECK(scalar(db, "SELECT count(*) FROM idempotency") == static_cast<std::int64_t>(ids.size()));
  CHECK(scalar(db,
               "SELECT count(*) FROM events e LEFT JOIN complaints c ON c.id = e.complaint_id "
               "WHERE c.id IS NULL") == 0);
  CHECK(scalar(db,
               "SELECT count(*) FROM raw_payloads r LEFT JOIN complaints c ON c.id = "
               "r.complaint_id WHERE c.id IS NULL") == 0);
  CHECK(scalar(db,
               "SELECT count(*) FROM complaints c WHERE (SELECT count(*) FROM events e WHERE "
               "e.complaint_id = c.id) != c.event_count") == 0);
  for (const auto& id : ids) {
    auto st = fold(store.events_of(id), FoldContext{});
    REQUIRE(st.exists);
    CHECK(st.status == Status::received);
  }
}
