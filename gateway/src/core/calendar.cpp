#include "simpul/calendar.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/config.hpp"
#include "core/json.hpp"

namespace simpul {

namespace {

bool region_code(const std::string& s) {
  if (s.empty() || s.size() > 16) return false;
  for (char c : s)
    if (!(c >= '0' && c <= '9') && c != '.') return false;
  return s.front() != '.' && s.back() != '.';
}

}  // namespace

std::set<std::int64_t> CalendarFile::days_in(const std::string& region) const {
  std::set<std::int64_t> out;
  for (const auto& d : days) {
    if (d.scope == "national" ||
        (!region.empty() && (region == d.region || region.rfind(d.region + ".", 0) == 0)))
      out.insert(d.day);
  }
  return out;
}

CalendarFile read_calendar_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path, "", "the holiday calendar: " + cannot_read(path));
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = json::parse_relaxed(ss.str());
  if (!doc) throw ConfigError(path, "", doc.error().detail);
  if (!doc->IsObject()) throw ConfigError(path, "", "expected an object with \"days\"");
  CalendarFile f;
  f.version = json::get_string(*doc, "version");
  if (f.version.empty()) f.problems.push_back("/version: name this version of the calendar");
  // The first format had "holidays" with a date and a name only: still read, but a calendar
  // without sources does not pass `simpul calendar check`.
  const bool legacy = !doc->HasMember("days") && doc->HasMember("holidays");
  const char* key = legacy ? "holidays" : "days";
  if (!doc->HasMember(key) || !(*doc)[key].IsArray())
    throw ConfigError(path, std::string("/") + key, "expected an array of days");
  const auto& arr = (*doc)[key];
  std::set<std::pair<std::int64_t, std::string>> seen;
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    const std::string at = std::string("/") + key + "/" + std::to_string(i);
    const auto& v = arr[i];
    CalendarDay d;
    d.date = json::get_string(v, "date");
    auto t = parse_timestamp(d.date, Zone{0, "UTC"});
    if (d.date.size() != 10 || !t) throw ConfigError(path, at + "/date", "expected YYYY-MM-DD");
    d.day = *t / 86'400'000;
    d.name = json::get_string(v, "name");
    d.kind = json::get_string(v, "kind", legacy ? "libur_nasional" : "");
    d.scope = json::get_string(v, "scope", "national");
    d.region = json::get_string(v, "region");
    d.source = json::get_string(v, "source");
    if (d.name.empty()) f.problems.push_back(at + "/name: name the day");
    if (d.kind != "libur_nasional" && d.kind != "cuti_bersama" && d.kind != "libur_daerah")
      f.problems.push_back(at + "/kind: libur_nasional, cuti_bersama or libur_daerah");
    if (d.source.empty())
      f.problems.push_back(at + "/source: name the decree (SKB, Keppres, Perda, Perkada)");
    if (d.scope == "national") {
      if (!d.region.empty()) f.problems.push_back(at + "/region: a national day has no region");
    } else if (d.scope == "province" || d.scope == "kabkota") {
      const bool dotted = d.region.find('.') != std::string::npos;
      if (!region_code(d.region) || dotted != (d.scope == "kabkota"))
        f.problems.push_back(at + "/region: a " + d.scope + " code (\"21\" or \"21.71\")");
    } else {
      f.problems.push_back(at + "/scope: national, province or kabkota");
    }
    if (!seen.insert({d.day, d.scope + ":" + d.region}).second)
      f.problems.push_back(at + "/date: " + d.date + " is listed twice for the same scope");
    f.days.push_back(std::move(d));
  }
  return f;
}

WorkingDayCalendar::WorkingDayCalendar(Zone zone, std::set<std::int64_t> holidays,
                                       std::string version)
    : zone_(std::move(zone)), holidays_(std::move(holidays)), version_(std::move(version)) {}

WorkingDayCalendar WorkingDayCalendar::load(const std::string& path, Zone zone,
                                            const std::string& region) {
  CalendarFile f = read_calendar_file(path);
  // A legacy file (no sources) still loads: the node keeps running on an old config, and
  // `simpul calendar check` says what to add.
  for (const auto& p : f.problems) {
    if (p.find("/source:") != std::string::npos || p.rfind("/version:", 0) == 0) continue;
    auto colon = p.find(": ");
    throw ConfigError(path, p.substr(0, colon), p.substr(colon + 2));
  }
  return WorkingDayCalendar(std::move(zone), f.days_in(region), f.version);
}

std::string WorkingDayCalendar::fingerprint() const {
  std::string out = version_ + "|" + std::to_string(zone_.offset_minutes);
  for (auto d : holidays_) out += "," + std::to_string(d);
  return out;
}

bool WorkingDayCalendar::is_working_day(std::int64_t local_day) const {
  // 1970-01-01 was a Thursday: weekday 0 = Monday.
  std::int64_t weekday = ((local_day % 7) + 7 + 3) % 7;
  if (weekday >= 5) return false;
  return holidays_.count(local_day) == 0;
}

std::int64_t WorkingDayCalendar::local_day(TimeMs t) const {
  return simpul::local_day(t, zone_.offset_minutes);
}

int WorkingDayCalendar::working_days_between(TimeMs from, TimeMs to) const {
  int n = 0;
  // A span longer than a century is no complaint's: bounded, so no timestamp makes this spin.
  const std::int64_t first = local_day(from) + 1;
  const std::int64_t last = std::min(local_day(to), first + 36'600);
  for (std::int64_t d = first; d <= last; ++d)
    if (is_working_day(d)) ++n;
  return n;
}

TimeMs WorkingDayCalendar::due_after(TimeMs from, int n) const {
  const std::int64_t offset = static_cast<std::int64_t>(zone_.offset_minutes) * 60'000;
  std::int64_t day = local_day(from);
  int counted = 0;
  while (counted < n) {
    ++day;
    if (is_working_day(day)) ++counted;
  }
  return (day + 1) * 86'400'000 - 1 - offset;
}

}  // namespace simpul
