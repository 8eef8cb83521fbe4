#include "raw_rows.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "store/sqlite/sqlite_store.hpp"

namespace simpul::bench {

std::vector<RowTable> read_rows(const std::string& path, const std::vector<std::string>& tables) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  std::vector<RowTable> out;
  for (const auto& t : tables) {
    RowTable table;
    table.name = t;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, ("SELECT * FROM " + t).c_str(), -1, &st, nullptr) != SQLITE_OK)
      continue;
    table.columns = sqlite3_column_count(st);
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      std::vector<int> types;
      for (int c = 0; c < table.columns; ++c) {
        types.push_back(sqlite3_column_type(st, c));
        auto p = static_cast<const char*>(sqlite3_column_blob(st, c));
        row.emplace_back(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
      }
      table.rows.push_back(std::move(row));
      table.types.push_back(std::move(types));
    }
    sqlite3_finalize(st);
    out.push_back(std::move(table));
  }
  sqlite3_close(db);
  return out;
}

double raw_insert_rate(const std::string& path, const std::vector<RowTable>& tables, long units,
                       long transactions, bool synchronous_full) {
  { SqliteStore init(StoreOptions{path, synchronous_full, 5000, true}); }  // the same schema
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
               nullptr, nullptr, nullptr);
  sqlite3_exec(db, "PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr);
  std::vector<sqlite3_stmt*> inserts;
  for (const auto& t : tables) {
    std::string sql = "INSERT INTO " + t.name + " VALUES (";
    for (int c = 0; c < t.columns; ++c) sql += c ? ",?" : "?";
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, (sql + ")").c_str(), -1, &st, nullptr);
    inserts.push_back(st);
  }
  const auto share = [&](std::size_t total, long k) {
    return total * static_cast<std::size_t>(k) / static_cast<std::size_t>(transactions);
  };
  auto t0 = std::chrono::steady_clock::now();
  for (long k = 0; k < transactions; ++k) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    // Interleaved as Simpul writes them: the first row of each table, then the second, ...
    std::size_t longest = 0;
    for (const auto& table : tables)
      longest = std::max(longest, share(table.rows.size(), k + 1) - share(table.rows.size(), k));
    for (std::size_t i = 0; i < longest; ++i) {
      for (std::size_t t = 0; t < tables.size(); ++t) {
        const auto& table = tables[t];
        const std::size_t j = share(table.rows.size(), k) + i;
        if (j >= share(table.rows.size(), k + 1)) continue;
        sqlite3_stmt* st = inserts[t];
        for (int c = 0; c < table.columns; ++c) {
          const auto& v = table.rows[j][static_cast<std::size_t>(c)];
          switch (table.types[j][static_cast<std::size_t>(c)]) {
            case SQLITE_NULL:
              sqlite3_bind_null(st, c + 1);
              break;
            case SQLITE_INTEGER:
              sqlite3_bind_int64(st, c + 1, std::stoll(v));
              break;
            case SQLITE_BLOB:
              sqlite3_bind_blob(st, c + 1, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
              break;
            default:
              sqlite3_bind_text(st, c + 1, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
          }
        }
        if (sqlite3_step(st) != SQLITE_DONE)
          throw std::runtime_error(std::string("raw insert: ") + sqlite3_errmsg(db));
        sqlite3_reset(st);
      }
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      throw std::runtime_error("raw commit failed");
  }
  double rate = static_cast<double>(units) /
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto* st : inserts) sqlite3_finalize(st);
  sqlite3_close(db);
  return rate;
}

}  // namespace simpul::bench
