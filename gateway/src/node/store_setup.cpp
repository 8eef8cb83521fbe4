#include "node/store_setup.hpp"

#include "core/json.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace simpul {

std::unique_ptr<Store> open_node_store(const Config& cfg, StoreUse use) {
  StoreOptions so{cfg.store.path, cfg.store.synchronous_full, cfg.store.busy_timeout_ms,
                  use == StoreUse::serve || use == StoreUse::admin};
  so.create = use != StoreUse::existing;
  so.recreate = use == StoreUse::serve && cfg.store.new_store;
  so.full_text = cfg.store.full_text;
  return std::make_unique<SqliteStore>(so);
}

std::optional<std::set<std::string>> agency_ids(const Config& cfg) {
  for (const auto& [name, text] : cfg.reference) {
    if (name != "agencies") continue;
    auto doc = json::parse(text);  // read and checked at load: an array of objects with an id
    std::set<std::string> ids;
    if (doc && doc->IsArray())
      for (const auto& a : doc->GetArray()) ids.insert(json::get_string(a, "id"));
    return ids;
  }
  return std::nullopt;
}

LedgerRules ledger_rules(const Config& cfg, const std::vector<ConnectorSlot>& connectors) {
  LedgerRules r;
  r.fold = fold_context(cfg);
  r.self = cfg.node.id;
  r.upstream = cfg.upstream.enabled ? cfg.upstream.node : std::string();
  r.children = Directory(cfg.children);
  r.max_clock_skew_ms = static_cast<TimeMs>(cfg.federation.max_clock_skew_s) * 1000;
  r.outbound = outbound_routes(connectors);
  r.agencies = agency_ids(cfg);
  return r;
}

}  // namespace simpul
