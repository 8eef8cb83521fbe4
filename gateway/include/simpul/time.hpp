#pragma once
// Time in Simpul: every stored instant is UTC milliseconds since the Unix epoch (TimeMs).
// Every source declares the zone it speaks; a naive timestamp is read in that zone, never
// guessed. Indonesia's three zones have no daylight saving, so a zone is a fixed offset.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "simpul/errors.hpp"

namespace simpul {

using TimeMs = std::int64_t;

struct Zone {
  int offset_minutes = 7 * 60;  // WIB by default
  std::string name = "WIB";
};

// "WIB", "WITA", "WIT", "UTC", "Z", "+07:00", "+0700", "+07", "-03:30".
std::optional<Zone> parse_zone(std::string_view text);

// Reads "2024-03-05T10:00:00Z", "2024-03-05T10:00:00.250+08:00", "2024-03-05 10:00:00 WITA",
// "2024-03-05 10:00" (naive: read in `naive_zone`) and "2024-03-05" (midnight in that zone).
// The error's detail says what was expected; it never echoes the input.
Result<TimeMs> parse_timestamp(std::string_view text, const Zone& naive_zone);

// A wall-clock time written as `format` says (%Y %m %d %H %M %S and literal characters), in a
// zone `zone_minutes` east of UTC: how legacy apps write times ("05/03/2024 10:00"). nullopt
// when the text does not match or is no real time.
std::optional<TimeMs> parse_formatted_time(const std::string& value, const std::string& format,
                                           int zone_minutes);
// Whether `format` uses only the conversions parse_formatted_time understands.
bool valid_time_format(const std::string& format);

// "2024-03-05T03:00:00.000Z": the one format Simpul writes.
std::string format_utc(TimeMs t);

// The local day (days since 1970-01-01) holding `t` in a zone `zone_minutes` east of UTC.
std::int64_t local_day(TimeMs t, int zone_minutes) noexcept;

// Days since 1970-01-01 for a proleptic Gregorian date, and back.
std::int64_t days_from_civil(int y, unsigned m, unsigned d) noexcept;
void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) noexcept;

// The wall clock. Code that needs "now" takes it as a parameter or a Clock so tests can inject it.
TimeMs system_now_ms() noexcept;

}  // namespace simpul
