#pragma once
// Working days: Monday to Friday, minus national holidays and cuti bersama. The holiday list
// is data (config/calendars/*.json), not code, because it is set by decree every year.
// Immutable after construction; safe to share between threads.

#include <cstdint>
#include <set>
#include <string>

#include "simpul/time.hpp"

namespace simpul {

class WorkingDayCalendar {
 public:
  // `holidays` are local dates as days since 1970-01-01.
  WorkingDayCalendar(Zone zone, std::set<std::int64_t> holidays);

  // Reads {"holidays": [{"date": "2026-01-01", "name": "..."}, ...]}. Throws ConfigError.
  static WorkingDayCalendar load(const std::string& path, Zone zone);

  bool is_working_day(std::int64_t local_day) const;
  // The end (23:59:59.999 local time) of the n-th working day after the local date of `from`;
  // counting starts on the next working day, as SP4N-LAPOR!'s rules do.
  TimeMs due_after(TimeMs from, int n) const;
  const Zone& zone() const { return zone_; }

 private:
  Zone zone_;
  std::set<std::int64_t> holidays_;
};

}  // namespace simpul
