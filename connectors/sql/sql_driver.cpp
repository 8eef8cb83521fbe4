#include "sql/sql_driver.hpp"

#include <libpq-fe.h>
#include <mysql.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>

namespace simpul::connectors::sql {
namespace {

bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Walks `sql`, calling `on_name(begin, end)` for each placeholder `:name` outside literals,
// quoted identifiers and comments, and copying everything else through `copy`.
template <class OnName, class Copy>
void scan(const std::string& sql, OnName on_name, Copy copy) {
  std::size_t i = 0;
  const std::size_t n = sql.size();
  while (i < n) {
    const char c = sql[i];
    if (c == '\'' || c == '"' || c == '`') {  // a literal or a quoted identifier
      std::size_t j = i + 1;
      while (j < n) {
        if (sql[j] == '\\' && c == '\'' && j + 1 < n) {
          j += 2;
          continue;
        }
        if (sql[j] == c) {
          if (j + 1 < n && sql[j + 1] == c) {  // a doubled quote
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      j = std::min(n, j + 1);
      copy(sql.substr(i, j - i));
      i = j;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      std::size_t j = sql.find('\n', i);
      j = j == std::string::npos ? n : j;
      copy(sql.substr(i, j - i));
      i = j;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      std::size_t j = sql.find("*/", i + 2);
      j = j == std::string::npos ? n : j + 2;
      copy(sql.substr(i, j - i));
      i = j;
    } else if (c == ':' && i + 1 < n && sql[i + 1] == ':') {  // PostgreSQL's cast
      copy("::");
      i += 2;
    } else if (c == ':' && i + 1 < n && name_start(sql[i + 1]) &&
               (i == 0 || !name_char(sql[i - 1]))) {
      std::size_t j = i + 1;
      while (j < n && name_char(sql[j])) ++j;
      on_name(sql.substr(i + 1, j - i - 1));
      i = j;
    } else {
      copy(std::string(1, c));
      ++i;
    }
  }
}

SqlError::Kind mariadb_kind(unsigned int err) {
  switch (err) {
    case 1044:  // access denied to the database
    case 1045:  // access denied for user
    case 1698:
    case 1142:  // a command denied on a table (a grant missing): the operator's to fix, never
    case 1143:  // the data's (a decision it refuses is not dead-lettered); the same for a column
      return SqlError::Kind::auth;
    case 2002:  // no socket
    case 2003:  // no connection
    case 2005:  // unknown host
    case 2006:  // gone away
    case 2013:  // lost during query
    case 2026:  // TLS
      return SqlError::Kind::connect;
    case 1969:  // max_statement_time exceeded
    case 3024:  // MySQL's max_execution_time
      return SqlError::Kind::timeout;
    default:
      return SqlError::Kind::query;
  }
}

class MariaDbConnection final : public Connection {
 public:
  explicit MariaDbConnection(const Endpoint& e) {
    db_ = mysql_init(nullptr);
    if (!db_) throw SqlError(SqlError::Kind::connect, "out of memory for a MariaDB connection");
    unsigned int connect_s = static_cast<unsigned int>(std::max(1, e.connect_timeout_s));
    unsigned int io_s = static_cast<unsigned int>(std::max(1, e.statement_timeout_ms / 1000 + 5));
    mysql_options(db_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
    mysql_options(db_, MYSQL_OPT_READ_TIMEOUT, &io_s);
    mysql_options(db_, MYSQL_OPT_WRITE_TIMEOUT, &io_s);
    mysql_options(db_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (e.tls) {
      my_bool on = 1;
      mysql_options(db_, MYSQL_OPT_SSL_ENFORCE, &on);
      mysql_options(db_, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
      if (!e.ca_file.empty()) mysql_options(db_, MYSQL_OPT_SSL_CA, e.ca_file.c_str());
    }
    const bool socket = !e.socket.empty();
    if (!mysql_real_connect(db_, socket ? nullptr : e.host.c_str(), e.user.c_str(),
                            e.password.c_str(), e.database.c_str(),
                            static_cast<unsigned int>(e.port), socket ? e.socket.c_str() : nullptr,
                            0)) {
      SqlError err(mariadb_kind(mysql_errno(db_)), std::string("MariaDB: ") + mysql_error(db_));
      mysql_close(db_);
      db_ = nullptr;
      throw err;
    }
    run("SET time_zone = '" + e.zone + "'");
    // MariaDB's limit is in seconds, MySQL's in milliseconds; each ignores the other's.
    const std::string seconds = std::to_string(e.statement_timeout_ms / 1000.0);
    if (mysql_query(db_, ("SET SESSION max_statement_time = " + seconds).c_str()) != 0 &&
        mysql_query(db_,
                    ("SET SESSION max_execution_time = " + std::to_string(e.statement_timeout_ms))
                        .c_str()) != 0) {
      // Neither: an old server; the read timeout above still bounds every call.
    }
    run("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
  }
  ~MariaDbConnection() override {
    if (db_) mysql_close(db_);
  }
  Driver driver() const override { return Driver::mariadb; }
  std::string server_version() override {
    return std::string("MariaDB/MySQL ") + mysql_get_server_info(db_);
  }

  Rows query(const std::string& sql, const Params& params) override {
    Rows out;
    run_statement(sql, params, &out);
    return out;
  }
  std::int64_t execute(const std::string& sql, const Params& params) override {
    // A statement with nothing to bind (BEGIN, COMMIT, DDL) goes as plain text: not every one
    // can be prepared.
    if (params.empty() && placeholder_names(sql).empty()) {
      run(sql);
      return static_cast<std::int64_t>(mysql_affected_rows(db_));
    }
    return run_statement(sql, params, nullptr);
  }

 private:
  void run(const std::string& sql) {
    if (mysql_query(db_, sql.c_str()) != 0) fail("MariaDB");
    // A statement that returns rows anyway (SHOW ...): read and drop them.
    if (MYSQL_RES* r = mysql_store_result(db_)) mysql_free_result(r);
  }
  [[noreturn]] void fail(const char* what) {
    throw SqlError(mariadb_kind(mysql_errno(db_)), std::string(what) + ": " + mysql_error(db_));
  }

  std::int64_t run_statement(const std::string& named, const Params& params, Rows* out) {
    Positional p = positional(named, Driver::mariadb);
    MYSQL_STMT* st = mysql_stmt_init(db_);
    if (!st) fail("MariaDB");
    struct Close {
      MYSQL_STMT* st;
      ~Close() { mysql_stmt_close(st); }
    } close{st};
    auto stmt_fail = [&]() {
      throw SqlError(mariadb_kind(mysql_stmt_errno(st)),
                     std::string("MariaDB: ") + mysql_stmt_error(st));
    };
    if (mysql_stmt_prepare(st, p.sql.c_str(), p.sql.size()) != 0) stmt_fail();
    std::vector<MYSQL_BIND> binds(p.names.size());
    std::vector<unsigned long> lengths(p.names.size());
    std::vector<my_bool> nulls(p.names.size());
    std::vector<std::string> values(p.names.size());
    for (std::size_t i = 0; i < p.names.size(); ++i) {
      auto it = params.find(p.names[i]);
      if (it == params.end())
        throw SqlError(SqlError::Kind::query, "no value for the placeholder :" + p.names[i]);
      std::memset(&binds[i], 0, sizeof(MYSQL_BIND));
      binds[i].buffer_type = MYSQL_TYPE_STRING;
      nulls[i] = !it->second.has_value();
      values[i] = it->second.value_or("");
      lengths[i] = values[i].size();
      binds[i].buffer = values[i].data();
      binds[i].buffer_length = lengths[i];
      binds[i].length = &lengths[i];
      binds[i].is_null = &nulls[i];
    }
    if (!binds.empty() && mysql_stmt_bind_param(st, binds.data()) != 0) stmt_fail();
    if (mysql_stmt_execute(st) != 0) stmt_fail();
    MYSQL_RES* meta = mysql_stmt_result_metadata(st);
    if (!meta) return static_cast<std::int64_t>(mysql_stmt_affected_rows(st));
    struct Free {
      MYSQL_RES* r;
      ~Free() { mysql_free_result(r); }
    } free_meta{meta};
    my_bool update_max = 1;
    mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max);
    if (mysql_stmt_store_result(st) != 0) stmt_fail();
    const unsigned int n = mysql_num_fields(meta);
    MYSQL_FIELD* fields = mysql_fetch_fields(meta);
    std::vector<MYSQL_BIND> cols(n);
    std::vector<std::vector<char>> bufs(n);
    std::vector<unsigned long> lens(n);
    std::vector<my_bool> isnull(n), errors(n);
    for (unsigned int i = 0; i < n; ++i) {
      if (out) out->columns.emplace_back(fields[i].name, fields[i].name_length);
      bufs[i].resize(std::max<unsigned long>(fields[i].max_length, 64) + 1);
      std::memset(&cols[i], 0, sizeof(MYSQL_BIND));
      cols[i].buffer_type = MYSQL_TYPE_STRING;
      cols[i].buffer = bufs[i].data();
      cols[i].buffer_length = bufs[i].size();
      cols[i].length = &lens[i];
      cols[i].is_null = &isnull[i];
      cols[i].error = &errors[i];
    }
    if (mysql_stmt_bind_result(st, cols.data()) != 0) stmt_fail();
    std::int64_t count = 0;
    for (;;) {
      int rc = mysql_stmt_fetch(st);
      if (rc == MYSQL_NO_DATA) break;
      if (rc == 1) stmt_fail();
      std::vector<std::optional<std::string>> row(n);
      for (unsigned int i = 0; i < n; ++i) {
        if (isnull[i]) continue;
        if (lens[i] > bufs[i].size()) {  // truncated: read the whole value
          std::vector<char> big(lens[i] + 1);
          MYSQL_BIND b = cols[i];
          b.buffer = big.data();
          b.buffer_length = big.size();
          if (mysql_stmt_fetch_column(st, &b, i, 0) != 0) stmt_fail();
          row[i] = std::string(big.data(), lens[i]);
        } else {
          row[i] = std::string(bufs[i].data(), lens[i]);
        }
      }
      ++count;
      if (out) out->rows.push_back(std::move(row));
    }
    return count;
  }

  MYSQL* db_ = nullptr;
};

class PgConnection final : public Connection {
 public:
  explicit PgConnection(const Endpoint& e) {
    const std::string port = e.port ? std::to_string(e.port) : "";
    const std::string timeout = std::to_string(std::max(1, e.connect_timeout_s));
    const std::string host = e.socket.empty() ? e.host : e.socket;
    std::vector<const char*> keys, values;
    std::deque<std::string> held;  // the values' text, alive until the connection is made
    auto add = [&](const char* k, std::string v) {
      if (v.empty()) return;
      held.push_back(std::move(v));
      keys.push_back(k);
      values.push_back(held.back().c_str());
    };
    add("host", host);
    add("port", port);
    add("dbname", e.database);
    add("user", e.user);
    add("password", e.password);
    add("connect_timeout", timeout);
    add("application_name", "simpul");
    // TLS verifies the server's certificate and name, against ca_file (else libpq's default,
    // ~/.postgresql/root.crt).
    add("sslmode", e.tls ? "verify-full" : "");
    add("sslrootcert", e.tls ? e.ca_file : "");
    keys.push_back(nullptr);
    values.push_back(nullptr);
    db_ = PQconnectdbParams(keys.data(), values.data(), 0);
    if (!db_ || PQstatus(db_) != CONNECTION_OK) {
      std::string why = db_ ? PQerrorMessage(db_) : "out of memory";
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      if (db_) PQfinish(db_);
      db_ = nullptr;
      const bool auth = why.find("password") != std::string::npos ||
                        why.find("authentication") != std::string::npos ||
                        why.find("permission denied") != std::string::npos;
      throw SqlError(auth ? SqlError::Kind::auth : SqlError::Kind::connect, "PostgreSQL: " + why);
    }
    run("SET TIME ZONE INTERVAL '" + e.zone + "' HOUR TO MINUTE");
    run("SET statement_timeout = " + std::to_string(e.statement_timeout_ms));
    run("SET default_transaction_isolation = 'read committed'");
  }
  ~PgConnection() override {
    if (db_) PQfinish(db_);
  }
  Driver driver() const override { return Driver::postgresql; }
  std::string server_version() override {
    auto r = query("SHOW server_version", {});
    return "PostgreSQL " + (r.rows.empty() || !r.rows[0][0] ? std::string("?") : *r.rows[0][0]);
  }

  Rows query(const std::string& sql, const Params& params) override {
    Rows out;
    run_statement(sql, params, &out);
    return out;
  }
  std::int64_t execute(const std::string& sql, const Params& params) override {
    return run_statement(sql, params, nullptr);
  }

 private:
  void run(const std::string& sql) {
    PGresult* r = PQexec(db_, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    std::string why = ok ? "" : PQresultErrorMessage(r);
    PQclear(r);
    if (!ok) throw SqlError(SqlError::Kind::query, "PostgreSQL: " + why);
  }

  std::int64_t run_statement(const std::string& named, const Params& params, Rows* out) {
    Positional p = positional(named, Driver::postgresql);
    std::vector<std::string> values(p.names.size());
    std::vector<const char*> ptrs(p.names.size());
    for (std::size_t i = 0; i < p.names.size(); ++i) {
      auto it = params.find(p.names[i]);
      if (it == params.end())
        throw SqlError(SqlError::Kind::query, "no value for the placeholder :" + p.names[i]);
      values[i] = it->second.value_or("");
      ptrs[i] = it->second ? values[i].c_str() : nullptr;
    }
    PGresult* r = PQexecParams(db_, p.sql.c_str(), static_cast<int>(ptrs.size()), nullptr,
                               ptrs.data(), nullptr, nullptr, 0);
    struct Clear {
      PGresult* r;
      ~Clear() { PQclear(r); }
    } clear{r};
    const auto status = PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      if (PQstatus(db_) != CONNECTION_OK)
        throw SqlError(SqlError::Kind::connect, std::string("PostgreSQL: ") + PQerrorMessage(db_));
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      std::string why = PQresultErrorMessage(r);
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      const bool timeout = state && std::strcmp(state, "57014") == 0;
      const bool denied = state && std::strcmp(state, "42501") == 0;
      throw SqlError(timeout  ? SqlError::Kind::timeout
                     : denied ? SqlError::Kind::auth
                              : SqlError::Kind::query,
                     "PostgreSQL: " + why);
    }
    if (status == PGRES_COMMAND_OK) {
      const char* n = PQcmdTuples(r);
      return n && *n ? std::atoll(n) : 0;
    }
    const int nf = PQnfields(r), nt = PQntuples(r);
    if (out) {
      for (int f = 0; f < nf; ++f) out->columns.emplace_back(PQfname(r, f));
      out->rows.reserve(static_cast<std::size_t>(nt));
      for (int t = 0; t < nt; ++t) {
        std::vector<std::optional<std::string>> row(static_cast<std::size_t>(nf));
        for (int f = 0; f < nf; ++f)
          if (!PQgetisnull(r, t, f))
            row[static_cast<std::size_t>(f)] =
                std::string(PQgetvalue(r, t, f), PQgetlength(r, t, f));
        out->rows.push_back(std::move(row));
      }
    }
    return nt;
  }

  PGconn* db_ = nullptr;
};

}  // namespace

Positional positional(const std::string& sql, Driver d) {
  Positional p;
  scan(
      sql,
      [&](const std::string& name) {
        p.names.push_back(name);
        p.sql += d == Driver::mariadb ? std::string("?") : "$" + std::to_string(p.names.size());
      },
      [&](const std::string& text) { p.sql += text; });
  return p;
}

std::vector<std::string> placeholder_names(const std::string& sql) {
  std::vector<std::string> names;
  scan(
      sql,
      [&](const std::string& name) {
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      },
      [](const std::string&) {});
  return names;
}

std::unique_ptr<Connection> connect(const Endpoint& e) {
  if (e.driver == Driver::mariadb) return std::make_unique<MariaDbConnection>(e);
  return std::make_unique<PgConnection>(e);
}

}  // namespace simpul::connectors::sql
