#include "ledger/ledger.hpp"

#include <algorithm>

#include "core/crypto.hpp"
#include "core/hop_redact.hpp"
#include "core/json.hpp"
#include "core/schema.hpp"
#include "core/uuid.hpp"
#include "ledger/sla.hpp"

namespace simpul {

namespace {

bool through(const Event& e, const std::string& node) {
  return std::find(e.hops.begin(), e.hops.end(), node) != e.hops.end();
}

// What an app hears about: the status changes and answers an outbound connector relays.
bool relayed_to_apps(EventKind k) {
  switch (k) {
    case EventKind::verified:
    case EventKind::held:
    case EventKind::disposed:
    case EventKind::forwarded:
    case EventKind::not_authority:
    case EventKind::progressed:
    case EventKind::responded:
    case EventKind::closed:
    case EventKind::reopened:
    case EventKind::archived:
    case EventKind::cancelled:
      return true;
    default:
      return false;
  }
}

std::string describe_conflict(const Conflict& c) {
  return std::string(to_string(c.kind)) + ": " + c.reason;
}

// Why a `created` event from another node does not carry a valid record of its own complaint
// (validated like the API's own input), or nullopt; `out` is the record when it does.
std::optional<std::string> invalid_record(const Event& e, Complaint& out) {
  auto doc = json::parse(e.payload);
  if (!doc || !doc->IsObject()) return "a created event's payload must be a complaint record";
  if (json::get_string(*doc, "id") != e.complaint_id)
    return "the record's id is not the event's complaint_id";
  if (auto bad = JsonSchema::builtin("schema/complaint.schema.json").validate(*doc))
    return "the record is not a valid complaint: " + bad->pointer + ": " + bad->detail;
  auto rec = json::complaint_from_value(*doc);
  if (!rec) return "the record is not a valid complaint: " + rec.error().detail;
  out = std::move(*rec);
  return std::nullopt;
}

std::vector<Event> events_only(const std::vector<StoredEvent>& stored) {
  std::vector<Event> out;
  out.reserve(stored.size());
  for (const auto& s : stored) out.push_back(s.event);
  return out;
}

}  // namespace

std::string answer_json(const WriteOutcome& out) {
  if (!out.answer.empty() || !out.state) return out.answer;
  std::string state = json::state_to_json(*out.state, false);
  if (out.event_id.empty()) return state;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("event_id");
  w.String(out.event_id.c_str());
  w.EndObject();
  std::string head(buf.GetString(), buf.GetSize());
  head.pop_back();
  return head + ",\"complaint\":" + state + "}";
}

Ledger::Ledger(Store& store, LedgerRules rules) : store_(store), rules_(std::move(rules)) {}

ComplaintState Ledger::project(std::vector<Event> events, TimeMs now) {
  ComplaintState st = fold(std::move(events), rules_.fold);
  if (st.exists) put_projection(st, now);
  return st;
}

void Ledger::put_projection(const ComplaintState& st, TimeMs now) {
  store_.put_projection(st, now, sla_next_at(st, rules_.self));
}

WriteOutcome Ledger::sla_tick(const std::string& complaint_id, TimeMs now,
                              std::vector<Event>* written) {
  std::vector<Event> planned;
  WriteOutcome out = act_planned(
      complaint_id,
      [&](const ComplaintState& st) {
        planned = sla_events(st, rules_.self, now);
        // An event with its derived id already stored (folded as a conflict somewhere) is
        // never written twice: the id is the decision.
        planned.erase(std::remove_if(planned.begin(), planned.end(),
                                     [&](const Event& e) {
                                       return store_.find_event(e.event_id).has_value();
                                     }),
                      planned.end());
        return planned;
      },
      now);
  if (written && out.stored()) *written = std::move(planned);
  if (out.kind == WriteOutcome::Kind::duplicate && out.state) {
    store_.set_sla_next_at(complaint_id, sla_next_at(*out.state, rules_.self));
  } else if (out.kind == WriteOutcome::Kind::rejected && out.error != errc::not_found) {
    // The state machine refused what the clock decided (a race with an officer's action that
    // the fold placed first): try again later rather than at every scan.
    store_.set_sla_next_at(complaint_id, now + kSlaRetryMs);
  }
  return out;
}

std::vector<Ledger::DueChange> Ledger::reproject(const std::string& complaint_id, TimeMs now) {
  std::vector<DueChange> changes;
  auto before = store_.projection(complaint_id);
  ComplaintState st = fold(store_.events_of(complaint_id), rules_.fold);
  if (!st.exists) return changes;
  put_projection(st, now);
  const Deadlines old = before ? before->deadlines : Deadlines{};
  auto note = [&](const char* clock, const std::optional<TimeMs>& a,
                  const std::optional<TimeMs>& b) {
    if (a != b) changes.push_back({complaint_id, clock, a, b});
  };
  note("verify", old.verify_due, st.deadlines.verify_due);
  note("followup", old.followup_due, st.deadlines.followup_due);
  note("autoclose", old.autoclose_due, st.deadlines.autoclose_due);
  return changes;
}

void Ledger::fan_out(const Event& e, std::int64_t seq, const ComplaintState& st,
                     const std::vector<StoredEvent>& history, TimeMs now) {
  const std::string& id = e.complaint_id;
  // Up: every event that has not already passed through the parent.
  if (!rules_.upstream.empty() && !through(e, rules_.upstream))
    store_.enqueue(Destination::upstream().name(), seq, now);
  // To the apps the complaint came from, unless one of that app's own connectors wrote it. A
  // decision the fold holds as a conflict (a hub close of a report never answered here) waits
  // for an admin, who acts for it; the app hears that action, never the refused one.
  const bool conflict = std::any_of(st.conflicts.begin(), st.conflicts.end(),
                                    [&](const Conflict& c) { return c.event_id == e.event_id; });
  if (relayed_to_apps(e.kind) && !conflict) {
    for (const auto& route : rules_.outbound) {
      if (std::find(route.own_actors.begin(), route.own_actors.end(), e.actor.name) !=
          route.own_actors.end())
        continue;
      if (store_.ref_of(id, route.system))
        store_.enqueue(Destination::connector(route.connector).name(), seq, now);
    }
  }
  if (rules_.children.empty() || !st.exists) return;
  // Down: the child it is routed to now, and every child its `created` came through.
  std::vector<std::string> visible;
  auto routed = rules_.children.route(st.record);
  if (!routed.empty()) visible.push_back(routed);
  for (const auto& h : history) {
    if (h.event.kind != EventKind::created) continue;
    for (const auto& hop : h.event.hops)
      if (rules_.children.find(hop) &&
          std::find(visible.begin(), visible.end(), hop) == visible.end())
        visible.push_back(hop);
  }
  for (const auto& child : visible) {
    const std::string dest = Destination::child(child).name();
    // A node never gets back what passed through it. The first time a child sees a complaint
    // it gets its whole history; after that, each new event.
    if (!store_.visible_to(id, child)) {
      store_.make_visible(id, child, now);
      for (const auto& h : history)
        if (!through(h.event, child)) store_.enqueue(dest, h.seq, now);
    } else if (!through(e, child)) {
      store_.enqueue(dest, seq, now);
    }
  }
}

WriteOutcome Ledger::ingest(const IngestRequest& req) {
  const std::string request_hash = crypto::sha256_hex(req.raw_body);
  WriteOutcome out;
  if (!req.idem_key.empty()) {
    if (auto stored = store_.recall_answer(req.idem_scope, req.idem_key)) {
      if (stored->request_sha256 != request_hash) {
        out.kind = WriteOutcome::Kind::rejected;
        out.error = errc::idempotency_mismatch;
        out.detail = "this Idempotency-Key was already used with a different request body";
        return out;
      }
      out.kind = WriteOutcome::Kind::replayed;
      out.complaint_id = stored->complaint_id;
      if (stored->through_seq == 0) {
        out.answer = stored->body;
        return out;
      }
      // The complaint as it was answered: its events up to the position of the answer.
      std::vector<Event> events;
      for (auto& e : store_.stored_events_of(stored->complaint_id))
        if (e.seq <= stored->through_seq) events.push_back(std::move(e.event));
      out.state = fold(std::move(events), rules_.fold);
      return out;
    }
  }

  // A complaint is created once. The same record again is a duplicate; any other record under
  // an existing id would replace the original in the fold (the earlier `created` wins), so it
  // is refused, audited, and nothing of it is stored.
  if (!req.complaint.id.empty()) {
    if (auto existing = store_.created_payload(req.complaint.id)) {
      out.complaint_id = req.complaint.id;
      if (*existing == json::complaint_to_json(req.complaint, true)) {
        out.kind = WriteOutcome::Kind::duplicate;
        out.state = fold(store_.events_of(req.complaint.id), rules_.fold);
        return out;
      }
      store_.audit(req.now, req.actor.name.empty() ? req.raw_source : req.actor.name,
                   "ingest.rejected", req.complaint.id,
                   "{\"reason\":\"a different complaint with this id exists\"}");
      out.kind = WriteOutcome::Kind::rejected;
      out.error = errc::already_exists;
      out.detail = "a complaint with this id already exists; post events to change it";
      out.pointer = "/id";
      return out;
    }
  }
  Store::Savepoint guard(store_);
  // The answer as the API gave it (201 created, 200 the same complaint), replayed with 200:
  // kept as the position of the complaint's last event then, from which it folds again (the
  // events are append-only), not as a second copy of the complaint.
  std::int64_t through_seq = 0;
  auto remember = [&] {
    if (req.idem_key.empty()) return;
    store_.remember_answer(req.idem_scope, req.idem_key, request_hash, out.stored() ? 201 : 200,
                           out.complaint_id, "", req.now, through_seq);
  };

  // A source that resends a complaint we already hold (same external id) gets the original.
  for (const auto& ref : req.complaint.refs) {
    if (auto existing = store_.find_by_ref(ref.system, ref.id)) {
      out.kind = WriteOutcome::Kind::duplicate;
      out.complaint_id = *existing;
      auto history = store_.stored_events_of(*existing);
      through_seq = history.empty() ? 0 : history.back().seq;
      out.state = fold(events_only(history), rules_.fold);
      remember();
      guard.keep();
      return out;
    }
  }

  Complaint c = req.complaint;
  if (c.id.empty()) c.id = make_uuid_v7(req.now);
  Event created;
  created.event_id = make_uuid_v7(req.now);
  created.complaint_id = c.id;
  created.origin = req.origin;
  created.at = c.received_at;
  created.actor = req.actor;
  created.kind = EventKind::created;
  created.payload = json::complaint_to_json(c, true);
  created.hops = {req.origin};

  for (const Event& e : req.history) {
    if (auto why = unknown_agency(e); !why.empty()) {
      out.kind = WriteOutcome::Kind::rejected;
      out.error = errc::invalid_value;
      out.complaint_id = c.id;
      out.detail = "history: " + why;
      out.pointer = "/payload/agency";
      return out;
    }
  }
  std::vector<StoredEvent> stored;
  stored.push_back({store_.append(created, req.now), created});
  TimeMs last = created.at;
  for (Event e : req.history) {
    e.complaint_id = c.id;
    e.at = std::max(e.at, last + 1);
    last = e.at;
    const std::int64_t seq = store_.append(e, req.now);
    stored.push_back({seq, std::move(e)});
  }
  for (const auto& ref : c.refs) store_.add_ref(ref, c.id, req.now);
  // The one fold of this write, from the record as it is (not its payload read back), then the
  // history, which folds after it in the order given.
  Folder f({}, rules_.fold);
  f.add_created(created, c);
  for (std::size_t i = 1; i < stored.size(); ++i) f.add(stored[i].event);
  ComplaintState st = f.take();
  SIMPUL_CHECK(st.exists, "a freshly created complaint must fold to an existing state");
  if (!st.conflicts.empty()) {
    out.kind = WriteOutcome::Kind::rejected;
    out.error = errc::transition_not_allowed;
    out.complaint_id = c.id;
    out.detail = "history: " + describe_conflict(st.conflicts.front());
    return out;
  }
  put_projection(st, req.now);
  for (const auto& s : stored) fan_out(s.event, s.seq, st, stored, req.now);
  store_.keep_raw_payload(req.raw_source, c.id, req.content_type, req.raw_body, req.now);

  out.kind = WriteOutcome::Kind::created;
  out.complaint_id = c.id;
  out.state = std::move(st);
  through_seq = stored.back().seq;
  remember();
  guard.keep();
  return out;
}

std::string Ledger::unknown_agency(const Event& e) const {
  if (!rules_.agencies || (e.kind != EventKind::disposed && e.kind != EventKind::forwarded))
    return "";
  auto payload = json::parse(e.payload);
  if (!payload || !payload->IsObject()) return "";  // the fold says what is wrong with it
  const std::string agency = json::get_string(*payload, "agency");
  if (agency.empty() || rules_.agencies->count(agency)) return "";
  return "no agency \"" + agency + "\" in this node's agency reference (reference.agencies)";
}

bool Ledger::append_checked(Event& e, Folder& f, std::vector<StoredEvent>& history,
                            bool may_lower_privacy, TimeMs now, WriteOutcome& out,
                            std::int64_t& seq) {
  auto fail = [&](errc code, std::string detail, std::string pointer = "") {
    out.kind = WriteOutcome::Kind::rejected;
    out.error = code;
    out.detail = std::move(detail);
    out.pointer = std::move(pointer);
    return false;
  };
  if (e.kind == EventKind::created)
    return fail(errc::transition_not_allowed, "the complaint already exists", "/kind");
  if (auto why = unknown_agency(e); !why.empty())
    return fail(errc::invalid_value, why, "/payload/agency");
  if (e.kind == EventKind::amended) {
    auto payload = json::parse(e.payload);
    const rapidjson::Value* fields = nullptr;
    if (payload && payload->IsObject() && payload->HasMember("fields"))
      fields = &(*payload)["fields"];
    if (fields && fields->IsObject() && fields->HasMember("privacy") &&
        (*fields)["privacy"].IsString()) {
      auto to = parse_privacy((*fields)["privacy"].GetString());
      const Privacy from = f.state().record.privacy;
      if (to && f.state().exists && *to != from) {
        const bool lower = privacy_rank(*to) < privacy_rank(from);
        if (lower && !may_lower_privacy)
          return fail(errc::forbidden, "only an admin may lower a complaint's privacy",
                      "/payload/fields/privacy");
        store_.audit(now, e.actor.name.empty() ? e.actor.role : e.actor.name,
                     lower ? "privacy.lowered" : "privacy.raised", e.complaint_id,
                     "{\"from\":\"" + std::string(to_string(from)) + "\",\"to\":\"" +
                         std::string(to_string(*to)) + "\"}");
      }
    }
  }
  // The new event folds last: a conflict for it is the answer, not allowed now (its position),
  // or a payload the fold cannot read.
  if (auto c = f.add(e)) {
    if (c->out_of_order) return fail(errc::transition_not_allowed, c->reason, "/kind");
    return fail(errc::invalid_value, c->reason, "/payload");
  }
  if (e.kind == EventKind::linked) {
    auto payload = json::parse(e.payload);  // valid: the fold accepted it
    Ref ref{json::get_string(*payload, "system"), json::get_string(*payload, "id")};
    if (auto owner = store_.find_by_ref(ref.system, ref.id)) {
      if (*owner != e.complaint_id)
        return fail(errc::transition_not_allowed,
                    ref.system + ":" + ref.id + " is already linked to complaint " + *owner,
                    "/payload");
    } else if (auto held = single_ref(e.complaint_id, ref.system)) {
      return fail(errc::transition_not_allowed,
                  "complaint " + e.complaint_id + " already has " + ref.system + ":" + *held +
                      " (one report per complaint at the hub)",
                  "/payload");
    } else {
      store_.add_ref(ref, e.complaint_id, now);
    }
  }
  seq = store_.append(e, now);
  history.push_back({seq, e});
  return true;
}

WriteOutcome Ledger::act(const AppendRequest& req) {
  Event e = req.event;
  const TimeMs now = req.now ? req.now : req.event.at;
  Store::Savepoint guard(store_);
  WriteOutcome out;
  out.complaint_id = e.complaint_id;
  out.event_id = e.event_id;
  auto fail = [&](errc code, std::string detail, std::string pointer = "") {
    out.kind = WriteOutcome::Kind::rejected;
    out.error = code;
    out.detail = std::move(detail);
    out.pointer = std::move(pointer);
    return out;
  };

  if (auto dup = store_.find_event(e.event_id)) {
    if (dup->complaint_id != e.complaint_id || dup->kind != e.kind || dup->payload != e.payload)
      return fail(errc::idempotency_mismatch, "this event_id was already used for another event",
                  "/event_id");
    ComplaintState st = fold(store_.events_of(e.complaint_id), rules_.fold);
    if (req.access && !req.access->sees(st)) return fail(errc::not_found, "no such complaint");
    out.kind = WriteOutcome::Kind::replayed;
    out.state = std::move(st);
    guard.keep();
    return out;
  }

  std::vector<StoredEvent> history = store_.stored_events_of(e.complaint_id);
  if (history.empty()) return fail(errc::not_found, "no such complaint");
  if (req.after_latest)
    for (const auto& prior : history) e.at = std::max(e.at, prior.event.at + 1);
  // The one fold of this write: the history, then the new event.
  Folder f(events_only(history), rules_.fold);
  if (req.access) {
    const Access& who = *req.access;
    // Not seen is not there: a token learns nothing of another agency's complaint.
    if (!who.sees(f.state())) return fail(errc::not_found, "no such complaint");
    if (who.bound() && (e.kind == EventKind::disposed || e.kind == EventKind::forwarded) &&
        !who.holds(f.state()))
      return fail(errc::forbidden,
                  "this token's agencies do not hold the complaint: only the agency holding it "
                  "(or an admin) may dispose or forward it");
    e.actor.agency = who.acting_agency(f.state());
  }
  std::int64_t seq = 0;
  if (!append_checked(e, f, history, req.may_lower_privacy, now, out, seq)) return out;
  put_projection(f.state(), now);
  fan_out(e, seq, f.state(), history, now);
  if (req.access) audit_action(e, req.credential, now);
  out.kind = WriteOutcome::Kind::created;
  out.state = f.take();
  guard.keep();
  return out;
}

// An officer's or admin's action through the API: who (the credential's name and id), what and
// on which complaint, in the same transaction as the event.
void Ledger::audit_action(const Event& e, const std::string& credential, TimeMs now) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("event_id");
  w.String(e.event_id.c_str());
  w.Key("role");
  w.String(e.actor.role.c_str());
  if (!e.actor.agency.empty()) {
    w.Key("agency");
    w.String(e.actor.agency.c_str());
  }
  if (!credential.empty()) {
    w.Key("credential");
    w.String(credential.c_str());
  }
  w.EndObject();
  store_.audit(now, e.actor.name.empty() ? e.actor.role : e.actor.name,
               std::string("complaint.") + std::string(to_string(e.kind)), e.complaint_id,
               std::string(buf.GetString(), buf.GetSize()));
}

WriteOutcome Ledger::act_planned(
    const std::string& complaint_id,
    const std::function<std::vector<Event>(const ComplaintState&)>& plan, TimeMs now) {
  Store::Savepoint guard(store_);
  WriteOutcome out;
  out.complaint_id = complaint_id;
  std::vector<StoredEvent> history = store_.stored_events_of(complaint_id);
  if (history.empty()) {
    out.kind = WriteOutcome::Kind::rejected;
    out.error = errc::not_found;
    out.detail = "no such complaint";
    return out;
  }
  TimeMs latest = 0;
  for (const auto& prior : history) latest = std::max(latest, prior.event.at);
  // The one fold of this write: the history, then each planned event after the latest.
  Folder f(events_only(history), rules_.fold);
  std::vector<Event> planned = plan(f.state());
  if (planned.empty()) {
    out.kind = WriteOutcome::Kind::duplicate;  // nothing new
    out.state = f.take();
    guard.keep();
    return out;
  }
  struct Appended {
    std::int64_t seq;
    Event event;
    ComplaintState after;
  };
  std::vector<Appended> appended;
  for (Event& e : planned) {
    e.complaint_id = complaint_id;
    e.at = std::max(e.at, latest + 1);
    latest = e.at;
    std::int64_t seq = 0;
    if (!append_checked(e, f, history, false, now, out, seq)) return out;
    appended.push_back({seq, e, f.state()});
  }
  put_projection(f.state(), now);
  for (const auto& a : appended) fan_out(a.event, a.seq, a.after, history, now);
  out.kind = WriteOutcome::Kind::created;
  out.state = f.take();
  guard.keep();
  return out;
}

std::optional<std::string> Ledger::refuse_from_child(const std::string& child, Event& e, TimeMs now,
                                                     bool& duplicate) {
  duplicate = false;
  const auto& hops = e.hops;
  if (hops.empty() || hops.back() != child) return "the hop path must end with the sending node";
  if (hops.front() != e.origin) return "the hop path must start at the event's origin";
  for (std::size_t i = 0; i < hops.size(); ++i) {
    if (std::find(hops.begin() + static_cast<std::ptrdiff_t>(i) + 1, hops.end(), hops[i]) !=
        hops.end())
      return "the hop path names " + hops[i] + " twice";
    if (hops[i] == rules_.self)
      return "the hop path names this node: the event has been here already";
    if (!rules_.upstream.empty() && hops[i] == rules_.upstream)
      return "the hop path names " + hops[i] + ", this node's parent: it cannot come from below";
    // Another child of this node is a sibling of the sender, never below it.
    if (i + 1 < hops.size() && rules_.children.find(hops[i]))
      return "the hop path names " + hops[i] + ", another child of this node, below " + child;
  }
  if (e.at > now + rules_.max_clock_skew_ms)
    return "the event is stamped " + std::to_string((e.at - now) / 1000) +
           " s in the future (more than the allowed clock skew of " +
           std::to_string(rules_.max_clock_skew_ms / 1000) +
           " s): correct the sending node's clock";

  if (e.kind == EventKind::created) {
    Complaint record;
    if (auto bad = invalid_record(e, record)) return bad;
    const ChildNode* node = rules_.children.find(child);
    if (node && !node->regions.empty()) {
      bool within =
          std::any_of(node->regions.begin(), node->regions.end(),
                      [&](const std::string& r) { return region_within(record.region, r); });
      if (!within)
        return "the complaint's region " +
               (record.region.empty() ? std::string("(none)") : record.region) + " is not within " +
               child + "'s regions";
    }
    if (auto existing = store_.created_payload(e.complaint_id)) {
      // The same record again (resent under another event id) changes nothing.
      Event copy = e;
      redact_for_hop(copy, record.privacy);
      if (copy.payload == *existing) {
        duplicate = true;
        return std::nullopt;
      }
      return "a complaint with this id exists: a second created event would replace its record";
    }
    return std::nullopt;
  }

  if (!store_.complaint_known(e.complaint_id)) return std::nullopt;  // the caller answers "retry"
  if (!store_.visible_to(e.complaint_id, child))
    return "the complaint was neither created by nor routed to " + child;
  return std::nullopt;
}

void Ledger::audit_refused(TimeMs now, const std::string& from, const Event& e,
                           const std::string& reason) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("event_id");
  w.String(e.event_id.c_str());
  w.Key("kind");
  auto kind = to_string(e.kind);
  w.String(kind.data(), static_cast<rapidjson::SizeType>(kind.size()));
  w.Key("reason");
  w.String(reason.c_str());
  w.EndObject();
  store_.audit(now, from, "fed.rejected", e.complaint_id,
               std::string(buf.GetString(), buf.GetSize()));
}

std::vector<MergeOutcome> Ledger::merge_from_child(const std::string& child,
                                                   std::vector<Event> events, TimeMs now,
                                                   const ChildEvents* checked) {
  std::vector<MergeOutcome> out;
  out.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    MergeOutcome r{e.event_id, MergeResult::accepted, ""};
    if (store_.find_event(e.event_id)) {
      r.outcome = MergeResult::duplicate;
      out.push_back(std::move(r));
      continue;
    }
    const ChildEvents::Verdict* signature =
        checked && i < checked->verdicts.size() && checked->verdicts[i] ? &*checked->verdicts[i]
                                                                        : nullptr;
    if (signature && signature->outcome == MergeResult::retry) {
      r.outcome = MergeResult::retry;
      r.reason = signature->reason;
      out.push_back(std::move(r));
      continue;
    }
    bool duplicate = false;
    std::optional<std::string> why;
    if (signature) why = signature->reason;
    if (!why) why = refuse_from_child(child, e, now, duplicate);
    if (!why && duplicate) {
      r.outcome = MergeResult::duplicate;
    } else if (!why && e.kind != EventKind::created && !store_.complaint_known(e.complaint_id)) {
      // Its `created` is still on the way (a reordered delivery): not an error, send it again.
      r.outcome = MergeResult::retry;
      r.reason = "unknown complaint; send its created event first";
    } else if (!why) {
      // Second line of defence: never keep personal data a child should not have sent. For a
      // new complaint the `created` payload's own flag decides (redact_for_hop reads it).
      auto projected = store_.projection(e.complaint_id);
      redact_for_hop(e, projected ? projected->privacy : Privacy::public_);
      // Validated like the API's own input, in the fold the merge does anyway: a payload the
      // fold cannot read is undone and refused. An event that is only out of order with what
      // this node holds (concurrent actions on two nodes) is kept and shown as a conflict for
      // an admin, as every conflict is.
      Store::Savepoint merge(store_);
      Merged m = store_merged(e, now);
      for (const auto& c : m.state.conflicts)
        if (c.event_id == e.event_id && !c.out_of_order)
          why = "the event cannot be applied: " + c.reason;
      // A signed event keeps its proof, and the manifest it cites, to go on upward.
      if (!why && e.proof && checked) {
        if (auto b = checked->manifests.find(e.proof->batch); b != checked->manifests.end()) {
          store_.put_signed_batch(b->second, now);
          store_.put_event_proof(e.event_id, *e.proof);
        }
      }
      if (!why) merge.keep();
    }
    if (why) {
      r.outcome = MergeResult::rejected;
      r.reason = std::move(*why);
      audit_refused(now, "node:" + child, e, r.reason);  // after the savepoint is undone: it stays
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<std::string> Ledger::single_ref(const std::string& complaint_id,
                                              const std::string& system) {
  // The hub holds one report per complaint; other systems (a connector's app) may be linked
  // more than once.
  if (system != "lapor") return std::nullopt;
  return store_.ref_of(complaint_id, system);
}

Ledger::Merged Ledger::store_merged(Event& e, TimeMs now) {
  e.hops.push_back(rules_.self);
  const std::int64_t seq = store_.append(e, now);
  // The external ids the event carries, unless another complaint here already holds them.
  if (e.kind == EventKind::linked || e.kind == EventKind::created) {
    auto p = json::parse(e.payload);
    if (p && p->IsObject()) {
      std::vector<Ref> refs;
      if (e.kind == EventKind::linked) {
        refs.push_back({json::get_string(*p, "system"), json::get_string(*p, "id")});
      } else if (auto rec = json::complaint_from_value(*p)) {
        refs = rec->refs;
      }
      for (const auto& ref : refs) {
        if (ref.system.empty() || ref.id.empty() || store_.find_by_ref(ref.system, ref.id))
          continue;
        // A second hub report for one complaint: the event is kept (it is the other node's
        // fact), the crosswalk keeps the first, and an admin is told.
        if (auto held = single_ref(e.complaint_id, ref.system)) {
          rapidjson::StringBuffer buf;
          json::Writer w(buf);
          w.StartObject();
          w.Key("event_id");
          w.String(e.event_id.c_str());
          w.Key("has");
          w.String((ref.system + ":" + *held).c_str());
          w.Key("refused");
          w.String((ref.system + ":" + ref.id).c_str());
          w.EndObject();
          store_.audit(now, "node:" + e.origin, "fed.second_ref_refused", e.complaint_id,
                       std::string(buf.GetString(), buf.GetSize()));
          continue;
        }
        store_.add_ref(ref, e.complaint_id, now);
      }
    }
  }
  const auto history = store_.stored_events_of(e.complaint_id);
  Merged m{seq, project(events_only(history), now)};
  fan_out(e, seq, m.state, history, now);
  return m;
}

int Ledger::merge_from_parent(std::vector<Event> events, const std::string& cursor_value,
                              TimeMs now, const std::string& cursor_name) {
  int fresh = 0;
  for (auto& e : events) {
    if (store_.find_event(e.event_id)) continue;
    if (through(e, rules_.self)) continue;  // our own
    if (e.kind == EventKind::created) {
      // The parent decides, but a complaint is created once, and with a valid record: a second
      // record under its id would replace the one this node holds. Kept out, audited for an admin.
      const std::string parent =
          "node:" + (rules_.upstream.empty() ? std::string("parent") : rules_.upstream);
      Complaint record;
      if (auto bad = invalid_record(e, record)) {
        audit_refused(now, parent, e, *bad);
        continue;
      }
      if (auto existing = store_.created_payload(e.complaint_id)) {
        if (*existing != e.payload)
          audit_refused(now, parent, e, "a complaint with this id exists");
        continue;
      }
    }
    store_merged(e, now);
    ++fresh;
  }
  store_.set_cursor(cursor_name, cursor_text(kUplinkCursorFormat, cursor_value), now);
  return fresh;
}

int Ledger::merge_recovered(std::vector<Event> events, TimeMs now) {
  int fresh = 0;
  for (auto& e : events) {
    auto here = std::find(e.hops.begin(), e.hops.end(), rules_.self);
    if (here == e.hops.end()) continue;  // not this node's past
    if (store_.find_event(e.event_id)) continue;
    if (e.kind == EventKind::created && store_.created_payload(e.complaint_id)) continue;
    e.hops.erase(here + 1, e.hops.end());
    e.hops.pop_back();  // store_merged appends this node again
    Merged m = store_merged(e, now);
    // The parent has it: what fan_out queued for it is done already.
    store_.mark_done(Destination::upstream().name(), m.seq);
    ++fresh;
  }
  return fresh;
}

}  // namespace simpul
