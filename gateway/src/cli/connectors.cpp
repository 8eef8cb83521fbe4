#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/json.hpp"
#include "core/resources.hpp"
#include "simpul/connector.hpp"

namespace simpul::cli {

int list_connector_types() {
  for (const auto& f : builtin_connectors()) {
    std::printf("%s  (%s%s%s)\n  %s\n", std::string(f.type).c_str(), f.inbound ? "in" : "",
                f.inbound && f.outbound ? ", " : "", f.outbound ? "out" : "", std::string(f.summary).c_str());
    std::string resource = f.schema_resource();
    auto schema = json::parse(resources::get(resource));
    std::printf("  settings (%s):\n", resource.c_str());
    const auto& props = (*schema)["properties"];
    std::vector<std::string> required;
    if (schema->HasMember("required"))
      for (const auto& r : (*schema)["required"].GetArray()) required.emplace_back(r.GetString());
    for (const auto& p : props.GetObject()) {
      std::string name = p.name.GetString();
      bool req = std::find(required.begin(), required.end(), name) != required.end();
      std::printf("    %-18s %s%s\n", name.c_str(), req ? "(required) " : "",
                  json::get_string(p.value, "description").c_str());
    }
    if (f.needs_mapping) std::printf("  needs a mapping file (config/mappings/, docs/connectors.md)\n");
    std::printf("\n");
  }
  return 0;
}

}  // namespace simpul::cli
