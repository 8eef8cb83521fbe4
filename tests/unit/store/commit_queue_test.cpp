#include <doctest/doctest.h>

#include <sqlite3.h>

#include <atomic>
#include <future>
#include <thread>

#include "store/commit_queue.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {
std::int64_t rows(const std::string& path) {
  Store s(StoreOptions{path, true, 5000, false}, FoldContext{});
  return s.complaint_count() + [&] {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(s.handle(), "SELECT count(*) FROM cursors", -1, &st, nullptr);
    sqlite3_step(st);
    auto v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
  }();
}

CommitQueue::Work insert_cursor(int i) {
  return [i](Store& s) {
    s.exec(("INSERT INTO cursors(name, value, updated_at) VALUES ('c" + std::to_string(i) + "', 'v', 0)").c_str());
  };
}
}  // namespace

TEST_CASE("commit queue: concurrent writes share commits - and done means durable") {
  test::TempDir dir;
  auto path = dir.file("q.db");
  CommitQueue q(std::make_unique<Store>(StoreOptions{path}, FoldContext{}), 512);
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
          Store reader(StoreOptions{path, true, 5000, false}, FoldContext{});
          sqlite3_stmt* st = nullptr;
          sqlite3_prepare_v2(reader.handle(), ("SELECT count(*) FROM cursors WHERE name = 'c" + std::to_string(n) + "'").c_str(), -1, &st, nullptr);
          sqlite3_step(st);
          if (sqlite3_column_int64(st, 0) == 1) ++visible_at_done;
          sqlite3_finalize(st);
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
  CommitQueue q(std::make_unique<Store>(StoreOptions{path}, FoldContext{}), 512);
  std::promise<void> gate;
  auto gate_f = gate.get_future().share();
  // Hold the writer so the next three jobs land in one batch.
  q.submit([gate_f](Store&) { gate_f.wait(); }, [](errc) {});
  std::promise<errc> a, b, c;
  q.submit(insert_cursor(1), [&](errc e) { a.set_value(e); });
  q.submit([](Store& s) {
    s.exec("INSERT INTO cursors(name, value, updated_at) VALUES ('half', 'v', 0)");
    s.exec("INSERT INTO no_such_table VALUES (1)");  // fails after a write
  }, [&](errc e) { b.set_value(e); });
  q.submit(insert_cursor(3), [&](errc e) { c.set_value(e); });
  gate.set_value();
  CHECK(a.get_future().get() == errc::ok);
  CHECK(b.get_future().get() == errc::storage_failure);
  CHECK(c.get_future().get() == errc::ok);
  q.stop();
  CHECK(rows(path) == 2);  // c1 and c3, not the half-written job
}

TEST_CASE("commit queue: stop() finishes queued work - later submits are refused") {
  test::TempDir dir;
  auto path = dir.file("q.db");
  CommitQueue q(std::make_unique<Store>(StoreOptions{path}, FoldContext{}), 4);
  std::atomic<int> ok{0};
  for (int i = 0; i < 100; ++i) q.submit(insert_cursor(i), [&](errc e) { ok += e == errc::ok; });
  q.stop();
  CHECK(ok == 100);
  std::promise<errc> late;
  q.submit(insert_cursor(1000), [&](errc e) { late.set_value(e); });
  CHECK(late.get_future().get() == errc::unavailable);
  CHECK(rows(path) == 100);
}
