#pragma once
// The child side of the federation link to the parent tier (dialect `simpul`):
//   push: outbox rows for destination "upstream" go to POST /fed/v1/events in batches, oldest
//         first (so per complaint in order). accepted/duplicate -> done; rejected -> dead letter.
//   pull: GET /fed/v1/changes long-polls the parent; the events are merged and the cursor is
//         stored in the same transaction, so a crash only means fetching again.
//   recover: at start, GET /fed/v1/recover asks for what the parent holds from this node since
//         shortly before its latest stored event (a node restored from a backup gets back what
//         it sent up after the backup); writes from outside are held until the first answer.
// Failures: connection errors, timeouts, 5xx and unreadable answers are retried with
// exponential backoff and full jitter up to upstream.max_backoff_ms (Retry-After honoured on
// 429/503), counted separately for pushing and pulling; 401/403 pause the link without touching
// the outbox; after kBreakerThreshold failures in a row in either direction the breaker opens
// and the link waits out the backoff before one probe. Nothing is ever dropped for a network error.
// Runs on the node's io thread; wake() and status() are for that thread too.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "store/commit_queue.hpp"
#include "store/store.hpp"

namespace boost::asio {
class io_context;
}

namespace simpul {

// What `simpul status` and /metrics show of the link to the tier above, whatever its dialect.
struct UplinkStatus {
  bool breaker_open = false;
  int consecutive_failures = 0;
  std::string last_error;  // a code, never a body
  std::uint64_t pushed = 0;  // events the parent acknowledged
  std::uint64_t pulled = 0;  // new events merged from the parent
  std::uint64_t dead = 0;    // events the parent rejected
};

// The link to the tier above: dialect `simpul` (UpstreamLink, below) or `lapor`
// (lapor/lapor_link.hpp). Both read outbox rows for destination "upstream" and merge what comes
// down with Store::merge_from_parent; the node holds whichever the config names.
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

// Failure accounting both dialects share: failures in a row per direction (trouble pulling
// must not slow pushing down), the breaker (open after kBreakerThreshold in a row in either
// direction, logged once each way) and the wait before the next try: the peer's Retry-After,
// a pause on 401/403, else full jitter over 200 ms doubled per failure up to max_backoff_ms.
class LinkHealth {
 public:
  enum Direction { pushing, pulling };
  static constexpr int kBreakerThreshold = 5;
  static constexpr int kAuthPauseMs = 30'000;

  LinkHealth(std::string parent, int max_backoff_ms, UplinkStatus& st);
  // Records a failure (`what` goes to status) and returns the milliseconds to wait.
  std::int64_t failed(Direction d, const std::string& what, int http_status, int retry_after_s);
  void succeeded(Direction d);

 private:
  std::string parent_;
  int max_backoff_ms_;
  UplinkStatus& st_;
  int failures_[2] = {0, 0};
  std::mt19937_64 rng_;
};

// The push loops' next batch: outbox rows for "upstream" due at `now`, oldest first; nullopt
// (logged) when the store cannot be read, and the loop waits a second.
std::optional<std::vector<QueuedEvent>> due_upstream(Store& reader, TimeMs now, int limit);

class UpstreamLink final : public Uplink {
 public:
  using Status = UplinkStatus;

  UpstreamLink(boost::asio::io_context& ioc, const Config& cfg, std::string credential,
               Store& reader, CommitQueue& writer, std::function<TimeMs()> clock);
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
