#include "core/config.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/json.hpp"
#include "core/schema.hpp"
#include "simpul/calendar.hpp"

namespace simpul {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, "", cannot_read(path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/' || p == ":memory:") return p;
  return (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

}  // namespace

std::string cannot_read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  int err = fd < 0 ? errno : 0;
  if (fd >= 0) ::close(fd);
  std::error_code ec;
  if (err == 0 && std::filesystem::is_directory(path, ec)) err = EISDIR;
  return "cannot read " + path + (err ? std::string(": ") + std::strerror(err) : std::string());
}

namespace {

bool readable(const std::string& path) {
  return static_cast<bool>(std::ifstream(path, std::ios::binary));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int get_int(const rapidjson::Value& obj, const char* key, int fallback) {
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsInt() ? it->value.GetInt() : fallback;
}

}  // namespace

Config parse_config(std::string_view text, const std::string& file, const std::string& base_dir) {
  auto doc = json::parse_relaxed(text);
  if (!doc) throw ConfigError(file, doc.error().pointer, doc.error().detail);
  if (auto p = JsonSchema::builtin("schema/config.schema.json").validate(*doc))
    throw ConfigError(file, p->pointer, p->detail);
  const auto& d = *doc;
  Config c;
  c.file = file;

  const auto& n = d["node"];
  c.node.id = json::get_string(n, "id");
  c.node.name = json::get_string(n, "name", c.node.id);
  c.node.tier = json::get_string(n, "tier");
  c.node.region = json::get_string(n, "region");
  auto zone = parse_zone(json::get_string(n, "timezone"));
  if (!zone) throw ConfigError(file, "/node/timezone", "unknown time zone");
  c.node.zone = *zone;
  if (auto key = json::get_string(n, "signing_key"); !key.empty()) {
    c.node.signing_key = resolve_path(base_dir, key);
    if (!readable(c.node.signing_key))
      throw ConfigError(file, "/node/signing_key", cannot_read(c.node.signing_key));
  }

  const auto& s = d["store"];
  c.store.path = resolve_path(base_dir, json::get_string(s, "path"));
  c.store.synchronous_full = json::get_string(s, "synchronous", "full") == "full";
  c.store.busy_timeout_ms = get_int(s, "busy_timeout_ms", c.store.busy_timeout_ms);
  c.store.max_batch = get_int(s, "max_batch", c.store.max_batch);
  c.store.full_text = !s.HasMember("full_text") || s["full_text"].GetBool();
  // The key reporters' identities are sealed with (docs/operations.md, "Personal data at
  // rest"); a file: reference is relative to the config's folder like every path here.
  auto secret_path = [&](std::string ref) {
    if (ref.rfind("file:", 0) == 0) ref = "file:" + resolve_path(base_dir, ref.substr(5));
    return ref;
  };
  c.store.encryption_key = secret_path(json::get_string(s, "encryption_key"));
  if (s.HasMember("previous_encryption_keys"))
    for (const auto& k : s["previous_encryption_keys"].GetArray())
      c.store.previous_encryption_keys.push_back(secret_path(k.GetString()));

  if (d.HasMember("federation")) {
    c.federation.max_clock_skew_s =
        get_int(d["federation"], "max_clock_skew_s", c.federation.max_clock_skew_s);
    c.federation.signatures =
        json::get_string(d["federation"], "signatures", c.federation.signatures);
    c.federation.child_auth =
        json::get_string(d["federation"], "child_auth", c.federation.child_auth);
  }

  const auto& h = d["http"];
  std::string listen = json::get_string(h, "listen");
  auto colon = listen.rfind(':');
  c.http.host = listen.substr(0, colon);
  if (c.http.host.size() > 2 && c.http.host.front() == '[')
    c.http.host = c.http.host.substr(1, c.http.host.size() - 2);
  int port = std::atoi(listen.c_str() + colon + 1);
  if (port > 65535) throw ConfigError(file, "/http/listen", "port out of range");
  c.http.port = static_cast<std::uint16_t>(port);
  c.http.max_body_bytes = static_cast<std::size_t>(
      get_int(h, "max_body_bytes", static_cast<int>(c.http.max_body_bytes)));
  c.http.header_timeout_ms = get_int(h, "header_timeout_ms", c.http.header_timeout_ms);
  c.http.body_timeout_ms = get_int(h, "body_timeout_ms", c.http.body_timeout_ms);
  c.http.max_connections = get_int(h, "max_connections", c.http.max_connections);
  c.http.allow_plain_http = h.HasMember("allow_plain_http") && h["allow_plain_http"].GetBool();
  if (h.HasMember("trusted_proxies")) {
    for (const auto& p : h["trusted_proxies"].GetArray()) {
      std::string addr = p.GetString();
      unsigned char buf[16];
      if (::inet_pton(AF_INET, addr.c_str(), buf) != 1 &&
          ::inet_pton(AF_INET6, addr.c_str(), buf) != 1)
        throw ConfigError(
            file, "/http/trusted_proxies/" + std::to_string(c.http.trusted_proxies.size()),
            "\"" + addr + "\" is not an IP address (a proxy is named by its address)");
      c.http.trusted_proxies.push_back(addr);
    }
  }
  if (h.HasMember("tls")) {
    c.http.tls.cert_file = resolve_path(base_dir, json::get_string(h["tls"], "cert_file"));
    c.http.tls.key_file = resolve_path(base_dir, json::get_string(h["tls"], "key_file"));
    if (!readable(c.http.tls.cert_file))
      throw ConfigError(file, "/http/tls/cert_file", cannot_read(c.http.tls.cert_file));
    if (!readable(c.http.tls.key_file))
      throw ConfigError(file, "/http/tls/key_file", cannot_read(c.http.tls.key_file));
    for (auto [key, field] : {std::pair{"client_ca_file", &c.http.tls.client_ca_file},
                              std::pair{"client_crl_file", &c.http.tls.client_crl_file}}) {
      *field = resolve_path(base_dir, json::get_string(h["tls"], key));
      if (!field->empty() && !readable(*field))
        throw ConfigError(file, std::string("/http/tls/") + key, cannot_read(*field));
    }
    if (!c.http.tls.client_crl_file.empty() && c.http.tls.client_ca_file.empty())
      throw ConfigError(file, "/http/tls/client_crl_file",
                        "a revocation list needs the authority it belongs to (client_ca_file)");
  }
  if (!c.http.tls.enabled() && !c.http.allow_plain_http && !is_loopback(c.http.host))
    throw ConfigError(
        file, "/http/listen",
        "plain HTTP on a non-loopback address would expose complaints and tokens on the network; "
        "configure http.tls, or set http.allow_plain_http when a TLS proxy sits in front");

  c.auth.admin_token_ref = json::get_string(d["auth"], "admin_token");
  c.auth.failed_burst = get_int(d["auth"], "failed_burst", c.auth.failed_burst);
  c.auth.failed_per_minute = get_int(d["auth"], "failed_per_minute", c.auth.failed_per_minute);
  c.auth.failed_log_interval_s =
      get_int(d["auth"], "failed_log_interval_s", c.auth.failed_log_interval_s);

  if (d.HasMember("sla")) {
    const auto& sla = d["sla"];
    c.sla.rules.verify_days = get_int(sla, "verify_days", c.sla.rules.verify_days);
    c.sla.rules.followup_days = get_int(sla, "followup_days", c.sla.rules.followup_days);
    c.sla.rules.autoclose_days = get_int(sla, "autoclose_days", c.sla.rules.autoclose_days);
    c.sla.rules.warn_days = get_int(sla, "warn_days", c.sla.rules.warn_days);
    c.sla.rules.forward_restarts = json::get_string(sla, "on_forward", "restart") == "restart";
    c.sla.scan_interval_s = get_int(sla, "scan_interval_s", c.sla.scan_interval_s);
    c.sla.scheduler = !sla.HasMember("scheduler") || sla["scheduler"].GetBool();
    auto holidays = json::get_string(sla, "holidays_file");
    if (!holidays.empty()) c.sla.holidays_file = resolve_path(base_dir, holidays);
  }
  if (d.HasMember("reconcile")) {
    const auto& r = d["reconcile"];
    c.reconcile.interval_s = get_int(r, "interval_s", c.reconcile.interval_s);
    c.reconcile.window_days = get_int(r, "window_days", c.reconcile.window_days);
    c.reconcile.repair = r.HasMember("repair") && r["repair"].GetBool();
    c.reconcile.warn_after_s = get_int(r, "warn_after_s", c.reconcile.warn_after_s);
  }
  if (d.HasMember("retention")) {
    const auto& r = d["retention"];
    c.retention.interval_s = get_int(r, "interval_s", c.retention.interval_s);
    c.retention.outbox_done_days = get_int(r, "outbox_done_days", c.retention.outbox_done_days);
    c.retention.raw_payload_days = get_int(r, "raw_payload_days", c.retention.raw_payload_days);
    c.retention.idempotency_days = get_int(r, "idempotency_days", c.retention.idempotency_days);
  }
  if (d.HasMember("reports")) c.reports.min_n = get_int(d["reports"], "min_n", c.reports.min_n);
  if (d.HasMember("ui")) {
    const auto& u = d["ui"];
    if (u.HasMember("enabled")) c.ui.enabled = u["enabled"].GetBool();
    c.ui.session_idle_minutes = get_int(u, "session_idle_minutes", c.ui.session_idle_minutes);
    c.ui.session_max_hours = get_int(u, "session_max_hours", c.ui.session_max_hours);
  }
  if (d.HasMember("children")) {
    const auto& arr = d["children"];
    for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
      ChildNode child;
      child.id = json::get_string(arr[i], "id");
      if (child.id == c.node.id)
        throw ConfigError(file, "/children/" + std::to_string(i) + "/id",
                          "a node cannot be its own child");
      for (const auto& other : c.children)
        if (other.id == child.id)
          throw ConfigError(file, "/children/" + std::to_string(i) + "/id",
                            "child " + child.id + " is listed twice");
      if (arr[i].HasMember("regions"))
        for (const auto& r : arr[i]["regions"].GetArray())
          child.regions.emplace_back(r.GetString());
      if (arr[i].HasMember("agencies"))
        for (const auto& a : arr[i]["agencies"].GetArray())
          child.agencies.emplace_back(a.GetString());
      const bool own = arr[i].HasMember("auth");
      child.auth = own ? json::get_string(arr[i], "auth") : c.federation.child_auth;
      if (child.auth != "token" && c.http.tls.client_ca_file.empty())
        throw ConfigError(
            file, own ? "/children/" + std::to_string(i) + "/auth" : "/federation/child_auth",
            "child " + child.id + " proves its identity by certificate (" + child.auth +
                "): name the federation's authority in http.tls.client_ca_file");
      c.children.push_back(std::move(child));
    }
  }
  if (d.HasMember("upstream")) {
    const auto& u = d["upstream"];
    // The schema admits http(s)://host[:port][/]; host may be a name, IPv4 or [IPv6].
    std::string url = json::get_string(u, "url");
    const bool https = url.rfind("https://", 0) == 0;
    std::string hostport = url.substr(https ? 8 : 7);
    if (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
    std::string host = hostport;
    int port = https ? 443 : 80;
    auto bracket = hostport.find(']');
    auto colon = hostport.rfind(':');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
      host = hostport.substr(0, colon);
      port = std::atoi(hostport.c_str() + colon + 1);
    }
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (port < 1 || port > 65535) throw ConfigError(file, "/upstream/url", "port out of range");
    c.upstream.enabled = true;
    c.upstream.host = host;
    c.upstream.port = static_cast<std::uint16_t>(port);
    bool plain_ok = u.HasMember("allow_plain_http") && u["allow_plain_http"].GetBool();
    if (!https && !is_loopback(host) && !plain_ok)
      throw ConfigError(
          file, "/upstream/url",
          "plain HTTP to a non-loopback parent would expose complaints on the network; "
          "use https://, or set allow_plain_http only on a private link");
    c.upstream.tls.enabled = https;
    c.upstream.tls.server_name = json::get_string(u, "server_name", host);
    std::string ca = json::get_string(u, "ca_file");
    if (!ca.empty()) {
      if (!https) throw ConfigError(file, "/upstream/ca_file", "a CA file needs an https:// url");
      c.upstream.tls.ca_file = resolve_path(base_dir, ca);
      if (!readable(c.upstream.tls.ca_file))
        throw ConfigError(file, "/upstream/ca_file", cannot_read(c.upstream.tls.ca_file));
    }
    // The node's own certificate for a parent that asks for one (mTLS).
    const std::string cert = json::get_string(u, "cert_file");
    const std::string key = json::get_string(u, "key_file");
    if (!cert.empty() || !key.empty()) {
      if (!https)
        throw ConfigError(file, "/upstream/cert_file", "a certificate needs an https:// url");
      if (cert.empty() || key.empty())
        throw ConfigError(file, cert.empty() ? "/upstream/cert_file" : "/upstream/key_file",
                          "a client certificate needs both cert_file and key_file");
      c.upstream.tls.cert_file = resolve_path(base_dir, cert);
      c.upstream.tls.key_file = resolve_path(base_dir, key);
      if (!readable(c.upstream.tls.cert_file))
        throw ConfigError(file, "/upstream/cert_file", cannot_read(c.upstream.tls.cert_file));
      if (!readable(c.upstream.tls.key_file))
        throw ConfigError(file, "/upstream/key_file", cannot_read(c.upstream.tls.key_file));
    }
    c.upstream.node = json::get_string(u, "node");
    if (c.upstream.node == c.node.id)
      throw ConfigError(file, "/upstream/node", "a node cannot be its own parent");
    c.upstream.credential_ref = json::get_string(u, "credential");
    if (c.upstream.credential_ref.empty() &&
        (c.upstream.tls.cert_file.empty() || json::get_string(u, "dialect", "simpul") != "simpul"))
      throw ConfigError(file, "/upstream/credential",
                        "the parent needs to know this node: a node token (credential), a "
                        "certificate (cert_file and key_file; dialect simpul), or both");
    c.upstream.batch = get_int(u, "batch", c.upstream.batch);
    c.upstream.poll_wait_s = get_int(u, "poll_wait_s", c.upstream.poll_wait_s);
    c.upstream.audit_head_interval_s =
        get_int(u, "audit_head_interval_s", c.upstream.audit_head_interval_s);
    if (u.HasMember("sign_events")) c.upstream.sign_events = u["sign_events"].GetBool();
    c.upstream.timeout_ms = get_int(u, "timeout_ms", c.upstream.timeout_ms);
    c.upstream.max_backoff_ms = get_int(u, "max_backoff_ms", c.upstream.max_backoff_ms);
    c.upstream.dialect = json::get_string(u, "dialect", c.upstream.dialect);
    // An object member of `upstream` is a dialect's section: the chosen dialect's only.
    for (const auto& m : u.GetObject()) {
      if (!m.value.IsObject()) continue;
      const std::string name = m.name.GetString();
      if (name != c.upstream.dialect)
        throw ConfigError(file, "/upstream/" + name,
                          "a " + name + " block needs \"dialect\": \"" + name + "\"");
      c.upstream.dialect_section = json::stringify(m.value);
    }
  }
  if (d.HasMember("reference")) {
    for (const auto& m : d["reference"].GetObject()) {
      std::string name = m.name.GetString();
      std::string path = resolve_path(base_dir, m.value.GetString());
      std::string pointer = "/reference/" + name;
      std::string text;
      try {
        text = read_file(path);
      } catch (const ConfigError&) {
        throw ConfigError(file, pointer, cannot_read(path));
      }
      auto ref = json::parse(text);
      if (!ref || !ref->IsArray())
        throw ConfigError(file, pointer, path + " must hold a JSON array");
      for (rapidjson::SizeType i = 0; i < ref->Size(); ++i)
        if (!(*ref)[i].IsObject() || !(*ref)[i].HasMember("id") || !(*ref)[i]["id"].IsString())
          throw ConfigError(file, pointer,
                            path + ": item " + std::to_string(i) + " needs a string \"id\"");
      c.reference.emplace_back(name, json::stringify(*ref));
    }
  }
  if (d.HasMember("connectors")) {
    const auto& arr = d["connectors"];
    for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
      Config::ConnectorInstance ci;
      ci.pointer = "/connectors/" + std::to_string(i);
      ci.id = json::get_string(arr[i], "id");
      ci.type = json::get_string(arr[i], "type");
      for (const auto& other : c.connectors)
        if (other.id == ci.id)
          throw ConfigError(file, ci.pointer + "/id", "connector " + ci.id + " is listed twice");
      auto mapping = json::get_string(arr[i], "mapping");
      if (!mapping.empty()) ci.mapping_file = resolve_path(base_dir, mapping);
      ci.settings = arr[i].HasMember("settings") ? json::stringify(arr[i]["settings"]) : "{}";
      c.connectors.push_back(std::move(ci));
    }
  }
  c.base_dir = base_dir;
  if (d.HasMember("log")) {
    c.log_level = json::get_string(d["log"], "level", "info");
    c.log_access = !d["log"].HasMember("access") || d["log"]["access"].GetBool();
  }
  return c;
}

Config load_config(const std::string& path) {
  auto base = std::filesystem::path(path).parent_path().string();
  return parse_config(read_file(path), path, base.empty() ? "." : base);
}

std::string upstream_credential(const Config& cfg) {
  if (cfg.upstream.credential_ref.empty()) return "";
  return resolve_secret(cfg.upstream.credential_ref, cfg.file, "/upstream/credential");
}

std::string resolve_secret(const std::string& ref, const std::string& file,
                           const std::string& pointer) {
  if (ref.rfind("env:", 0) == 0) {
    const char* v = std::getenv(ref.c_str() + 4);
    if (!v || !*v)
      throw ConfigError(file, pointer, "environment variable " + ref.substr(4) + " is not set");
    return v;
  }
  if (ref.rfind("file:", 0) == 0) {
    std::string path = ref.substr(5);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(file, pointer, "secret: " + cannot_read(path));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    if (s.empty()) throw ConfigError(file, pointer, "secret file " + path + " is empty");
    return s;
  }
  throw ConfigError(file, pointer, "a secret must be a reference: env:NAME or file:/path");
}

FoldContext fold_context(const Config& cfg) {
  // A calendar file that cannot be opened is named by the key that points to it.
  if (!cfg.sla.holidays_file.empty() && !readable(cfg.sla.holidays_file))
    throw ConfigError(cfg.file, "/sla/holidays_file", cannot_read(cfg.sla.holidays_file));
  auto calendar = cfg.sla.holidays_file.empty()
                      ? std::make_shared<const WorkingDayCalendar>(
                            cfg.node.zone, std::set<std::int64_t>{}, "weekends-only")
                      : std::make_shared<const WorkingDayCalendar>(WorkingDayCalendar::load(
                            cfg.sla.holidays_file, cfg.node.zone, cfg.node.region));
  return FoldContext{std::move(calendar), cfg.sla.rules};
}

}  // namespace simpul
