#include "ledger/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/json.hpp"
#include "simpul/calendar.hpp"
#include "store/store.hpp"

namespace simpul {
namespace {

std::optional<double> median(std::vector<int> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

// Nearest rank: the smallest value at or above 90% of the sample.
std::optional<double> p90(std::vector<int> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(v.size())));
  return v[std::max<std::size_t>(rank, 1) - 1];
}

}  // namespace

AgencyReportBuilder::AgencyReportBuilder(std::string from, std::string to, std::int64_t from_day,
                                         std::int64_t to_day, TimeMs now, const FoldContext& ctx,
                                         const std::set<std::string>& agencies, int min_n)
    : from_day_(from_day), to_day_(to_day), ctx_(ctx) {
  base_.from = std::move(from);
  base_.to = std::move(to);
  base_.now = now;
  base_.calendar = ctx.calendar ? ctx.calendar->version() : std::string("weekends");
  base_.min_n = min_n;
  base_.followup_days = ctx.sla.followup_days;
  for (const auto& a : agencies) row(a);
}

AgencyRow& AgencyReportBuilder::row(const std::string& agency) {
  auto& r = rows_[agency];
  r.agency = agency;
  return r;
}

bool AgencyReportBuilder::in_period(TimeMs t) const {
  std::int64_t day;
  if (ctx_.calendar) {
    day = ctx_.calendar->local_day(t);
  } else {
    const TimeMs local = t + 7 * 3'600'000;  // no calendar: WIB, weekends only
    day = local >= 0 ? local / 86'400'000 : (local - 86'399'999) / 86'400'000;
  }
  return day >= from_day_ && day <= to_day_;
}

int AgencyReportBuilder::working_days(TimeMs from, TimeMs to) const {
  if (ctx_.calendar) return ctx_.calendar->working_days_between(from, to);
  return static_cast<int>(std::max<TimeMs>(0, to - from) / 86'400'000);
}

void AgencyReportBuilder::add(const std::vector<Event>& events, const ComplaintState& st) {
  if (!st.exists) return;
  const bool on_hub = std::any_of(st.record.refs.begin(), st.record.refs.end(), [](const Ref& r) {
    return r.system == "lapor" && !r.id.empty();
  });
  // Received: the first followup clock of each agency started in the period (a disposition or
  // a forward to it); what became of that clock is what the agency did with it.
  std::set<std::string> counted;
  for (const auto& c : st.clocks) {
    if (c.name != "followup" || c.owner.empty()) continue;
    if (c.ended_by == EventKind::not_authority && c.ended_at && in_period(*c.ended_at))
      ++row(c.owner).not_authority;
    if (!in_period(c.started) || !counted.insert(c.owner).second) continue;
    AgencyRow& r = row(c.owner);
    ++r.received;
    if (on_hub) ++r.reached_hub;
    if (c.ended_at && c.ended_by == EventKind::responded) {
      ++r.followed_up;
      // The fold's verdict: met is in time; a follow-up after due is breached.
      if (c.state == ClockState::met) ++r.followed_up_in_time;
      r.days_to_followup.push_back(
          std::max(0, working_days(c.started, *c.ended_at) - c.paused_days));
    }
    if (st.record.agency == c.owner) {
      if (st.status == Status::closed) ++r.done;
      if (st.status == Status::responded || st.status == Status::in_progress) ++r.in_process;
    }
  }
  // Overdue now: the agency holding it has a running followup clock past due.
  for (const auto& c : st.clocks)
    if (c.name == "followup" && c.open() && !c.paused_since && c.due && *c.due < base_.now &&
        c.owner == st.record.agency)
      ++row(c.owner).overdue_now;
  // Its officers' last action on any complaint it had.
  for (const auto& e : events) {
    if (e.actor.agency.empty() || e.actor.role == "system" || e.kind == EventKind::created)
      continue;
    auto it = rows_.find(e.actor.agency);
    if (it == rows_.end()) continue;  // not an agency of this report
    if (!it->second.last_action || *it->second.last_action < e.at) it->second.last_action = e.at;
  }
}

AgencyReport AgencyReportBuilder::finish(const std::set<std::string>& only) const {
  AgencyReport r = base_;
  for (const auto& [id, row] : rows_) {
    if (!only.empty() && !only.count(id)) continue;
    r.rows.push_back(row);
    if (row.last_action)
      r.rows.back().days_since_last_action = working_days(*row.last_action, base_.now);
  }
  return r;
}

Result<AgencyReport> agency_report(Store& store, const FoldContext& ctx,
                                   const std::set<std::string>& agencies, const std::string& from,
                                   const std::string& to, TimeMs now, int min_n,
                                   const std::set<std::string>& only) {
  const Zone zone = ctx.calendar ? ctx.calendar->zone() : Zone{};
  auto day_of = [&](const std::string& text, const char* name) -> Result<std::int64_t> {
    auto t = parse_timestamp(text, Zone{0, "UTC"});
    if (text.size() != 10 || !t)
      return make_problem(errc::invalid_query, "", name, std::string(name) + " is YYYY-MM-DD");
    return *t / 86'400'000;
  };
  auto a = day_of(from, "from");
  if (!a) return a.error();
  auto b = day_of(to, "to");
  if (!b) return b.error();
  if (*b < *a || *b - *a > 366)
    return make_problem(errc::invalid_query, "", "to",
                        "to is on or after from, at most 366 days later");
  AgencyReportBuilder builder(from, to, *a, *b, now, ctx, agencies, min_n);
  // From the first moment of `from` in the zone: an older complaint changed since then.
  const TimeMs since = *a * 86'400'000 - static_cast<TimeMs>(zone.offset_minutes) * 60'000;
  std::string after;
  for (;;) {
    auto ids = store.report_candidates(since, now, after, 500);
    if (ids.empty()) break;
    after = ids.back();
    for (const auto& id : ids) {
      auto events = store.events_of(id);
      ComplaintState st = fold(events, ctx);
      builder.add(events, st);
    }
  }
  return builder.finish(only);
}

std::string report_json(const AgencyReport& r) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  auto rate = [&](const char* key, int count, int n) {
    w.Key(key);
    w.StartObject();
    w.Key("count");
    w.Int(count);
    w.Key("n");
    w.Int(n);
    w.Key("rate");
    if (n >= r.min_n && n > 0) {
      w.Double(std::round(1000.0 * count / n) / 1000.0);
    } else {
      w.Null();
      w.Key("note");
      w.String("not enough data");
    }
    w.EndObject();
  };
  auto stat = [&](const char* key, std::optional<double> v, std::size_t n) {
    w.Key(key);
    if (v && static_cast<int>(n) >= r.min_n)
      w.Double(*v);
    else
      w.Null();
  };
  w.StartObject();
  w.Key("from");
  w.String(r.from.c_str());
  w.Key("to");
  w.String(r.to.c_str());
  w.Key("now");
  w.String(format_utc(r.now).c_str());
  w.Key("calendar");
  w.String(r.calendar.c_str());
  w.Key("min_n");
  w.Int(r.min_n);
  w.Key("unit");
  w.String("working days");
  w.Key("agencies");
  w.StartArray();
  for (const auto& a : r.rows) {
    w.StartObject();
    w.Key("agency");
    w.String(a.agency.c_str());
    w.Key("received");
    w.Int(a.received);
    rate("followed_up", a.followed_up, a.received);
    rate("followed_up_in_time", a.followed_up_in_time, a.received);
    rate("done", a.done, a.received);
    rate("in_process", a.in_process, a.received);
    w.Key("days_to_followup");
    w.StartObject();
    w.Key("n");
    w.Int(static_cast<int>(a.days_to_followup.size()));
    stat("median", median(a.days_to_followup), a.days_to_followup.size());
    stat("p90", p90(a.days_to_followup), a.days_to_followup.size());
    w.EndObject();
    w.Key("overdue_now");
    w.Int(a.overdue_now);
    rate("not_authority", a.not_authority, a.received);
    w.Key("last_action");
    if (a.last_action)
      w.String(format_utc(*a.last_action).c_str());
    else
      w.Null();
    w.Key("days_since_last_action");
    if (a.days_since_last_action)
      w.Int(*a.days_since_last_action);
    else
      w.Null();
    rate("reached_hub", a.reached_hub, a.received);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string report_csv(const AgencyReport& r) {
  std::string out =
      "agency,received,followed_up,followed_up_rate,followed_up_in_time,followed_up_in_time_rate,"
      "done,done_rate,in_process,in_process_rate,followup_n,median_days_to_followup,"
      "p90_days_to_followup,overdue_now,not_authority,last_action,days_since_last_action,"
      "reached_hub,reached_hub_rate\n";
  auto num = [](double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.3g", v);
    return std::string(b);
  };
  auto rate = [&](int count, int n) {
    if (n < r.min_n || n == 0) return std::string("NA");
    char b[16];
    std::snprintf(b, sizeof b, "%.3f", static_cast<double>(count) / n);
    return std::string(b);
  };
  for (const auto& a : r.rows) {
    const auto n = a.days_to_followup.size();
    const bool enough = static_cast<int>(n) >= r.min_n;
    auto m = median(a.days_to_followup), p = p90(a.days_to_followup);
    // Agency ids are [a-z0-9-] in the reference; quoted anyway, so a comma cannot shift columns.
    std::string id = "\"";
    for (char ch : a.agency) id += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    id += '"';
    out += id + ',' + std::to_string(a.received) + ',' + std::to_string(a.followed_up) + ',' +
           rate(a.followed_up, a.received) + ',' + std::to_string(a.followed_up_in_time) + ',' +
           rate(a.followed_up_in_time, a.received) + ',' + std::to_string(a.done) + ',' +
           rate(a.done, a.received) + ',' + std::to_string(a.in_process) + ',' +
           rate(a.in_process, a.received) + ',' + std::to_string(n) + ',' +
           (enough && m ? num(*m) : "NA") + ',' + (enough && p ? num(*p) : "NA") + ',' +
           std::to_string(a.overdue_now) + ',' + std::to_string(a.not_authority) + ',' +
           (a.last_action ? format_utc(*a.last_action) : "") + ',' +
           (a.days_since_last_action ? std::to_string(*a.days_since_last_action) : "") + ',' +
           std::to_string(a.reached_hub) + ',' + rate(a.reached_hub, a.received) + '\n';
  }
  return out;
}

}  // namespace simpul
