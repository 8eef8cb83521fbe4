#include "simpul/time.hpp"

#include <doctest/doctest.h>

using namespace simpul;

namespace {
const Zone kWib{7 * 60, "WIB"};
TimeMs utc(const char* s) { return *parse_timestamp(s, Zone{0, "UTC"}); }
}  // namespace

TEST_CASE("timestamps with an explicit zone are stored as UTC") {
  CHECK(format_utc(*parse_timestamp("2026-11-20T08:15:00Z", kWib)) == "2026-11-20T08:15:00.000Z");
  CHECK(format_utc(*parse_timestamp("2026-11-20T08:15:00+07:00", kWib)) ==
        "2026-11-20T01:15:00.000Z");
  CHECK(format_utc(*parse_timestamp("2026-11-20 08:15 WITA", kWib)) == "2026-11-20T00:15:00.000Z");
  CHECK(format_utc(*parse_timestamp("2026-11-20 08:15:30 WIT", kWib)) ==
        "2026-11-19T23:15:30.000Z");
  CHECK(format_utc(*parse_timestamp("2026-11-20T08:15:00.25+0800", kWib)) ==
        "2026-11-20T00:15:00.250Z");
  CHECK(format_utc(*parse_timestamp("2026-11-20T08:15:00.123456-03:30", kWib)) ==
        "2026-11-20T11:45:00.123Z");
}

TEST_CASE("a naive timestamp is read in the configured zone - never guessed") {
  CHECK(format_utc(*parse_timestamp("2026-11-20 08:15", kWib)) == "2026-11-20T01:15:00.000Z");
  CHECK(format_utc(*parse_timestamp("2026-11-20 08:15", Zone{9 * 60, "WIT"})) ==
        "2026-11-19T23:15:00.000Z");
  CHECK(format_utc(*parse_timestamp("2026-11-20", kWib)) == "2026-11-19T17:00:00.000Z");
}

TEST_CASE("impossible or unreadable timestamps are errors that do not echo the input") {
  for (const char* bad : {"2026-02-30", "2026-13-01", "2026-11-20T24:00", "20-11-2026", "kemarin",
                          "2026-11-20 08:15 CET", "2026-11-20T08:15:00.", "", "2026-11-20T08"}) {
    auto r = parse_timestamp(bad, kWib);
    INFO(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == errc::invalid_value);
    if (*bad) CHECK(r.error().detail.find(bad) == std::string::npos);
  }
  CHECK(parse_timestamp("2024-02-29", kWib).has_value());  // leap day
}

TEST_CASE("format_utc round-trips - including before the epoch") {
  for (TimeMs t : {TimeMs{0}, TimeMs{1'763'600'000'123}, TimeMs{-1}, TimeMs{-86'400'001}}) {
    CHECK(utc(format_utc(t).c_str()) == t);
  }
  CHECK(format_utc(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("zones") {
  CHECK(parse_zone("wib")->offset_minutes == 420);
  CHECK(parse_zone("WITA")->offset_minutes == 480);
  CHECK(parse_zone("WIT")->offset_minutes == 540);
  // The IANA names timedatectl shows (Indonesia keeps no daylight saving).
  CHECK(parse_zone("Asia/Jakarta")->offset_minutes == 420);
  CHECK(parse_zone("Asia/Pontianak")->offset_minutes == 420);
  CHECK(parse_zone("Asia/Makassar")->offset_minutes == 480);
  CHECK(parse_zone("Asia/Jayapura")->offset_minutes == 540);
  CHECK_FALSE(parse_zone("Asia/Makasar"));
  CHECK(parse_zone("+05:45")->offset_minutes == 345);
  CHECK(parse_zone("-0330")->offset_minutes == -210);
  CHECK_FALSE(parse_zone("+25:00"));
}
