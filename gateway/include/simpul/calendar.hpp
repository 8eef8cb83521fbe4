#pragma once
// Working days: Monday to Friday, minus national holidays, cuti bersama and the region's own
// days off. The list is data (config/calendars/*.json), not code, because it is set by decree
// every year (and amended during it: cuti bersama 18 August 2025 was added that August); each
// day carries its legal source and scope.
// Immutable after construction; safe to share between threads.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "simpul/time.hpp"

namespace simpul {

// One day off in a calendar file, with the decree it comes from.
struct CalendarDay {
  std::string date;      // YYYY-MM-DD
  std::int64_t day = 0;  // days since 1970-01-01
  std::string name;      // "Idul Fitri 1447 Hijriah"
  std::string kind;      // libur_nasional | cuti_bersama | libur_daerah
  std::string scope;     // national | province | kabkota
  std::string region;    // province or kabupaten/kota code, for a regional day
  std::string source;    // "SKB Menag, Menaker, MenPANRB No. 1497/2025, 2/2025, 5/2025"
};

// A calendar file as written:
//   {"version": "id-2026.2", "days": [{"date": "2026-03-20", "name": "...",
//    "kind": "cuti_bersama", "scope": "national", "source": "SKB ..."}, ...]}
// `problems` lists what is wrong with it (a missing source, a date twice, a bad scope), each
// as "/days/3/source: ..."; a file with problems is not loaded.
struct CalendarFile {
  std::string version;
  std::vector<CalendarDay> days;
  std::vector<std::string> problems;
  // The days that apply in `region` (BPS code, "21.71"): national ones, and regional ones of
  // that region or of the province it lies in.
  std::set<std::int64_t> days_in(const std::string& region) const;
};
// Throws ConfigError when the file cannot be read or is not JSON.
CalendarFile read_calendar_file(const std::string& path);

class WorkingDayCalendar {
 public:
  // `holidays` are local dates as days since 1970-01-01.
  WorkingDayCalendar(Zone zone, std::set<std::int64_t> holidays, std::string version = "");

  // The file's days that apply in `region`. Throws ConfigError naming the first problem.
  static WorkingDayCalendar load(const std::string& path, Zone zone,
                                 const std::string& region = "");

  bool is_working_day(std::int64_t local_day) const;
  // The end (23:59:59.999 local time) of the n-th working day after the local date of `from`;
  // counting starts on the next working day, as SP4N-LAPOR!'s rules do.
  TimeMs due_after(TimeMs from, int n) const;
  // Working days after the local date of `from` up to and including the local date of `to`
  // (0 when `to` is on the same local date or before).
  int working_days_between(TimeMs from, TimeMs to) const;
  // The local date of `t`, as days since 1970-01-01.
  std::int64_t local_day(TimeMs t) const;
  const Zone& zone() const { return zone_; }
  const std::string& version() const { return version_; }
  // Changes whenever a due date could: the zone and every day off.
  std::string fingerprint() const;

 private:
  Zone zone_;
  std::set<std::int64_t> holidays_;
  std::string version_;
};

}  // namespace simpul
