#include "simpul/calendar.hpp"

#include <fstream>
#include <sstream>

#include "core/json.hpp"

namespace simpul {

WorkingDayCalendar::WorkingDayCalendar(Zone zone, std::set<std::int64_t> holidays)
    : zone_(std::move(zone)), holidays_(std::move(holidays)) {}

WorkingDayCalendar WorkingDayCalendar::load(const std::string& path, Zone zone) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, "", "cannot read the holiday calendar");
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = json::parse_relaxed(ss.str());
  if (!doc) throw ConfigError(path, "", doc.error().detail);
  if (!doc->IsObject() || !doc->HasMember("holidays") || !(*doc)["holidays"].IsArray())
    throw ConfigError(path, "/holidays", "expected an array of {date, name}");
  std::set<std::int64_t> days;
  const auto& arr = (*doc)["holidays"];
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    std::string ptr = "/holidays/" + std::to_string(i) + "/date";
    auto date = json::get_string(arr[i], "date");
    auto t = parse_timestamp(date, Zone{0, "UTC"});
    if (date.size() != 10 || !t) throw ConfigError(path, ptr, "expected a date as YYYY-MM-DD");
    days.insert(*t / 86'400'000);
  }
  return WorkingDayCalendar(std::move(zone), std::move(days));
}

bool WorkingDayCalendar::is_working_day(std::int64_t local_day) const {
  // 1970-01-01 was a Thursday: weekday 0 = Monday.
  std::int64_t weekday = ((local_day % 7) + 7 + 3) % 7;
  if (weekday >= 5) return false;
  return holidays_.count(local_day) == 0;
}

TimeMs WorkingDayCalendar::due_after(TimeMs from, int n) const {
  const std::int64_t offset = static_cast<std::int64_t>(zone_.offset_minutes) * 60'000;
  std::int64_t local = from + offset;
  std::int64_t day = local >= 0 ? local / 86'400'000 : (local - 86'399'999) / 86'400'000;
  int counted = 0;
  while (counted < n) {
    ++day;
    if (is_working_day(day)) ++counted;
  }
  return (day + 1) * 86'400'000 - 1 - offset;
}

}  // namespace simpul
