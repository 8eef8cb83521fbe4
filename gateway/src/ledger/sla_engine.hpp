#pragma once
// The SLA scheduler of a node: every `interval_ms` (and at once while there is more), it reads
// the complaints whose scheduler time has come (Store::sla_due, by index) and has the writer
// append what their clocks decided (Ledger::sla_tick). Runs on the io thread; the writes go
// through the group commit like any other.

#include <functional>
#include <memory>

#include "core/metrics.hpp"
#include "core/scheduler.hpp"
#include "ledger/commit_queue.hpp"
#include "store/store.hpp"

namespace simpul {

class SlaEngine {
 public:
  using Post = std::function<void(std::function<void()>)>;  // run on the io thread
  SlaEngine(Store& reader, CommitQueue& writer, Scheduler& scheduler, Post post,
            std::function<TimeMs()> clock, int interval_ms, Metrics& metrics);
  ~SlaEngine();
  void start();
  void stop();
  static constexpr int kBatch = 200;

 private:
  void scan();
  void later();

  Store& reader_;
  CommitQueue& writer_;
  Scheduler& scheduler_;
  Post post_;
  std::function<TimeMs()> clock_;
  int interval_ms_;
  Metrics& metrics_;
  bool stopping_ = false;
  // Callbacks check it: none runs on an engine that is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace simpul
