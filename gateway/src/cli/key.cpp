// `simpul key show | list | revoke`: the node's signing key, and the keys of the nodes below it
// (docs/federation.md, "Signed events").

#include <cstdio>

#include "cli/command.hpp"
#include "core/json.hpp"
#include "node/signing_key.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

void add_key(CLI::App& app, Commands& out) {
  auto* key = app.add_subcommand("key", "Signing keys: this node's, and its subtree's");
  key->require_subcommand(1);

  auto show_config = std::make_shared<std::string>();
  auto* show = key->add_subcommand("show", "This node's signing key: its id and public key");
  config_option(show, show_config);
  out.push_back({show, [show_config] {
                   Config cfg = load_node_config(*show_config);
                   auto k = load_signing_key(cfg);
                   std::printf("key: %s\npublic_key: %s\nfile: %s\n", k.key_id().c_str(),
                               crypto::base64url(k.public_key()).c_str(),
                               signing_key_path(cfg).c_str());
                   return kOk;
                 }});

  auto list_config = std::make_shared<std::string>();
  auto* list = key->add_subcommand("list", "The keys this node knows of the nodes below it");
  config_option(list, list_config);
  out.push_back({list, [list_config] {
                   Config cfg = load_node_config(*list_config);
                   auto store = open_node_store(cfg, StoreUse::existing);
                   std::printf("%-22s %-17s %-22s %-25s %s\n", "NODE", "KEY", "VIA", "REGISTERED",
                               "REVOKED FROM");
                   for (const auto& k : store->node_keys())
                     std::printf("%-22s %-17s %-22s %-25s %s\n", k.node_id.c_str(),
                                 k.key_id.c_str(), k.via.c_str(),
                                 format_utc(k.registered_at).c_str(),
                                 k.revoked_from ? format_utc(*k.revoked_from).c_str() : "-");
                   return kOk;
                 }});

  struct Revoke {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string node, key, from;
  };
  auto r = std::make_shared<Revoke>();
  auto* revoke = key->add_subcommand(
      "revoke", "Refuse what a node's key signed from a time on (a compromised key)");
  config_option(revoke, r->config);
  revoke->add_option("--node", r->node, "The node the key belongs to")->required();
  revoke->add_option("--key", r->key, "The key id (simpul key list)")->required();
  revoke
      ->add_option("--from", r->from,
                   "Events it signed at or after this time are refused (2026-12-01, "
                   "2026-12-01 08:00; the node's zone)")
      ->required();
  out.push_back(
      {revoke, [r] {
         Config cfg = load_node_config(*r->config);
         auto from = parse_timestamp(r->from, cfg.node.zone);
         if (!from) {
           std::fprintf(stderr, "error: --from: %s\n", from.error().detail.c_str());
           return kUsage;
         }
         auto store = open_node_store(cfg, StoreUse::existing);
         const TimeMs now = system_now_ms();
         store->begin();
         auto k = store->node_key(r->node, r->key);
         if (!k) {
           store->rollback();
           std::fprintf(stderr, "error: no key %s of %s here (simpul key list)\n", r->key.c_str(),
                        r->node.c_str());
           return kRuntime;
         }
         k->revoked_from = *from;
         store->put_node_key(*k);
         store->audit(now, "cli", "key.revoke", r->node,
                      "{\"key\":\"" + r->key + "\",\"from\":\"" + format_utc(*from) + "\"}");
         store->commit();
         auto now_k = store->node_key(r->node, r->key);
         std::printf("key %s of %s: refused for what it signed from %s on\n", r->key.c_str(),
                     r->node.c_str(), format_utc(*now_k->revoked_from).c_str());
         return kOk;
       }});
}

}  // namespace simpul::cli
