// SLA clocks as the fold derives them (working days in WIB from the shipped calendar), and the
// scheduler's decisions on them (ledger/sla.hpp).

#include <doctest/doctest.h>

#include <fstream>

#include "core/json.hpp"
#include "ledger/sla.hpp"
#include "simpul/calendar.hpp"
#include "simpul/fold.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

const Zone kWib{7 * 60, "WIB"};

TimeMs wib(const std::string& local) {  // "2026-11-27T10:00"
  return *parse_timestamp(local + ":00+07:00", kWib);
}
std::string due_text(const std::optional<TimeMs>& t) {
  return t ? format_utc(*t + 7 * 3'600'000).substr(0, 10) : "none";
}

FoldContext shipped(SlaRules rules = {}) {
  return FoldContext{std::make_shared<WorkingDayCalendar>(WorkingDayCalendar::load(
                         std::string(SIMPUL_SOURCE_DIR) + "/config/calendars/id.json", kWib)),
                     rules};
}

struct History {
  std::vector<Event> events;
  int n = 0;
  explicit History(TimeMs received, const std::string& origin = "kota-batam") {
    Complaint c;
    c.id = "c1";
    c.type = ComplaintType::pengaduan;
    c.title = "Jalan rusak";
    c.body = "Lubang";
    c.received_at = received;
    c.channel = Channel::app;
    add(EventKind::created, received, json::complaint_to_json(c), origin);
  }
  History& add(EventKind k, TimeMs at, std::string payload = "{}",
               const std::string& origin = "kota-batam") {
    Event e;
    e.event_id = "e" + std::to_string(++n);
    e.complaint_id = "c1";
    e.origin = origin;
    e.at = at;
    e.kind = k;
    e.payload = std::move(payload);
    events.push_back(std::move(e));
    return *this;
  }
  History& to(EventKind k, const std::string& agency, TimeMs at) {
    return add(k, at, R"({"agency":")" + agency + "\"}");
  }
  ComplaintState fold_with(const FoldContext& ctx) const { return fold(events, ctx); }
};

const SlaClock* last(const ComplaintState& s, const std::string& name) {
  for (auto it = s.clocks.rbegin(); it != s.clocks.rend(); ++it)
    if (it->name == name) return &*it;
  return nullptr;
}

}  // namespace

TEST_CASE("sla clocks: verify counts 3 working days from the next one - a weekend is skipped") {
  // Friday 27 November 2026, 10:00: Monday, Tuesday, Wednesday.
  auto st = History(wib("2026-11-27T10:00")).fold_with(shipped());
  const SlaClock* v = last(st, "verify");
  REQUIRE(v);
  CHECK(v->owner == "admin");
  CHECK(v->state == ClockState::running);
  CHECK(due_text(v->due) == "2026-12-02");
  CHECK(format_utc(*v->due) == "2026-12-02T16:59:59.999Z");  // 23:59:59.999 WIB
  CHECK(due_text(v->warn_at) == "2026-12-01");               // one working day before
  CHECK(st.deadlines.verify_due == v->due);
}

TEST_CASE("sla clocks: national holidays and cuti bersama are not working days") {
  // Thursday 19 March 2026 is Nyepi; 20, 23 and 24 March cuti bersama Idul Fitri, 21-22 Idul
  // Fitri: the first working day after is Wednesday 25.
  auto st = History(wib("2026-03-19T09:00")).fold_with(shipped());
  CHECK(due_text(last(st, "verify")->due) == "2026-03-27");
  // 14 August 2025: 18 August 2025 became cuti bersama by the amendment of 7 August 2025.
  auto aug = History(wib("2025-08-14T09:00")).fold_with(shipped());
  CHECK(due_text(last(aug, "verify")->due) == "2025-08-20");
  // Christmas 2026: 24 (cuti bersama) and 25 December.
  auto dec = History(wib("2026-12-23T16:00")).fold_with(shipped());
  CHECK(due_text(last(dec, "verify")->due) == "2026-12-30");
}

TEST_CASE("sla clocks: a pause on hold moves due by the working days it spans - shown per clock") {
  History h(wib("2026-11-02T10:00"));  // Monday: due Thursday 5
  h.add(EventKind::held, wib("2026-11-03T10:00"));
  auto paused = h.fold_with(shipped());
  const SlaClock* v = last(paused, "verify");
  CHECK(v->state == ClockState::paused);
  CHECK(v->paused_since == wib("2026-11-03T10:00"));
  CHECK_FALSE(paused.deadlines.verify_due);  // a paused clock is never overdue
  // Back on Thursday: Wednesday and Thursday were on hold.
  h.add(EventKind::verified, wib("2026-11-05T10:00"));
  auto resumed = h.fold_with(shipped());
  v = last(resumed, "verify");
  CHECK(v->state == ClockState::running);
  CHECK(v->paused_days == 2);
  CHECK(v->paused_ms == 2 * 86'400'000);
  CHECK(due_text(v->due) == "2026-11-09");  // Thursday 5 + 2 working days: Monday 9
  // Disposed: verify met, followup starts for the agency.
  h.to(EventKind::disposed, "dinas-pu-batam", wib("2026-11-05T11:00"));
  auto disposed = h.fold_with(shipped());
  CHECK(last(disposed, "verify")->state == ClockState::met);
  const SlaClock* f = last(disposed, "followup");
  REQUIRE(f);
  CHECK(f->owner == "dinas-pu-batam");
  CHECK(due_text(f->due) == "2026-11-12");
}

TEST_CASE("sla clocks: followup on hold resumes when disposed again to the same agency") {
  History h(wib("2026-11-02T08:00"));
  h.to(EventKind::disposed, "dinas-pu-batam", wib("2026-11-02T10:00"));  // due Monday 9
  h.add(EventKind::held, wib("2026-11-03T10:00"));
  h.to(EventKind::disposed, "dinas-pu-batam", wib("2026-11-04T10:00"));  // back after a day
  auto st = h.fold_with(shipped());
  int followups = 0;
  for (const auto& c : st.clocks) followups += c.name == "followup";
  CHECK(followups == 1);
  const SlaClock* f = last(st, "followup");
  CHECK(f->state == ClockState::running);
  CHECK(f->paused_days == 1);
  CHECK(due_text(f->due) == "2026-11-10");
  CHECK(st.deadlines.followup_due == f->due);
}

TEST_CASE(
    "sla clocks: a forward restarts followup for the new agency - or hands it on when "
    "declared") {
  History h(wib("2026-11-02T08:00"));
  h.to(EventKind::disposed, "dinas-pu-batam", wib("2026-11-02T10:00"));       // due Mon 9
  h.to(EventKind::forwarded, "dinas-sosial-batam", wib("2026-11-04T10:00"));  // No Wrong Door
  auto restart = h.fold_with(shipped());
  int followups = 0;
  for (const auto& c : restart.clocks) followups += c.name == "followup";
  CHECK(followups == 2);
  CHECK(restart.clocks[1].owner == "dinas-pu-batam");
  CHECK(restart.clocks[1].state == ClockState::stopped);
  const SlaClock* f = last(restart, "followup");
  CHECK(f->owner == "dinas-sosial-batam");
  CHECK(due_text(f->due) == "2026-11-11");

  SlaRules carry;
  carry.forward_restarts = false;
  auto handed = h.fold_with(shipped(carry));
  f = last(handed, "followup");
  CHECK(f->owner == "dinas-sosial-batam");
  CHECK(f->started == wib("2026-11-02T10:00"));
  CHECK(due_text(f->due) == "2026-11-09");
}

TEST_CASE("sla clocks: not_authority stops followup and gives verify back to the admin") {
  History h(wib("2026-11-02T08:00"));
  h.to(EventKind::disposed, "dinas-pu-batam", wib("2026-11-02T10:00"));
  h.add(EventKind::not_authority, wib("2026-11-03T10:00"), R"({"agency":"dinas-pu-batam"})");
  auto st = h.fold_with(shipped());
  CHECK(last(st, "followup")->state == ClockState::stopped);
  const SlaClock* v = last(st, "verify");
  CHECK(v->state == ClockState::running);
  CHECK(v->owner == "admin");
  CHECK(v->started == wib("2026-11-03T10:00"));
  CHECK(due_text(v->due) == "2026-11-06");
  CHECK(st.deadlines.verify_due == v->due);
  CHECK_FALSE(st.deadlines.followup_due);
}

TEST_CASE(
    "sla clocks: a follow-up meets followup and starts autoclose - a citizen reply stops "
    "it") {
  History h(wib("2026-11-02T08:00"));
  h.to(EventKind::disposed, "dinas-pu-batam", wib("2026-11-02T10:00"));
  h.add(EventKind::responded, wib("2026-11-04T10:00"), R"({"text":"Sudah ditambal"})");
  auto st = h.fold_with(shipped());
  CHECK(last(st, "followup")->state == ClockState::met);
  const SlaClock* a = last(st, "autoclose");
  REQUIRE(a);
  CHECK(a->owner == "system");
  CHECK(due_text(a->due) == "2026-11-18");  // 10 working days
  CHECK_FALSE(a->warn_at);
  h.add(EventKind::citizen_replied, wib("2026-11-05T10:00"), R"({"text":"Belum"})");
  CHECK(last(h.fold_with(shipped()), "autoclose")->state == ClockState::stopped);
}

TEST_CASE(
    "sla scheduler: a breach is decided once - the same id every time - and not by a node "
    "that does not own the clock") {
  History h(wib("2026-11-02T08:00"));  // verify due Thu 5 23:59 WIB
  auto st = h.fold_with(shipped());
  CHECK(sla_next_at(st, "kota-batam") == *last(st, "verify")->warn_at + 1);
  CHECK(sla_events(st, "kota-batam", wib("2026-11-03T12:00")).empty());  // before the warning

  auto warn = sla_events(st, "kota-batam", wib("2026-11-05T09:00"));
  REQUIRE(warn.size() == 1);
  CHECK(warn[0].kind == EventKind::sla_warning);

  const TimeMs late = wib("2026-11-06T09:00");
  auto a = sla_events(st, "kota-batam", late);
  auto b = sla_events(st, "kota-batam", late + 3'600'000);  // another scan, a restart
  REQUIRE(a.size() == 1);
  REQUIRE(b.size() == 1);
  CHECK(a[0].kind == EventKind::sla_breached);
  CHECK(a[0].event_id == b[0].event_id);
  CHECK(a[0].actor.role == "system");
  // The province holds the same complaint: the clock is Batam's.
  CHECK(sla_events(st, "provinsi-kepri", late).empty());
  CHECK_FALSE(sla_next_at(st, "provinsi-kepri"));

  // Once the breach is folded there is nothing more to decide for that clock.
  Event breach = a[0];
  h.events.push_back(breach);
  auto after = h.fold_with(shipped());
  CHECK(last(after, "verify")->state == ClockState::breached);
  CHECK(last(after, "verify")->breached_at == late);
  CHECK(sla_events(after, "kota-batam", late + 86'400'000).empty());
  CHECK_FALSE(sla_next_at(after, "kota-batam"));
  // Met late, it stays breached (with when it ended).
  h.to(EventKind::disposed, "dinas-pu-batam", late + 1000);
  auto met = h.fold_with(shipped());
  CHECK(met.clocks.front().state == ClockState::breached);
  CHECK(met.clocks.front().ended_at == late + 1000);
}

TEST_CASE(
    "sla scheduler: autoclose closes a follow-up the citizen did not answer - actor "
    "system") {
  History h(wib("2026-11-02T08:00"));
  h.to(EventKind::disposed, "dinas-pu-batam", wib("2026-11-02T10:00"));
  h.add(EventKind::responded, wib("2026-11-04T10:00"), R"({"text":"Sudah"})");
  auto st = h.fold_with(shipped());
  CHECK(sla_events(st, "kota-batam", wib("2026-11-18T20:00")).empty());
  auto due = sla_events(st, "kota-batam", wib("2026-11-19T08:00"));
  REQUIRE(due.size() == 1);
  CHECK(due[0].kind == EventKind::closed);
  CHECK(due[0].actor.role == "system");
  h.events.push_back(due[0]);
  auto closed = h.fold_with(shipped());
  CHECK(closed.status == Status::closed);
  CHECK(last(closed, "autoclose")->state == ClockState::met);
  CHECK(closed.conflicts.empty());
}

TEST_CASE(
    "calendar: every shipped day is dated and named and sourced - a regional day applies "
    "only in its region") {
  auto f = read_calendar_file(std::string(SIMPUL_SOURCE_DIR) + "/config/calendars/id.json");
  CHECK(f.problems.empty());
  CHECK_FALSE(f.version.empty());
  int y2025 = 0, y2026 = 0;
  for (const auto& d : f.days) {
    CHECK_FALSE(d.source.empty());
    y2025 += d.date.rfind("2025", 0) == 0;
    y2026 += d.date.rfind("2026", 0) == 0;
  }
  CHECK(y2025 == 28);  // 17 national holidays, 10 cuti bersama, and 18 August added in 2025
  CHECK(y2026 == 25);  // 17 and 8

  test::TempDir dir;
  std::ofstream(dir.file("regional.json")) << R"({"version": "r1", "days": [
    {"date": "2026-12-03", "name": "Hari Jadi", "kind": "libur_daerah", "scope": "kabkota",
     "region": "21.71", "source": "Perwako"},
    {"date": "2026-12-04", "name": "Hari Provinsi", "kind": "libur_daerah", "scope": "province",
     "region": "21", "source": "Pergub"}]})";
  auto batam = WorkingDayCalendar::load(dir.file("regional.json"), kWib, "21.71");
  auto tpi = WorkingDayCalendar::load(dir.file("regional.json"), kWib, "21.72");
  auto other = WorkingDayCalendar::load(dir.file("regional.json"), kWib, "31");
  const std::int64_t dec3 = batam.local_day(wib("2026-12-03T12:00"));
  CHECK_FALSE(batam.is_working_day(dec3));
  CHECK_FALSE(batam.is_working_day(dec3 + 1));
  CHECK(tpi.is_working_day(dec3));
  CHECK_FALSE(tpi.is_working_day(dec3 + 1));
  CHECK(other.is_working_day(dec3 + 1));

  std::ofstream(dir.file("bad.json")) << R"({"version": "x", "days": [
    {"date": "2026-12-03", "name": "A", "kind": "libur_daerah", "scope": "kabkota",
     "region": "21", "source": "S"},
    {"date": "2026-12-07", "name": "B", "kind": "libur_nasional"},
    {"date": "2026-12-07", "name": "B", "kind": "libur_nasional", "source": "S"}]})";
  auto bad = read_calendar_file(dir.file("bad.json"));
  REQUIRE(bad.problems.size() == 3);
  CHECK(bad.problems[0].rfind("/days/0/region", 0) == 0);
  CHECK(bad.problems[1].rfind("/days/1/source", 0) == 0);
  CHECK(bad.problems[2].rfind("/days/2/date", 0) == 0);
}
