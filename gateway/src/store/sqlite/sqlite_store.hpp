#pragma once
// The SQLite store: one database file in WAL mode, migrated at open
// (schema/migrations/NNNN_*.sql, compiled into the binary, recorded in PRAGMA user_version).
// Implements every interface of store/store.hpp on one connection.

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/seal.hpp"
#include "store/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace simpul {

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
  // Index title and body for ListQuery::q as projections are written (config store.full_text).
  bool full_text = true;
  // The keys reporters' identities and raw payloads are sealed with (core/seal.hpp). Without
  // them, what is written stays in the clear and what was sealed cannot be read (a StoreError
  // naming the key); every node and CLI command opens its store with them
  // (node/store_setup.hpp).
  std::shared_ptr<const crypto::SealKeys> seal_keys;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(StoreOptions opt);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  static int latest_version();

  // `simpul db restore`: `backup` replaces the database at `db_path` (the node is stopped; the
  // caller holds the store lock). The backup is checked first (a SQLite file that passes
  // PRAGMA integrity_check, a Simpul store, a schema this binary knows); nothing is touched when
  // it fails. The database it replaces (and its WAL) is kept beside it as
  // `<db>.replaced-<UTC time>`, whose name is returned.
  struct Restored {
    std::string replaced;  // "" when there was no database
    int schema_version = 0;
  };
  static Restored restore(const std::string& backup, const std::string& db_path);
  // A connection setting as SQLite reports it (PRAGMA `name`): for tests of this implementation.
  std::int64_t setting(const std::string& name);
  static std::string expected_marker(const std::string& path) { return path + ".expected"; }

  // EventLog
  std::int64_t append(const Event& e, TimeMs now) override;
  std::vector<Event> events_of(const std::string& complaint_id) override;
  std::vector<StoredEvent> stored_events_of(const std::string& complaint_id) override;
  std::optional<Event> find_event(const std::string& event_id) override;
  std::optional<std::string> created_payload(const std::string& complaint_id) override;
  bool complaint_known(const std::string& complaint_id) override;
  TimeMs latest_stored_at() override;
  std::vector<QueuedEvent> events_through(const std::string& node, TimeMs since,
                                          std::int64_t after_seq, int limit) override;
  std::int64_t event_count() override;
  std::vector<StoredEvent> events_after(std::int64_t after_seq, int limit) override;
  void put_projection(const ComplaintState& st, TimeMs now,
                      std::optional<TimeMs> sla_next_at = std::nullopt) override;
  std::optional<Projection> projection(const std::string& complaint_id) override;
  std::vector<std::string> sla_due(TimeMs now, int limit) override;
  void set_sla_next_at(const std::string& complaint_id, std::optional<TimeMs> at) override;
  std::vector<std::string> complaint_ids_after(const std::string& after_id, int limit) override;
  std::string sync_state(const std::string& complaint_id) override;
  Tally tally(TimeMs since, TimeMs now, const Access& access) override;
  std::vector<Workload> workload(TimeMs now, TimeMs until, const Access& access) override;
  std::vector<std::string> report_candidates(TimeMs since, TimeMs now, const std::string& after_id,
                                             int limit) override;
  ListPage list(const ListQuery& q) override;
  std::int64_t complaint_count() override;
  std::optional<std::string> find_by_ref(const std::string& system,
                                         const std::string& ext_id) override;
  std::optional<std::string> ref_of(const std::string& complaint_id,
                                    const std::string& system) override;
  void add_ref(const Ref& ref, const std::string& complaint_id, TimeMs now) override;
  std::vector<LinkedComplaint> open_linked(const std::string& system, const std::string& after_id,
                                           int limit) override;
  void keep_raw_payload(const std::string& source, const std::string& complaint_id,
                        const std::string& content_type, std::string_view body,
                        TimeMs now) override;
  std::vector<std::pair<std::string, std::string>> latest_raw_payloads(
      const std::string& source) override;
  void note_source_row(const std::string& source, const std::string& key,
                       const std::string& complaint_id, std::int64_t hash, TimeMs now) override;
  std::vector<SourceRowState> source_rows_after(const std::string& source,
                                                const std::string& after_key, int limit) override;
  std::optional<SourceRowState> source_row(const std::string& source,
                                           const std::string& key) override;
  void source_row_gone(const std::string& source, const std::string& key, TimeMs now) override;
  bool visible_to(const std::string& complaint_id, const std::string& child) override;
  void make_visible(const std::string& complaint_id, const std::string& child, TimeMs now) override;

  // Outbox
  void enqueue(const std::string& destination, std::int64_t seq, TimeMs now) override;
  std::vector<QueuedEvent> due_outbox(const std::string& destination, TimeMs now,
                                      int limit) override;
  void outbox_done(std::int64_t id) override;
  void outbox_dead(std::int64_t id, const std::string& destination, const std::string& error,
                   TimeMs now) override;
  void outbox_failed(std::int64_t id, const std::string& error, TimeMs retry_at) override;
  void mark_done(const std::string& destination, std::int64_t seq) override;
  void requeue(const std::string& destination, std::int64_t seq, TimeMs now) override;
  std::vector<OwnComplaint> complaints_received(TimeMs from, TimeMs to, const std::string& system,
                                                const std::string& upstream,
                                                const std::string& after_id, int limit) override;
  std::vector<SentUp> sent_up(const std::string& upstream, TimeMs from, TimeMs to,
                              std::int64_t after_seq, int limit) override;
  std::vector<HeldEvent> events_for_child(const std::string& child, TimeMs since,
                                          std::int64_t after_seq, std::int64_t fetched,
                                          int limit) override;
  void inbound_dead_letter(const std::string& destination, const std::string& error,
                           TimeMs now) override;
  std::int64_t dead_letter_count() override;
  std::int64_t outbox_depth() override;
  LinkBacklog backlog(const std::string& destination) override;
  FeedPage feed(const std::string& child, std::int64_t after_id, int limit) override;
  FeedBacklog feed_backlog(const std::string& child) override;
  int feed_acked(const std::string& child, std::int64_t position, TimeMs now) override;
  std::vector<DeadLetter> dead_letters(int limit) override;
  DeadLetterRetry retry_dead_letter(std::int64_t id, TimeMs now) override;
  bool drop_dead_letter(std::int64_t id) override;

  // Cursors
  std::string cursor(const std::string& name) override;
  void set_cursor(const std::string& name, const std::string& value, TimeMs now) override;

  // KeyRing
  void put_signed_batch(const SignedBatch& b, TimeMs now) override;
  std::optional<SignedBatch> signed_batch(const std::string& id) override;
  void put_event_proof(const std::string& event_id, const EventProof& p) override;
  std::optional<EventProof> event_proof(const std::string& event_id) override;
  bool put_node_key(const NodeKey& k) override;
  std::optional<NodeKey> node_key(const std::string& node_id, const std::string& key_id) override;
  std::vector<NodeKey> node_keys(const std::string& node_id) override;
  std::string node_via(const std::string& node_id) override;

  // Credentials
  using Credentials::create_token;
  NewToken create_token(const TokenSpec& spec, TimeMs now) override;
  bool expire_token(const std::string& id, TimeMs at) override;
  std::optional<StoredToken> find_token(const std::string& id) override;
  std::vector<AuditEntry> audit_entries(const AuditQuery& q) override;
  AuditHead audit_head() override;
  std::optional<std::string> audit_hash_of(std::int64_t id) override;
  bool revoke_token(const std::string& id, TimeMs now) override;
  std::optional<StoredToken> find_token_by_hash(const std::string& sha256_hex) override;
  std::vector<StoredToken> list_tokens() override;
  std::optional<StoredAnswer> recall_answer(const std::string& scope,
                                            const std::string& key) override;
  void remember_answer(const std::string& scope, const std::string& key,
                       const std::string& request_sha256, int status,
                       const std::string& complaint_id, const std::string& body, TimeMs now,
                       std::int64_t through_seq = 0) override;
  void audit(TimeMs at, const std::string& actor, const std::string& action,
             const std::string& target, const std::string& detail_json) override;

  // Store
  void begin() override;
  void commit() override;
  void rollback() override;
  bool in_transaction() const override;
  int schema_version() override;
  int latest_schema_version() const override { return latest_version(); }
  void migrate() override;
  bool file_replaced() const override;
  // VACUUM INTO `<dest>.partial` (one read transaction, so writers never restart it), synced,
  // checked (PRAGMA quick_check), then renamed into place.
  void backup_to(const std::string& dest) override;
  RetentionDeleted prune(const RetentionCut& cut) override;
  std::int64_t vacuum_step(int pages) override;
  std::int64_t free_pages() override;
  SealStep seal_step(std::int64_t sealed_through, int limit) override;
  SealState seal_state() override;

 protected:
  int open_savepoint() override;
  void undo_savepoint(int depth) noexcept override;
  void keep_savepoint(int depth) override;

 private:
  class Stmt;
  static constexpr int kAuditChainVersion = 9;  // the migration that made the audit log a chain
  void seal_audit_log();
  Stmt prepare(const char* sql);
  void exec(const char* sql);
  void close();
  int changes();
  // An event read back, whole: one that names its reporter is read from its sealed row.
  StoredEvent event_row(Stmt& s);
  StoredEvent event_row_as_kept(Stmt& s);  // as the row has it (no unseal)
  QueuedEvent queued_event(Stmt& s);
  // The event as it came, when it names its reporter and is kept sealed (sealed_events).
  void unseal(Event& e);
  // The `created` payload as its row keeps it (without a sealed identity): what raw payloads are
  // packed against.
  std::optional<std::string> kept_created_payload(const std::string& complaint_id);
  // Seals `e` as it came into sealed_events, under the current key.
  void put_sealed(const Event& e);
  // A sealed raw payload's stored bytes (packed or not, as its `packing` says).
  std::string open_raw(const std::string& key_id, const std::string& sealed,
                       const std::string& source, const std::string& complaint_id,
                       std::int64_t id) const;

  StoreOptions opt_;
  sqlite3* db_ = nullptr;
  bool on_disk_ = false;  // a file path (not :memory: or a URI)
  unsigned long long file_dev_ = 0, file_ino_ = 0;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
  int savepoints_ = 0;  // open savepoints
  // The `created` event this connection appended last (complaint id, payload): what its raw
  // payload is packed against, without reading it back. Forgotten when a write is undone.
  std::optional<std::pair<std::string, std::string>> last_created_;
};

}  // namespace simpul
