// Running a node as a service: `simpul init`, the default config path, errors that name the key
// and the system's reason, `db restore` and the store lock, the copy before a migration, and the
// systemd protocol (readiness, reload, stopping, watchdog, journal priorities).

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/json.hpp"
#include "core/log.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::run_simpul;
using test::TestNode;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 0777;
}

// `simpul init` of a kabkota node in `dir` with `extra` flags.
int init_in(const test::TempDir& dir, std::vector<std::string> extra, std::string& out,
            const std::string* input = nullptr) {
  std::vector<std::string> args = {"init",
                                   "--config",
                                   dir.file("etc/simpul.json"),
                                   "--store-dir",
                                   dir.file("lib"),
                                   "--calendar",
                                   std::string(SIMPUL_SOURCE_DIR) + "/config/calendars/id.json",
                                   "--listen",
                                   "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_simpul(args, &out, input);
}

// A unix datagram socket standing in for systemd's notification socket.
struct NotifySocket {
  int fd = -1;
  std::string path;
  explicit NotifySocket(const std::string& p) : path(p) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, p.c_str(), sizeof(addr.sun_path) - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() { ::close(fd); }
  // Every message that arrives within `seconds`, until one contains `until`.
  std::vector<std::string> read_until(const std::string& until, int seconds = 10) {
    std::vector<std::string> got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) continue;
      got.emplace_back(buf, static_cast<std::size_t>(n));
      if (got.back().find(until) != std::string::npos) break;
    }
    return got;
  }
};

bool any_has(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& s : v)
    if (s.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE(
    "init: flags write a config that check passes and serve runs - the admin token 0600 - the "
    "store folder 0700 - and it says what comes next") {
  test::TempDir dir;
  std::string out;
  REQUIRE_MESSAGE(init_in(dir,
                          {"--tier", "kabkota", "--region", "21.71", "--node-id", "kota-batam",
                           "--zone", "Asia/Jakarta"},
                          out) == 0,
                  out);
  CHECK(out.find("simpul check --config " + dir.file("etc/simpul.json")) != std::string::npos);
  CHECK(mode_of(dir.file("etc/secrets/admin-token")) == 0600);
  CHECK(mode_of(dir.file("etc/secrets")) == 0700);
  CHECK(mode_of(dir.file("lib")) == 0700);
  CHECK(mode_of(dir.file("etc/simpul.json")) == 0640);
  const std::string token = slurp(dir.file("etc/secrets/admin-token"));
  CHECK(token.size() >= 40);
  CHECK(slurp(dir.file("etc/simpul.json")).find(token.substr(0, 20)) == std::string::npos);

  CHECK_MESSAGE(run_simpul({"check", "--config", dir.file("etc/simpul.json")}, &out) == 0, out);
  test::ServeProcess serve(dir.file("etc/simpul.json"), dir.file("ready"));
  http::Client c("127.0.0.1", serve.port(), 5000);
  std::string bearer = token.substr(0, token.find('\n'));
  auto r = c.request("GET", "/v1/complaints", "", {{"Authorization", "Bearer " + bearer}});
  CHECK(r.status == 200);
  CHECK(serve.terminate() == 0);
}

TEST_CASE(
    "init: what is missing is named with exit 64 - an existing config is kept - answers that do "
    "not load leave nothing behind") {
  test::TempDir dir;
  std::string out;
  CHECK(init_in(dir, {"--tier", "kabkota"}, out) == 64);
  CHECK(out.find("missing --region, --node-id") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("etc")));

  // A region code that is no Kemendagri code: the loader's own words, and nothing written.
  CHECK(init_in(dir, {"--tier", "kabkota", "--region", "batam", "--node-id", "kota-batam"}, out) ==
        78);
  CHECK(out.find("/node/region") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("etc")));
  CHECK_FALSE(fs::exists(dir.file("lib")));

  // A parent without its node id or token.
  CHECK(init_in(dir,
                {"--tier", "kabkota", "--region", "21.71", "--node-id", "kota-batam",
                 "--parent-url", "https://simpul.kepriprov.go.id"},
                out) == 64);
  CHECK(out.find("--parent-node, --parent-token-file") != std::string::npos);

  REQUIRE(init_in(dir, {"--tier", "nasional", "--region", "00", "--node-id", "nasional"}, out) ==
          0);
  const std::string first = slurp(dir.file("etc/simpul.json"));
  const std::string token = slurp(dir.file("etc/secrets/admin-token"));
  CHECK(init_in(dir, {"--tier", "kabkota", "--region", "21.71", "--node-id", "kota-batam"}, out) ==
        64);
  CHECK(out.find("exists; it is kept") != std::string::npos);
  CHECK(slurp(dir.file("etc/simpul.json")) == first);
  // --force writes a new config; the admin token already issued stays.
  CHECK(init_in(dir,
                {"--tier", "kabkota", "--region", "21.71", "--node-id", "kota-batam", "--force"},
                out) == 0);
  CHECK(slurp(dir.file("etc/simpul.json")).find("kota-batam") != std::string::npos);
  CHECK(slurp(dir.file("etc/secrets/admin-token")) == token);
}

TEST_CASE(
    "init: asked on stdin - a child of a province - the parent's token goes to a 0600 file and "
    "never into the config") {
  test::TempDir dir;
  std::string out;
  // Tier, region, node id, zone (default), parent URL, parent node id, then the token.
  const std::string answers =
      "kabkota\n21.71\nkota-batam\n\nhttps://simpul.kepriprov.go.id:7702\nprovinsi-kepri\n"
      "PARENT-TOKEN-8812\n";
  REQUIRE_MESSAGE(init_in(dir, {"--ask"}, out, &answers) == 0, out);
  const std::string cfg = slurp(dir.file("etc/simpul.json"));
  CHECK(cfg.find("\"node\": \"provinsi-kepri\"") != std::string::npos);
  CHECK(cfg.find("Asia/Jakarta") != std::string::npos);
  CHECK(cfg.find("PARENT-TOKEN-8812") == std::string::npos);
  CHECK(slurp(dir.file("etc/secrets/upstream-token")) == "PARENT-TOKEN-8812\n");
  CHECK(mode_of(dir.file("etc/secrets/upstream-token")) == 0600);
  CHECK_MESSAGE(run_simpul({"check", "--config", dir.file("etc/simpul.json")}, &out) == 0, out);
}

TEST_CASE(
    "config: SIMPUL_CONFIG stands for --config - no config at all names simpul init - a missing "
    "file names its key and the system's reason") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  std::string out;
  setenv("SIMPUL_CONFIG", dir.file("node.json").c_str(), 1);
  CHECK_MESSAGE(run_simpul({"check"}, &out) == 0, out);
  setenv("SIMPUL_CONFIG", dir.file("none.json").c_str(), 1);
  CHECK(run_simpul({"check"}, &out) == 78);
  CHECK(out.find("cannot read " + dir.file("none.json") + ": No such file or directory") !=
        std::string::npos);
  CHECK(out.find("simpul init") != std::string::npos);
  unsetenv("SIMPUL_CONFIG");

  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = test::config_json(dir);
    REQUIRE(t.find(from) != std::string::npos);
    t.replace(t.find(from), from.size(), to);
    std::ofstream(dir.file("node.json"), std::ios::trunc) << t;
    return run_simpul({"check", "--config", dir.file("node.json")}, &out);
  };
  CHECK(with("\"log\"", "\"sla\": {\"holidays_file\": \"nowhere/id.json\"}, \"log\"") == 78);
  CHECK(out.find("/sla/holidays_file: cannot read " + dir.file("nowhere/id.json") +
                 ": No such file or directory") != std::string::npos);
  CHECK(with("\"env:SIMPUL_TEST_ADMIN\"", "\"file:" + dir.file("no-token") + "\"") == 78);
  CHECK(out.find("/auth/admin_token: secret: cannot read " + dir.file("no-token") +
                 ": No such file or directory") != std::string::npos);
}

TEST_CASE(
    "db restore: refuses a store a node serves - refuses garbage and leaves the store - restores "
    "a backup and keeps the database it replaced") {
  test::TempDir dir;
  std::string out;
  REQUIRE(init_in(dir, {"--tier", "nasional", "--region", "00", "--node-id", "nasional"}, out) ==
          0);
  const std::string cfg = dir.file("etc/simpul.json"), db = dir.file("lib/simpul.db");
  const std::string bearer = "Bearer " + slurp(dir.file("etc/secrets/admin-token")).substr(0, 43);
  auto serve = std::make_unique<test::ServeProcess>(cfg, dir.file("ready"));
  auto post = [&](const std::string& title) {
    http::Client c("127.0.0.1", serve->port(), 5000);
    auto r = c.request("POST", "/v1/complaints", test::sample_complaint(title),
                       {{"Authorization", bearer}, {"Content-Type", "application/json"}});
    REQUIRE_MESSAGE(r.status == 201, r.body);
  };
  post("Sebelum backup");
  REQUIRE(run_simpul({"db", "backup", "--config", cfg, dir.file("backup.db")}, &out) == 0);
  post("Sesudah backup");

  // A second node on the same store, and a restore under a running node: both refused.
  CHECK(run_simpul({"serve", "--config", cfg}, &out) == 1);
  CHECK(out.find("a node is serving this store (pid") != std::string::npos);
  CHECK(run_simpul({"db", "restore", "--config", cfg, dir.file("backup.db")}, &out) == 1);
  CHECK(out.find("stop it first") != std::string::npos);
  REQUIRE(serve->terminate() == 0);
  serve.reset();

  std::ofstream(dir.file("garbage.db")) << "not a database at all";
  CHECK(run_simpul({"db", "restore", "--config", cfg, dir.file("garbage.db")}, &out) == 1);
  CHECK(out.find("nothing changed") != std::string::npos);
  CHECK(test::db_count(db, "SELECT count(*) FROM complaints") == 2);
  // A SQLite file that is not a Simpul store.
  {
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(dir.file("other.db").c_str(), &other) == SQLITE_OK);
    sqlite3_exec(other, "CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(other);
  }
  CHECK(run_simpul({"db", "restore", "--config", cfg, dir.file("other.db")}, &out) == 1);
  CHECK(out.find("is not a Simpul store") != std::string::npos);

  REQUIRE_MESSAGE(run_simpul({"db", "restore", "--config", cfg, dir.file("backup.db")}, &out) == 0,
                  out);
  CHECK(test::db_count(db, "SELECT count(*) FROM complaints") == 1);
  CHECK(mode_of(db) == 0600);
  std::string replaced;
  for (const auto& e : fs::directory_iterator(dir.file("lib")))
    if (e.path().filename().string().find("simpul.db.replaced-") == 0 &&
        e.path().extension() != ".db-wal")
      replaced = e.path().string();
  REQUIRE_FALSE(replaced.empty());
  CHECK(out.find(replaced) != std::string::npos);
  CHECK(test::db_count(replaced, "SELECT count(*) FROM complaints") == 2);
  // The restore is the restored log's newest entry, naming the backup.
  CHECK(
      test::db_count(db,
                     "SELECT count(*) FROM audit_log WHERE action = 'db.restore' AND id = (SELECT "
                     "max(id) FROM audit_log) AND json_extract(detail_json, '$.backup') = '" +
                         dir.file("backup.db") + "'") == 1);
  REQUIRE(run_simpul({"audit", "verify", "--config", cfg}, &out) == 0);
  // The restored store serves again.
  serve = std::make_unique<test::ServeProcess>(cfg, dir.file("ready"));
  http::Client c("127.0.0.1", serve->port(), 5000);
  auto r = c.request("GET", "/v1/complaints", "", {{"Authorization", bearer}});
  CHECK(r.body.find("Sebelum backup") != std::string::npos);
  CHECK(r.body.find("Sesudah backup") == std::string::npos);
}

TEST_CASE("upgrade: a store one schema step behind is copied aside before serve migrates it") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  std::string out;
  REQUIRE(run_simpul({"db", "migrate", "--config", dir.file("node.json")}, &out) == 0);
  const std::string db = dir.file("test-node.db");
  REQUIRE(fs::exists(db));
  const int latest = SqliteStore::latest_version();
  // As the previous release left it: without the last migration (11: sealed identities).
  test::db_exec(db,
                "DROP TRIGGER events_append_only_update; DROP TABLE sealed_events; DROP INDEX "
                "raw_payloads_key; ALTER TABLE raw_payloads DROP COLUMN key_id; CREATE TRIGGER "
                "events_append_only_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, "
                "'events are append-only'); END; "
                "PRAGMA user_version = " +
                    std::to_string(latest - 1));
  {
    test::ServeProcess serve(dir.file("node.json"), dir.file("ready"));
    CHECK(serve.terminate() == 0);
  }
  const std::string copy =
      db + ".before-migration-" + std::to_string(latest - 1) + "-to-" + std::to_string(latest);
  REQUIRE(fs::exists(copy));
  CHECK(test::db_count(copy, "PRAGMA user_version") == latest - 1);
  CHECK(test::db_count(db, "PRAGMA user_version") == latest);
  CHECK(test::db_count(db, "SELECT count(*) FROM sealed_events") == 0);
  CHECK(mode_of(copy) == 0600);
}

TEST_CASE(
    "systemd: READY once listening - RELOADING then READY on SIGHUP - watchdog pings - STOPPING "
    "on SIGTERM") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  NotifySocket sock(dir.file("notify"));
  setenv("NOTIFY_SOCKET", sock.path.c_str(), 1);
  setenv("WATCHDOG_USEC", "400000", 1);  // pings every 200 ms
  test::ServeProcess serve(dir.file("node.json"), dir.file("ready"));
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  auto got = sock.read_until("READY=1");
  CHECK(any_has(got, "READY=1"));
  CHECK(any_has(got, "STATUS=listening on port " + std::to_string(serve.port())));
  got = sock.read_until("WATCHDOG=1");
  CHECK(any_has(got, "WATCHDOG=1"));
  int pings = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < until)
    for (const auto& m : sock.read_until("WATCHDOG=1", 1)) pings += m == "WATCHDOG=1";
  CHECK(pings >= 3);

  serve.signal(SIGHUP);
  got = sock.read_until("READY=1");
  CHECK(any_has(got, "RELOADING=1\nMONOTONIC_USEC="));
  CHECK(any_has(got, "READY=1"));
  http::Client c("127.0.0.1", serve.port(), 5000);
  CHECK(c.request("GET", "/metrics").status == 200);

  serve.signal(SIGTERM);
  got = sock.read_until("STOPPING=1");
  CHECK(any_has(got, "STOPPING=1"));
}

TEST_CASE(
    "systemd: log lines carry journal priorities when stdout is the journal's stream - a fatal "
    "start-up error is a JSON line too") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  std::string info = test::config_json(dir);
  info.replace(info.find("\"warn\""), 6, "\"info\"");
  std::ofstream(dir.file("node.json"), std::ios::trunc) << info;
  const std::string log = dir.file("journal.log");
  std::ofstream(log).close();
  struct stat st {};
  REQUIRE(::stat(log.c_str(), &st) == 0);
  const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  setenv("JOURNAL_STREAM", stream.c_str(), 1);
  {
    test::ServeProcess serve(dir.file("node.json"), dir.file("ready"), log);
    serve.terminate();
  }
  unsetenv("JOURNAL_STREAM");
  const std::string text = slurp(log);
  CHECK(text.find("<6>{\"ts\"") != std::string::npos);
  CHECK(text.find("\"msg\":\"node.listening\"") != std::string::npos);

  // Without the journal: no prefix. A store that cannot be opened: a JSON line says why.
  std::string t = test::config_json(dir);
  t.replace(t.find(dir.file("test-node.db")), dir.file("test-node.db").size(),
            dir.file("no/such/x.db"));
  std::ofstream(dir.file("bad.json")) << t;
  std::string out;
  CHECK(run_simpul({"serve", "--config", dir.file("bad.json")}, &out) != 0);
  CHECK(out.find("{\"ts\"") != std::string::npos);
  CHECK(out.find("\"msg\":\"node.fatal\"") != std::string::npos);
  CHECK(out.find("<3>") == std::string::npos);
}

TEST_CASE(
    "serve: SIGHUP reloads the calendar and the agency reference - open clocks refolded while it "
    "serves - a disposition to a newly listed agency is accepted") {
  test::TempDir dir;
  auto write_calendar = [&](const std::string& version, const std::string& days) {
    std::ofstream(dir.file("calendar.json"), std::ios::trunc)
        << R"({"version": ")" + version + R"(", "days": [)" + days + "]}";
  };
  auto write_agencies = [&](const std::string& ids) {
    std::ofstream(dir.file("agencies.json"), std::ios::trunc) << "[" + ids + "]";
  };
  write_calendar("r1", "");
  write_agencies(R"({"id": "dinas-pu-batam"})");
  std::string text = test::config_json(dir, "kota-batam");
  text.replace(text.find("\"log\""), 0,
               "\"sla\": {\"holidays_file\": \"" + dir.file("calendar.json") +
                   "\", \"scheduler\": false}, \"reference\": {\"agencies\": \"" +
                   dir.file("agencies.json") + "\"}, ");
  text.replace(text.find("\"warn\""), 6, "\"info\"");
  std::ofstream(dir.file("node.json")) << text;
  const std::string db = dir.file("kota-batam.db");
  test::ServeProcess serve(dir.file("node.json"), dir.file("ready"), dir.file("node.log"));
  http::Client c("127.0.0.1", serve.port(), 5000);
  const std::vector<http::Header> h = {
      {"Authorization", std::string("Bearer ") + test::kAdminToken},
      {"Content-Type", "application/json"}};
  auto r = c.request("POST", "/v1/complaints", test::sample_complaint(), h);
  REQUIRE(r.status == 201);
  auto doc = json::parse(r.body);
  REQUIRE(doc.has_value());
  const std::string id = json::get_string(*doc, "id");
  auto due = [&] {
    return test::db_count(db, "SELECT verify_due FROM complaints WHERE id = '" + id + "'");
  };
  const std::int64_t before = due();
  REQUIRE(before > 0);
  const std::string to_new = "/v1/complaints/" + id + "/events";
  const std::string dispose_new = R"({"kind":"disposed","payload":{"agency":"dinas-baru"}})";
  CHECK(c.request("POST", to_new, R"({"kind":"verified"})", h).status == 201);
  CHECK(c.request("POST", to_new, dispose_new, h).status == 422);

  // The region declares the next ten days off, and a new agency joins.
  std::string days;
  std::time_t now = std::time(nullptr) + 7 * 3600;  // WIB
  for (int i = 0; i < 10; ++i) {
    std::time_t t = now + i * 86400;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char date[16];
    std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
    days += std::string(days.empty() ? "" : ",") + R"({"date": ")" + date +
            R"(", "name": "Libur daerah", "kind": "libur_daerah", "scope": "kabkota", )" +
            R"("region": "21.71", "source": "Perwako"})";
  }
  write_calendar("r2", days);
  write_agencies(R"({"id": "dinas-pu-batam"}, {"id": "dinas-baru"})");
  serve.signal(SIGHUP);
  // The store's first start refolded once already: the reload's pass is the second.
  auto passes = [&] {
    std::string log = slurp(dir.file("node.log"));
    int n = 0;
    for (auto at = log.find("\"msg\":\"sla.recompute_done\""); at != std::string::npos;
         at = log.find("\"msg\":\"sla.recompute_done\"", at + 1))
      ++n;
    return n;
  };
  CHECK(test::eventually([&] { return passes() >= 2; }));
  const std::string log = slurp(dir.file("node.log"));
  INFO(log);
  auto at = log.find("\"msg\":\"node.reloaded\"");
  REQUIRE(at != std::string::npos);
  const std::string line = log.substr(at, log.find('\n', at) - at);
  CHECK(line.find("reference data") != std::string::npos);
  CHECK(line.find("calendar r2") != std::string::npos);
  CHECK(log.find("\"msg\":\"sla.due_moved\"") != std::string::npos);
  CHECK(due() > before);
  r = c.request("POST", to_new, dispose_new, h);
  CHECK_MESSAGE(r.status == 201, r.body);
  // The API folds with the new calendar too.
  r = c.request("GET", "/v1/complaints/" + id, "", h);
  CHECK(r.status == 200);
  CHECK(serve.terminate() == 0);
  // The reload is an entry of the audit log, saying what it changed.
  CHECK(test::db_count(db,
                       "SELECT count(*) FROM audit_log WHERE action = 'config.reload' AND "
                       "json_extract(detail_json, '$.reloaded') LIKE '%calendar r2%'") == 1);
}

TEST_CASE(
    "http: an http.access line per request with its request id - echoed as X-Request-Id - the "
    "client from X-Forwarded-For only through a trusted proxy - never the query") {
  test::TempDir dir;
  Config cfg = test::test_config(dir);
  cfg.http.trusted_proxies = {"127.0.0.1"};
  std::mutex mu;
  std::string captured;
  TestNode node(cfg);
  log::set_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    captured.append(line).push_back('\n');
  });
  log::set_level(log::Level::info);
  auto c = node.client();
  auto r = c.request("GET", "/v1/complaints?q=CANARY-QUERY-5521", "",
                     {{"Authorization", std::string("Bearer ") + test::kAdminToken},
                      {"X-Request-Id", "nginx-4f2a9c"},
                      {"X-Forwarded-For", "203.0.113.9, 10.1.2.3"}});
  CHECK(r.status == 200);
  CHECK(r.header("x-request-id") == "nginx-4f2a9c");
  // Garbage for an id is replaced by a new one.
  r = c.request("GET", "/livez", "", {{"X-Request-Id", "bad id\twith spaces"}});
  const std::string fresh = r.header("x-request-id");
  CHECK(fresh.size() == 16);
  log::set_level(log::Level::warn);
  log::set_sink(nullptr);
  std::lock_guard lock(mu);
  auto line_with = [&](const std::string& needle) {
    auto at = captured.find(needle);
    if (at == std::string::npos) return std::string();
    auto start = captured.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    return captured.substr(start, captured.find('\n', at) - start);
  };
  const std::string line = line_with("\"request_id\":\"nginx-4f2a9c\"");
  REQUIRE_FALSE(line.empty());
  CHECK(line.find("\"msg\":\"http.access\"") != std::string::npos);
  CHECK(line.find("\"method\":\"GET\"") != std::string::npos);
  CHECK(line.find("\"path\":\"/v1/complaints\"") != std::string::npos);
  CHECK(line.find("\"status\":200") != std::string::npos);
  CHECK(line.find("\"duration_ms\":") != std::string::npos);
  // The proxy at 127.0.0.1 is trusted; 10.1.2.3 is not, so it is the client (203.0.113.9 is
  // what anyone could have written before it).
  CHECK(line.find("\"client\":\"10.1.2.3\"") != std::string::npos);
  CHECK(captured.find("CANARY-QUERY-5521") == std::string::npos);
  CHECK_FALSE(line_with("\"request_id\":\"" + fresh + "\"").empty());
}

TEST_CASE(
    "http: X-Forwarded-For from a peer that is no trusted proxy is ignored - the peer is the "
    "client") {
  test::TempDir dir;
  Config cfg = test::test_config(dir);
  std::mutex mu;
  std::string captured;
  TestNode node(cfg);
  log::set_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    captured.append(line).push_back('\n');
  });
  log::set_level(log::Level::info);
  node.client().request("GET", "/livez", "", {{"X-Forwarded-For", "198.51.100.7"}});
  log::set_level(log::Level::warn);
  log::set_sink(nullptr);
  std::lock_guard lock(mu);
  CHECK(captured.find("\"client\":\"127.0.0.1\"") != std::string::npos);
  CHECK(captured.find("198.51.100.7") == std::string::npos);
}

TEST_CASE(
    "http: HEAD on a GET route answers its headers and no body - 405 names Allow - 401 names "
    "WWW-Authenticate - a port in use names the address and /http/listen") {
  test::TempDir dir;
  TestNode node(test::test_config(dir));
  auto c = node.client();
  auto get = c.request("GET", "/ui/app.css");
  auto head = c.request("HEAD", "/ui/app.css");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.header("content-length") == std::to_string(get.body.size()));
  auto wrong = c.request("DELETE", "/v1/complaints");
  CHECK(wrong.status == 405);
  CHECK(wrong.header("allow").find("GET, HEAD") != std::string::npos);
  CHECK(wrong.header("allow").find("POST") != std::string::npos);
  auto anon = c.request("GET", "/v1/complaints");
  CHECK(anon.status == 401);
  CHECK(anon.header("www-authenticate") == "Bearer realm=\"simpul\"");

  // Another node on the port this one holds.
  std::string text = test::config_json(dir, "second");
  text.replace(text.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(node.port()));
  std::ofstream(dir.file("second.json")) << text;
  std::string out;
  CHECK(run_simpul({"serve", "--config", dir.file("second.json")}, &out) == 1);
  CHECK(out.find("cannot listen on 127.0.0.1:" + std::to_string(node.port()) +
                 " (/http/listen): Address already in use") != std::string::npos);
  CHECK(out.find(".hpp") == std::string::npos);  // no Boost source location
}

TEST_CASE(
    "nginx: the shipped example terminates TLS in front of a node - requests pass with nginx's "
    "request id - the node logs the client nginx names") {
  const std::string nginx = std::string(SIMPUL_SOURCE_DIR) + "/.tools/nginx";
  REQUIRE_MESSAGE(fs::exists(nginx), "no .tools/nginx: run scripts/setup.sh (make test does)");
  test::TempDir dir;
  Config cfg = test::test_config(dir);
  cfg.http.trusted_proxies = {"127.0.0.1"};
  TestNode node(cfg);
  auto pki = test::make_test_pki(dir.path(), "proxy", {"simpul.batam.go.id", "127.0.0.1"});
  const std::uint16_t https_port = test::free_port();

  // The example as an operator installs it, with this test's port, node and certificate (and
  // without the port-80 redirect and IPv6 listeners this machine may not allow).
  std::string site = slurp(std::string(SIMPUL_SOURCE_DIR) + "/config/nginx/simpul.conf");
  auto replace = [&](const std::string& from, const std::string& to) {
    auto at = site.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    site.replace(at, from.size(), to);
  };
  replace("server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(node.port()) + ";");
  replace("listen 443 ssl http2;", "listen 127.0.0.1:" + std::to_string(https_port) + " ssl;");
  replace("listen [::]:443 ssl http2;", "");
  replace("/etc/letsencrypt/live/simpul.batam.go.id/fullchain.pem", pki.cert_file);
  replace("/etc/letsencrypt/live/simpul.batam.go.id/privkey.pem", pki.key_file);
  auto redirect = site.find("server {\n    listen 80;");
  REQUIRE(redirect != std::string::npos);
  site.erase(redirect, site.find("}\n", redirect) + 2 - redirect);
  std::ofstream(dir.file("simpul-site.conf")) << site;
  fs::create_directories(dir.file("nginx"));
  std::ofstream(dir.file("nginx.conf"))
      << "daemon off;\nmaster_process off;\npid " << dir.file("nginx.pid")
      << ";\nerror_log stderr warn;\nevents {}\nhttp {\n  access_log off;\n"
      << "  client_body_temp_path " << dir.file("nginx/body") << ";\n  proxy_temp_path "
      << dir.file("nginx/proxy") << ";\n  fastcgi_temp_path " << dir.file("nginx/fcgi")
      << ";\n  uwsgi_temp_path " << dir.file("nginx/uwsgi") << ";\n  scgi_temp_path "
      << dir.file("nginx/scgi") << ";\n  include " << dir.file("simpul-site.conf") << ";\n}\n";
  std::string said;
  REQUIRE_MESSAGE(std::system(("'" + nginx + "' -t -q -e stderr -p '" + dir.path() + "' -c '" +
                               dir.file("nginx.conf") + "' > '" + dir.file("t.log") + "' 2>&1")
                                  .c_str()) == 0,
                  slurp(dir.file("t.log")));
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = ::open(dir.file("nginx.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(out, 2);
    execl(nginx.c_str(), "nginx", "-e", "stderr", "-p", dir.path().c_str(), "-c",
          dir.file("nginx.conf").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  struct Reap {
    pid_t pid;
    ~Reap() {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{pid};

  std::mutex mu;
  std::string captured;
  log::set_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    captured.append(line).push_back('\n');
  });
  log::set_level(log::Level::info);
  http::TlsClientConfig tls;
  tls.enabled = true;
  tls.ca_file = pki.ca_file;
  tls.server_name = "simpul.batam.go.id";
  http::ClientResponse r;
  const bool answered = test::eventually(
      [&] {
        try {
          http::Client c("127.0.0.1", https_port, 5000, tls);
          r = c.request("GET", "/v1/complaints", "",
                        {{"Authorization", std::string("Bearer ") + test::kAdminToken}});
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      10);
  log::set_level(log::Level::warn);
  log::set_sink(nullptr);
  REQUIRE_MESSAGE(answered, slurp(dir.file("nginx.log")));
  CHECK(r.status == 200);
  // nginx's $request_id: 32 hex digits, kept by the node and echoed back.
  const std::string id = r.header("x-request-id");
  CHECK(id.size() == 32);
  std::lock_guard lock(mu);
  auto at = captured.find("\"request_id\":\"" + id + "\"");
  REQUIRE(at != std::string::npos);
  auto line = captured.substr(captured.rfind('\n', at) + 1);
  line = line.substr(0, line.find('\n'));
  CHECK(line.find("\"path\":\"/v1/complaints\"") != std::string::npos);
  CHECK(line.find("\"client\":\"127.0.0.1\"") != std::string::npos);
}

TEST_CASE(
    "db restore: run as root it leaves the restored store and its lock to the store's owner - "
    "the service's user can open them") {
  if (::geteuid() != 0) return;  // only root can hand files to another user
  test::TempDir dir;
  std::string out;
  REQUIRE(init_in(dir, {"--tier", "nasional", "--region", "00", "--node-id", "nasional"}, out) ==
          0);
  const std::string cfg = dir.file("etc/simpul.json"), db = dir.file("lib/simpul.db");
  REQUIRE(run_simpul({"db", "migrate", "--config", cfg}, &out) == 0);
  REQUIRE(run_simpul({"db", "backup", "--config", cfg, dir.file("backup.db")}, &out) == 0);
  const uid_t service = 65534;  // nobody: the store's owner, as simpul is on a server
  for (const auto& e : fs::directory_iterator(dir.file("lib")))
    REQUIRE(::chown(e.path().c_str(), service, service) == 0);
  REQUIRE(::chown(dir.file("lib").c_str(), service, service) == 0);
  fs::remove(db + ".lock");
  REQUIRE_MESSAGE(run_simpul({"db", "restore", "--config", cfg, dir.file("backup.db")}, &out) == 0,
                  out);
  struct stat st {};
  REQUIRE(::stat(db.c_str(), &st) == 0);
  CHECK(st.st_uid == service);
  REQUIRE(::stat((db + ".lock").c_str(), &st) == 0);
  CHECK(st.st_uid == service);
}

namespace {

std::string post_complaint(const TestNode& node, const std::string& title,
                           const std::string& key = "") {
  std::vector<http::Header> h = TestNode::auth();
  h.push_back({"Content-Type", "application/json"});
  if (!key.empty()) h.push_back({"Idempotency-Key", key});
  auto r = node.client().request("POST", "/v1/complaints", test::sample_complaint(title), h);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto doc = json::parse(r.body);
  REQUIRE(doc.has_value());
  return json::get_string(*doc, "id");
}

}  // namespace

TEST_CASE(
    "retention: deletes only what it may - every event and complaint stays - an open complaint "
    "keeps its raw payload - a pending row stays - each complaint keeps its at_parent row - the "
    "freed pages go back to the file system") {
  test::TempDir pdir, ldir;
  auto parent = std::make_unique<TestNode>(test::province_config(pdir));
  Config leaf_cfg = test::node_config(ldir, "kota-batam", test::upstream_member(*parent));
  leaf_cfg.retention.interval_s = 0;  // this test runs the passes itself
  const std::string db = leaf_cfg.store.path;
  constexpr int kBulk = 300;
  std::string closed, open, queued;
  {
    TestNode leaf(leaf_cfg);
    closed = post_complaint(leaf, "Akan ditutup", "key-closed");
    open = post_complaint(leaf, "Masih terbuka", "key-open");
    auto r = leaf.client().request("POST", "/v1/complaints/" + closed + "/events",
                                   R"({"kind":"verified"})", TestNode::auth());
    REQUIRE(r.status == 201);
    for (int i = 0; i < kBulk; ++i) post_complaint(leaf, "Massal", "bulk-" + std::to_string(i));
    REQUIRE(test::eventually([&] {
      return test::db_count(db,
                            "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND "
                            "state = 'done'") == kBulk + 3;
    }));
    parent.reset();  // the parent goes away: what the leaf takes in now stays queued
    queued = post_complaint(leaf, "Antre");
  }
  // Every complaint but `open` and `queued` is closed (as its projection says once closed).
  test::db_exec(db, "UPDATE complaints SET status = 'closed' WHERE id NOT IN ('" + open + "', '" +
                        queued + "')");
  const std::int64_t events = test::db_count(db, "SELECT count(*) FROM events");
  const std::int64_t complaints = test::db_count(db, "SELECT count(*) FROM complaints");

  SqliteStore store(StoreOptions{db, true, 5000, false, false});
  std::string sync_before = store.sync_state(closed);
  REQUIRE(sync_before == "at_parent");
  REQUIRE(store.sync_state(queued) == "queued");
  // Everything is old enough: a cut in the future.
  Store::RetentionCut cut;
  const TimeMs later = system_now_ms() + 24LL * 3600 * 1000;
  cut.outbox_done_before = cut.raw_closed_before = cut.idempotency_before = later;
  cut.feed_acked_before = later;
  cut.window = 50;
  Store::RetentionDeleted all;
  int steps = 0;
  for (;;) {
    store.begin();
    auto d = store.prune(cut);
    store.commit();
    ++steps;
    all.outbox += d.outbox;
    all.raw_payloads += d.raw_payloads;
    all.idempotency += d.idempotency;
    CHECK(d.outbox <= 50);  // a window is a window
    CHECK(d.raw_payloads <= 50);
    if (d.finished) break;
    cut.outbox_after = d.outbox_next;
    cut.raw_after = d.raw_next;
    cut.idempotency_after = d.idempotency_next;
  }
  CHECK(steps > 6);
  CHECK(all.outbox == 1);  // the closed complaint's older row; each keeps its newest
  CHECK(all.raw_payloads == kBulk + 1);
  CHECK(all.idempotency == kBulk + 2);
  CHECK(test::db_count(db, "SELECT count(*) FROM events") == events);
  CHECK(test::db_count(db, "SELECT count(*) FROM complaints") == complaints);
  CHECK(test::db_count(
            db, "SELECT count(*) FROM raw_payloads WHERE complaint_id = '" + open + "'") == 1);
  CHECK(test::db_count(
            db, "SELECT count(*) FROM raw_payloads WHERE complaint_id = '" + closed + "'") == 0);
  CHECK(test::db_count(db, "SELECT count(*) FROM outbox WHERE state = 'pending'") >= 1);
  CHECK(store.sync_state(closed) == "at_parent");
  CHECK(store.sync_state(open) == "at_parent");
  CHECK(store.sync_state(queued) == "queued");

  // A store made by this Simpul gives the freed pages back.
  const std::int64_t free_before = store.free_pages();
  CHECK(free_before > 0);
  std::int64_t returned = 0;
  for (std::int64_t n; (n = store.vacuum_step(1000)) > 0;) returned += n;
  CHECK(returned == free_before);
  CHECK(store.free_pages() == 0);
}

TEST_CASE("retention: a node runs its passes - simpul status and /metrics say what they did") {
  test::TempDir dir;
  Config cfg = test::test_config(dir);
  cfg.retention.interval_s = 1;
  TestNode node(cfg);
  REQUIRE(test::eventually([&] {
    return node.client().request("GET", "/metrics").body.find("simpul_retention_passes_total 0") ==
           std::string::npos;
  }));
  const std::string metrics = node.client().request("GET", "/metrics").body;
  CHECK(metrics.find("simpul_retention_deleted_total{what=\"raw_payloads\"} 0") !=
        std::string::npos);
  CHECK(metrics.find("simpul_store_free_pages ") != std::string::npos);
  REQUIRE(test::eventually([&] {
    return test::db_count(cfg.store.path,
                          "SELECT count(*) FROM cursors WHERE name = 'retention.last'") == 1;
  }));
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  std::string out;
  CHECK(run_simpul({"status", "--config", dir.file("node.json")}, &out) == 0);
  CHECK_MESSAGE(out.find("retention  last pass ") != std::string::npos, out);
}
