#pragma once
// The parent side of the federation protocol (/fed/v1, docs/federation.md):
//   POST /fed/v1/events    a child's batch; per-event accepted | duplicate | rejected
//   GET  /fed/v1/changes   the child's feed: ?since=<cursor>&limit=<n>&wait=<seconds>
//   POST /fed/v1/keys      the child's signing keys and those it vouches for
//   POST /fed/v1/audit/head the head of the child's audit chain, kept here
//                          (federation/audit_anchor.hpp)
//   GET  /fed/v1/reconcile  the event ids this node holds from the child (side=from_you) or owes
//                          it (side=for_you): ?side=&since_ms=&after=&limit= (reconcile/)
//   POST /fed/v1/reconcile/resend {"events": [ids]} put on the child's feed again
// The caller's node id comes from its credential (a node token, scope `node`, or a client
// certificate naming it; docs/federation.md, "Node identity"), never from the body, and it must
// be one of this node's configured children. Events leave redacted per privacy flag.
// Long-polls are parked until a commit wakes them (notify()) or their wait runs out.
// Runs on the io thread: routes, notify() and Scheduler callbacks all execute there.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/directory.hpp"
#include "core/scheduler.hpp"
#include "federation/signatures.hpp"
#include "http/auth.hpp"
#include "http/router.hpp"
#include "ledger/commit_queue.hpp"
#include "store/store.hpp"

namespace simpul {

class FederationApi {
 public:
  FederationApi(const Config& cfg, Store& reader, CommitQueue& writer,
                const http::Authenticator& auth, const Directory& directory, Scheduler& scheduler,
                std::function<TimeMs()> clock);
  void add_routes(http::Router& router);
  // New events were committed: answer the long-polls that now have something.
  void notify();
  std::size_t parked() const { return waiters_.size(); }
  // When `child` last asked for its changes since this node started (0: not yet).
  TimeMs last_poll(const std::string& child) const;
  // When the certificate `child` last presented ends (0: none seen since this node started).
  TimeMs child_certificate_expiry(const std::string& child) const;

 private:
  struct Waiter {
    std::string child;
    std::int64_t after = 0;
    int limit = 100;
    http::Reply reply;
    bool done = false;
  };
  // Which child is asking: from its node token, its client certificate, or both, as the child's
  // `auth` (or federation.child_auth) says. 401/403 name what is missing or wrong.
  Result<std::string> child_of(const http::Request& req);
  // The caller of a POST whose body must be JSON: its child id, or nullopt once `reply` has been
  // answered with the problem (401/403/429, or 415 for another content type).
  std::optional<std::string> json_post_child(const http::Request& req, http::Reply& reply);
  // A presented certificate that failed its check: counted like a wrong token, with the reason.
  std::optional<Problem> refused_certificate(const http::Request& req);
  // A checked certificate naming the wrong node: counted, "names node X" + `rest`.
  Problem wrong_node(const http::Request& req, const std::string& rest);
  // The certificate the request came with, checked to name `node` (for a child that must show one).
  std::optional<Problem> certificate_names(const http::Request& req, const std::string& node);
  void post_events(const http::Request& req, http::Reply reply);
  void changes(const http::Request& req, const http::Params& p, http::Reply reply);
  void recover(const http::Request& req, const http::Params& p, http::Reply reply);
  void audit_head(const http::Request& req, http::Reply reply);
  void post_keys(const http::Request& req, http::Reply reply);
  void reconcile_list(const http::Request& req, const http::Params& p, http::Reply reply);
  void reconcile_resend(const http::Request& req, http::Reply reply);
  // Answers `w` if its feed has events (or `force`); returns whether it answered.
  bool answer(Waiter& w, bool force);
  // Records that `child` holds its feed up to `position` (Store::feed_acked), when it advanced.
  void acknowledge(const std::string& child, std::int64_t position);

  const Config& cfg_;
  Store& reader_;
  CommitQueue& writer_;
  const http::Authenticator& auth_;
  const Directory& directory_;
  Scheduler& scheduler_;
  std::function<TimeMs()> clock_;
  SignaturePolicy policy_;
  std::map<std::string, std::int64_t> acked_;  // per child, as far as this process knows
  std::map<std::string, TimeMs> last_poll_;
  std::map<std::string, TimeMs> certificate_expiry_;  // per child: the last certificate it showed
  std::vector<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace simpul
