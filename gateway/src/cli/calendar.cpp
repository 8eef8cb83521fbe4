// `simpul calendar check FILE` and `simpul calendar diff OLD NEW [--config C]`: what a calendar
// file holds and what changing to another would do, before a node runs with it. A node that
// starts with a new calendar refolds every complaint and logs each moved due date; `diff
// --config` shows those moves beforehand, reading the store only.

#include "simpul/calendar.hpp"

#include <cstdio>
#include <map>

#include "cli/command.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"
#include "simpul/fold.hpp"

namespace simpul::cli {

namespace {

int check_file(const std::string& path, const std::string& region) {
  CalendarFile f = read_calendar_file(path);
  std::printf("%s: version %s, %zu days\n", path.c_str(),
              f.version.empty() ? "(none)" : f.version.c_str(), f.days.size());
  std::map<std::string, std::map<std::string, int>> per_year;
  int weekend = 0;
  const WorkingDayCalendar weekdays(Zone{}, {});  // weekends only: which days were off anyway
  for (const auto& d : f.days) {
    ++per_year[d.date.substr(0, 4)][d.kind + (d.scope == "national" ? "" : " " + d.region)];
    if (!weekdays.is_working_day(d.day)) ++weekend;
  }
  for (const auto& [year, kinds] : per_year) {
    std::printf("  %s:", year.c_str());
    for (const auto& [kind, n] : kinds) std::printf(" %d %s", n, kind.c_str());
    std::printf("\n");
  }
  if (weekend) std::printf("  %d of them fall on a weekend (no working day lost)\n", weekend);
  if (!region.empty())
    std::printf("  in region %s: %zu days off\n", region.c_str(), f.days_in(region).size());
  for (const auto& p : f.problems) std::fprintf(stderr, "error: %s%s\n", path.c_str(), p.c_str());
  return f.problems.empty() ? kOk : kConfig;
}

std::string describe(const CalendarDay& d) {
  std::string s = d.date + "  " + d.kind + "  " + d.name;
  if (d.scope != "national") s += "  [" + d.scope + " " + d.region + "]";
  return s + "  (" + d.source + ")";
}

// "2026-12-04 23:59 WIB": a due date as the region reads it.
std::string when(const std::optional<TimeMs>& t, const Zone& z) {
  if (!t) return "none";
  std::string s = format_utc(*t + static_cast<TimeMs>(z.offset_minutes) * 60'000).substr(0, 16);
  s[10] = ' ';
  return s + " " + z.name;
}

}  // namespace

void add_calendar(CLI::App& app, Commands& out) {
  auto* cal = app.add_subcommand("calendar", "Working-day calendars: check one, diff two");
  cal->require_subcommand(1);

  struct Check {
    std::string file, region;
  };
  auto c = std::make_shared<Check>();
  auto* check = cal->add_subcommand("check",
                                    "Check a calendar file: every day dated, named, "
                                    "sourced and scoped");
  check->add_option("file", c->file, "Calendar file (config/calendars/*.json)")->required();
  check->add_option("--region", c->region, "Also count the days off in this region (BPS code)");
  out.push_back({check, [c] { return check_file(c->file, c->region); }});

  struct Diff {
    std::string old_file, new_file, region;
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
  };
  auto d = std::make_shared<Diff>();
  auto* diff = cal->add_subcommand(
      "diff",
      "The days two calendar files differ by, and with --config the due dates of the "
      "node's open clocks that would move");
  diff->add_option("old", d->old_file, "The calendar in force")->required();
  diff->add_option("new", d->new_file, "The calendar to apply")->required();
  diff->add_option("--region", d->region, "Region whose own days count (default: the node's)");
  diff->add_option("--config", *d->config, "The node's config: show its clocks that would move");
  out.push_back(
      {diff, [d] {
         CalendarFile a = read_calendar_file(d->old_file);
         CalendarFile b = read_calendar_file(d->new_file);
         std::printf("%s -> %s\n", a.version.c_str(), b.version.c_str());
         auto key = [](const CalendarDay& x) {
           return std::make_pair(x.day, x.scope + ":" + x.region);
         };
         std::map<std::pair<std::int64_t, std::string>, const CalendarDay*> before, after;
         for (const auto& x : a.days) before[key(x)] = &x;
         for (const auto& x : b.days) after[key(x)] = &x;
         int changes = 0;
         for (const auto& [k, x] : before)
           if (!after.count(k)) {
             std::printf("- %s\n", describe(*x).c_str());
             ++changes;
           }
         for (const auto& [k, x] : after) {
           auto it = before.find(k);
           if (it == before.end()) {
             std::printf("+ %s\n", describe(*x).c_str());
             ++changes;
           } else if (it->second->name != x->name || it->second->kind != x->kind ||
                      it->second->source != x->source) {
             std::printf("~ %s\n", describe(*x).c_str());
             ++changes;
           }
         }
         std::printf("%d day(s) differ\n", changes);
         for (const auto& p : b.problems)
           std::fprintf(stderr, "error: %s%s\n", d->new_file.c_str(), p.c_str());
         if (d->config->empty()) return b.problems.empty() ? kOk : kConfig;

         Config cfg = load_node_config(*d->config);
         const std::string region = d->region.empty() ? cfg.node.region : d->region;
         FoldContext old_ctx{
             std::make_shared<WorkingDayCalendar>(cfg.node.zone, a.days_in(region), a.version),
             cfg.sla.rules};
         FoldContext new_ctx{
             std::make_shared<WorkingDayCalendar>(cfg.node.zone, b.days_in(region), b.version),
             cfg.sla.rules};
         auto store = open_node_store(cfg, StoreUse::existing);
         std::int64_t moved = 0, complaints = 0;
         std::string after_id;
         for (;;) {
           auto ids = store->complaint_ids_after(after_id, 500);
           if (ids.empty()) break;
           after_id = ids.back();
           for (const auto& id : ids) {
             auto events = store->events_of(id);
             ComplaintState x = fold(events, old_ctx);
             ComplaintState y = fold(std::move(events), new_ctx);
             ++complaints;
             auto show = [&](const char* clock, const std::optional<TimeMs>& p,
                             const std::optional<TimeMs>& q) {
               if (p == q) return;
               ++moved;
               std::printf("  %s %-9s %s -> %s\n", id.c_str(), clock,
                           when(p, cfg.node.zone).c_str(), when(q, cfg.node.zone).c_str());
             };
             show("verify", x.deadlines.verify_due, y.deadlines.verify_due);
             show("followup", x.deadlines.followup_due, y.deadlines.followup_due);
             show("autoclose", x.deadlines.autoclose_due, y.deadlines.autoclose_due);
           }
         }
         std::printf("%lld open due date(s) of %lld complaint(s) would move\n",
                     static_cast<long long>(moved), static_cast<long long>(complaints));
         return b.problems.empty() ? kOk : kConfig;
       }});
}

}  // namespace simpul::cli
