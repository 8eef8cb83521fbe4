#pragma once
// The one outbound relay: due outbox rows for a destination -> a sink that sends them -> one
// settling commit. Used by the simpul dialect (a parent's POST /fed/v1/events), the lapor
// dialect (the hub's reports and claims) and every outbound connector (an app's API).
//
//   read:   the destination's due rows, oldest first, at most the sink's batch; a store that
//           cannot be read is logged and asked again in a second.
//   send:   the sink says what became of each row it took (done, dead with a reason, again in a
//           second, or held back by a failure); rows it did not take stay pending as they were.
//           A sink that took nothing (it will send fewer next time) is asked again at once.
//   settle: every outcome, and whatever the sink adds (a tracking id), in one transaction. A
//           settling commit that fails records nothing: the rows are sent again (the peer sees
//           a duplicate) and the sink is told (the lapor dialect looks its creates up first).
//   wait:   a failure waits what LinkHealth says (Retry-After, the auth pause, full jitter) and
//           counts towards the breaker; an empty outbox waits for wake() or a second.
// Runs on the node's io thread under the Supervisor. No Asio in this header.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/ledger.hpp"
#include "relay/link_health.hpp"
#include "store/store.hpp"

namespace boost::asio {
class io_context;
}

namespace simpul {

class CommitQueue;
class Supervisor;

// What became of the rows a sink took.
struct Delivery {
  std::vector<std::int64_t> done;                          // delivered, or nothing to deliver
  std::vector<std::pair<std::int64_t, std::string>> dead;  // refused for good: dead letters
  std::vector<std::int64_t> later;                         // the peer asked for them again soon
  std::vector<std::int64_t> failed;                        // held back by `failure`
  std::optional<Failure> failure;                          // the call failed: wait, then again
  std::function<void(Ledger&)> also;                       // more writes in the settling commit
};

class RelaySink {
 public:
  virtual ~RelaySink() = default;
  // Most rows the next send takes (a sink may shrink it after a too-large answer).
  virtual int batch_limit() const = 0;
  // Sends what it can of `batch`, oldest first, and calls `done` once on the io thread.
  virtual void send(std::vector<QueuedEvent> batch, std::function<void(Delivery)> done) = 0;
  // The settling commit of `d` is durable.
  virtual void settled(const Delivery& d) { (void)d; }
  // The settling commit failed: nothing of the last send is recorded here.
  virtual void settle_lost(const std::vector<QueuedEvent>& batch) { (void)batch; }
};

class Relay {
 public:
  // `scope` prefixes log lines ("upstream", "lapor", "connector"); `name` labels the loop
  // ("upstream.push", "connector.apekesah-balik.relay").
  Relay(boost::asio::io_context& ioc, Store& reader, CommitQueue& writer,
        std::function<TimeMs()> clock, Destination destination, std::string scope, RelaySink& sink,
        LinkHealth& health);
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void start(Supervisor& supervisor, const std::string& name);
  void stop();
  void wake();  // new rows were committed

  // Rows a peer asks for again are due this long after it said so.
  static constexpr TimeMs kAgainMs = 1000;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace simpul
