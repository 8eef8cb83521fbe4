#pragma once
// The durable store: one SQLite database in WAL mode, migrated at open.
//
// A Store is one SQLite connection. It is not thread-safe: give each thread its own (the
// CommitQueue owns the writing one; readers open their own). Write methods expect to run inside
// a transaction the caller opened (begin/commit, or the CommitQueue's group commit); each keeps
// every row of one logical write (raw payload, events, refs, projection, outbox rows,
// idempotency answer) in that transaction, so a crash leaves all of it or none.
//
// Failures are StoreError exceptions inside this layer; the CommitQueue and HTTP handlers turn
// them into errc values (storage_busy, storage_full, storage_failure).

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "simpul/errors.hpp"
#include "simpul/fold.hpp"
#include "simpul/model.hpp"
#include "federation/directory.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace simpul {

class StoreError : public std::runtime_error {
 public:
  StoreError(errc code, int sqlite_code, const std::string& what)
      : std::runtime_error(what), code_(code), sqlite_code_(sqlite_code) {}
  errc code() const { return code_; }
  int sqlite_code() const { return sqlite_code_; }

 private:
  errc code_;
  int sqlite_code_;
};

struct StoreOptions {
  std::string path;
  bool synchronous_full = true;  // FULL: a commit survives power loss; NORMAL: survives a crash
  int busy_timeout_ms = 5000;
  bool migrate = true;  // apply pending migrations at open
  // Create the database when there is none. Even then, never where one is expected: the first
  // open of a new store leaves `<path>.expected` beside it, and a missing database with that
  // file present is refused (it was deleted or lost, and an empty store would be served in its
  // place) unless `recreate` says to begin an empty one.
  bool create = true;
  bool recreate = false;
};

struct StoredToken {
  std::string id;
  std::string name;
  std::string scopes;  // comma-separated: ingest,read,act,pii,admin
  std::string node_id;
  TimeMs created_at = 0;
  std::optional<TimeMs> revoked_at;
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
  std::vector<std::string> destinations;  // outbox destinations for the new events
  TimeMs now = 0;
  // Events after `created` (a migrated record's past), stored with it and folded once. Each is
  // moved to just after the one before when its time is earlier. If the state machine refuses
  // one, ingest returns the error and the caller must roll back (connectors/intake.cpp does).
  std::vector<Event> history;
};

// What became of a write, in the domain's words; only the HTTP layer turns it into a status
// and a body (http/api.cpp, through the one problem renderer for errors).
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
  std::string body;  // JSON (the state without PII), or one sentence of detail when rejected
  std::string pointer;
  bool stored() const { return kind == Kind::created; }
};

struct AppendRequest {
  Event event;  // event_id minted by the caller
  std::vector<std::string> destinations;
  // This node's clock when the write was asked for: outbox rows are due then, never at the
  // event's own time (which may be moved after a future-dated event from another node).
  // 0 = the event's time.
  TimeMs now = 0;
  // An action taken on this node now: its time is moved to just after the complaint's latest
  // event, so it folds after everything the actor saw even when the clock has not moved on
  // (two actions in one millisecond would otherwise be ordered by their random id bits).
  bool after_latest = true;
  // The credential is an admin's: only then may an `amended` lower the complaint's privacy
  // (rahasia -> anonim -> public), and it is audited. Other nodes never may (the fold refuses).
  bool may_lower_privacy = false;
};

// One event of a batch a child node sent (POST /fed/v1/events), and what became of it.
struct MergeOutcome {
  std::string event_id;
  MergeResult outcome = MergeResult::accepted;
  std::string reason;  // for rejected
};

// An event queued for a destination (an outbox row): the upstream relay's batch, or a child's
// changes feed.
struct QueuedEvent {
  std::int64_t id = 0;  // outbox row id: the feed position
  Event event;
  Privacy privacy = Privacy::anonim;  // the complaint's current flag, for redaction
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
};

struct ListPage {
  std::vector<std::string> states;  // state_json of each complaint (with PII; caller redacts)
  std::int64_t last_seq = 0;
  bool more = false;
};

class Store {
 public:
  Store(StoreOptions opt, FoldContext ctx);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  static int latest_schema_version();
  int schema_version();
  void migrate();

  // A savepoint that is rolled back unless kept: an early return, an error outcome or an
  // exception between its construction and keep() leaves nothing of the write behind. Every
  // write method that can answer an error holds one, so "an error answer stores nothing" holds
  // whatever transaction the caller runs it in.
  class Savepoint {
   public:
    Savepoint(Store& store, const char* name);
    ~Savepoint();
    Savepoint(const Savepoint&) = delete;
    Savepoint& operator=(const Savepoint&) = delete;
    void keep();

   private:
    Store& store_;
    const char* name_;
    bool open_ = true;
  };

  void begin();  // BEGIN IMMEDIATE: take the write lock now, not at the first write
  void commit();
  void rollback();
  bool in_transaction() const;
  void savepoint(const char* name);
  void release(const char* name);
  void rollback_to(const char* name);

  // Outbound connectors: every status change or answer for a complaint that carries a ref of
  // `system` is queued for `destination` ("connector:<id>"), except what the app's own
  // connectors wrote (`own_actors`, a JSON array of actor names such as "connector:apekesah").
  struct OutboundRoute {
    std::string destination, system, own_actors;
  };
  void set_outbound_routes(std::vector<OutboundRoute> routes) { outbound_routes_ = std::move(routes); }
  // This node's id and its children: enables the child feeds (fan-out on every write; none
  // without children).
  // `upstream`: the parent's node id; every event not already through it is queued for it.
  void set_topology(std::string self, Directory directory, std::string upstream = "");
  // How far in the future a child's event may be stamped before it is refused (its clock is
  // wrong, and a future time would order it after every later action here).
  void set_max_clock_skew(TimeMs ms) { max_skew_ms_ = ms; }
  static constexpr TimeMs kDefaultMaxClockSkewMs = 5 * 60 * 1000;

  WriteOutcome ingest(const IngestRequest& req);
  // Merges a batch a child node sent. Each event is accepted (stored; this node appended to
  // its hops), duplicate (already here) or rejected with a reason (nothing stored for it, the
  // rejection audited). What the parent can know is checked: the hops start at the origin and
  // end with the sender, name no node twice, never this node, its parent or another of its
  // children before the sender; a `created` is a schema-valid record of a new complaint (or
  // the same record again: duplicate) whose id is the event's and whose region lies within the
  // sender's regions; other events are for complaints visible to the sender, with payloads
  // valid for their kind; nothing is stamped more than the clock skew in the future.
  std::vector<MergeOutcome> merge_from_child(const std::string& child, std::vector<Event> events,
                                             TimeMs now);
  // Merges events from the parent's changes feed (trusted: the parent decides) and stores the
  // feed cursor, in the caller's transaction. Returns how many events were new.
  // `cursor_name` is the cursor row the position goes to (the lapor dialect keeps its own).
  int merge_from_parent(std::vector<Event> events, const std::string& cursor, TimeMs now,
                        const std::string& cursor_name = "upstream.changes");
  std::string cursor(const std::string& name);
  void set_cursor(const std::string& name, const std::string& value, TimeMs now);

  // No retry is ever put further ahead than this (a peer's Retry-After is capped at an hour).
  static constexpr TimeMs kLongestRetryDelayMs = 3'600'000 + 60'000;
  // Outbox rows for `destination` due at `now`, oldest first (the relay's next batch). A row
  // due further ahead than any retry delay was written by a clock that has since gone back: it
  // is due now.
  std::vector<QueuedEvent> due_outbox(const std::string& destination, TimeMs now, int limit);
  void outbox_done(std::int64_t id);
  void outbox_dead(std::int64_t id, const std::string& destination, const std::string& error, TimeMs now);
  void outbox_failed(std::int64_t id, const std::string& error, TimeMs retry_at);
  // A record an inbound connector fetched but could not map: listed by `simpul dlq list` (the
  // error names the source id and the reason; the record itself stays with the app).
  void inbound_dead_letter(const std::string& destination, const std::string& error, TimeMs now);
  std::int64_t dead_letter_count();

  // For `simpul status`: one destination's backlog.
  struct LinkBacklog {
    std::int64_t pending = 0;
    std::optional<TimeMs> oldest_pending;  // created_at of the oldest pending row (lag)
    std::int64_t retrying = 0;             // pending rows that failed at least once
    std::string last_error;                // of the most recently failed pending row
    std::int64_t dead = 0;
  };
  LinkBacklog backlog(const std::string& destination);
  // A child's changes feed as the parent sees it: what the child has acknowledged (by asking
  // for the positions after it) and what it has not fetched yet.
  struct FeedBacklog {
    std::int64_t acked = 0;                // highest position the child asked to read after
    std::optional<TimeMs> acked_at;        // when that position last advanced
    std::int64_t unfetched = 0;            // feed rows after `acked`
    std::optional<TimeMs> oldest_unfetched;  // created_at of the first of them (lag)
  };
  FeedBacklog feed_backlog(const std::string& child);
  // The child asked for the events after `position`, so it has durably merged everything up to
  // it (a child stores its cursor with the merged events). Records the position if it advanced,
  // and deletes up to kFeedPruneBatch acknowledged rows older than kFeedRetentionMs (kept that
  // long for a child restored from a recent backup, which asks again from an older position).
  // Returns the rows deleted.
  int feed_acked(const std::string& child, std::int64_t position, TimeMs now);
  static constexpr TimeMs kFeedRetentionMs = 7LL * 24 * 3600 * 1000;
  static constexpr int kFeedPruneBatch = 2000;

  // `simpul dlq`.
  struct DeadLetter {
    std::int64_t id = 0;
    std::string destination, complaint_id, event_id, error;
    TimeMs created_at = 0;
  };
  std::vector<DeadLetter> dead_letters(int limit);
  // Puts the event back in its outbox (due now) and removes the dead letter. An inbound dead
  // letter (a record an app sent that could not be mapped) has nothing to requeue: it is left.
  enum class DeadLetterRetry { requeued, unknown, inbound };
  DeadLetterRetry retry_dead_letter(std::int64_t id, TimeMs now);
  bool drop_dead_letter(std::int64_t id);

  // Recovery of a child restored from a backup. On the parent: the events that came up through
  // `child` (it is on their hop path), stored here at or after `since` and after event position
  // `after_seq`, oldest first (`id` is the event's position here, `privacy` the complaint's).
  std::vector<QueuedEvent> sent_by(const std::string& child, TimeMs since, std::int64_t after_seq, int limit);
  // On the child: when it last stored an event (0 when none), where recovery starts to look.
  TimeMs latest_stored_at();
  // On the child: merges its own past as the parent sent it back. Each event is stored with its
  // hop path as it was here (up to this node), its refs adopted, never queued up again (the
  // parent has it). Events that never passed through this node are ignored. Returns how many
  // were new.
  int merge_recovered(std::vector<Event> events, TimeMs now);

  // Events queued for `child` after feed position `after_id`, oldest first.
  FeedPage feed(const std::string& child, std::int64_t after_id, int limit);
  WriteOutcome append_event(const AppendRequest& req);
  // Recomputes and stores the projection of one complaint from its events.
  ComplaintState refresh_projection(const std::string& complaint_id, TimeMs now);

  // Reads.
  std::optional<std::string> find_by_ref(const std::string& system, const std::string& ext_id);
  // The id `system` gave this complaint, if any.
  std::optional<std::string> ref_of(const std::string& complaint_id, const std::string& system);
  // Complaints holding a ref of `system` and not yet closed, archived or cancelled, by complaint
  // id after `after_id`: (complaint id, external id, current status).
  struct LinkedComplaint {
    std::string complaint_id, ext_id;
    Status status = Status::received;
  };
  std::vector<LinkedComplaint> open_linked(const std::string& system, const std::string& after_id, int limit);
  // Idempotent answers outside POST /v1/complaints (webhook deliveries): the stored answer for
  // (scope, key), and storing one. `request_sha256` tells a redelivery from a reused key.
  struct StoredAnswer {
    std::string request_sha256;
    int status = 0;
    std::string complaint_id;
    std::string body;
  };
  std::optional<StoredAnswer> recall_answer(const std::string& scope, const std::string& key);
  void remember_answer(const std::string& scope, const std::string& key, const std::string& request_sha256,
                       int status, const std::string& complaint_id, const std::string& body, TimeMs now);
  // The latest payload `source` sent for each complaint, oldest complaint first (renormalize).
  std::vector<std::pair<std::string, std::string>> latest_raw_payloads(const std::string& source);
  // Keeps a source payload for a complaint (a connector's update of a record it sent before),
  // so mappings can be re-run over everything the source ever said.
  void keep_raw_payload(const std::string& source, const std::string& complaint_id,
                        const std::string& content_type, std::string_view body, TimeMs now);
  std::vector<Event> events_of(const std::string& complaint_id);
  std::optional<std::string> state_json(const std::string& complaint_id);
  ListPage list(const ListQuery& q);
  std::int64_t complaint_count();
  std::int64_t event_count();
  std::int64_t outbox_depth();

  // Tokens and audit.
  struct NewToken {
    std::string id;
    std::string secret;  // shown once; only its hash is stored
  };
  NewToken create_token(const std::string& name, const std::string& scopes,
                        const std::string& node_id, TimeMs now);
  bool revoke_token(const std::string& id, TimeMs now);
  std::optional<StoredToken> find_token_by_hash(const std::string& sha256_hex);
  std::vector<StoredToken> list_tokens();
  void audit(TimeMs at, const std::string& actor, const std::string& action,
             const std::string& target, const std::string& detail_json);

  // Whether the database file at the path is no longer the one this connection opened (deleted,
  // or replaced by another file): writes would go to an unlinked file and be lost at restart.
  bool file_replaced() const;
  static std::string expected_marker(const std::string& path) { return path + ".expected"; }

  // Online backup to `dest_path` while other connections write: a consistent snapshot (VACUUM
  // INTO, one read transaction, so writers never restart it) written to `<dest>.partial`,
  // synced, checked (PRAGMA quick_check) and only then renamed into place. A backup killed
  // part-way leaves no file at `dest_path`.
  void backup_to(const std::string& dest_path);
  void exec(const char* sql);
  sqlite3* handle() { return db_; }
  const FoldContext& fold_context() const { return ctx_; }

 private:
  class Stmt;
  Stmt prepare(const char* sql);
  void close();
  // Returns the event's local seq.
  std::int64_t insert_event(const Event& e, TimeMs now,
                            const std::vector<std::string>& destinations,
                            const std::string& complaint_id);
  // Queues the new event (seq) on the feeds of the children that see the complaint, and every
  // earlier event on the feed of a child that sees it for the first time.
  void fan_out(const std::string& complaint_id, const ComplaintState& st, std::int64_t seq,
               TimeMs now);
  bool visible_to(const std::string& complaint_id, const std::string& child);
  bool complaint_known(const std::string& complaint_id);
  // Stores an event merged from another node: this node joins its hop path, the refs it
  // carries are adopted, the projection refreshed and the event fanned out. Returns the event's
  // local seq and the complaint's new state.
  struct Merged {
    std::int64_t seq = 0;
    ComplaintState state;
  };
  Merged store_merged(Event& e, TimeMs now);
  bool event_known(const std::string& event_id);
  // An event from another node kept out: audited (`fed.rejected`) with its id, kind and reason.
  void audit_refused(TimeMs now, const std::string& from, const Event& e, const std::string& reason);
  std::optional<Privacy> projected_privacy(const std::string& complaint_id);
  void insert_ref(const Ref& ref, const std::string& complaint_id, TimeMs now);
  // Reads a row of the outbox-joined-to-events queries below.
  static QueuedEvent queued_event(Stmt& s);
  std::optional<WriteOutcome> replay_idempotent(const IngestRequest& req,
                                                const std::string& request_hash);
  // The stored `created` payload of a complaint, if it exists.
  std::optional<std::string> created_payload(const std::string& complaint_id);
  // Why a child's event cannot be merged, or nullopt when it can (duplicates are decided
  // before; whether the fold can read a payload is decided by the merge itself). Sets
  // `duplicate` for the same `created` record sent again under another id.
  std::optional<std::string> refuse_from_child(const std::string& child, Event& e, TimeMs now,
                                               bool& duplicate);

  StoreOptions opt_;
  FoldContext ctx_;
  sqlite3* db_ = nullptr;
  bool on_disk_ = false;  // a file path (not :memory: or a URI)
  unsigned long long file_dev_ = 0, file_ino_ = 0;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
  std::string self_;
  Directory directory_;
  std::string upstream_;
  TimeMs max_skew_ms_ = kDefaultMaxClockSkewMs;
  std::vector<OutboundRoute> outbound_routes_;
};

}  // namespace simpul
