#include "ledger/commit_queue.hpp"

#include <vector>

#include "core/log.hpp"

namespace simpul {

CommitQueue::CommitQueue(std::unique_ptr<Store> store, LedgerRules rules, int max_batch)
    : store_((SIMPUL_CHECK(store != nullptr, "CommitQueue needs a store"), std::move(store))),
      ledger_(*store_, std::move(rules)),
      max_batch_(static_cast<std::size_t>(max_batch)) {
  SIMPUL_CHECK(max_batch > 0, "max_batch must be positive");
  thread_ = std::thread([this] { run(); });
}

CommitQueue::~CommitQueue() { stop(); }

void CommitQueue::submit(Work work, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(work), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(errc::unavailable);
}

void CommitQueue::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

CommitQueue::Stats CommitQueue::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::size_t CommitQueue::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void CommitQueue::run() {
  for (;;) {
    std::deque<Job> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    run_batch(batch);
  }
}

void CommitQueue::run_batch(std::deque<Job>& batch) {
  std::vector<errc> results(batch.size(), errc::ok);
  errc batch_error = errc::ok;
  bool lone_job_failed = false;
  // A database file deleted or replaced under the node: every write would be acknowledged into
  // an unlinked file and lost at restart. Refused from then on (503), with one log line.
  if (!replaced_ && store_->file_replaced()) {
    replaced_ = true;
    log::error("store.file_replaced", {{"detail",
                                        "the database file was deleted or replaced while the node "
                                        "runs; writes are refused until it is restarted"}});
  }
  if (replaced_) batch_error = errc::unavailable;
  if (batch_error == errc::ok) try {
      store_->begin();
    } catch (const StoreError& e) {
      batch_error = e.code();
      log::error("store.begin_failed", {{"error", code_name(e.code())}, {"detail", e.what()}});
    }
  if (batch_error == errc::ok) {
    // A job alone in its transaction needs no savepoint of its own: the rollback undoes it. That
    // matters for a large job whose writes open savepoints of their own (a page of polled
    // records, each in its own): nested in an outer savepoint, each inner RELEASE costs SQLite
    // time in proportion to everything the outer one has written so far (its in-memory
    // sub-journal is walked from the start), so a job of n records costs n^2.
    const bool alone = batch.size() == 1;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        if (alone) {
          batch[i].work(ledger_);
        } else {
          Store::Savepoint job(*store_);
          batch[i].work(ledger_);
          job.keep();
        }
      } catch (const StoreError& e) {
        results[i] = e.code();
        log::error("store.job_failed", {{"error", code_name(e.code())}, {"detail", e.what()}});
      } catch (const std::exception& e) {
        results[i] = errc::storage_failure;
        log::error("store.job_failed", {{"error", "exception"}, {"detail", e.what()}});
      }
      if (alone && results[i] != errc::ok) {  // the job failed, not the commit
        if (store_->in_transaction()) store_->rollback();
        lone_job_failed = true;
        batch_error = results[i];
        break;
      }
      // Some errors (SQLITE_FULL, SQLITE_IOERR) make SQLite roll back the whole transaction.
      // Then nothing of this batch is stored: fail all of it, never run later jobs outside it.
      if (!store_->in_transaction()) {
        batch_error = results[i] != errc::ok ? results[i] : errc::storage_failure;
        log::error("store.transaction_lost", {{"jobs", batch.size()}});
        break;
      }
    }
    if (batch_error == errc::ok) try {
        store_->commit();
      } catch (const StoreError& e) {
        batch_error = e.code();
        store_->rollback();
        log::error("store.commit_failed",
                   {{"error", code_name(e.code())}, {"detail", e.what()}, {"jobs", batch.size()}});
      }
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.batches;
    stats_.jobs += batch.size();
    if (batch_error != errc::ok && !lone_job_failed) ++stats_.failed_commits;
  }
  for (std::size_t i = 0; i < batch.size(); ++i)
    batch[i].done(batch_error != errc::ok ? batch_error : results[i]);
  if (batch_error == errc::ok && on_commit_) on_commit_();
}

}  // namespace simpul
