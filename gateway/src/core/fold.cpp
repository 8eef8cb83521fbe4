#include "simpul/fold.hpp"

#include <algorithm>
#include <tuple>

#include "core/json.hpp"
#include "core/schema.hpp"
#include "simpul/calendar.hpp"

namespace simpul {
namespace {

bool in(Status s, std::initializer_list<Status> set) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

// The transition table. Payload-independent; apply() checks payloads.
bool allowed(Status from, EventKind kind) {
  using S = Status;
  switch (kind) {
    case EventKind::created:
      return false;  // handled before the table
    case EventKind::amended:
    case EventKind::linked:
    case EventKind::resolved:
      return true;
    case EventKind::sla_breached:
    case EventKind::sla_warning:
      return !in(from, {S::closed, S::archived, S::cancelled});
    case EventKind::verified:
      return in(from, {S::received, S::pending});
    case EventKind::held:
      return in(from, {S::received, S::verified, S::disposed, S::in_progress});
    case EventKind::disposed:
      return in(from, {S::received, S::verified, S::pending});
    case EventKind::forwarded:
      return in(from, {S::received, S::verified, S::pending, S::disposed, S::in_progress});
    case EventKind::not_authority:
      return in(from, {S::disposed, S::in_progress});
    case EventKind::progressed:
      return in(from, {S::disposed, S::responded});
    case EventKind::responded:
      return in(from, {S::disposed, S::in_progress, S::responded});
    case EventKind::citizen_replied:
      return in(from,
                {S::received, S::pending, S::verified, S::disposed, S::in_progress, S::responded});
    case EventKind::closed:
      return in(from, {S::responded, S::in_progress});
    case EventKind::reopened:
      return from == S::closed;
    case EventKind::archived:
      return in(from, {S::received, S::pending, S::verified});
    case EventKind::cancelled:
      return in(from,
                {S::received, S::pending, S::verified, S::disposed, S::in_progress, S::responded});
  }
  return false;
}

struct Applier {
  const FoldContext& ctx;
  ComplaintState& s;
  std::string received_by;    // origin of the `created` event: the node that received it
  bool out_of_order = false;  // set by apply() when the conflict is the event's position
  EventKind current_kind = EventKind::created;  // the event being applied

  int days_of(const std::string& name) const {
    if (name == "verify") return ctx.sla.verify_days;
    if (name == "followup") return ctx.sla.followup_days;
    return ctx.sla.autoclose_days;
  }

  // `due` (and `warn_at`) of a clock from its start, its length and the days its pauses added.
  void schedule(SlaClock& c) const {
    if (!ctx.calendar) return;
    const int n = days_of(c.name) + c.paused_days;
    c.due = ctx.calendar->due_after(c.started, n);
    if (c.name != "autoclose") {
      const int before = n - ctx.sla.warn_days;
      c.warn_at = before > 0 ? ctx.calendar->due_after(c.started, before) : c.started;
    }
  }

  SlaClock* open_clock(const std::string& name) {
    for (auto it = s.clocks.rbegin(); it != s.clocks.rend(); ++it)
      if (it->name == name) return it->open() ? &*it : nullptr;
    return nullptr;
  }

  void start(const std::string& name, const std::string& owner, const Event& e, TimeMs at) {
    SlaClock c;
    c.name = name;
    c.owner = owner;
    c.origin = e.origin;
    c.started = at;
    schedule(c);
    s.clocks.push_back(std::move(c));
  }

  void resume(SlaClock& c, TimeMs at) {
    if (!c.paused_since) return;
    c.paused_ms += std::max<TimeMs>(0, at - *c.paused_since);
    if (ctx.calendar) c.paused_days += ctx.calendar->working_days_between(*c.paused_since, at);
    c.paused_since.reset();
    if (c.state == ClockState::paused) c.state = ClockState::running;
    schedule(c);
  }

  // Ends the open clock of `name`, if any: met or stopped (a breached clock stays breached).
  SlaClock* end(const std::string& name, ClockState how, TimeMs at) {
    SlaClock* c = open_clock(name);
    if (!c) return nullptr;
    resume(*c, at);
    c->ended_at = at;
    c->ended_by = current_kind;
    // A deadline met after its due time is breached, whether or not a scheduler wrote the
    // breach (autoclose is no one's deadline: it closes at its due time).
    if (how == ClockState::met && c->name != "autoclose" && c->due && at > *c->due)
      how = ClockState::breached;
    if (c->state != ClockState::breached) c->state = how;
    return c;
  }

  void pause_all(TimeMs at) {
    for (auto& c : s.clocks)
      if (c.open() && !c.paused_since) {
        c.paused_since = at;
        if (c.state == ClockState::running) c.state = ClockState::paused;
      }
  }

  void resume_all(TimeMs at) {
    for (auto& c : s.clocks)
      if (c.open()) resume(c, at);
  }

  // What lists and the projection select on: the due of each clock running now.
  void sync_deadlines() {
    s.deadlines = {};
    for (const auto& c : s.clocks) {
      if (!c.open() || c.paused_since) continue;
      if (c.name == "verify") s.deadlines.verify_due = c.due;
      if (c.name == "followup") s.deadlines.followup_due = c.due;
      if (c.name == "autoclose") s.deadlines.autoclose_due = c.due;
    }
  }

  // The clock an sla_warning or sla_breached names: by name and, when the payload gives it,
  // the start (a later clock of the same name is another clock).
  SlaClock* named_clock(const rapidjson::Value& p, const std::string& name) {
    std::optional<TimeMs> started;
    if (auto t = parse_timestamp(json::get_string(p, "started"), Zone{0, "UTC"})) started = *t;
    for (auto it = s.clocks.rbegin(); it != s.clocks.rend(); ++it)
      if (it->name == name && (!started || it->started == *started)) return &*it;
    return nullptr;
  }

  // A `created` event with its record read.
  std::optional<std::string> created_with(const Event& e, Complaint rec) {
    out_of_order = false;
    if (s.exists) return std::string("the complaint was already created by another event");
    s.record = std::move(rec);
    s.record.id = e.complaint_id;
    received_by = e.origin;
    s.exists = true;
    s.status = Status::received;
    s.clocks.clear();
    start("verify", "admin", e, s.record.received_at);
    sync_deadlines();
    note_agency();
    return std::nullopt;
  }

  void note_agency() {
    const auto& a = s.record.agency;
    if (!a.empty() && std::find(s.agencies.begin(), s.agencies.end(), a) == s.agencies.end())
      s.agencies.push_back(a);
  }

  // Applies `e`; returns the reason when it is a conflict (state untouched in that case).
  std::optional<std::string> apply(const Event& e) {
    out_of_order = false;
    if (e.kind == EventKind::created) {
      if (s.exists) return std::string("the complaint was already created by another event");
      auto doc = json::parse(e.payload);
      if (!doc) return std::string("created: payload is not JSON");
      auto rec = json::complaint_from_value(*doc);
      if (!rec) return "created: " + rec.error().detail;
      return created_with(e, std::move(*rec));
    }
    out_of_order = true;
    if (!s.exists) return std::string("no created event for this complaint yet");
    if (!allowed(s.status, e.kind)) {
      return std::string(to_string(e.kind)) + " is not allowed when the complaint is " +
             std::string(to_string(s.status));
    }
    out_of_order = false;
    current_kind = e.kind;
    const Status before = s.status;
    auto doc = json::parse(e.payload);
    if (!doc || !doc->IsObject()) return std::string("payload is not a JSON object");
    const auto& p = *doc;
    auto need = [&](const char* field) -> std::optional<std::string> {
      if (json::get_string(p, field).empty())
        return std::string(to_string(e.kind)) + ": payload needs a non-empty \"" + field + "\"";
      return std::nullopt;
    };
    switch (e.kind) {
      case EventKind::created:
        break;
      case EventKind::amended: {
        auto it = p.FindMember("fields");
        if (it == p.MemberEnd() || !it->value.IsObject())
          return std::string("amended: payload needs a \"fields\" object");
        auto rec = json::parse(json::complaint_to_json(s.record));
        auto& r = *rec;
        for (const auto& m : it->value.GetObject()) {
          std::string name(m.name.GetString(), m.name.GetStringLength());
          if (name == "id" || name == "refs") return "amended: \"" + name + "\" cannot be amended";
          if (name == "status" || name == "deadlines")
            return "amended: \"" + name + "\" is derived from the events; post the event instead";
          // The reporter of a complaint received anonim or rahasia never leaves the node that
          // received it, so no other node may lower the flag that keeps it there.
          if (name == "privacy" && m.value.IsString() && e.origin != received_by) {
            auto to = parse_privacy({m.value.GetString(), m.value.GetStringLength()});
            if (to && privacy_rank(*to) < privacy_rank(s.record.privacy))
              return "amended: only " + received_by +
                     ", the node that received the complaint, may lower its privacy";
          }
          r.RemoveMember(name.c_str());
          r.AddMember(rapidjson::Value(name.c_str(), r.GetAllocator()),
                      rapidjson::Value(m.value, r.GetAllocator()), r.GetAllocator());
        }
        // The amended record must still be a canonical record: a wrong type would otherwise
        // be read as "absent" and silently blank the field.
        // `id` is the event's complaint_id and cannot be amended: leave it out of the check.
        rapidjson::Document check;
        check.CopyFrom(r, check.GetAllocator());
        check.RemoveMember("id");
        if (auto bad = JsonSchema::builtin("schema/complaint.schema.json").validate(check))
          return "amended: " + bad->pointer + ": " + bad->detail;
        auto updated = json::complaint_from_value(r);
        if (!updated) return "amended: " + updated.error().detail;
        s.record = std::move(*updated);
        note_agency();
        break;
      }
      case EventKind::verified:
        s.status = Status::verified;
        s.rerouting = false;
        break;
      case EventKind::held:
        s.status = Status::pending;
        break;
      case EventKind::disposed:
      case EventKind::forwarded:
        if (auto err = need("agency")) return err;
        s.record.agency = json::get_string(p, "agency");
        note_agency();
        s.status = Status::disposed;
        s.rerouting = false;
        end("verify", ClockState::met, e.at);
        if (SlaClock* same = open_clock("followup"); same && same->owner == s.record.agency) {
          // Disposed again to the agency that has it (after a hold): its clock goes on.
        } else if (SlaClock* prior = end("followup", ClockState::stopped, e.at);
                   prior && !ctx.sla.forward_restarts) {
          // Handed on: the new agency's clock keeps the start and the pauses of the one before.
          SlaClock c = *prior;
          c.owner = s.record.agency;
          c.origin = e.origin;
          c.state = c.state == ClockState::breached ? ClockState::breached : ClockState::running;
          c.ended_at.reset();
          s.clocks.push_back(std::move(c));
        } else {
          start("followup", s.record.agency, e, e.at);
        }
        break;
      case EventKind::not_authority:
        s.status = Status::verified;
        s.rerouting = true;
        end("followup", ClockState::stopped, e.at);
        // Back to the admin, to dispose it to the right agency.
        start("verify", "admin", e, e.at);
        break;
      case EventKind::progressed:
        s.status = Status::in_progress;
        break;
      case EventKind::responded:
        if (auto err = need("text")) return err;
        ++s.responses;
        s.status = Status::responded;
        end("followup", ClockState::met, e.at);
        end("autoclose", ClockState::stopped, e.at);  // a later follow-up starts it again
        start("autoclose", "system", e, e.at);
        break;
      case EventKind::citizen_replied:
        if (auto err = need("text")) return err;
        if (s.status == Status::responded) {
          s.status = Status::in_progress;
          end("autoclose", ClockState::stopped, e.at);
        }
        break;
      case EventKind::closed:
        s.status = Status::closed;
        s.closed_at = e.at;
        end("autoclose", ClockState::met, e.at);
        end("verify", ClockState::stopped, e.at);
        end("followup", ClockState::stopped, e.at);
        break;
      case EventKind::reopened:
        s.status = Status::in_progress;
        s.closed_at.reset();
        break;
      case EventKind::archived:
        s.status = Status::archived;
        end("verify", ClockState::met, e.at);  // the admin decided
        break;
      case EventKind::cancelled:
        s.status = Status::cancelled;
        end("verify", ClockState::met, e.at);
        end("followup", ClockState::stopped, e.at);
        end("autoclose", ClockState::stopped, e.at);
        break;
      case EventKind::linked: {
        if (auto err = need("system")) return err;
        if (auto err = need("id")) return err;
        Ref ref{json::get_string(p, "system"), json::get_string(p, "id")};
        if (std::find(s.record.refs.begin(), s.record.refs.end(), ref) == s.record.refs.end())
          s.record.refs.push_back(std::move(ref));
        break;
      }
      case EventKind::sla_breached: {
        if (auto err = need("deadline")) return err;
        auto which = json::get_string(p, "deadline");
        if (std::find(s.breaches.begin(), s.breaches.end(), which) == s.breaches.end())
          s.breaches.push_back(which);
        if (SlaClock* c = named_clock(p, which); c && !c->breached_at) {
          c->breached_at = e.at;
          c->state = ClockState::breached;
        }
        break;
      }
      case EventKind::resolved: {
        if (auto err = need("event_id")) return err;
        if (auto err = need("decision")) return err;
        const std::string target = json::get_string(p, "event_id");
        auto it = std::find_if(s.conflicts.begin(), s.conflicts.end(),
                               [&](const Conflict& c) { return c.event_id == target; });
        if (it == s.conflicts.end()) return "resolved: no conflict of event " + target;
        if (it->resolved_at) return "resolved: the conflict of event " + target + " is resolved";
        it->resolved_at = e.at;
        it->resolved_by = e.actor.name;
        it->decision = json::get_string(p, "decision");
        break;
      }
      case EventKind::sla_warning: {
        if (auto err = need("deadline")) return err;
        if (SlaClock* c = named_clock(p, json::get_string(p, "deadline")); c && !c->warned_at)
          c->warned_at = e.at;
        break;
      }
    }
    // On hold (pending) pauses every open clock; leaving it resumes them.
    if (before != Status::pending && s.status == Status::pending) pause_all(e.at);
    if (before == Status::pending && s.status != Status::pending) resume_all(e.at);
    sync_deadlines();
    return std::nullopt;
  }
};

}  // namespace

std::string_view to_string(ClockState s) noexcept {
  switch (s) {
    case ClockState::running:
      return "running";
    case ClockState::paused:
      return "paused";
    case ClockState::met:
      return "met";
    case ClockState::breached:
      return "breached";
    case ClockState::stopped:
      return "stopped";
  }
  return "running";
}

std::optional<std::string> transition_error(Status from, EventKind kind) {
  if (kind == EventKind::created) return std::string("the complaint already exists");
  if (allowed(from, kind)) return std::nullopt;
  return std::string(to_string(kind)) + " is not allowed when the complaint is " +
         std::string(to_string(from));
}

struct Folder::Impl {
  explicit Impl(const FoldContext& c) : ctx(c), applier{ctx, s} {}
  FoldContext ctx;
  ComplaintState s;
  Applier applier;
};

Folder::Folder(std::vector<Event> events, const FoldContext& ctx)
    : impl_(std::make_unique<Impl>(ctx)) {
  // Set semantics: one event per event_id. Should two different events ever share an id, the
  // smallest by content wins, so the result still does not depend on arrival order.
  auto content = [](const Event& e) {
    return std::tie(e.event_id, e.at, e.kind, e.payload, e.origin, e.complaint_id);
  };
  std::sort(events.begin(), events.end(),
            [&](const Event& a, const Event& b) { return content(a) < content(b); });
  events.erase(std::unique(events.begin(), events.end(),
                           [](const Event& a, const Event& b) { return a.event_id == b.event_id; }),
               events.end());
  // Fold order: `created` first (clock skew between nodes must not turn a valid history into
  // conflicts), then time, then event_id.
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::make_tuple(a.kind != EventKind::created, a.at, std::cref(a.event_id)) <
           std::make_tuple(b.kind != EventKind::created, b.at, std::cref(b.event_id));
  });

  for (const auto& e : events) add(e);
}

Folder::~Folder() = default;

std::optional<Conflict> Folder::add(const Event& e) {
  ComplaintState& s = impl_->s;
  ++s.event_count;
  if (auto reason = impl_->applier.apply(e)) {
    s.conflicts.push_back({e.event_id, e.kind, std::move(*reason), impl_->applier.out_of_order});
    return s.conflicts.back();
  }
  s.updated_at = std::max(s.updated_at, e.at);
  return std::nullopt;
}

std::optional<Conflict> Folder::add_created(const Event& created, Complaint record) {
  ComplaintState& s = impl_->s;
  ++s.event_count;
  if (auto reason = impl_->applier.created_with(created, std::move(record))) {
    s.conflicts.push_back({created.event_id, created.kind, std::move(*reason), false});
    return s.conflicts.back();
  }
  s.updated_at = std::max(s.updated_at, created.at);
  return std::nullopt;
}

const ComplaintState& Folder::state() const { return impl_->s; }
ComplaintState Folder::take() { return std::move(impl_->s); }

ComplaintState fold(std::vector<Event> events, const FoldContext& ctx) {
  return Folder(std::move(events), ctx).take();
}

}  // namespace simpul
