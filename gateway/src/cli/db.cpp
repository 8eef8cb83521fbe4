// `simpul db migrate` and `simpul db backup FILE`.

#include <cstdio>

#include "cli/command.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

void add_db(CLI::App& app, Commands& out) {
  auto* db = app.add_subcommand("db", "Database maintenance");
  db->require_subcommand(1);

  auto migrate_config = std::make_shared<std::string>();
  auto* migrate = db->add_subcommand("migrate", "Apply pending migrations");
  config_option(migrate, migrate_config);
  out.push_back({migrate, [migrate_config] {
                   Config cfg = load_node_config(*migrate_config);
                   auto store = open_node_store(cfg, StoreUse::schema);
                   int before = store->schema_version();
                   store->migrate();
                   std::printf("schema version %d -> %d\n", before, store->schema_version());
                   return kOk;
                 }});

  auto backup_config = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto* backup = db->add_subcommand("backup", "Online backup to a file");
  config_option(backup, backup_config);
  backup->add_option("file", *file, "Destination file")->required();
  out.push_back({backup, [backup_config, file] {
                   Config cfg = load_node_config(*backup_config);
                   auto store = open_node_store(cfg, StoreUse::existing);
                   store->backup_to(*file);
                   std::printf("backed up %s to %s\n", cfg.store.path.c_str(), file->c_str());
                   return kOk;
                 }});
}

}  // namespace simpul::cli
