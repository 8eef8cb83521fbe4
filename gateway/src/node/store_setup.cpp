#include "node/store_setup.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/files.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace simpul {

std::string store_key_path(const Config& cfg) {
  if (!cfg.store.encryption_key.empty()) return "";
  const std::string& store = cfg.store.path;
  if (store.empty() || store == ":memory:" || store.rfind("file:", 0) == 0) return "";
  return (std::filesystem::path(store).parent_path() / (cfg.node.id + ".store-key")).string();
}

std::shared_ptr<const crypto::SealKeys> load_seal_keys(const Config& cfg, bool create) {
  auto parse = [&](const std::string& text, const std::string& pointer) {
    try {
      return crypto::parse_seal_key(text);
    } catch (const std::exception& e) {
      throw ConfigError(cfg.file, pointer, e.what());
    }
  };
  std::vector<crypto::SealKey> previous;
  for (std::size_t i = 0; i < cfg.store.previous_encryption_keys.size(); ++i) {
    const std::string pointer = "/store/previous_encryption_keys/" + std::to_string(i);
    previous.push_back(
        parse(resolve_secret(cfg.store.previous_encryption_keys[i], cfg.file, pointer), pointer));
  }
  if (!cfg.store.encryption_key.empty())
    return std::make_shared<crypto::SealKeys>(
        parse(resolve_secret(cfg.store.encryption_key, cfg.file, "/store/encryption_key"),
              "/store/encryption_key"),
        std::move(previous));
  const std::string path = store_key_path(cfg);
  if (path.empty()) return nullptr;  // a store in memory: nothing at rest
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!create) return nullptr;  // a command on a store no node has served with a key yet
    const auto key = crypto::generate_seal_key();
    try {
      write_file_atomically(path, crypto::seal_key_text(key), 0600);
    } catch (const std::runtime_error& e) {
      throw ConfigError(cfg.file, "/store/encryption_key",
                        std::string("a new store key: ") + e.what());
    }
    log::info("store.key_created",
              {{"path", path},
               {"key_id", key.id},
               {"detail",
                "keep a copy apart from the backups: without it the reporters' "
                "identities in them cannot be read"}});
    return std::make_shared<crypto::SealKeys>(key, std::move(previous));
  }
  return std::make_shared<crypto::SealKeys>(
      parse(resolve_secret("file:" + path, cfg.file, "/store/encryption_key"),
            "/store/encryption_key"),
      std::move(previous));
}

std::unique_ptr<Store> open_node_store(const Config& cfg, StoreUse use) {
  StoreOptions so{cfg.store.path, cfg.store.synchronous_full, cfg.store.busy_timeout_ms,
                  use == StoreUse::serve || use == StoreUse::admin};
  so.create = use != StoreUse::existing;
  so.recreate = use == StoreUse::serve && cfg.store.new_store;
  so.full_text = cfg.store.full_text;
  so.seal_keys = load_seal_keys(cfg, use == StoreUse::serve);
  // An upgrade's first start: the store as the old binary left it is copied aside before the
  // new migrations run (docs/operations.md, upgrading), once per schema step.
  const bool on_disk = cfg.store.path != ":memory:" && cfg.store.path.rfind("file:", 0) != 0;
  std::error_code ec;
  if (use == StoreUse::serve && on_disk && std::filesystem::exists(cfg.store.path, ec)) {
    so.migrate = false;
    auto store = std::make_unique<SqliteStore>(so);
    const int from = store->schema_version(), to = SqliteStore::latest_version();
    if (from > 0 && from < to) {
      const std::string copy = cfg.store.path + ".before-migration-" + std::to_string(from) +
                               "-to-" + std::to_string(to);
      if (!std::filesystem::exists(copy, ec)) {
        log::info("store.backup_before_migration",
                  {{"store", cfg.store.path}, {"from", from}, {"to", to}, {"copy", copy}});
        store->backup_to(copy);
      }
    }
    store->migrate();
    return store;
  }
  return std::make_unique<SqliteStore>(so);
}

std::unique_ptr<StoreLock> StoreLock::try_acquire(const std::string& store_path,
                                                  std::string& holder) {
  if (store_path == ":memory:" || store_path.rfind("file:", 0) == 0)
    return std::unique_ptr<StoreLock>(new StoreLock(-1));
  const std::string path = store_path + ".lock";
  const bool existed = std::filesystem::exists(path);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw StoreError(errc::storage_failure, cannot_read(path) + " (the store's lock)");
  // Made by root (sudo simpul db restore): it belongs to the store folder's owner, so the
  // service's user can take it later.
  struct stat dir {};
  if (!existed && ::geteuid() == 0 &&
      ::stat(std::filesystem::absolute(path).parent_path().c_str(), &dir) == 0)
    (void)!::fchown(fd, dir.st_uid, dir.st_gid);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    holder = "a node is serving this store" + (pid.empty() ? std::string() : " (pid " + pid + ")");
    ::close(fd);
    return nullptr;
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
  return std::unique_ptr<StoreLock>(new StoreLock(fd));
}

StoreLock::~StoreLock() {
  if (fd_ >= 0) ::close(fd_);
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
