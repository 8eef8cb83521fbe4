#include "simpul/connector.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "connectors/runtime.hpp"
#include "core/json.hpp"
#include "core/resources.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

namespace {

// Each compiled-in type, what it does, and its settings (from its schema, with each
// setting's description).
int list_connector_types() {
  for (const auto& f : builtin_connectors()) {
    std::printf("%s  (%s%s%s)\n  %s\n", std::string(f.type).c_str(), f.inbound ? "in" : "",
                f.inbound && f.outbound ? ", " : "", f.outbound ? "out" : "",
                std::string(f.summary).c_str());
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
    if (f.needs_mapping)
      std::printf("  needs a mapping file (config/mappings/, docs/connectors.md)\n");
    std::printf("\n");
  }
  return 0;
}

}  // namespace

void add_connector(CLI::App& app, Commands& out) {
  auto* connector = app.add_subcommand("connector", "Connector types and instances");
  connector->require_subcommand(1);
  auto* list =
      connector->add_subcommand("list", "The compiled-in connector types and their settings");
  out.push_back({list, [] { return list_connector_types(); }});

  auto config = std::make_shared<std::string>();
  auto id = std::make_shared<std::string>();
  auto* test = connector->add_subcommand(
      "test", "A live check of a configured connector's connectivity and credentials");
  config_option(test, config);
  test->add_option("id", *id, "The connector's id")->required();
  out.push_back({test, [config, id] {
                   Config cfg = load_node_config(*config);
                   CommitQueue writer(open_node_store(cfg, StoreUse::admin), ledger_rules(cfg), 1);
                   auto reader = open_node_store(cfg, StoreUse::existing);
                   auto r = test_connector(cfg, *id, 15'000, *reader, writer);
                   writer.stop();
                   if (!r) {
                     std::fprintf(stderr, "%s: FAILED: %s\n", id->c_str(),
                                  r.error().detail.c_str());
                     return kRuntime;
                   }
                   std::printf("%s: ok: %s\n", id->c_str(), r->c_str());
                   return kOk;
                 }});
}

}  // namespace simpul::cli
