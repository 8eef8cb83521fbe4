#pragma once
// A legacy app's database, for the sql_poll and sql_write connector types: one connection to
// MariaDB/MySQL (MariaDB Connector/C) or PostgreSQL (libpq), statements with named
// placeholders (`:name`) whose values are always bound as parameters, never spliced into the
// SQL, and every value read back as text (or NULL).
//
// Blocking: use it only inside ConnectorContext::blocking, never on the io thread. A
// Connection is one thread's at a time. Failures throw SqlError with a short sentence (no
// values from the rows).

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace simpul::connectors::sql {

class SqlError : public std::runtime_error {
 public:
  enum class Kind { connect, auth, query, timeout };
  SqlError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

enum class Driver { mariadb, postgresql };

struct Endpoint {
  Driver driver = Driver::mariadb;
  std::string host;    // or a socket
  int port = 0;        // 0: the driver's default
  std::string socket;  // a Unix socket path (MariaDB) or folder (PostgreSQL)
  std::string database, user, password;
  bool tls = false;     // require TLS, verifying the server against ca_file (or the system's)
  std::string ca_file;  //
  int connect_timeout_s = 10;
  int statement_timeout_ms = 10'000;
  // The session's time zone as an offset ("+07:00"): naive DATETIME columns are read and
  // compared in it, and the database's own clock (NOW()) speaks it.
  std::string zone = "+00:00";
  int zone_minutes = 0;  // the same, in minutes east of UTC
};

using Params = std::map<std::string, std::optional<std::string>>;

using Row = std::vector<std::optional<std::string>>;  // a value's text, or NULL
struct Rows {
  std::vector<std::string> columns;
  std::vector<Row> rows;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Runs `sql` (named placeholders `:name`, each in `params`) and returns what it selected.
  virtual Rows query(const std::string& sql, const Params& params) = 0;
  // Runs a statement that selects nothing; the rows it changed.
  virtual std::int64_t execute(const std::string& sql, const Params& params) = 0;
  virtual Driver driver() const = 0;
  virtual std::string server_version() = 0;
};

// Connects and sets the session up: the zone, the statement timeout, read committed.
std::unique_ptr<Connection> connect(const Endpoint& e);

// A statement with its named placeholders replaced by the driver's positional ones (`?` for
// MariaDB, `$1`... for PostgreSQL), and the names in bind order. Placeholders inside string
// literals, quoted identifiers and comments are left alone, as is PostgreSQL's `::` cast.
struct Positional {
  std::string sql;
  std::vector<std::string> names;
};
Positional positional(const std::string& sql, Driver d);

// The names of the placeholders in `sql`, each once, in order of first use.
std::vector<std::string> placeholder_names(const std::string& sql);

}  // namespace simpul::connectors::sql
