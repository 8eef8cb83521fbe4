// The retention job as the node runs it (ledger/retention.hpp), on a real store through the group
// commit: a pass walks every window of each table, not only the first.

#include "ledger/retention.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

// The io thread, played by the test: what is posted or scheduled runs when the test pumps.
struct Loop final : Scheduler {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> tasks;
  void post(std::function<void()> fn) {
    {
      std::lock_guard lock(mu);
      tasks.push_back(std::move(fn));
    }
    cv.notify_all();
  }
  void after(int, std::function<void()> fn) override { post(std::move(fn)); }
  // Runs tasks until `done` holds or `seconds` pass.
  bool pump_until(const std::function<bool()>& done, int seconds) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (!done()) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu);
        if (!cv.wait_until(lock, deadline, [&] { return !tasks.empty(); })) return false;
        fn = std::move(tasks.front());
        tasks.pop_front();
      }
      fn();
    }
    return true;
  }
};

}  // namespace

TEST_CASE(
    "retention: a pass walks every window of a table - rows past the first window are deleted "
    "too - and the pass is recorded") {
  test::TempDir dir;
  const std::string db = dir.file("store.db");
  { SqliteStore made(StoreOptions{db}); }
  constexpr int kRows = 1'050;  // more than ten windows of 100
  // First, answers too recent to delete: the first windows hold nothing to delete, and a walk
  // that did not move on would read them again and again.
  const TimeMs now = system_now_ms();
  test::db_exec(db,
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 150) "
                "INSERT INTO idempotency(scope, key, request_sha256, status, complaint_id, "
                "response_json, created_at) SELECT 'tok', 'new' || x, '', 201, NULL, '', " +
                    std::to_string(now) + " FROM n");
  test::db_exec(
      db, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < " +
              std::to_string(kRows) +
              ") INSERT INTO idempotency(scope, key, request_sha256, status, complaint_id, "
              "response_json, created_at) SELECT 'tok', 'k' || x, '', 201, NULL, '', 0 FROM n");
  REQUIRE(test::db_count(db, "SELECT count(*) FROM idempotency") == kRows + 150);

  Loop loop;
  Metrics metrics;
  CommitQueue writer(std::make_unique<SqliteStore>(StoreOptions{db}), LedgerRules{}, 512);
  RetentionSettings settings;
  settings.first_delay_ms = 0;
  settings.window = 100;
  settings.idempotency_ms = 1000;  // every row above is older
  Retention retention(
      writer, loop, [&loop](std::function<void()> fn) { loop.post(std::move(fn)); },
      [now] { return now; }, settings, metrics);
  retention.start();
  const bool recorded = loop.pump_until(
      [&] {
        return test::db_count(db, "SELECT count(*) FROM cursors WHERE name = 'retention.last'") ==
               1;
      },
      20);
  retention.stop();
  writer.stop();
  REQUIRE(recorded);
  CHECK(test::db_count(db, "SELECT count(*) FROM idempotency") == 150);
  CHECK(metrics.render().find("simpul_retention_deleted_total{what=\"idempotency\"} 1050") !=
        std::string::npos);
}
