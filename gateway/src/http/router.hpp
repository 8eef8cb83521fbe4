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

#include "http/metrics.hpp"
#include "http/types.hpp"

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
  void dispatch(Request req, Reply reply) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteHandler handler;
  };
  Metrics& metrics_;
  std::vector<Route> routes_;
};

// A query number as this API issues them: 1 to 18 decimal digits, nothing else (no sign, no
// exponent, no trailing text, never beyond the 64-bit range). False for anything else.
bool parse_decimal(std::string_view text, std::int64_t& out);

// Whether a Content-Type names JSON (application/json, parameters allowed).
bool is_json(std::string_view content_type);

// application/problem+json (RFC 9457). Never carries request bodies or personal data.
Response problem(int status, const std::string& code, const std::string& title,
                 const std::string& detail, const std::string& pointer = "",
                 const std::string& rule = "");

}  // namespace simpul::http
