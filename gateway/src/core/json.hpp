#pragma once
// JSON text <-> model. RapidJSON stays in private headers; the public model is plain structs.
//
// Writers produce compact canonical JSON (stable member order), which is what events carry as
// payloads and what the store keeps, so equal records serialize to equal bytes.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>
#include <vector>

#include "simpul/errors.hpp"
#include "simpul/fold.hpp"
#include "simpul/model.hpp"

namespace simpul::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// The one reader of untrusted JSON: one value and nothing after it, valid UTF-8, nesting at
// most 64 deep (checked on the bytes, before anything recursive), no NUL in a string or member
// name, no member name twice in one object, no number beyond the 64-bit range. The problem
// names the byte offset or the pointer, never the content.
Result<rapidjson::Document> parse(std::string_view text);
// Parses JSON with // and /* */ comments and trailing commas (config files).
Result<rapidjson::Document> parse_relaxed(std::string_view text);

std::string stringify(const rapidjson::Value& v);

// One JSON Pointer reference token (RFC 6901): "~" -> "~0", "/" -> "~1".
std::string pointer_token(std::string_view name);

// Member access that tolerates absence; the caller has validated types against a schema.
std::string get_string(const rapidjson::Value& obj, const char* key, std::string fallback = {});
std::optional<std::string> get_optional_string(const rapidjson::Value& obj, const char* key);

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

// The API's view of a complaint: record, status, deadlines, conflicts, and optionally events.
std::string state_to_json(const ComplaintState& s, bool include_pii,
                          const std::vector<Event>* events = nullptr);

}  // namespace simpul::json
