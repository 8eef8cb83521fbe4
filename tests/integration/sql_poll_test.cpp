// sql_poll against real servers: a throwaway MariaDB and PostgreSQL (support/db_servers), a
// legacy `aduan` table like Ape Kesah's (naive DATETIME in WIB, status as a small integer,
// reporter columns), a read-only database user, and a real node polling it through the mapping
// engine. Each way incremental polling is known to lose or repeat rows gets a case, run on both
// servers.

#include <doctest/doctest.h>

#include <fstream>
#include <thread>

#include "core/json.hpp"
#include "db_servers.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;
namespace sql = connectors::sql;

namespace {

const char* kMapping = R"({
  "version": 1, "system": "legacy", "description": "a PHP app's aduan table",
  "id": "/id",
  "fields": {
    "title": {"from": "/judul", "transform": ["trim"]},
    "body": {"from": "/uraian", "transform": ["trim"]},
    "received_at": {"from": "/dibuat", "transform": [{"date": {"format": "%Y-%m-%d %H:%M:%S", "zone": "WIB"}}]},
    "reporter.name": {"from": "/nama_pelapor"}
  },
  "defaults": {"type": "pengaduan", "channel": "web", "region": "21.71", "privacy": "anonim"}
})";

// `s` as a JSON string, quotes and all.
std::string jstr(const std::string& s) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buf.GetString(), buf.GetSize());
}

struct Legacy {
  test::TempDir dir;
  std::unique_ptr<dbserver::DbServer> db;
  std::unique_ptr<sql::Connection> app;  // the legacy app's own writes

  explicit Legacy(bool maria, bool myisam = false) {
    db = maria ? dbserver::start_mariadb(dir.path()) : dbserver::start_postgresql(dir.path());
    app = db->admin();
    const bool m = maria;
    // Naive DATETIME, written by the app in WIB; fractional seconds on the change time.
    app->execute(std::string("CREATE TABLE aduan (id ") + (m ? "INT AUTO_INCREMENT" : "SERIAL") +
                     " PRIMARY KEY, judul VARCHAR(200), uraian TEXT, status SMALLINT NOT NULL "
                     "DEFAULT 1, nama_pelapor VARCHAR(100), dibuat " +
                     (m ? "DATETIME" : "TIMESTAMP(0)") + " NOT NULL, diperbarui " +
                     (m ? "DATETIME(6)" : "TIMESTAMP(6)") + " NULL)" +
                     (myisam ? " ENGINE=MyISAM" : ""),
                 {});
    app->execute("CREATE INDEX aduan_diperbarui ON aduan (diperbarui, id)", {});
    db->add_reader("simpul_reader", "baca-saja-123");
    std::ofstream(dir.file("legacy.json")) << kMapping;
    setenv("SIMPUL_TEST_DB_PASSWORD", "baca-saja-123", 1);
  }

  std::string connector(const std::string& extra = "",
                        const std::string& password_ref = "env:SIMPUL_TEST_DB_PASSWORD",
                        bool coalesce = true) const {
    const auto e = db->endpoint("simpul_reader", "");
    return R"("connectors": [{"id": "legacy", "type": "sql_poll", "mapping": ")" +
           dir.file("legacy.json") + R"(", "settings": {"driver": ")" +
           (e.driver == sql::Driver::mariadb ? "mariadb" : "postgresql") + R"(", "socket": ")" +
           e.socket + R"(", "database": "legacy", "user": "simpul_reader", "password": ")" +
           password_ref + R"(", "table": "aduan", "key": "id", )" +
           (coalesce ? R"("updated": ["diperbarui", "dibuat"], )" : "") + R"("interval_s": 1)" +
           extra + "}}],";
  }
  // The mapping, with the app's status for each of Simpul's (what sql_write writes back).
  void map_statuses() const {
    std::string mapping = kMapping;
    mapping.replace(mapping.rfind('}'), 1,
                    R"(, "outbound": {"status": {"received": "1", "verified": "1", "disposed": "2",
      "in_progress": "2", "responded": "3", "closed": "4", "archived": "5", "cancelled": "5"}}})");
    std::ofstream(dir.file("legacy.json"), std::ios::trunc) << mapping;
  }
  // A sql_write connector `id` running `statement` as `user` (password in env `password_env`).
  std::string writer(const std::string& id, const std::string& user,
                     const std::string& password_env, const std::string& statement,
                     const std::string& extra = "") const {
    const auto e = db->endpoint("", "");
    return R"({"id": ")" + id + R"(", "type": "sql_write", "mapping": ")" +
           dir.file("legacy.json") + R"(", "settings": {"driver": ")" +
           (e.driver == sql::Driver::mariadb ? "mariadb" : "postgresql") + R"(", "socket": ")" +
           e.socket + R"(", "database": "legacy", "user": ")" + user + R"(", "password": "env:)" +
           password_env + "\"" + extra + R"(, "statements": [)" + jstr(statement) + "]}}";
  }
  // connector() with `writers` (comma-separated connector objects) after the poller.
  std::string with_writers(const std::string& writers) const {
    std::string connectors = connector();
    connectors.replace(connectors.rfind("],"), 2, ", " + writers + "],");
    return connectors;
  }
  void insert(const std::string& judul, const std::string& dibuat,
              const std::optional<std::string>& diperbarui, const std::string& nama = "") {
    app->execute(
        "INSERT INTO aduan (judul, uraian, nama_pelapor, dibuat, diperbarui) VALUES (:j, :u, :n, "
        ":d, :p)",
        {{"j", judul}, {"u", "Uraian " + judul}, {"n", nama}, {"d", dibuat}, {"p", diperbarui}});
  }
};

std::int64_t complaints(const Config& cfg) {
  return db_count(cfg.store.path, "SELECT count(*) FROM complaints");
}

void each_server(const std::function<void(Legacy&)>& body) {
  for (bool maria : {true, false}) {
    CAPTURE(maria);
    Legacy legacy(maria);
    body(legacy);
  }
}

}  // namespace

TEST_CASE(
    "sql_poll: 1250 rows sharing one change time across page boundaries all arrive once - "
    "MariaDB and PostgreSQL") {
  each_server([](Legacy& l) {
    l.app->execute(
        "INSERT INTO aduan (judul, uraian, dibuat, diperbarui) VALUES ('x', 'y', "
        "'2026-11-30 08:00:00', '2026-11-30 08:00:00.250000')",
        {});
    for (int i = 1; i < 1250; ++i)
      l.app->execute(
          "INSERT INTO aduan (judul, uraian, dibuat, diperbarui) VALUES (:j, 'y', '2026-11-30 "
          "08:00:00', '2026-11-30 08:00:00.250000')",
          {{"j", "Aduan " + std::to_string(i)}});
    auto cfg = test::node_config(l.dir, "kota-batam", l.connector(R"(, "page_size": 100)"));
    test::TestNode node(cfg);
    CHECK(eventually([&] { return complaints(cfg) == 1250; }));
    const auto events = db_count(cfg.store.path, "SELECT count(*) FROM events");
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two more cycles
    CHECK(complaints(cfg) == 1250);
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events") == events);  // nothing again
  });
}

TEST_CASE(
    "sql_poll: a row committed late with an older change time is read by the lookback - "
    "a row whose update column is NULL on insert arrives and its later update amends it") {
  each_server([](Legacy& l) {
    l.insert("Pertama", "2026-11-30 09:00:00", std::string("2026-11-30 09:00:00"));
    auto cfg = test::node_config(l.dir, "kota-batam", l.connector(R"(, "lookback_s": 600)"));
    test::TestNode node(cfg);
    REQUIRE(eventually([&] { return complaints(cfg) == 1; }));
    // A transaction that began before the first row's but committed only now.
    l.insert("Terlambat", "2026-11-30 08:55:00", std::string("2026-11-30 08:55:00"));
    CHECK(eventually([&] { return complaints(cfg) == 2; }));
    // No updated time yet: the creation time stands in.
    l.insert("Tanpa diperbarui", "2026-11-30 09:01:00", std::nullopt);
    REQUIRE(eventually([&] { return complaints(cfg) == 3; }));
    l.app->execute(
        "UPDATE aduan SET judul = 'Tanpa diperbarui (diubah)', diperbarui = "
        "'2026-11-30 10:00:00' WHERE judul = 'Tanpa diperbarui'",
        {});
    CHECK(eventually([&] {
      return db_count(cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'amended'") == 1;
    }));
    CHECK(complaints(cfg) == 3);
  });
}

TEST_CASE(
    "sql_poll: naive DATETIME in WIB on a server whose clock is UTC - a row written a "
    "minute ago is read now - not seven hours later") {
  each_server([](Legacy& l) {
    // What a PHP app in Batam writes: its local wall time, no zone.
    const TimeMs wib_now = system_now_ms() + 7 * 3'600'000 - 60'000;
    std::string t = format_utc(wib_now);  // "YYYY-MM-DDTHH:MM:SS.mmmZ" read as wall time
    t = t.substr(0, 10) + " " + t.substr(11, 8);
    l.insert("Baru saja", t, t);
    auto cfg = test::node_config(l.dir, "kota-batam", l.connector(R"(, "delay_s": 5)"));
    test::TestNode node(cfg);
    CHECK(eventually([&] { return complaints(cfg) == 1; }, 10));
  });
}

TEST_CASE(
    "sql_poll: a wrong password fails health naming the cause - nothing stored - a row the "
    "mapping cannot read is a dead letter with its key and the others arrive") {
  each_server([](Legacy& l) {
    setenv("SIMPUL_TEST_DB_WRONG", "salah", 1);
    {
      l.insert("Satu", "2026-11-30 09:00:00", std::string("2026-11-30 09:00:00"));
      auto cfg =
          test::node_config(l.dir, "kota-batam", l.connector("", "env:SIMPUL_TEST_DB_WRONG"));
      test::TestNode node(cfg);
      auto c = node.client();
      CHECK(eventually([&] {
        auto r = c.request("GET", "/readyz", "", {});
        return r.body.find("connector:legacy") != std::string::npos &&
               r.body.find("failing") != std::string::npos;
      }));
      CHECK(complaints(cfg) == 0);
    }
    test::TempDir second;
    l.insert("", "2026-11-30 09:05:00", std::string("2026-11-30 09:05:00"));  // no title
    l.insert("Tiga", "2026-11-30 09:06:00", std::string("2026-11-30 09:06:00"));
    auto cfg = test::node_config(second, "kota-batam", l.connector());
    test::TestNode node(cfg);
    CHECK(eventually([&] { return complaints(cfg) == 2; }));
    CHECK(eventually([&] {
      return db_count(cfg.store.path,
                      "SELECT count(*) FROM dead_letters WHERE error LIKE 'record 2:%'") == 1;
    }));
  });
}

TEST_CASE("sql_poll: a MyISAM table (no snapshot) is read page after page like any other") {
  Legacy l(true, true);
  for (int i = 0; i < 300; ++i)
    l.insert("Aduan " + std::to_string(i), "2026-11-30 08:00:00",
             std::string("2026-11-30 08:00:0") + std::to_string(i % 3) + ".000001");
  auto cfg = test::node_config(l.dir, "kota-batam", l.connector(R"(, "page_size": 40)"));
  test::TestNode node(cfg);
  CHECK(eventually([&] { return complaints(cfg) == 300; }));
}

TEST_CASE(
    "sql_poll: fractional seconds one microsecond apart across page boundaries are all read "
    "- the cursor keeps the database's own text") {
  each_server([](Legacy& l) {
    for (int i = 1; i <= 9; ++i)
      l.insert("Mikro " + std::to_string(i), "2026-11-30 08:00:00",
               "2026-11-30 08:00:00.00000" + std::to_string(i));
    auto cfg = test::node_config(l.dir, "kota-batam", l.connector(R"(, "page_size": 2)"));
    test::TestNode node(cfg);
    CHECK(eventually([&] { return complaints(cfg) == 9; }));
    const std::string cursor = SqliteStore(StoreOptions{cfg.store.path, true, 5000, false})
                                   .cursor("connector.legacy.cursor");
    CHECK(cursor.find("08:00:00.000009") != std::string::npos);
  });
}

TEST_CASE(
    "sql_poll: simpul connector test reports the grants - the index the page query can use "
    "(the plan) - and the first row as the mapping makes it") {
  each_server([](Legacy& l) {
    l.insert("Jalan berlubang", "2026-11-30 08:00:00", std::string("2026-11-30 08:00:00"),
             "CANARY-PELAPOR-3141");
    // One change-time column: the index on (diperbarui, id) serves the page query.
    auto cfg = test::node_config(
        l.dir, "kota-batam",
        l.connector(R"(, "updated": "diperbarui")", "env:SIMPUL_TEST_DB_PASSWORD", false));
    std::string out;
    REQUIRE(test::run_simpul({"connector", "test", "--config", cfg.file, "legacy"}, &out) == 0);
    CAPTURE(out);
    CHECK(out.find("grants: ") != std::string::npos);
    CHECK(out.find("SELECT") != std::string::npos);
    CHECK(out.find("can use index aduan_diperbarui") != std::string::npos);
    CHECK(out.find("PASSWORD") == std::string::npos);  // no password hash in the grants
    CHECK(out.find("maps to: ") != std::string::npos);
    CHECK(out.find("Jalan berlubang") != std::string::npos);
    CHECK(out.find("CANARY-PELAPOR-3141") == std::string::npos);  // the reporter is not printed
    // COALESCE(diperbarui, dibuat) is an expression no plain index serves: said so.
    test::TempDir other;
    auto coalesce = test::node_config(other, "kota-batam", l.connector());
    REQUIRE(test::run_simpul({"connector", "test", "--config", coalesce.file, "legacy"}, &out) ==
            0);
    CHECK(out.find("can use no index") != std::string::npos);
  });
}

TEST_CASE(
    "sql: named placeholders become the driver's own - never inside literals or quoted "
    "names or comments - and PostgreSQL's casts stay") {
  const std::string q =
      "SELECT ':not' AS \"a:b\", x::text FROM t -- :comment\n WHERE a = :a AND b = :b /* :c */ "
      "AND c = :a";
  auto m = sql::positional(q, sql::Driver::mariadb);
  CHECK(m.sql ==
        "SELECT ':not' AS \"a:b\", x::text FROM t -- :comment\n WHERE a = ? AND b = ? /* :c */ "
        "AND c = ?");
  CHECK(m.names == std::vector<std::string>{"a", "b", "a"});
  auto p = sql::positional(q, sql::Driver::postgresql);
  CHECK(p.sql.find("a = $1 AND b = $2") != std::string::npos);
  CHECK(p.sql.find("c = $3") != std::string::npos);
  CHECK(sql::placeholder_names(q) == std::vector<std::string>{"a", "b"});
  CHECK(sql::placeholder_names("SELECT 'it''s :x' , `q:y` FROM t WHERE z = :z") ==
        std::vector<std::string>{"z"});
}

TEST_CASE(
    "sql_write: decisions made in Simpul are written into the app's tables once - a "
    "redelivered event changes nothing more - the app's own poll brings nothing back") {
  each_server([](Legacy& l) {
    const bool m = l.db->endpoint("", "").driver == sql::Driver::mariadb;
    l.app->execute(std::string("CREATE TABLE tanggapan (aduan_id INT NOT NULL, isi TEXT, "
                               "dibuat ") +
                       (m ? "DATETIME" : "TIMESTAMP(0)") +
                       ", simpul_event VARCHAR(64) NOT NULL UNIQUE)",
                   {});
    // A user that may write what the statements write, and nothing else.
    if (m) {
      l.app->execute("CREATE USER 'simpul_writer'@'localhost' IDENTIFIED BY 'tulis-456'", {});
      l.app->execute("GRANT SELECT, UPDATE ON legacy.aduan TO 'simpul_writer'@'localhost'", {});
      l.app->execute("GRANT INSERT ON legacy.tanggapan TO 'simpul_writer'@'localhost'", {});
    } else {
      l.app->execute("CREATE ROLE simpul_writer LOGIN PASSWORD 'tulis-456'", {});
      l.app->execute("GRANT SELECT, UPDATE ON aduan TO simpul_writer", {});
      // ON CONFLICT reads the unique key: PostgreSQL asks SELECT for it.
      l.app->execute("GRANT SELECT, INSERT ON tanggapan TO simpul_writer", {});
    }
    setenv("SIMPUL_TEST_DB_WRITER", "tulis-456", 1);
    l.map_statuses();
    l.insert("Lampu padam", "2026-11-30 08:00:00", std::string("2026-11-30 08:00:00"));
    const std::string status =
        m ? "UPDATE aduan SET status = :app_status, diperbarui = :at WHERE id = :source_id AND "
            "CAST(:app_status AS CHAR) IS NOT NULL"
          : "UPDATE aduan SET status = CAST(:app_status AS SMALLINT), diperbarui = "
            "CAST(:at AS TIMESTAMP) WHERE id = CAST(:source_id AS INT) AND CAST(:app_status AS "
            "TEXT) IS NOT NULL";
    const std::string answer =
        m ? "INSERT IGNORE INTO tanggapan (aduan_id, isi, dibuat, simpul_event) VALUES "
            "(:source_id, :text, :at, :event_id)"
          : "INSERT INTO tanggapan (aduan_id, isi, dibuat, simpul_event) VALUES (CAST(:source_id "
            "AS INT), :text, CAST(:at AS TIMESTAMP), :event_id) ON CONFLICT (simpul_event) DO "
            "NOTHING";
    auto cfg = test::node_config(
        l.dir, "kota-batam",
        l.with_writers(l.writer("legacy-balik", "simpul_writer", "SIMPUL_TEST_DB_WRITER", status) +
                       ", " +
                       l.writer("legacy-jawab", "simpul_writer", "SIMPUL_TEST_DB_WRITER", answer,
                                R"(, "kinds": ["responded"])")));
    test::TestNode node(cfg);
    auto c = node.client();
    REQUIRE(eventually([&] { return complaints(cfg) == 1; }));
    auto list = json::parse(c.request("GET", "/v1/complaints", "", test::TestNode::auth()).body);
    const std::string id = json::get_string((*list)["items"][0], "id");
    for (const char* body :
         {R"({"kind": "disposed", "payload": {"agency": "dinas-pu-batam"}})",
          R"({"kind": "responded", "payload": {"text": "Lampu sudah diganti."}})",
          R"({"kind": "closed"})"}) {
      auto r = c.request("POST", "/v1/complaints/" + id + "/events", body, test::TestNode::auth());
      REQUIRE_MESSAGE(r.status == 201, r.body);
    }
    auto app_status = [&] {
      auto r = l.app->query("SELECT status FROM aduan WHERE id = 1", {});
      return r.rows.empty() || !r.rows[0][0] ? std::string() : *r.rows[0][0];
    };
    auto answers = [&] {
      auto r = l.app->query("SELECT isi FROM tanggapan WHERE aduan_id = 1", {});
      std::string out;
      for (const auto& row : r.rows) out += (row[0] ? *row[0] : std::string("NULL")) + "|";
      return out;
    };
    CHECK(eventually([&] { return app_status() == "4"; }));
    CHECK(eventually([&] { return answers() == "Lampu sudah diganti.|"; }));
    const auto events = db_count(cfg.store.path, "SELECT count(*) FROM events");
    // Every decision delivered again (as after a crash between the app's commit and ours).
    test::db_exec(cfg.store.path,
                  "UPDATE outbox SET state = 'pending', next_attempt_at = 0 WHERE destination "
                  "LIKE 'connector:legacy-%'");
    CHECK(eventually([&] {
      return db_count(cfg.store.path,
                      "SELECT count(*) FROM outbox WHERE destination LIKE 'connector:legacy-%' AND "
                      "state = 'pending'") == 0;
    }));
    CHECK(answers() == "Lampu sudah diganti.|");
    CHECK(app_status() == "4");
    // The writes touched the row's change time: the poll reads it again and finds nothing new.
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events") == events);
  });
}

TEST_CASE(
    "sql_poll: a column added or dropped pauses reading with a health error naming it - "
    "nothing is read until the node is restarted") {
  each_server([](Legacy& l) {
    l.insert("Sebelum", "2026-11-30 08:00:00", std::string("2026-11-30 08:00:00"));
    auto cfg = test::node_config(l.dir, "kota-batam", l.connector());
    auto readyz = [](test::TestNode& n) {
      return n.client().request("GET", "/readyz", "", {}).body;
    };
    {
      test::TestNode node(cfg);
      REQUIRE(eventually([&] { return complaints(cfg) == 1; }));
      l.app->execute("ALTER TABLE aduan ADD COLUMN kategori VARCHAR(50)", {});
      l.insert("Sesudah", "2026-11-30 08:01:00", std::string("2026-11-30 08:01:00"));
      CHECK(eventually([&] { return readyz(node).find("added: kategori") != std::string::npos; }));
      CHECK(readyz(node).find("failing") != std::string::npos);
      CHECK(complaints(cfg) == 1);
      l.app->execute("ALTER TABLE aduan DROP COLUMN nama_pelapor", {});
      CHECK(eventually(
          [&] { return readyz(node).find("dropped: nama_pelapor") != std::string::npos; }));
      CHECK(complaints(cfg) == 1);
    }
    // Restarted by someone who checked the mapping: the table as it is now.
    test::TestNode node(cfg);
    CHECK(eventually([&] { return complaints(cfg) == 2; }));
  });
}

TEST_CASE(
    "sql_poll: a SELECT of the operator's own (a join and a filter) is read with the cursor "
    "around it - rows it leaves out never arrive") {
  each_server([](Legacy& l) {
    l.app->execute("CREATE TABLE kecamatan (id INT PRIMARY KEY, nama VARCHAR(50))", {});
    l.app->execute("INSERT INTO kecamatan VALUES (1, 'Batam Kota'), (2, 'Sekupang')", {});
    l.app->execute("ALTER TABLE aduan ADD COLUMN kecamatan_id INT", {});
    l.insert("Jalan rusak", "2026-11-30 08:00:00", std::string("2026-11-30 08:00:00"));
    l.insert("UJI COBA petugas", "2026-11-30 08:01:00", std::string("2026-11-30 08:01:00"));
    l.insert("Lampu padam", "2026-11-30 08:02:00", std::string("2026-11-30 08:02:00"));
    l.app->execute("UPDATE aduan SET kecamatan_id = 2", {});
    std::string settings = l.connector(
        R"(, "page_size": 1, "query": "SELECT a.id, a.judul, a.uraian, a.dibuat, a.diperbarui, a.nama_pelapor, k.nama AS kecamatan FROM aduan a LEFT JOIN kecamatan k ON k.id = a.kecamatan_id WHERE a.judul NOT LIKE 'UJI COBA%'")");
    settings.replace(settings.find(R"("table": "aduan", )"), 18, "");
    auto cfg = test::node_config(l.dir, "kota-batam", settings);
    std::string out;
    REQUIRE(test::run_simpul({"connector", "test", "--config", cfg.file, "legacy"}, &out) == 0);
    CAPTURE(out);
    CHECK(out.find("plan: the page query over your SELECT") != std::string::npos);
    test::TestNode node(cfg);
    CHECK(eventually([&] { return complaints(cfg) == 2; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(complaints(cfg) == 2);
    CHECK_FALSE(test::store_holds(cfg.store.path, "UJI COBA"));
  });
}

namespace {

std::string readyz(test::TestNode& n) { return n.client().request("GET", "/readyz", "", {}).body; }

// The status of the complaint whose title holds `words`, as the API lists it.
std::string status_of(test::TestNode& n, const std::string& words) {
  auto list = json::parse(
      n.client().request("GET", "/v1/complaints?q=" + words, "", test::TestNode::auth()).body);
  if (!list || !(*list)["items"].IsArray() || (*list)["items"].Empty()) return "";
  return json::get_string((*list)["items"][0], "status");
}

// How many stored events of `kind` have a payload holding `needle` (read through the store:
// payloads are packed on disk).
int events_with(const Config& cfg, const std::string& kind, const std::string& needle) {
  int n = 0;
  for (const auto& e : test::stored_events(cfg.store.path))
    if (to_string(e.kind) == kind && e.payload.find(needle) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE(
    "sql_poll: a row edited without touching its change time is amended by the "
    "reconciliation - a row deleted in the app cancels its complaint at the source - a closed "
    "one stays closed - the next pass changes nothing") {
  each_server([](Legacy& l) {
    for (const char* t : {"Satu", "Dua", "Tiga", "Empat"})
      l.insert(t, "2026-11-30 09:00:00", std::string("2026-11-30 09:00:00"));
    auto cfg = test::node_config(l.dir, "kota-batam",
                                 l.connector(R"(, "reconcile_interval_s": 1, "page_size": 3)"));
    test::TestNode node(cfg);
    auto c = node.client();
    REQUIRE(eventually([&] { return complaints(cfg) == 4; }));
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM source_rows WHERE source = 'legacy'") ==
          4);
    // "Empat" is answered and closed in Simpul.
    auto list =
        json::parse(c.request("GET", "/v1/complaints?q=Empat", "", test::TestNode::auth()).body);
    REQUIRE(list.has_value());
    const std::string empat = json::get_string((*list)["items"][0], "id");
    for (const char* body :
         {R"({"kind": "disposed", "payload": {"agency": "dinas-pu-batam"}})",
          R"({"kind": "responded", "payload": {"text": "Selesai."}})", R"({"kind": "closed"})"}) {
      auto r =
          c.request("POST", "/v1/complaints/" + empat + "/events", body, test::TestNode::auth());
      REQUIRE_MESSAGE(r.status == 201, r.body);
    }
    // A bulk fix in the app that leaves the change time alone, one that leaves a row the
    // mapping cannot read (no title), and two deletions.
    l.app->execute("UPDATE aduan SET judul = 'Satu (diperbaiki)' WHERE judul = 'Satu'", {});
    l.app->execute("UPDATE aduan SET judul = '' WHERE judul = 'Tiga'", {});
    l.app->execute("DELETE FROM aduan WHERE judul IN ('Dua', 'Empat')", {});
    CHECK(eventually([&] {
      return db_count(cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'cancelled'") ==
                 1 &&
             events_with(cfg, "amended", "Satu (diperbaiki)") == 1;
    }));
    CHECK(status_of(node, "Dua") == "cancelled");
    CHECK(status_of(node, "Empat") == "closed");
    CHECK(status_of(node, "Tiga") == "received");  // as it was: the blank title was refused
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM source_rows WHERE gone_at IS NOT NULL") ==
          2);
    CHECK(events_with(cfg, "cancelled", "deleted at the source") == 1);
    const auto events = db_count(cfg.store.path, "SELECT count(*) FROM events");
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // more passes
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events") == events);
    // The unreadable row is a dead letter with its key, once for this version of it.
    CHECK(db_count(cfg.store.path,
                   "SELECT count(*) FROM dead_letters WHERE error LIKE 'row 3:%'") == 1);
    CHECK(readyz(node).find("reconcile_max_gone") == std::string::npos);
  });
}

TEST_CASE(
    "sql_poll: a reconciliation that finds more rows gone than reconcile_max_gone (a table "
    "emptied) cancels nothing and fails health saying why") {
  each_server([](Legacy& l) {
    for (int i = 0; i < 5; ++i)
      l.insert("Aduan " + std::to_string(i), "2026-11-30 09:00:00",
               std::string("2026-11-30 09:00:00"));
    auto cfg =
        test::node_config(l.dir, "kota-batam",
                          l.connector(R"(, "reconcile_interval_s": 1, "reconcile_max_gone": 2)"));
    test::TestNode node(cfg);
    REQUIRE(eventually([&] { return complaints(cfg) == 5; }));
    l.app->execute("DELETE FROM aduan", {});
    CHECK(eventually([&] {
      const auto r = readyz(node);
      return r.find("reconcile_max_gone 2") != std::string::npos &&
             r.find("failing") != std::string::npos;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'cancelled'") == 0);
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM source_rows WHERE gone_at IS NULL") == 5);
  });
}

TEST_CASE(
    "sql_poll: rows stamped later than the database's clock (not in the zone the settings "
    "say) fail health with a data error - the cursor stays - the row arrives once its time is "
    "put right") {
  each_server([](Legacy& l) {
    l.insert("Sekarang", "2026-11-30 09:00:00", std::string("2026-11-30 09:00:00"));
    auto cfg = test::node_config(l.dir, "kota-batam", l.connector());
    test::TestNode node(cfg);
    REQUIRE(eventually([&] { return complaints(cfg) == 1; }));
    auto cursor = [&] {
      return SqliteStore(StoreOptions{cfg.store.path, true, 5000, false})
          .cursor("connector.legacy.cursor");
    };
    const std::string before = cursor();
    // Written in WIT (two hours ahead of WIB) by an app whose settings say WIB.
    auto wall = [](TimeMs t) {
      std::string s = format_utc(t);
      return s.substr(0, 10) + " " + s.substr(11, 8);
    };
    l.insert("Nanti", "2026-11-30 09:05:00", wall(system_now_ms() + 9 * 3'600'000));
    CHECK(eventually([&] {
      const auto r = readyz(node);
      return r.find("later than the database's clock") != std::string::npos &&
             r.find("failing") != std::string::npos;
    }));
    CHECK(cursor() == before);
    CHECK(complaints(cfg) == 1);
    // The app's time put right (in WIB): read at once.
    l.app->execute("UPDATE aduan SET diperbarui = :t WHERE judul = 'Nanti'",
                   {{"t", wall(system_now_ms() + 7 * 3'600'000 - 60'000)}});
    CHECK(eventually([&] { return complaints(cfg) == 2; }));
    CHECK(readyz(node).find("later than the database's clock") == std::string::npos);
  });
}

TEST_CASE(
    "sql_poll: a row with no key (NULL) stops reading with a data error naming its change "
    "time - it is never skipped") {
  each_server([](Legacy& l) {
    l.insert("Punya nomor", "2026-11-30 09:00:00", std::string("2026-11-30 09:00:00"));
    l.insert("Tanpa nomor", "2026-11-30 09:01:00", std::string("2026-11-30 09:01:00"));
    l.insert("Sesudahnya", "2026-11-30 09:02:00", std::string("2026-11-30 09:02:00"));
    std::string settings = l.connector(
        R"(, "query": "SELECT CASE WHEN judul = 'Tanpa nomor' THEN NULL ELSE id END AS nomor, judul, uraian, dibuat, diperbarui, nama_pelapor FROM aduan")");
    settings.replace(settings.find(R"("table": "aduan", "key": "id", )"), 31,
                     R"("key": "nomor", )");
    std::string mapping = kMapping;
    mapping.replace(mapping.find(R"("id": "/id")"), 11, R"("id": "/nomor")");
    std::ofstream(l.dir.file("legacy.json"), std::ios::trunc) << mapping;
    auto cfg = test::node_config(l.dir, "kota-batam", settings);
    test::TestNode node(cfg);
    CHECK(eventually([&] {
      const auto r = readyz(node);
      return r.find("has no nomor (NULL)") != std::string::npos &&
             r.find("2026-11-30 09:01:00") != std::string::npos;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(complaints(cfg) == 1);  // "Sesudahnya" waits behind it
  });
}

TEST_CASE(
    "sql_poll: a slow database is polled less often - health says how slow and how often "
    "it polls") {
  each_server([](Legacy& l) {
    const bool m = l.db->endpoint("", "").driver == sql::Driver::mariadb;
    for (int i = 0; i < 3; ++i)
      l.insert("Lambat " + std::to_string(i), "2026-11-30 09:00:00",
               std::string("2026-11-30 09:00:0") + std::to_string(i));
    // Each row read costs the server 0.1 s (a busy shared host).
    const std::string slow = m ? "SLEEP(0.1) = 0" : "(SELECT 1 FROM pg_sleep(0.1)) = 1";
    std::string settings = l.connector(
        R"(, "page_size": 2, "slow_query_ms": 100, "query": "SELECT * FROM aduan WHERE )" + slow +
        R"(")");
    settings.replace(settings.find(R"("table": "aduan", )"), 18, "");
    auto cfg = test::node_config(l.dir, "kota-batam", settings);
    test::TestNode node(cfg);
    // Each slow page doubles the wait (up to 8 times interval_s): it is no longer 1 s.
    std::string said;
    CHECK(eventually([&] {
      said = readyz(node);
      return said.find("the database is slow") != std::string::npos &&
             said.find("degraded") != std::string::npos;
    }));
    const auto at = said.find("polling every ");
    REQUIRE(at != std::string::npos);
    CHECK(std::stoi(said.substr(at + 14)) >= 2);
    CHECK(eventually([&] { return complaints(cfg) == 3; }));
    CHECK(eventually([&] {
      auto r = node.client().request("GET", "/metrics", "", test::TestNode::auth());
      return r.body.find("simpul_connector_slow_pages_total{connector=\"legacy\"}") !=
             std::string::npos;
    }));
  });
}

TEST_CASE(
    "sql_poll over TLS: the server's certificate is verified against ca_file - rows arrive "
    "- a CA that did not sign it is refused and nothing is read - MariaDB and PostgreSQL") {
  for (bool maria : {true, false}) {
    CAPTURE(maria);
    test::TempDir dir;
    const auto pki = test::make_test_pki(dir.path(), "db", {"127.0.0.1"});
    const auto other = test::make_test_pki(dir.path(), "lain", {"127.0.0.1"});
    dbserver::TlsListener listener{pki.cert_file, pki.key_file, test::free_port()};
    auto db = maria ? dbserver::start_mariadb(dir.path(), &listener)
                    : dbserver::start_postgresql(dir.path(), &listener);
    auto app = db->admin();
    app->execute(
        "CREATE TABLE aduan (id INT PRIMARY KEY, judul VARCHAR(200), uraian TEXT, nama_pelapor "
        "VARCHAR(100), dibuat TIMESTAMP(0) NOT NULL, diperbarui TIMESTAMP(6) NULL)",
        {});
    app->execute(
        "INSERT INTO aduan VALUES (1, 'Lewat TLS', 'Uraian', NULL, '2026-11-30 08:00:00', "
        "'2026-11-30 08:00:00')",
        {});
    if (maria) {
      app->execute("CREATE USER 'pembaca'@'127.0.0.1' IDENTIFIED BY 'rahasia-tls-1' REQUIRE SSL",
                   {});
      app->execute("GRANT SELECT ON legacy.* TO 'pembaca'@'127.0.0.1'", {});
    } else {
      db->add_reader("pembaca", "rahasia-tls-1");
    }
    setenv("SIMPUL_TEST_DB_TLS", "rahasia-tls-1", 1);
    std::ofstream(dir.file("legacy.json")) << kMapping;
    auto connectors = [&](const std::string& ca) {
      return R"("connectors": [{"id": "legacy", "type": "sql_poll", "mapping": ")" +
             dir.file("legacy.json") + R"(", "settings": {"driver": ")" +
             (maria ? "mariadb" : "postgresql") + R"(", "host": "127.0.0.1", "port": )" +
             std::to_string(listener.port) + R"(, "tls": true, "ca_file": ")" + ca +
             R"(", "database": "legacy", "user": "pembaca", "password": "env:SIMPUL_TEST_DB_TLS",
             "table": "aduan", "key": "id", "updated": "diperbarui", "interval_s": 1}}],)";
    };
    {
      test::TempDir wrong;
      auto cfg = test::node_config(wrong, "kota-batam", connectors(other.ca_file));
      test::TestNode node(cfg);
      std::string said;
      CHECK(eventually([&] {
        said = node.client().request("GET", "/readyz", "", {}).body;
        return said.find("connector:legacy") != std::string::npos &&
               said.find("failing") != std::string::npos;
      }));
      CAPTURE(said);
      CHECK(said.find("certificate") != std::string::npos);  // refused for the certificate
      CHECK(complaints(cfg) == 0);
    }
    auto cfg = test::node_config(dir, "kota-batam", connectors(pki.ca_file));
    test::TestNode node(cfg);
    CHECK(eventually([&] { return complaints(cfg) == 1; }));
  }
}

TEST_CASE(
    "sql_write: a grant missing on the app's table pauses the writer - no decision is "
    "dead-lettered - once granted the decision is written") {
  each_server([](Legacy& l) {
    const bool m = l.db->endpoint("", "").driver == sql::Driver::mariadb;
    // A writer that may read the table but not yet update it.
    if (m) {
      l.app->execute("CREATE USER 'penulis'@'localhost' IDENTIFIED BY 'tulis-789'", {});
      l.app->execute("GRANT SELECT ON legacy.aduan TO 'penulis'@'localhost'", {});
    } else {
      l.app->execute("CREATE ROLE penulis LOGIN PASSWORD 'tulis-789'", {});
      l.app->execute("GRANT SELECT ON aduan TO penulis", {});
    }
    setenv("SIMPUL_TEST_DB_PENULIS", "tulis-789", 1);
    l.map_statuses();
    l.insert("Selokan mampet", "2026-11-30 08:00:00", std::string("2026-11-30 08:00:00"));
    const std::string statement =
        m ? "UPDATE aduan SET status = :app_status WHERE id = :source_id"
          : "UPDATE aduan SET status = CAST(:app_status AS SMALLINT) WHERE id = CAST(:source_id "
            "AS INT)";
    auto cfg = test::node_config(
        l.dir, "kota-batam",
        l.with_writers(l.writer("legacy-balik", "penulis", "SIMPUL_TEST_DB_PENULIS", statement)));
    test::TestNode node(cfg);
    auto c = node.client();
    REQUIRE(eventually([&] { return complaints(cfg) == 1; }));
    auto list = json::parse(c.request("GET", "/v1/complaints", "", test::TestNode::auth()).body);
    const std::string id = json::get_string((*list)["items"][0], "id");
    auto r = c.request("POST", "/v1/complaints/" + id + "/events",
                       R"({"kind": "disposed", "payload": {"agency": "dinas-pu-batam"}})",
                       test::TestNode::auth());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    const std::string waiting =
        "SELECT count(*) FROM outbox WHERE destination = 'connector:legacy-balik' AND state = "
        "'pending' AND attempts > 0";
    CHECK(eventually([&] { return db_count(cfg.store.path, waiting) == 1; }));
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
    l.app->execute(m ? "GRANT UPDATE ON legacy.aduan TO 'penulis'@'localhost'"
                     : "GRANT UPDATE ON aduan TO penulis",
                   {});
    auto app_status = [&] {
      auto q = l.app->query("SELECT status FROM aduan WHERE id = 1", {});
      return q.rows.empty() || !q.rows[0][0] ? std::string() : *q.rows[0][0];
    };
    CHECK(eventually([&] { return app_status() == "2"; }, 60));
    CHECK(db_count(cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
  });
}

TEST_CASE(
    "sql_poll: a page slower than statement_timeout_ms is cut by the database - health says "
    "so - nothing is stored") {
  each_server([](Legacy& l) {
    const bool m = l.db->endpoint("", "").driver == sql::Driver::mariadb;
    l.insert("Lama sekali", "2026-11-30 09:00:00", std::string("2026-11-30 09:00:00"));
    const std::string slow = m ? "SLEEP(2) = 0" : "(SELECT 1 FROM pg_sleep(2)) = 1";
    std::string settings = l.connector(
        R"(, "statement_timeout_ms": 300, "query": "SELECT * FROM aduan WHERE )" + slow + R"(")");
    settings.replace(settings.find(R"("table": "aduan", )"), 18, "");
    auto cfg = test::node_config(l.dir, "kota-batam", settings);
    test::TestNode node(cfg);
    std::string said;
    CHECK(eventually([&] {
      said = readyz(node);
      return said.find("failing") != std::string::npos &&
             (said.find("max_statement_time") != std::string::npos ||
              said.find("statement timeout") != std::string::npos);
    }));
    CAPTURE(said);
    CHECK(complaints(cfg) == 0);
  });
}

TEST_CASE(
    "sql_poll: naive DATETIME in WITA beside a zoned TIMESTAMP (MariaDB) - naive TIMESTAMP in "
    "WIT beside TIMESTAMPTZ (PostgreSQL) - the row is read at once and received_at is the "
    "instant the app meant") {
  each_server([](Legacy& l) {
    const bool m = l.db->endpoint("", "").driver == sql::Driver::mariadb;
    const int offset_h = m ? 8 : 9;  // WITA, WIT
    const char* zone = m ? "WITA" : "WIT";
    l.app->execute(std::string("CREATE TABLE timur (id INT PRIMARY KEY, judul VARCHAR(100), "
                               "uraian TEXT, nama_pelapor VARCHAR(50), dibuat ") +
                       (m ? "DATETIME" : "TIMESTAMP(0)") + " NOT NULL, diperbarui " +
                       (m ? "TIMESTAMP(6)" : "TIMESTAMPTZ(6)") + " NOT NULL)",
                   {});
    // The app's wall time a minute ago in its zone; the change time from the server's clock.
    const TimeMs meant = (system_now_ms() / 1000 - 60) * 1000;
    std::string wall = format_utc(meant + offset_h * 3'600'000LL);
    wall = wall.substr(0, 10) + " " + wall.substr(11, 8);
    l.app->execute("INSERT INTO timur VALUES (1, 'Dari timur', 'Uraian', NULL, :w, " +
                       std::string(m ? "NOW(6)" : "now()") + ")",
                   {{"w", wall}});
    std::string mapping = kMapping;
    mapping.replace(mapping.find(R"("zone": "WIB")"), 13,
                    std::string(R"("zone": ")") + zone + "\"");
    std::ofstream(l.dir.file("legacy.json"), std::ios::trunc) << mapping;
    std::string settings =
        l.connector(std::string(R"(, "zone": ")") + zone + R"(", "updated": "diperbarui")",
                    "env:SIMPUL_TEST_DB_PASSWORD", false);
    settings.replace(settings.find(R"("table": "aduan")"), 16, R"("table": "timur")");
    auto cfg = test::node_config(l.dir, "kota-batam", settings);
    test::TestNode node(cfg);
    CHECK(eventually([&] { return complaints(cfg) == 1; }, 10));
    auto list = json::parse(
        node.client().request("GET", "/v1/complaints", "", test::TestNode::auth()).body);
    REQUIRE(list.has_value());
    CHECK(json::get_string((*list)["items"][0], "received_at") == format_utc(meant));
  });
}
