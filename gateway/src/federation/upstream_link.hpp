#pragma once
// The child side of the federation link to the parent tier (dialect `simpul`):
//   push: outbox rows for destination "upstream" go to POST /fed/v1/events in batches, oldest
//         first (so per complaint in order). accepted/duplicate -> done; rejected -> dead letter.
//   pull: GET /fed/v1/changes long-polls the parent; the events are merged and the cursor is
//         stored in the same transaction, so a crash only means fetching again.
// Failures: connection errors, timeouts, 5xx and unreadable answers are retried with
// exponential backoff and full jitter up to upstream.max_backoff_ms (Retry-After honoured on
// 429/503), counted separately for pushing and pulling; 401/403 pause the link without touching
// the outbox; after kBreakerThreshold failures in a row in either direction the breaker opens
// and the link waits out the backoff before one probe. Nothing is ever dropped for a network error.
// Runs on the node's io thread; wake() and status() are for that thread too.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "store/commit_queue.hpp"
#include "store/store.hpp"

namespace boost::asio {
class io_context;
}

namespace simpul {

class UpstreamLink {
 public:
  struct Status {
    bool breaker_open = false;
    int consecutive_failures = 0;
    std::string last_error;  // a code, never a body
    std::uint64_t pushed = 0;  // events the parent acknowledged
    std::uint64_t pulled = 0;  // new events merged from the parent
    std::uint64_t dead = 0;    // events the parent rejected
  };

  UpstreamLink(boost::asio::io_context& ioc, const Config& cfg, std::string credential,
               Store& reader, CommitQueue& writer, std::function<TimeMs()> clock);
  ~UpstreamLink();
  void start();
  void stop();
  void wake();  // new outbox rows were committed
  const Status& status() const;

  static constexpr int kBreakerThreshold = 5;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace simpul
