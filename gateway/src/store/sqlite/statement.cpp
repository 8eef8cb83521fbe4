#include "store/sqlite/statement.hpp"

#include <sqlite3.h>

#include "store/store.hpp"

namespace simpul::sqlite {

errc classify(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return errc::storage_busy;
    case SQLITE_FULL:
      return errc::storage_full;
    default:
      return errc::storage_failure;
  }
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw StoreError(classify(rc), msg);
  }
}

Statement::Statement(sqlite3* db, const char* sql) : db_(db), s_(nullptr), owned_(true) {
  int rc = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(s_);
    s_ = nullptr;
    throw StoreError(classify(rc), std::string("sqlite prepare: ") + sqlite3_errmsg(db));
  }
}

Statement::~Statement() {
  if (!s_) return;
  if (owned_) {
    sqlite3_finalize(s_);
  } else {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

void Statement::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

void Statement::check(int rc, const char* what) {
  if (rc != SQLITE_OK)
    throw StoreError(classify(rc), std::string(what) + ": " + sqlite3_errmsg(db_));
}

Statement& Statement::bind(int i, std::string_view v) {
  check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT),
        "sqlite bind");
  return *this;
}

Statement& Statement::bind(int i, std::int64_t v) {
  check(sqlite3_bind_int64(s_, i, v), "sqlite bind");
  return *this;
}

Statement& Statement::bind(int i, const std::optional<std::int64_t>& v) {
  if (v) return bind(i, *v);
  check(sqlite3_bind_null(s_, i), "sqlite bind");
  return *this;
}

Statement& Statement::bind_null_if_empty(int i, const std::string& v) {
  if (v.empty()) {
    check(sqlite3_bind_null(s_, i), "sqlite bind");
    return *this;
  }
  return bind(i, v);
}

Statement& Statement::bind_blob(int i, std::string_view v) {
  check(sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT),
        "sqlite bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw StoreError(classify(rc), std::string("sqlite step: ") + sqlite3_errmsg(db_));
}

std::int64_t Statement::i64(int col) { return sqlite3_column_int64(s_, col); }
bool Statement::null(int col) { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
bool Statement::is_blob(int col) { return sqlite3_column_type(s_, col) == SQLITE_BLOB; }

std::string Statement::text(int col) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
           : std::string();
}

}  // namespace simpul::sqlite
