// fold(events) is a pure function of the event *set*: any permutation and any duplication of
// the same events folds to the identical state, and an event that is not a valid transition
// where it falls is kept as a conflict, never dropped.

#include "simpul/fold.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "core/json.hpp"
#include "core/normalize.hpp"
#include "core/uuid.hpp"
#include "simpul/calendar.hpp"

using namespace simpul;

namespace {

const TimeMs kT0 = 1'763'600'000'000;  // 2025-11-20

Event make(EventKind kind, TimeMs at, std::string payload = "{}", std::string cid = "c1") {
  Event e;
  e.event_id = make_uuid_v7(at);
  e.complaint_id = std::move(cid);
  e.origin = "kota-batam";
  e.at = at;
  e.kind = kind;
  e.payload = std::move(payload);
  e.hops = {"kota-batam"};
  return e;
}

Event created(TimeMs at) {
  Complaint c;
  c.id = "c1";
  c.type = ComplaintType::pengaduan;
  c.title = "Jalan rusak";
  c.body = "Lubang besar";
  c.received_at = at;
  c.channel = Channel::app;
  c.reporter.name = "Siti";
  return make(EventKind::created, at, json::complaint_to_json(c));
}

std::string payload_for(EventKind k, std::mt19937_64& rng) {
  switch (k) {
    case EventKind::disposed:
    case EventKind::forwarded:
    case EventKind::not_authority:
      return R"({"agency":"dinas-)" + std::to_string(rng() % 5) + "\"}";
    case EventKind::responded:
    case EventKind::citizen_replied:
      return R"({"text":"jawaban )" + std::to_string(rng() % 100) + "\"}";
    case EventKind::linked:
      return R"({"system":"lapor","id":")" + std::to_string(rng() % 1000) + "\"}";
    case EventKind::sla_breached:
    case EventKind::sla_warning:
      return R"({"deadline":"verify"})";
    case EventKind::resolved:
      return R"({"event_id":"e1","decision":"ok"})";
    case EventKind::amended:
      return R"({"fields":{"title":"Judul )" + std::to_string(rng() % 100) + "\"}}";
    default:
      return "{}";
  }
}

const EventKind kActions[] = {
    EventKind::amended,     EventKind::verified,  EventKind::held,
    EventKind::disposed,    EventKind::forwarded, EventKind::not_authority,
    EventKind::progressed,  EventKind::responded, EventKind::citizen_replied,
    EventKind::closed,      EventKind::reopened,  EventKind::archived,
    EventKind::cancelled,   EventKind::linked,    EventKind::sla_breached,
    EventKind::sla_warning,
};

// A history that mostly follows the state machine, with some events that do not fit.
std::vector<Event> random_history(std::mt19937_64& rng, int* invalid_planted) {
  std::vector<Event> events{created(kT0)};
  std::vector<Event> valid_only = events;
  TimeMs t = kT0;
  int n = 3 + static_cast<int>(rng() % 12);
  *invalid_planted = 0;
  for (int i = 0; i < n; ++i) {
    t += static_cast<TimeMs>(rng() % 3) * 60'000;  // equal times happen: event_id breaks ties
    auto state = fold(valid_only, {});
    std::vector<EventKind> ok, bad;
    for (auto k : kActions) (transition_error(state.status, k) ? bad : ok).push_back(k);
    bool plant_invalid = !bad.empty() && rng() % 4 == 0;
    auto kind = plant_invalid ? bad[rng() % bad.size()] : ok[rng() % ok.size()];
    Event e = make(kind, t, payload_for(kind, rng));
    if (plant_invalid) {
      ++*invalid_planted;
    } else {
      valid_only.push_back(e);
    }
    events.push_back(e);
  }
  if (rng() % 5 == 0) events.push_back(created(kT0 + 1));  // a second "created": a conflict
  return events;
}

}  // namespace

TEST_CASE("fold: any permutation and duplication of an event set folds to the identical state") {
  FoldContext ctx{
      std::make_shared<WorkingDayCalendar>(Zone{7 * 60, "WIB"}, std::set<std::int64_t>{}),
      SlaRules{}};
  int cases = 0;
  int with_conflicts = 0;
  for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
    std::mt19937_64 rng(seed);
    int planted = 0;
    auto events = random_history(rng, &planted);
    auto reference = fold(events, ctx);
    REQUIRE(reference.exists);
    // Nothing is dropped: every distinct event is counted, valid or not.
    CHECK(reference.event_count == events.size());
    if (!reference.conflicts.empty()) ++with_conflicts;
    for (int trial = 0; trial < 5; ++trial) {
      auto shuffled = events;
      int dups = static_cast<int>(rng() % 4);
      for (int d = 0; d < dups; ++d) shuffled.push_back(events[rng() % events.size()]);
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      auto state = fold(shuffled, ctx);
      INFO("seed " << seed << " trial " << trial);
      REQUIRE(state == reference);
      ++cases;
    }
  }
  CHECK(cases == 10'000);
  CHECK(with_conflicts > 100);  // the generator really exercises conflicts
}

TEST_CASE("fold: a history folded once and then events added after it is the fold of all of them") {
  FoldContext ctx{
      std::make_shared<WorkingDayCalendar>(Zone{7 * 60, "WIB"}, std::set<std::int64_t>{}),
      SlaRules{}};
  int cases = 0;
  for (std::uint64_t seed = 1; seed <= 2000; ++seed) {
    std::mt19937_64 rng(seed);
    int planted = 0;
    auto events = random_history(rng, &planted);
    // Split in fold order: the head is the stored history, the tail what a write appends after
    // the latest (each later than everything before it, as an action on this node is stamped).
    std::sort(events.begin() + 1, events.end(),
              [](const Event& a, const Event& b) { return a.at < b.at; });
    const std::size_t head = 1 + rng() % events.size();
    std::vector<Event> history(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(
                                                                    std::min(head, events.size())));
    Folder folder(history, ctx);
    std::vector<Event> all = history;
    TimeMs latest = 0;
    for (const auto& e : history) latest = std::max(latest, e.at);
    for (std::size_t i = history.size(); i < events.size(); ++i) {
      Event e = events[i];
      if (e.kind == EventKind::created) continue;  // a created folds first, never after
      e.at = std::max(e.at, latest + 1);
      latest = e.at;
      auto conflict = folder.add(e);
      all.push_back(e);
      const auto reference = fold(all, ctx);
      INFO("seed " << seed << " event " << i);
      REQUIRE(folder.state() == reference);
      // The conflict add() reports is the one fold() records for that event.
      bool recorded = std::any_of(reference.conflicts.begin(), reference.conflicts.end(),
                                  [&](const Conflict& c) { return c.event_id == e.event_id; });
      CHECK(conflict.has_value() == recorded);
      ++cases;
    }
  }
  CHECK(cases > 5'000);
}

TEST_CASE("fold: an invalid transition is kept as a conflict and changes nothing else") {
  auto c = created(kT0);
  auto close_early = make(EventKind::closed, kT0 + 1000);
  auto verify = make(EventKind::verified, kT0 + 2000);
  auto st = fold({c, close_early, verify}, {});
  CHECK(st.status == Status::verified);
  REQUIRE(st.conflicts.size() == 1);
  CHECK(st.conflicts[0].event_id == close_early.event_id);
  CHECK(st.conflicts[0].kind == EventKind::closed);
  CHECK(st.conflicts[0].reason.find("not allowed when the complaint is received") !=
        std::string::npos);
  CHECK(st.event_count == 3);
  auto without = fold({c, verify}, {});
  CHECK(without.status == st.status);
  CHECK(without.record == st.record);
}

TEST_CASE("fold: created sorts first even when another node's clock put it later") {
  auto c = created(kT0 + 60'000);
  auto v = make(EventKind::verified, kT0);  // stamped before creation by a skewed clock
  auto st = fold({v, c}, {});
  CHECK(st.status == Status::verified);
  CHECK(st.conflicts.empty());
}

TEST_CASE("fold: events without a created event are all conflicts until it arrives") {
  auto v = make(EventKind::verified, kT0 + 1);
  auto st = fold({v}, {});
  CHECK_FALSE(st.exists);
  REQUIRE(st.conflicts.size() == 1);
  auto st2 = fold({v, created(kT0)}, {});
  CHECK(st2.exists);
  CHECK(st2.conflicts.empty());
  CHECK(st2.status == Status::verified);
}

TEST_CASE("fold: the whole journey and its deadlines") {
  FoldContext ctx{
      std::make_shared<WorkingDayCalendar>(Zone{7 * 60, "WIB"}, std::set<std::int64_t>{}),
      SlaRules{}};
  std::mt19937_64 rng(1);
  std::vector<Event> ev{created(kT0)};
  auto step = [&](EventKind k, std::string payload, Status expect) {
    ev.push_back(make(k, ev.back().at + 3'600'000, std::move(payload)));
    auto st = fold(ev, ctx);
    INFO(to_string(k));
    CHECK(st.conflicts.empty());
    CHECK(st.status == expect);
    return st;
  };
  auto st0 = fold(ev, ctx);
  CHECK(st0.deadlines.verify_due.has_value());
  step(EventKind::held, "{}", Status::pending);
  step(EventKind::verified, "{}", Status::verified);
  auto d = step(EventKind::disposed, R"({"agency":"dinas-pu"})", Status::disposed);
  CHECK(d.record.agency == "dinas-pu");
  CHECK(d.deadlines.followup_due.has_value());
  CHECK_FALSE(d.deadlines.verify_due.has_value());
  auto na = step(EventKind::not_authority, R"({"agency":"dinas-pu"})", Status::verified);
  CHECK(na.rerouting);
  step(EventKind::forwarded, R"({"agency":"dinas-perkim"})", Status::disposed);
  auto r = step(EventKind::responded, R"({"text":"sudah diperbaiki"})", Status::responded);
  CHECK(r.responses == 1);
  CHECK(r.deadlines.autoclose_due.has_value());
  step(EventKind::citizen_replied, R"({"text":"belum"})", Status::in_progress);
  step(EventKind::responded, R"({"text":"sekarang sudah"})", Status::responded);
  auto cl = step(EventKind::closed, "{}", Status::closed);
  CHECK(cl.closed_at.has_value());
  CHECK(cl.deadlines == Deadlines{});
  step(EventKind::reopened, "{}", Status::in_progress);
  step(EventKind::cancelled, "{}", Status::cancelled);
  auto after = fold(ev, ctx);
  ev.push_back(make(EventKind::verified, ev.back().at + 1));
  CHECK(fold(ev, ctx).conflicts.size() == 1);  // terminal
  (void)after;
}

TEST_CASE("fold: payload problems are conflicts with a reason") {
  auto st = fold({created(kT0), make(EventKind::disposed, kT0 + 1, "{}")}, {});
  REQUIRE(st.conflicts.size() == 1);
  CHECK(st.conflicts[0].reason.find("agency") != std::string::npos);
  CHECK(st.status == Status::received);
}

TEST_CASE("fold: amended changes fields - linked adds refs once") {
  auto st = fold(
      {created(kT0), make(EventKind::amended, kT0 + 1, R"({"fields":{"title":"Intisari baru"}})"),
       make(EventKind::linked, kT0 + 2, R"({"system":"lapor","id":"4410231"})"),
       make(EventKind::linked, kT0 + 3, R"({"system":"lapor","id":"4410231"})")},
      {});
  CHECK(st.record.title == "Intisari baru");
  CHECK(st.record.body == "Lubang besar");
  REQUIRE(st.record.refs.size() == 1);
  CHECK(st.record.refs[0] == Ref{"lapor", "4410231"});
  auto bad =
      fold({created(kT0), make(EventKind::amended, kT0 + 1, R"({"fields":{"id":"x"}})")}, {});
  CHECK(bad.conflicts.size() == 1);
  auto wrong_type =
      fold({created(kT0), make(EventKind::amended, kT0 + 1, R"({"fields":{"title":42}})")}, {});
  REQUIRE(wrong_type.conflicts.size() == 1);
  CHECK(wrong_type.conflicts[0].reason.find("/title") != std::string::npos);
  CHECK(wrong_type.record.title == "Jalan rusak");
}

TEST_CASE("fold: a created record taken typed folds as its payload read back does") {
  FoldContext ctx{
      std::make_shared<WorkingDayCalendar>(Zone{7 * 60, "WIB"}, std::set<std::int64_t>{}),
      SlaRules{}};
  const NormalizeOptions opt{Zone{7 * 60, "WIB"}, "21.71", 1'796'000'000'000};
  const std::string base =
      R"("type":"pengaduan","title":"Jalan rusak","body":"Lubang di jalan sudah dua minggu.","channel":"app")";
  for (const std::string& extra : {
           std::string(),
           std::string(R"(,"privacy":"rahasia","agency":"dinas-pu")"),
           std::string(R"(,"reporter":{"name":"Siti","phone":"0812-7000-1234","email":"s@x.id",
              "nik":"2171010101900001"},"location":{"text":"Batam Kota","lat":1.13,"lon":104.05})"),
           std::string(
               R"(,"category":{"local":"jalan","topic_id":"3"},"incident_at":"2026-11-20 07:30",
              "refs":[{"system":"apekesah","id":"8812"}],
              "attachments":[{"uri":"https://x.id/a.jpg","name":"a.jpg","mime":"image/jpeg"}])"),
       }) {
    CAPTURE(extra);
    auto c = read_complaint("{" + base + extra + "}", opt);
    REQUIRE_MESSAGE(c.has_value(), c.error());
    c->id = "0192f3a0-0000-7000-8000-00000000abcd";
    Event e = make(EventKind::created, c->received_at, json::complaint_to_json(*c, true), c->id);
    Folder typed({}, ctx);
    CHECK_FALSE(typed.add_created(e, *c).has_value());
    Event verified = make(EventKind::verified, c->received_at + 1000, "{}", c->id);
    typed.add(verified);
    CHECK(typed.state() == fold({e, verified}, ctx));
  }
}
