#include "sql/sql_settings.hpp"

#include <cstdio>
#include <cstdlib>

#include "simpul/json.hpp"

namespace simpul::connectors::sql {

Endpoint endpoint_of(const ConnectorSettings& cs) {
  const auto& v = cs.settings;
  Endpoint e;
  e.driver = json::get_string(v, "driver") == "postgresql" ? Driver::postgresql : Driver::mariadb;
  e.host = json::get_string(v, "host");
  e.port = v.HasMember("port") ? v["port"].GetInt() : 0;
  e.socket = json::get_string(v, "socket");
  if (e.host.empty() == e.socket.empty())
    throw ConfigError(cs.file, cs.pointer + "/host", "give either host (and port) or socket");
  e.database = json::get_string(v, "database");
  e.user = json::get_string(v, "user");
  if (v.HasMember("password"))
    e.password = cs.secret(json::get_string(v, "password"), cs.pointer + "/password");
  e.tls = v.HasMember("tls") && v["tls"].GetBool();
  e.ca_file = json::get_string(v, "ca_file");
  auto zone = parse_zone(json::get_string(v, "zone", "WIB"));
  if (!zone) throw ConfigError(cs.file, cs.pointer + "/zone", "unknown time zone");
  const int off = zone->offset_minutes;
  char z[16];
  std::snprintf(z, sizeof z, "%c%02d:%02d", off < 0 ? '-' : '+', std::abs(off) / 60,
                std::abs(off) % 60);
  e.zone = z;
  e.zone_minutes = off;
  e.statement_timeout_ms =
      v.HasMember("statement_timeout_ms") ? v["statement_timeout_ms"].GetInt() : 10'000;
  e.connect_timeout_s = v.HasMember("connect_timeout_s") ? v["connect_timeout_s"].GetInt() : 10;
  return e;
}

std::string wall_time(TimeMs t, int offset_minutes) {
  std::string iso = format_utc(t + static_cast<TimeMs>(offset_minutes) * 60'000);
  return iso.substr(0, 10) + " " + iso.substr(11, 8);
}

}  // namespace simpul::connectors::sql
