#include "ledger/sla_engine.hpp"

#include <string>
#include <vector>

#include "core/json.hpp"
#include "core/log.hpp"

namespace simpul {

SlaEngine::SlaEngine(Store& reader, CommitQueue& writer, Scheduler& scheduler, Post post,
                     std::function<TimeMs()> clock, int interval_ms, Metrics& metrics)
    : reader_(reader),
      writer_(writer),
      scheduler_(scheduler),
      post_(std::move(post)),
      clock_(std::move(clock)),
      interval_ms_(interval_ms),
      metrics_(metrics) {
  metrics_.describe("simpul_sla_events_total", "counter",
                    "Events the SLA scheduler wrote, by kind (sla_warning, sla_breached, closed).");
  for (const char* kind : {"sla_warning", "sla_breached", "closed"})
    metrics_.add("simpul_sla_events_total", Metrics::labels({{"kind", kind}}), 0);
}

SlaEngine::~SlaEngine() { *alive_ = false; }

void SlaEngine::start() {
  // The first scan runs on the io thread, as every later one (the reader is that thread's).
  std::weak_ptr<bool> alive = alive_;
  post_([this, alive] {
    if (auto a = alive.lock(); a && *a) scan();
  });
}

void SlaEngine::stop() { stopping_ = true; }

void SlaEngine::later() {
  std::weak_ptr<bool> alive = alive_;
  scheduler_.after(interval_ms_, [this, alive] {
    if (auto a = alive.lock(); a && *a) scan();
  });
}

void SlaEngine::scan() {
  if (stopping_) return;
  const TimeMs now = clock_();
  std::vector<std::string> due;
  try {
    due = reader_.sla_due(now, kBatch);
  } catch (const StoreError& e) {
    log::warn("sla.scan_failed", {{"error", e.what()}});
    later();
    return;
  }
  if (due.empty()) {
    later();
    return;
  }
  auto written = std::make_shared<std::vector<Event>>();
  std::weak_ptr<bool> alive = alive_;
  const bool full = static_cast<int>(due.size()) == kBatch;
  writer_.submit(
      [due, now, written](Ledger& l) {
        for (const auto& id : due) {
          std::vector<Event> events;
          auto out = l.sla_tick(id, now, &events);
          if (out.kind == WriteOutcome::Kind::rejected)
            log::warn("sla.refused", {{"complaint_id", id}, {"reason", out.detail}});
          for (auto& e : events) written->push_back(std::move(e));
        }
      },
      [this, alive, written, full](errc e) {
        post_([this, alive, written, full, e] {
          if (auto a = alive.lock(); !a || !*a) return;
          if (e != errc::ok) {  // nothing of it was stored: the next scan decides again
            log::warn("sla.write_failed", {{"error", code_name(e)}});
          } else {
            for (const auto& ev : *written) {
              const std::string kind(to_string(ev.kind));
              metrics_.add("simpul_sla_events_total", Metrics::labels({{"kind", kind}}));
              auto doc = json::parse(ev.payload);
              log::info("sla.event", {{"complaint_id", ev.complaint_id},
                                      {"kind", kind},
                                      {"clock", doc ? json::get_string(*doc, "deadline") : ""},
                                      {"due", doc ? json::get_string(*doc, "due") : ""}});
            }
          }
          if (full && e == errc::ok)
            scan();
          else
            later();
        });
      });
}

}  // namespace simpul
