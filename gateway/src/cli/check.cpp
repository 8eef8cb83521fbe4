// `simpul check`: validate a config file and everything it references, as the node would at
// start, without starting it.

#include <cstdio>

#include "cli/command.hpp"
#include "intake/registry.hpp"
#include "node/node.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

void add_check(CLI::App& app, Commands& out) {
  auto config = std::make_shared<std::string>();
  auto* check = app.add_subcommand("check", "Validate a config file (and what it references)");
  config_option(check, config);
  out.push_back(
      {check, [config] {
         Config cfg = load_node_config(*config);
         resolve_secret(cfg.auth.admin_token_ref, cfg.file, "/auth/admin_token");
         if (cfg.upstream.enabled)
           resolve_secret(cfg.upstream.credential_ref, cfg.file, "/upstream/credential");
         fold_context(cfg);  // the holiday file
         check_tls(cfg);
         auto connectors = build_connectors(cfg);
         std::printf("%s: ok (node %s, tier %s, store %s, listen %s:%u, %zu connector%s)\n",
                     config->c_str(), cfg.node.id.c_str(), cfg.node.tier.c_str(),
                     cfg.store.path.c_str(), cfg.http.host.c_str(), cfg.http.port,
                     connectors.size(), connectors.size() == 1 ? "" : "s");
         for (const auto& c : connectors)
           std::printf("  connector %s (%s)%s%s\n", c.config->id.c_str(), c.config->type.c_str(),
                       c.mapping ? ", mapping " : "", c.mapping ? c.mapping->file().c_str() : "");
         if (cfg.upstream.enabled) return uplink_dialect(cfg).check(cfg, connectors);
         return kOk;
       }});
}

}  // namespace simpul::cli
