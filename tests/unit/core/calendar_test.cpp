#include "simpul/calendar.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include "support/test_support.hpp"

using namespace simpul;

namespace {
const Zone kWib{7 * 60, "WIB"};
TimeMs at(const char* s) { return *parse_timestamp(s, kWib); }
std::int64_t day(const char* s) { return *parse_timestamp(s, Zone{0, "UTC"}) / 86'400'000; }
}  // namespace

TEST_CASE("working days skip weekends and holidays - counted from the next working day") {
  WorkingDayCalendar cal(kWib, {day("2026-11-25")});
  // Friday 08:15 WIB + 3 working days: Mon 23, Tue 24, (Wed 25 holiday), Thu 26.
  CHECK(format_utc(cal.due_after(at("2026-11-20 08:15"), 3)) == "2026-11-26T16:59:59.999Z");
  // Late Friday evening in WIB is still Friday, even though it is Friday afternoon UTC.
  CHECK(format_utc(cal.due_after(at("2026-11-20 23:30"), 1)) == "2026-11-23T16:59:59.999Z");
  // An event on a Saturday counts from Monday.
  CHECK(format_utc(cal.due_after(at("2026-11-21 10:00"), 1)) == "2026-11-23T16:59:59.999Z");
  CHECK_FALSE(cal.is_working_day(day("2026-11-22")));  // Sunday
  CHECK(cal.is_working_day(day("2026-11-23")));
}

TEST_CASE("the holiday calendar is data read from a file - with errors naming the entry") {
  test::TempDir dir;
  {
    std::ofstream(dir.file("ok.json")) << R"({"holidays":[{"date":"2026-12-25","name":"Natal"}]})";
    std::ofstream(dir.file("bad.json"))
        << R"({"holidays":[{"date":"2026-12-25"},{"date":"25/12/2026"}]})";
  }
  auto cal = WorkingDayCalendar::load(dir.file("ok.json"), kWib);
  CHECK_FALSE(cal.is_working_day(day("2026-12-25")));
  try {
    WorkingDayCalendar::load(dir.file("bad.json"), kWib);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.pointer() == "/holidays/1/date");
  }
  auto shipped =
      WorkingDayCalendar::load(std::string(SIMPUL_SOURCE_DIR) + "/config/calendars/id.json", kWib);
  CHECK_FALSE(shipped.is_working_day(day("2026-08-17")));
}
