#include "store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/redact.hpp"
#include "core/resources.hpp"
#include "simpul/cursor.hpp"
#include "store/sqlite/packing.hpp"
#include "store/sqlite/statement.hpp"

namespace simpul {
namespace {

using sqlite::classify;

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

// What a packed event payload is packed against besides the field names: what its row says in
// other columns, which a `created` record repeats (packing.hpp).
std::string payload_context(const std::string& complaint_id, TimeMs at) {
  return "\"id\":\"" + complaint_id + "\"" + format_utc(at);
}

// Reporters' identities at rest (schema 11, core/seal.hpp). The places an event can name its
// reporter are core/redact.hpp's; an event of another kind is never looked up.
bool may_name_reporter(const Event& e) {
  return e.kind == EventKind::created || e.kind == EventKind::amended ||
         actor_identifies_reporter(e);
}

// The event without its reporter, or nullopt when it names none.
std::optional<Event> without_identity(const Event& e) {
  if (!may_name_reporter(e)) return std::nullopt;
  Event stripped = e;
  redact_reporter(stripped);
  if (stripped.payload == e.payload && stripped.actor == e.actor) return std::nullopt;
  return stripped;
}

std::string identity_context(const std::string& event_id) {
  return "simpul-identity-1\n" + event_id;
}

// What is sealed of an event: its actor's name and its payload, as they came.
std::string sealed_form(const Event& e) {
  return std::to_string(e.actor.name.size()) + ":" + e.actor.name +
         sqlite::pack_payload(e.payload, payload_context(e.complaint_id, e.at));
}

bool from_sealed_form(std::string_view plain, Event& e) {
  auto colon = plain.find(':');
  if (colon == std::string_view::npos || colon > 9) return false;
  std::size_t n = 0;
  for (char c : plain.substr(0, colon)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (plain.size() < colon + 1 + n) return false;
  auto payload =
      sqlite::unpack_payload(plain.substr(colon + 1 + n), payload_context(e.complaint_id, e.at));
  if (!payload) return false;
  e.actor.name = std::string(plain.substr(colon + 1, n));
  e.payload = std::move(*payload);
  return true;
}

std::string raw_context(const std::string& source, const std::string& complaint_id) {
  return "simpul-raw-1\n" + source + "\n" + complaint_id;
}

// Event payloads shorter than this are kept as their JSON text.
constexpr std::size_t kPackPayloadsFrom = 160;

}  // namespace

// A cached prepared statement, borrowed for one use (sqlite::Statement), with what the store's
// rows need on top: packed payloads and digests kept as bytes.
class SqliteStore::Stmt : public sqlite::Statement {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : Statement(db, s, false) {}
  // An event payload: a short one as its JSON text (packing it would save a few bytes for the
  // cost of a dictionary), a longer one packed (a BLOB; packing.hpp).
  Stmt& bind_payload(int i, const std::string& json, const std::string& complaint_id, TimeMs at) {
    if (json.size() < kPackPayloadsFrom)
      bind(i, json);
    else
      bind_blob(i, sqlite::pack_payload(json, payload_context(complaint_id, at)));
    return *this;
  }
  // A lowercase hex digest kept as its bytes (half the size); any other text as it is.
  Stmt& bind_digest(int i, const std::string& hex) {
    std::string bytes;
    auto nibble = [](char c) { return c >= 'a' ? c - 'a' + 10 : c - '0'; };
    bool is_hex = !hex.empty() && hex.size() % 2 == 0 &&
                  hex.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (!is_hex) {
      bind(i, hex);
      return *this;
    }
    for (std::size_t k = 0; k < hex.size(); k += 2)
      bytes.push_back(static_cast<char>(nibble(hex[k]) * 16 + nibble(hex[k + 1])));
    bind_blob(i, bytes);
    return *this;
  }
  // The bind calls of the base, returning this type so that chains go on.
  template <class T>
  Stmt& bind(int i, const T& v) {
    Statement::bind(i, v);
    return *this;
  }
  Stmt& bind_null_if_empty(int i, const std::string& v) {
    Statement::bind_null_if_empty(i, v);
    return *this;
  }
  // What bind_digest kept, as the hex it was given (rows before schema 5 hold the hex).
  std::string digest(int col) {
    if (!is_blob(col)) return text(col);
    std::string b = text(col);
    return crypto::to_hex(reinterpret_cast<const unsigned char*>(b.data()), b.size());
  }
  // An event payload: JSON text as written before schema 5, or packed (a BLOB, packing.hpp).
  // `complaint_id` and `at` are the row's own (payload_context).
  std::string payload(int col, const std::string& complaint_id, TimeMs at) {
    if (!is_blob(col)) return text(col);
    auto whole = sqlite::unpack_payload(text(col), payload_context(complaint_id, at));
    if (!whole)
      throw StoreError(errc::storage_failure, "a stored event payload cannot be unpacked");
    return std::move(*whole);
  }
};

namespace {
// An empty file only its owner may read and write (0600, whatever the umask): the store holds
// reporters' names and numbers, and SQLite gives the WAL and shared-memory files the mode of
// the database file. False when it exists already.
bool create_private(const std::string& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// fsync of a file, or of a directory (a rename in it made durable). False when it fails.
bool sync_to_disk(const std::string& path, bool dir) {
  int fd = ::open(path.c_str(), dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// A store file others may read is made 0600 (a store created before this rule); its owner's
// own bits are kept.
void make_private(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  if (::chmod(path.c_str(), st.st_mode & 0700) == 0)
    log::warn("store.mode_tightened",
              {{"path", path}, {"detail", "others could read it; now 0600"}});
}
}  // namespace

SqliteStore::SqliteStore(StoreOptions opt) : opt_(std::move(opt)) {
  on_disk_ = !opt_.path.empty() && opt_.path != ":memory:" && opt_.path.rfind("file:", 0) != 0;
  bool creating = false;
  if (on_disk_ && !std::filesystem::exists(opt_.path)) {
    if (!opt_.create) throw StoreError(errc::storage_failure, "no database at " + opt_.path);
    if (std::filesystem::exists(expected_marker(opt_.path)) && !opt_.recreate)
      throw StoreError(errc::storage_failure,
                       "the database " + opt_.path + " is missing, but this node had one (" +
                           expected_marker(opt_.path) +
                           " is there): restore it from a backup, or start with --new-store to "
                           "begin an empty store");
    creating = true;
    create_private(opt_.path);
  } else if (on_disk_) {
    for (const char* suffix : {"", "-wal", "-shm"}) make_private(opt_.path + suffix);
  }
  int rc = sqlite3_open_v2(
      opt_.path.c_str(), &db_,
      SQLITE_OPEN_READWRITE | (opt_.create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(classify(rc), "cannot open database " + opt_.path + ": " + msg);
  }
  // A constructor that throws never runs the destructor: release the handle ourselves.
  try {
    sqlite3_busy_timeout(db_, opt_.busy_timeout_ms);
    sqlite3_extended_result_codes(db_, 1);
    // A new store returns the pages retention frees to the file system, a batch at a time. Set
    // while the file is empty, before WAL mode writes its first page; an older store keeps
    // reusing its free pages instead.
    if (creating) exec("PRAGMA auto_vacuum=INCREMENTAL");
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
    // A row rewritten when its identity is sealed in place leaves no copy of the old bytes in
    // the page's free space (at no extra I/O: pages being written anyway are zeroed).
    if (opt_.seal_keys) exec("PRAGMA secure_delete=FAST");
    int v = schema_version();
    if (v > latest_version()) {
      throw StoreError(errc::storage_failure, "database " + opt_.path + " has schema version " +
                                                  std::to_string(v) +
                                                  ", newer than this binary supports (" +
                                                  std::to_string(latest_version()) + ")");
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
          std::fputs(
              "A Simpul database is expected beside this file. If it is missing, restore it from "
              "a\n"
              "backup; `simpul serve --new-store` begins an empty store instead.\n",
              f);
          std::fclose(f);
        }
      }
    }
  } catch (...) {
    close();
    throw;
  }
}

bool SqliteStore::file_replaced() const {
  if (!on_disk_) return false;
  struct stat st {};
  if (::stat(opt_.path.c_str(), &st) != 0) return true;
  return static_cast<unsigned long long>(st.st_dev) != file_dev_ ||
         static_cast<unsigned long long>(st.st_ino) != file_ino_;
}

SqliteStore::~SqliteStore() { close(); }

void SqliteStore::close() {
  for (auto& [sql, s] : stmts_) sqlite3_finalize(s);
  stmts_.clear();
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
}

void SqliteStore::exec(const char* sql) { sqlite::exec(db_, sql); }

SqliteStore::Stmt SqliteStore::prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it == stmts_.end()) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK)
      throw StoreError(classify(rc), std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
    it = stmts_.emplace(sql, s).first;
  }
  return Stmt(db_, it->second);
}

int SqliteStore::latest_version() { return static_cast<int>(migrations().size()); }

int SqliteStore::schema_version() {
  auto s = prepare("PRAGMA user_version");
  s.step();
  return static_cast<int>(s.i64(0));
}

void SqliteStore::migrate() {
  int current = schema_version();
  for (const auto& m : migrations()) {
    if (m.version <= current) continue;
    begin();
    try {
      exec(std::string(m.sql).c_str());
      if (m.version == kAuditChainVersion) seal_audit_log();
      exec(("PRAGMA user_version=" + std::to_string(m.version)).c_str());
      commit();
    } catch (...) {
      rollback();
      throw;
    }
  }
}

// The entries written before the log was a chain are chained as they stand, oldest first: from
// here on a change to any of them shows.
void SqliteStore::seal_audit_log() {
  std::vector<AuditEntry> rows;
  {
    auto s = sqlite::Statement(db_,
                               "SELECT id, at, actor, action, coalesce(target, ''), "
                               "coalesce(detail_json, '') FROM audit_log ORDER BY id");
    while (s.step())
      rows.push_back({s.i64(0), s.i64(1), s.text(2), s.text(3), s.text(4), s.text(5), "", ""});
  }
  std::string prev = kAuditGenesis;
  auto upd = sqlite::Statement(db_, "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?");
  for (auto& e : rows) {
    e.prev_hash = prev;
    e.hash = audit_hash(e);
    upd.bind(1, e.prev_hash).bind(2, e.hash).bind(3, e.id).run();
    upd.reset();
    prev = e.hash;
  }
}

void SqliteStore::begin() {
  last_created_.reset();
  exec("BEGIN IMMEDIATE");
}
void SqliteStore::commit() { exec("COMMIT"); }
void SqliteStore::rollback() {
  last_created_.reset();
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}
bool SqliteStore::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

bool SqliteStore::complaint_known(const std::string& complaint_id) {
  auto s = prepare("SELECT 1 FROM events WHERE complaint_id = ? LIMIT 1");
  s.bind(1, complaint_id);
  return s.step();
}

bool SqliteStore::visible_to(const std::string& complaint_id, const std::string& child) {
  auto s = prepare("SELECT 1 FROM complaint_children WHERE complaint_id = ? AND child = ?");
  s.bind(1, complaint_id).bind(2, child);
  return s.step();
}

void SqliteStore::add_ref(const Ref& ref, const std::string& complaint_id, TimeMs now) {
  prepare("INSERT INTO refs(system, ext_id, complaint_id, created_at) VALUES (?,?,?,?)")
      .bind(1, ref.system)
      .bind(2, ref.id)
      .bind(3, complaint_id)
      .bind(4, now)
      .run();
}

std::vector<Event> SqliteStore::events_of(const std::string& complaint_id) {
  std::vector<Event> out;
  for (auto& e : stored_events_of(complaint_id)) out.push_back(std::move(e.event));
  return out;
}

std::optional<std::string> SqliteStore::find_by_ref(const std::string& system,
                                                    const std::string& ext_id) {
  auto s = prepare("SELECT complaint_id FROM refs WHERE system = ? AND ext_id = ?");
  s.bind(1, system).bind(2, ext_id);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

std::optional<std::string> SqliteStore::ref_of(const std::string& complaint_id,
                                               const std::string& system) {
  auto s = prepare(
      "SELECT ext_id FROM refs WHERE complaint_id = ? AND system = ? ORDER BY created_at LIMIT 1");
  s.bind(1, complaint_id).bind(2, system);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

std::vector<EventLog::LinkedComplaint> SqliteStore::open_linked(const std::string& system,
                                                                const std::string& after_id,
                                                                int limit) {
  auto s = prepare(
      "SELECT r.complaint_id, r.ext_id, c.status FROM refs r JOIN complaints c ON c.id = "
      "r.complaint_id "
      "WHERE r.system = ? AND r.complaint_id > ? AND c.status NOT IN ('closed', 'archived', "
      "'cancelled') "
      "ORDER BY r.complaint_id LIMIT ?");
  s.bind(1, system).bind(2, after_id).bind(3, limit);
  std::vector<LinkedComplaint> out;
  while (s.step())
    out.push_back({s.text(0), s.text(1), parse_status(s.text(2)).value_or(Status::received)});
  return out;
}

std::optional<EventLog::Projection> SqliteStore::projection(const std::string& id) {
  auto s = prepare(
      "SELECT status, privacy, updated_at, verify_due, followup_due, autoclose_due, "
      "coalesce(agency, ''), conflict_count > 0 FROM complaints WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  Projection p{parse_status(s.text(0)).value_or(Status::received),
               parse_privacy(s.text(1)).value_or(Privacy::anonim),
               s.i64(2),
               {}};
  if (!s.null(3)) p.deadlines.verify_due = s.i64(3);
  if (!s.null(4)) p.deadlines.followup_due = s.i64(4);
  if (!s.null(5)) p.deadlines.autoclose_due = s.i64(5);
  p.agency = s.text(6);
  p.conflict = s.i64(7) != 0;
  return p;
}

std::vector<std::string> SqliteStore::sla_due(TimeMs now, int limit) {
  auto s = prepare("SELECT id FROM complaints WHERE sla_next_at <= ? ORDER BY sla_next_at LIMIT ?");
  s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

void SqliteStore::set_sla_next_at(const std::string& complaint_id, std::optional<TimeMs> at) {
  prepare("UPDATE complaints SET sla_next_at = ? WHERE id = ?")
      .bind(1, at)
      .bind(2, complaint_id)
      .run();
}

std::vector<std::string> SqliteStore::report_candidates(TimeMs since, TimeMs now,
                                                        const std::string& after_id, int limit) {
  auto s = prepare(
      "SELECT id FROM complaints c WHERE id > ?3 AND (updated_at >= ?1 OR followup_due < ?2) "
      "AND (agency IS NOT NULL OR EXISTS (SELECT 1 FROM complaint_agencies ca WHERE "
      "ca.complaint_id = c.id)) ORDER BY id LIMIT ?4");
  s.bind(1, since).bind(2, now).bind(3, after_id).bind(4, static_cast<std::int64_t>(limit));
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::vector<std::string> SqliteStore::complaint_ids_after(const std::string& after_id, int limit) {
  auto s = prepare("SELECT id FROM complaints WHERE id > ? ORDER BY id LIMIT ?");
  s.bind(1, after_id).bind(2, static_cast<std::int64_t>(limit));
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::optional<Credentials::StoredAnswer> SqliteStore::recall_answer(const std::string& scope,
                                                                    const std::string& key) {
  auto s = prepare(
      "SELECT request_sha256, status, coalesce(complaint_id, ''), response_json, "
      "coalesce(through_seq, 0) FROM idempotency WHERE scope = ? AND key = ?");
  s.bind(1, scope).bind(2, key);
  if (!s.step()) return std::nullopt;
  return StoredAnswer{s.digest(0), static_cast<int>(s.i64(1)), s.text(2), s.text(3), s.i64(4)};
}

void SqliteStore::remember_answer(const std::string& scope, const std::string& key,
                                  const std::string& request_sha256, int status,
                                  const std::string& complaint_id, const std::string& body,
                                  TimeMs now, std::int64_t through_seq) {
  prepare(
      "INSERT INTO idempotency(scope, key, request_sha256, status, complaint_id, response_json, "
      "created_at, through_seq) VALUES (?,?,?,?,?,?,?,?)")
      .bind(1, scope)
      .bind(2, key)
      .bind_digest(3, request_sha256)
      .bind(4, status)
      .bind(5, complaint_id)
      .bind(6, body)
      .bind(7, now)
      .bind(8, through_seq ? std::optional<std::int64_t>(through_seq) : std::nullopt)
      .run();
}

// raw_payloads.packing: the body is DEFLATEd against the complaint's `created` payload.
constexpr std::int64_t kPackedAgainstCreated = 1;

std::vector<std::pair<std::string, std::string>> SqliteStore::latest_raw_payloads(
    const std::string& source) {
  auto s = prepare(
      "SELECT r.id, r.complaint_id, r.body, r.packing, e.payload_json, e.at, r.key_id FROM "
      "raw_payloads r "
      "LEFT JOIN events e ON e.seq = (SELECT min(seq) FROM events WHERE complaint_id = "
      "r.complaint_id AND kind = 'created') WHERE r.id IN (SELECT max(id) FROM raw_payloads "
      "WHERE source = ?1 AND complaint_id IS NOT NULL GROUP BY complaint_id) ORDER BY r.id");
  s.bind(1, source);
  std::vector<std::pair<std::string, std::string>> out;
  while (s.step()) {
    std::string body = s.text(2);
    if (!s.null(6)) body = open_raw(s.text(6), body, source, s.text(1), s.i64(0));
    if (!s.null(3)) {
      auto whole = s.i64(3) == kPackedAgainstCreated && !s.null(4)
                       ? sqlite::unpack_against(body, s.payload(4, s.text(1), s.i64(5)))
                       : std::nullopt;
      if (!whole)
        throw StoreError(errc::storage_failure, "raw payload " + std::to_string(s.i64(0)) +
                                                    " cannot be unpacked (packing " + s.text(3) +
                                                    ")");
      body = std::move(*whole);
    }
    out.emplace_back(s.text(1), std::move(body));
  }
  return out;
}

void SqliteStore::keep_raw_payload(const std::string& source, const std::string& complaint_id,
                                   const std::string& content_type, std::string_view body,
                                   TimeMs now) {
  // Packed against the complaint's `created` payload when it has one: usually just appended on
  // this connection (kept from append), otherwise read back.
  std::optional<std::string> created;
  if (!complaint_id.empty()) {
    if (last_created_ && last_created_->first == complaint_id)
      created = last_created_->second;
    else
      created = kept_created_payload(complaint_id);
  }
  std::string packed;
  if (created) packed = sqlite::pack_against(body, *created);
  const bool use = created && packed.size() < body.size();
  const std::string_view kept = use ? std::string_view(packed) : body;
  const std::string sealed =
      opt_.seal_keys ? opt_.seal_keys->seal(kept, raw_context(source, complaint_id)) : "";
  prepare(
      "INSERT INTO raw_payloads(source, complaint_id, content_type, body, packing, received_at, "
      "key_id) VALUES (?,?,?,?,?,?,?)")
      .bind(1, source)
      .bind(2, complaint_id)
      .bind(3, content_type)
      .bind_blob(4, opt_.seal_keys ? std::string_view(sealed) : kept)
      .bind(5, use ? std::optional<std::int64_t>(kPackedAgainstCreated) : std::nullopt)
      .bind(6, now)
      .bind_null_if_empty(7, opt_.seal_keys ? opt_.seal_keys->current_id() : std::string())
      .run();
}

std::string SqliteStore::open_raw(const std::string& key_id, const std::string& sealed,
                                  const std::string& source, const std::string& complaint_id,
                                  std::int64_t id) const {
  if (!opt_.seal_keys)
    throw StoreError(errc::storage_failure,
                     "raw payload " + std::to_string(id) + " is sealed under store key " + key_id +
                         ", and this store was opened without keys (store.encryption_key)");
  auto plain = opt_.seal_keys->open(key_id, sealed, raw_context(source, complaint_id));
  if (!plain)
    throw StoreError(
        errc::storage_failure,
        "raw payload " + std::to_string(id) + " does not open under store key " + key_id +
            (opt_.seal_keys->knows(key_id) ? " (damaged or moved)" : " (not configured)"));
  return std::move(*plain);
}

std::optional<std::string> SqliteStore::kept_created_payload(const std::string& complaint_id) {
  auto s = prepare(
      "SELECT payload_json, at FROM events WHERE complaint_id = ? AND kind = 'created' ORDER BY "
      "seq LIMIT 1");
  s.bind(1, complaint_id);
  if (s.step()) return s.payload(0, complaint_id, s.i64(1));
  return std::nullopt;
}

std::optional<std::string> SqliteStore::created_payload(const std::string& complaint_id) {
  auto s = prepare(
      "SELECT seq, event_id, complaint_id, origin, at, kind, actor_json, payload_json, hops_json "
      "FROM events WHERE complaint_id = ? AND kind = 'created' ORDER BY seq LIMIT 1");
  s.bind(1, complaint_id);
  if (s.step()) return event_row(s).event.payload;
  return std::nullopt;
}

std::vector<QueuedEvent> SqliteStore::events_through(const std::string& node, TimeMs since,
                                                     std::int64_t after_seq, int limit) {
  // Read in position order from where the page starts, so a page costs what it returns and
  // the rows it skips. (Read by stored_at, as it once was, every page sorted every event since
  // `since`: a child with a million events in the last hour made its parent's recovery answers
  // quadratic.) The first page starts at the lowest position stored since then, from the
  // events_stored index; stored_at need not grow with the position (a clock gone back), so the
  // filter stays.
  std::int64_t from = after_seq;
  if (from == 0) {
    auto first =
        prepare("SELECT min(seq) FROM events INDEXED BY events_stored WHERE stored_at >= ?");
    first.bind(1, since);
    if (!first.step() || first.null(0)) return {};
    from = first.i64(0) - 1;
  }
  auto s = prepare(
      "SELECT e.seq, e.event_id, e.complaint_id, e.origin, e.at, e.kind, e.actor_json, "
      "e.payload_json, e.hops_json, coalesce(c.privacy, 'anonim') FROM events e NOT INDEXED "
      "LEFT JOIN complaints c ON c.id = e.complaint_id WHERE e.seq > ?2 AND e.stored_at >= ?1 "
      "AND EXISTS (SELECT 1 FROM json_each(e.hops_json) WHERE value = ?3) ORDER BY e.seq "
      "LIMIT ?4");
  s.bind(1, since).bind(2, from).bind(3, node).bind(4, limit);
  std::vector<QueuedEvent> out;
  while (s.step()) out.push_back(queued_event(s));
  return out;
}

TimeMs SqliteStore::latest_stored_at() {
  auto s = prepare("SELECT coalesce(max(stored_at), 0) FROM events");
  s.step();
  return s.i64(0);
}

void SqliteStore::note_source_row(const std::string& source, const std::string& key,
                                  const std::string& complaint_id, std::int64_t hash, TimeMs now) {
  prepare(
      "INSERT INTO source_rows(source, key, complaint_id, hash, seen_at) VALUES (?1, ?2, ?3, ?4, "
      "?5) ON CONFLICT(source, key) DO UPDATE SET complaint_id = ?3, hash = ?4, seen_at = ?5, "
      "gone_at = NULL")
      .bind(1, source)
      .bind(2, key)
      .bind(3, complaint_id)
      .bind(4, hash)
      .bind(5, now)
      .run();
}

std::vector<EventLog::SourceRowState> SqliteStore::source_rows_after(const std::string& source,
                                                                     const std::string& after_key,
                                                                     int limit) {
  auto s = prepare(
      "SELECT key, complaint_id, hash FROM source_rows WHERE source = ?1 AND key > ?2 AND "
      "gone_at IS NULL ORDER BY key LIMIT ?3");
  s.bind(1, source).bind(2, after_key).bind(3, std::int64_t{limit});
  std::vector<SourceRowState> out;
  while (s.step()) out.push_back({s.text(0), s.text(1), s.i64(2)});
  return out;
}

std::optional<EventLog::SourceRowState> SqliteStore::source_row(const std::string& source,
                                                                const std::string& key) {
  auto s = prepare(
      "SELECT key, complaint_id, hash FROM source_rows WHERE source = ?1 AND key = ?2 AND "
      "gone_at IS NULL");
  s.bind(1, source).bind(2, key);
  if (!s.step()) return std::nullopt;
  return SourceRowState{s.text(0), s.text(1), s.i64(2)};
}

void SqliteStore::source_row_gone(const std::string& source, const std::string& key, TimeMs now) {
  prepare("UPDATE source_rows SET gone_at = ?3 WHERE source = ?1 AND key = ?2")
      .bind(1, source)
      .bind(2, key)
      .bind(3, now)
      .run();
}

std::string SqliteStore::cursor(const std::string& name) {
  auto s = prepare("SELECT value FROM cursors WHERE name = ?");
  s.bind(1, name);
  return s.step() ? s.text(0) : std::string();
}

void SqliteStore::set_cursor(const std::string& name, const std::string& value, TimeMs now) {
  prepare(
      "INSERT INTO cursors(name, value, updated_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT(name) DO UPDATE SET value = ?2, updated_at = ?3")
      .bind(1, name)
      .bind(2, value)
      .bind(3, now)
      .run();
}

// Columns 0-8 of every query that reads events back: a position (the event's seq or its outbox
// row id), event_id, complaint_id, origin, at, kind, actor_json, payload_json, hops_json.
StoredEvent SqliteStore::event_row(Stmt& s) {
  StoredEvent se = event_row_as_kept(s);
  unseal(se.event);
  return se;
}

StoredEvent SqliteStore::event_row_as_kept(Stmt& s) {
  StoredEvent se;
  se.seq = s.i64(0);
  Event& e = se.event;
  e.event_id = s.text(1);
  e.complaint_id = s.text(2);
  e.origin = s.text(3);
  e.at = s.i64(4);
  auto kind = parse_event_kind(s.text(5));
  SIMPUL_CHECK(kind.has_value(), "stored event has an unknown kind");
  e.kind = *kind;
  e.actor = json::actor_from_json(s.text(6));
  e.payload = s.payload(7, e.complaint_id, e.at);
  e.hops = json::hops_from_json(s.text(8));
  return se;
}

// An event_row and, in column 9, the complaint's privacy flag.
QueuedEvent SqliteStore::queued_event(Stmt& s) {
  StoredEvent se = event_row(s);
  return QueuedEvent{se.seq, std::move(se.event),
                     parse_privacy(s.text(9)).value_or(Privacy::anonim)};
}

std::vector<QueuedEvent> SqliteStore::due_outbox(const std::string& destination, TimeMs now,
                                                 int limit) {
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

void SqliteStore::outbox_done(std::int64_t id) {
  prepare(
      "UPDATE outbox SET state = 'done', attempts = attempts + 1, last_error = NULL WHERE id = ?")
      .bind(1, id)
      .run();
}

void SqliteStore::outbox_dead(std::int64_t id, const std::string& destination,
                              const std::string& error, TimeMs now) {
  prepare("UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?")
      .bind(1, error)
      .bind(2, id)
      .run();
  prepare(
      "INSERT INTO dead_letters(destination, outbox_id, complaint_id, event_id, error, created_at) "
      "SELECT ?, o.id, e.complaint_id, e.event_id, ?, ? FROM outbox o JOIN events e ON e.seq = "
      "o.event_seq WHERE o.id = ?")
      .bind(1, destination)
      .bind(2, error)
      .bind(3, now)
      .bind(4, id)
      .run();
}

void SqliteStore::inbound_dead_letter(const std::string& destination, const std::string& error,
                                      TimeMs now) {
  // A polled record is read again by later cycles (overlap): list it once.
  prepare(
      "INSERT INTO dead_letters(destination, error, created_at) SELECT ?1, ?2, ?3 WHERE NOT EXISTS "
      "(SELECT 1 FROM dead_letters WHERE destination = ?1 AND error = ?2 AND outbox_id IS NULL)")
      .bind(1, destination)
      .bind(2, error)
      .bind(3, now)
      .run();
}

void SqliteStore::outbox_failed(std::int64_t id, const std::string& error, TimeMs retry_at) {
  prepare(
      "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?")
      .bind(1, error)
      .bind(2, retry_at)
      .bind(3, id)
      .run();
}

std::int64_t SqliteStore::dead_letter_count() {
  auto s = prepare("SELECT count(*) FROM dead_letters");
  s.step();
  return s.i64(0);
}

Outbox::LinkBacklog SqliteStore::backlog(const std::string& destination) {
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
// A child's acknowledged feed position: format 1 is the outbox id behind "v1:".
constexpr int kAckedFormat = 1;
std::string ack_cursor_name(const std::string& child) { return "feed." + child + ".acked"; }
// The position a stored acknowledgement holds ("" when none). A newer format is a StoreError,
// the one failure the store's callers handle (an HTTP handler that met anything else would
// take the io thread down with it).
std::string acked_body(const std::string& text, const std::string& name) {
  auto c = read_cursor_text(text, kAckedFormat, name);
  if (!c) throw StoreError(errc::storage_failure, c.error().detail);
  return std::move(c->body);
}
}  // namespace

Outbox::FeedBacklog SqliteStore::feed_backlog(const std::string& child) {
  FeedBacklog b;
  auto c = prepare("SELECT value, updated_at FROM cursors WHERE name = ?");
  c.bind(1, ack_cursor_name(child));
  if (c.step()) {
    b.acked = std::strtoll(acked_body(c.text(0), ack_cursor_name(child)).c_str(), nullptr, 10);
    b.acked_at = c.i64(1);
  }
  auto s = prepare("SELECT count(*), min(created_at) FROM outbox WHERE destination = ? AND id > ?");
  s.bind(1, Destination::child(child).name()).bind(2, b.acked);
  if (s.step()) {
    b.unfetched = s.i64(0);
    if (!s.null(1)) b.oldest_unfetched = s.i64(1);
  }
  return b;
}

int SqliteStore::feed_acked(const std::string& child, std::int64_t position, TimeMs now) {
  const std::string name = ack_cursor_name(child);
  std::string current = acked_body(cursor(name), name);
  if (!current.empty() && std::strtoll(current.c_str(), nullptr, 10) >= position) return 0;
  set_cursor(name, cursor_text(kAckedFormat, std::to_string(position)), now);
  prepare(
      "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE destination = ?1 AND id <= ?2 "
      "AND created_at < ?3 ORDER BY id LIMIT ?4)")
      .bind(1, Destination::child(child).name())
      .bind(2, position)
      .bind(3, now - kFeedRetentionMs)
      .bind(4, kFeedPruneBatch)
      .run();
  return changes();
}

std::vector<Outbox::DeadLetter> SqliteStore::dead_letters(int limit) {
  auto s = prepare(
      "SELECT id, destination, coalesce(complaint_id, ''), coalesce(event_id, ''), error, "
      "created_at "
      "FROM dead_letters ORDER BY id LIMIT ?");
  s.bind(1, limit);
  std::vector<DeadLetter> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i64(5)});
  return out;
}

Outbox::DeadLetterRetry SqliteStore::retry_dead_letter(std::int64_t id, TimeMs now) {
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

bool SqliteStore::drop_dead_letter(std::int64_t id) {
  prepare("DELETE FROM dead_letters WHERE id = ?").bind(1, id).run();
  return changes() > 0;
}

FeedPage SqliteStore::feed(const std::string& child, std::int64_t after_id, int limit) {
  auto s = prepare(
      "SELECT o.id, e.event_id, e.complaint_id, e.origin, e.at, e.kind, e.actor_json, "
      "e.payload_json, e.hops_json, coalesce(c.privacy, 'anonim') FROM outbox o "
      "JOIN events e ON e.seq = o.event_seq LEFT JOIN complaints c ON c.id = e.complaint_id "
      "WHERE o.destination = ? AND o.id > ? ORDER BY o.id LIMIT ?");
  s.bind(1, Destination::child(child).name()).bind(2, after_id).bind(3, limit);
  FeedPage page;
  page.last_id = after_id;
  while (s.step()) {
    page.items.push_back(queued_event(s));
    page.last_id = page.items.back().id;
  }
  return page;
}

// A complaint's sync state (EventLog::sync_state) in SQL, for the complaint `c`.
#define SIMPUL_SYNC_STATE                                                                      \
  "(CASE WHEN EXISTS (SELECT 1 FROM events e JOIN outbox o ON o.destination = 'upstream' AND " \
  "o.event_seq = e.seq WHERE e.complaint_id = c.id AND o.state = 'dead') THEN 'failed' "       \
  "WHEN EXISTS (SELECT 1 FROM events e JOIN outbox o ON o.destination = 'upstream' AND "       \
  "o.event_seq = e.seq WHERE e.complaint_id = c.id AND o.state = 'pending') THEN 'queued' "    \
  "WHEN EXISTS (SELECT 1 FROM refs r WHERE r.complaint_id = c.id AND r.system = 'lapor') "     \
  "THEN 'at_hub' "                                                                             \
  "WHEN EXISTS (SELECT 1 FROM events e JOIN outbox o ON o.destination = 'upstream' AND "       \
  "o.event_seq = e.seq WHERE e.complaint_id = c.id) THEN 'at_parent' ELSE 'local' END)"

std::string SqliteStore::sync_state(const std::string& complaint_id) {
  auto s = prepare("SELECT " SIMPUL_SYNC_STATE " FROM complaints c WHERE c.id = ?");
  s.bind(1, complaint_id);
  return s.step() ? s.text(0) : std::string("local");
}

// core/access.hpp's Access::sees in SQL, for the complaint `c`: an admin sees all, a rahasia
// complaint only the credential of the agency holding it, a bound credential what was ever its
// agencies'. Parameters ?12 (admin), ?13 (the agencies, a JSON array) and ?14 (bound), set by
// bind_access; a statement using it numbers its own parameters around them.
#define SIMPUL_SEES                                                                              \
  "(?12 = 1 "                                                                                    \
  "  OR (c.privacy = 'rahasia' AND c.agency IN (SELECT value FROM json_each(?13))) "             \
  "  OR (c.privacy != 'rahasia' AND (?14 = 0 OR c.agency IN (SELECT value FROM json_each(?13)) " \
  "      OR EXISTS (SELECT 1 FROM complaint_agencies ca WHERE ca.complaint_id = c.id "           \
  "      AND ca.agency IN (SELECT value FROM json_each(?13))))))"

namespace {

template <class Statement>
void bind_access(Statement& s, const Access& access) {
  s.bind(12, static_cast<std::int64_t>(access.admin));
  rapidjson::StringBuffer agencies;
  {
    json::Writer w(agencies);
    w.StartArray();
    for (const auto& a : access.agencies) w.String(a.c_str(), static_cast<unsigned>(a.size()));
    w.EndArray();
  }
  s.bind(13, std::string(agencies.GetString(), agencies.GetSize()));
  s.bind(14, static_cast<std::int64_t>(!access.agencies.empty()));
}

// Per clock: its name, the count of those past due (by the clock's partial index), and the
// open work per agency.
struct ClockSql {
  const char* name;
  const char* overdue;
  const char* workload;
};
#define SIMPUL_CLOCK_SQL(clock)                                                             \
  ClockSql {                                                                                \
#clock, "SELECT count(*) FROM complaints c WHERE " #clock "_due < ?1 AND " SIMPUL_SEES, \
        "SELECT coalesce(c.agency, ''), sum(" #clock "_due < ?1), sum(" #clock              \
        "_due >= ?1) FROM complaints c WHERE " #clock "_due < ?2 AND " SIMPUL_SEES          \
        " GROUP BY 1 ORDER BY 1"                                                            \
  }
const ClockSql kClockSql[] = {SIMPUL_CLOCK_SQL(verify), SIMPUL_CLOCK_SQL(followup),
                              SIMPUL_CLOCK_SQL(autoclose)};

}  // namespace

EventLog::Tally SqliteStore::tally(TimeMs since, TimeMs now, const Access& access) {
  Tally t;
  // Today's events by the index on stored_at: the cost is today's flow, not the log.
  auto s = prepare(
      "SELECT e.kind, count(*) FROM events e JOIN complaints c ON c.id = e.complaint_id "
      "WHERE e.stored_at >= ?1 AND e.kind IN ('created', 'disposed', 'forwarded', 'responded', "
      "'closed') AND " SIMPUL_SEES " GROUP BY e.kind");
  s.bind(1, since);
  bind_access(s, access);
  while (s.step()) {
    const std::string kind = s.text(0);
    const std::int64_t n = s.i64(1);
    if (kind == "created") t.created = n;
    if (kind == "disposed") t.disposed = n;
    if (kind == "forwarded") t.forwarded = n;
    if (kind == "responded") t.responded = n;
    if (kind == "closed") t.closed = n;
  }
  std::int64_t* overdue[] = {&t.overdue_verify, &t.overdue_followup, &t.overdue_autoclose};
  for (std::size_t i = 0; i < std::size(kClockSql); ++i) {
    auto o = prepare(kClockSql[i].overdue);
    o.bind(1, now);
    bind_access(o, access);
    o.step();
    *overdue[i] = o.i64(0);
  }
  return t;
}

std::vector<EventLog::Workload> SqliteStore::workload(TimeMs now, TimeMs until,
                                                      const Access& access) {
  std::vector<Workload> out;
  for (const auto& clock : kClockSql) {
    auto s = prepare(clock.workload);
    s.bind(1, now).bind(2, std::max(now, until));
    bind_access(s, access);
    while (s.step()) out.push_back({s.text(0), clock.name, s.i64(1), s.i64(2)});
  }
  return out;
}

ListPage SqliteStore::list(const ListQuery& q) {
  // One statement for every combination of filters (an unset filter binds NULL); the access
  // rule is core/access.hpp's Access::sees in SQL: an admin sees all, a rahasia complaint only
  // the credential of the agency holding it, a bound credential what was ever its agencies'.
  auto s = prepare(
      "SELECT seq, id FROM complaints c WHERE seq > ?1 AND (?2 IS NULL OR status = ?2) "
      "AND (?3 IS NULL OR updated_at >= ?3) AND (?5 IS NULL OR agency = ?5) "
      "AND (?6 IS NULL OR channel = ?6) AND (?7 IS NULL OR privacy = ?7) "
      "AND (?8 IS NULL OR region = ?8 OR region LIKE ?8 || '.%') "
      "AND (?9 = 0 OR conflict_count > 0) "
      "AND (?10 IS NULL OR (?10 IN ('verify', 'any') AND verify_due < ?11) "
      "  OR (?10 IN ('followup', 'any') AND followup_due < ?11) "
      "  OR (?10 IN ('autoclose', 'any') AND autoclose_due < ?11)) "
      "AND " SIMPUL_SEES
      " "
      "AND (?15 IS NULL OR " SIMPUL_SYNC_STATE
      " = ?15) "
      "AND (?16 IS NULL OR c.fts_rowid IN (SELECT rowid FROM complaints_fts WHERE "
      "complaints_fts MATCH ?16)) "
      "ORDER BY seq LIMIT ?4");
  s.bind(1, q.after_seq);
  if (q.status) s.bind(2, to_string(*q.status));
  s.bind(3, q.since);
  s.bind(4, q.limit + 1);
  if (q.agency) s.bind(5, *q.agency);
  if (q.channel) s.bind(6, *q.channel);
  if (q.privacy) s.bind(7, to_string(*q.privacy));
  if (q.region) s.bind(8, *q.region);
  s.bind(9, static_cast<std::int64_t>(q.conflict));
  if (q.overdue) s.bind(10, *q.overdue);
  s.bind(11, q.now);
  bind_access(s, q.access);
  if (q.sync) s.bind(15, *q.sync);
  if (q.q) {
    // Each word (split at ASCII punctuation and spaces) a quoted FTS5 string: the text is
    // searched for, never read as query syntax (a word the tokenizer cuts further, at other
    // punctuation, is searched as the phrase it makes).
    std::string match;
    const std::string& text = *q.q;
    std::size_t i = 0;
    auto word_char = [](unsigned char ch) { return ch >= 0x80 || std::isalnum(ch); };
    while (i < text.size()) {
      while (i < text.size() && !word_char(static_cast<unsigned char>(text[i]))) ++i;
      std::size_t j = i;
      while (j < text.size() && word_char(static_cast<unsigned char>(text[j]))) ++j;
      if (j > i) match += (match.empty() ? "\"" : " \"") + text.substr(i, j - i) + '"';
      i = j;
    }
    s.bind(16, match.empty() ? std::string("\"\"") : match);
  }

  ListPage page;
  while (s.step()) {
    if (static_cast<int>(page.ids.size()) == q.limit) {
      page.more = true;
      break;
    }
    page.last_seq = s.i64(0);
    page.ids.push_back(s.text(1));
  }
  return page;
}

std::int64_t SqliteStore::complaint_count() {
  auto s = prepare("SELECT count(*) FROM complaints");
  s.step();
  return s.i64(0);
}

std::int64_t SqliteStore::event_count() {
  auto s = prepare("SELECT count(*) FROM events");
  s.step();
  return s.i64(0);
}

std::int64_t SqliteStore::outbox_depth() {
  // Child feeds (child:*) are pulled by the children with their own cursors: not a backlog.
  auto s = prepare(
      "SELECT count(*) FROM outbox WHERE state = 'pending' AND destination NOT LIKE 'child:%'");
  s.step();
  return s.i64(0);
}

Credentials::NewToken SqliteStore::create_token(const TokenSpec& spec, TimeMs now) {
  NewToken t;
  // Hex, so an id never starts with '-' (the CLI would read it as an option) nor holds '.'.
  unsigned char raw[5];
  crypto::random_bytes(raw, sizeof raw);
  t.id = crypto::to_hex(raw, sizeof raw);
  t.secret = "spl." + t.id + "." + crypto::random_token(32);
  prepare(
      "INSERT INTO api_tokens(id, name, sha256, scopes, node_id, created_at, agencies, "
      "expires_at, officer) VALUES (?,?,?,?,?,?,?,?,?)")
      .bind(1, t.id)
      .bind(2, spec.name)
      .bind(3, crypto::sha256_hex(t.secret))
      .bind(4, spec.scopes)
      .bind_null_if_empty(5, spec.node_id)
      .bind(6, now)
      .bind_null_if_empty(7, spec.agencies)
      .bind(8, spec.expires_at)
      .bind(9, spec.officer ? 1 : 0)
      .run();
  return t;
}

bool SqliteStore::revoke_token(const std::string& id, TimeMs now) {
  prepare("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
      .bind(1, now)
      .bind(2, id)
      .run();
  return changes() > 0;
}

bool SqliteStore::expire_token(const std::string& id, TimeMs at) {
  prepare(
      "UPDATE api_tokens SET expires_at = min(coalesce(expires_at, ?1), ?1) WHERE id = ?2 AND "
      "revoked_at IS NULL")
      .bind(1, at)
      .bind(2, id)
      .run();
  return changes() > 0;
}

namespace {

constexpr const char* kTokenColumns =
    "id, name, scopes, coalesce(node_id, ''), created_at, revoked_at, coalesce(agencies, ''), "
    "expires_at, officer";

StoredToken token_row(sqlite::Statement& s) {
  StoredToken t{s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4), std::nullopt, s.text(6)};
  if (!s.null(5)) t.revoked_at = s.i64(5);
  if (!s.null(7)) t.expires_at = s.i64(7);
  t.officer = s.i64(8) != 0;
  return t;
}

}  // namespace

std::optional<StoredToken> SqliteStore::find_token_by_hash(const std::string& sha256_hex) {
  static const std::string sql =
      std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE sha256 = ?";
  auto s = prepare(sql.c_str());
  s.bind(1, sha256_hex);
  if (!s.step()) return std::nullopt;
  return token_row(s);
}

std::optional<StoredToken> SqliteStore::find_token(const std::string& id) {
  static const std::string sql =
      std::string("SELECT ") + kTokenColumns + " FROM api_tokens WHERE id = ?";
  auto s = prepare(sql.c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return token_row(s);
}

std::vector<StoredToken> SqliteStore::list_tokens() {
  static const std::string sql =
      std::string("SELECT ") + kTokenColumns + " FROM api_tokens ORDER BY created_at";
  auto s = prepare(sql.c_str());
  std::vector<StoredToken> out;
  while (s.step()) out.push_back(token_row(s));
  return out;
}

void SqliteStore::put_signed_batch(const SignedBatch& b, TimeMs now) {
  std::string leaves;
  leaves.reserve(b.leaves.size() * 32);
  for (const auto& l : b.leaves) leaves += l;
  prepare(
      "INSERT OR IGNORE INTO signed_batches(id, origin, key_id, leaves, signature, stored_at) "
      "VALUES (?,?,?,?,?,?)")
      .bind(1, b.id)
      .bind(2, b.origin)
      .bind(3, b.key_id)
      .bind_blob(4, leaves)
      .bind_blob(5, b.signature)
      .bind(6, now)
      .run();
}

std::optional<SignedBatch> SqliteStore::signed_batch(const std::string& id) {
  auto s = prepare("SELECT origin, key_id, leaves, signature FROM signed_batches WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  SignedBatch b{id, s.text(0), s.text(1), {}, s.text(3)};
  const std::string leaves = s.text(2);
  for (std::size_t i = 0; i + 32 <= leaves.size(); i += 32)
    b.leaves.push_back(leaves.substr(i, 32));
  return b;
}

void SqliteStore::put_event_proof(const std::string& event_id, const EventProof& p) {
  prepare("INSERT OR IGNORE INTO event_proofs(event_id, batch_id, leaf) VALUES (?,?,?)")
      .bind(1, event_id)
      .bind(2, p.batch)
      .bind(3, p.leaf)
      .run();
}

std::optional<EventProof> SqliteStore::event_proof(const std::string& event_id) {
  auto s = prepare("SELECT batch_id, leaf FROM event_proofs WHERE event_id = ?");
  s.bind(1, event_id);
  if (!s.step()) return std::nullopt;
  return EventProof{s.text(0), static_cast<int>(s.i64(1))};
}

namespace {

KeyRing::NodeKey node_key_row(sqlite::Statement& s) {
  KeyRing::NodeKey k{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i64(5), std::nullopt};
  if (!s.null(6)) k.revoked_from = s.i64(6);
  return k;
}

}  // namespace

bool SqliteStore::put_node_key(const NodeKey& k) {
  if (auto known = node_key(k.node_id, k.key_id)) {
    if (known->public_key != k.public_key || known->via != k.via) return false;
    std::optional<TimeMs> revoked = known->revoked_from;
    if (k.revoked_from && (!revoked || *k.revoked_from < *revoked)) revoked = k.revoked_from;
    if (revoked == known->revoked_from && k.voucher == known->voucher) return true;
    prepare("UPDATE node_keys SET voucher = ?, revoked_from = ? WHERE node_id = ? AND key_id = ?")
        .bind_blob(1, k.voucher)
        .bind(2, revoked)
        .bind(3, k.node_id)
        .bind(4, k.key_id)
        .run();
    return true;
  }
  const std::string via = node_via(k.node_id);
  if (!via.empty() && via != k.via) return false;  // one node, one place in the tree
  prepare(
      "INSERT INTO node_keys(node_id, key_id, public_key, via, voucher, registered_at, "
      "revoked_from) VALUES (?,?,?,?,?,?,?)")
      .bind(1, k.node_id)
      .bind(2, k.key_id)
      .bind_blob(3, k.public_key)
      .bind(4, k.via)
      .bind_blob(5, k.voucher)
      .bind(6, k.registered_at)
      .bind(7, k.revoked_from)
      .run();
  return true;
}

std::optional<KeyRing::NodeKey> SqliteStore::node_key(const std::string& node_id,
                                                      const std::string& key_id) {
  auto s = prepare(
      "SELECT node_id, key_id, public_key, via, voucher, registered_at, revoked_from FROM "
      "node_keys WHERE node_id = ? AND key_id = ?");
  s.bind(1, node_id).bind(2, key_id);
  if (!s.step()) return std::nullopt;
  return node_key_row(s);
}

std::vector<KeyRing::NodeKey> SqliteStore::node_keys(const std::string& node_id) {
  auto s = prepare(
      "SELECT node_id, key_id, public_key, via, voucher, registered_at, revoked_from FROM "
      "node_keys WHERE ?1 = '' OR node_id = ?1 ORDER BY node_id, key_id");
  s.bind(1, node_id);
  std::vector<NodeKey> out;
  while (s.step()) out.push_back(node_key_row(s));
  return out;
}

std::string SqliteStore::node_via(const std::string& node_id) {
  auto s = prepare("SELECT via FROM node_keys WHERE node_id = ? LIMIT 1");
  s.bind(1, node_id);
  return s.step() ? s.text(0) : std::string();
}

AuditHead SqliteStore::audit_head() {
  auto s = prepare("SELECT id, coalesce(hash, '') FROM audit_log ORDER BY id DESC LIMIT 1");
  if (!s.step()) return {};
  return {s.i64(0), s.text(1)};
}

std::optional<std::string> SqliteStore::audit_hash_of(std::int64_t id) {
  auto s = prepare("SELECT coalesce(hash, '') FROM audit_log WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

void SqliteStore::audit(TimeMs at, const std::string& actor, const std::string& action,
                        const std::string& target, const std::string& detail_json) {
  // Inside the caller's write transaction: no other connection (another process's CLI, say)
  // can add an entry between reading the head and writing the next one.
  AuditHead head = audit_head();
  AuditEntry e{head.id + 1, at, actor, action, target, detail_json, head.hash, ""};
  if (e.prev_hash.empty()) e.prev_hash = kAuditGenesis;  // a head written outside Simpul
  e.hash = audit_hash(e);
  prepare(
      "INSERT INTO audit_log(id, at, actor, action, target, detail_json, prev_hash, hash) "
      "VALUES (?,?,?,?,?,?,?,?)")
      .bind(1, e.id)
      .bind(2, at)
      .bind(3, actor)
      .bind(4, action)
      .bind(5, target)
      .bind(6, detail_json)
      .bind(7, e.prev_hash)
      .bind(8, e.hash)
      .run();
}

std::vector<AuditEntry> SqliteStore::audit_entries(const AuditQuery& q) {
  auto s = prepare(
      "SELECT id, at, actor, action, coalesce(target, ''), coalesce(detail_json, ''), "
      "coalesce(prev_hash, ''), coalesce(hash, '') FROM audit_log WHERE id > ?1 "
      "AND (?2 = '' OR actor = ?2) AND (?3 = '' OR action = ?3) AND (?4 = '' OR target = ?4) "
      "AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at < ?6) ORDER BY id LIMIT ?7");
  s.bind(1, q.after_id)
      .bind(2, q.actor)
      .bind(3, q.action)
      .bind(4, q.target)
      .bind(5, q.since)
      .bind(6, q.until)
      .bind(7, q.limit);
  std::vector<AuditEntry> out;
  while (s.step())
    out.push_back(
        {s.i64(0), s.i64(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7)});
  return out;
}

void SqliteStore::backup_to(const std::string& dest_path) {
  namespace fs = std::filesystem;
  const std::string partial = dest_path + ".partial";
  std::error_code ec;
  if (fs::exists(dest_path, ec))
    throw StoreError(errc::storage_failure, "backup: " + dest_path + " exists; choose a new file");
  fs::remove(partial, ec);  // what a killed earlier run left
  // VACUUM INTO writes into an empty file as it finds it: one only the owner may read.
  if (!create_private(partial))
    throw StoreError(errc::storage_failure,
                     "backup: cannot create " + partial + ": " + std::strerror(errno));
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
    throw StoreError(errc::storage_failure, "backup to " + dest_path + " failed: " + why);
  };
  {
    sqlite3* copy = nullptr;
    if (sqlite3_open_v2(partial.c_str(), &copy, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(copy);
      fail("cannot open the copy");
    }
    std::string verdict;
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(copy, "PRAGMA quick_check", -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
      verdict = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(copy);
    if (verdict != "ok") fail("the copy does not pass PRAGMA quick_check");
  }
  if (!sync_to_disk(partial, false)) fail("cannot sync the copy");
  fs::rename(partial, dest_path, ec);
  if (ec) fail("cannot rename the copy into place: " + ec.message());
  auto dir = fs::absolute(dest_path).parent_path().string();
  sync_to_disk(dir, true);
}

SqliteStore::Restored SqliteStore::restore(const std::string& backup, const std::string& db_path) {
  namespace fs = std::filesystem;
  auto refuse = [&](const std::string& why) {
    throw StoreError(errc::storage_failure, "restore: " + backup + " " + why + "; nothing changed");
  };
  std::error_code ec;
  if (!fs::is_regular_file(backup, ec)) refuse("is not a file");
  Restored out;
  {
    sqlite3* b = nullptr;
    if (sqlite3_open_v2(backup.c_str(), &b, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      sqlite3_close(b);
      refuse("cannot be opened as a SQLite database");
    }
    auto one = [&](const char* sql, std::string& text) {
      sqlite3_stmt* q = nullptr;
      bool ok = sqlite3_prepare_v2(b, sql, -1, &q, nullptr) == SQLITE_OK;
      int rc = ok ? sqlite3_step(q) : SQLITE_ERROR;
      if (rc == SQLITE_ROW && sqlite3_column_text(q, 0))
        text = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
      sqlite3_finalize(q);
      return rc == SQLITE_ROW || rc == SQLITE_DONE;
    };
    std::string verdict, version, events;
    bool readable = one("PRAGMA integrity_check", verdict);
    one("PRAGMA user_version", version);
    one("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'events'", events);
    sqlite3_close(b);
    if (!readable) refuse("is not a SQLite database");
    if (verdict != "ok") refuse("does not pass PRAGMA integrity_check (" + verdict + ")");
    out.schema_version = version.empty() ? 0 : std::stoi(version);
    if (events.empty() || out.schema_version == 0) refuse("is not a Simpul store");
    if (out.schema_version > latest_version())
      refuse("has schema version " + version + ", newer than this binary supports (" +
             std::to_string(latest_version()) + ")");
  }
  // The copy is made beside the database (same file system, so the last step is a rename),
  // private, synced; only then is the old one moved aside.
  const std::string staged = db_path + ".restoring";
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(staged + suffix, ec);
  if (!create_private(staged))
    throw StoreError(errc::storage_failure,
                     "restore: cannot create " + staged + ": " + std::strerror(errno));
  ec.clear();
  fs::copy_file(backup, staged, fs::copy_options::overwrite_existing, ec);
  if (ec || !sync_to_disk(staged, false)) {
    fs::remove(staged, ec);
    throw StoreError(errc::storage_failure, "restore: cannot copy " + backup + " to " + staged);
  }
  ::chmod(staged.c_str(), 0600);
  // Run as root (sudo simpul db restore), the restored file belongs to whoever owns the store
  // (the service's user), as the file it replaces did; else the node could not open it.
  if (::geteuid() == 0) {
    struct stat owner {};
    const std::string like =
        fs::exists(db_path, ec) ? db_path : fs::absolute(db_path).parent_path().string();
    if (::stat(like.c_str(), &owner) == 0 &&
        ::chown(staged.c_str(), owner.st_uid, owner.st_gid) != 0)
      log::warn("store.restore_owner", {{"path", staged}, {"error", std::strerror(errno)}});
  }
  if (fs::exists(db_path, ec)) {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    out.replaced = db_path + ".replaced-" + stamp;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      if (!fs::exists(db_path + suffix, ec)) continue;
      fs::rename(db_path + suffix, out.replaced + suffix, ec);
      if (ec)
        throw StoreError(errc::storage_failure, "restore: cannot move " + db_path + suffix +
                                                    " aside: " + ec.message() +
                                                    " (the backup is staged at " + staged + ")");
    }
  }
  fs::rename(staged, db_path, ec);
  if (ec)
    throw StoreError(errc::storage_failure,
                     "restore: cannot move " + staged + " to " + db_path + ": " + ec.message());
  sync_to_disk(fs::absolute(db_path).parent_path().string(), true);
  return out;
}

Store::RetentionDeleted SqliteStore::prune(const RetentionCut& cut) {
  RetentionDeleted d;
  // The last id of the next window of a table after `after`; `after` itself when none is left.
  auto window_end = [&](const char* sql, std::int64_t after) {
    auto s = prepare(sql);
    s.bind(1, after).bind(2, cut.window);
    return s.step() && !s.null(0) ? s.i64(0) : after;
  };
  d.outbox_next =
      window_end("SELECT max(id) FROM (SELECT id FROM outbox WHERE id > ? ORDER BY id LIMIT ?)",
                 cut.outbox_after);
  d.raw_next = window_end(
      "SELECT max(id) FROM (SELECT id FROM raw_payloads WHERE id > ? ORDER BY id LIMIT ?)",
      cut.raw_after);
  d.idempotency_next = window_end(
      "SELECT max(rowid) FROM (SELECT rowid FROM idempotency WHERE rowid > ? ORDER BY rowid "
      "LIMIT ?)",
      cut.idempotency_after);
  // Delivered rows for connectors and the national hub; for the parent, all but the newest of
  // each complaint (its sync state, at_parent, is read from a delivered row to the parent).
  if (d.outbox_next > cut.outbox_after) {
    prepare(
        // "A later event of the complaint was delivered to the parent", by the complaint's
        // events index and the (destination, event_seq) key: written as a join, SQLite walked
        // every later upstream row instead (1.5 s a window at 3M rows; this, 23 ms).
        "DELETE FROM outbox WHERE id > ?1 AND id <= ?2 AND state = 'done' AND created_at < ?3 "
        "AND destination NOT LIKE 'child:%' AND (destination != 'upstream' OR EXISTS (SELECT 1 "
        "FROM events e2 WHERE e2.complaint_id = (SELECT e.complaint_id FROM events e WHERE "
        "e.seq = outbox.event_seq) AND e2.seq > outbox.event_seq AND EXISTS (SELECT 1 FROM "
        "outbox o2 WHERE o2.destination = 'upstream' AND o2.event_seq = e2.seq AND o2.state = "
        "'done')))")
        .bind(1, cut.outbox_after)
        .bind(2, d.outbox_next)
        .bind(3, cut.outbox_done_before)
        .run();
    d.outbox = changes();
  }
  if (d.raw_next > cut.raw_after) {
    prepare(
        "DELETE FROM raw_payloads WHERE id > ?1 AND id <= ?2 AND EXISTS (SELECT 1 FROM "
        "complaints c WHERE c.id = raw_payloads.complaint_id AND c.status IN ('closed', "
        "'archived', 'cancelled') AND c.updated_at < ?3)")
        .bind(1, cut.raw_after)
        .bind(2, d.raw_next)
        .bind(3, cut.raw_closed_before)
        .run();
    d.raw_payloads = changes();
  }
  if (d.idempotency_next > cut.idempotency_after) {
    prepare("DELETE FROM idempotency WHERE rowid > ?1 AND rowid <= ?2 AND created_at < ?3")
        .bind(1, cut.idempotency_after)
        .bind(2, d.idempotency_next)
        .bind(3, cut.idempotency_before)
        .run();
    d.idempotency = changes();
  }
  // Each child's feed up to the position it acknowledged (feed_acked prunes as it polls; this
  // reaches a child that stopped polling).
  std::vector<std::pair<std::string, std::int64_t>> acked;
  {
    auto s = prepare("SELECT name, value FROM cursors WHERE name LIKE 'feed.%.acked'");
    while (s.step()) {
      std::string name = s.text(0);
      std::string child = name.substr(5, name.size() - 5 - 6);
      std::string body = acked_body(s.text(1), name);
      if (!body.empty()) acked.emplace_back(child, std::strtoll(body.c_str(), nullptr, 10));
    }
  }
  for (const auto& [child, position] : acked) {
    prepare(
        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE destination = ?1 AND id <= "
        "?2 AND created_at < ?3 ORDER BY id LIMIT ?4)")
        .bind(1, Destination::child(child).name())
        .bind(2, position)
        .bind(3, cut.feed_acked_before)
        .bind(4, cut.batch)
        .run();
    d.feed += changes();
  }
  d.finished = d.outbox_next == cut.outbox_after && d.raw_next == cut.raw_after &&
               d.idempotency_next == cut.idempotency_after && d.feed == 0;
  return d;
}

std::int64_t SqliteStore::vacuum_step(int pages) {
  auto mode = prepare("PRAGMA auto_vacuum");
  if (!mode.step() || mode.i64(0) != 2) return 0;
  const std::int64_t before = free_pages();
  exec(("PRAGMA incremental_vacuum(" + std::to_string(pages) + ")").c_str());
  return before - free_pages();
}

Store::SealStep SqliteStore::seal_step(std::int64_t sealed_through, int limit) {
  SealStep st;
  st.sealed_through = sealed_through;
  if (!opt_.seal_keys) {
    st.finished = true;
    return st;
  }
  const crypto::SealKeys& keys = *opt_.seal_keys;
  const std::string& current = keys.current_id();
  // Identities sealed under an older key.
  {
    std::vector<std::array<std::string, 3>> rows;
    {
      auto s = prepare(
          "SELECT event_id, key_id, sealed FROM sealed_events WHERE key_id < ?1 OR key_id > ?1 "
          "LIMIT ?2");
      s.bind(1, current).bind(2, limit);
      while (s.step()) rows.push_back({s.text(0), s.text(1), s.text(2)});
    }
    for (const auto& [event_id, key_id, sealed] : rows) {
      auto plain = keys.open(key_id, sealed, identity_context(event_id));
      if (!plain)
        throw StoreError(errc::storage_failure,
                         "event " + event_id + " is sealed under store key " + key_id +
                             (keys.knows(key_id) ? ", and does not open (damaged or moved)"
                                                 : ", which is not configured: name it in "
                                                   "store.previous_encryption_keys"));
      prepare("UPDATE sealed_events SET key_id = ?, sealed = ? WHERE event_id = ?")
          .bind(1, current)
          .bind_blob(2, keys.seal(*plain, identity_context(event_id)))
          .bind(3, event_id)
          .run();
      ++st.resealed;
    }
  }
  // Raw payloads under an older key, or in the clear.
  {
    struct Raw {
      std::int64_t id;
      std::string source, complaint_id, body, key_id;
      bool sealed;
    };
    std::vector<Raw> rows;
    {
      auto s = prepare(
          "SELECT id, source, coalesce(complaint_id, ''), body, coalesce(key_id, ''), key_id IS "
          "NOT NULL FROM raw_payloads WHERE key_id IS NULL OR key_id < ?1 OR key_id > ?1 "
          "LIMIT ?2");
      s.bind(1, current).bind(2, limit);
      while (s.step())
        rows.push_back({s.i64(0), s.text(1), s.text(2), s.text(3), s.text(4), s.i64(5) != 0});
    }
    for (auto& r : rows) {
      const std::string kept =
          r.sealed ? open_raw(r.key_id, r.body, r.source, r.complaint_id, r.id) : r.body;
      prepare("UPDATE raw_payloads SET body = ?, key_id = ? WHERE id = ?")
          .bind_blob(1, keys.seal(kept, raw_context(r.source, r.complaint_id)))
          .bind(2, current)
          .bind(3, r.id)
          .run();
      ++(r.sealed ? st.resealed : st.sealed);
    }
  }
  // Events written in the clear (before schema 11, or by a connection without keys): the event
  // as it was is sealed, then its row keeps it without the identity (the one update the
  // append-only trigger lets through). A `created` payload is what its raw payloads are packed
  // against: those are unpacked against the old row and packed again against the new one.
  int read = 0;
  {
    std::vector<StoredEvent> rows;
    {
      auto s = prepare(
          "SELECT seq, event_id, complaint_id, origin, at, kind, actor_json, payload_json, "
          "hops_json FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
      s.bind(1, sealed_through).bind(2, limit);
      while (s.step()) rows.push_back(event_row_as_kept(s));
    }
    read = static_cast<int>(rows.size());
    for (const auto& se : rows) {
      st.sealed_through = se.seq;
      const Event& e = se.event;
      auto kept = without_identity(e);
      if (!kept) continue;
      if (e.kind == EventKind::created) {
        struct Packed {
          std::int64_t id;
          std::string source, body, key_id;
        };
        std::vector<Packed> packed;
        {
          auto s = prepare(
              "SELECT id, source, body, coalesce(key_id, '') FROM raw_payloads WHERE "
              "complaint_id = ? AND packing = 1");
          s.bind(1, e.complaint_id);
          while (s.step()) packed.push_back({s.i64(0), s.text(1), s.text(2), s.text(3)});
        }
        for (const auto& [id, source, body, key_id] : packed) {
          auto whole = sqlite::unpack_against(
              key_id.empty() ? body : open_raw(key_id, body, source, e.complaint_id, id),
              e.payload);
          if (!whole)
            throw StoreError(errc::storage_failure,
                             "raw payload " + std::to_string(id) + " cannot be unpacked");
          prepare("UPDATE raw_payloads SET body = ? WHERE id = ?")
              .bind_blob(1, keys.seal(sqlite::pack_against(*whole, kept->payload),
                                      raw_context(source, e.complaint_id)))
              .bind(2, id)
              .run();
          prepare("UPDATE raw_payloads SET key_id = ? WHERE id = ?")
              .bind(1, current)
              .bind(2, id)
              .run();
        }
      }
      put_sealed(e);
      prepare("UPDATE events SET actor_json = ?, payload_json = ? WHERE seq = ?")
          .bind(1, json::actor_to_json(kept->actor))
          .bind_payload(2, kept->payload, e.complaint_id, e.at)
          .bind(3, se.seq)
          .run();
      ++st.sealed;
    }
  }
  last_created_.reset();
  st.finished = st.resealed == 0 && st.sealed == 0 && read < limit;
  return st;
}

Store::SealState SqliteStore::seal_state() {
  SealState out;
  {
    auto s = prepare("SELECT key_id, count(*) FROM sealed_events GROUP BY key_id ORDER BY key_id");
    while (s.step()) out.sealed_by_key.emplace_back(s.text(0), s.i64(1));
  }
  auto s = prepare("SELECT count(*) FROM raw_payloads WHERE key_id IS NULL");
  if (s.step()) out.clear_raw_payloads = s.i64(0);
  return out;
}

std::int64_t SqliteStore::free_pages() {
  auto s = prepare("PRAGMA freelist_count");
  return s.step() ? s.i64(0) : 0;
}

// ---- primitives the ledger composes -------------------------------------------------------

std::int64_t SqliteStore::append(const Event& e, TimeMs now) {
  // The row keeps the event without its reporter when that is sealed (the sealed row is
  // written after: its foreign key is the event's id, which must exist first).
  const std::optional<Event> kept = opt_.seal_keys ? without_identity(e) : std::nullopt;
  const Event& row = kept ? *kept : e;
  prepare(
      "INSERT INTO events(event_id, complaint_id, origin, at, kind, actor_json, payload_json, "
      "hops_json, stored_at) VALUES (?,?,?,?,?,?,?,?,?)")
      .bind(1, row.event_id)
      .bind(2, row.complaint_id)
      .bind(3, row.origin)
      .bind(4, row.at)
      .bind(5, to_string(row.kind))
      .bind(6, json::actor_to_json(row.actor))
      .bind_payload(7, row.payload, row.complaint_id, row.at)
      .bind(8, json::hops_to_json(row.hops))
      .bind(9, now)
      .run();
  const std::int64_t seq = sqlite3_last_insert_rowid(db_);
  if (kept) put_sealed(e);
  // What a raw payload is packed against: the payload as the row keeps it.
  if (e.kind == EventKind::created) last_created_.emplace(row.complaint_id, row.payload);
  return seq;
}

void SqliteStore::put_sealed(const Event& e) {
  prepare("INSERT OR REPLACE INTO sealed_events(event_id, key_id, sealed) VALUES (?,?,?)")
      .bind(1, e.event_id)
      .bind(2, opt_.seal_keys->current_id())
      .bind_blob(3, opt_.seal_keys->seal(sealed_form(e), identity_context(e.event_id)))
      .run();
}

void SqliteStore::unseal(Event& e) {
  if (!may_name_reporter(e)) return;
  auto s = prepare("SELECT key_id, sealed FROM sealed_events WHERE event_id = ?");
  s.bind(1, e.event_id);
  if (!s.step()) return;
  const std::string key_id = s.text(0);
  if (!opt_.seal_keys)
    throw StoreError(errc::storage_failure,
                     "event " + e.event_id + " names its reporter sealed under store key " +
                         key_id +
                         ", and this store was opened without keys (store.encryption_key)");
  auto plain = opt_.seal_keys->open(key_id, s.text(1), identity_context(e.event_id));
  if (!plain)
    throw StoreError(
        errc::storage_failure,
        "the sealed identity of event " + e.event_id +
            (opt_.seal_keys->knows(key_id) ? " does not open: the row is damaged or was moved"
                                           : " is under store key " + key_id +
                                                 ", which is not configured (store.encryption_key, "
                                                 "store.previous_encryption_keys)"));
  if (!from_sealed_form(*plain, e))
    throw StoreError(errc::storage_failure,
                     "the sealed identity of event " + e.event_id + " cannot be read");
}

std::vector<StoredEvent> SqliteStore::stored_events_of(const std::string& complaint_id) {
  auto s = prepare(
      "SELECT seq, event_id, complaint_id, origin, at, kind, actor_json, payload_json, hops_json "
      "FROM events WHERE complaint_id = ? ORDER BY seq");
  s.bind(1, complaint_id);
  std::vector<StoredEvent> out;
  while (s.step()) out.push_back(event_row(s));
  return out;
}

std::vector<StoredEvent> SqliteStore::events_after(std::int64_t after_seq, int limit) {
  auto s = prepare(
      "SELECT seq, event_id, complaint_id, origin, at, kind, actor_json, payload_json, hops_json "
      "FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
  s.bind(1, after_seq).bind(2, limit);
  std::vector<StoredEvent> out;
  while (s.step()) out.push_back(event_row(s));
  return out;
}

std::optional<Event> SqliteStore::find_event(const std::string& event_id) {
  auto s = prepare(
      "SELECT seq, event_id, complaint_id, origin, at, kind, actor_json, payload_json, hops_json "
      "FROM events WHERE event_id = ?");
  s.bind(1, event_id);
  if (!s.step()) return std::nullopt;
  return event_row(s).event;
}

void SqliteStore::make_visible(const std::string& complaint_id, const std::string& child,
                               TimeMs now) {
  prepare("INSERT OR IGNORE INTO complaint_children(complaint_id, child, added_at) VALUES (?,?,?)")
      .bind(1, complaint_id)
      .bind(2, child)
      .bind(3, now)
      .run();
}

void SqliteStore::enqueue(const std::string& destination, std::int64_t seq, TimeMs now) {
  prepare(
      "INSERT OR IGNORE INTO outbox(destination, event_seq, next_attempt_at, created_at) "
      "VALUES (?1, ?2, ?3, ?3)")
      .bind(1, destination)
      .bind(2, seq)
      .bind(3, now)
      .run();
}

void SqliteStore::mark_done(const std::string& destination, std::int64_t seq) {
  prepare("UPDATE outbox SET state = 'done' WHERE destination = ? AND event_seq = ?")
      .bind(1, destination)
      .bind(2, seq)
      .run();
}

void SqliteStore::requeue(const std::string& destination, std::int64_t seq, TimeMs now) {
  prepare(
      "DELETE FROM dead_letters WHERE outbox_id IN (SELECT id FROM outbox WHERE destination = ? "
      "AND event_seq = ?)")
      .bind(1, destination)
      .bind(2, seq)
      .run();
  prepare("DELETE FROM outbox WHERE destination = ? AND event_seq = ?")
      .bind(1, destination)
      .bind(2, seq)
      .run();
  enqueue(destination, seq, now);
}

std::vector<EventLog::OwnComplaint> SqliteStore::complaints_received(TimeMs from, TimeMs to,
                                                                     const std::string& system,
                                                                     const std::string& upstream,
                                                                     const std::string& after_id,
                                                                     int limit) {
  // By the primary key from `after_id`: a page costs the rows it walks, whatever the range.
  auto s = prepare(
      "SELECT c.id, coalesce(c.agency, ''), c.status, c.received_at, c.conflict_count > 0, "
      "coalesce((SELECT r.ext_id FROM refs r WHERE r.complaint_id = c.id AND r.system = ?3 "
      "ORDER BY r.rowid LIMIT 1), ''), e.seq, EXISTS (SELECT 1 FROM json_each(e.hops_json) WHERE "
      "value = ?4), coalesce((SELECT o.state FROM outbox o WHERE o.destination = 'upstream' AND "
      "o.event_seq = e.seq), '') FROM complaints c JOIN events e ON e.complaint_id = c.id AND "
      "e.kind = 'created' WHERE c.id > ?5 AND c.received_at >= ?1 AND c.received_at <= ?2 "
      "ORDER BY c.id LIMIT ?6");
  s.bind(1, from).bind(2, to).bind(3, system).bind(4, upstream).bind(5, after_id).bind(6, limit);
  std::vector<OwnComplaint> out;
  while (s.step()) {
    OwnComplaint c;
    c.id = s.text(0);
    c.agency = s.text(1);
    c.status = parse_status(s.text(2)).value_or(Status::received);
    c.received_at = s.i64(3);
    c.conflict = s.i64(4) != 0;
    c.ext_id = s.text(5);
    c.created_seq = s.i64(6);
    c.from_upstream = s.i64(7) != 0;
    c.up_row = s.text(8);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<EventLog::SentUp> SqliteStore::sent_up(const std::string& upstream, TimeMs from,
                                                   TimeMs to, std::int64_t after_seq, int limit) {
  std::int64_t start = after_seq;
  if (start == 0) {  // from the first position stored in the range (as events_through)
    auto first =
        prepare("SELECT min(seq) FROM events INDEXED BY events_stored WHERE stored_at >= ?");
    first.bind(1, from);
    if (!first.step() || first.null(0)) return {};
    start = first.i64(0) - 1;
  }
  auto s = prepare(
      "SELECT e.seq, e.event_id, e.complaint_id, coalesce((SELECT o.state FROM outbox o WHERE "
      "o.destination = 'upstream' AND o.event_seq = e.seq), '') FROM events e NOT INDEXED WHERE "
      "e.seq > ?3 AND e.stored_at >= ?1 AND e.stored_at <= ?2 AND NOT EXISTS (SELECT 1 FROM "
      "json_each(e.hops_json) WHERE value = ?4) ORDER BY e.seq LIMIT ?5");
  s.bind(1, from).bind(2, to).bind(3, start).bind(4, upstream).bind(5, limit);
  std::vector<SentUp> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.text(2), s.text(3)});
  return out;
}

std::vector<EventLog::HeldEvent> SqliteStore::events_for_child(const std::string& child,
                                                               TimeMs since, std::int64_t after_seq,
                                                               std::int64_t fetched, int limit) {
  std::int64_t start = after_seq;
  if (start == 0) {
    auto first =
        prepare("SELECT min(seq) FROM events INDEXED BY events_stored WHERE stored_at >= ?");
    first.bind(1, since);
    if (!first.step() || first.null(0)) return {};
    start = first.i64(0) - 1;
  }
  auto s = prepare(
      "SELECT e.seq, e.event_id, e.complaint_id FROM events e NOT INDEXED WHERE e.seq > ?2 AND "
      "e.stored_at >= ?1 AND EXISTS (SELECT 1 FROM complaint_children v WHERE v.complaint_id = "
      "e.complaint_id AND v.child = ?3) AND NOT EXISTS (SELECT 1 FROM json_each(e.hops_json) "
      "WHERE value = ?3) AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.destination = 'child:' || "
      "?3 AND o.event_seq = e.seq AND o.id > ?5) ORDER BY e.seq LIMIT ?4");
  s.bind(1, since).bind(2, start).bind(3, child).bind(4, limit).bind(5, fetched);
  std::vector<HeldEvent> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.text(2)});
  return out;
}

void SqliteStore::put_projection(const ComplaintState& st, TimeMs now,
                                 std::optional<TimeMs> sla_next_at) {
  SIMPUL_CHECK(st.exists, "only a complaint that exists has a projection");
  const auto& r = st.record;
  const std::string& id = r.id;
  // The row's rowid and its text index's state come back from the write itself (RETURNING):
  // the upsert leaves fts_rowid and fts_hash as they were.
  auto up = prepare(
      "INSERT INTO complaints(id, seq, status, type, privacy, channel, region, agency, "
      "received_at, updated_at, verify_due, followup_due, autoclose_due, event_count, "
      "conflict_count, sla_next_at) VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM "
      "complaints), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
      "ON CONFLICT(id) DO UPDATE SET seq = (SELECT max(seq) + 1 FROM complaints), "
      "status = ?2, type = ?3, privacy = ?4, channel = ?5, region = ?6, agency = ?7, "
      "received_at = ?8, updated_at = ?9, verify_due = ?10, followup_due = ?11, "
      "autoclose_due = ?12, event_count = ?13, conflict_count = ?14, sla_next_at = ?15 "
      "RETURNING rowid, fts_rowid, fts_hash");
  up.bind(1, id)
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
      // What an admin still has to decide: a resolved conflict no longer lists.
      .bind(14, static_cast<std::int64_t>(
                    std::count_if(st.conflicts.begin(), st.conflicts.end(),
                                  [](const Conflict& c) { return !c.resolved_at; })))
      .bind(15, sla_next_at);
  SIMPUL_CHECK(up.step(), "an upsert returns its row");
  const std::int64_t rowid = up.i64(0);
  const bool indexed = !up.null(1);
  const std::int64_t fts_rowid = indexed ? up.i64(1) : 0;
  const bool hashed = !up.null(2);
  const std::int64_t old_hash = hashed ? up.i64(2) : 0;
  up.run();  // to the end: the write is complete
  // The searchable text, indexed again only when it changed (most events leave it as it was).
  if (opt_.full_text) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of title, a separator, body
    auto mix = [&h](std::string_view t) {
      for (unsigned char ch : t) h = (h ^ ch) * 1099511628211ULL;
    };
    mix(r.title);
    mix("\x1f");
    mix(r.body);
    const auto hash = static_cast<std::int64_t>(h);
    // Versions 0..15 of this complaint's text (a small stride keeps the index's rowid deltas
    // one byte); after the 16th change of its title or body the 16th text stays indexed.
    const bool changed = !indexed || !hashed || old_hash != hash;
    if (changed && (!indexed || fts_rowid < rowid * 16 + 15)) {
      const std::int64_t next = !indexed ? rowid * 16 : fts_rowid + 1;
      prepare("INSERT INTO complaints_fts(rowid, title, body) VALUES (?, ?, ?)")
          .bind(1, next)
          .bind(2, r.title)
          .bind(3, r.body)
          .run();
      prepare("UPDATE complaints SET fts_rowid = ?, fts_hash = ? WHERE rowid = ?")
          .bind(1, next)
          .bind(2, hash)
          .bind(3, rowid)
          .run();
    }
  }
  // The agencies it had before the one holding it now (the fold only ever adds to them).
  for (const auto& agency : st.agencies)
    if (agency != r.agency)
      prepare("INSERT OR IGNORE INTO complaint_agencies(agency, complaint_id) VALUES (?, ?)")
          .bind(1, agency)
          .bind(2, id)
          .run();
  prepare("DELETE FROM conflicts WHERE complaint_id = ?").bind(1, id).run();
  for (const auto& c : st.conflicts) {
    prepare(
        "INSERT INTO conflicts(event_id, complaint_id, kind, reason, detected_at) VALUES "
        "(?,?,?,?,?)")
        .bind(1, c.event_id)
        .bind(2, id)
        .bind(3, to_string(c.kind))
        .bind(4, c.reason)
        .bind(5, now)
        .run();
  }
}

int SqliteStore::open_savepoint() {
  ++savepoints_;
  exec(("SAVEPOINT sp" + std::to_string(savepoints_)).c_str());
  return savepoints_;
}

void SqliteStore::undo_savepoint(int depth) noexcept {
  savepoints_ = depth - 1;
  last_created_.reset();
  // SQLite may have rolled back the whole transaction already (disk full, I/O error): then
  // there is no savepoint left to undo, and the caller sees the transaction gone.
  if (!in_transaction()) return;
  const std::string name = "sp" + std::to_string(depth);
  sqlite3_exec(db_, ("ROLLBACK TO " + name).c_str(), nullptr, nullptr, nullptr);
  sqlite3_exec(db_, ("RELEASE " + name).c_str(), nullptr, nullptr, nullptr);
}

void SqliteStore::keep_savepoint(int depth) {
  savepoints_ = depth - 1;
  exec(("RELEASE sp" + std::to_string(depth)).c_str());
}

int SqliteStore::changes() { return sqlite3_changes(db_); }

std::int64_t SqliteStore::setting(const std::string& name) {
  auto s = prepare(("PRAGMA " + name).c_str());
  return s.step() ? s.i64(0) : -1;
}

}  // namespace simpul
