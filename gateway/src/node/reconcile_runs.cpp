#include "node/reconcile_runs.hpp"

#include <future>
#include <limits>

#include "core/log.hpp"
#include "ledger/commit_queue.hpp"
#include "node/store_setup.hpp"
#include "store/store.hpp"

namespace simpul {

namespace {
// Before the first run there is nothing to show: no sample (core/metrics.hpp), not a 0.
constexpr double kNoSample = std::numeric_limits<double>::quiet_NaN();
}  // namespace

ReconcileRuns::ReconcileRuns(const Config& cfg, reconcile::With with, Store& reader,
                             CommitQueue& writer, Metrics& metrics, std::function<TimeMs()> clock)
    : cfg_(cfg), with_(with), writer_(writer), clock_(std::move(clock)) {
  try {
    if (auto s = reconcile::last_summary(reader, with)) last_ = *s;
  } catch (const StoreError&) {
  }
  const std::string side(reconcile::to_string(with));
  auto gauge = [&](const char* kind, std::int64_t reconcile::Summary::*member) {
    metrics.gauge("simpul_reconcile_drift" + Metrics::labels({{"with", side}, {"kind", kind}}),
                  "What the last reconciliation with the tier above found: missing_there (ours "
                  "it lacks), missing_here (its we lack), mismatched (status or agency).",
                  [this, member] {
                    std::lock_guard lock(mu_);
                    return last_.at == 0 ? kNoSample : static_cast<double>(last_.*member);
                  });
  };
  gauge("missing_there", &reconcile::Summary::missing_there);
  gauge("missing_here", &reconcile::Summary::missing_here);
  gauge("mismatched", &reconcile::Summary::mismatched);
  metrics.gauge("simpul_reconcile_last_run_timestamp_seconds" + Metrics::labels({{"with", side}}),
                "When the last reconciliation with the tier above ran (Unix time).", [this] {
                  std::lock_guard lock(mu_);
                  return last_.at == 0 ? kNoSample : static_cast<double>(last_.at / 1000);
                });
  metrics.gauge(
      "simpul_reconcile_drift_seconds" + Metrics::labels({{"with", side}}),
      "How long reconciliation has found drift without a run finding none (0: none).", [this] {
        std::lock_guard lock(mu_);
        if (last_.at == 0) return kNoSample;
        return last_.drift_since > 0 ? static_cast<double>((clock_() - last_.drift_since) / 1000)
                                     : 0.0;
      });
}

ReconcileRuns::~ReconcileRuns() { stop(); }

void ReconcileRuns::start() {
  if (cfg_.reconcile.interval_s <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void ReconcileRuns::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReconcileRuns::loop() {
  const auto interval = std::chrono::seconds(cfg_.reconcile.interval_s);
  auto wait = std::min<std::chrono::steady_clock::duration>(interval, std::chrono::seconds(60));
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, wait, [this] { return stopping_; })) return;
    }
    run_once();
    wait = interval;
  }
}

void ReconcileRuns::run_once() {
  try {
    auto reader = open_node_store(cfg_, StoreUse::existing);
    reconcile::Write write = [this](std::function<void(Ledger&)> work) {
      std::promise<errc> done;
      auto answer = done.get_future();
      writer_.submit(std::move(work), [&done](errc e) { done.set_value(e); });
      if (errc e = answer.get(); e != errc::ok)
        throw StoreError(e, "the node's writer refused a repair");
    };
    reconcile::Options o;
    o.with = with_;
    o.to = clock_();
    o.from = o.to - cfg_.reconcile.window_days * 86'400'000LL;
    o.repair = cfg_.reconcile.repair;
    o.cancelled = [this] {
      std::lock_guard lock(mu_);
      return stopping_;
    };
    auto r = reconcile::run(cfg_, *reader, write, o, clock_);
    write([r](Ledger& l) { reconcile::keep_summary(l.store(), r); });
    auto s = reconcile::last_summary(*reader, with_);
    if (s) {
      std::lock_guard lock(mu_);
      last_ = *s;
    }
  } catch (const std::exception& e) {
    log::warn("reconcile.failed", {{"with", std::string(reconcile::to_string(with_))},
                                   {"error", e.what()},
                                   {"detail", "tried again at the next interval"}});
  }
}

std::pair<std::string, std::pair<std::string, std::string>> ReconcileRuns::check() const {
  const std::string name = "reconcile:" + std::string(reconcile::to_string(with_));
  std::lock_guard lock(mu_);
  if (!last_.error.empty()) return {name, {"degraded", "last run incomplete: " + last_.error}};
  if (last_.drift() == 0) return {name, {"ok", ""}};
  const TimeMs lasting = clock_() - last_.drift_since;
  const std::string what = std::to_string(last_.missing_there) + " missing there, " +
                           std::to_string(last_.missing_here) + " missing here, " +
                           std::to_string(last_.mismatched) + " mismatched since " +
                           format_utc(last_.drift_since) + " (simpul reconcile --with " +
                           std::string(reconcile::to_string(with_)) + ")";
  if (lasting > cfg_.reconcile.warn_after_s * 1000LL) return {name, {"warning", what}};
  return {name, {"ok", what}};
}

}  // namespace simpul
