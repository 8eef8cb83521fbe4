// `simpul token create | revoke | list`: API and node credentials. A secret is printed once;
// only its hash is stored.

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

}  // namespace

void add_token(CLI::App& app, Commands& out) {
  auto* token = app.add_subcommand("token", "API and node credentials");
  token->require_subcommand(1);

  struct Create {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string name = "api", scopes = "read", node;
    std::vector<std::string> agencies;
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
  out.push_back(
      {create, [c] {
         Config cfg = load_node_config(*c->config);
         if (!c->node.empty() && c->scopes_opt->count() == 0) c->scopes = "node";
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
         auto store = open_node_store(cfg, StoreUse::admin);
         auto now = system_now_ms();
         store->begin();
         auto t = store->create_token(c->name, c->scopes, c->node, now, agencies);
         rapidjson::StringBuffer detail;  // agency ids are an operator's text: written as JSON
         {
           json::Writer w(detail);
           w.StartObject();
           w.Key("scopes");
           w.String(c->scopes.c_str());
           if (!agencies.empty()) {
             w.Key("agencies");
             w.String(agencies.c_str());
           }
           w.EndObject();
         }
         store->audit(now, "cli", "token.create", t.id,
                      std::string(detail.GetString(), detail.GetSize()));
         store->commit();
         std::printf("id: %s\nscopes: %s\n", t.id.c_str(), c->scopes.c_str());
         if (!agencies.empty()) std::printf("agencies: %s\n", agencies.c_str());
         std::printf("token: %s\n(store the token now: only its hash is kept)\n", t.secret.c_str());
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

  auto list_config = std::make_shared<std::string>();
  auto* list = token->add_subcommand("list", "List tokens (never their secrets)");
  config_option(list, list_config);
  out.push_back({list, [list_config] {
                   Config cfg = load_node_config(*list_config);
                   auto store = open_node_store(cfg, StoreUse::admin);
                   std::printf("%-10s %-20s %-28s %-12s %-8s %s\n", "ID", "NAME", "SCOPES", "NODE",
                               "STATE", "AGENCIES");
                   for (const auto& t : store->list_tokens())
                     std::printf("%-10s %-20s %-28s %-12s %-8s %s\n", t.id.c_str(), t.name.c_str(),
                                 t.scopes.c_str(), t.node_id.empty() ? "-" : t.node_id.c_str(),
                                 t.revoked_at ? "revoked" : "active",
                                 t.agencies.empty() ? "-" : t.agencies.c_str());
                   return kOk;
                 }});
}

}  // namespace simpul::cli
