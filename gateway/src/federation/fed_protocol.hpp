#pragma once
// The child's reading of its parent's federation answers (dialect `simpul`), apart from any I/O
// so that it can be tested and fuzzed on its own. Both readers take the raw body and refuse
// anything not exactly as the protocol says (docs/federation.md): a refused answer is retried
// by the link, never half-applied.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "simpul/model.hpp"

namespace simpul::fed {

// POST /fed/v1/events: one result per event sent, in order, each naming the event it is for.
struct PushResult {
  MergeResult outcome = MergeResult::accepted;
  std::string reason;  // the parent's reason for a rejection ("" when none)
};
std::optional<std::vector<PushResult>> read_push_results(std::string_view body,
                                                         const std::vector<std::string>& event_ids);

// GET /fed/v1/changes: events (valid against schema/fed_events.schema.json) and the cursor to
// ask from next ("" when the parent has none yet).
struct ChangesPage {
  std::vector<Event> events;
  std::string next;
};
std::optional<ChangesPage> read_changes(std::string_view body);

// GET /fed/v1/recover: a page of the events that came up through the asking child, the position
// to ask after next, whether there may be more, and the feed position the child last
// acknowledged there.
struct RecoveryPage {
  std::vector<Event> events;
  std::int64_t next = 0;
  bool more = false;
  std::int64_t acked = 0;
};
std::optional<RecoveryPage> read_recovery(std::string_view body);

}  // namespace simpul::fed
