#pragma once
// Retention: what a node may forget so its store does not grow for ever. Every `interval_ms`
// it deletes, a small batch per commit (the write lock is held for one batch, and other writes
// go between batches), delivered outbox rows older than `outbox_done_ms`, raw payloads of
// complaints closed more than `raw_closed_ms` ago, Idempotency-Key answers older than
// `idempotency_ms` and children's acknowledged feed rows older than the feed's retention; then
// returns the freed pages to the file system (incremental vacuum). Never an event, a
// complaint, a pending or dead outbox row, or an open complaint's raw payload (Store::prune).
// What a pass reclaimed is on /metrics and in the cursor `retention.last` (simpul status).
// Runs on the io thread like the SLA engine; the deletes go through the group commit.

#include <functional>
#include <memory>

#include "core/metrics.hpp"
#include "core/scheduler.hpp"
#include "ledger/commit_queue.hpp"
#include "store/store.hpp"

namespace simpul {

struct RetentionSettings {
  int interval_ms = 3600 * 1000;  // 0: off
  TimeMs outbox_done_ms = 7LL * 24 * 3600 * 1000;
  TimeMs raw_closed_ms = 90LL * 24 * 3600 * 1000;
  TimeMs idempotency_ms = 30LL * 24 * 3600 * 1000;
  int batch = 500;                 // feed rows per child per step
  int window = 5000;               // rows of each table a step reads (Store::RetentionCut::window)
  int first_delay_ms = 60 * 1000;  // after start: the node settles first
};

class Retention {
 public:
  using Post = std::function<void(std::function<void()>)>;  // run on the io thread
  Retention(CommitQueue& writer, Scheduler& scheduler, Post post, std::function<TimeMs()> clock,
            RetentionSettings settings, Metrics& metrics);
  ~Retention();
  void start();
  void stop();
  static constexpr const char* kCursor = "retention.last";
  static constexpr int kVacuumPages = 1000;  // pages returned per commit

 private:
  struct Pass {
    Store::RetentionCut cut;
    Store::RetentionDeleted deleted;
    std::int64_t pages = 0;
    TimeMs started = 0;
  };
  void run_pass();
  void delete_batch(std::shared_ptr<Pass> pass);
  void vacuum(std::shared_ptr<Pass> pass);
  void finish(std::shared_ptr<Pass> pass);
  void later(int ms);

  CommitQueue& writer_;
  Scheduler& scheduler_;
  Post post_;
  std::function<TimeMs()> clock_;
  RetentionSettings settings_;
  Metrics& metrics_;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace simpul
