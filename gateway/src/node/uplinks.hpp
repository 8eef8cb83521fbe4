#pragma once
// The dialects of the link to the tier above, listed once (like connectors/builtin.cpp): a
// parent Simpul node (`simpul`) or the national hub SP4N-LAPOR! (`lapor`). `upstream.dialect`
// names one; the node builds it from here, and `simpul check` runs its checks from here.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "federation/upstream_link.hpp"
#include "intake/registry.hpp"

namespace boost::asio {
class io_context;
}

namespace simpul {

class CommitQueue;
class Store;
class Supervisor;

// What a dialect's link is built from.
struct UplinkContext {
  boost::asio::io_context& ioc;
  Supervisor& supervisor;
  const Config& cfg;
  std::string credential;  // resolved `upstream.credential`
  Store& reader;
  CommitQueue& writer;
  std::function<TimeMs()> clock;
  const crypto::SigningKey& signing_key;  // what the node signs its own events with
};

struct UplinkDialect {
  std::string_view name;  // the value of upstream.dialect; `upstream.<name>` is its section
  std::string_view summary;
  // Reads and checks the dialect's section (Config::Upstream::dialect_section); throws
  // ConfigError naming the pointer. Run when the node config is loaded.
  void (*check_section)(const Config& cfg);
  std::unique_ptr<Uplink> (*make)(UplinkContext& ctx);
  // `simpul check`: what the dialect checks beyond the config (kOk, or 78 with the problems
  // printed), given the node's built connectors.
  int (*check)(const Config& cfg, const std::vector<ConnectorSlot>& connectors);
};

const std::vector<UplinkDialect>& uplink_dialects();
// The configured dialect. Throws ConfigError naming /upstream/dialect when it is not listed.
const UplinkDialect& uplink_dialect(const Config& cfg);

// load_config, then the configured dialect's own section: what every command reads a node
// config with. Throws ConfigError.
Config load_node_config(const std::string& path);
Config parse_node_config(std::string_view text, const std::string& file,
                         const std::string& base_dir);

}  // namespace simpul
