#include "ui/dashboard.hpp"

#include <map>
#include <mutex>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/resources.hpp"
#include "http/api.hpp"

namespace simpul::ui {
namespace {

using http::Reply;
using http::Request;
using http::Response;

const char* content_type_of(const std::string& name) {
  auto ends = [&](const char* ext) {
    std::string e(ext);
    return name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

// What every dashboard answer carries: scripts and styles from this node only, no framing by
// another site, no guessing of types, no address of the page sent elsewhere.
void harden(Response& r) {
  r.headers.push_back({"content-security-policy",
                       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                       "data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
                       "frame-ancestors 'none'"});
  r.headers.push_back({"x-content-type-options", "nosniff"});
  r.headers.push_back({"x-frame-options", "DENY"});
  r.headers.push_back({"referrer-policy", "no-referrer"});
}

Response redirect(const std::string& to) {
  Response r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.push_back({"location", to});
  r.body = "see " + to + "\n";
  return r;
}

// The embedded file web/<name> and its entity tag (SHA-256 of the bytes, computed once).
struct Asset {
  std::string_view data;
  std::string etag;
};
const Asset* find_asset(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, Asset> cache;
  std::lock_guard lock(mu);
  if (auto it = cache.find(name); it != cache.end()) return &it->second;
  const std::string path = "web/" + name;
  for (const auto& r : resources::all()) {
    if (path != r.path) continue;
    std::string_view data(r.data, r.size);
    auto [it, _] =
        cache.emplace(name, Asset{data, "\"" + crypto::sha256_hex(data).substr(0, 32) + "\""});
    return &it->second;
  }
  return nullptr;
}

// A name of a file under web/: letters, digits, '-', '_' and one '.', nothing that climbs.
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return false;
  return name.find("..") == std::string::npos;
}

void key_string(json::Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<unsigned>(value.size()));
}

}  // namespace

Dashboard::Dashboard(const Config& cfg, const http::Authenticator& auth,
                     http::SessionTable& sessions)
    : cfg_(cfg), auth_(auth), sessions_(sessions) {}

void Dashboard::add_routes(http::Router& r) {
  r.add("GET", "/",
        [](const Request&, const http::Params&, Reply reply) { reply(redirect("/ui/")); });
  r.add("GET", "/ui",
        [](const Request&, const http::Params&, Reply reply) { reply(redirect("/ui/")); });
  r.add("GET", "/ui/", [this](const Request& req, const http::Params&, Reply reply) {
    asset(req, "index.html", std::move(reply));
  });
  r.add("POST", "/ui/session", [this](const Request& req, const http::Params&, Reply reply) {
    login(req, std::move(reply));
  });
  r.add("GET", "/ui/session", [this](const Request& req, const http::Params&, Reply reply) {
    whoami(req, std::move(reply));
  });
  r.add("DELETE", "/ui/session", [this](const Request& req, const http::Params&, Reply reply) {
    logout(req, std::move(reply));
  });
  // After /ui/session: the router takes the first pattern that matches.
  r.add("GET", "/ui/{file}", [this](const Request& req, const http::Params& p, Reply reply) {
    asset(req, p.get("file"), std::move(reply));
  });
}

void Dashboard::asset(const Request& req, const std::string& name, Reply reply) const {
  const Asset* a = plain_name(name) ? find_asset(name) : nullptr;
  if (!a) {
    Response r = http::problem(errc::not_found, "no such page");
    harden(r);
    reply(std::move(r));
    return;
  }
  Response r;
  // Revalidated on every load (a node upgrade changes the files), answered 304 when unchanged:
  // on a slow link a reload costs a few hundred bytes.
  r.headers.push_back({"cache-control", "no-cache"});
  r.headers.push_back({"etag", a->etag});
  harden(r);
  if (req.header("if-none-match") == a->etag) {
    r.status = 304;
    r.content_type.clear();
    reply(std::move(r));
    return;
  }
  r.content_type = content_type_of(name);
  r.body = std::string(a->data);
  reply(std::move(r));
}

std::string Dashboard::session_json(const http::Principal& p, const std::string& csrf,
                                    TimeMs expires_at) const {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  key_string(w, "id", p.id);
  key_string(w, "name", p.name.empty() ? p.id : p.name);
  key_string(w, "role", p.actor().role);
  w.Key("scopes");
  w.StartArray();
  for (const auto& s : p.scopes) w.String(s.c_str());
  w.EndArray();
  w.Key("agencies");
  w.StartArray();
  for (const auto& a : p.agencies) w.String(a.c_str());
  w.EndArray();
  key_string(w, "csrf", csrf);
  key_string(w, "expires_at", format_utc(expires_at));
  w.Key("node");
  const std::string node = http::node_json(cfg_);
  w.RawValue(node.c_str(), node.size(), rapidjson::kObjectType);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

void Dashboard::login(const Request& req, Reply reply) {
  auto refuse = [&](Response r, const char* why) {
    log::warn("ui.login_refused", {{"reason", why}, {"remote", req.remote}});
    harden(r);
    reply(std::move(r));
  };
  // A form another site posts cannot send JSON without the browser asking first, nor this
  // node's origin: so a login cannot be forced on a visitor either.
  if (!http::same_origin(req)) {
    refuse(http::problem(errc::forbidden, "a request from another site", "", "origin"), "origin");
    return;
  }
  if (!http::is_json(req.header("content-type"))) {
    refuse(http::json_required(), "content-type");
    return;
  }
  auto doc = json::parse(req.body);
  std::string token = doc && doc->IsObject() ? json::get_string(*doc, "token") : "";
  if (token.empty() || token.size() > 512) {
    refuse(http::problem(errc::invalid_value, "give the token to log in with", "/token"),
           "no token");
    return;
  }
  const std::string hash = crypto::sha256_hex(token);
  auto who = auth_.login(req, token);
  if (!who) {
    // Not logged line by line: the throttle counts wrong tokens and logs them per address.
    Response r = http::problem_of(who.error());
    harden(r);
    reply(std::move(r));
    return;
  }
  if (!who->node_id.empty()) {
    refuse(http::problem(errc::forbidden,
                         "a node credential is for federation, not for the dashboard", "/token"),
           "node token");
    return;
  }
  auto opened = sessions_.open(hash);
  const TimeMs max_s = static_cast<TimeMs>(cfg_.ui.session_max_hours) * 3600;
  std::string cookie = std::string(http::SessionTable::kCookie) + "=" + opened.cookie +
                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_s);
  if (cfg_.http.tls.enabled()) cookie += "; Secure";
  log::info("ui.login", {{"token", who->id}, {"remote", req.remote}});
  Response r;
  r.status = 201;
  r.headers.push_back({"set-cookie", cookie});
  r.headers.push_back({"cache-control", "no-store"});
  harden(r);
  r.body = session_json(*who, opened.csrf, opened.expires_at);
  reply(std::move(r));
}

void Dashboard::whoami(const Request& req, Reply reply) const {
  const std::string cookie = http::cookie_value(req.header("cookie"), http::SessionTable::kCookie);
  if (auto wait = cookie.empty() ? std::nullopt : auth_.throttled(req)) {
    Response r = http::problem_of(*wait);
    harden(r);
    reply(std::move(r));
    return;
  }
  auto s = sessions_.find(cookie);
  if (!s && !cookie.empty()) auth_.failed(req, "session");
  auto who = s ? auth_.principal_of(s->token_sha256) : std::nullopt;
  Response r;
  if (!who) {
    if (s) sessions_.close_all_of(s->token_sha256);
    r = http::problem(errc::unauthenticated, "not logged in", "", "session");
  } else {
    r.body = session_json(*who, s->csrf, s->expires_at);
    r.headers.push_back({"cache-control", "no-store"});
  }
  harden(r);
  reply(std::move(r));
}

void Dashboard::logout(const Request& req, Reply reply) {
  // The same rule as any write of a session: its CSRF token, from this origin.
  const std::string cookie = http::cookie_value(req.header("cookie"), http::SessionTable::kCookie);
  if (auto s = sessions_.find(cookie)) {
    if (!http::same_origin(req) ||
        !crypto::constant_time_equal(req.header("x-csrf-token"), s->csrf)) {
      Response r = http::problem(
          errc::forbidden, "the form's CSRF token is missing or wrong (X-CSRF-Token)", "", "csrf");
      harden(r);
      reply(std::move(r));
      return;
    }
    sessions_.close(cookie);
  }
  Response r;
  r.status = 204;
  r.content_type.clear();
  r.headers.push_back({"set-cookie", std::string(http::SessionTable::kCookie) +
                                         "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"});
  harden(r);
  reply(std::move(r));
}

}  // namespace simpul::ui
