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
#include "relay/link_health.hpp"
#include "store/store.hpp"

namespace simpul::http {

// The actions (event kinds) `who` may post on the complaint now: the state machine allows it,
// the token has the act scope and sees it, and a disposition or forward by an agency-bound
// token is of a complaint its agency holds.
std::vector<std::string> allowed_actions(const Principal& who, const ComplaintState& st);

// The node as the dashboard names it: id, name, tier, region, zone (name and offset), and
// whether it has full-text search, an upstream link and children (a JSON object).
std::string node_json(const Config& cfg);

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
  // What only the running node knows, for GET /v1/overview: the upstream link's breaker (unset
  // when there is no upstream) and when each child last asked for its changes (0: not since
  // this node started).
  struct Live {
    std::function<BreakerState()> upstream;
    std::function<TimeMs(const std::string&)> child_last_poll;
  };
  void set_live(Live live) { live_ = std::move(live); }
  // The calendar in force, after a reload (on the io thread, where every request is answered).
  void set_fold(FoldContext fold) { fold_ = std::move(fold); }

 private:
  void ingest(const Request& req, Reply reply);
  void get_complaint(const Request& req, const Params& p, Reply reply);
  void list_complaints(const Request& req, const Params& p, Reply reply);
  void agency_report(const Request& req, const Params& p, Reply reply);
  void post_event(const Request& req, const Params& p, Reply reply);
  // http/console_api.cpp: what the dashboard shows besides complaints and reports.
  void add_console_routes(Router& r);
  void overview(const Request& req, Reply reply);
  void workload(const Request& req, Reply reply);
  void reference(const Request& req, const Params& p, Reply reply);
  void dead_letters(const Request& req, Reply reply);
  void settle_dead_letter(const Request& req, const Params& p, bool retry, Reply reply);
  // The start of the node's local day that holds `t`, and of the next one.
  TimeMs day_start(TimeMs t) const;
  void ready(Reply reply);

  const Config& cfg_;
  Store& reader_;
  CommitQueue& writer_;
  FoldContext fold_;
  Metrics& metrics_;
  const Authenticator& auth_;
  std::function<TimeMs()> clock_;
  std::vector<Checks> checks_;
  Live live_;
};

}  // namespace simpul::http
