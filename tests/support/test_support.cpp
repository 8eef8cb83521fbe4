#include "support/test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "node/uplinks.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace simpul::test {

const char* const kAdminToken = "test-admin-token-0123456789";

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "simpul-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string config_json(const TempDir& dir, const std::string& node_id,
                        const std::string& extra_http) {
  return R"({
    // test node
    "node": {"id": ")" +
         node_id + R"(", "name": "Test", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
    "store": {"path": ")" +
         dir.file(node_id + ".db") + R"("},
    "http": {"listen": "127.0.0.1:0")" +
         extra_http + R"(},
    "auth": {"admin_token": "env:SIMPUL_TEST_ADMIN"},
    "log": {"level": "warn"}
  })";
}

Config test_config(const TempDir& dir, const std::string& node_id) {
  setenv("SIMPUL_TEST_ADMIN", kAdminToken, 1);
  return parse_node_config(config_json(dir, node_id), dir.file("config.json"), dir.path());
}

Config node_config(const TempDir& dir, const std::string& node_id, const std::string& extra) {
  setenv("SIMPUL_TEST_ADMIN", kAdminToken, 1);
  std::string text = config_json(dir, node_id);
  text.replace(text.find("\"log\""), 0, extra);
  std::ofstream(dir.file(node_id + ".json")) << text;  // for CLI commands run against it
  return parse_node_config(text, dir.file(node_id + ".json"), dir.path());
}

RawDb::RawDb(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);  // SQLite hands back a handle even when the open fails
    db = nullptr;
    throw std::runtime_error("cannot open test database " + path);
  }
  sqlite3_busy_timeout(db, 5000);
}

RawDb::~RawDb() { sqlite3_close(db); }

Config province_config(const TempDir& dir) {
  setenv("SIMPUL_TEST_ADMIN", kAdminToken, 1);
  std::string text = config_json(dir, "provinsi-kepri");
  text.replace(text.find("\"log\""), 0, R"("children": [{"id": "kota-batam", "regions": ["21.71"]}],
    )");
  text.replace(text.find("\"tier\": \"kabkota\""), 17, "\"tier\": \"provinsi\"");
  text.replace(text.find("\"region\": \"21.71\""), 17, "\"region\": \"21\"");
  return parse_node_config(text, dir.file("province.json"), dir.path());
}

std::string upstream_member(const TestNode& parent, const std::string& settings) {
  {
    SqliteStore s(StoreOptions{parent.config().store.path, true, 5000, false});
    setenv("SIMPUL_TEST_UPSTREAM", s.create_token("batam", "node", "kota-batam", 1).secret.c_str(),
           1);
  }
  return R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(parent.port()) +
         R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_TEST_UPSTREAM", "poll_wait_s": 1)" +
         settings + "},";
}

std::int64_t db_count(const std::string& db, const std::string& sql) {
  RawDb raw(db);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(raw.db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    sqlite3_finalize(st);
    throw std::runtime_error("bad test query: " + sql);
  }
  sqlite3_step(st);
  auto v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

void db_exec(const std::string& db, const std::string& sql) {
  RawDb raw(db);
  char* err = nullptr;
  if (sqlite3_exec(raw.db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string what = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error("test statement failed: " + sql + ": " + what);
  }
}

std::shared_ptr<const crypto::SealKeys> store_keys_of(const std::string& db) {
  // A test node's store is <dir>/<node id>.db and its default key <dir>/<node id>.store-key.
  std::filesystem::path p(db);
  std::ifstream in(p.parent_path() / (p.stem().string() + ".store-key"));
  if (!in) return nullptr;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::make_shared<crypto::SealKeys>(crypto::parse_seal_key(text));
}

StoreOptions keyed_store(const std::string& db) {
  StoreOptions o{db, true, 5000, false};
  o.seal_keys = store_keys_of(db);
  return o;
}

std::vector<Event> stored_events(const std::string& db) {
  StoreOptions o = keyed_store(db);
  o.create = false;
  SqliteStore store(o);
  std::vector<Event> out;
  for (std::int64_t after = 0;;) {
    auto page = store.events_after(after, 1000);
    if (page.empty()) return out;
    after = page.back().seq;
    for (auto& se : page) out.push_back(std::move(se.event));
  }
}

bool store_holds(const std::string& db, const std::string& needle) {
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(db + suffix, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.find(needle) != std::string::npos) return true;
  }
  for (const auto& e : stored_events(db))
    if (e.payload.find(needle) != std::string::npos ||
        e.actor.name.find(needle) != std::string::npos)
      return true;
  return false;
}

bool eventually(const std::function<bool()>& pred, int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TestNode::TestNode(Config cfg) : node_(std::make_unique<Node>(std::move(cfg))) {
  node_->start_background();
}

TestNode::TestNode(Config cfg, std::function<TimeMs()> clock)
    : node_(std::make_unique<Node>(std::move(cfg), std::move(clock))) {
  node_->start_background();
}

TestNode::~TestNode() { node_->stop(); }

http::Client TestNode::client(int timeout_ms) const {
  return http::Client("127.0.0.1", port(), timeout_ms);
}

std::vector<http::Header> TestNode::auth(const std::string& token) {
  return {{"authorization", "Bearer " + token}};
}

ServeProcess::ServeProcess(const std::string& config_file, const std::string& ready_file,
                           const std::string& log_file, const std::string& netns) {
  std::filesystem::remove(ready_file);
  setenv("SIMPUL_TEST_ADMIN", kAdminToken, 1);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int out = log_file.empty() ? open("/dev/null", O_WRONLY)
                               : open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(out, 1);
    dup2(out, 2);
    if (!netns.empty()) {
      int ns = open(("/var/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(126);
    }
    execl(SIMPUL_BINARY, "simpul", "serve", "--config", config_file.c_str(), "--ready-file",
          ready_file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(ready_file);
    int port = 0;
    if (in >> port && port > 0) {
      port_ = static_cast<std::uint16_t>(port);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("simpul serve exited during start-up");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill9();
  throw std::runtime_error("simpul serve did not become ready");
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) kill9();
}

void ServeProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void ServeProcess::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int ServeProcess::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("bind failed");
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

int run_simpul(const std::vector<std::string>& args, std::string* output,
               const std::string* input) {
  int fds[2], in_fds[2] = {-1, -1};
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  if (input && pipe(in_fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    int in = input ? in_fds[0] : open("/dev/null", O_RDONLY);
    dup2(in, 0);
    if (input) close(in_fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("simpul"));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(SIMPUL_BINARY, argv.data());
    _exit(127);
  }
  close(fds[1]);
  if (input) {
    close(in_fds[0]);
    // Small answers: they fit the pipe's buffer, so writing before reading cannot block.
    (void)!write(in_fds[1], input->data(), input->size());
    close(in_fds[1]);
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string sample_complaint(const std::string& title, const std::string& extra) {
  return R"({"type":"pengaduan","title":")" + title +
         R"(","body":"Lubang di jalan sudah dua minggu.","channel":"app","reporter":{"name":"CANARY-NAME-7731","phone":"081270001234","nik":"2171010101900001"})" +
         extra + "}";
}

}  // namespace simpul::test
