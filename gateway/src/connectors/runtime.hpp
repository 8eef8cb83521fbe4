#pragma once
// The node's side of its connectors: builds them from the config, serves the inbound webhook
// route POST /v1/ingest/{connector}, and reports each instance's health to /readyz and
// /metrics. Runs on the io thread; store writes go through the CommitQueue.
//
// A webhook delivery is all or nothing: every record in it is mapped and normalized before
// anything is written, and stored in one savepoint; a redelivery of the same body returns the
// first answer (idempotency scope "connector:<id>", key = SHA-256 of the body).

#include <functional>
#include <memory>
#include <vector>

#include "connectors/registry.hpp"
#include "core/config.hpp"
#include "http/api.hpp"
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "store/commit_queue.hpp"

namespace simpul {

class ConnectorRuntime {
 public:
  ConnectorRuntime(const Config& cfg, CommitQueue& writer, http::Metrics& metrics, std::function<TimeMs()> clock);
  void add_routes(http::Router& router);
  void report_to(http::Api& api);
  const std::vector<ConnectorSlot>& slots() const { return slots_; }

 private:
  void ingest_webhook(const http::Request& req, ConnectorSlot& slot, http::Reply reply);

  const Config& cfg_;
  CommitQueue& writer_;
  http::Metrics& metrics_;
  std::function<TimeMs()> clock_;
  std::vector<ConnectorSlot> slots_;
};

}  // namespace simpul
