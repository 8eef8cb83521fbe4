#pragma once
// The /v1 admin and ingest API, /livez, /readyz and /metrics (schema/openapi.yaml).
//
// Reads run on the io thread against `reader`; writes go through the CommitQueue and are
// answered only after their group commit. Authorization: bearer tokens with scopes
// (ingest, read, act, pii, admin; admin implies all). The reporter's identity is in a response
// only for a token with the pii scope. Logs carry ids and codes only.

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/metrics.hpp"
#include "http/auth.hpp"
#include "http/router.hpp"
#include "ledger/commit_queue.hpp"
#include "store/store.hpp"

namespace simpul::http {

class Api {
 public:
  Api(const Config& cfg, Store& reader, CommitQueue& writer, FoldContext fold, Metrics& metrics,
      const Authenticator& auth, std::function<TimeMs()> clock);
  void add_routes(Router& router);
  // What /readyz lists under "checks" besides the store, asked at every /readyz: name -> state
  // and last error (a connector's health, a node loop restarting). Reported, not gating: only
  // the store decides readiness, so a legacy app being down never takes the node out of its
  // load balancer.
  using Checks =
      std::function<std::vector<std::pair<std::string, std::pair<std::string, std::string>>>()>;
  void add_checks(Checks c) { checks_.push_back(std::move(c)); }

 private:
  void ingest(const Request& req, Reply reply);
  void get_complaint(const Request& req, const Params& p, Reply reply);
  void list_complaints(const Request& req, const Params& p, Reply reply);
  void agency_report(const Request& req, const Params& p, Reply reply);
  void post_event(const Request& req, const Params& p, Reply reply);
  void ready(Reply reply);

  const Config& cfg_;
  Store& reader_;
  CommitQueue& writer_;
  FoldContext fold_;
  Metrics& metrics_;
  const Authenticator& auth_;
  std::function<TimeMs()> clock_;
  std::vector<Checks> checks_;
};

}  // namespace simpul::http
