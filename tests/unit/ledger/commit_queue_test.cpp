#include "ledger/commit_queue.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <future>
#include <thread>

#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {
std::int64_t rows(const std::string& path) {
  return test::db_count(
      path, "SELECT (SELECT count(*) FROM complaints) + (SELECT count(*) FROM cursors)");
}

CommitQueue::Work insert_cursor(int i) {
  return [i](Ledger& l) { l.store().set_cursor("c" + std::to_string(i), "v", 0); };
}
}  // namespace

TEST_CASE("commit queue: concurrent writes share commits - and done means durable") {
  test::TempDir dir;
  auto path = dir.file("q.db");
  CommitQueue q(std::make_unique<SqliteStore>(StoreOptions{path}), LedgerRules{}, 512);
  constexpr int kThreads = 8, kPerThread = 50;
  std::atomic<int> visible_at_done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::promise<errc> p;
        int n = t * kPerThread + i;
        q.submit(insert_cursor(n), [&, n](errc e) {
          // Read through a separate connection: the row must already be committed.
          if (test::db_count(path, "SELECT count(*) FROM cursors WHERE name = 'c" +
                                       std::to_string(n) + "'") == 1)
            ++visible_at_done;
          p.set_value(e);
        });
        CHECK(p.get_future().get() == errc::ok);
      }
    });
  }
  for (auto& t : threads) t.join();
  auto stats = q.stats();
  CHECK(stats.jobs == kThreads * kPerThread);
  CHECK(visible_at_done == kThreads * kPerThread);
  CHECK(stats.batches < stats.jobs);  // group commit happened
  q.stop();
  CHECK(rows(path) == kThreads * kPerThread);
}

TEST_CASE("commit queue: a failing job is rolled back alone - its neighbours commit") {
  test::TempDir dir;
  auto path = dir.file("q.db");
  CommitQueue q(std::make_unique<SqliteStore>(StoreOptions{path}), LedgerRules{}, 512);
  std::promise<void> gate;
  auto gate_f = gate.get_future().share();
  // Hold the writer so the next three jobs land in one batch.
  q.submit([gate_f](Ledger&) { gate_f.wait(); }, [](errc) {});
  std::promise<errc> a, b, c;
  q.submit(insert_cursor(1), [&](errc e) { a.set_value(e); });
  q.submit(
      [](Ledger& l) {
        l.store().set_cursor("half", "v", 0);
        l.store().enqueue("upstream", 999'999, 0);  // fails after a write: no such event
      },
      [&](errc e) { b.set_value(e); });
  q.submit(insert_cursor(3), [&](errc e) { c.set_value(e); });
  gate.set_value();
  CHECK(a.get_future().get() == errc::ok);
  CHECK(b.get_future().get() == errc::storage_failure);
  CHECK(c.get_future().get() == errc::ok);
  q.stop();
  CHECK(rows(path) == 2);  // c1 and c3, not the half-written job
}

TEST_CASE(
    "commit queue: a job alone in its transaction (no savepoint of its own) that fails after a "
    "write leaves nothing - is answered its error - the next job commits") {
  test::TempDir dir;
  auto path = dir.file("q.db");
  CommitQueue q(std::make_unique<SqliteStore>(StoreOptions{path}), LedgerRules{}, 512);
  std::promise<errc> half, next;
  q.submit(
      [](Ledger& l) {
        l.store().set_cursor("half", "v", 0);
        l.store().enqueue("upstream", 999'999, 0);  // fails after a write: no such event
      },
      [&](errc e) { half.set_value(e); });
  CHECK(half.get_future().get() == errc::storage_failure);
  q.submit(insert_cursor(7), [&](errc e) { next.set_value(e); });
  CHECK(next.get_future().get() == errc::ok);
  CHECK(q.stats().failed_commits == 0);  // the job failed, not a commit
  q.stop();
  CHECK(rows(path) == 1);  // c7, not the half-written job
}

TEST_CASE("commit queue: stop() finishes queued work - later submits are refused") {
  test::TempDir dir;
  auto path = dir.file("q.db");
  CommitQueue q(std::make_unique<SqliteStore>(StoreOptions{path}), LedgerRules{}, 4);
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) q.submit(insert_cursor(i), [&](errc e) { ok += e == errc::ok; });
  q.stop();
  CHECK(ok == 100);
  std::promise<errc> late;
  q.submit(insert_cursor(1000), [&](errc e) { late.set_value(e); });
  CHECK(late.get_future().get() == errc::unavailable);
  CHECK(rows(path) == 100);
}
