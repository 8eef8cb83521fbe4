#pragma once
// A declarative mapping from a legacy app's documents to canonical complaints, and from
// canonical statuses back to the app's (config/mappings/*.json, schema/mapping.schema.json).
//
//   fields    canonical field ("title", "reporter.phone", "location.lat", ...) -> a rule: a JSON
//             Pointer `from`, or `concat` of pointers and literal text, or a literal `value`,
//             then `transform` steps: trim, upper, lower, digits, phone (+62 form),
//             {"date": {"format": "%d/%m/%Y %H:%M", "zone": "WIB"}}, {"lookup": "<table>"},
//             {"map": {"raw": "canonical"}}.
//   defaults  canonical field -> literal, used when the rule yields nothing.
//   lookups   table name -> {source value -> canonical value} (OPD names -> agency codes, ...).
//   status    `from` pointer, `source_values` (every status the app can produce), `values`
//             (raw status -> the canonical events that bring a new complaint there, in order,
//             checked against the state machine), `answer`/`at` pointers for event payloads/times.
//   outbound  canonical status -> the app's status value, for connectors that write back.
//
// Applying a mapping gives the canonical complaint as a JSON document, which then goes through the
// same intake as the API (normalize + schema), so a mapping cannot produce what the API would
// refuse. Immutable after load; apply() is const and thread-safe.

#include <rapidjson/document.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simpul/errors.hpp"
#include "simpul/model.hpp"

namespace simpul {

// One event a mapped record implies (its history up to the app's current status).
struct PlannedEvent {
  EventKind kind = EventKind::created;
  std::string payload = "{}";  // JSON object text
  std::optional<TimeMs> at;    // the source's own time for it, when the mapping says where
};

struct MappedRecord {
  std::string source_id;  // the app's id for the complaint: ref {system, source_id}
  // The canonical complaint (refs included), not yet normalized; prepare_record takes it.
  rapidjson::Document canonical;
  std::string raw_status;  // "" when the mapping has no status section or the source none
  std::vector<PlannedEvent> history;  // from `received` to the mapped status, in order
};

class Mapping {
 public:
  // Reads, validates and checks a mapping file. Throws ConfigError(file, pointer, reason) for
  // the first problem: schema, unknown canonical field, bad pointer, unknown transform or lookup
  // table, a source status without a mapping, an event path the state machine refuses.
  static Mapping load(const std::string& path);
  static Mapping parse(std::string_view text, const std::string& file);

  const std::string& file() const { return file_; }
  int version() const { return version_; }
  const std::string& system() const { return system_; }  // ref system, e.g. "apekesah"

  // The app's id for a source document ("" when it has none), even when the rest cannot be mapped.
  std::string id_of(const rapidjson::Value& source) const;

  // Maps one source document. A problem names the source pointer and the rule that failed.
  Result<MappedRecord> apply(const rapidjson::Value& source) const;

  // The events that move a complaint now in `current` to where `raw_status` puts a new one:
  // the remainder of that status's path after the step that reached `current`. Empty when the
  // complaint is already there, beyond it, or the status is unknown (upstream decisions win).
  std::vector<PlannedEvent> advance(Status current, const std::string& raw_status,
                                    const rapidjson::Value& source) const;

  // Every hub topic id this mapping can give `category.topic_id`, with the JSON Pointer in the
  // mapping file that says it (lookup table entries, map values, literals, the default); for
  // `simpul check` against the hub's topic tree. Ids read straight from the source are not listed.
  std::vector<std::pair<std::string, std::string>> topic_ids() const;

  // The app's status value for a canonical status ("" when the mapping has none).
  std::string outbound_status(Status s) const;

  struct Transform {
    std::string op;  // trim upper lower digits phone date lookup map
    std::string format, table;
    int zone_minutes = 0;
    std::map<std::string, std::string> map;
  };
  struct Piece {
    bool pointer = false;
    std::string text;  // the pointer, or literal text
  };
  struct Rule {
    std::vector<Piece> pieces;
    std::vector<Transform> transforms;
  };

 private:
  Result<std::optional<std::string>> eval(const Rule& rule, const rapidjson::Value& source,
                                          const std::string& field) const;
  std::vector<PlannedEvent> plan(const std::vector<EventKind>& kinds, std::size_t from,
                                 const rapidjson::Value& source, const std::string& agency) const;

  std::string file_;
  int version_ = 0;
  std::string system_;
  std::string id_pointer_;
  std::vector<std::pair<std::string, Rule>> fields_;  // in file order
  std::map<std::string, std::string> defaults_;
  std::map<std::string, std::map<std::string, std::string>> lookups_;
  std::string status_pointer_;
  std::optional<Rule> answer_, at_;  // payload text of `responded`; time of the status events
  std::map<std::string, std::vector<EventKind>> status_values_;
  std::map<std::string, std::string> outbound_;
};

}  // namespace simpul
