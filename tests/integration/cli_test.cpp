// The `simpul` binary's commands and exit codes: 0 ok, 1 runtime failure, 64 usage, 78 config.

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/json.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::run_simpul;

TEST_CASE("cli: check accepts a good config and the shipped examples") {
  test::TempDir dir;
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::string out;
  CHECK(run_simpul({"check", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find(": ok") != std::string::npos);
  setenv("SIMPUL_ADMIN_TOKEN", "x", 1);
  setenv("SIMPUL_UPSTREAM_TOKEN", "x", 1);
  setenv("SIMPUL_UPSTREAM_TOKEN_KEPRI", "x", 1);
  setenv("SIMPUL_UPSTREAM_TOKEN_BATAM", "x", 1);
  setenv("SIMPUL_UPSTREAM_TOKEN_BINTAN", "x", 1);
  setenv("SIMPUL_DEMO_APEKESAH_WEBHOOK", "demo-webhook-secret-0123456789", 1);
  setenv("APEKESAH_WEBHOOK_SECRET", "example-webhook-secret-0123456789", 1);
  setenv("APEKESAH_CALLBACK_SECRET", "example-callback-secret-0123456789", 1);
  setenv("SIMPUL_DEMO_APEKESAH_CALLBACK", "demo-callback-secret-0123456789", 1);
  setenv("SIMPUL_DEMO_LAPOR_SECRET", "demo-lapor-secret-0123456789", 1);
  setenv("EADUAN_DB_READER", "x", 1);
  setenv("EADUAN_DB_WRITER", "x", 1);
  setenv("SIMPUL_DEMO_EADUAN_READER", "x", 1);
  setenv("SIMPUL_DEMO_EADUAN_WRITER", "x", 1);
  // The shipped configs, copied with their layout: check wants each store's folder to exist
  // (the demo's demo-data/ beside config/, an installed node's /var/lib/simpul, here a folder of
  // the test's own).
  std::filesystem::copy(std::string(SIMPUL_SOURCE_DIR) + "/config", dir.file("config"),
                        std::filesystem::copy_options::recursive);
  std::filesystem::create_directory(dir.file("demo-data"));
  std::filesystem::create_directory(dir.file("var-lib-simpul"));
  for (const char* f : {"config/simpul.example.json", "config/examples/kabupaten-mariadb.json"}) {
    std::ifstream in(dir.file(f));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    for (auto at = text.find("/var/lib/simpul"); at != std::string::npos;
         at = text.find("/var/lib/simpul"))
      text.replace(at, 15, dir.file("var-lib-simpul"));
    std::ofstream(dir.file(f), std::ios::trunc) << text;
  }
  for (const char* f : {"config/demo/kota-batam.json", "config/demo/provinsi-kepri.json",
                        "config/demo/nasional.json", "config/demo/kab-bintan.json",
                        "config/examples/kabupaten-mariadb.json"}) {
    CHECK_MESSAGE(run_simpul({"check", "--config", dir.file(f)}, &out) == 0, out);
  }
  // The example names TLS files an operator supplies: check a copy with real ones beside it.
  std::filesystem::create_directory(dir.file("config/tls"));
  auto pki = test::make_test_pki(dir.file("config/tls"), "x", {"simpul.kepriprov.go.id"});
  std::filesystem::rename(pki.cert_file, dir.file("config/tls/fullchain.pem"));
  std::filesystem::rename(pki.key_file, dir.file("config/tls/key.pem"));
  std::filesystem::rename(pki.ca_file, dir.file("config/tls/kepri-ca.pem"));
  CHECK(run_simpul({"check", "--config", dir.file("config/simpul.example.json")}, &out) == 0);
  INFO(out);
  std::filesystem::remove(dir.file("config/tls/kepri-ca.pem"));
  CHECK(run_simpul({"check", "--config", dir.file("config/simpul.example.json")}, &out) == 78);
  CHECK(out.find("/upstream/ca_file") != std::string::npos);
}

TEST_CASE("cli: a bad config exits 78 naming the file - the pointer and the reason") {
  test::TempDir dir;
  auto text = test::config_json(dir);
  text.replace(text.find("\"kabkota\""), 9, "\"desa\"");
  std::ofstream(dir.file("bad.json")) << text;
  std::string out;
  CHECK(run_simpul({"check", "--config", dir.file("bad.json")}, &out) == 78);
  CHECK(out.find(dir.file("bad.json")) != std::string::npos);
  CHECK(out.find("/node/tier") != std::string::npos);
  CHECK(out.find("kabkota") != std::string::npos);  // the allowed values
  CHECK(run_simpul({"check", "--config", dir.file("missing.json")}, &out) == 78);
  unsetenv("SIMPUL_TEST_ADMIN");
  std::ofstream(dir.file("ok.json")) << test::config_json(dir);
  CHECK(run_simpul({"check", "--config", dir.file("ok.json")}, &out) == 78);
  CHECK(out.find("SIMPUL_TEST_ADMIN is not set") != std::string::npos);
}

namespace {
// `simpul check` of `text` (written to <dir>/node.json); what it said goes to `out`.
int check_config(const test::TempDir& dir, const std::string& text, std::string& out) {
  std::ofstream(dir.file("node.json"), std::ios::trunc) << text;
  out.clear();
  return run_simpul({"check", "--config", dir.file("node.json")}, &out);
}
}  // namespace

TEST_CASE(
    "cli: config mistakes in people's words - a typo names the key it meant - a zone as "
    "timedatectl shows it is accepted - a wrong one says what is - malformed JSON gives line and "
    "column") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  const std::string good = test::config_json(dir, "kab-bintan");
  std::string out;
  {
    std::string t = good;
    t.replace(t.find("\"timezone\": \"WIB\""), 17, "\"timezone\": \"Asia/Jakarta\"");
    CHECK_MESSAGE(check_config(dir, t, out) == 0, out);
    t.replace(t.find("Asia/Jakarta"), 12, "Asia/Makasar");
    CHECK(check_config(dir, t, out) == 78);
    CHECK(out.find("/node/timezone: expected WIB, WITA, WIT, Asia/Jakarta") != std::string::npos);
  }
  {
    std::string t = good;
    t.replace(t.find("\"listen\""), 8, "\"listn\"");
    CHECK(check_config(dir, t, out) == 78);
    CHECK(out.find("/http/listn: unknown field; did you mean \"listen\"?") != std::string::npos);
  }
  CHECK(check_config(dir,
                     "{\"node\": {\"id\": \"kab-bintan\",\n  \"tier\": \"kabkota\" \"region\": "
                     "\"21.02\"}}",
                     out) == 78);
  CHECK(out.find("malformed JSON at line 2, column 21") != std::string::npos);
}

TEST_CASE(
    "cli: check refuses a store folder that does not exist naming /store/path - an address "
    "not on this machine naming /http/listen - and says when the port is in use now") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  const std::string good = test::config_json(dir, "kab-bintan");
  std::string out;
  {
    std::string t = good;
    auto at = t.find(dir.path());
    REQUIRE(at != std::string::npos);
    t.replace(at, dir.path().size(), dir.file("belum-ada"));
    CHECK(check_config(dir, t, out) == 78);
    CHECK(out.find("/store/path: the folder " + dir.file("belum-ada") + " does not exist") !=
          std::string::npos);
  }
  {
    std::string t = test::config_json(dir, "kab-bintan", R"(, "allow_plain_http": true)");
    t.replace(t.find("127.0.0.1:0"), 11, "192.0.2.1:8080");  // TEST-NET-1: on no machine
    CHECK(check_config(dir, t, out) == 78);
    CHECK(out.find("/http/listen: cannot listen on 192.0.2.1:8080") != std::string::npos);
  }
  {
    // A port another process holds now: said, and left to serve (a running node holds its own).
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const std::string port = std::to_string(ntohs(a.sin_port));
    std::string t = good;
    t.replace(t.find("127.0.0.1:0"), 11, "127.0.0.1:" + port);
    CHECK(check_config(dir, t, out) == 0);
    CHECK(out.find("127.0.0.1:" + port + " is in use now") != std::string::npos);
    ::close(fd);
  }
}

TEST_CASE(
    "cli: usage errors exit 64 - an unknown command is named with the ones there are - --version") {
  std::string out;
  CHECK(run_simpul({}, &out) == 64);
  out.clear();
  CHECK(run_simpul({"frobnicate"}, &out) == 64);
  CHECK(out.find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(out.find("init, serve, check") != std::string::npos);
  CHECK(run_simpul({"serve", "--no-such-option"}, &out) == 64);
  CHECK(run_simpul({"--help"}, &out) == 0);
  out.clear();
  CHECK(run_simpul({"--version"}, &out) == 0);
  CHECK(out.rfind("simpul 0.", 0) == 0);
}

TEST_CASE("cli: token create - list and revoke - the secret is printed once and stored hashed") {
  test::TempDir dir;
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::string out;
  CHECK(run_simpul({"token", "create", "--config", dir.file("node.json"), "--name", "dashboard",
                    "--scopes", "read,pii"},
                   &out) == 0);
  auto tpos = out.find("token: ");
  REQUIRE(tpos != std::string::npos);
  std::string secret = out.substr(tpos + 7, out.find('\n', tpos) - tpos - 7);
  std::string id = out.substr(4, out.find('\n') - 4);
  CHECK(run_simpul({"token", "create", "--config", dir.file("node.json"), "--scopes", "root"},
                   &out) == 64);
  CHECK(run_simpul({"token", "list", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("dashboard") != std::string::npos);
  CHECK(out.find(secret) == std::string::npos);
  CHECK(run_simpul({"token", "revoke", "--config", dir.file("node.json"), id}, &out) == 0);
  CHECK(run_simpul({"token", "revoke", "--config", dir.file("node.json"), id}, &out) == 1);
  CHECK(run_simpul({"token", "list", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("revoked") != std::string::npos);
}

TEST_CASE("cli: db migrate and an online backup of a running node") {
  test::TempDir dir;
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  std::string out;
  CHECK(run_simpul({"db", "migrate", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("-> " + std::to_string(SqliteStore::latest_version())) != std::string::npos);
  test::ServeProcess serve(dir.file("node.json"), dir.file("ready"));
  http::Client c("127.0.0.1", serve.port());
  for (int i = 0; i < 10; ++i)
    REQUIRE(c.request("POST", "/v1/complaints", test::sample_complaint("C" + std::to_string(i)),
                      test::TestNode::auth())
                .status == 201);
  CHECK(run_simpul({"db", "backup", "--config", dir.file("node.json"), dir.file("backup.db")},
                   &out) == 0);
  SqliteStore copy(StoreOptions{dir.file("backup.db"), true, 5000, false});
  CHECK(copy.complaint_count() == 10);
  CHECK(serve.terminate() == 0);  // SIGTERM is a clean stop
}

namespace {
unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE_MESSAGE(::stat(path.c_str(), &st) == 0, path);
  return st.st_mode & 0777;
}
}  // namespace

TEST_CASE(
    "store files: the database - its WAL and shared memory - and a backup are 0600 whatever "
    "the umask - a store left readable by others is tightened at start") {
  const mode_t old_umask = umask(022);
  test::TempDir dir;
  const Config cfg = test::node_config(dir, "node", "");  // also written to node.json
  {
    test::TestNode node(cfg);
    REQUIRE(
        node.client()
            .request("POST", "/v1/complaints", test::sample_complaint("M1"), test::TestNode::auth())
            .status == 201);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      CAPTURE(suffix);
      CHECK(mode_of(cfg.store.path + suffix) == 0600);
    }
    std::string out;
    REQUIRE(run_simpul({"db", "backup", "--config", dir.file("node.json"), dir.file("copy.db")},
                       &out) == 0);
    CHECK(mode_of(dir.file("copy.db")) == 0600);
  }
  // A store an older version left 0644: the next start makes it 0600.
  ::chmod(cfg.store.path.c_str(), 0644);
  {
    test::TestNode node(cfg);
    CHECK(mode_of(cfg.store.path) == 0600);
  }
  umask(old_umask);
}

TEST_CASE(
    "cli: status shows the upstream queue and lag - dlq lists - retries and drops dead letters") {
  test::TempDir dir;
  std::string text = test::config_json(dir, "kota-batam");
  // A parent that is not running: everything stays queued.
  text.replace(
      text.find("\"log\""), 0,
      R"("upstream": {"url": "http://127.0.0.1:9", "node": "provinsi-kepri", "credential": "env:SIMPUL_TEST_UPSTREAM", "timeout_ms": 200},)");
  std::ofstream(dir.file("node.json")) << text;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  setenv("SIMPUL_TEST_UPSTREAM", "spl.x.y", 1);
  {
    test::ServeProcess serve(dir.file("node.json"), dir.file("ready"));
    http::Client c("127.0.0.1", serve.port());
    for (int i = 0; i < 3; ++i)
      REQUIRE(c.request("POST", "/v1/complaints", test::sample_complaint("S" + std::to_string(i)),
                        test::TestNode::auth())
                  .status == 201);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // let the link fail a few times
  }
  std::string out;
  REQUIRE(run_simpul({"status", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("complaints 3, events 3") != std::string::npos);
  CHECK(out.find("upstream provinsi-kepri") != std::string::npos);
  CHECK(out.find("queue      3 pending") != std::string::npos);
  CHECK(out.find("last error connection") != std::string::npos);
  CHECK(out.find("breaker    unknown (node not reachable)") != std::string::npos);

  // Make one event a dead letter, as the relay does when the parent rejects it.
  {
    SqliteStore s(test::keyed_store(dir.file("kota-batam.db")));
    s.begin();
    auto due = s.due_outbox("upstream", system_now_ms() + 3'600'000, 1);
    REQUIRE(due.size() == 1);
    s.outbox_dead(due[0].id, "upstream",
                  "the complaint was neither created by nor routed to kota-batam", 1);
    s.commit();
  }
  REQUIRE(run_simpul({"dlq", "list", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("neither created by nor routed to") != std::string::npos);
  REQUIRE(run_simpul({"status", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("queue      2 pending") != std::string::npos);
  CHECK(out.find("dead       1") != std::string::npos);
  std::string id = "1";
  CHECK(run_simpul({"dlq", "retry", "--config", dir.file("node.json"), id}, &out) == 0);
  CHECK(run_simpul({"dlq", "retry", "--config", dir.file("node.json"), id}, &out) == 1);  // gone
  REQUIRE(run_simpul({"status", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("queue      3 pending") != std::string::npos);
  CHECK(out.find("dead       0") != std::string::npos);
  CHECK(run_simpul({"dlq", "drop", "--config", dir.file("node.json"), "42"}, &out) == 1);
  REQUIRE(run_simpul({"dlq", "list", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("no dead letters") != std::string::npos);
}

TEST_CASE(
    "cli: link attaches a hub tracking id by hand - and refuses one already linked elsewhere") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  auto cfg = test::node_config(dir, "kota-batam", "");
  std::string a, b;
  {
    test::TestNode node(cfg);
    auto c = node.client();
    for (auto* id : {&a, &b}) {
      auto r =
          c.request("POST", "/v1/complaints", test::sample_complaint(), test::TestNode::auth());
      REQUIRE(r.status == 201);
      *id = json::get_string(*json::parse(r.body), "id");
    }
  }
  std::string out;
  CHECK(run_simpul({"link", "--config", cfg.file, a, "lapor:4000123"}, &out) == 0);
  CHECK(out.find("linked lapor:4000123 to " + a) != std::string::npos);
  CHECK(run_simpul({"link", "--config", cfg.file, a, "lapor:4000123"}, &out) == 0);
  CHECK(out.find("already linked") != std::string::npos);
  CHECK(run_simpul({"link", "--config", cfg.file, b, "lapor:4000123"}, &out) == 1);
  CHECK(out.find("lapor:4000123 is already linked to complaint " + a) != std::string::npos);
  CHECK(run_simpul({"link", "--config", cfg.file, b, "lapor:12ab"}, &out) == 64);
  CHECK(run_simpul({"link", "--config", cfg.file, "no-such-complaint", "lapor:5"}, &out) == 1);
  CHECK(test::db_count(cfg.store.path, "SELECT count(*) FROM refs WHERE system = 'lapor'") == 1);
  CHECK(test::db_count(cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'linked'") == 1);
}

TEST_CASE(
    "cli: link keeps the deadlines in the stored projection - it folds with the node's calendar") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  auto cfg = test::node_config(dir, "kota-batam", "");
  std::string id;
  {
    test::TestNode node(cfg);
    auto r = node.client().request("POST", "/v1/complaints", test::sample_complaint(),
                                   test::TestNode::auth());
    REQUIRE(r.status == 201);
    id = json::get_string(*json::parse(r.body), "id");
  }
  const std::string due_sql = "SELECT verify_due FROM complaints WHERE id = '" + id + "'";
  const auto due = test::db_count(cfg.store.path, due_sql);
  REQUIRE(due > 0);
  std::string out;
  REQUIRE(run_simpul({"link", "--config", cfg.file, id, "lapor:4000321"}, &out) == 0);
  CHECK(test::db_count(cfg.store.path, due_sql) == due);
}

TEST_CASE("cli: dlq retry of an inbound dead letter exits 1 saying why - the letter stays") {
  test::TempDir dir;
  std::ofstream(dir.file("node.json")) << test::config_json(dir);
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::string out;
  REQUIRE(run_simpul({"db", "migrate", "--config", dir.file("node.json")}, &out) == 0);
  auto cfg = parse_config(test::config_json(dir), dir.file("node.json"), dir.path());
  {
    SqliteStore s(test::keyed_store(cfg.store.path));
    s.begin();
    s.inbound_dead_letter("connector:apekesah", "record 77: /judul: missing required field", 1);
    s.commit();
  }
  CHECK(run_simpul({"dlq", "retry", "--config", dir.file("node.json"), "1"}, &out) == 1);
  CHECK(out.find("nothing to requeue") != std::string::npos);
  CHECK(out.find("requeued") == std::string::npos);
  REQUIRE(run_simpul({"dlq", "list", "--config", dir.file("node.json")}, &out) == 0);
  CHECK(out.find("record 77") != std::string::npos);
  CHECK(run_simpul({"dlq", "drop", "--config", dir.file("node.json"), "1"}, &out) == 0);
}

TEST_CASE("cli: calendar check passes the shipped calendar and names what a bad one lacks") {
  std::string out;
  const std::string shipped = std::string(SIMPUL_SOURCE_DIR) + "/config/calendars/id.json";
  CHECK(run_simpul({"calendar", "check", shipped}, &out) == 0);
  CHECK_MESSAGE(out.find("2025: 11 cuti_bersama 17 libur_nasional") != std::string::npos, out);
  CHECK(out.find("2026: 8 cuti_bersama 17 libur_nasional") != std::string::npos);
  test::TempDir dir;
  std::ofstream(dir.file("old.json"))
      << R"({"holidays": [{"date": "2026-12-25", "name": "Natal"}]})";
  CHECK(run_simpul({"calendar", "check", dir.file("old.json")}, &out) == 78);
  CHECK(out.find("/holidays/0/source") != std::string::npos);
  CHECK(out.find("/version") != std::string::npos);
}

TEST_CASE(
    "cli: calendar diff shows the days two calendars differ by - and the open due dates a "
    "node's store would move") {
  test::TempDir dir;
  std::ofstream(dir.file("r1.json")) << R"({"version": "r1", "days": []})";
  std::ofstream(dir.file("r2.json")) << R"({"version": "r2", "days": [
      {"date": "2026-12-03", "name": "Hari Jadi Batam", "kind": "libur_daerah",
       "scope": "kabkota", "region": "21.71", "source": "Perwako"}]})";
  Config cfg = test::node_config(dir, "kota-batam", "");
  std::string id;
  {
    test::TestNode node(cfg, [] { return *parse_timestamp("2026-12-01T10:00:00+07:00", Zone{}); });
    auto c = node.client();
    auto r = c.request("POST", "/v1/complaints", test::sample_complaint("Jalan"),
                       test::TestNode::auth());
    REQUIRE(r.status == 201);
    id = json::get_string(*json::parse(r.body), "id");
  }
  std::string out;
  CHECK(run_simpul({"calendar", "diff", dir.file("r1.json"), dir.file("r2.json")}, &out) == 0);
  CHECK(out.find("+ 2026-12-03  libur_daerah  Hari Jadi Batam") != std::string::npos);
  CHECK(out.find("1 day(s) differ") != std::string::npos);
  CHECK(run_simpul({"calendar", "diff", dir.file("r1.json"), dir.file("r2.json"), "--config",
                    dir.file("kota-batam.json")},
                   &out) == 0);
  INFO(out);
  CHECK(out.find(id + " verify    2026-12-04 23:59 WIB -> 2026-12-07 23:59 WIB") !=
        std::string::npos);
  CHECK(out.find("1 open due date(s) of 1 complaint(s) would move") != std::string::npos);
}

TEST_CASE(
    "cli: token create --agency binds the token - an agency outside the reference or on a "
    "node credential is refused") {
  test::TempDir dir;
  std::ofstream(dir.file("agencies.json")) << R"([{"id": "dinas-pu-batam"}])";
  test::node_config(dir, "kota-batam", R"("reference": {"agencies": "agencies.json"},)");
  const std::string conf = dir.file("kota-batam.json");
  std::string out;
  CHECK(run_simpul({"token", "create", "--config", conf, "--name", "pu", "--scopes", "read,act",
                    "--agency", "dinas-pu-batam"},
                   &out) == 0);
  CHECK(out.find("agencies: dinas-pu-batam") != std::string::npos);
  CHECK(run_simpul(
            {"token", "create", "--config", conf, "--scopes", "read", "--agency", "dinas-pu-btam"},
            &out) == 64);
  CHECK(out.find("dinas-pu-btam") != std::string::npos);
  CHECK(run_simpul({"token", "create", "--config", conf, "--scopes", "admin", "--agency",
                    "dinas-pu-batam"},
                   &out) == 64);
  CHECK(run_simpul({"token", "list", "--config", conf}, &out) == 0);
  CHECK(out.find("dinas-pu-batam") != std::string::npos);
  // Without a reference any id is taken, and the audit line stays JSON whatever it holds.
  test::TempDir open;
  test::node_config(open, "kota-batam", "");
  CHECK(run_simpul({"token", "create", "--config", open.file("kota-batam.json"), "--scopes", "read",
                    "--agency", "dinas\"pu"},
                   &out) == 0);
  Config ocfg = test::node_config(open, "kota-batam", "");
  CHECK(test::db_count(ocfg.store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'token.create'") == 1);
  CHECK(test::db_count(ocfg.store.path,
                       "SELECT count(*) FROM audit_log WHERE json_valid(detail_json) = 0") == 0);
}

TEST_CASE(
    "cli: check refuses an sql_write statement with an unknown placeholder - without "
    "connecting to the database") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  setenv("EADUAN_DB_WRITER", "x", 1);
  std::string text = test::config_json(dir, "kab-bintan");
  const std::string mapping =
      std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/eaduan-mariadb.json";
  // A host nothing listens on: check never connects.
  text.replace(text.find("\"log\""), 0,
               R"("connectors": [{"id": "balik", "type": "sql_write", "mapping": ")" + mapping +
                   R"(", "settings": {"driver": "mariadb", "host": "192.0.2.1", "database": "x",
      "user": "u", "password": "env:EADUAN_DB_WRITER",
      "statements": ["UPDATE aduan SET status = :app_statu WHERE id = :source_id"]}}],)");
  std::ofstream(dir.file("node.json")) << text;
  std::string out;
  CHECK(run_simpul({"check", "--config", dir.file("node.json")}, &out) == 78);
  CHECK(out.find("/connectors/0/settings/statements/0") != std::string::npos);
  CHECK(out.find(":app_statu") != std::string::npos);
}

TEST_CASE(
    "cli: check refuses an sql_poll query that carries a placeholder - Simpul adds the "
    "cursor's conditions itself") {
  test::TempDir dir;
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  setenv("EADUAN_DB_READER", "x", 1);
  std::string text = test::config_json(dir, "kab-bintan");
  const std::string mapping =
      std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/eaduan-mariadb.json";
  text.replace(text.find("\"log\""), 0,
               R"("connectors": [{"id": "baca", "type": "sql_poll", "mapping": ")" + mapping +
                   R"(", "settings": {"driver": "mariadb", "host": "192.0.2.1", "database": "x",
      "user": "u", "password": "env:EADUAN_DB_READER", "key": "id", "updated": "diperbarui",
      "query": "SELECT * FROM aduan WHERE diperbarui > :since"}}],)");
  std::ofstream(dir.file("node.json")) << text;
  std::string out;
  CHECK(run_simpul({"check", "--config", dir.file("node.json")}, &out) == 78);
  CHECK(out.find("/connectors/0/settings/query") != std::string::npos);
  CHECK(out.find(":since") != std::string::npos);
}

TEST_CASE(
    "cli: the sample Ape Kesah export imports as its config says - 23 stored - 2 rejected with "
    "their Ape Kesah ids - a rerun stores nothing twice") {
  test::TempDir dir;
  const std::string src = std::string(SIMPUL_SOURCE_DIR) + "/config/demo/";
  // The trial config with its store in this test's folder.
  std::ifstream in(src + "import-try.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("../../demo-data/import-try.db"), 29, dir.file("try.db"));
  text.replace(text.find("../mappings/apekesah.json"), 25,
               std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json");
  std::ofstream(dir.file("import-try.json")) << text;
  std::filesystem::copy_file(src + "apekesah-export.csv", dir.file("apekesah-export.csv"));
  setenv("SIMPUL_ADMIN_TOKEN", "try", 1);
  std::string out;
  REQUIRE_MESSAGE(run_simpul({"import", "--config", dir.file("import-try.json"), "--connector",
                              "apekesah-arsip", dir.file("apekesah-export.csv")},
                             &out) == 0,
                  out);
  CHECK_MESSAGE(
      out.find("25 rows, 23 created, 0 updated, 0 unchanged, 2 rejected") != std::string::npos,
      out);
  std::ifstream rejects(dir.file("apekesah-export.csv.rejects.csv"));
  std::string all((std::istreambuf_iterator<char>(rejects)), std::istreambuf_iterator<char>());
  CHECK(all.find("AK-2024-1009") != std::string::npos);
  CHECK(all.find("AK-2024-1017") != std::string::npos);
  REQUIRE(run_simpul({"import", "--config", dir.file("import-try.json"), "--connector",
                      "apekesah-arsip", "--restart", dir.file("apekesah-export.csv")},
                     &out) == 0);
  CHECK_MESSAGE(out.find("0 created, 0 updated, 23 unchanged, 2 rejected") != std::string::npos,
                out);
}
