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
#include "http/metrics.hpp"
#include "http/router.hpp"
#include "store/commit_queue.hpp"
#include "store/store.hpp"

namespace simpul::http {

struct Principal {
  std::string id;  // token id, or "admin" for the bootstrap token
  std::set<std::string> scopes;
  bool has(const std::string& scope) const { return scopes.count("admin") || scopes.count(scope); }
};

class Api {
 public:
  Api(const Config& cfg, Store& reader, CommitQueue& writer, Metrics& metrics,
      std::string admin_token_sha256, std::function<TimeMs()> clock);
  void add_routes(Router& router);
  // Outbox destinations every new event is queued for (the upstream link, once configured).
  void set_destinations(std::vector<std::string> d) { destinations_ = std::move(d); }

 private:
  Result<Principal> authenticate(const Request& req, const std::string& scope);
  void ingest(const Request& req, Reply reply);
  void get_complaint(const Request& req, const Params& p, Reply reply);
  void list_complaints(const Request& req, const Params& p, Reply reply);
  void post_event(const Request& req, const Params& p, Reply reply);
  void ready(Reply reply);

  const Config& cfg_;
  Store& reader_;
  CommitQueue& writer_;
  Metrics& metrics_;
  std::string admin_token_sha256_;
  std::function<TimeMs()> clock_;
  std::vector<std::string> destinations_;
};

Response problem_of(const Problem& p);

}  // namespace simpul::http
