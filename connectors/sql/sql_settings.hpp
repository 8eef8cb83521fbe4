#pragma once
// The connection settings sql_poll and sql_write share (driver, host/port or socket, database,
// user, password by reference, tls, ca_file, zone, timeouts), read from a connector's validated
// settings. No I/O. Throws ConfigError naming the setting.

#include "simpul/connector.hpp"
#include "sql/sql_driver.hpp"

namespace simpul::connectors::sql {

Endpoint endpoint_of(const ConnectorSettings& cs);

// "YYYY-MM-DD HH:MM:SS" of `t` in a zone `offset_minutes` east of UTC: how a legacy app's naive
// DATETIME column holds a time.
std::string wall_time(TimeMs t, int offset_minutes);

}  // namespace simpul::connectors::sql
