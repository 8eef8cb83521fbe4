#pragma once
// Test support: temporary directories, a real node on 127.0.0.1:0 with a temp database, and a
// `simpul serve` child process that can be SIGKILLed. Hermetic: no fixed ports, no shared files.

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "http/client.hpp"
#include "node/node.hpp"
#include "store/sqlite/sqlite_store.hpp"

struct sqlite3;

namespace simpul::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A config for a test node in `dir`: store in dir, port 0, admin token from SIMPUL_TEST_ADMIN.
Config test_config(const TempDir& dir, const std::string& node_id = "test-node");
std::string config_json(const TempDir& dir, const std::string& node_id = "test-node",
                        const std::string& extra_http = "");
extern const char* const kAdminToken;

// test_config's text with `extra` members inserted at the top level (e.g. "upstream": {...},),
// also written to <dir>/<node_id>.json.
Config node_config(const TempDir& dir, const std::string& node_id, const std::string& extra);

// The database file opened as any SQLite client would, beside the node's own connections: what
// a test reads or breaks there, it reads or breaks in the file, never through the store's code.
struct RawDb {
  explicit RawDb(const std::string& path);
  ~RawDb();
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  sqlite3* db = nullptr;
};

// provinsi-kepri (region 21) with one child, kota-batam (region 21.71), admin token from
// SIMPUL_TEST_ADMIN (set here).
Config province_config(const TempDir& dir);

// The first column of the first row of `sql` run against the database at `db`.
std::int64_t db_count(const std::string& db, const std::string& sql);
// Runs `sql` against the database file at `db` (a test breaking the store under a running node).
void db_exec(const std::string& db, const std::string& sql);

// The keys a test node made for its store at `db` (<dir>/<node id>.store-key; null when none),
// and the options to open that store beside a test's node: with those keys, not migrated.
std::shared_ptr<const crypto::SealKeys> store_keys_of(const std::string& db);
StoreOptions keyed_store(const std::string& db);

// Every event the store at `db` holds, in log order, read through the store (payloads as the
// node gives them back: on disk they are packed, so the file's bytes alone say nothing).
std::vector<Event> stored_events(const std::string& db);
// Whether `needle` is anywhere the store at `db` keeps it: in the bytes of its file and WAL, or
// in any event's payload or actor read back through the store. A privacy test asks this, never
// a byte search of the file alone.
bool store_holds(const std::string& db, const std::string& needle);

// Polls `pred` every 50 ms until it holds (true) or `seconds` pass (false).
bool eventually(const std::function<bool()>& pred, int seconds = 30);

// A node running on a background thread.
class TestNode {
 public:
  explicit TestNode(Config cfg);
  // With its own clock (an SLA test moves time on).
  TestNode(Config cfg, std::function<TimeMs()> clock);
  ~TestNode();
  std::uint16_t port() const { return node_->port(); }
  std::vector<std::pair<std::string, std::string>> routes() const { return node_->routes(); }
  http::Client client(int timeout_ms = 10'000) const;
  const Config& config() const { return node_->config(); }
  // Bearer header for the bootstrap admin token, or for `token`.
  static std::vector<http::Header> auth(const std::string& token = kAdminToken);

 private:
  std::unique_ptr<Node> node_;
};

// The `"upstream": {...},` member of kota-batam's config under `parent` (a province_config
// node): a node token the parent issues now, passed in SIMPUL_TEST_UPSTREAM (set here), and
// `poll_wait_s` 1. `settings` adds members to the block (`, "timeout_ms": 1000`).
std::string upstream_member(const TestNode& parent, const std::string& settings = "");

// `simpul serve --config FILE` as a child process.
class ServeProcess {
 public:
  // stdout (the JSON log) goes to `log_file`, or nowhere when empty. `netns`: the name of a
  // network namespace (ip netns) to run it in; the caller has checked it can.
  explicit ServeProcess(const std::string& config_file, const std::string& ready_file,
                        const std::string& log_file = "", const std::string& netns = "");
  ~ServeProcess();
  std::uint16_t port() const { return port_; }
  void kill9();          // SIGKILL and reap
  int terminate();       // SIGTERM, reap, return exit status
  void signal(int sig);  // sends `sig` (SIGHUP: reload), nothing more
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// A TCP port on 127.0.0.1 that was free a moment ago (for nodes that must keep their port
// across restarts).
std::uint16_t free_port();

// Runs `simpul ARGS...`, capturing stdout+stderr. Returns the exit code. Its stdin is `input`
// (a pipe), or /dev/null when none is given: a command that would ask never waits for a person.
int run_simpul(const std::vector<std::string>& args, std::string* output = nullptr,
               const std::string* input = nullptr);

std::string sample_complaint(const std::string& title = "Jalan rusak di Batam Kota",
                             const std::string& extra = "");

}  // namespace simpul::test
