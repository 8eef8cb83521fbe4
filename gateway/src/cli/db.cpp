// `simpul db migrate`, `simpul db backup FILE` and `simpul db restore BACKUP`.

#include <cstdio>

#include "cli/command.hpp"
#include "core/json.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"
#include "store/sqlite/sqlite_store.hpp"

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

  auto restore_config = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>();
  auto* restore = db->add_subcommand(
      "restore", "Replace the store with a backup (the node stopped; the old file is kept)");
  config_option(restore, restore_config);
  restore->add_option("backup", *from, "A file made by simpul db backup")->required();
  out.push_back({restore, [restore_config, from] {
                   Config cfg = load_node_config(*restore_config);
                   std::string holder;
                   auto lock = StoreLock::try_acquire(cfg.store.path, holder);
                   if (!lock) {
                     std::fprintf(stderr,
                                  "simpul db restore: %s: %s; stop it first (systemctl stop "
                                  "simpul); nothing changed\n",
                                  cfg.store.path.c_str(), holder.c_str());
                     return kRuntime;
                   }
                   auto done = SqliteStore::restore(*from, cfg.store.path);
                   std::printf("restored %s from %s (schema version %d)\n", cfg.store.path.c_str(),
                               from->c_str(), done.schema_version);
                   if (!done.replaced.empty())
                     std::printf("the database it replaced is kept as %s\n", done.replaced.c_str());
                   // The restore is the restored log's next entry (the store migrated first, as
                   // the node would at start, its older form copied aside).
                   {
                     auto store = open_node_store(cfg, StoreUse::admin);
                     const TimeMs now = system_now_ms();
                     rapidjson::StringBuffer detail;
                     json::Writer w(detail);
                     w.StartObject();
                     w.Key("backup");
                     w.String(from->c_str());
                     w.Key("schema_version");
                     w.Int(done.schema_version);
                     w.Key("replaced");
                     w.String(done.replaced.c_str());
                     w.EndObject();
                     store->begin();
                     store->audit(now, "cli", "db.restore", cfg.store.path,
                                  std::string(detail.GetString(), detail.GetSize()));
                     store->commit();
                   }
                   if (done.schema_version < SqliteStore::latest_version())
                     std::printf("its schema was older (%d < %d): migrated\n", done.schema_version,
                                 SqliteStore::latest_version());
                   std::printf(
                       "start the node: it asks the parent for what the backup lacks "
                       "(docs/operations.md, restore)\n");
                   return kOk;
                 }});
}

}  // namespace simpul::cli
