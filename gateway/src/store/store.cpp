#include "store/store.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/resources.hpp"
#include "core/schema.hpp"
#include "core/uuid.hpp"
#include "federation/redact.hpp"

namespace simpul {
namespace {

errc classify(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return errc::storage_busy;
    case SQLITE_FULL: return errc::storage_full;
    default: return errc::storage_failure;
  }
}

struct Migration {
  int version;
  std::string_view sql;
};

std::vector<Migration> migrations() {
  std::vector<Migration> out;
  const std::string_view prefix = "schema/migrations/";
  for (const auto& r : resources::all()) {
    std::string_view path(r.path);
    if (path.substr(0, prefix.size()) != prefix) continue;
    int version = std::atoi(std::string(path.substr(prefix.size())).c_str());
    SIMPUL_CHECK(version > 0, "a migration file name must start with its version number");
    out.push_back({version, std::string_view(r.data, r.size)});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.version < b.version; });
  for (std::size_t i = 0; i < out.size(); ++i)
    SIMPUL_CHECK(out[i].version == static_cast<int>(i) + 1, "migration versions must be 1..N");
  return out;
}

}  // namespace

// A cached prepared statement, borrowed for one use: reset and unbound when it goes away.
class Store::Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  ~Stmt() {
    if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  Stmt& bind(int i, std::string_view v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, const std::optional<std::int64_t>& v) {
    if (v) return bind(i, *v);
    check(sqlite3_bind_null(s_, i));
    return *this;
  }
  Stmt& bind_null_if_empty(int i, const std::string& v) {
    if (v.empty()) {
      check(sqlite3_bind_null(s_, i));
      return *this;
    }
    return bind(i, v);
  }
  Stmt& bind_blob(int i, std::string_view v) {
    check(sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  // True while there is a row.
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreError(classify(rc), rc, std::string("sqlite step: ") + sqlite3_errmsg(db_));
  }
  void run() {
    while (step()) {
    }
  }
  std::int64_t i64(int col) { return sqlite3_column_int64(s_, col); }
  bool null(int col) { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text(int col) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      throw StoreError(classify(rc), rc, std::string("sqlite bind: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
};

Store::Store(StoreOptions opt, FoldContext ctx) : opt_(std::move(opt)), ctx_(ctx) {
  on_disk_ = !opt_.path.empty() && opt_.path != ":memory:" && opt_.path.rfind("file:", 0) != 0;
  bool creating = false;
  if (on_disk_ && !std::filesystem::exists(opt_.path)) {
    if (!opt_.create)
      throw StoreError(errc::storage_failure, SQLITE_CANTOPEN, "no database at " + opt_.path);
    if (std::filesystem::exists(expected_marker(opt_.path)) && !opt_.recreate)
      throw StoreError(errc::storage_failure, SQLITE_CANTOPEN,
                       "the database " + opt_.path + " is missing, but this node had one (" +
                           expected_marker(opt_.path) +
                           " is there): restore it from a backup, or start with --new-store to "
                           "begin an empty store");
    creating = true;
  }
  int rc = sqlite3_open_v2(opt_.path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | (opt_.create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(classify(rc), rc, "cannot open database " + opt_.path + ": " + msg);
  }
  // A constructor that throws never runs the destructor: release the handle ourselves.
  try {
    sqlite3_busy_timeout(db_, opt_.busy_timeout_ms);
    sqlite3_extended_result_codes(db_, 1);
    exec("PRAGMA journal_mode=WAL");
    exec(opt_.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    // 32 MiB of page cache (default 2 MiB): a batch of imported complaints or a large group
    // commit then stays in memory until COMMIT instead of spilling pages to the WAL mid-way.
    exec("PRAGMA cache_size=-32768");
    // Every intake runs in its own savepoint, and SQLite keeps a savepoint's undo copies of the
    // pages it touches in a sub-journal: a temporary file by default, which cost about forty
    // write calls per imported row. In memory they are a few pages per complaint, released at
    // each RELEASE.
    exec("PRAGMA temp_store=MEMORY");
    int v = schema_version();
    if (v > latest_schema_version()) {
      throw StoreError(errc::storage_failure, 0,
                       "database " + opt_.path + " has schema version " + std::to_string(v) +
                           ", newer than this binary supports (" +
                           std::to_string(latest_schema_version()) + ")");
    }
    if (opt_.migrate) migrate();
    if (on_disk_) {
      struct stat st {};
      if (::stat(opt_.path.c_str(), &st) == 0) {
        file_dev_ = static_cast<unsigned long long>(st.st_dev);
        file_ino_ = static_cast<unsigned long long>(st.st_ino);
      }
      // From now on a database is expected here (also for stores made before the marker).
      if ((creating || opt_.migrate) && !std::filesystem::exists(expected_marker(opt_.path))) {
        std::FILE* f = std::fopen(expected_marker(opt_.path).c_str(), "w");
        if (f) {
          std::fputs("A Simpul database is expected beside this file. If it is missing, restore it from a\n"
                     "backup; `simpul serve --new-store` begins an empty store instead.\n", f);
          std::fclose(f);
        }
      }
    }
  } catch (...) {
    close();
    throw;
  }
}

bool Store::file_replaced() const {
  if (!on_disk_) return false;
  struct stat st {};
  if (::stat(opt_.path.c_str(), &st) != 0) return true;
  return static_cast<unsigned long long>(st.st_dev) != file_dev_ ||
         static_cast<unsigned long long>(st.st_ino) != file_ino_;
}

Store::~Store() { close(); }

void Store::close() {
  for (auto& [sql, s] : stmts_) sqlite3_finalize(s);
  stmts_.clear();
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

void Store::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    throw StoreError(classify(rc), rc, msg);
  }
}

Store::Stmt Store::prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK)
      throw StoreError(classify(rc), rc, std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
    it = stmts_.emplace(sql, s).first;
  }
  return Stmt(db_, it->second);
}

int Store::latest_schema_version() { return static_cast<int>(migrations().size()); }

int Store::schema_version() {
  auto s = prepare("PRAGMA user_version");
  s.step();
  return static_cast<int>(s.i64(0));
}

void Store::migrate() {
  int current = schema_version();
  for (const auto& m : migrations()) {
    if (m.version <= current) continue;
    begin();
    try {
      exec(std::string(m.sql).c_str());
      exec(("PRAGMA user_version=" + std::to_string(m.version)).c_str());
      commit();
    } catch (...) {
      rollback();
      throw;
    }
  }
}

void Store::begin() { exec("BEGIN IMMEDIATE"); }
void Store::commit() { exec("COMMIT"); }
void Store::rollback() {
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}
bool Store::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }
void Store::savepoint(const char* name) { exec((std::string("SAVEPOINT ") + name).c_str()); }
void Store::release(const char* name) { exec((std::string("RELEASE ") + name).c_str()); }
void Store::rollback_to(const char* name) {
  exec((std::string("ROLLBACK TO ") + name).c_str());
}

Store::Savepoint::Savepoint(Store& store, const char* name) : store_(store), name_(name) {
  store_.savepoint(name_);
}

Store::Savepoint::~Savepoint() {
  if (!open_) return;
  // SQLite may have rolled back the whole transaction already (disk full, I/O error): then
  // there is no savepoint left to undo, and the caller sees the transaction gone.
  if (!store_.in_transaction()) return;
  try {
    store_.rollback_to(name_);
    store_.release(name_);
  } catch (const StoreError&) {
  }
}

void Store::Savepoint::keep() {
  if (!open_) return;
  store_.release(name_);
  open_ = false;
}

std::int64_t Store::insert_event(const Event& e, TimeMs now,
                                const std::vector<std::string>& destinations,
                                const std::string& complaint_id) {
  prepare(
      "INSERT INTO events(event_id, complaint_id, origin, at, kind, actor_json, payload_json, "
      "hops_json, stored_at) VALUES (?,?,?,?,?,?,?,?,?)")
      .bind(1, e.event_id)
      .bind(2, complaint_id)
      .bind(3, e.origin)
      .bind(4, e.at)
      .bind(5, to_string(e.kind))
      .bind(6, json::actor_to_json(e.actor))
      .bind(7, e.payload)
      .bind(8, json::hops_to_json(e.hops))
      .bind(9, now)
      .run();
  std::int64_t seq = sqlite3_last_insert_rowid(db_);
  for (const auto& d : destinations) {
    prepare(
        "INSERT INTO outbox(destination, complaint_id, event_seq, next_attempt_at, created_at) "
        "VALUES (?,?,?,?,?)")
        .bind(1, d)
        .bind(2, complaint_id)
        .bind(3, seq)
        .bind(4, now)
        .bind(5, now)
        .run();
  }
  return seq;
}

void Store::set_topology(std::string self, Directory directory, std::string upstream) {
  self_ = std::move(self);
  directory_ = std::move(directory);
  upstream_ = std::move(upstream);
}

bool Store::complaint_known(const std::string& complaint_id) {
  auto s = prepare("SELECT 1 FROM events WHERE complaint_id = ? LIMIT 1");
  s.bind(1, complaint_id);
  return s.step();
}

bool Store::visible_to(const std::string& complaint_id, const std::string& child) {
  auto s = prepare("SELECT 1 FROM complaint_children WHERE complaint_id = ? AND child = ?");
  s.bind(1, complaint_id).bind(2, child);
  return s.step();
}

void Store::fan_out(const std::string& id, const ComplaintState& st, std::int64_t seq, TimeMs now) {
  if (!upstream_.empty()) {
    // Up: every event that has not already passed through the parent.
    prepare(
        "INSERT OR IGNORE INTO outbox(destination, complaint_id, event_seq, next_attempt_at, "
        "created_at) SELECT 'upstream', complaint_id, seq, ?1, ?1 FROM events WHERE seq = ?2 "
        "AND NOT EXISTS (SELECT 1 FROM json_each(events.hops_json) WHERE value = ?3)")
        .bind(1, now)
        .bind(2, seq)
        .bind(3, upstream_)
        .run();
  }
  for (const auto& route : outbound_routes_) {
    prepare(
        "INSERT OR IGNORE INTO outbox(destination, complaint_id, event_seq, next_attempt_at, created_at) "
        "SELECT ?1, e.complaint_id, e.seq, ?2, ?2 FROM events e WHERE e.seq = ?3 "
        "AND e.kind IN ('verified', 'held', 'disposed', 'forwarded', 'not_authority', 'progressed', "
        "'responded', 'closed', 'reopened', 'archived', 'cancelled') "
        "AND coalesce(json_extract(e.actor_json, '$.name'), '') NOT IN (SELECT value FROM json_each(?4)) "
        "AND EXISTS (SELECT 1 FROM refs r WHERE r.complaint_id = e.complaint_id AND r.system = ?5)")
        .bind(1, route.destination)
        .bind(2, now)
        .bind(3, seq)
        .bind(4, route.own_actors)
        .bind(5, route.system)
        .run();
  }
  if (directory_.empty() || !st.exists) return;
  // Visible to: the child it is routed to now, and every child its `created` came through.
  std::vector<std::string> visible;
  auto routed = directory_.route(st.record);
  if (!routed.empty()) visible.push_back(routed);
  auto created = prepare("SELECT hops_json FROM events WHERE complaint_id = ? AND kind = 'created'");
  created.bind(1, id);
  while (created.step()) {
    for (const auto& hop : json::hops_from_json(created.text(0)))
      if (directory_.find(hop) && std::find(visible.begin(), visible.end(), hop) == visible.end())
        visible.push_back(hop);
  }
  for (const auto& child : visible) {
    const std::string dest = "child:" + child;
    const bool first_time = !visible_to(id, child);
    if (first_time) {
      prepare("INSERT INTO complaint_children(complaint_id, child, added_at) VALUES (?,?,?)")
          .bind(1, id)
          .bind(2, child)
          .bind(3, now)
          .run();
    }
    // Every event (first time) or just the new one, unless the child is on its hop path
    // already: a node never gets back what passed through it.
    prepare(
        "INSERT OR IGNORE INTO outbox(destination, complaint_id, event_seq, next_attempt_at, "
        "created_at) SELECT ?1, complaint_id, seq, ?2, ?2 FROM events WHERE complaint_id = ?3 "
        "AND (?4 OR seq = ?5) AND NOT EXISTS (SELECT 1 FROM json_each(events.hops_json) "
        "WHERE value = ?6) ORDER BY seq")
        .bind(1, dest)
        .bind(2, now)
        .bind(3, id)
        .bind(4, first_time ? 1 : 0)
        .bind(5, seq)
        .bind(6, child)
        .run();
  }
}

void Store::insert_ref(const Ref& ref, const std::string& complaint_id, TimeMs now) {
  prepare("INSERT INTO refs(system, ext_id, complaint_id, created_at) VALUES (?,?,?,?)")
      .bind(1, ref.system)
      .bind(2, ref.id)
      .bind(3, complaint_id)
      .bind(4, now)
      .run();
}

std::vector<Event> Store::events_of(const std::string& complaint_id) {
  auto s = prepare(
      "SELECT event_id, origin, at, kind, actor_json, payload_json, hops_json FROM events "
      "WHERE complaint_id = ? ORDER BY seq");
  s.bind(1, complaint_id);
  std::vector<Event> out;
  while (s.step()) {
    Event e;
    e.event_id = s.text(0);
    e.complaint_id = complaint_id;
    e.origin = s.text(1);
    e.at = s.i64(2);
    auto kind = parse_event_kind(s.text(3));
    SIMPUL_CHECK(kind.has_value(), "stored event has an unknown kind");
    e.kind = *kind;
    e.actor = json::actor_from_json(s.text(4));
    e.payload = s.text(5);
    e.hops = json::hops_from_json(s.text(6));
    out.push_back(std::move(e));
  }
  return out;
}

ComplaintState Store::refresh_projection(const std::string& id, TimeMs now) {
  ComplaintState st = fold(events_of(id), ctx_);
  if (!st.exists) return st;
  const auto& r = st.record;
  prepare(
      "INSERT INTO complaints(id, seq, status, type, privacy, channel, region, agency, "
      "received_at, updated_at, verify_due, followup_due, autoclose_due, event_count, "
      "conflict_count, state_json) VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM "
      "complaints), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
      "ON CONFLICT(id) DO UPDATE SET seq = (SELECT max(seq) + 1 FROM complaints), "
      "status = ?2, type = ?3, privacy = ?4, channel = ?5, region = ?6, agency = ?7, "
      "received_at = ?8, updated_at = ?9, verify_due = ?10, followup_due = ?11, "
      "autoclose_due = ?12, event_count = ?13, conflict_count = ?14, state_json = ?15")
      .bind(1, id)
      .bind(2, to_string(st.status))
      .bind(3, to_string(r.type))
      .bind(4, to_string(r.privacy))
      .bind(5, to_string(r.channel))
      .bind_null_if_empty(6, r.region)
      .bind_null_if_empty(7, r.agency)
      .bind(8, r.received_at)
      .bind(9, st.updated_at)
      .bind(10, st.deadlines.verify_due)
      .bind(11, st.deadlines.followup_due)
      .bind(12, st.deadlines.autoclose_due)
      .bind(13, static_cast<std::int64_t>(st.event_count))
      .bind(14, static_cast<std::int64_t>(st.conflicts.size()))
      .bind(15, json::state_to_json(st, true))
      .run();
  prepare("DELETE FROM conflicts WHERE complaint_id = ?").bind(1, id).run();
  for (const auto& c : st.conflicts) {
    prepare(
        "INSERT INTO conflicts(event_id, complaint_id, kind, reason, detected_at) "
        "VALUES (?,?,?,?,?)")
        .bind(1, c.event_id)
        .bind(2, id)
        .bind(3, to_string(c.kind))
        .bind(4, c.reason)
        .bind(5, now)
        .run();
  }
  return st;
}

std::optional<std::string> Store::find_by_ref(const std::string& system, const std::string& ext_id) {
  auto s = prepare("SELECT complaint_id FROM refs WHERE system = ? AND ext_id = ?");
  s.bind(1, system).bind(2, ext_id);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

std::optional<std::string> Store::ref_of(const std::string& complaint_id, const std::string& system) {
  auto s = prepare("SELECT ext_id FROM refs WHERE complaint_id = ? AND system = ? ORDER BY created_at LIMIT 1");
  s.bind(1, complaint_id).bind(2, system);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

std::vector<Store::LinkedComplaint> Store::open_linked(const std::string& system, const std::string& after_id, int limit) {
  auto s = prepare(
      "SELECT r.complaint_id, r.ext_id, c.status FROM refs r JOIN complaints c ON c.id = r.complaint_id "
      "WHERE r.system = ? AND r.complaint_id > ? AND c.status NOT IN ('closed', 'archived', 'cancelled') "
      "ORDER BY r.complaint_id LIMIT ?");
  s.bind(1, system).bind(2, after_id).bind(3, limit);
  std::vector<LinkedComplaint> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), parse_status(s.text(2)).value_or(Status::received)});
  return out;
}

std::optional<std::string> Store::state_json(const std::string& id) {
  auto s = prepare("SELECT state_json FROM complaints WHERE id = ?");
  s.bind(1, id);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

namespace {
std::string describe_conflict(const Conflict& c) { return std::string(to_string(c.kind)) + ": " + c.reason; }
}  // namespace

std::optional<WriteOutcome> Store::replay_idempotent(const IngestRequest& req,
                                                     const std::string& request_hash) {
  if (req.idem_key.empty()) return std::nullopt;
  auto stored = recall_answer(req.idem_scope, req.idem_key);
  if (!stored) return std::nullopt;
  WriteOutcome out;
  if (stored->request_sha256 != request_hash) {
    out.kind = WriteOutcome::Kind::rejected;
    out.error = errc::idempotency_mismatch;
    out.body = "this Idempotency-Key was already used with a different request body";
    return out;
  }
  out.kind = WriteOutcome::Kind::replayed;
  out.complaint_id = stored->complaint_id;
  out.body = stored->body;
  return out;
}

std::optional<Store::StoredAnswer> Store::recall_answer(const std::string& scope, const std::string& key) {
  auto s = prepare(
      "SELECT request_sha256, status, coalesce(complaint_id, ''), response_json FROM idempotency "
      "WHERE scope = ? AND key = ?");
  s.bind(1, scope).bind(2, key);
  if (!s.step()) return std::nullopt;
  return StoredAnswer{s.text(0), static_cast<int>(s.i64(1)), s.text(2), s.text(3)};
}

void Store::remember_answer(const std::string& scope, const std::string& key, const std::string& request_sha256,
                            int status, const std::string& complaint_id, const std::string& body, TimeMs now) {
  prepare(
      "INSERT INTO idempotency(scope, key, request_sha256, status, complaint_id, response_json, created_at) "
      "VALUES (?,?,?,?,?,?,?)")
      .bind(1, scope)
      .bind(2, key)
      .bind(3, request_sha256)
      .bind(4, status)
      .bind(5, complaint_id)
      .bind(6, body)
      .bind(7, now)
      .run();
}

std::vector<std::pair<std::string, std::string>> Store::latest_raw_payloads(const std::string& source) {
  auto s = prepare(
      "SELECT complaint_id, body FROM raw_payloads WHERE id IN (SELECT max(id) FROM raw_payloads "
      "WHERE source = ?1 AND complaint_id IS NOT NULL GROUP BY complaint_id) ORDER BY id");
  s.bind(1, source);
  std::vector<std::pair<std::string, std::string>> out;
  while (s.step()) out.emplace_back(s.text(0), s.text(1));
  return out;
}

void Store::keep_raw_payload(const std::string& source, const std::string& complaint_id,
                             const std::string& content_type, std::string_view body, TimeMs now) {
  prepare(
      "INSERT INTO raw_payloads(source, complaint_id, content_type, body, sha256, received_at) "
      "VALUES (?,?,?,?,?,?)")
      .bind(1, source)
      .bind(2, complaint_id)
      .bind(3, content_type)
      .bind_blob(4, body)
      .bind(5, crypto::sha256_hex(body))
      .bind(6, now)
      .run();
}

std::optional<std::string> Store::created_payload(const std::string& complaint_id) {
  auto s = prepare("SELECT payload_json FROM events WHERE complaint_id = ? AND kind = 'created' ORDER BY seq LIMIT 1");
  s.bind(1, complaint_id);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

WriteOutcome Store::ingest(const IngestRequest& req) {
  const std::string request_hash = crypto::sha256_hex(req.raw_body);
  if (auto replay = replay_idempotent(req, request_hash)) return *replay;

  // A complaint is created once. The same record again is a duplicate; any other record under
  // an existing id would replace the original in the fold (the earlier `created` wins), so it
  // is refused, audited, and nothing of it is stored.
  if (!req.complaint.id.empty()) {
    if (auto existing = created_payload(req.complaint.id)) {
      WriteOutcome out;
      out.complaint_id = req.complaint.id;
      if (*existing == json::complaint_to_json(req.complaint, true)) {
        out.kind = WriteOutcome::Kind::duplicate;
        out.body = json::state_to_json(fold(events_of(req.complaint.id), ctx_), false);
        return out;
      }
      audit(req.now, req.actor.name.empty() ? req.raw_source : req.actor.name, "ingest.rejected",
            req.complaint.id, "{\"reason\":\"a different complaint with this id exists\"}");
      out.kind = WriteOutcome::Kind::rejected;
      out.error = errc::already_exists;
      out.body = "a complaint with this id already exists; post events to change it";
      out.pointer = "/id";
      return out;
    }
  }
  Savepoint guard(*this, "ingest");

  auto remember = [&](const WriteOutcome& out) {
    if (req.idem_key.empty()) return;
    // The answer as the API gave it (201 created, 200 the same complaint), replayed with 200.
    remember_answer(req.idem_scope, req.idem_key, request_hash, out.stored() ? 201 : 200, out.complaint_id, out.body,
                    req.now);
  };

  // A source that resends a complaint we already hold (same external id) gets the original.
  for (const auto& ref : req.complaint.refs) {
    if (auto existing = find_by_ref(ref.system, ref.id)) {
      WriteOutcome out;
      out.kind = WriteOutcome::Kind::duplicate;
      out.complaint_id = *existing;
      out.body = json::state_to_json(fold(events_of(*existing), ctx_), false);
      remember(out);
      guard.keep();
      return out;
    }
  }

  Complaint c = req.complaint;
  if (c.id.empty()) c.id = make_uuid_v7(req.now);
  Event created;
  created.event_id = make_uuid_v7(req.now);
  created.complaint_id = c.id;
  created.origin = req.origin;
  created.at = c.received_at;
  created.actor = req.actor;
  created.kind = EventKind::created;
  created.payload = json::complaint_to_json(c, true);
  created.hops = {req.origin};

  std::vector<std::int64_t> seqs{insert_event(created, req.now, req.destinations, c.id)};
  TimeMs last = created.at;
  for (Event e : req.history) {
    e.complaint_id = c.id;
    e.at = std::max(e.at, last + 1);
    last = e.at;
    seqs.push_back(insert_event(e, req.now, req.destinations, c.id));
  }
  for (const auto& ref : c.refs) insert_ref(ref, c.id, req.now);
  ComplaintState st = refresh_projection(c.id, req.now);
  SIMPUL_CHECK(st.exists, "a freshly created complaint must fold to an existing state");
  if (!st.conflicts.empty()) {
    WriteOutcome out;
    out.kind = WriteOutcome::Kind::rejected;
    out.error = errc::transition_not_allowed;
    out.complaint_id = c.id;
    out.body = "history: " + describe_conflict(st.conflicts.front());
    return out;
  }
  for (auto seq : seqs) fan_out(c.id, st, seq, req.now);
  keep_raw_payload(req.raw_source, c.id, req.content_type, req.raw_body, req.now);

  WriteOutcome out;
  out.kind = WriteOutcome::Kind::created;
  out.complaint_id = c.id;
  out.body = json::state_to_json(st, false);
  remember(out);
  guard.keep();
  return out;
}

WriteOutcome Store::append_event(const AppendRequest& req) {
  Event e = req.event;
  const TimeMs now = req.now ? req.now : req.event.at;
  Savepoint guard(*this, "append");
  WriteOutcome out;
  out.complaint_id = e.complaint_id;
  auto fail = [&](errc code, std::string detail, std::string pointer = "") {
    out.kind = WriteOutcome::Kind::rejected;
    out.error = code;
    out.body = std::move(detail);
    out.pointer = std::move(pointer);
    return out;
  };
  auto answer = [&](const ComplaintState& st) {
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    w.Key("event_id");
    w.String(e.event_id.c_str());
    w.EndObject();
    std::string head(buf.GetString(), buf.GetSize());
    head.pop_back();
    return head + ",\"complaint\":" + json::state_to_json(st, false) + "}";
  };

  auto dup = prepare("SELECT complaint_id, kind, payload_json FROM events WHERE event_id = ?");
  dup.bind(1, e.event_id);
  if (dup.step()) {
    if (dup.text(0) != e.complaint_id || dup.text(1) != to_string(e.kind) ||
        dup.text(2) != e.payload) {
      return fail(errc::idempotency_mismatch, "this event_id was already used for another event",
                  "/event_id");
    }
    out.kind = WriteOutcome::Kind::replayed;
    out.body = answer(fold(events_of(e.complaint_id), ctx_));
    guard.keep();
    return out;
  }

  std::vector<Event> events = events_of(e.complaint_id);
  if (events.empty()) return fail(errc::not_found, "no such complaint");
  if (req.after_latest) {
    for (const auto& prior : events) e.at = std::max(e.at, prior.at + 1);
  }
  ComplaintState before = fold(events, ctx_);
  if (auto why = transition_error(before.status, e.kind))
    return fail(errc::transition_not_allowed, *why, "/kind");
  if (e.kind == EventKind::amended) {
    auto payload = json::parse(e.payload);
    const rapidjson::Value* fields = nullptr;
    if (payload && payload->IsObject() && payload->HasMember("fields")) fields = &(*payload)["fields"];
    if (fields && fields->IsObject() && fields->HasMember("privacy") && (*fields)["privacy"].IsString()) {
      auto to = parse_privacy((*fields)["privacy"].GetString());
      if (to && privacy_rank(*to) < privacy_rank(before.record.privacy)) {
        if (!req.may_lower_privacy)
          return fail(errc::forbidden, "only an admin may lower a complaint's privacy", "/payload/fields/privacy");
        audit(now, e.actor.name.empty() ? e.actor.role : e.actor.name, "privacy.lowered", e.complaint_id,
              "{\"from\":\"" + std::string(to_string(before.record.privacy)) + "\",\"to\":\"" +
                  std::string(to_string(*to)) + "\"}");
      }
    }
  }
  events.push_back(e);
  ComplaintState after = fold(events, ctx_);
  for (const auto& c : after.conflicts) {
    if (c.event_id == e.event_id) return fail(errc::invalid_value, c.reason, "/payload");
  }
  if (e.kind == EventKind::linked) {
    auto payload = json::parse(e.payload);  // valid: the fold above accepted it
    Ref ref{json::get_string(*payload, "system"), json::get_string(*payload, "id")};
    if (auto owner = find_by_ref(ref.system, ref.id)) {
      if (*owner != e.complaint_id)
        return fail(errc::transition_not_allowed,
                    ref.system + ":" + ref.id + " is already linked to complaint " + *owner,
                    "/payload");
    } else {
      insert_ref(ref, e.complaint_id, now);
    }
  }
  std::int64_t seq = insert_event(e, now, req.destinations, e.complaint_id);
  ComplaintState st = refresh_projection(e.complaint_id, now);
  fan_out(e.complaint_id, st, seq, now);
  out.kind = WriteOutcome::Kind::created;
  out.body = answer(st);
  guard.keep();
  return out;
}

namespace {

// Why a `created` event from another node does not carry a valid record of its own complaint
// (validated like the API's own input), or nullopt; `out` is the record when it does.
std::optional<std::string> invalid_record(const Event& e, Complaint& out) {
  auto doc = json::parse(e.payload);
  if (!doc || !doc->IsObject()) return "a created event's payload must be a complaint record";
  if (json::get_string(*doc, "id") != e.complaint_id) return "the record's id is not the event's complaint_id";
  if (auto bad = JsonSchema::builtin("schema/complaint.schema.json").validate(*doc))
    return "the record is not a valid complaint: " + bad->pointer + ": " + bad->detail;
  auto rec = json::complaint_from_value(*doc);
  if (!rec) return "the record is not a valid complaint: " + rec.error().detail;
  out = std::move(*rec);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> Store::refuse_from_child(const std::string& child, Event& e, TimeMs now,
                                                    bool& duplicate) {
  duplicate = false;
  const auto& hops = e.hops;
  if (hops.empty() || hops.back() != child) return "the hop path must end with the sending node";
  if (hops.front() != e.origin) return "the hop path must start at the event's origin";
  for (std::size_t i = 0; i < hops.size(); ++i) {
    if (std::find(hops.begin() + static_cast<std::ptrdiff_t>(i) + 1, hops.end(), hops[i]) != hops.end())
      return "the hop path names " + hops[i] + " twice";
    if (hops[i] == self_) return "the hop path names this node: the event has been here already";
    if (!upstream_.empty() && hops[i] == upstream_)
      return "the hop path names " + hops[i] + ", this node's parent: it cannot come from below";
    // Another child of this node is a sibling of the sender, never below it.
    if (i + 1 < hops.size() && directory_.find(hops[i]))
      return "the hop path names " + hops[i] + ", another child of this node, below " + child;
  }
  if (e.at > now + max_skew_ms_)
    return "the event is stamped " + std::to_string((e.at - now) / 1000) +
           " s in the future (more than the allowed clock skew of " + std::to_string(max_skew_ms_ / 1000) +
           " s): correct the sending node's clock";

  if (e.kind == EventKind::created) {
    Complaint record;
    if (auto bad = invalid_record(e, record)) return bad;
    const Complaint* rec = &record;
    const ChildNode* node = directory_.find(child);
    if (node && !node->regions.empty()) {
      bool within = std::any_of(node->regions.begin(), node->regions.end(),
                                [&](const std::string& r) { return region_within(rec->region, r); });
      if (!within)
        return "the complaint's region " + (rec->region.empty() ? std::string("(none)") : rec->region) +
               " is not within " + child + "'s regions";
    }
    if (auto existing = created_payload(e.complaint_id)) {
      // The same record again (resent under another event id) changes nothing.
      Event copy = e;
      redact_for_hop(copy, rec->privacy);
      if (copy.payload == *existing) {
        duplicate = true;
        return std::nullopt;
      }
      return "a complaint with this id exists: a second created event would replace its record";
    }
    return std::nullopt;
  }

  if (!complaint_known(e.complaint_id)) return std::nullopt;  // the caller answers "retry"
  if (!visible_to(e.complaint_id, child)) return "the complaint was neither created by nor routed to " + child;
  return std::nullopt;
}

bool Store::event_known(const std::string& event_id) {
  auto s = prepare("SELECT 1 FROM events WHERE event_id = ?");
  s.bind(1, event_id);
  return s.step();
}

void Store::audit_refused(TimeMs now, const std::string& from, const Event& e, const std::string& reason) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("event_id");
  w.String(e.event_id.c_str());
  w.Key("kind");
  auto kind = to_string(e.kind);
  w.String(kind.data(), static_cast<rapidjson::SizeType>(kind.size()));
  w.Key("reason");
  w.String(reason.c_str());
  w.EndObject();
  audit(now, from, "fed.rejected", e.complaint_id, std::string(buf.GetString(), buf.GetSize()));
}

std::vector<MergeOutcome> Store::merge_from_child(const std::string& child, std::vector<Event> events,
                                                  TimeMs now) {
  std::vector<MergeOutcome> out;
  out.reserve(events.size());
  for (auto& e : events) {
    MergeOutcome r{e.event_id, MergeResult::accepted, ""};
    if (event_known(e.event_id)) {
      r.outcome = MergeResult::duplicate;
      out.push_back(std::move(r));
      continue;
    }
    bool duplicate = false;
    auto why = refuse_from_child(child, e, now, duplicate);
    if (!why && duplicate) {
      r.outcome = MergeResult::duplicate;
    } else if (!why && e.kind != EventKind::created && !complaint_known(e.complaint_id)) {
      // Its `created` is still on the way (a reordered delivery): not an error, send it again.
      r.outcome = MergeResult::retry;
      r.reason = "unknown complaint; send its created event first";
    } else if (!why) {
      // Second line of defence: never keep personal data a child should not have sent. For a
      // new complaint the `created` payload's own flag decides (redact_for_hop reads it).
      redact_for_hop(e, projected_privacy(e.complaint_id).value_or(Privacy::public_));
      // Validated like the API's own input, in the fold the merge does anyway: a payload the
      // fold cannot read is undone and refused. An event that is only out of order with what
      // this node holds (concurrent actions on two nodes) is kept and shown as a conflict for
      // an admin, as every conflict is.
      Savepoint merge(*this, "merge");
      Merged m = store_merged(e, now);
      for (const auto& c : m.state.conflicts)
        if (c.event_id == e.event_id && !c.out_of_order) why = "the event cannot be applied: " + c.reason;
      if (!why) merge.keep();
    }
    if (why) {
      r.outcome = MergeResult::rejected;
      r.reason = std::move(*why);
      audit_refused(now, "node:" + child, e, r.reason);  // after the savepoint is undone: it stays
    }
    out.push_back(std::move(r));
  }
  return out;
}

Store::Merged Store::store_merged(Event& e, TimeMs now) {
  e.hops.push_back(self_);
  std::int64_t seq = insert_event(e, now, {}, e.complaint_id);
  // The external ids the event carries, unless another complaint here already holds them.
  if (e.kind == EventKind::linked || e.kind == EventKind::created) {
    auto p = json::parse(e.payload);
    if (p && p->IsObject()) {
      std::vector<Ref> refs;
      if (e.kind == EventKind::linked) {
        refs.push_back({json::get_string(*p, "system"), json::get_string(*p, "id")});
      } else if (auto rec = json::complaint_from_value(*p)) {
        refs = rec->refs;
      }
      for (const auto& ref : refs)
        if (!ref.system.empty() && !ref.id.empty() && !find_by_ref(ref.system, ref.id))
          insert_ref(ref, e.complaint_id, now);
    }
  }
  Merged m{seq, refresh_projection(e.complaint_id, now)};
  fan_out(e.complaint_id, m.state, seq, now);
  return m;
}

std::optional<Privacy> Store::projected_privacy(const std::string& complaint_id) {
  auto s = prepare("SELECT privacy FROM complaints WHERE id = ?");
  s.bind(1, complaint_id);
  if (!s.step()) return std::nullopt;
  return parse_privacy(s.text(0));
}

int Store::merge_from_parent(std::vector<Event> events, const std::string& cursor_value, TimeMs now,
                             const std::string& cursor_name) {
  int fresh = 0;
  for (auto& e : events) {
    if (event_known(e.event_id)) continue;
    if (std::find(e.hops.begin(), e.hops.end(), self_) != e.hops.end()) continue;  // our own
    if (e.kind == EventKind::created) {
      // The parent decides, but a complaint is created once, and with a valid record: a second
      // record under its id would replace the one this node holds. Kept out, audited for an admin.
      const std::string parent = "node:" + (upstream_.empty() ? std::string("parent") : upstream_);
      Complaint record;
      if (auto bad = invalid_record(e, record)) {
        audit_refused(now, parent, e, *bad);
        continue;
      }
      if (auto existing = created_payload(e.complaint_id)) {
        if (*existing != e.payload) audit_refused(now, parent, e, "a complaint with this id exists");
        continue;
      }
    }
    store_merged(e, now);
    ++fresh;
  }
  set_cursor(cursor_name, cursor_value, now);
  return fresh;
}

std::vector<QueuedEvent> Store::sent_by(const std::string& child, TimeMs since, std::int64_t after_seq, int limit) {
  auto s = prepare(
      "SELECT e.seq, e.event_id, e.complaint_id, e.origin, e.at, e.kind, e.actor_json, e.payload_json, "
      "e.hops_json, coalesce(c.privacy, 'anonim') FROM events e INDEXED BY events_stored LEFT JOIN "
      "complaints c ON c.id = e.complaint_id WHERE e.stored_at >= ?1 AND e.seq > ?2 AND EXISTS (SELECT 1 FROM "
      "json_each(e.hops_json) WHERE value = ?3) ORDER BY e.seq LIMIT ?4");
  s.bind(1, since).bind(2, after_seq).bind(3, child).bind(4, limit);
  std::vector<QueuedEvent> out;
  while (s.step()) out.push_back(queued_event(s));
  return out;
}

TimeMs Store::latest_stored_at() {
  auto s = prepare("SELECT coalesce(max(stored_at), 0) FROM events");
  s.step();
  return s.i64(0);
}

int Store::merge_recovered(std::vector<Event> events, TimeMs now) {
  int fresh = 0;
  for (auto& e : events) {
    auto here = std::find(e.hops.begin(), e.hops.end(), self_);
    if (here == e.hops.end()) continue;  // not this node's past
    if (event_known(e.event_id)) continue;
    if (e.kind == EventKind::created && created_payload(e.complaint_id)) continue;
    e.hops.erase(here + 1, e.hops.end());
    e.hops.pop_back();  // store_merged appends this node again
    Merged m = store_merged(e, now);
    // The parent has it: what fan_out queued for it is done already.
    prepare("UPDATE outbox SET state = 'done' WHERE destination = 'upstream' AND event_seq = ?")
        .bind(1, m.seq)
        .run();
    ++fresh;
  }
  return fresh;
}

std::string Store::cursor(const std::string& name) {
  auto s = prepare("SELECT value FROM cursors WHERE name = ?");
  s.bind(1, name);
  return s.step() ? s.text(0) : std::string();
}

void Store::set_cursor(const std::string& name, const std::string& value, TimeMs now) {
  prepare(
      "INSERT INTO cursors(name, value, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET value = ?2, updated_at = ?3")
      .bind(1, name)
      .bind(2, value)
      .bind(3, now)
      .run();
}

QueuedEvent Store::queued_event(Stmt& s) {
  QueuedEvent item;
  item.id = s.i64(0);
  item.event.event_id = s.text(1);
  item.event.complaint_id = s.text(2);
  item.event.origin = s.text(3);
  item.event.at = s.i64(4);
  item.event.kind = parse_event_kind(s.text(5)).value_or(EventKind::amended);
  item.event.actor = json::actor_from_json(s.text(6));
  item.event.payload = s.text(7);
  item.event.hops = json::hops_from_json(s.text(8));
  item.privacy = parse_privacy(s.text(9)).value_or(Privacy::anonim);
  return item;
}

std::vector<QueuedEvent> Store::due_outbox(const std::string& destination, TimeMs now, int limit) {
  auto s = prepare(
      "SELECT o.id, e.event_id, e.complaint_id, e.origin, e.at, e.kind, e.actor_json, "
      "e.payload_json, e.hops_json, coalesce(c.privacy, 'anonim') FROM outbox o "
      "JOIN events e ON e.seq = o.event_seq LEFT JOIN complaints c ON c.id = e.complaint_id "
      // Two ranges of the outbox_due index (a plain OR made SQLite walk every row the
      // destination ever had, done ones included, in id order).
      "WHERE o.id IN (SELECT id FROM outbox WHERE destination = ?1 AND state = 'pending' AND "
      "next_attempt_at <= ?2 UNION ALL SELECT id FROM outbox WHERE destination = ?1 AND state = "
      "'pending' AND next_attempt_at > ?2 + ?4) ORDER BY o.id LIMIT ?3");
  s.bind(1, destination).bind(2, now).bind(3, limit).bind(4, kLongestRetryDelayMs);
  std::vector<QueuedEvent> out;
  while (s.step()) out.push_back(queued_event(s));
  return out;
}

void Store::outbox_done(std::int64_t id) {
  prepare("UPDATE outbox SET state = 'done', attempts = attempts + 1, last_error = NULL WHERE id = ?")
      .bind(1, id)
      .run();
}

void Store::outbox_dead(std::int64_t id, const std::string& destination, const std::string& error, TimeMs now) {
  prepare("UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?")
      .bind(1, error)
      .bind(2, id)
      .run();
  prepare(
      "INSERT INTO dead_letters(destination, outbox_id, complaint_id, event_id, error, created_at) "
      "SELECT ?, o.id, o.complaint_id, e.event_id, ?, ? FROM outbox o JOIN events e ON e.seq = "
      "o.event_seq WHERE o.id = ?")
      .bind(1, destination)
      .bind(2, error)
      .bind(3, now)
      .bind(4, id)
      .run();
}

void Store::inbound_dead_letter(const std::string& destination, const std::string& error, TimeMs now) {
  // A polled record is read again by later cycles (overlap): list it once.
  prepare(
      "INSERT INTO dead_letters(destination, error, created_at) SELECT ?1, ?2, ?3 WHERE NOT EXISTS "
      "(SELECT 1 FROM dead_letters WHERE destination = ?1 AND error = ?2 AND outbox_id IS NULL)")
      .bind(1, destination)
      .bind(2, error)
      .bind(3, now)
      .run();
}

void Store::outbox_failed(std::int64_t id, const std::string& error, TimeMs retry_at) {
  prepare("UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?")
      .bind(1, error)
      .bind(2, retry_at)
      .bind(3, id)
      .run();
}

std::int64_t Store::dead_letter_count() {
  auto s = prepare("SELECT count(*) FROM dead_letters");
  s.step();
  return s.i64(0);
}

Store::LinkBacklog Store::backlog(const std::string& destination) {
  LinkBacklog b;
  auto s = prepare(
      "SELECT count(*), min(created_at), sum(attempts > 0) FROM outbox "
      "WHERE destination = ? AND state = 'pending'");
  s.bind(1, destination);
  if (s.step()) {
    b.pending = s.i64(0);
    if (!s.null(1)) b.oldest_pending = s.i64(1);
    b.retrying = s.null(2) ? 0 : s.i64(2);
  }
  auto e = prepare(
      "SELECT last_error FROM outbox WHERE destination = ? AND state = 'pending' AND "
      "last_error IS NOT NULL ORDER BY next_attempt_at DESC LIMIT 1");
  e.bind(1, destination);
  if (e.step()) b.last_error = e.text(0);
  auto d = prepare("SELECT count(*) FROM dead_letters WHERE destination = ?");
  d.bind(1, destination);
  if (d.step()) b.dead = d.i64(0);
  return b;
}

namespace {
std::string ack_cursor_name(const std::string& child) { return "feed." + child + ".acked"; }
}  // namespace

Store::FeedBacklog Store::feed_backlog(const std::string& child) {
  FeedBacklog b;
  auto c = prepare("SELECT value, updated_at FROM cursors WHERE name = ?");
  c.bind(1, ack_cursor_name(child));
  if (c.step()) {
    b.acked = std::strtoll(c.text(0).c_str(), nullptr, 10);
    b.acked_at = c.i64(1);
  }
  auto s = prepare("SELECT count(*), min(created_at) FROM outbox WHERE destination = ? AND id > ?");
  s.bind(1, "child:" + child).bind(2, b.acked);
  if (s.step()) {
    b.unfetched = s.i64(0);
    if (!s.null(1)) b.oldest_unfetched = s.i64(1);
  }
  return b;
}

int Store::feed_acked(const std::string& child, std::int64_t position, TimeMs now) {
  const std::string name = ack_cursor_name(child);
  std::string current = cursor(name);
  if (!current.empty() && std::strtoll(current.c_str(), nullptr, 10) >= position) return 0;
  set_cursor(name, std::to_string(position), now);
  prepare(
      "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE destination = ?1 AND id <= ?2 "
      "AND created_at < ?3 ORDER BY id LIMIT ?4)")
      .bind(1, "child:" + child)
      .bind(2, position)
      .bind(3, now - kFeedRetentionMs)
      .bind(4, kFeedPruneBatch)
      .run();
  return sqlite3_changes(db_);
}

std::vector<Store::DeadLetter> Store::dead_letters(int limit) {
  auto s = prepare(
      "SELECT id, destination, coalesce(complaint_id, ''), coalesce(event_id, ''), error, created_at "
      "FROM dead_letters ORDER BY id LIMIT ?");
  s.bind(1, limit);
  std::vector<DeadLetter> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i64(5)});
  return out;
}

Store::DeadLetterRetry Store::retry_dead_letter(std::int64_t id, TimeMs now) {
  auto kind = prepare("SELECT outbox_id IS NULL FROM dead_letters WHERE id = ?");
  kind.bind(1, id);
  if (!kind.step()) return DeadLetterRetry::unknown;
  // An inbound dead letter is a record the app still holds that could not be mapped: there is
  // no outbox row to put back. It stays listed until it is dropped (after fixing the mapping,
  // the next poll or redelivery brings the record in).
  if (kind.i64(0) != 0) return DeadLetterRetry::inbound;
  prepare(
      "UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = NULL "
      "WHERE id = (SELECT outbox_id FROM dead_letters WHERE id = ?) AND state = 'dead'")
      .bind(1, now)
      .bind(2, id)
      .run();
  drop_dead_letter(id);
  return DeadLetterRetry::requeued;
}

bool Store::drop_dead_letter(std::int64_t id) {
  prepare("DELETE FROM dead_letters WHERE id = ?").bind(1, id).run();
  return sqlite3_changes(db_) > 0;
}

FeedPage Store::feed(const std::string& child, std::int64_t after_id, int limit) {
  auto s = prepare(
      "SELECT o.id, e.event_id, e.complaint_id, e.origin, e.at, e.kind, e.actor_json, "
      "e.payload_json, e.hops_json, coalesce(c.privacy, 'anonim') FROM outbox o "
      "JOIN events e ON e.seq = o.event_seq LEFT JOIN complaints c ON c.id = e.complaint_id "
      "WHERE o.destination = ? AND o.id > ? ORDER BY o.id LIMIT ?");
  s.bind(1, "child:" + child).bind(2, after_id).bind(3, limit);
  FeedPage page;
  page.last_id = after_id;
  while (s.step()) {
    page.items.push_back(queued_event(s));
    page.last_id = page.items.back().id;
  }
  return page;
}

ListPage Store::list(const ListQuery& q) {
  auto s = prepare(
      "SELECT seq, state_json FROM complaints WHERE seq > ?1 AND (?2 IS NULL OR status = ?2) "
      "AND (?3 IS NULL OR updated_at >= ?3) ORDER BY seq LIMIT ?4");
  s.bind(1, q.after_seq);
  if (q.status) s.bind(2, to_string(*q.status));
  s.bind(3, q.since);
  s.bind(4, q.limit + 1);
  ListPage page;
  while (s.step()) {
    if (static_cast<int>(page.states.size()) == q.limit) {
      page.more = true;
      break;
    }
    page.last_seq = s.i64(0);
    page.states.push_back(s.text(1));
  }
  return page;
}

std::int64_t Store::complaint_count() {
  auto s = prepare("SELECT count(*) FROM complaints");
  s.step();
  return s.i64(0);
}

std::int64_t Store::event_count() {
  auto s = prepare("SELECT count(*) FROM events");
  s.step();
  return s.i64(0);
}

std::int64_t Store::outbox_depth() {
  // Child feeds (child:*) are pulled by the children with their own cursors: not a backlog.
  auto s = prepare("SELECT count(*) FROM outbox WHERE state = 'pending' AND destination NOT LIKE 'child:%'");
  s.step();
  return s.i64(0);
}

Store::NewToken Store::create_token(const std::string& name, const std::string& scopes,
                                    const std::string& node_id, TimeMs now) {
  NewToken t;
  // Hex, so an id never starts with '-' (the CLI would read it as an option) nor holds '.'.
  unsigned char raw[5];
  crypto::random_bytes(raw, sizeof raw);
  t.id = crypto::to_hex(raw, sizeof raw);
  t.secret = "spl." + t.id + "." + crypto::random_token(32);
  prepare(
      "INSERT INTO api_tokens(id, name, sha256, scopes, node_id, created_at) VALUES (?,?,?,?,?,?)")
      .bind(1, t.id)
      .bind(2, name)
      .bind(3, crypto::sha256_hex(t.secret))
      .bind(4, scopes)
      .bind_null_if_empty(5, node_id)
      .bind(6, now)
      .run();
  return t;
}

bool Store::revoke_token(const std::string& id, TimeMs now) {
  prepare("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
      .bind(1, now)
      .bind(2, id)
      .run();
  return sqlite3_changes(db_) > 0;
}

std::optional<StoredToken> Store::find_token_by_hash(const std::string& sha256_hex) {
  auto s = prepare(
      "SELECT id, name, scopes, coalesce(node_id, ''), created_at, revoked_at FROM api_tokens "
      "WHERE sha256 = ?");
  s.bind(1, sha256_hex);
  if (!s.step()) return std::nullopt;
  StoredToken t{s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4), std::nullopt};
  if (!s.null(5)) t.revoked_at = s.i64(5);
  return t;
}

std::vector<StoredToken> Store::list_tokens() {
  auto s = prepare(
      "SELECT id, name, scopes, coalesce(node_id, ''), created_at, revoked_at FROM api_tokens "
      "ORDER BY created_at");
  std::vector<StoredToken> out;
  while (s.step()) {
    StoredToken t{s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4), std::nullopt};
    if (!s.null(5)) t.revoked_at = s.i64(5);
    out.push_back(std::move(t));
  }
  return out;
}

void Store::audit(TimeMs at, const std::string& actor, const std::string& action,
                  const std::string& target, const std::string& detail_json) {
  prepare("INSERT INTO audit_log(at, actor, action, target, detail_json) VALUES (?,?,?,?,?)")
      .bind(1, at)
      .bind(2, actor)
      .bind(3, action)
      .bind(4, target)
      .bind(5, detail_json)
      .run();
}

void Store::backup_to(const std::string& dest_path) {
  namespace fs = std::filesystem;
  const std::string partial = dest_path + ".partial";
  std::error_code ec;
  if (fs::exists(dest_path, ec))
    throw StoreError(errc::storage_failure, 0, "backup: " + dest_path + " exists; choose a new file");
  fs::remove(partial, ec);  // what a killed earlier run left
  // VACUUM INTO copies one read snapshot: in WAL mode writers go on meanwhile and never make it
  // start over (the backup API restarts whenever another connection writes, and under six
  // writers never finished a 219 MB store).
  auto s = prepare("VACUUM INTO ?");
  s.bind(1, partial);
  try {
    s.run();
  } catch (...) {
    fs::remove(partial, ec);
    throw;
  }
  auto fail = [&](const std::string& why) {
    fs::remove(partial, ec);
    throw StoreError(errc::storage_failure, 0, "backup to " + dest_path + " failed: " + why);
  };
  {
    sqlite3* copy = nullptr;
    if (sqlite3_open_v2(partial.c_str(), &copy, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(copy);
      fail("cannot open the copy");
    }
    std::string verdict;
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(copy, "PRAGMA quick_check", -1, &q, nullptr) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
      verdict = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(copy);
    if (verdict != "ok") fail("the copy does not pass PRAGMA quick_check");
  }
  auto sync_path = [&](const std::string& path, bool dir) {
    int fd = ::open(path.c_str(), dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) return false;
    bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
  };
  if (!sync_path(partial, false)) fail("cannot sync the copy");
  fs::rename(partial, dest_path, ec);
  if (ec) fail("cannot rename the copy into place: " + ec.message());
  auto dir = fs::absolute(dest_path).parent_path().string();
  sync_path(dir, true);
}

}  // namespace simpul
