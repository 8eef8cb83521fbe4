#include "intake/registry.hpp"

#include "core/json.hpp"
#include "core/schema.hpp"

namespace simpul {

const ConnectorFactory* find_connector_type(std::string_view type) {
  for (const auto& f : builtin_connectors())
    if (f.type == type) return &f;
  return nullptr;
}

std::vector<ConnectorSlot> build_connectors(const Config& cfg) {
  std::vector<ConnectorSlot> out;
  for (const auto& ci : cfg.connectors) {
    ConnectorSlot slot;
    slot.config = &ci;
    slot.factory = find_connector_type(ci.type);
    if (!slot.factory) {
      std::string known;
      for (const auto& f : builtin_connectors())
        known += (known.empty() ? "" : ", ") + std::string(f.type);
      throw ConfigError(cfg.file, ci.pointer + "/type",
                        "unknown connector type \"" + ci.type + "\" (known: " + known + ")");
    }
    auto settings = json::parse(ci.settings);
    if (!settings) throw ConfigError(cfg.file, ci.pointer + "/settings", settings.error().detail);
    if (auto p = JsonSchema::builtin(slot.factory->schema_resource()).validate(*settings))
      throw ConfigError(cfg.file, ci.pointer + "/settings" + p->pointer, p->detail);
    if (slot.factory->needs_mapping && ci.mapping_file.empty())
      throw ConfigError(cfg.file, ci.pointer,
                        "a " + ci.type + " connector needs a \"mapping\" file");
    if (!ci.mapping_file.empty()) slot.mapping = Mapping::load(ci.mapping_file);
    ConnectorSettings cs{ci.id, *settings, cfg.file, ci.pointer + "/settings",
                         [&cfg](const std::string& ref, const std::string& pointer) {
                           return resolve_secret(ref, cfg.file, pointer);
                         }};
    slot.connector = slot.factory->create(cs);
    out.push_back(std::move(slot));
  }
  return out;
}

std::vector<OutboundRoute> outbound_routes(const std::vector<ConnectorSlot>& connectors) {
  std::vector<OutboundRoute> out;
  for (const auto& slot : connectors) {
    if (!slot.connector->delivers() || !slot.mapping) continue;
    OutboundRoute route{slot.config->id, slot.mapping->system(), {}};
    for (const auto& other : connectors)
      if (other.mapping && other.mapping->system() == slot.mapping->system())
        route.own_actors.push_back("connector:" + other.config->id);
    out.push_back(std::move(route));
  }
  return out;
}

}  // namespace simpul
