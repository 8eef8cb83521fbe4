#pragma once
// The one thin layer over SQLite's C API: a statement in use (binds, steps, reads columns) and
// exec, every failure a StoreError carrying its errc (busy, full, other). The store uses it for
// its cached statements; the LAPOR! simulator and the Ape Kesah stand-in for their own small
// databases.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "simpul/errors.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace simpul::sqlite {

// SQLITE_BUSY/LOCKED -> storage_busy, SQLITE_FULL -> storage_full, else storage_failure.
errc classify(int rc) noexcept;

// Runs SQL without results (several statements allowed). Throws StoreError.
void exec(sqlite3* db, const char* sql);

class Statement {
 public:
  // A statement of one use, finalized when it goes. Throws StoreError.
  Statement(sqlite3* db, const char* sql);
  static Statement prepare(sqlite3* db, const char* sql) { return Statement(db, sql); }
  // A statement owned elsewhere (a cache), reset and unbound when this goes.
  static Statement borrow(sqlite3* db, sqlite3_stmt* s) { return Statement(db, s, false); }
  Statement(Statement&& o) noexcept : db_(o.db_), s_(o.s_), owned_(o.owned_) { o.s_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, long long v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, const std::optional<std::int64_t>& v);
  Statement& bind_null_if_empty(int i, const std::string& v);
  Statement& bind_blob(int i, std::string_view v);

  // True while there is a row.
  bool step();
  void run() {
    while (step()) {
    }
  }
  // Ready to be bound and stepped again.
  void reset();
  std::int64_t i64(int col);
  bool null(int col);
  bool is_blob(int col);
  std::string text(int col);  // a BLOB's bytes as they are
  sqlite3* db() const { return db_; }

 protected:
  Statement(sqlite3* db, sqlite3_stmt* s, bool owned) : db_(db), s_(s), owned_(owned) {}

 private:
  void check(int rc, const char* what);
  sqlite3* db_;
  sqlite3_stmt* s_;
  bool owned_;
};

}  // namespace simpul::sqlite
