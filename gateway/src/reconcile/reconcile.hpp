#pragma once
// Reconciliation: does the tier above hold what this region holds, and does this region hold
// what the tier above has for it? (docs/operations.md, "Reconciliation"; `simpul reconcile`, and
// the node's own runs every reconcile.interval_s.)
//
//   with hub (dialect lapor): the hub's list of this client's reports (paged, paced under
//     upstream.lapor.reconcile_requests_per_minute) against the complaints received here in the
//     window. Ours the hub lacks: never linked (the create went nowhere), dead-lettered (the hub
//     refused it), lost (linked, but the hub does not show the report), unlinked (the hub has it
//     under our id, the answer never reached us). Theirs we lack: reports entered on the hub for
//     this region. Mismatches: the hub's status further on than ours, or another agency.
//   with parent (dialect simpul): by event. The events stored here in the window that go up
//     against what the parent holds from this node (/fed/v1/reconcile side=from_you), and what the
//     parent's feed owes this node (side=for_you) against what is here.
//
// --repair: ours re-queued (a new outbox row; a linked event when the hub has the report under
// our id), theirs pulled (a hub report with its history, marked as entered upstream: origin the
// hub, channel lapor; a parent's events put on this node's feed again), a hub report further on
// re-read. Every repair is audited ("reconcile.*"). The run is read-only without it.
// Blocking: for the CLI, and for the node's own thread (never its io thread).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "simpul/time.hpp"

namespace simpul {
class Ledger;
class Store;
}  // namespace simpul

namespace simpul::reconcile {

enum class With { hub, parent };
std::string_view to_string(With w) noexcept;
std::optional<With> parse_with(std::string_view s) noexcept;
// What the node's config reconciles with: hub for dialect lapor, parent for simpul; nullopt
// without an upstream.
std::optional<With> configured(const Config& cfg) noexcept;

struct Finding {
  // missing_there: ours the other side lacks. missing_here: theirs we lack. status, agency: both
  // have it and disagree.
  std::string kind;
  // missing_there: never_linked | dead_lettered | lost | unlinked. missing_here: entered_there
  // (a hub report) | not_delivered (a parent's event). status: behind | conflict (an admin must
  // decide first). agency: differs.
  std::string reason;
  std::string complaint_id, ref, event_id;
  std::string here, there;  // the two sides' status or agency
  std::string repair;       // with --repair: what was done ("requeued", ...) or "failed: why"
};

struct Options {
  With with = With::hub;
  TimeMs from = 0, to = 0;
  bool repair = false;
  std::function<void(const std::string&)> progress;  // a line now and then (may be empty)
  std::function<bool()> cancelled;  // asked before each request: true ends the run (may be empty)
};

struct Report {
  With with = With::hub;
  TimeMs from = 0, to = 0, at = 0;
  std::int64_t ours = 0;       // what was compared from here
  std::int64_t theirs = 0;     // ... and from the other side
  std::int64_t in_flight = 0;  // ours still queued to go up: not drift
  std::int64_t requests = 0;   // made to the other side
  std::vector<Finding> findings;
  std::string error;  // the run ended early: the other side did not answer (what it found stays)
  std::int64_t count(std::string_view kind) const;
  std::int64_t mismatched() const { return count("status") + count("agency"); }
  std::int64_t drift() const { return static_cast<std::int64_t>(findings.size()); }
};

// Where repairs are written: the CLI's own transaction, or the node's writer. Throws when the
// write failed.
using Write = std::function<void(std::function<void(Ledger&)>)>;

// One run. Throws ConfigError for a node with no upstream, or one of another dialect.
Report run(const Config& cfg, Store& reader, const Write& write, const Options& o,
           const std::function<TimeMs()>& clock);

std::string as_text(const Report& r);
std::string as_csv(const Report& r);
std::string as_json(const Report& r);

// The last run with each side, kept in the store (cursor reconcile.<with>) for `simpul status`,
// /metrics and /readyz. `drift_since`: when runs first found drift without a run finding none
// since (0: the last run found none).
struct Summary {
  TimeMs at = 0, from = 0, to = 0, drift_since = 0;
  std::int64_t missing_there = 0, missing_here = 0, mismatched = 0, in_flight = 0, repaired = 0;
  std::int64_t requests = 0;
  std::string error;
  std::int64_t drift() const { return missing_there + missing_here + mismatched; }
};
std::optional<Summary> last_summary(Store& reader, With with);
// Records `r` (inside a write), carrying drift_since over from the previous summary.
void keep_summary(Store& store, const Report& r);
std::string cursor_name(With with);

}  // namespace simpul::reconcile
