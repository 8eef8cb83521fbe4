// `simpul token create | rotate | revoke | list`: API, officer and node credentials. A secret
// is printed once; only its hash is stored. A token may expire; rotating one issues a new
// secret and keeps the old one working for a grace period.

#include <cstdio>

#include "cli/command.hpp"
#include "core/json.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

namespace {

const char* const kScopes[] = {"ingest", "read", "act", "pii", "admin", "node"};

bool valid_scopes(const std::string& s) {
  if (s.empty()) return false;
  std::size_t i = 0;
  while (i <= s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string one = s.substr(i, j - i);
    bool known = false;
    for (const char* k : kScopes) known = known || one == k;
    if (!known) return false;
    i = j + 1;
  }
  return true;
}

// "90d", "12h", "30m", "45s" -> milliseconds; nullopt for anything else (or zero).
std::optional<TimeMs> parse_duration(const std::string& text) {
  if (text.size() < 2 || text.size() > 12) return std::nullopt;
  TimeMs unit = 0;
  switch (text.back()) {
    case 'd':
      unit = 86'400'000;
      break;
    case 'h':
      unit = 3'600'000;
      break;
    case 'm':
      unit = 60'000;
      break;
    case 's':
      unit = 1'000;
      break;
    default:
      return std::nullopt;
  }
  TimeMs n = 0;
  for (std::size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    n = n * 10 + (text[i] - '0');
  }
  if (n == 0 || n > 3650LL * 86'400'000 / unit) return std::nullopt;  // at most ten years
  return n * unit;
}

std::string when(const std::optional<TimeMs>& t) { return t ? format_utc(*t) : "-"; }

void token_detail(json::Writer& w, const TokenSpec& spec) {
  w.Key("scopes");
  w.String(spec.scopes.c_str());
  if (!spec.agencies.empty()) {
    w.Key("agencies");
    w.String(spec.agencies.c_str());
  }
  if (spec.officer) {
    w.Key("officer");
    w.String(spec.name.c_str());
  }
  if (spec.expires_at) {
    w.Key("expires_at");
    w.String(format_utc(*spec.expires_at).c_str());
  }
}

void print_token(const std::string& id, const TokenSpec& spec, const std::string& secret) {
  std::printf("id: %s\nscopes: %s\n", id.c_str(), spec.scopes.c_str());
  if (spec.officer) std::printf("officer: %s\n", spec.name.c_str());
  if (!spec.agencies.empty()) std::printf("agencies: %s\n", spec.agencies.c_str());
  if (spec.expires_at) std::printf("expires: %s\n", format_utc(*spec.expires_at).c_str());
  std::printf("token: %s\n(store the token now: only its hash is kept)\n", secret.c_str());
}

}  // namespace

void add_token(CLI::App& app, Commands& out) {
  auto* token = app.add_subcommand("token", "API and node credentials");
  token->require_subcommand(1);

  struct Create {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string name = "api", scopes = "read", node;
    std::vector<std::string> agencies;
    std::string officer, expires_in;
    CLI::Option* scopes_opt = nullptr;
  };
  auto c = std::make_shared<Create>();
  auto* create = token->add_subcommand("create", "Issue a token (printed once)");
  config_option(create, c->config);
  create->add_option("--name", c->name, "Who the token is for");
  c->scopes_opt =
      create->add_option("--scopes", c->scopes, "Comma-separated: ingest,read,act,pii,admin,node");
  create->add_option("--node", c->node,
                     "Child node this credential identifies (scope node by default)");
  create->add_option("--agency", c->agencies,
                     "Bind the token to an agency (repeat for several): it then lists, reads and "
                     "acts only on complaints that are or were with them");
  create->add_option("--officer", c->officer,
                     "The officer (a person) this credential is for: one active credential per "
                     "officer, bound to one --agency; the actor of everything it does");
  create->add_option("--expires-in", c->expires_in,
                     "Stop accepting it after this long: 90d, 12h, 30m (default: never)");
  out.push_back(
      {create, [c] {
         Config cfg = load_node_config(*c->config);
         if (!c->node.empty() && c->scopes_opt->count() == 0) c->scopes = "node";
         TokenSpec spec;
         const TimeMs now = system_now_ms();
         if (!c->expires_in.empty()) {
           auto d = parse_duration(c->expires_in);
           if (!d) {
             std::fprintf(stderr,
                          "error: --expires-in takes a number and a unit: 90d, 12h, 30m or 45s "
                          "(at most ten years)\n");
             return kUsage;
           }
           spec.expires_at = now + *d;
         }
         if (!c->officer.empty()) {
           if (c->agencies.size() != 1 || !c->node.empty()) {
             std::fprintf(stderr,
                          "error: --officer takes exactly one --agency (the officer's agency) and "
                          "no --node\n");
             return kUsage;
           }
           if (c->scopes_opt->count() == 0) c->scopes = "read,act";
           if (c->scopes.find("admin") != std::string::npos) {
             std::fprintf(stderr, "error: an officer's credential cannot have the admin scope\n");
             return kUsage;
           }
           c->name = c->officer;
           spec.officer = true;
         }
         if (!valid_scopes(c->scopes)) {
           std::fprintf(stderr,
                        "error: --scopes takes a comma-separated list of ingest, read, act, pii, "
                        "admin, node\n");
           return kUsage;
         }
         if (!c->node.empty()) {
           bool known = false;
           for (const auto& child : cfg.children) known = known || child.id == c->node;
           if (!known) {
             std::fprintf(stderr, "error: %s is not in this node's children (config /children)\n",
                          c->node.c_str());
             return kUsage;
           }
         }
         std::string agencies;
         if (!c->agencies.empty()) {
           if (!c->node.empty() || c->scopes.find("admin") != std::string::npos) {
             std::fprintf(stderr,
                          "error: --agency binds an officer's token; a node credential or an "
                          "admin token is not bound to agencies\n");
             return kUsage;
           }
           auto known = agency_ids(cfg);
           for (const auto& a : c->agencies) {
             if (a.empty() || a.find(',') != std::string::npos) {
               std::fprintf(stderr, "error: --agency takes one agency id per flag\n");
               return kUsage;
             }
             if (known && !known->count(a)) {
               std::fprintf(stderr,
                            "error: %s is not in this node's agency reference (config "
                            "/reference/agencies)\n",
                            a.c_str());
               return kUsage;
             }
             if (!agencies.empty()) agencies += ',';
             agencies += a;
           }
         }
         spec.name = c->name;
         spec.scopes = c->scopes;
         spec.node_id = c->node;
         spec.agencies = agencies;
         auto store = open_node_store(cfg, StoreUse::admin);
         store->begin();
         if (spec.officer) {
           for (const auto& t : store->list_tokens())
             if (t.officer && t.name == spec.name && t.usable(now)) {
               store->rollback();
               std::fprintf(stderr,
                            "error: officer %s already has an active credential (%s): one per "
                            "officer; rotate it (simpul token rotate %s) or revoke it first\n",
                            spec.name.c_str(), t.id.c_str(), t.id.c_str());
               return kUsage;
             }
         }
         auto t = store->create_token(spec, now);
         rapidjson::StringBuffer detail;  // agency ids are an operator's text: written as JSON
         {
           json::Writer w(detail);
           w.StartObject();
           token_detail(w, spec);
           w.EndObject();
         }
         store->audit(now, "cli", "token.create", t.id,
                      std::string(detail.GetString(), detail.GetSize()));
         store->commit();
         print_token(t.id, spec, t.secret);
         return kOk;
       }});

  auto revoke_config = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  auto* revoke = token->add_subcommand("revoke", "Revoke a token by id");
  config_option(revoke, revoke_config);
  revoke->add_option("id", *id, "Token id")->required();
  out.push_back({revoke, [revoke_config, id] {
                   Config cfg = load_node_config(*revoke_config);
                   auto store = open_node_store(cfg, StoreUse::admin);
                   auto now = system_now_ms();
                   store->begin();
                   bool done = store->revoke_token(*id, now);
                   if (done) store->audit(now, "cli", "token.revoke", *id, "{}");
                   store->commit();
                   if (!done) {
                     std::fprintf(stderr, "error: no active token with id %s\n", id->c_str());
                     return kRuntime;
                   }
                   std::printf("revoked %s\n", id->c_str());
                   return kOk;
                 }});

  struct Rotate {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string id, grace = "24h";
  };
  auto r = std::make_shared<Rotate>();
  auto* rotate = token->add_subcommand(
      "rotate", "Issue a new secret for a token; the old one works until the grace period ends");
  config_option(rotate, r->config);
  rotate->add_option("id", r->id, "Token id")->required();
  rotate->add_option("--grace", r->grace,
                     "How long the old secret stays valid: 24h (default), 7d, 30m");
  out.push_back(
      {rotate, [r] {
         Config cfg = load_node_config(*r->config);
         auto grace = parse_duration(r->grace);
         if (!grace) {
           std::fprintf(stderr, "error: --grace takes a number and a unit: 24h, 7d, 30m or 45s\n");
           return kUsage;
         }
         auto store = open_node_store(cfg, StoreUse::admin);
         const TimeMs now = system_now_ms();
         store->begin();
         auto old = store->find_token(r->id);
         if (!old || !old->usable(now)) {
           store->rollback();
           std::fprintf(stderr, "error: no active token with id %s\n", r->id.c_str());
           return kRuntime;
         }
         // The new secret gets the old one's rights, and as long a life as it had.
         TokenSpec spec{old->name,     old->scopes,  old->node_id,
                        old->agencies, std::nullopt, old->officer};
         if (old->expires_at) spec.expires_at = now + (*old->expires_at - old->created_at);
         auto t = store->create_token(spec, now);
         const TimeMs grace_end = now + *grace;
         store->expire_token(old->id, grace_end);
         rapidjson::StringBuffer detail;
         {
           json::Writer w(detail);
           w.StartObject();
           w.Key("new");
           w.String(t.id.c_str());
           w.Key("old_valid_until");
           w.String(format_utc(std::min(grace_end, old->expires_at.value_or(grace_end))).c_str());
           token_detail(w, spec);
           w.EndObject();
         }
         store->audit(now, "cli", "token.rotate", old->id,
                      std::string(detail.GetString(), detail.GetSize()));
         store->commit();
         std::printf("rotated %s: the old secret is accepted until %s\n", old->id.c_str(),
                     format_utc(std::min(grace_end, old->expires_at.value_or(grace_end))).c_str());
         print_token(t.id, spec, t.secret);
         return kOk;
       }});

  auto list_config = std::make_shared<std::string>();
  auto* list = token->add_subcommand("list", "List tokens (never their secrets)");
  config_option(list, list_config);
  out.push_back(
      {list, [list_config] {
         Config cfg = load_node_config(*list_config);
         auto store = open_node_store(cfg, StoreUse::admin);
         const TimeMs now = system_now_ms();
         std::printf("%-10s %-8s %-20s %-28s %-12s %-8s %-24s %s\n", "ID", "KIND", "NAME", "SCOPES",
                     "NODE", "STATE", "EXPIRES", "AGENCIES");
         for (const auto& t : store->list_tokens()) {
           const char* state = t.revoked_at ? "revoked" : !t.usable(now) ? "expired" : "active";
           const char* kind = t.officer ? "officer" : t.node_id.empty() ? "api" : "node";
           std::printf("%-10s %-8s %-20s %-28s %-12s %-8s %-24s %s\n", t.id.c_str(), kind,
                       t.name.c_str(), t.scopes.c_str(),
                       t.node_id.empty() ? "-" : t.node_id.c_str(), state,
                       when(t.expires_at).c_str(), t.agencies.empty() ? "-" : t.agencies.c_str());
         }
         return kOk;
       }});
}

}  // namespace simpul::cli
