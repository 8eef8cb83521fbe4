#pragma once
// Builds the configured connector instances: type known, settings valid against the type's
// schema, secrets resolvable, mapping loaded and checked. No I/O beyond reading the mapping and
// secret files, so `simpul check` runs exactly this.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "intake/mapping.hpp"
#include "ledger/ledger.hpp"
#include "simpul/connector.hpp"

namespace simpul {

struct ConnectorSlot {
  const Config::ConnectorInstance* config = nullptr;  // points into the Config it was built from
  const ConnectorFactory* factory = nullptr;
  std::unique_ptr<Connector> connector;
  std::optional<Mapping> mapping;
  Destination outbox() const { return Destination::connector(config->id); }  // outbound destination
};

// Throws ConfigError naming the file and pointer (/connectors/<i>/...).
std::vector<ConnectorSlot> build_connectors(const Config& cfg);

// Which complaints each outbound connector is sent: every status change or answer of one that
// carries a ref of its app's system, except what a connector of the same app wrote (no echo).
std::vector<OutboundRoute> outbound_routes(const std::vector<ConnectorSlot>& connectors);

}  // namespace simpul
