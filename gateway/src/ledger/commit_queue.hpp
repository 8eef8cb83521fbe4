#pragma once
// Group commit: many concurrent writes share one SQLite transaction and so one fsync.
//
// submit() hands a job to the writer thread, which owns the writing Store and the Ledger on it.
// The thread takes every job queued so far (up to max_batch), opens one transaction, runs each
// job inside its own savepoint (a job that throws is rolled back alone), commits, and only then
// calls each
// job's `done` with errc::ok. If the commit fails, every job in the batch gets the error and
// nothing of it is stored. So `done(ok)` means "durable": answer the client after it, never
// before.
//
// Thread safety: submit() and stop() may be called from any thread. `work` and `done` run on
// the writer thread; `done` must not block (post the answer back to the caller's executor).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "ledger/ledger.hpp"
#include "simpul/errors.hpp"
#include "store/store.hpp"

namespace simpul {

class CommitQueue {
 public:
  // A job decides through the ledger; plain writes (settling outbox rows, cursors) go to
  // ledger.store().
  using Work = std::function<void(Ledger&)>;
  using Done = std::function<void(errc)>;

  CommitQueue(std::unique_ptr<Store> store, LedgerRules rules, int max_batch);
  ~CommitQueue();  // stop()

  // After stop(), done(errc::unavailable) is called at once.
  void submit(Work work, Done done);
  // The writing ledger, to finish configuring it (its outbound routes) before the first submit().
  Ledger& ledger() { return ledger_; }
  // Called on the writer thread after every successful commit (e.g. to wake long-polls).
  // Set before the first submit().
  void on_commit(std::function<void()> hook) { on_commit_ = std::move(hook); }
  // Finishes every queued job, then joins the writer thread. Idempotent.
  void stop();

  struct Stats {
    std::uint64_t batches = 0;
    std::uint64_t jobs = 0;
    std::uint64_t failed_commits = 0;
  };
  Stats stats() const;
  std::size_t queued() const;

 private:
  struct Job {
    Work work;
    Done done;
  };
  void run();
  void run_batch(std::deque<Job>& batch);

  std::unique_ptr<Store> store_;
  Ledger ledger_;
  const std::size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  Stats stats_;
  bool replaced_ = false;  // writer thread only: the database file is no longer the one opened
  std::function<void()> on_commit_;
  std::thread thread_;
};

}  // namespace simpul
