#include "http/router.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <chrono>
#include <cmath>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"

namespace simpul::http {
namespace {

std::vector<std::string> split(const std::string& pattern) {
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i <= pattern.size()) {
    auto j = pattern.find('/', i);
    if (j == std::string::npos) j = pattern.size();
    out.push_back(pattern.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string Request::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() != name.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < name.size() && eq; ++i)
      eq = std::tolower(static_cast<unsigned char>(h.name[i])) ==
           std::tolower(static_cast<unsigned char>(name[i]));
    if (eq) return h.value;
  }
  return {};
}

bool parse_decimal(std::string_view text, std::int64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  std::int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

bool is_json(std::string_view content_type) {
  std::string ct;
  for (char c : content_type) {
    if (c == ';') break;
    if (c != ' ' && c != '\t') ct += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return ct == "application/json";
}

Response problem(errc code, const std::string& detail, const std::string& pointer,
                 const std::string& rule) {
  const int status = http_status(code);
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("type");
  w.String((std::string("urn:simpul:problem:") + code_name(code)).c_str());
  w.Key("title");
  w.String(make_error_code(code).message().c_str());
  w.Key("status");
  w.Int(status);
  if (!detail.empty()) {
    w.Key("detail");
    w.String(detail.c_str());
  }
  if (!pointer.empty() || rule == "required") {
    w.Key("pointer");
    w.String(pointer.c_str());
  }
  if (!rule.empty()) {
    w.Key("rule");
    w.String(rule.c_str());
  }
  w.EndObject();
  Response r;
  r.status = status;
  r.content_type = "application/problem+json";
  r.body.assign(buf.GetString(), buf.GetSize());
  return r;
}

Response storage_problem(errc e) {
  return problem(e, make_error_code(e).message() + "; nothing was stored, retry later");
}

Problem json_required_problem() {
  return make_problem(errc::unsupported_media_type, "", "content-type",
                      "send Content-Type: application/json");
}

Response problem_of(const Problem& p) {
  Response r = problem(p.code, p.detail, p.pointer, p.rule);
  if (p.retry_after_s > 0) r.headers.push_back({"Retry-After", std::to_string(p.retry_after_s)});
  return r;
}

Response json_required() { return problem_of(json_required_problem()); }

Router::Router(Metrics& metrics) : metrics_(metrics) {
  metrics_.describe("simpul_http_requests_total", "counter",
                    "HTTP requests by route and status code.");
  metrics_.describe("simpul_http_request_duration_seconds", "histogram",
                    "Time from a parsed request to its answer, by route.");
}

void Router::add(std::string method, std::string pattern, RouteHandler handler) {
  Route r{std::move(method), pattern, split(pattern), std::move(handler)};
  routes_.push_back(std::move(r));
}

namespace {

// An X-Request-Id from a proxy is kept when it is an id, not arbitrary text for the log.
bool sane_request_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

}  // namespace

std::string Router::client_of(const Request& req) const {
  auto trusted = [this](const std::string& a) {
    for (const auto& p : options_.trusted_proxies)
      if (p == a) return true;
    return false;
  };
  if (!trusted(req.remote)) return req.remote;
  // From the right: each hop a trusted proxy added; the first address that is not one of them
  // is the client (anything left of it the client could have written itself).
  std::string xff = req.header("x-forwarded-for");
  std::string client = req.remote;
  while (!xff.empty()) {
    auto comma = xff.rfind(',');
    std::string hop = trim(comma == std::string::npos ? xff : xff.substr(comma + 1));
    xff = comma == std::string::npos ? std::string() : xff.substr(0, comma);
    if (hop.empty()) break;
    if (hop.size() > 64) hop.resize(64);  // an address, not arbitrary text for the log
    client = hop;
    if (!trusted(hop)) break;
  }
  return client;
}

void Router::dispatch(Request req, Reply reply) const {
  auto started = std::chrono::steady_clock::now();
  std::string request_id = req.header("x-request-id");
  if (!sane_request_id(request_id)) {
    unsigned char raw[8];
    crypto::random_bytes(raw, sizeof raw);
    request_id = crypto::to_hex(raw, sizeof raw);
  }
  req.client = client_of(req);
  const std::string client = req.client;
  const std::string method = req.method;
  std::string path = req.target.substr(0, req.target.find('?'));
  if (path.size() > 512) path.resize(512);
  const bool access_log = options_.access_log;
  // Every answer below goes out with the id, and is logged.
  reply = [reply = std::move(reply), request_id, client, method, path, started,
           access_log](Response res) {
    res.headers.push_back({"X-Request-Id", request_id});
    if (res.status == 401) {
      bool has = false;
      for (const auto& h : res.headers) has = has || h.name == "WWW-Authenticate";
      if (!has) res.headers.push_back({"WWW-Authenticate", "Bearer realm=\"simpul\""});
    }
    if (access_log) {
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count();
      log::info("http.access", {{"request_id", request_id},
                                {"method", method},
                                {"path", path},
                                {"status", res.status},
                                {"duration_ms", std::round(ms * 10) / 10},
                                {"bytes", res.body.size()},
                                {"client", client}});
    }
    reply(std::move(res));
  };
  auto parsed = boost::urls::parse_origin_form(req.target);
  if (!parsed) {
    reply(problem(errc::bad_request, "the request target is not a valid path"));
    return;
  }
  // No endpoint reads compressed bodies: refuse them rather than read the compressed bytes as
  // if they were the body.
  if (auto enc = req.header("content-encoding"); !enc.empty() && enc != "identity") {
    reply(problem(errc::unsupported_media_type,
                  "Content-Encoding is not supported; send the body uncompressed"));
    return;
  }
  std::vector<std::string> segs;
  for (auto s : parsed->segments()) segs.push_back(std::string(s));
  if (segs.empty()) segs.push_back("");

  Params params;
  for (auto p : parsed->params()) params.query[std::string(p.key)] = std::string(p.value);

  const Route* matched = nullptr;
  bool path_matched = false;
  std::string allow;  // the methods the path takes, for a 405
  // HEAD is GET without the body (the server drops it and keeps Content-Length).
  const std::string want_method = req.method == "HEAD" ? "GET" : req.method;
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> vars;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& want = r.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        if (segs[i].empty())
          ok = false;
        else
          vars[want.substr(1, want.size() - 2)] = segs[i];
      } else {
        ok = want == segs[i];
      }
    }
    if (!ok) continue;
    path_matched = true;
    if (r.method != want_method) {
      if (allow.find(r.method) == std::string::npos)
        allow += (allow.empty() ? "" : ", ") + r.method + (r.method == "GET" ? ", HEAD" : "");
      continue;
    }
    matched = &r;
    params.path = std::move(vars);
    break;
  }

  std::string route = matched ? matched->pattern : "unmatched";
  Metrics* metrics = &metrics_;
  Reply timed = [reply = std::move(reply), route, started, metrics](Response res) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    metrics->add("simpul_http_requests_total",
                 Metrics::labels({{"route", route}, {"code", std::to_string(res.status)}}));
    metrics->observe("simpul_http_request_duration_seconds", Metrics::labels({{"route", route}}),
                     secs);
    reply(std::move(res));
  };
  if (!matched) {
    if (path_matched) {
      Response r = problem(errc::method_not_allowed, "this resource does not accept " + req.method);
      r.headers.push_back({"Allow", allow});
      timed(std::move(r));
    } else
      timed(problem(errc::not_found));
    return;
  }
  matched->handler(req, params, std::move(timed));
}

}  // namespace simpul::http
