#pragma once
// The node's own reconciliation with the tier above (reconcile/reconcile.hpp): a run every
// reconcile.interval_s on a thread of its own (it waits on the other side; the io thread never
// does), the first a minute after start. Its repairs (reconcile.repair) go through the node's
// writer; its summary is kept in the store for `simpul status`, and shown on /metrics
// (simpul_reconcile_drift, no sample before the first run) and /readyz ("reconcile:<with>": warning
// once drift has stayed above zero longer than reconcile.warn_after_s).

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "reconcile/reconcile.hpp"

namespace simpul {

class CommitQueue;
class Store;

class ReconcileRuns {
 public:
  ReconcileRuns(const Config& cfg, reconcile::With with, Store& reader, CommitQueue& writer,
                Metrics& metrics, std::function<TimeMs()> clock);
  ~ReconcileRuns();
  void start();
  void stop();
  // check name -> (state, detail), for /readyz.
  std::pair<std::string, std::pair<std::string, std::string>> check() const;

 private:
  void loop();
  void run_once();

  const Config& cfg_;
  reconcile::With with_;
  CommitQueue& writer_;
  std::function<TimeMs()> clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  reconcile::Summary last_;  // under mu_
  std::thread thread_;
};

}  // namespace simpul
