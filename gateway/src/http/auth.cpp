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

Authenticator::Authenticator(Store& reader, std::string admin_token_sha256)
    : reader_(reader), admin_token_sha256_(std::move(admin_token_sha256)) {}

Result<Principal> Authenticator::check(const Request& req, const std::string& scope) const {
  std::string auth = req.header("authorization");
  const std::string_view prefix = "bearer ";  // the scheme name is case-insensitive (RFC 7235)
  bool bearer = auth.size() > prefix.size();
  for (std::size_t i = 0; bearer && i < prefix.size(); ++i)
    bearer = std::tolower(static_cast<unsigned char>(auth[i])) == prefix[i];
  if (!bearer)
    return make_problem(errc::unauthenticated, "", "bearer", "send Authorization: Bearer <token>");
  std::string hash = crypto::sha256_hex(std::string_view(auth).substr(prefix.size()));
  Principal p;
  if (crypto::constant_time_equal(hash, admin_token_sha256_)) {
    p.id = "admin";
    p.name = "admin";
    p.scopes = {"admin"};
  } else {
    auto t = reader_.find_token_by_hash(hash);
    if (!t || t->revoked_at)
      return make_problem(errc::unauthenticated, "", "bearer", "unknown or revoked token");
    p.id = t->id;
    p.name = t->name;
    p.node_id = t->node_id;
    p.scopes = split_commas(t->scopes);
    p.agencies = split_commas(t->agencies);
  }
  if (!p.has(scope))
    return make_problem(errc::forbidden, "", "scope", "this token lacks the " + scope + " scope");
  return p;
}

}  // namespace simpul::http
