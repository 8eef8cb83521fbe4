#pragma once
// The raw SQLite limit both benchmarks compare against: the rows Simpul wrote, read back from
// its database and inserted again with plain prepared statements into a fresh database of the
// same schema and synchronous setting. What SQLite alone needs to store the same data.

#include <string>
#include <vector>

namespace simpul::bench {

struct RowTable {
  std::string name;
  int columns = 0;
  std::vector<std::vector<std::string>> rows;  // every value as its text/blob bytes
  std::vector<std::vector<int>> types;         // SQLITE_INTEGER, SQLITE_TEXT, ... per value
};

// Every row of `tables` (those that exist) in the database at `path`, in rowid order.
std::vector<RowTable> read_rows(const std::string& path, const std::vector<std::string>& tables);

// Inserts all rows into a fresh database at `path` (created by Store: the same schema) in
// `transactions` commits, each taking the next equal share of every table, so a commit holds
// the rows of about the same complaints. Returns `units` (complaints, rows of an export) per
// second.
double raw_insert_rate(const std::string& path, const std::vector<RowTable>& tables, long units,
                       long transactions, bool synchronous_full);

}  // namespace simpul::bench
