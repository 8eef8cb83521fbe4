#include "sql_poll/sql_poll_connector.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "simpul/cursor.hpp"
#include "simpul/json.hpp"
#include "sql/sql_driver.hpp"
#include "sql/sql_settings.hpp"

namespace simpul::connectors {
namespace {

using sql::Driver;

// The poll position: "<mode>|<key>|<ts>", the change time and key of the last row read, as the
// database wrote them (bound back as they are, so no precision is lost on the way), and the mode:
// n (a new cycle: read again from lookback_s before <ts>) or c (continue after <ts>, <key>).
// Empty before the first row. Format 1 is this body behind "v1:".
constexpr int kCursorFormat = 1;

struct Cursor {
  bool fresh = true;
  std::string key, ts;  // "" before the first row
};

Result<Cursor> parse_cursor(const std::string& s) {
  auto text = read_cursor_text(s, kCursorFormat, "sql_poll");
  if (!text) return text.error();
  Cursor c;
  if (text->body.empty()) return c;
  auto a = text->body.find('|');
  auto b = a == std::string::npos ? a : text->body.find('|', a + 1);
  if (b == std::string::npos || (text->body[0] != 'n' && text->body[0] != 'c'))
    return make_problem(errc::invalid_value, "", "cursor", "the sql_poll cursor is unreadable");
  c.fresh = text->body[0] == 'n';
  // The key may hold '|'; the time never does: the key is what lies between the first '|' and
  // the last one.
  b = text->body.rfind('|');
  c.key = text->body.substr(a + 1, b - a - 1);
  c.ts = text->body.substr(b + 1);
  return c;
}

std::string format_cursor(const Cursor& c) {
  if (c.ts.empty()) return cursor_text(kCursorFormat, "");
  return cursor_text(kCursorFormat, std::string(c.fresh ? "n" : "c") + "|" + c.key + "|" + c.ts);
}

struct Settings {
  sql::Endpoint db;
  std::string table, key;
  std::string query;  // instead of `table`: the operator's SELECT, read as a derived table
  std::vector<std::string> updated;  // COALESCE of these: the row's change time
  std::vector<std::string> columns;  // empty: every column
  int page_size = 500, interval_ms = 30'000, lookback_s = 300, delay_s = 5;
  int reconcile_interval_s = 3600, reconcile_max_gone = 100;
  int slow_ms = 2000;  // a page slower than this: the database is busy, poll less often
};

std::string quote(const std::string& name, Driver d) {
  // Names come from the config, checked against the schema's identifier pattern; each part of
  // "schema.table" is quoted on its own.
  const char q = d == Driver::mariadb ? '`' : '"';
  std::string out;
  std::size_t i = 0;
  while (i <= name.size()) {
    auto dot = name.find('.', i);
    if (dot == std::string::npos) dot = name.size();
    if (!out.empty()) out += '.';
    out += q + name.substr(i, dot - i) + q;
    i = dot + 1;
  }
  return out;
}

class SqlPollConnector final : public Connector {
 public:
  SqlPollConnector(std::string id, Settings s) : Connector(std::move(id)), s_(std::move(s)) {
    const Driver d = s_.db.driver;
    std::string changed;
    if (s_.updated.size() == 1) {
      changed = quote(s_.updated[0], d);
    } else {
      changed = "COALESCE(";
      for (std::size_t i = 0; i < s_.updated.size(); ++i)
        changed += (i ? ", " : "") + quote(s_.updated[i], d);
      changed += ")";
    }
    std::string cols;
    if (s_.columns.empty()) {
      cols = "t.*";
    } else {
      for (const auto& c : s_.columns) cols += (cols.empty() ? "" : ", ") + quote(c, d);
    }
    const std::string key = quote(s_.key, d);
    // The page size is the config's integer, written into the statement (MariaDB takes no
    // placeholder after LIMIT in every version); every value from a row or a cursor is bound.
    const std::string limit = " LIMIT " + std::to_string(s_.page_size);
    // The operator's SELECT (joins, filters, renamed columns) is read as a derived table: the
    // cursor's conditions and order are Simpul's, around it, so the query needs no placeholder;
    // both servers merge it into the outer query where they can (the plan says).
    const std::string source = s_.query.empty() ? quote(s_.table, d) : "(" + s_.query + ")";
    const std::string base = "SELECT " + cols + ", " + changed + " AS simpul_changed FROM " +
                             source + " t WHERE " + changed + " < :until";
    // Continue after the last row read; or, in a new cycle, everything from the lookback on.
    // Both read by an index on (change time, key) when the app has one, page by page.
    after_ = base + " AND (" + changed + " > :ts OR (" + changed + " = :ts AND " + key +
             " > :key)) ORDER BY " + changed + ", " + key + limit;
    from_ = base + " AND " + changed + " >= :ts ORDER BY " + changed + ", " + key + limit;
    first_ = base + " ORDER BY " + changed + ", " + key + limit;
    // A reconciliation's rows, by key (the table's primary key serves it): the same columns, so
    // an unchanged row makes the same record text as when it was polled.
    by_key_ = "SELECT " + cols + ", " + changed + " AS simpul_changed FROM " + source +
              " t WHERE " + key + " IN (";
    if (d == Driver::mariadb) {
      clock_ =
          "SELECT DATE_FORMAT(NOW(6) - INTERVAL :delay SECOND, '%Y-%m-%d %H:%i:%s.%f'), "
          "DATE_FORMAT(CAST(:ts AS DATETIME(6)) - INTERVAL :lookback SECOND, "
          "'%Y-%m-%d %H:%i:%s.%f'), DATE_FORMAT(NOW(6) + INTERVAL 60 SECOND, "
          "'%Y-%m-%d %H:%i:%s.%f')";
    } else {
      clock_ =
          "SELECT to_char(LOCALTIMESTAMP - make_interval(secs => CAST(:delay AS float8)), "
          "'YYYY-MM-DD HH24:MI:SS.US'), to_char(CAST(:ts AS timestamptz) - make_interval(secs "
          "=> CAST(:lookback AS float8)), 'YYYY-MM-DD HH24:MI:SS.US'), to_char(LOCALTIMESTAMP + "
          "interval '60 seconds', 'YYYY-MM-DD HH24:MI:SS.US')";
    }
    // The first row stamped later than the database's clock (plus a minute), by the same
    // index as the pages.
    ahead_ = "SELECT " + changed + " FROM " + source + " t WHERE " + changed +
             " > :ahead ORDER BY " + changed + " LIMIT 1";
  }

  bool polls() const override { return true; }
  int poll_interval_ms() const override { return s_.interval_ms * slow_factor_; }
  Reconciliation reconciliation() const override {
    return {s_.reconcile_interval_s * 1000, s_.reconcile_max_gone};
  }

  void rows_by_key(const std::vector<std::string>& keys,
                   std::function<void(Result<InboundBatch>)> done) override {
    ctx_->blocking<InboundBatch>([this, keys] { return guarded([&] { return read_keys(keys); }); },
                                 [this, done = std::move(done)](Result<InboundBatch> r) {
                                   if (!r) set_health(ConnectorHealth::failing, r.error().detail);
                                   done(std::move(r));
                                 });
  }

  void poll(const std::string& cursor_text,
            std::function<void(Result<InboundBatch>)> done) override {
    auto parsed = parse_cursor(cursor_text);
    if (!parsed) {  // never read from the start instead
      set_health(ConnectorHealth::failing, parsed.error().detail);
      done(parsed.error());
      return;
    }
    const Cursor cur = *parsed;
    ctx_->blocking<InboundBatch>(
        [this, cur] { return guarded([&] { return read_with(cur); }); },
        [this, done = std::move(done)](Result<InboundBatch> r) {
          ctx_->count("pages");
          if (!r) {
            set_health(ConnectorHealth::failing, r.error().detail);
            done(std::move(r));
            return;
          }
          ctx_->count("rows", static_cast<double>(r->records.size()));
          // Gentle on a shared host: a slow page means the database is busy (locks, a backup,
          // the app's own load). Poll less often (twice as long each time, up to 8 times the
          // interval) and rest as long as the page took before the next one; speed up again as
          // pages come fast.
          const int took = page_ms_.load();
          if (took <= s_.slow_ms) {
            if (slow_factor_ > 1) slow_factor_ /= 2;
            if (slow_factor_ == 1) set_health(ConnectorHealth::ok);
            done(std::move(r));
            return;
          }
          slow_factor_ = std::min(slow_factor_ * 2, 8);
          ctx_->count("slow_pages");
          set_health(ConnectorHealth::degraded,
                     "the database is slow: a page took " + std::to_string(took) +
                         " ms (slow_query_ms " + std::to_string(s_.slow_ms) + "); polling every " +
                         std::to_string(poll_interval_ms() / 1000) + " s and resting " +
                         std::to_string(took) + " ms between pages");
          if (!r->more) {
            done(std::move(r));
            return;
          }
          auto batch = std::make_shared<InboundBatch>(std::move(*r));
          ctx_->after(took, [batch, done] { done(std::move(*batch)); });
        });
  }

  void drain() override {}

  // `simpul connector test`: connects, says what the user may do there and whether the page
  // query can read by an index, and reads the first page.
  void test(std::function<void(Result<std::string>)> done) override {
    ctx_->blocking<std::string>(
        [this]() -> Result<std::string> {
          auto page = guarded([&] { return read_with(Cursor{}); });
          if (!page) return page.error();
          std::string out = db_->server_version() + " at " + describe() + " answered";
          try {
            out += "\n  grants: " + grants();
            out += "\n  " + plan();
          } catch (const sql::SqlError& e) {
            out += std::string("\n  (could not read the grants or the plan: ") + e.what() + ")";
          }
          out += "\n  the first page has " + std::to_string(page->records.size()) + " row(s)";
          return out;
        },
        std::move(done));
  }

 private:
  std::string describe() const {
    return s_.db.socket.empty() ? s_.db.host + (s_.db.port ? ":" + std::to_string(s_.db.port) : "")
                                : s_.db.socket;
  }

  // What the user may do (a read-only user is enough; more is said).
  std::string grants() {
    std::string out;
    if (s_.db.driver == Driver::mariadb) {
      for (const auto& row : db_->query("SHOW GRANTS", {}).rows) {
        if (row.empty() || !row[0]) continue;
        std::string g = *row[0];
        // Never print the password's hash.
        if (auto at = g.find(" IDENTIFIED BY PASSWORD"); at != std::string::npos) g.erase(at);
        out += (out.empty() ? "" : "; ") + g;
      }
      return out;
    }
    if (!s_.query.empty()) {
      for (const auto& row :
           db_->query("SELECT table_name || ': ' || string_agg(privilege_type, ', ' ORDER BY "
                      "privilege_type) FROM information_schema.role_table_grants WHERE grantee = "
                      "current_user GROUP BY table_name ORDER BY table_name",
                      {})
               .rows)
        if (!row.empty() && row[0]) out += (out.empty() ? "" : "; ") + *row[0];
      return out.empty() ? "none for this user" : out;
    }
    const auto dot = s_.table.rfind('.');
    const std::string table = dot == std::string::npos ? s_.table : s_.table.substr(dot + 1);
    for (const auto& row :
         db_->query("SELECT privilege_type FROM information_schema.role_table_grants WHERE "
                    "table_name = :t AND grantee = current_user ORDER BY 1",
                    {{"t", table}})
             .rows)
      if (!row.empty() && row[0]) out += (out.empty() ? "" : ", ") + *row[0];
    return out.empty() ? "none on " + s_.table + " for this user" : out + " on " + s_.table;
  }

  // Whether the page query (continuing after a cursor) can read by an index on the change
  // time: the plan the database gives, and the table's indexes. PostgreSQL is asked with
  // sequential scans discouraged, so a small table's cheap scan does not hide an index a large
  // one would use. MariaDB lists the indexes it could use; only one that begins with the change
  // time serves the order (an expression such as COALESCE needs a generated column there).
  std::string plan() {
    const std::string none =
        "plan: the page query can use no index on the change time: each poll reads the whole "
        "table (add an index on (change time, key); for several updated columns, index their "
        "COALESCE)";
    sql::Params p{{"until", "2999-01-01 00:00:00"}, {"ts", "2000-01-01 00:00:00"}, {"key", "0"}};
    const auto dot = s_.table.rfind('.');
    const std::string table = dot == std::string::npos ? s_.table : s_.table.substr(dot + 1);
    if (!s_.query.empty()) return query_plan(p);
    if (s_.db.driver == Driver::mariadb) {
      if (s_.updated.size() > 1) return none;
      auto r = db_->query("EXPLAIN " + after_, p);
      std::string possible;
      for (const auto& row : r.rows)
        for (std::size_t i = 0; i < r.columns.size(); ++i)
          if (r.columns[i] == "possible_keys" && row[i]) possible += "," + *row[i] + ",";
      auto leading = db_->query(
          "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = "
          "DATABASE() AND TABLE_NAME = :t AND SEQ_IN_INDEX = 1 AND COLUMN_NAME = :c",
          {{"t", table}, {"c", s_.updated[0]}});
      for (const auto& row : leading.rows)
        if (row[0] && possible.find("," + *row[0] + ",") != std::string::npos)
          return "plan: the page query can use index " + *row[0];
      return none;
    }
    db_->execute("SET enable_seqscan = off", {});
    auto r = db_->query("EXPLAIN " + after_, p);
    db_->execute("SET enable_seqscan = on", {});
    std::string text;
    for (const auto& row : r.rows)
      if (!row.empty() && row[0]) text += *row[0] + "\n";
    for (const auto& row :
         db_->query("SELECT indexname FROM pg_indexes WHERE tablename = :t", {{"t", table}}).rows)
      if (row[0] && text.find(" " + *row[0] + " ") != std::string::npos &&
          text.find("Index") != std::string::npos)
        return "plan: the page query can use index " + *row[0];
    return none;
  }

  // The operator's SELECT: which indexes the database would read it by, as it says.
  std::string query_plan(const sql::Params& p) {
    std::string used;
    if (s_.db.driver == Driver::mariadb) {
      auto r = db_->query("EXPLAIN " + after_, p);
      for (const auto& row : r.rows)
        for (std::size_t i = 0; i < r.columns.size(); ++i)
          if (r.columns[i] == "key" && row[i] && !row[i]->empty())
            used += (used.empty() ? "" : ", ") + *row[i];
    } else {
      db_->execute("SET enable_seqscan = off", {});
      auto r = db_->query("EXPLAIN " + after_, p);
      db_->execute("SET enable_seqscan = on", {});
      for (const auto& row : r.rows) {
        if (row.empty() || !row[0]) continue;
        const auto at = row[0]->find(" using ");
        if (at == std::string::npos) continue;
        const auto end = row[0]->find(' ', at + 7);
        used += (used.empty() ? "" : ", ") + row[0]->substr(at + 7, end - at - 7);
      }
    }
    return used.empty() ? "plan: the page query over your SELECT reads by no index: each poll "
                          "reads every row it selects (index the change time and the key)"
                        : "plan: the page query over your SELECT reads by index " + used;
  }

  // On the worker thread: `read` with a connection, a database error as a problem.
  template <class F>
  Result<InboundBatch> guarded(F&& read) {
    try {
      if (!db_) db_ = sql::connect(s_.db);
      return read();
    } catch (const sql::SqlError& e) {
      // The connection may be gone (the server restarted, a timeout): a new one next time.
      db_.reset();
      const errc code = e.kind() == sql::SqlError::Kind::auth      ? errc::unauthenticated
                        : e.kind() == sql::SqlError::Kind::timeout ? errc::timeout
                        : e.kind() == sql::SqlError::Kind::connect ? errc::unavailable
                                                                   : errc::invalid_query;
      return make_problem(code, "", "database", e.what());
    }
  }

  // The positions of the change time and the key among a result's columns.
  struct Layout {
    int changed = -1, key = -1;
  };
  Result<Layout> layout_of(const sql::Rows& rows) {
    Layout l;
    for (std::size_t i = 0; i < rows.columns.size(); ++i) {
      if (rows.columns[i] == "simpul_changed") l.changed = static_cast<int>(i);
      if (rows.columns[i] == s_.key) l.key = static_cast<int>(i);
    }
    if (l.changed < 0 || l.key < 0)
      return make_problem(errc::invalid_query, "", "columns",
                          "the rows have no column " + (l.key < 0 ? s_.key : "simpul_changed"));
    if (auto drift = check_columns(rows.columns)) return *drift;
    return l;
  }

  // One row as a source record: its columns by name, the values as the database wrote them
  // (NULL as null), the change time left out. The same row always makes the same text.
  Result<SourceRecord> record_of(const sql::Rows& rows, const sql::Row& row, const Layout& l) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    for (std::size_t i = 0; i < rows.columns.size(); ++i) {
      if (static_cast<int>(i) == l.changed) continue;
      w.Key(rows.columns[i].c_str(), static_cast<rapidjson::SizeType>(rows.columns[i].size()));
      if (row[i])
        w.String(row[i]->c_str(), static_cast<rapidjson::SizeType>(row[i]->size()));
      else
        w.Null();
    }
    w.EndObject();
    auto rec = SourceRecord::parse(std::string(buf.GetString(), buf.GetSize()));
    if (!rec)
      return make_problem(errc::invalid_utf8, "", "row",
                          "row " + *row[static_cast<std::size_t>(l.key)] +
                              " is not valid text: " + rec.error().detail);
    return rec;
  }

  // The rows with these keys as they are now (a reconciliation's chunk), with their keys.
  Result<InboundBatch> read_keys(const std::vector<std::string>& keys) {
    InboundBatch batch;
    if (keys.empty()) return batch;
    std::string statement = by_key_;
    sql::Params p;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::string name = "k" + std::to_string(i);
      statement += (i ? ", :" : ":") + name;
      p[name] = keys[i];
    }
    statement += ")";
    sql::Rows rows = db_->query(statement, p);
    auto l = layout_of(rows);
    if (!l) return l.error();
    for (const auto& row : rows.rows) {
      const auto& key = row[static_cast<std::size_t>(l->key)];
      if (!key) continue;
      auto rec = record_of(rows, row, *l);
      if (!rec) return rec.error();
      batch.records.push_back(std::move(*rec));
      batch.keys.push_back(*key);
    }
    return batch;
  }

  Result<InboundBatch> read_with(const Cursor& cur) {
    // The upper bound from the database's own clock, minus the delay that lets a transaction
    // still open commit its rows first; and where a new cycle starts.
    const bool fresh_from = cur.fresh && !cur.ts.empty() && s_.lookback_s > 0;
    auto bounds = db_->query(clock_, {{"delay", std::to_string(s_.delay_s)},
                                      {"ts", cur.ts.empty() ? std::string("1970-01-02") : cur.ts},
                                      {"lookback", std::to_string(s_.lookback_s)}});
    if (bounds.rows.empty() || !bounds.rows[0][0] || !bounds.rows[0][1])
      return make_problem(errc::unavailable, "", "database", "the database gave no time");
    const std::string until = *bounds.rows[0][0];
    until_ahead_ = bounds.rows[0].size() > 2 && bounds.rows[0][2] ? *bounds.rows[0][2] : "";
    sql::Params p{{"until", until}};
    const std::string* statement = &first_;
    if (fresh_from) {
      statement = &from_;
      p["ts"] = *bounds.rows[0][1];
    } else if (!cur.ts.empty()) {
      statement = &after_;
      p["ts"] = cur.ts;
      p["key"] = cur.key;
    }
    const auto started = std::chrono::steady_clock::now();
    sql::Rows rows = db_->query(*statement, p);
    page_ms_ = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count());
    auto l = layout_of(rows);
    if (!l) return l.error();
    InboundBatch batch;
    Cursor next = cur;
    bool key_missing = false;
    for (const auto& row : rows.rows) {
      const auto& changed = row[static_cast<std::size_t>(l->changed)];
      const auto& key = row[static_cast<std::size_t>(l->key)];
      // A row with no key can be neither told apart nor passed: reading stops at it rather than
      // skip it (and every row after it on the same change time) without a word.
      if (!key) {
        if (!batch.records.empty()) {  // the rows before it first; it fails the next read
          key_missing = true;
          break;
        }
        return make_problem(errc::invalid_value, "", "key",
                            "a row changed at " + (changed ? *changed : std::string("?")) +
                                " has no " + s_.key +
                                " (NULL): reading stops here until the app gives it one");
      }
      if (!changed) continue;  // excluded by the WHERE: a NULL never compares below :until
      auto rec = record_of(rows, row, *l);
      if (!rec) return rec.error();
      batch.records.push_back(std::move(*rec));
      batch.keys.push_back(*key);
      next.ts = *changed;
      next.key = *key;
    }
    const bool full = static_cast<int>(rows.rows.size()) >= s_.page_size;
    if (!full && !key_missing && next.ts == cur.ts && next.key == cur.key &&
        !until_ahead_.empty()) {
      // Nothing new (at most the lookback's rows again): is the source ahead of the
      // database's own clock? Rows stamped later
      // than now (their times are not in the zone the settings say, or the app's clock is
      // wrong) would wait unread until the clock passes them: a data error, never a quiet wait.
      auto ahead = db_->query(ahead_, {{"ahead", until_ahead_}});
      if (!ahead.rows.empty() && ahead.rows[0][0])
        return make_problem(
            errc::invalid_value, "", "zone",
            "the source has rows changed at " + *ahead.rows[0][0] +
                ", later than the database's clock (" + until_ahead_ +
                "): their change times are not in the zone the settings say (zone), or the "
                "app's clock is wrong; nothing after the cursor is read until they are due");
    }
    batch.more = full;
    // A full page continues after its last row; a short one ends the cycle where it got to
    // (an empty read leaves the cursor where it was: it never moves past rows not yet read).
    // Rows before one with no key: the next read continues after them, to that row.
    next.fresh = !full && !key_missing;
    batch.cursor = format_cursor(next);
    return batch;
  }

  // With every column read (no `columns` setting): the table's columns as this node first saw
  // them since it started, and a pause when they change. A column added or dropped is named;
  // reading goes on only when someone who checked the mapping restarts the node (or names the
  // columns to read).
  std::optional<Problem> check_columns(const std::vector<std::string>& got) {
    if (!s_.columns.empty()) return std::nullopt;
    std::vector<std::string> now;
    for (const auto& c : got)
      if (c != "simpul_changed") now.push_back(c);
    if (baseline_.empty()) {
      baseline_ = now;
      return std::nullopt;
    }
    if (now == baseline_) return std::nullopt;
    std::string added, dropped;
    for (const auto& c : now)
      if (std::find(baseline_.begin(), baseline_.end(), c) == baseline_.end())
        added += (added.empty() ? "" : ", ") + c;
    for (const auto& c : baseline_)
      if (std::find(now.begin(), now.end(), c) == now.end())
        dropped += (dropped.empty() ? "" : ", ") + c;
    std::string what = "the table's columns changed";
    if (!added.empty()) what += "; added: " + added;
    if (!dropped.empty()) what += "; dropped: " + dropped;
    if (added.empty() && dropped.empty()) what += " (their order)";
    return make_problem(errc::config_invalid, "", "columns",
                        what +
                            ". Reading is paused: check that the mapping reads what it should, "
                            "then restart the node (or name the columns in settings.columns)");
  }

  Settings s_;
  std::vector<std::string> baseline_;  // the worker thread's only
  std::string after_, from_, first_, clock_, by_key_, ahead_;
  std::string until_ahead_;              // the worker thread's only: the clock plus a minute
  std::atomic<int> page_ms_{0};          // how long the last page took (written by the worker)
  int slow_factor_ = 1;                  // the io thread's only: the poll interval's multiple
  std::unique_ptr<sql::Connection> db_;  // the worker thread's only
};

}  // namespace

std::unique_ptr<Connector> make_sql_poll(const ConnectorSettings& cs) {
  const auto& v = cs.settings;
  Settings s;
  s.db = sql::endpoint_of(cs);
  s.table = json::get_string(v, "table");
  s.query = json::get_string(v, "query");
  if (s.table.empty() == s.query.empty())
    throw ConfigError(cs.file, cs.pointer + "/table", "give either table or query");
  if (!s.query.empty() && !sql::placeholder_names(s.query).empty())
    throw ConfigError(cs.file, cs.pointer + "/query",
                      "the query takes no placeholders: Simpul adds the cursor's conditions "
                      "around it (:" +
                          sql::placeholder_names(s.query).front() + ")");
  s.key = json::get_string(v, "key");
  const auto& upd = v["updated"];
  if (upd.IsString()) {
    s.updated.push_back(upd.GetString());
  } else {
    for (const auto& u : upd.GetArray()) s.updated.push_back(u.GetString());
  }
  if (v.HasMember("columns")) {
    for (const auto& c : v["columns"].GetArray()) s.columns.push_back(c.GetString());
    if (std::find(s.columns.begin(), s.columns.end(), s.key) == s.columns.end())
      throw ConfigError(cs.file, cs.pointer + "/columns",
                        "the key column " + s.key + " must be one of the columns");
  }
  auto num = [&](const char* key, int fallback) {
    return v.HasMember(key) ? v[key].GetInt() : fallback;
  };
  s.page_size = num("page_size", 500);
  s.interval_ms = num("interval_s", 30) * 1000;
  s.lookback_s = num("lookback_s", 300);
  s.delay_s = num("delay_s", 5);
  s.reconcile_interval_s = num("reconcile_interval_s", 3600);
  s.reconcile_max_gone = num("reconcile_max_gone", 100);
  s.slow_ms = num("slow_query_ms", 2000);
  return std::make_unique<SqlPollConnector>(cs.id, std::move(s));
}

}  // namespace simpul::connectors
