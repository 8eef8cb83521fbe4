#pragma once
// The child side of the federation link to the parent tier (dialect `simpul`):
//   push: outbox rows for destination "upstream" go to POST /fed/v1/events in batches, oldest
//         first (so per complaint in order). accepted/duplicate -> done; rejected -> dead letter.
//   pull: GET /fed/v1/changes long-polls the parent; the events are merged and the cursor is
//         stored in the same transaction, so a crash only means fetching again.
//   recover: at start, GET /fed/v1/recover asks for what the parent holds from this node since
//         shortly before its latest stored event (a node restored from a backup gets back what
//         it sent up after the backup); writes from outside are held until the first answer.
// Failures: connection errors, timeouts, 5xx and unreadable answers are retried as LinkHealth
// says (relay/link_health.hpp: full jitter up to upstream.max_backoff_ms, Retry-After, a pause
// on 401/403 without touching the outbox, the breaker), counted separately for pushing and
// pulling. Nothing is ever dropped for a network error.
// Runs on the node's io thread; wake() and status() are for that thread too.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/ed25519.hpp"
#include "ledger/commit_queue.hpp"
#include "relay/link_health.hpp"
#include "store/store.hpp"

namespace boost::asio {
class io_context;
}

namespace simpul {

class Supervisor;

// What `simpul status` and /metrics show of the link to the tier above, whatever its dialect.
struct UplinkStatus : BreakerState {
  std::uint64_t pushed = 0;  // events the parent acknowledged
  std::uint64_t pulled = 0;  // new events merged from the parent
  std::uint64_t dead = 0;    // events the parent rejected
};

// The link to the tier above: dialect `simpul` (UpstreamLink, below) or `lapor`
// (lapor/lapor_link.hpp). Both push outbox rows for destination "upstream" through a Relay,
// merge what comes down with Store::merge_from_parent, and wait after failures as LinkHealth
// says; the node holds whichever the config names. Their loops run under the node's Supervisor.
class Uplink {
 public:
  virtual ~Uplink() = default;
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual void wake() = 0;  // new outbox rows were committed
  virtual const UplinkStatus& status() const = 0;
  // True while the link is finding out whether this node lost its own events (restored from a
  // backup) and getting them back: the node holds writes from outside meanwhile.
  virtual bool recovering() const { return false; }
};

class UpstreamLink final : public Uplink {
 public:
  using Status = UplinkStatus;

  // `signing_key`: what this node signs the events it originates with (core/provenance.hpp).
  UpstreamLink(boost::asio::io_context& ioc, Supervisor& supervisor, const Config& cfg,
               std::string credential, Store& reader, CommitQueue& writer,
               std::function<TimeMs()> clock, const crypto::SigningKey& signing_key);
  ~UpstreamLink() override;
  void start() override;
  void stop() override;
  void wake() override;
  const Status& status() const override;
  bool recovering() const override;

  static constexpr int kBreakerThreshold = LinkHealth::kBreakerThreshold;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace simpul
