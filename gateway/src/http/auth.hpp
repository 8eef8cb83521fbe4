#pragma once
// Bearer-token authentication shared by the /v1 and /fed/v1 APIs. A token is looked up by its
// SHA-256 (the store keeps nothing else); the bootstrap admin token is compared in constant
// time. A node credential (scope `node`) carries the child node id it identifies: the caller's
// node identity comes from here, never from a request body. Use on the io thread only (it reads
// through the io thread's Store connection).

#include <set>
#include <string>

#include "core/access.hpp"
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
  bool has(const std::string& scope) const { return scopes.count("admin") || scopes.count(scope); }
  // What it may see and act on (core/access.hpp).
  Access access() const { return Access{scopes.count("admin") > 0, agencies}; }
  // The actor recorded on what this credential writes: from the token, never from a body.
  // `agency` is filled by the write from the complaint (Access::acting_agency).
  Actor actor() const;
};

class Authenticator {
 public:
  Authenticator(Store& reader, std::string admin_token_sha256);
  // 401 for a missing, unknown or revoked token; 403 when it lacks `scope`.
  Result<Principal> check(const Request& req, const std::string& scope) const;

 private:
  Store& reader_;
  std::string admin_token_sha256_;
};

}  // namespace simpul::http
