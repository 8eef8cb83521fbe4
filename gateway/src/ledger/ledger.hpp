#pragma once
// The ledger: every write decision, above the store. A complaint enters here (ingest), an
// officer acts here (act), events from a child and from the parent are merged here, and here
// each new event's destinations are decided (fan-out: the parent, the children that may see
// the complaint, the outbound connectors of the apps it came from). What the store keeps is
// the ledger's decision; the store only keeps it.
//
// Each write folds its complaint once and stores the projection from that fold. Outcomes are
// the domain's (created, replayed, duplicate, retry, rejected with a reason) with an errc; only
// the HTTP layer turns them into statuses and bodies.
//
// A Ledger works on the writing connection inside the caller's transaction (the group commit,
// or begin/commit around it); every write that can answer an error holds a Savepoint, so an
// error answer stores nothing.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/access.hpp"
#include "core/directory.hpp"
#include "simpul/cursor.hpp"
#include "simpul/errors.hpp"
#include "simpul/fold.hpp"
#include "simpul/model.hpp"
#include "store/store.hpp"

namespace simpul {

// Every status change or answer on a complaint that carries a ref of `system` is queued for the
// connector, except what a connector of the same app wrote (no echo).
struct OutboundRoute {
  std::string connector;                // its id: destination connector:<id>
  std::string system;                   // the app's ref system
  std::vector<std::string> own_actors;  // actor names of that app's connectors ("connector:<id>")
};

// What the ledger decides by: the node's fold context, who it is and who is around it.
struct LedgerRules {
  FoldContext fold;
  std::string self;      // this node's id
  std::string upstream;  // the parent's node id ("" at the top)
  Directory children;
  // How far in the future a child's event may be stamped before it is refused.
  TimeMs max_clock_skew_ms = kDefaultMaxClockSkewMs;
  std::vector<OutboundRoute> outbound;
  // The node's agency reference (`reference.agencies`), when it has one: a disposition or a
  // forward written here must name one of them (a misspelled agency would leave the complaint
  // with nobody). Events merged from other nodes are theirs to decide.
  std::optional<std::set<std::string>> agencies;
  static constexpr TimeMs kDefaultMaxClockSkewMs = 5 * 60 * 1000;
};

// One complaint entering the node.
struct IngestRequest {
  Complaint complaint;  // id minted when empty
  std::string raw_body;
  std::string raw_source = "api";  // "api" or a connector id
  std::string content_type = "application/json";
  std::string idem_scope;  // who the key belongs to (token id)
  std::string idem_key;    // "" = no Idempotency-Key
  std::string origin;      // this node's id
  Actor actor;
  TimeMs now = 0;
  // Events after `created` (a migrated record's past), stored with it and folded once. Each is
  // moved to just after the one before when its time is earlier. If the state machine refuses
  // one, the ingest is rejected and nothing of it is stored.
  std::vector<Event> history;
};

// What became of a write.
struct WriteOutcome {
  enum class Kind {
    created,    // stored now
    replayed,   // the same request again (an Idempotency-Key, a known event id): the first answer
    duplicate,  // the same complaint again (a known ref, the same record): nothing new stored
    rejected,   // refused: `error` says why, nothing of it stored
  };
  Kind kind = Kind::created;
  errc error = errc::ok;  // ok unless rejected
  std::string complaint_id;
  std::string event_id;  // act: the event's id
  // The complaint as the write left it (replayed answers carry `answer` instead).
  std::optional<ComplaintState> state;
  std::string answer;  // a replayed Idempotency-Key: the JSON first answered
  std::string detail;  // rejected: one sentence
  std::string pointer;
  bool stored() const { return kind == Kind::created; }
};

struct AppendRequest {
  Event event;  // event_id minted by the caller
  // This node's clock when the write was asked for: outbox rows are due then, never at the
  // event's own time (which may be moved after a future-dated event from another node).
  // 0 = the event's time.
  TimeMs now = 0;
  // An action taken on this node now: its time is moved to just after the complaint's latest
  // event, so it folds after everything the actor saw even when the clock has not moved on.
  bool after_latest = true;
  // The credential is an admin's: only then may an `amended` lower the complaint's privacy
  // (rahasia -> anonim -> public), and it is audited. Other nodes never may (the fold refuses).
  bool may_lower_privacy = false;
  // An officer's credential (the API): the complaint must be one it sees (else not_found, as
  // for a complaint that is not there), a bound credential disposes or forwards only what its
  // agencies hold now (else forbidden), and the actor's agency is set from it. Unset for the
  // node's own writers (connectors, the parent's link, import).
  std::optional<Access> access;
  // The id of the credential that asked (with `access`): in the action's audit entry.
  std::string credential;
};

// What the parent decided of a push's signatures before merging it, on the io thread
// (federation/signatures.hpp).
struct ChildEvents {
  struct Verdict {
    MergeResult outcome = MergeResult::rejected;  // rejected or retry
    std::string reason;
  };
  std::vector<std::optional<Verdict>> verdicts;  // per event; nullopt: go on
  std::map<std::string, SignedBatch> manifests;  // verified: kept with the events citing them
};

// One event of a batch a child node sent (POST /fed/v1/events), and what became of it.
struct MergeOutcome {
  std::string event_id;
  MergeResult outcome = MergeResult::accepted;
  std::string reason;  // for rejected
};

class Ledger {
 public:
  Ledger(Store& store, LedgerRules rules);

  Store& store() { return store_; }
  const LedgerRules& rules() const { return rules_; }
  const FoldContext& fold_context() const { return rules_.fold; }
  // Before the first write only (the node learns its connectors' routes after building them).
  // A new calendar or agency reference (SIGHUP): set by a job on the writer thread.
  void set_fold_context(FoldContext fold) { rules_.fold = std::move(fold); }
  void set_agencies(std::optional<std::set<std::string>> agencies) {
    rules_.agencies = std::move(agencies);
  }
  void set_outbound_routes(std::vector<OutboundRoute> routes) {
    rules_.outbound = std::move(routes);
  }

  WriteOutcome ingest(const IngestRequest& req);
  WriteOutcome act(const AppendRequest& req);
  // The events `plan` makes from a known complaint's state, appended in order, each stamped
  // after the latest (an update from a connector's source: the fields that changed, the status
  // events still missing). The complaint is folded once for the whole write; the first event
  // refused rejects them all, nothing stored. No events: `duplicate`, nothing written.
  WriteOutcome act_planned(const std::string& complaint_id,
                           const std::function<std::vector<Event>(const ComplaintState&)>& plan,
                           TimeMs now);
  // A batch a child node sent. Each event is accepted (stored; this node appended to its hops),
  // duplicate (already here) or rejected with a reason (nothing stored for it, the rejection
  // audited). What the parent can know is checked: the hops start at the origin and end with
  // the sender, name no node twice, never this node, its parent or another of its children
  // before the sender; a `created` is a schema-valid record of a new complaint (or the same
  // record again: duplicate) whose id is the event's and whose region lies within the sender's
  // regions; other events are for complaints visible to the sender, with payloads valid for
  // their kind; nothing is stamped more than the clock skew in the future.
  // `checked`: the signature verdicts (null: none asked); a refused event is audited like any
  // other, and an accepted signed event is kept with its proof and manifest.
  std::vector<MergeOutcome> merge_from_child(const std::string& child, std::vector<Event> events,
                                             TimeMs now, const ChildEvents* checked = nullptr);
  // Events from the parent's changes feed (trusted: the parent decides) and the feed's cursor
  // (`cursor_name`), in the caller's transaction. Returns how many events were new. The cursor
  // is stored as format kUplinkCursorFormat: the peer's position text, as the peer gave it.
  static constexpr int kUplinkCursorFormat = 1;
  int merge_from_parent(std::vector<Event> events, const std::string& cursor, TimeMs now,
                        const std::string& cursor_name = "upstream.changes");
  // On a child restored from a backup: its own past as the parent sent it back. Each event is
  // stored with its hop path as it was here (up to this node), its refs adopted, never queued up
  // again (the parent has it). Events that never passed through this node are ignored. Returns
  // how many were new.
  int merge_recovered(std::vector<Event> events, TimeMs now);

  // The SLA scheduler's write for one complaint at `now` (ledger/sla.hpp): the warnings,
  // breaches and the autoclose due, appended and sent on like any event. Nothing due:
  // `duplicate`, and the complaint's scheduler time is brought up to date.
  // `written` (when given) receives the events appended.
  WriteOutcome sla_tick(const std::string& complaint_id, TimeMs now,
                        std::vector<Event>* written = nullptr);
  static constexpr TimeMs kSlaRetryMs = 3'600'000;  // a refused SLA write is tried again after
  // Folds a stored complaint again with the rules in force (a new calendar) and stores its
  // projection; what changed in its running clocks' due times is returned.
  struct DueChange {
    std::string complaint_id, clock;
    std::optional<TimeMs> before, after;
  };
  std::vector<DueChange> reproject(const std::string& complaint_id, TimeMs now);

 private:
  struct Merged {
    std::int64_t seq = 0;
    ComplaintState state;
  };
  // Folds a complaint's events and stores the projection: the one fold of a write.
  ComplaintState project(std::vector<Event> events, TimeMs now);
  // Stores the projection of `st`, with this node's SLA scheduler time for it.
  void put_projection(const ComplaintState& st, TimeMs now);
  // Queues the new event (at `seq`) for every destination it goes to. `history` is the
  // complaint's events as stored, the new one included (the write has read them already).
  // One new event of a write on a known complaint, after what `f` has folded: checked (not a
  // second created, who may lower privacy, the fold, a linked ref held elsewhere) and stored.
  // A refusal fills `out` and returns false.
  // Why a disposition or forward written here names no agency of the reference ("" = it does).
  std::string unknown_agency(const Event& e) const;
  bool append_checked(Event& e, Folder& f, std::vector<StoredEvent>& history,
                      bool may_lower_privacy, TimeMs now, WriteOutcome& out, std::int64_t& seq);
  void fan_out(const Event& e, std::int64_t seq, const ComplaintState& st,
               const std::vector<StoredEvent>& history, TimeMs now);
  Merged store_merged(Event& e, TimeMs now);
  // The tracking id `complaint_id` already has in `system`, for a system that gives a complaint
  // one id only (the hub: "lapor"); nullopt otherwise.
  std::optional<std::string> single_ref(const std::string& complaint_id, const std::string& system);
  std::optional<std::string> refuse_from_child(const std::string& child, Event& e, TimeMs now,
                                               bool& duplicate);
  void audit_action(const Event& e, const std::string& credential, TimeMs now);
  void audit_refused(TimeMs now, const std::string& from, const Event& e,
                     const std::string& reason);

  Store& store_;
  LedgerRules rules_;
};

// The JSON the API answers for a write (no reporter: write answers never carry one).
std::string answer_json(const WriteOutcome& out);

}  // namespace simpul
