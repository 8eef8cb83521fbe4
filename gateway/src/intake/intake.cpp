#include "intake/intake.hpp"

#include "core/json.hpp"
#include "core/uuid.hpp"
#include "simpul/fold.hpp"

namespace simpul {

std::string_view to_string(IntakeResult r) noexcept {
  switch (r) {
    case IntakeResult::created:
      return "created";
    case IntakeResult::updated:
      return "updated";
    case IntakeResult::unchanged:
      return "unchanged";
    case IntakeResult::rejected:
      return "rejected";
  }
  return "rejected";
}
namespace {

// Canonical members a source update may change through `amended`. Identity (id, refs), the
// time Simpul received it and the agency (changed by disposition events, decided upstream)
// are not the source's to rewrite.
bool amendable(std::string_view member) {
  return member != "id" && member != "refs" && member != "received_at" && member != "agency";
}

// {"fields": {...}} with the members of `fresh` that differ from `current`; "" when none.
// Members the source left out are not blanked: an omission is not a deletion.
std::string amended_payload(const Complaint& current, const Complaint& fresh) {
  auto cur = json::parse(json::complaint_to_json(current, true));
  auto now = json::parse(json::complaint_to_json(fresh, true));
  rapidjson::Document out(rapidjson::kObjectType);
  rapidjson::Value fields(rapidjson::kObjectType);
  for (const auto& m : now->GetObject()) {
    std::string_view name(m.name.GetString(), m.name.GetStringLength());
    if (!amendable(name)) continue;
    auto it = cur->FindMember(m.name);
    if (it != cur->MemberEnd() && it->value == m.value) continue;
    fields.AddMember(rapidjson::Value(m.name, out.GetAllocator()),
                     rapidjson::Value(m.value, out.GetAllocator()), out.GetAllocator());
  }
  if (fields.ObjectEmpty()) return "";
  out.AddMember("fields", fields, out.GetAllocator());
  return json::stringify(out);
}

Event event_for(const std::string& complaint_id, EventKind kind, std::string payload, TimeMs at,
                const std::string& node_id, const std::string& source) {
  Event e;
  e.event_id = make_uuid_v7(at);
  e.complaint_id = complaint_id;
  e.origin = node_id;
  e.at = at;
  e.actor = Actor{"system", "", "connector:" + source};
  e.kind = kind;
  e.payload = std::move(payload);
  e.hops = {node_id};
  return e;
}

}  // namespace

Result<PreparedRecord> prepare_record(const Mapping& mapping, SourceRecord record,
                                      const NormalizeOptions& opt) {
  auto mapped = mapping.apply(record.value());
  if (!mapped) return mapped.error();
  // The canonical document is read here and not kept (its memory would stay with the record).
  rapidjson::Document canonical = std::move(mapped->canonical);
  auto complaint = read_complaint(canonical, opt);
  if (!complaint) return complaint.error();
  PreparedRecord out;
  out.source = std::move(record);
  out.mapped = std::move(*mapped);
  out.complaint = std::move(*complaint);
  return out;
}

Result<PreparedRecord> prepare_record(const Mapping& mapping, std::string_view record,
                                      const NormalizeOptions& opt) {
  auto doc = json::parse(record);
  if (!doc) return doc.error();
  return prepare_record(mapping, SourceRecord::of(std::move(*doc), std::string(record)), opt);
}

IntakeOutcome store_record(Ledger& ledger, const Mapping& mapping, const PreparedRecord& rec,
                           const std::string& source, const std::string& node_id, TimeMs now) {
  IntakeOutcome out;
  out.source_id = rec.mapped.source_id;
  Store& store = ledger.store();
  Store::Savepoint guard(store);  // a refused record leaves nothing
  auto refuse = [&](Problem p) {
    out.outcome = IntakeResult::rejected;
    out.complaint_id.clear();
    out.problem = std::move(p);
    return out;
  };
  auto existing = store.find_by_ref(mapping.system(), rec.mapped.source_id);
  if (!existing) {
    IngestRequest req;
    req.complaint = rec.complaint;
    req.raw_body = rec.source.text();
    req.raw_source = source;
    req.origin = node_id;
    req.actor = Actor{"system", "", "connector:" + source};
    req.now = now;
    // The history goes in with `created`: one fold and one projection for the whole record.
    for (const auto& planned : rec.mapped.history)
      req.history.push_back(
          event_for("", planned.kind, planned.payload, planned.at.value_or(now), node_id, source));
    auto r = ledger.ingest(req);
    if (r.error != errc::ok)
      return refuse(make_problem(r.error, r.pointer, "state-machine", r.detail));
    out.complaint_id = r.complaint_id;
    out.outcome = IntakeResult::created;
    guard.keep();
    return out;
  }

  out.complaint_id = *existing;
  // One fold for the whole update: the ledger folds the stored history, this plan reads that
  // state, and each planned event folds after it.
  auto plan = [&](const ComplaintState& st) {
    std::vector<Event> events;
    std::string amended = amended_payload(st.record, rec.complaint);
    if (!amended.empty()) {
      events.push_back(event_for(*existing, EventKind::amended, amended, now, node_id, source));
      out.amended = amended;
    }
    if (!rec.mapped.raw_status.empty())
      for (const auto& planned :
           mapping.advance(st.status, rec.mapped.raw_status, rec.source.value())) {
        events.push_back(event_for(*existing, planned.kind, planned.payload,
                                   planned.at.value_or(now), node_id, source));
        out.advanced.push_back(planned.kind);
      }
    return events;
  };
  auto r = ledger.act_planned(*existing, plan, now);
  if (r.error != errc::ok) {
    out.amended.clear();
    out.advanced.clear();
    return refuse(make_problem(r.error, r.pointer, "state-machine", r.detail));
  }
  const bool changed = r.kind == WriteOutcome::Kind::created;
  if (changed)
    store.keep_raw_payload(source, *existing, "application/json", rec.source.text(), now);
  out.outcome = changed ? IntakeResult::updated : IntakeResult::unchanged;
  guard.keep();
  return out;
}

IntakeOutcome withdraw_record(Ledger& ledger, const std::string& complaint_id,
                              const std::string& source, const std::string& node_id, TimeMs now) {
  IntakeOutcome out;
  out.complaint_id = complaint_id;
  auto plan = [&](const ComplaintState& st) {
    std::vector<Event> events;
    if (!transition_error(st.status, EventKind::cancelled))
      events.push_back(
          event_for(complaint_id, EventKind::cancelled,
                    R"j({"note":"Dihapus di aplikasi sumber (deleted at the source)"})j", now,
                    node_id, source));
    return events;
  };
  auto r = ledger.act_planned(complaint_id, plan, now);
  if (r.error != errc::ok) {
    out.outcome = IntakeResult::rejected;
    out.problem = make_problem(r.error, r.pointer, "state-machine", r.detail);
    return out;
  }
  out.outcome =
      r.kind == WriteOutcome::Kind::created ? IntakeResult::updated : IntakeResult::unchanged;
  if (out.outcome == IntakeResult::updated) out.advanced.push_back(EventKind::cancelled);
  return out;
}

}  // namespace simpul
