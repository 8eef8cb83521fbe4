#pragma once
// Authentication shared by the /v1 and /fed/v1 APIs: bearer tokens, and the dashboard's
// session cookies (/v1 only). A token is looked up by its
// SHA-256 (the store keeps nothing else); the bootstrap admin token is compared in constant
// time. A token is accepted until it is revoked or expires (a rotated one at the end of its
// grace period). A node credential (scope `node`) carries the child node id it identifies: the
// caller's node identity comes from here, never from a request body. Failed credentials are
// throttled per client address (http/throttle.hpp). Use on the io thread only (it reads
// through the io thread's Store connection).

#include <set>
#include <string>

#include "core/access.hpp"
#include "http/session.hpp"
#include "http/throttle.hpp"
#include "http/types.hpp"
#include "simpul/errors.hpp"
#include "store/store.hpp"

namespace simpul::http {

struct Principal {
  std::string id;       // token id, or "admin" for the bootstrap token
  std::string name;     // who the token was issued to (`simpul token create --name`)
  std::string node_id;  // for node credentials
  std::set<std::string> scopes;
  std::set<std::string> agencies;  // the agencies a token is bound to (none: not bound)
  bool officer = false;            // one officer's own credential
  bool has(const std::string& scope) const { return scopes.count("admin") || scopes.count(scope); }
  // What it may see and act on (core/access.hpp).
  Access access() const { return Access{scopes.count("admin") > 0, agencies}; }
  // The actor recorded on what this credential writes: from the token, never from a body.
  // `agency` is filled by the write from the complaint (Access::acting_agency).
  Actor actor() const;
};

class Authenticator {
 public:
  // `sessions`: the dashboard's browser sessions (null: none, bearer tokens only); `throttle`:
  // where failures are counted (null: not throttled); `clock`: wall-clock ms, for expiry.
  Authenticator(Store& reader, std::string admin_token_sha256, SessionTable* sessions = nullptr,
                CredentialThrottle* throttle = nullptr, std::function<TimeMs()> clock = {});
  // A bearer token or, without an Authorization header, a dashboard session cookie (the /v1 API
  // the dashboard calls). A session is the token it was opened with as that token stands now.
  // A session's request that changes something (any method but GET and HEAD) must carry the
  // session's X-CSRF-Token and, when the browser names its origin, come from this node's own
  // origin; else 403. 401 for a missing, unknown, revoked or expired credential; 403 when it
  // lacks `scope`; 429 (rate_limited, with the wait) for an address whose credentials failed
  // too often.
  Result<Principal> check(const Request& req, const std::string& scope) const;
  // A bearer token only: the federation API, where a browser's cookie has no business.
  Result<Principal> check_bearer(const Request& req, const std::string& scope) const;
  // Who a token is, by its SHA-256 (nullopt: unknown, revoked or expired).
  std::optional<Principal> principal_of(const std::string& token_sha256) const;
  // The dashboard's login with a token, throttled like a bearer token: 401 for a token that is
  // not accepted, 429 while the address must wait.
  Result<Principal> login(const Request& req, std::string_view token) const;
  // For a route that checks a credential itself (the dashboard's session): 429 when the
  // request's client must wait, and counting a credential of it that failed.
  std::optional<Problem> throttled(const Request& req) const;
  void failed(const Request& req, const char* why) const;
  SessionTable* sessions() const { return sessions_; }

 private:
  Result<Principal> scoped(Principal p, const std::string& scope) const;
  Store& reader_;
  std::string admin_token_sha256_;
  SessionTable* sessions_;
  CredentialThrottle* throttle_;
  std::function<TimeMs()> clock_;
};

// Whether a browser's request comes from the page this node served: its Origin header (when
// sent) names the Host it was sent to, and Sec-Fetch-Site (when sent) is not cross-site.
bool same_origin(const Request& req);

}  // namespace simpul::http
