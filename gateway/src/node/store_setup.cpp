#include "node/store_setup.hpp"

#include "core/json.hpp"

namespace simpul {

std::vector<Store::OutboundRoute> outbound_routes(const std::vector<ConnectorSlot>& connectors) {
  std::vector<Store::OutboundRoute> out;
  for (const auto& slot : connectors) {
    if (!slot.connector->delivers() || !slot.mapping) continue;
    rapidjson::Document own(rapidjson::kArrayType);
    for (const auto& other : connectors)
      if (other.mapping && other.mapping->system() == slot.mapping->system())
        own.PushBack(rapidjson::Value(("connector:" + other.config->id).c_str(), own.GetAllocator()),
                     own.GetAllocator());
    out.push_back({slot.outbox(), slot.mapping->system(), json::stringify(own)});
  }
  return out;
}

std::unique_ptr<Store> open_node_store(const Config& cfg, StoreUse use,
                                       const std::vector<ConnectorSlot>& connectors) {
  StoreOptions so{cfg.store.path, cfg.store.synchronous_full, cfg.store.busy_timeout_ms,
                  use == StoreUse::serve || use == StoreUse::admin};
  so.create = use != StoreUse::existing;
  so.recreate = use == StoreUse::serve && cfg.store.new_store;
  auto store = std::make_unique<Store>(so, fold_context(cfg));
  store->set_topology(cfg.node.id, Directory(cfg.children), cfg.upstream.enabled ? cfg.upstream.node : std::string());
  store->set_max_clock_skew(static_cast<TimeMs>(cfg.federation.max_clock_skew_s) * 1000);
  store->set_outbound_routes(outbound_routes(connectors));
  return store;
}

}  // namespace simpul
