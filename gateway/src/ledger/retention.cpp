#include "ledger/retention.hpp"

#include "core/json.hpp"
#include "core/log.hpp"
#include "simpul/cursor.hpp"

namespace simpul {

Retention::Retention(CommitQueue& writer, Scheduler& scheduler, Post post,
                     std::function<TimeMs()> clock, RetentionSettings settings, Metrics& metrics)
    : writer_(writer),
      scheduler_(scheduler),
      post_(std::move(post)),
      clock_(std::move(clock)),
      settings_(settings),
      metrics_(metrics) {
  metrics_.describe("simpul_retention_deleted_total", "counter",
                    "Rows retention deleted, by kind (outbox, raw_payloads, idempotency, feed).");
  for (const char* what : {"outbox", "raw_payloads", "idempotency", "feed"})
    metrics_.add("simpul_retention_deleted_total", Metrics::labels({{"what", what}}), 0);
  metrics_.describe("simpul_retention_reclaimed_pages_total", "counter",
                    "Database pages retention returned to the file system (incremental vacuum).");
  metrics_.add("simpul_retention_reclaimed_pages_total", "", 0);
  metrics_.describe("simpul_retention_passes_total", "counter", "Retention passes finished.");
  metrics_.add("simpul_retention_passes_total", "", 0);
}

Retention::~Retention() { *alive_ = false; }

void Retention::start() {
  if (settings_.interval_ms <= 0) return;
  later(settings_.first_delay_ms);
}

void Retention::stop() { stopping_ = true; }

void Retention::later(int ms) {
  std::weak_ptr<bool> alive = alive_;
  scheduler_.after(ms, [this, alive] {
    if (auto a = alive.lock(); a && *a) run_pass();
  });
}

void Retention::run_pass() {
  if (stopping_) return;
  auto pass = std::make_shared<Pass>();
  pass->started = clock_();
  pass->cut.outbox_done_before = pass->started - settings_.outbox_done_ms;
  pass->cut.raw_closed_before = pass->started - settings_.raw_closed_ms;
  pass->cut.idempotency_before = pass->started - settings_.idempotency_ms;
  pass->cut.feed_acked_before = pass->started - Outbox::kFeedRetentionMs;
  pass->cut.batch = settings_.batch;
  pass->cut.window = settings_.window;
  delete_batch(pass);
}

// One step of deletes (a window of each table); the next is queued behind whatever else waits
// for the writer, until the walk reaches the end of every table.
void Retention::delete_batch(std::shared_ptr<Pass> pass) {
  if (stopping_) return;
  auto got = std::make_shared<Store::RetentionDeleted>();
  std::weak_ptr<bool> alive = alive_;
  writer_.submit(
      [pass, got](Ledger& l) { *got = l.store().prune(pass->cut); },
      [this, alive, pass, got](errc e) {
        post_([this, alive, pass, got, e] {
          if (auto a = alive.lock(); !a || !*a) return;
          if (e != errc::ok) {
            log::warn("retention.failed", {{"error", code_name(e)}});
            later(settings_.interval_ms);
            return;
          }
          auto& d = pass->deleted;
          d.outbox += got->outbox;
          d.raw_payloads += got->raw_payloads;
          d.idempotency += got->idempotency;
          d.feed += got->feed;
          for (auto [what, n] :
               {std::pair{"outbox", got->outbox}, std::pair{"raw_payloads", got->raw_payloads},
                std::pair{"idempotency", got->idempotency}, std::pair{"feed", got->feed}})
            if (n > 0)
              metrics_.add("simpul_retention_deleted_total", Metrics::labels({{"what", what}}),
                           static_cast<double>(n));
          // The walk goes on from where this step ended, until every table is walked.
          pass->cut.outbox_after = got->outbox_next;
          pass->cut.raw_after = got->raw_next;
          pass->cut.idempotency_after = got->idempotency_next;
          if (!got->finished)
            delete_batch(pass);
          else
            vacuum(pass);
        });
      });
}

void Retention::vacuum(std::shared_ptr<Pass> pass) {
  if (stopping_) return;
  auto freed = std::make_shared<std::int64_t>(0);
  std::weak_ptr<bool> alive = alive_;
  writer_.submit([freed](Ledger& l) { *freed = l.store().vacuum_step(kVacuumPages); },
                 [this, alive, pass, freed](errc e) {
                   post_([this, alive, pass, freed, e] {
                     if (auto a = alive.lock(); !a || !*a) return;
                     if (e == errc::ok && *freed > 0) {
                       pass->pages += *freed;
                       metrics_.add("simpul_retention_reclaimed_pages_total", "",
                                    static_cast<double>(*freed));
                       vacuum(pass);
                       return;
                     }
                     finish(pass);
                   });
                 });
}

void Retention::finish(std::shared_ptr<Pass> pass) {
  const auto& d = pass->deleted;
  const TimeMs now = clock_();
  rapidjson::StringBuffer buf;
  {
    json::Writer w(buf);
    w.StartObject();
    w.Key("at");
    w.Int64(now);
    for (auto [key, n] : {std::pair{"outbox", d.outbox}, std::pair{"raw_payloads", d.raw_payloads},
                          std::pair{"idempotency", d.idempotency}, std::pair{"feed", d.feed},
                          std::pair{"reclaimed_pages", pass->pages},
                          std::pair{"duration_ms", now - pass->started}}) {
      w.Key(key);
      w.Int64(n);
    }
    w.EndObject();
  }
  std::string text = cursor_text(1, std::string(buf.GetString(), buf.GetSize()));
  writer_.submit([text, now](Ledger& l) { l.store().set_cursor(kCursor, text, now); }, [](errc) {});
  metrics_.add("simpul_retention_passes_total", "");
  log::info("retention.done", {{"outbox", d.outbox},
                               {"raw_payloads", d.raw_payloads},
                               {"idempotency", d.idempotency},
                               {"feed", d.feed},
                               {"reclaimed_pages", pass->pages},
                               {"duration_ms", now - pass->started}});
  later(settings_.interval_ms);
}

}  // namespace simpul
