#pragma once
// fold(events) -> ComplaintState: the current state of a complaint as a pure function of its
// set of events. Events are applied in (kind==created first, at, event_id) order, after
// removing duplicate event_ids, so any permutation or duplication of the same set folds to an
// identical state. An event that is not a valid transition where it falls is kept in the
// state's `conflicts` (for an admin), never dropped, and changes nothing else.
//
// Thread safety: fold is a pure function; FoldContext is read-only during a fold.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "simpul/model.hpp"

namespace simpul {

class WorkingDayCalendar;

struct SlaRules {
  int verify_days = 3;      // verification and disposition after receipt
  int followup_days = 5;    // first follow-up after disposition
  int autoclose_days = 10;  // auto-closure after a follow-up with no reply
  int warn_days = 1;        // a warning this many working days before `verify` or `followup` is due
  // What a forward (No Wrong Door) does to the `followup` clock: restart it for the new agency
  // (true, the default), or hand the running clock on with its start and pauses (false).
  bool forward_restarts = true;
};

// What a fold needs besides the events. Shares its calendar, so a copy held by a store stays
// valid however the context was made; a node's is made once from its config
// (`fold_context(const Config&)`), and every path that writes (the node, the CLI, import)
// folds with it, so a projection is the same whoever stored it.
struct FoldContext {
  std::shared_ptr<const WorkingDayCalendar> calendar;  // null: no deadlines computed
  SlaRules sla;
};

// The due times of the clocks running now (none while a clock is paused or ended): what
// lists select on (`overdue`) and the projection keeps.
struct Deadlines {
  std::optional<TimeMs> verify_due;
  std::optional<TimeMs> followup_due;
  std::optional<TimeMs> autoclose_due;
  bool operator==(const Deadlines&) const = default;
};

// One SLA clock, derived from the events and the calendar (never stored). `verify` (owner
// "admin": verify and dispose after receipt), `followup` (owner: the agency it was disposed
// to; met by its first follow-up), `autoclose` (owner "system": closes a follow-up the citizen
// did not answer). A clock runs from `started`; while the complaint is on hold (pending) it is
// paused, and each working day the pause spans moves `due` on by one. docs/architecture.md
// ("SLA clocks") has every rule.
enum class ClockState { running, paused, met, breached, stopped };
std::string_view to_string(ClockState s) noexcept;

struct SlaClock {
  std::string name;    // verify | followup | autoclose
  std::string owner;   // "admin", the agency id, or "system"
  std::string origin;  // the node whose event started it: its scheduler acts on the clock
  TimeMs started = 0;
  std::optional<TimeMs> due;      // none without a calendar
  std::optional<TimeMs> warn_at;  // verify and followup: when the warning is due
  TimeMs paused_ms = 0;           // time spent on hold so far
  int paused_days = 0;            // working days the pauses added to `due`
  std::optional<TimeMs> paused_since;
  ClockState state = ClockState::running;
  std::optional<TimeMs> ended_at;           // met or stopped
  EventKind ended_by = EventKind::created;  // the kind of the event that ended it (if ended)
  std::optional<TimeMs> warned_at;          // an sla_warning event named it
  std::optional<TimeMs> breached_at;  // an sla_breached event named it (the state stays breached)
  bool open() const { return !ended_at; }
  bool operator==(const SlaClock&) const = default;
};

struct Conflict {
  std::string event_id;
  EventKind kind = EventKind::created;
  std::string reason;
  // The kind is not allowed where the event falls in the fold (concurrent actions on two nodes),
  // as opposed to an event no position could make valid (a payload the fold cannot read).
  bool out_of_order = false;
  // An admin's `resolved` event on it: the decision is recorded, both events stay in the log and
  // the fold (what the conflicting event would have done is not applied; the admin acts for it).
  std::optional<TimeMs> resolved_at;
  std::string resolved_by;  // the actor's name
  std::string decision;
  bool operator==(const Conflict&) const = default;
};

struct ComplaintState {
  bool exists = false;  // false until a `created` event has been applied
  Complaint record;
  Status status = Status::received;
  bool rerouting = false;  // the agency answered "bukan wewenang"; awaiting a new disposition
  // Every agency the complaint was disposed or forwarded to, in the order it reached them
  // (record.agency is the one holding it now). Agency-bound tokens see what was ever theirs.
  std::vector<std::string> agencies;
  std::vector<std::string> breaches;  // SLA deadlines recorded as missed ("verify", ...)
  std::vector<Conflict> conflicts;
  Deadlines deadlines;
  std::vector<SlaClock>
      clocks;             // every clock started, oldest first; the open one of a name is last
  int responses = 0;      // follow-ups (tindak lanjut) posted
  TimeMs updated_at = 0;  // `at` of the last applied event
  std::optional<TimeMs> closed_at;
  std::size_t event_count = 0;  // distinct events folded, conflicts included
  bool operator==(const ComplaintState&) const = default;
};

ComplaintState fold(std::vector<Event> events, const FoldContext& ctx);

// fold() one event at a time, for a write that appends after everything a complaint holds:
// Folder(history) and then add(e) for each new event that folds after every event so far (an
// action stamped after the latest) gives exactly fold(history + the new events), and folds the
// history once.
class Folder {
 public:
  Folder(std::vector<Event> history, const FoldContext& ctx);
  ~Folder();
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
  // Applies `e`; its conflict, if it makes one (recorded in the state as fold() records it).
  std::optional<Conflict> add(const Event& e);
  // A `created` whose record the caller holds typed (the write that made its payload from that
  // record): applied as add() would, without reading the payload back.
  std::optional<Conflict> add_created(const Event& created, Complaint record);
  const ComplaintState& state() const;
  ComplaintState take();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Why `kind` cannot happen in `from`, or nullopt when it can. Payload-independent.
std::optional<std::string> transition_error(Status from, EventKind kind);

}  // namespace simpul
