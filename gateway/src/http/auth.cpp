#include "http/auth.hpp"

#include <cctype>

#include "core/crypto.hpp"

namespace simpul::http {
namespace {

std::set<std::string> split_commas(const std::string& s) {
  std::set<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.insert(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

Actor Principal::actor() const {
  Actor a;
  a.role = scopes.count("admin") ? "admin" : agencies.empty() ? "operator" : "agency";
  a.name = name.empty() ? id : name;
  return a;
}

Authenticator::Authenticator(Store& reader, std::string admin_token_sha256, SessionTable* sessions,
                             CredentialThrottle* throttle, std::function<TimeMs()> clock)
    : reader_(reader),
      admin_token_sha256_(std::move(admin_token_sha256)),
      sessions_(sessions),
      throttle_(throttle),
      clock_(clock ? std::move(clock) : std::function<TimeMs()>(system_now_ms)) {}

std::optional<Problem> Authenticator::throttled(const Request& req) const {
  if (!throttle_) return std::nullopt;
  int wait = throttle_->wait_s(req.client.empty() ? req.remote : req.client);
  if (wait <= 0) return std::nullopt;
  Problem p = make_problem(
      errc::rate_limited, "", "throttle",
      "too many failed credentials from this address; try again in " + std::to_string(wait) + " s");
  p.retry_after_s = wait;
  return p;
}

void Authenticator::failed(const Request& req, const char* why) const {
  if (throttle_) throttle_->failed(req.client.empty() ? req.remote : req.client, why);
}

Result<Principal> Authenticator::login(const Request& req, std::string_view token) const {
  if (auto t = throttled(req)) return *t;
  auto p = principal_of(crypto::sha256_hex(token));
  if (!p) {
    failed(req, "login");
    return make_problem(errc::unauthenticated, "", "bearer", "unknown, revoked or expired token");
  }
  return *p;
}

std::optional<Principal> Authenticator::principal_of(const std::string& hash) const {
  Principal p;
  if (crypto::constant_time_equal(hash, admin_token_sha256_)) {
    p.id = "admin";
    p.name = "admin";
    p.scopes = {"admin"};
    return p;
  }
  auto t = reader_.find_token_by_hash(hash);
  if (!t || !t->usable(clock_())) return std::nullopt;
  p.id = t->id;
  p.name = t->name;
  p.node_id = t->node_id;
  p.scopes = split_commas(t->scopes);
  p.agencies = split_commas(t->agencies);
  p.officer = t->officer;
  return p;
}

Result<Principal> Authenticator::scoped(Principal p, const std::string& scope) const {
  if (!p.has(scope))
    return make_problem(errc::forbidden, "", "scope", "this token lacks the " + scope + " scope");
  return p;
}

Result<Principal> Authenticator::check_bearer(const Request& req, const std::string& scope) const {
  std::string auth = req.header("authorization");
  const std::string_view prefix = "bearer ";  // the scheme name is case-insensitive (RFC 7235)
  bool bearer = auth.size() > prefix.size();
  for (std::size_t i = 0; bearer && i < prefix.size(); ++i)
    bearer = std::tolower(static_cast<unsigned char>(auth[i])) == prefix[i];
  if (!bearer)
    return make_problem(errc::unauthenticated, "", "bearer", "send Authorization: Bearer <token>");
  if (auto t = throttled(req)) return *t;
  auto p = principal_of(crypto::sha256_hex(std::string_view(auth).substr(prefix.size())));
  if (!p) {
    failed(req, "bearer");
    return make_problem(errc::unauthenticated, "", "bearer", "unknown, revoked or expired token");
  }
  return scoped(std::move(*p), scope);
}

Result<Principal> Authenticator::check(const Request& req, const std::string& scope) const {
  std::string cookie;
  if (sessions_ && req.header("authorization").empty())
    cookie = cookie_value(req.header("cookie"), SessionTable::kCookie);
  if (cookie.empty()) return check_bearer(req, scope);
  if (auto t = throttled(req)) return *t;
  auto s = sessions_->find(cookie);
  if (!s) {
    failed(req, "session");
    return make_problem(errc::unauthenticated, "", "session",
                        "the session has ended; log in again");
  }
  auto p = principal_of(s->token_sha256);
  if (!p) {
    sessions_->close_all_of(s->token_sha256);
    return make_problem(errc::unauthenticated, "", "session",
                        "the token of this session was revoked");
  }
  if (req.method != "GET" && req.method != "HEAD") {
    if (!same_origin(req))
      return make_problem(errc::forbidden, "", "origin", "a request from another site");
    if (!crypto::constant_time_equal(req.header("x-csrf-token"), s->csrf))
      return make_problem(errc::forbidden, "", "csrf",
                          "the form's CSRF token is missing or wrong (X-CSRF-Token)");
  }
  return scoped(std::move(*p), scope);
}

bool same_origin(const Request& req) {
  if (req.header("sec-fetch-site") == "cross-site") return false;
  std::string origin = req.header("origin");
  if (origin.empty()) return true;
  auto scheme = origin.find("://");
  if (scheme == std::string::npos) return false;  // "null" and the like: an opaque origin
  return origin.substr(scheme + 3) == req.header("host");
}

}  // namespace simpul::http
