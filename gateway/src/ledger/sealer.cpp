#include "ledger/sealer.hpp"

#include <string>

#include "core/log.hpp"

namespace simpul {

Sealer::Sealer(CommitQueue& writer, Post post, Metrics& metrics, int batch)
    : writer_(writer), post_(std::move(post)), metrics_(metrics), batch_(batch) {
  metrics_.describe("simpul_store_sealed_total", "counter",
                    "Rows the sealer sealed since start: resealed (under an older key before) "
                    "or in_place (written in the clear before).");
  metrics_.add("simpul_store_sealed_total", Metrics::labels({{"what", "resealed"}}), 0);
  metrics_.add("simpul_store_sealed_total", Metrics::labels({{"what", "in_place"}}), 0);
}

Sealer::~Sealer() { *alive_ = false; }

void Sealer::start() { step(); }
void Sealer::stop() { stopping_ = true; }

void Sealer::step() {
  if (stopping_) return;
  auto got = std::make_shared<Store::SealStep>();
  std::weak_ptr<bool> alive = alive_;
  const int batch = batch_;
  writer_.submit(
      [got, batch](Ledger& l) {
        Store& s = l.store();
        const std::string at = s.cursor(kCursor);
        const std::int64_t from = at.empty() ? 0 : std::stoll(at);
        try {
          *got = s.seal_step(from, batch);
        } catch (const std::exception& ex) {
          // A key that is not configured, a damaged row: said, and tried again at the next
          // start (the node serves meanwhile; what is sealed stays readable where it can be).
          log::error("store.seal_failed",
                     {{"error", ex.what()}, {"detail", "fix the store keys and restart"}});
          throw;
        }
        if (got->sealed_through > from)
          s.set_cursor(kCursor, std::to_string(got->sealed_through), 0);
      },
      [this, alive, got](errc e) {
        post_([this, alive, got, e] {
          if (auto a = alive.lock(); !a || !*a) return;
          if (e != errc::ok) return;  // logged by the step
          resealed_ += got->resealed;
          sealed_ += got->sealed;
          if (got->resealed)
            metrics_.add("simpul_store_sealed_total", Metrics::labels({{"what", "resealed"}}),
                         static_cast<double>(got->resealed));
          if (got->sealed)
            metrics_.add("simpul_store_sealed_total", Metrics::labels({{"what", "in_place"}}),
                         static_cast<double>(got->sealed));
          if (!got->finished) {
            step();
            return;
          }
          if (resealed_ || sealed_)
            log::info("store.sealed", {{"resealed", resealed_},
                                       {"sealed_in_place", sealed_},
                                       {"through_event", got->sealed_through}});
        });
      });
}

}  // namespace simpul
