#include "ledger/sla.hpp"

#include <algorithm>

#include "core/json.hpp"
#include "core/uuid.hpp"

namespace simpul {
namespace {

// A clock this node acts on now: started here, open, not on hold, with a calendar's due.
bool actionable(const SlaClock& c, const std::string& self) {
  return c.origin == self && c.open() && !c.paused_since && c.due;
}

std::string clock_payload(const SlaClock& c) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("deadline");
  w.String(c.name.c_str());
  w.Key("owner");
  w.String(c.owner.c_str());
  w.Key("started");
  w.String(format_utc(c.started).c_str());
  w.Key("due");
  w.String(format_utc(*c.due).c_str());
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Event sla_event(const ComplaintState& s, const SlaClock& c, EventKind kind, TimeMs id_time,
                const std::string& self, TimeMs now) {
  Event e;
  // One id per (complaint, kind, clock, start, due): the same decision is the same event.
  e.event_id =
      derived_uuid_v7(id_time, s.record.id + '|' + std::string(to_string(kind)) + '|' + c.name +
                                   '|' + std::to_string(c.started) + '|' + std::to_string(*c.due));
  e.complaint_id = s.record.id;
  e.origin = self;
  e.at = now;
  e.actor = Actor{"system", "", "sla"};
  e.kind = kind;
  e.payload = clock_payload(c);
  e.hops = {self};
  return e;
}

}  // namespace

std::optional<TimeMs> sla_next_at(const ComplaintState& s, const std::string& self) {
  std::optional<TimeMs> next;
  auto consider = [&](TimeMs t) { next = next ? std::min(*next, t) : t; };
  for (const auto& c : s.clocks) {
    if (!actionable(c, self)) continue;
    if (c.name == "autoclose") {
      if (s.status == Status::responded) consider(*c.due + 1);
      continue;
    }
    if (c.breached_at) continue;
    if (!c.warned_at && c.warn_at && *c.warn_at < *c.due)
      consider(*c.warn_at + 1);
    else
      consider(*c.due + 1);
  }
  return next;
}

std::vector<Event> sla_events(const ComplaintState& s, const std::string& self, TimeMs now) {
  std::vector<Event> out;
  for (const auto& c : s.clocks) {
    if (!actionable(c, self)) continue;
    if (now <= *c.due) {  // not due yet: maybe within its warning days
      if (c.name != "autoclose" && !c.breached_at && !c.warned_at && c.warn_at && now > *c.warn_at)
        out.push_back(sla_event(s, c, EventKind::sla_warning, *c.warn_at, self, now));
      continue;
    }
    if (c.name == "autoclose") {
      if (s.status != Status::responded) continue;
      Event e = sla_event(s, c, EventKind::closed, *c.due, self, now);
      e.payload = R"({"reason":"autoclose","text":"Ditutup otomatis: tidak ada tanggapan pelapor )"
                  R"(dalam batas waktu."})";
      out.push_back(std::move(e));
    } else if (!c.breached_at) {
      out.push_back(sla_event(s, c, EventKind::sla_breached, *c.due, self, now));
    }
  }
  return out;
}

}  // namespace simpul
