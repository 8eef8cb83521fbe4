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
      return true;
    case EventKind::sla_breached:
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

  std::optional<TimeMs> due(TimeMs from, int days) const {
    if (!ctx.calendar) return std::nullopt;
    return ctx.calendar->due_after(from, days);
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
    s.deadlines = {};
    s.deadlines.verify_due = due(s.record.received_at, ctx.sla.verify_days);
    return std::nullopt;
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
        s.status = Status::disposed;
        s.rerouting = false;
        s.deadlines.verify_due.reset();
        s.deadlines.followup_due = due(e.at, ctx.sla.followup_days);
        break;
      case EventKind::not_authority:
        s.status = Status::verified;
        s.rerouting = true;
        s.deadlines.followup_due.reset();
        s.deadlines.verify_due = due(e.at, ctx.sla.verify_days);
        break;
      case EventKind::progressed:
        s.status = Status::in_progress;
        break;
      case EventKind::responded:
        if (auto err = need("text")) return err;
        ++s.responses;
        s.status = Status::responded;
        s.deadlines.followup_due.reset();
        s.deadlines.autoclose_due = due(e.at, ctx.sla.autoclose_days);
        break;
      case EventKind::citizen_replied:
        if (auto err = need("text")) return err;
        if (s.status == Status::responded) {
          s.status = Status::in_progress;
          s.deadlines.autoclose_due.reset();
        }
        break;
      case EventKind::closed:
        s.status = Status::closed;
        s.closed_at = e.at;
        s.deadlines = {};
        break;
      case EventKind::reopened:
        s.status = Status::in_progress;
        s.closed_at.reset();
        break;
      case EventKind::archived:
        s.status = Status::archived;
        s.deadlines = {};
        break;
      case EventKind::cancelled:
        s.status = Status::cancelled;
        s.deadlines = {};
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
        break;
      }
    }
    return std::nullopt;
  }
};

}  // namespace

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
