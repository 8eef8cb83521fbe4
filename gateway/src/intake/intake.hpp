#pragma once
// From a connector's source record to stored events. Two halves:
//   prepare_record  (any thread, no store): map the record and run the same intake as the API
//                   (normalize + schema), so a record is refused before anything is written;
//   store_record    (writer thread, inside the caller's transaction): a record whose ref is new
//                   becomes a complaint plus the events of its history up to the app's status,
//                   with the source's own times; a known record yields `amended` for fields that
//                   really changed and the status events still missing. The raw record is kept.
// Either half's problem leaves nothing behind: store_record works inside its own savepoint.

#include <string>
#include <string_view>

#include "core/normalize.hpp"
#include "intake/mapping.hpp"
#include "ledger/ledger.hpp"
#include "simpul/connector.hpp"

namespace simpul {

struct PreparedRecord {
  SourceRecord source;  // as the connector read it: its text is kept in raw_payloads
  MappedRecord mapped;
  Complaint complaint;  // normalized
};

// The record is not parsed again: the mapping reads the connector's value, and the canonical
// document it builds is normalized in place.
Result<PreparedRecord> prepare_record(const Mapping& mapping, SourceRecord record,
                                      const NormalizeOptions& opt);
// From a record's text (tests, fuzzing): parsed, then as above.
Result<PreparedRecord> prepare_record(const Mapping& mapping, std::string_view record,
                                      const NormalizeOptions& opt);

// What became of one source record (webhook answers and metrics name it with to_string).
enum class IntakeResult { created, updated, unchanged, rejected };
std::string_view to_string(IntakeResult r) noexcept;

struct IntakeOutcome {
  std::string source_id;
  std::string complaint_id;
  IntakeResult outcome = IntakeResult::rejected;
  Problem problem;      // when rejected
  std::string amended;  // the `amended` payload written for a known record ("" when none)
  std::vector<EventKind> advanced;  // status events added to a known record
};

// `source` is the connector id (raw_payloads.source, actor name "connector:<id>").
IntakeOutcome store_record(Ledger& ledger, const Mapping& mapping, const PreparedRecord& rec,
                           const std::string& source, const std::string& node_id, TimeMs now);

// A row the source no longer has (a reconciliation found it deleted there): the complaint is
// cancelled by its source ("cancelled", with a note saying so) when it is still open; a closed,
// archived or cancelled one is left as it is. Outcome `updated` or `unchanged`.
IntakeOutcome withdraw_record(Ledger& ledger, const std::string& complaint_id,
                              const std::string& source, const std::string& node_id, TimeMs now);

}  // namespace simpul
