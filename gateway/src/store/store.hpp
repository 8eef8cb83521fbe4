#pragma once
// The store behind interfaces: what Simpul keeps, by what it holds, with no database in sight.
// The SQLite implementation is store/sqlite/ (SqliteStore); a second one (PostgreSQL) implements
// these classes and no caller changes. Nothing here decides anything: which events go where,
// which child may see a complaint, what is refused and what a fold makes of it is the ledger's
// (ledger/ledger.hpp). Callers use the values below and StoreError; no SQL, no handles.
//
// A Store is one connection: not thread-safe, one per thread (the CommitQueue owns the writing
// one; readers open their own). Writes run inside a transaction the caller opened (begin and
// commit, or the group commit); a Savepoint undoes one write's rows unless it is kept.
//
// Failures are StoreError exceptions carrying an errc (storage_busy, storage_full,
// storage_failure); the CommitQueue and the HTTP handlers turn them into answers.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/access.hpp"
#include "core/audit_chain.hpp"
#include "core/provenance.hpp"
#include "simpul/errors.hpp"
#include "simpul/fold.hpp"
#include "simpul/model.hpp"

namespace simpul {

class StoreError : public std::runtime_error {
 public:
  StoreError(errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  errc code() const { return code_; }

 private:
  errc code_;
};

struct StoredToken {
  std::string id;
  std::string name;
  std::string scopes;  // comma-separated: ingest,read,act,pii,admin
  std::string node_id;
  TimeMs created_at = 0;
  std::optional<TimeMs> revoked_at;
  std::string agencies;              // comma-separated; "" = not bound to agencies
  std::optional<TimeMs> expires_at;  // not accepted from then on (a rotated token's grace end)
  bool officer = false;              // one officer's own credential (bound to an agency)
  // Whether it is accepted at `now`: not revoked, not expired.
  bool usable(TimeMs now) const { return !revoked_at && (!expires_at || now < *expires_at); }
};

// What a new token is: who it is for, what it may do, until when.
struct TokenSpec {
  std::string name;
  std::string scopes;
  std::string node_id;
  std::string agencies;
  std::optional<TimeMs> expires_at;
  bool officer = false;
};

// Where an event goes from here: the parent (or the hub), a child node's feed, or an outbound
// connector's app. The outbox names them "upstream", "child:<id>", "connector:<id>".
struct Destination {
  enum class Kind { upstream, child, connector };
  Kind kind = Kind::upstream;
  std::string id;  // the child's or connector's id ("" for upstream)

  static Destination upstream() { return {Kind::upstream, ""}; }
  static Destination child(std::string id) { return {Kind::child, std::move(id)}; }
  static Destination connector(std::string id) { return {Kind::connector, std::move(id)}; }
  std::string name() const;  // the outbox's name for it
  static std::optional<Destination> parse(const std::string& name);
  bool operator==(const Destination&) const = default;
};

// An event queued for a destination (an outbox row): the relay's batch, or a child's changes
// feed; or an event read back with its position (recovery).
struct QueuedEvent {
  std::int64_t id = 0;  // outbox row id (the feed position), or the event's seq
  Event event;
  Privacy privacy = Privacy::anonim;  // the complaint's current flag, for redaction
};

// An event as stored here: its local position and what it says.
struct StoredEvent {
  std::int64_t seq = 0;
  Event event;
};

// A page of a child's changes feed.
struct FeedPage {
  std::vector<QueuedEvent> items;
  std::int64_t last_id = 0;
};

struct ListQuery {
  std::optional<Status> status;
  std::optional<TimeMs> since;  // updated_at >= since
  std::int64_t after_seq = 0;   // cursor
  int limit = 50;
  // Who asks (core/access.hpp): only what the credential sees is listed.
  Access access{true, {}};
  std::optional<std::string> agency;   // the agency holding it now
  std::optional<std::string> channel;  // as the record names it
  std::optional<Privacy> privacy;
  std::optional<std::string> region;  // this region or one inside it ("21" lists "21.71")
  bool conflict = false;              // only complaints with a conflict for an admin
  // Only complaints with a running clock past due at `now`: "verify", "followup",
  // "autoclose" or "any".
  std::optional<std::string> overdue;
  std::optional<std::string> sync;  // EventLog::sync_state
  std::optional<std::string> q;     // words that must all be in the title or body
  TimeMs now = 0;
};

struct ListPage {
  std::vector<std::string> ids;  // the complaints, in list order (their events fold to them)
  std::int64_t last_seq = 0;
  bool more = false;
};

// Events and what is derived from them: the append-only log, each complaint's projection (the
// fold's result, for lists and filters), external ids, the source payloads, and which child
// nodes a complaint has been made visible to.
class EventLog {
 public:
  virtual ~EventLog() = default;
  // Appends an event (its id must be new) and returns its local position.
  virtual std::int64_t append(const Event& e, TimeMs now) = 0;
  virtual std::vector<Event> events_of(const std::string& complaint_id) = 0;
  virtual std::vector<StoredEvent> stored_events_of(const std::string& complaint_id) = 0;
  // The stored event with this id, if any.
  virtual std::optional<Event> find_event(const std::string& event_id) = 0;
  // The `created` payload of a complaint, if it exists here.
  virtual std::optional<std::string> created_payload(const std::string& complaint_id) = 0;
  virtual bool complaint_known(const std::string& complaint_id) = 0;
  // When this node last stored an event (0 when none).
  virtual TimeMs latest_stored_at() = 0;
  // Events whose hop path names `node`, stored at or after `since` and after position
  // `after_seq`, oldest first (`id` is the event's position, `privacy` the complaint's).
  virtual std::vector<QueuedEvent> events_through(const std::string& node, TimeMs since,
                                                  std::int64_t after_seq, int limit) = 0;
  virtual std::int64_t event_count() = 0;
  // Every event after position `after_seq`, in log order, up to `limit`: the whole log page by
  // page (a copy of the store, a search of everything it holds).
  virtual std::vector<StoredEvent> events_after(std::int64_t after_seq, int limit) = 0;

  // The projection: what lists and filters select on, from what the fold made of a complaint
  // (and its conflicts). The complaint itself is its events folded; it is not stored again.
  struct Projection {
    Status status = Status::received;
    Privacy privacy = Privacy::anonim;
    TimeMs updated_at = 0;
    Deadlines deadlines;    // as the fold left them with the calendar in force then
    std::string agency;     // the agency holding it now ("" none)
    bool conflict = false;  // a conflict waits for an admin
  };
  // `sla_next_at`: when the SLA scheduler next has something to do for it (ledger/sla.hpp).
  virtual void put_projection(const ComplaintState& st, TimeMs now,
                              std::optional<TimeMs> sla_next_at = std::nullopt) = 0;
  virtual std::optional<Projection> projection(const std::string& complaint_id) = 0;
  virtual ListPage list(const ListQuery& q) = 0;
  // Complaints whose SLA scheduler time (`sla_next_at`) is at or before `now`, soonest first:
  // read by index, so the cost is what is due, not what is stored.
  virtual std::vector<std::string> sla_due(TimeMs now, int limit) = 0;
  // Sets only the scheduler time (nullopt: nothing to do), leaving the projection as it is.
  virtual void set_sla_next_at(const std::string& complaint_id, std::optional<TimeMs> at) = 0;
  // How far a complaint has travelled up: "failed" (an event of it was dead-lettered on the way
  // up), "queued" (events still waiting to go up), "at_hub" (it holds a SP4N-LAPOR! tracking
  // id), "at_parent" (the parent has every event sent up), "local" (nothing sent up).
  virtual std::string sync_state(const std::string& complaint_id) = 0;
  static constexpr const char* kSyncStates[] = {"local", "queued", "at_parent", "at_hub", "failed"};
  // Complaints an agency had (complaint_agencies) that changed at or after `since` or have a
  // followup clock past due at `now`, by id after `after_id`: what an agency report reads.
  virtual std::vector<std::string> report_candidates(TimeMs since, TimeMs now,
                                                     const std::string& after_id, int limit) = 0;
  // What the dashboard counts, as `access` sees it: events stored at or after `since` by kind
  // (created, disposed, forwarded, responded, closed), and complaints with a running clock
  // past due at `now`, per clock.
  struct Tally {
    std::int64_t created = 0, disposed = 0, forwarded = 0, responded = 0, closed = 0;
    std::int64_t overdue_verify = 0, overdue_followup = 0, overdue_autoclose = 0;
  };
  virtual Tally tally(TimeMs since, TimeMs now, const Access& access) = 0;
  // The open work per agency, as `access` sees it: complaints whose clock (verify, followup,
  // autoclose) is past due at `now`, and those due before `until` (the end of today) but not
  // yet past. `agency` is "" for complaints no agency holds (verify is the admin's).
  struct Workload {
    std::string agency, clock;
    std::int64_t overdue = 0, due_soon = 0;
  };
  virtual std::vector<Workload> workload(TimeMs now, TimeMs until, const Access& access) = 0;
  // Every complaint id after `after_id`, in id order (a pass over the whole store).
  virtual std::vector<std::string> complaint_ids_after(const std::string& after_id, int limit) = 0;
  virtual std::int64_t complaint_count() = 0;

  // External ids: one complaint per (system, id).
  virtual std::optional<std::string> find_by_ref(const std::string& system,
                                                 const std::string& ext_id) = 0;
  // The id `system` gave this complaint, if any.
  virtual std::optional<std::string> ref_of(const std::string& complaint_id,
                                            const std::string& system) = 0;
  virtual void add_ref(const Ref& ref, const std::string& complaint_id, TimeMs now) = 0;
  // Complaints holding a ref of `system` and not yet closed, archived or cancelled, by complaint
  // id after `after_id`.
  struct LinkedComplaint {
    std::string complaint_id, ext_id;
    Status status = Status::received;
  };
  virtual std::vector<LinkedComplaint> open_linked(const std::string& system,
                                                   const std::string& after_id, int limit) = 0;

  // Reconciliation with the tier above (reconcile/reconcile.hpp). The complaints received
  // (received_at) in [from, to], by id after `after_id`: what the fold made of each, the id
  // `system` gave it, and how its `created` event went up: `from_upstream` when it came down from
  // `upstream` (the other side's own), else the state of its "upstream" outbox row ("pending",
  // "done", "dead", or "" when there is none).
  struct OwnComplaint {
    std::string id, agency, ext_id;
    Status status = Status::received;
    TimeMs received_at = 0;
    std::int64_t created_seq = 0;
    bool from_upstream = false;
    bool conflict = false;  // a conflict waits for an admin
    std::string up_row;
  };
  virtual std::vector<OwnComplaint> complaints_received(TimeMs from, TimeMs to,
                                                        const std::string& system,
                                                        const std::string& upstream,
                                                        const std::string& after_id, int limit) = 0;
  // The events stored here in [from, to] after position `after_seq` that go up: their hop path
  // does not name `upstream`. With the state of their "upstream" outbox row, as above.
  struct SentUp {
    std::int64_t seq = 0;
    std::string event_id, complaint_id, up_row;
  };
  virtual std::vector<SentUp> sent_up(const std::string& upstream, TimeMs from, TimeMs to,
                                      std::int64_t after_seq, int limit) = 0;
  // The parent's side: events stored here at or after `since`, after position `after_seq`, of
  // the complaints `child` sees (complaint_children) that did not come through it: what its feed
  // gave it. One whose feed row is after `fetched` (the child has not asked for it yet) is on
  // its way and left out.
  struct HeldEvent {
    std::int64_t seq = 0;
    std::string event_id, complaint_id;
  };
  virtual std::vector<HeldEvent> events_for_child(const std::string& child, TimeMs since,
                                                  std::int64_t after_seq, std::int64_t fetched,
                                                  int limit) = 0;

  // What a source sent, kept for `simpul renormalize`.
  virtual void keep_raw_payload(const std::string& source, const std::string& complaint_id,
                                const std::string& content_type, std::string_view body,
                                TimeMs now) = 0;
  // The latest payload `source` sent for each complaint, oldest complaint first.
  virtual std::vector<std::pair<std::string, std::string>> latest_raw_payloads(
      const std::string& source) = 0;

  // The rows a database connector read (source_rows): by the row's key at the source, the
  // complaint it became and a hash of the record as last read. A reconciliation pass walks them
  // by key (connectors/runtime.hpp).
  struct SourceRowState {
    std::string key, complaint_id;
    std::int64_t hash = 0;
  };
  // Records (or updates) the row; a row marked gone is known again.
  virtual void note_source_row(const std::string& source, const std::string& key,
                               const std::string& complaint_id, std::int64_t hash, TimeMs now) = 0;
  // The rows of `source` not marked gone, by key after `after_key` (byte order), up to `limit`.
  virtual std::vector<SourceRowState> source_rows_after(const std::string& source,
                                                        const std::string& after_key,
                                                        int limit) = 0;
  virtual std::optional<SourceRowState> source_row(const std::string& source,
                                                   const std::string& key) = 0;
  // The source no longer has the row (a reconciliation found it deleted there).
  virtual void source_row_gone(const std::string& source, const std::string& key, TimeMs now) = 0;

  // Which child nodes see a complaint (its events go down their feeds).
  virtual bool visible_to(const std::string& complaint_id, const std::string& child) = 0;
  virtual void make_visible(const std::string& complaint_id, const std::string& child,
                            TimeMs now) = 0;
};

// Events on their way out: one row per (destination, event), dead letters, and the child feeds
// (a child's feed is the outbox rows of destination "child:<id>", read by position).
class Outbox {
 public:
  virtual ~Outbox() = default;
  // Queues event `seq` for `destination`, due at `now`; a row already there
  // for that pair is left as it is.
  virtual void enqueue(const std::string& destination, std::int64_t seq, TimeMs now) = 0;
  // No retry is ever put further ahead than this (a peer's Retry-After is capped at an hour).
  static constexpr TimeMs kLongestRetryDelayMs = 3'600'000 + 60'000;
  // Rows for `destination` due at `now`, oldest first. A row due further ahead than any retry
  // delay was written by a clock that has since gone back: it is due now.
  virtual std::vector<QueuedEvent> due_outbox(const std::string& destination, TimeMs now,
                                              int limit) = 0;
  virtual void outbox_done(std::int64_t id) = 0;
  virtual void outbox_dead(std::int64_t id, const std::string& destination,
                           const std::string& error, TimeMs now) = 0;
  virtual void outbox_failed(std::int64_t id, const std::string& error, TimeMs retry_at) = 0;
  // The row of event `seq` for `destination`, if any, is done (the destination has it already).
  virtual void mark_done(const std::string& destination, std::int64_t seq) = 0;
  // Event `seq` queued for `destination` again as a new row, due at `now`, whatever became of
  // its row before (done, dead-lettered, dropped): a repair after reconciliation found the
  // destination lacks it. A new row is a new feed position, so a child reads it again. Its
  // dead letter, if any, goes.
  virtual void requeue(const std::string& destination, std::int64_t seq, TimeMs now) = 0;
  // A record an inbound connector fetched but could not map (listed by `simpul dlq list`).
  virtual void inbound_dead_letter(const std::string& destination, const std::string& error,
                                   TimeMs now) = 0;
  virtual std::int64_t dead_letter_count() = 0;
  virtual std::int64_t outbox_depth() = 0;

  // For `simpul status`: one destination's backlog.
  struct LinkBacklog {
    std::int64_t pending = 0;
    std::optional<TimeMs> oldest_pending;  // created_at of the oldest pending row (lag)
    std::int64_t retrying = 0;             // pending rows that failed at least once
    std::string last_error;                // of the most recently failed pending row
    std::int64_t dead = 0;
  };
  virtual LinkBacklog backlog(const std::string& destination) = 0;

  // Events queued for `child` after feed position `after_id`, oldest first.
  virtual FeedPage feed(const std::string& child, std::int64_t after_id, int limit) = 0;
  // A child's feed as the parent sees it: what the child has acknowledged (by asking for the
  // positions after it) and what it has not fetched yet.
  struct FeedBacklog {
    std::int64_t acked = 0;                  // highest position the child asked to read after
    std::optional<TimeMs> acked_at;          // when that position last advanced
    std::int64_t unfetched = 0;              // feed rows after `acked`
    std::optional<TimeMs> oldest_unfetched;  // created_at of the first of them (lag)
  };
  virtual FeedBacklog feed_backlog(const std::string& child) = 0;
  // The child asked for the events after `position`, so it has durably merged everything up to
  // it. Records the position if it advanced, and deletes up to kFeedPruneBatch acknowledged rows
  // older than kFeedRetentionMs (kept that long for a child restored from a recent backup).
  // Returns the rows deleted.
  virtual int feed_acked(const std::string& child, std::int64_t position, TimeMs now) = 0;
  static constexpr TimeMs kFeedRetentionMs = 7LL * 24 * 3600 * 1000;
  static constexpr int kFeedPruneBatch = 2000;

  // `simpul dlq`.
  struct DeadLetter {
    std::int64_t id = 0;
    std::string destination, complaint_id, event_id, error;
    TimeMs created_at = 0;
  };
  virtual std::vector<DeadLetter> dead_letters(int limit) = 0;
  // Puts the event back in its outbox (due now) and removes the dead letter. An inbound dead
  // letter (a record an app sent that could not be mapped) has nothing to requeue: it is left.
  enum class DeadLetterRetry { requeued, unknown, inbound };
  virtual DeadLetterRetry retry_dead_letter(std::int64_t id, TimeMs now) = 0;
  virtual bool drop_dead_letter(std::int64_t id) = 0;
};

// Named positions: a feed's cursor, an import's checkpoint, a cached reference tree.
class Cursors {
 public:
  virtual ~Cursors() = default;
  virtual std::string cursor(const std::string& name) = 0;
  virtual void set_cursor(const std::string& name, const std::string& value, TimeMs now) = 0;
};

// Who may do what, what was answered, and what admins did: tokens (only hashes kept),
// idempotent answers, the audit log.
class Credentials {
 public:
  virtual ~Credentials() = default;
  struct NewToken {
    std::string id;
    std::string secret;  // shown once; only its hash is stored
  };
  virtual NewToken create_token(const TokenSpec& spec, TimeMs now) = 0;
  // `agencies` (comma-separated ids, "" for none) binds the token to those agencies.
  NewToken create_token(const std::string& name, const std::string& scopes,
                        const std::string& node_id, TimeMs now, const std::string& agencies = "") {
    return create_token(TokenSpec{name, scopes, node_id, agencies, std::nullopt, false}, now);
  }
  virtual bool revoke_token(const std::string& id, TimeMs now) = 0;
  // The token stops being accepted at `at` unless it expires sooner already (a rotation's grace
  // period). False when there is no active token with this id.
  virtual bool expire_token(const std::string& id, TimeMs at) = 0;
  virtual std::optional<StoredToken> find_token(const std::string& id) = 0;
  virtual std::optional<StoredToken> find_token_by_hash(const std::string& sha256_hex) = 0;
  virtual std::vector<StoredToken> list_tokens() = 0;

  // The stored answer for (scope, key), and storing one. `request_sha256` tells a redelivery
  // from a reused key. An answer the events can give back keeps only `through_seq` (the
  // complaint as its events up to that position fold) and no body.
  struct StoredAnswer {
    std::string request_sha256;
    int status = 0;
    std::string complaint_id;
    std::string body;
    std::int64_t through_seq = 0;  // 0: `body` is the answer
  };
  virtual std::optional<StoredAnswer> recall_answer(const std::string& scope,
                                                    const std::string& key) = 0;
  virtual void remember_answer(const std::string& scope, const std::string& key,
                               const std::string& request_sha256, int status,
                               const std::string& complaint_id, const std::string& body, TimeMs now,
                               std::int64_t through_seq = 0) = 0;

  // An entry at the end of the audit chain (core/audit_chain.hpp), in the caller's
  // transaction: linked to the entry before it and hashed.
  virtual void audit(TimeMs at, const std::string& actor, const std::string& action,
                     const std::string& target, const std::string& detail_json) = 0;
  // Entries in id order after `after_id`, as stored (hashes included), with the filters of
  // `simpul audit list`: an empty filter matches everything.
  struct AuditQuery {
    std::int64_t after_id = 0;
    int limit = 1000;
    std::string actor, action, target;
    std::optional<TimeMs> since, until;  // since <= at < until
  };
  virtual std::vector<AuditEntry> audit_entries(const AuditQuery& q) = 0;
  virtual AuditHead audit_head() = 0;
  // The stored hash of entry `id` (nullopt: no such entry).
  virtual std::optional<std::string> audit_hash_of(std::int64_t id) = 0;
};

// Signed events (core/provenance.hpp): the manifests kept with the events they cover, each
// event's place in one, and the public keys of the nodes below this one.
class KeyRing {
 public:
  virtual ~KeyRing() = default;
  // Kept once: a manifest with an id already here is left as it is.
  virtual void put_signed_batch(const SignedBatch& b, TimeMs now) = 0;
  virtual std::optional<SignedBatch> signed_batch(const std::string& id) = 0;
  virtual void put_event_proof(const std::string& event_id, const EventProof& p) = 0;
  virtual std::optional<EventProof> event_proof(const std::string& event_id) = 0;

  struct NodeKey {
    std::string node_id, key_id;
    std::string public_key;  // 32 raw bytes
    std::string via;         // the child it came through
    std::string voucher;     // that child's signature over key_text (core/provenance.hpp)
    TimeMs registered_at = 0;
    std::optional<TimeMs> revoked_from;
  };
  // Adds the key, or updates its voucher; `revoked_from` only ever moves earlier. False (and
  // nothing written) when the key is known with another public key or through another child.
  virtual bool put_node_key(const NodeKey& k) = 0;
  virtual std::optional<NodeKey> node_key(const std::string& node_id,
                                          const std::string& key_id) = 0;
  // Every key, by node then key id; or those of one node.
  virtual std::vector<NodeKey> node_keys(const std::string& node_id = "") = 0;
  // The child `node_id` was registered through ("" when no key of it is known).
  virtual std::string node_via(const std::string& node_id) = 0;
};

// All of it on one connection, with its transactions and upkeep.
class Store : public EventLog, public Outbox, public Cursors, public Credentials, public KeyRing {
 public:
  virtual void begin() = 0;  // take the write lock now, not at the first write
  virtual void commit() = 0;
  virtual void rollback() = 0;
  virtual bool in_transaction() const = 0;

  // A savepoint that is rolled back unless kept: an early return, an error outcome or an
  // exception between its construction and keep() leaves nothing of the write behind. Nested
  // guards nest; the store names them.
  class Savepoint {
   public:
    explicit Savepoint(Store& store) : store_(store), depth_(store.open_savepoint()) {}
    ~Savepoint() {
      if (open_) store_.undo_savepoint(depth_);
    }
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;
    void keep() {
      if (!open_) return;
      store_.keep_savepoint(depth_);
      open_ = false;
    }

   private:
    Store& store_;
    int depth_;
    bool open_ = true;
  };

  virtual int schema_version() = 0;
  virtual int latest_schema_version() const = 0;
  virtual void migrate() = 0;
  // Whether the store this connection opened is no longer the one at its address (its file was
  // deleted or replaced): writes would be lost at restart.
  virtual bool file_replaced() const = 0;
  // An online, consistent copy to `dest` while other connections write; a copy cut short
  // leaves nothing at `dest`.
  virtual void backup_to(const std::string& dest) = 0;

  // Retention: one step of what a long-running store may forget, in the caller's transaction.
  // Outbox rows, raw payloads and idempotency answers are walked in windows of `window` rows by
  // id after the positions given (each step reads at most that many rows of each table, so a
  // commit holds the write lock briefly whatever the store's size); children's feeds up to
  // `batch` rows each by their index. Never an event, a complaint, a pending or dead outbox
  // row, or the raw payload of a complaint still open.
  struct RetentionCut {
    TimeMs outbox_done_before = 0;  // delivered outbox rows (connectors, the parent)
    TimeMs raw_closed_before = 0;   // raw payloads of complaints closed before this
    TimeMs idempotency_before = 0;  // Idempotency-Key answers
    TimeMs feed_acked_before = 0;   // a child's feed rows it acknowledged
    std::int64_t outbox_after = 0, raw_after = 0, idempotency_after = 0;  // where a pass is
    int window = 5000;
    int batch = 500;
  };
  struct RetentionDeleted {
    std::int64_t outbox = 0, raw_payloads = 0, idempotency = 0, feed = 0;
    std::int64_t total() const { return outbox + raw_payloads + idempotency + feed; }
    // Where the next step starts, and whether this step reached the end of everything.
    std::int64_t outbox_next = 0, raw_next = 0, idempotency_next = 0;
    bool finished = false;
  };
  virtual RetentionDeleted prune(const RetentionCut& cut) = 0;
  // Free pages returned to the file system (PRAGMA incremental_vacuum), at most `pages`; 0
  // when the store was made before incremental vacuum (its free pages are reused, not
  // returned). And how many free pages the file holds now.
  virtual std::int64_t vacuum_step(int pages) = 0;
  virtual std::int64_t free_pages() = 0;

  // Personal data at rest (core/seal.hpp, docs/operations.md): one step, in the caller's
  // transaction, of bringing everything sealed under an older key to the current one (at most
  // `limit` sealed events and raw payloads), and of sealing in place the events and raw payloads
  // written before there was a key (a window of `limit` events after `sealed_through`). Nothing
  // for a store opened without keys. `finished`: nothing was left to do.
  struct SealStep {
    std::int64_t resealed = 0;        // rows sealed under an older key, now under the current
    std::int64_t sealed = 0;          // events and raw payloads that were in the clear
    std::int64_t sealed_through = 0;  // the last event looked at
    bool finished = false;
  };
  virtual SealStep seal_step(std::int64_t sealed_through, int limit) = 0;
  struct SealState {
    std::vector<std::pair<std::string, std::int64_t>> sealed_by_key;  // key id -> rows
    std::int64_t clear_raw_payloads = 0;                              // raw payloads not sealed
  };
  virtual SealState seal_state() = 0;

 protected:
  // For Savepoint: opens one and returns its depth; undoes (rolls back and releases) or keeps
  // (releases) the savepoint at that depth. Undo never throws: when the whole transaction is
  // gone already (disk full), there is nothing left to undo.
  virtual int open_savepoint() = 0;
  virtual void undo_savepoint(int depth) noexcept = 0;
  virtual void keep_savepoint(int depth) = 0;
};

}  // namespace simpul
