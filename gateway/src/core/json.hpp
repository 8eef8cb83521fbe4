#pragma once
// JSON text <-> model (the generic reader and writer are in simpul/json.hpp).
//
// Writers produce compact canonical JSON (stable member order), which is what events carry as
// payloads and what the store keeps, so equal records serialize to equal bytes.

#include <string>
#include <string_view>
#include <vector>

#include "simpul/errors.hpp"
#include "simpul/fold.hpp"
#include "simpul/json.hpp"
#include "simpul/model.hpp"

namespace simpul::json {

void write_complaint(Writer& w, const Complaint& c, bool include_reporter);
std::string complaint_to_json(const Complaint& c, bool include_reporter = true);
// Reads a normalized, schema-valid record. Unknown enum spellings are a schema_violation.
Result<Complaint> complaint_from_value(const rapidjson::Value& v);

// include_pii=false removes the reporter wherever it sits (core/redact.hpp).
void write_event(Writer& w, const Event& e, bool include_pii);
std::string event_to_json(const Event& e, bool include_pii = true);
Result<Event> event_from_value(const rapidjson::Value& v);
std::string actor_to_json(const Actor& a);
Actor actor_from_json(std::string_view text);
std::string hops_to_json(const std::vector<std::string>& hops);
std::vector<std::string> hops_from_json(std::string_view text);

// The API's view of a complaint: record, status, deadlines, clocks, conflicts, its sync state
// when given (EventLog::sync_state), and optionally events.
std::string state_to_json(const ComplaintState& s, bool include_pii,
                          const std::vector<Event>* events = nullptr, std::string_view sync = {});

}  // namespace simpul::json
