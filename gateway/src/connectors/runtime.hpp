#pragma once
// The node's side of its connectors: builds them from the config, lends them the host (HTTP
// over pooled keep-alive connections, timers, the clock), serves the inbound webhook route
// POST /v1/ingest/{connector}, relays outbound updates from each connector's outbox, and
// reports each instance's health to /readyz and /metrics. Runs on the io thread; store writes
// go through the CommitQueue.
//
// Outbound relay, per connector that delivers: outbox rows "connector:<id>" (queued by the
// store for complaints carrying the connector's ref, see Store::OutboundRoute) go through the
// one Relay (relay/relay.hpp), oldest first, one at a time, each settled in its own commit.
// delivered -> done; retry -> LinkHealth's backoff (full jitter, Retry-After); rejected -> dead
// letter (simpul dlq); auth -> the auth pause, nothing dead-lettered. The relay and the poll
// loop share one LinkHealth per connector, so one breaker (simpul_connector_breaker_open).
//
// A webhook delivery is all or nothing: every record in it is mapped and normalized before
// anything is written, and stored in one savepoint; a redelivery of the same body returns the
// first answer (idempotency scope "connector:<id>", key = SHA-256 of the body).

#include <functional>
#include <memory>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "http/router.hpp"
#include "intake/registry.hpp"
#include "ledger/commit_queue.hpp"

namespace boost::asio {
class io_context;
}

namespace simpul {

class Supervisor;

class ConnectorRuntime {
 public:
  ConnectorRuntime(boost::asio::io_context& ioc, Supervisor& supervisor, const Config& cfg,
                   Store& reader, CommitQueue& writer, Metrics& metrics,
                   std::function<TimeMs()> clock);
  ~ConnectorRuntime();
  // The store routes for the outbound connectors (set on the writing store before it is used).
  std::vector<OutboundRoute> outbound_routes() const;
  void add_routes(http::Router& router);
  // Each instance's health for /readyz: "connector:<id>" -> (state, last error).
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> checks() const;
  void start();  // io thread: starts each connector and the relays
  void stop();
  void wake();  // new outbox rows were committed

 private:
  friend Result<std::string> test_connector(const Config& cfg, const std::string& id,
                                            int timeout_ms, Store& reader, CommitQueue& writer);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// `simpul connector test ID`: builds the connectors, starts the one named with a host of its own
// and runs its live check (connectivity, credentials) for at most `timeout_ms`.
// `reader` and `writer` are the node's store (the connector may write what it fetched).
Result<std::string> test_connector(const Config& cfg, const std::string& id, int timeout_ms,
                                   Store& reader, CommitQueue& writer);

}  // namespace simpul
