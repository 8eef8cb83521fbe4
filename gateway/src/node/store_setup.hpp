#pragma once
// The store and the ledger as this node writes them, made from the config in one place. The running
// node and every command that writes (link, import, renormalize, token, dlq, connector test) fold
// with the same calendar and SLA rules, fan out to the same parent and children (and the connector
// routes of the connectors it is given), and refuse the same clock skew: a projection is the same
// whoever stored it. (Once a CLI command opened the store with an empty fold context, and `simpul
// link` wiped `verify_due` from the complaint it linked.)

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/seal.hpp"
#include "intake/registry.hpp"
#include "ledger/ledger.hpp"
#include "store/store.hpp"

namespace simpul {

enum class StoreUse {
  serve,     // the node's writing connection: create (or, with --new-store, recreate), migrate
  admin,     // a command that may be the first (token create): create, migrate
  existing,  // the node's readers and commands on a store that must exist: neither
  schema,    // `db migrate`: create, and leave migrating to the caller
};

std::unique_ptr<Store> open_node_store(const Config& cfg, StoreUse use);

// The keys the store seals reporters' identities with: store.encryption_key (and
// previous_encryption_keys), else `<node id>.store-key` beside the store, made (0600) when
// `create` and it is not there yet; null for a store in memory, or when the default file is
// not there and not to be made. Throws ConfigError naming the setting.
std::shared_ptr<const crypto::SealKeys> load_seal_keys(const Config& cfg, bool create);
// Where the default key file is ("" when store.encryption_key is set, or the store is not a file).
std::string store_key_path(const Config& cfg);

// Held by `simpul serve` for as long as it runs (an flock on `<store>.lock`, released by the
// kernel however the process ends): `db restore` refuses a store a node is serving, and a
// second `serve` on the same store refuses to start.
class StoreLock {
 public:
  // The lock, or null when another process holds it (`holder` then says which, by pid).
  static std::unique_ptr<StoreLock> try_acquire(const std::string& store_path, std::string& holder);
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  explicit StoreLock(int fd) : fd_(fd) {}
  int fd_;
};

// What this node's ledger decides by. `connectors`: the node's built connector instances, whose
// outbound routes it queues for; empty when the command built none.
// The ids of the node's agency reference (`reference.agencies`), when it has one.
std::optional<std::set<std::string>> agency_ids(const Config& cfg);

LedgerRules ledger_rules(const Config& cfg, const std::vector<ConnectorSlot>& connectors = {});

}  // namespace simpul
