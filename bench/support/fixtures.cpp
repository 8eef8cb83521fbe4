#include "support/fixtures.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace simpul::bench {

std::string complaint_body(long n) {
  return R"({"refs":[{"system":"bench","id":")" + std::to_string(n) +
         R"("}],"type":"pengaduan","title":"Jalan berlubang nomor )" + std::to_string(n) +
         R"(","body":"Lubang besar di depan halte sudah dua minggu, membahayakan pengendara motor yang lewat setiap pagi.","category":{"local":"jalan"},"agency":"dinas-pu-batam","location":{"text":"Jl. Ahmad Yani, Batam Kota","lat":1.1301,"lon":104.0529},"incident_at":"2026-11-18 07:30","channel":"app","reporter":{"name":"Siti Rahma","phone":"0812-7000-1234"}})";
}

IngestRequest ingest_request(long n, const NormalizeOptions& nopt, const std::string& origin,
                             const std::string& key_prefix) {
  IngestRequest r;
  r.raw_body = complaint_body(n);
  r.complaint = *read_complaint(r.raw_body, nopt);
  r.idem_scope = "admin";
  r.idem_key = key_prefix + std::to_string(n);
  r.origin = origin;
  r.now = nopt.now;
  return r;
}

double ServeChild::start(const std::string& simpul, const std::string& config,
                         const std::string& ready) {
  using Clock = std::chrono::steady_clock;
  std::filesystem::remove(ready);
  auto t0 = Clock::now();
  pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execl(simpul.c_str(), "simpul", "serve", "--config", config.c_str(), "--ready-file",
          ready.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  while (seconds() < 300) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      throw std::runtime_error("simpul serve --config " + config + " exited during start-up");
    }
    std::ifstream in(ready);
    int p = 0;
    if (in >> p && p > 0) {
      port = static_cast<std::uint16_t>(p);
      return seconds();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop();
  throw std::runtime_error("simpul serve --config " + config + " did not get ready");
}

long ServeChild::stop() {
  if (pid <= 0) return 0;
  kill(pid, SIGTERM);
  rusage ru{};
  wait4(pid, nullptr, 0, &ru);
  pid = -1;
  return ru.ru_maxrss;
}

double run_import(const std::string& simpul, const std::string& config,
                  const std::string& connector, const std::string& csv, long& peak_kib) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    execl(simpul.c_str(), "simpul", "import", "--config", config.c_str(), "--connector",
          connector.c_str(), csv.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("simpul import failed");
  peak_kib = ru.ru_maxrss;
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_cli(const std::string& simpul, const std::vector<std::string>& args, std::string* out) {
  std::string cmd = simpul;
  for (const auto& a : args) cmd += " '" + a + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  return pclose(p);
}

LedgerRules leaf_rules() {
  LedgerRules rules;
  rules.self = "kota-batam";
  rules.upstream = "provinsi-kepri";
  return rules;
}

std::int64_t sqlite_scalar(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_busy_timeout(h, 10'000);
  sqlite3_stmt* st = nullptr;
  std::int64_t v = -1;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

}  // namespace simpul::bench
