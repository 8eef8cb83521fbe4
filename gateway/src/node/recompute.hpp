#pragma once
// Clocks are derived from the events and the calendar in force, never stored: when the calendar
// or the SLA rules change, the projection (what lists, `overdue` and the scheduler select on)
// is folded again for every complaint, before the node takes anything in. Each running clock
// whose due time moved is logged (`sla.due_moved`, old -> new) and the pass is audited.

#include <functional>
#include <string>

#include "core/config.hpp"
#include "ledger/commit_queue.hpp"
#include "store/store.hpp"

namespace simpul {

// What the projection of a complaint depends on besides its events: the calendar's days and
// zone, the SLA rules, the node (clock ownership) and the projection's own version.
std::string projection_fingerprint(const Config& cfg, const FoldContext& fold);

struct RecomputeResult {
  bool ran = false;  // the fingerprint had changed
  std::int64_t complaints = 0;
  std::int64_t moved = 0;  // due times that changed
};

// Refolds every complaint through `writer` when the stored fingerprint differs, then stores
// the new one. Blocks until done; call before the node starts.
RecomputeResult recompute_if_changed(const Config& cfg, Store& reader, CommitQueue& writer,
                                     TimeMs now);

}  // namespace simpul
