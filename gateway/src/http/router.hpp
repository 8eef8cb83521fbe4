#pragma once
// Maps (method, path pattern) to handlers. Patterns are literal segments and {name}
// placeholders: "/v1/complaints/{id}/events". Query parameters are percent-decoded.
// The router records per-route request counts and latency in Metrics, labelled by the
// pattern (never the concrete path, which would carry ids).
// Not thread-safe for add(); dispatch() may be called concurrently once routes are set.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "http/types.hpp"
#include "simpul/errors.hpp"

namespace simpul::http {

struct Params {
  std::map<std::string, std::string> path;   // {id} -> value
  std::map<std::string, std::string> query;  // last value wins
  std::string get(const std::string& k) const {
    auto it = path.find(k);
    if (it != path.end()) return it->second;
    auto q = query.find(k);
    return q == query.end() ? std::string() : q->second;
  }
  bool has_query(const std::string& k) const { return query.count(k) > 0; }
};

using RouteHandler = std::function<void(const Request&, const Params&, Reply)>;

class Router {
 public:
  explicit Router(Metrics& metrics);
  void add(std::string method, std::string pattern, RouteHandler handler);
  // Every request gets a request id (a sane X-Request-Id it came with, else a new one), echoed
  // as X-Request-Id and written on its http.access log line with the method, the path (never
  // the query, which may hold search words), the status, the duration and the client address.
  // HEAD is answered by the GET route (the server sends the headers only), 405 names the
  // methods the path takes (Allow) and 401 says how to authenticate (WWW-Authenticate).
  void dispatch(Request req, Reply reply) const;

  struct Options {
    bool access_log = true;
    // Peers whose X-Forwarded-For names the client (the right-most address not one of them).
    std::vector<std::string> trusted_proxies;
  };
  void set_options(Options o) { options_ = std::move(o); }
  // Every route, as (method, pattern): what the OpenAPI spec must describe (a test compares).
  std::vector<std::pair<std::string, std::string>> table() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& r : routes_) out.emplace_back(r.method, r.pattern);
    return out;
  }
  // The client as the access log names it: `remote`, or through trusted proxies the address
  // their X-Forwarded-For header gives.
  std::string client_of(const Request& req) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  Metrics& metrics_;
  std::vector<Route> routes_;
  Options options_;
};

// A query number as this API issues them: 1 to 18 decimal digits, nothing else (no sign, no
// exponent, no trailing text, never beyond the 64-bit range). False for anything else.
bool parse_decimal(std::string_view text, std::int64_t& out);

// Whether a Content-Type names JSON (application/json, parameters allowed).
bool is_json(std::string_view content_type);

// application/problem+json (RFC 9457), the one renderer of every error answer: the status, the
// `type` (urn:simpul:problem:<code name>) and the title come from the errc table
// (core/errors.cpp), so one code is answered one way wherever it arises. `detail` is one
// sentence; never request bodies or personal data.
Response problem(errc code, const std::string& detail = "", const std::string& pointer = "",
                 const std::string& rule = "");
// A problem with a wait (rate_limited) carries Retry-After.
Response problem_of(const Problem& p);
// A write the store could not commit (busy, full, failing): nothing was stored, retry later.
Response storage_problem(errc e);
// A JSON endpoint's body came without Content-Type: application/json (the problem, for paths
// that count or log it first, and its answer).
Problem json_required_problem();
Response json_required();

}  // namespace simpul::http
