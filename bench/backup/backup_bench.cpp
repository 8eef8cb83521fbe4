// bench/backup: `simpul db backup` of a running node's store, idle and while six writers post
// complaints as fast as the node answers them.
//
//   prefill   complaints written straight through Store::ingest until the store holds about
//             --mb megabytes with its WAL (default 235: past the 219 MB store that never finished)
//   idle      `simpul db backup` with the node serving nothing: the reference
//   loaded    the same while 6 keep-alive connections POST /v1/complaints in a closed loop;
//             the ingest rate during the backup is set against the rate just before it
//
// Prints the figures and records them for BENCHMARKS.md (bench/support/report.hpp).

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "ledger/ledger.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/fixtures.hpp"
#include "support/http_load.hpp"
#include "support/report.hpp"

namespace b = simpul::bench;
using Clock = std::chrono::steady_clock;

namespace {

const char* kAdmin = "bench-admin-token-0123456789";

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Runs `simpul db backup` and returns its wall time in seconds (throws when it fails).
double backup(const std::string& simpul, const std::string& config, const std::string& dest) {
  std::filesystem::remove(dest);
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl(simpul.c_str(), "simpul", "db", "backup", "--config", config.c_str(), dest.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  double s = seconds_since(t0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("simpul db backup failed");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  b::set_command(argc, argv);
  std::string simpul = "build/simpul", dir_base = std::filesystem::temp_directory_path().string();
  double target_mb = 235;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--simpul")
      simpul = v;
    else if (k == "--mb")
      target_mb = std::stod(v);
    else if (k == "--dir")
      dir_base = v;
    else {
      std::fprintf(stderr, "usage: backup_bench [--simpul PATH] [--mb MB] [--dir DIR]\n");
      return 64;
    }
  }
  const std::string dir = dir_base + "/simpul-backup-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/node.db", config = dir + "/node.json", ready = dir + "/ready";
  setenv("SIMPUL_BENCH_ADMIN", kAdmin, 1);
  std::printf("bench/backup: a store of about %.0f MB, %u cores, data in %s\n", target_mb,
              std::thread::hardware_concurrency(), dir.c_str());

  long stored = 0;
  {
    simpul::SqliteStore store(simpul::StoreOptions{db, false, 5000, true});
    simpul::Ledger ledger(store, simpul::LedgerRules{});
    simpul::NormalizeOptions nopt{simpul::Zone{}, "21.71", simpul::system_now_ms()};
    while (std::filesystem::file_size(db) + (std::filesystem::exists(db + "-wal")
                                                 ? std::filesystem::file_size(db + "-wal")
                                                 : 0) <
           target_mb * 1e6) {
      store.begin();
      for (int i = 0; i < 2000; ++i, ++stored)
        ledger.ingest(b::ingest_request(stored, nopt, "kota-batam", "prefill-"));
      store.commit();
    }
    // Closing the last connection checkpoints the WAL into the database file.
  }
  const double mb = static_cast<double>(std::filesystem::file_size(db)) / 1e6;
  std::printf("  prefill: %ld complaints, %.1f MB\n", stored, mb);

  std::ofstream(config)
      << R"({"node": {"id": "kota-batam", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
    "store": {"path": ")"
      << db << R"("}, "http": {"listen": "127.0.0.1:0"},
    "auth": {"admin_token": "env:SIMPUL_BENCH_ADMIN"}, "log": {"level": "error"}})";
  b::ServeChild node;
  node.start(simpul, config, ready);

  const double idle_s = backup(simpul, config, dir + "/idle.db");
  std::printf("  idle:   backup %.2f s (%.0f MB/s)\n", idle_s, mb / idle_s);

  // Six writers: first alone (the rate the node gives them), then with the backup running.
  auto spec = [&](double seconds, long first) {
    b::LoadSpec s;
    s.port = node.port;
    s.token = kAdmin;
    s.connections = 6;
    s.seconds = seconds;
    s.first_id = first;
    s.body = [](long n) { return b::complaint_body(n); };
    return s;
  };
  b::LoadRun alone = b::http_load(spec(5, 10'000'000));
  std::printf("  6 writers alone: %.0f complaints/s\n", alone.rate());
  auto load = std::async(std::launch::async,
                         [&] { return b::http_load(spec(idle_s * 4 + 10, 20'000'000)); });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double loaded_s = backup(simpul, config, dir + "/loaded.db");
  b::LoadRun during = load.get();
  const long in_backup = b::sqlite_scalar(dir + "/loaded.db", "SELECT count(*) FROM complaints");
  std::printf(
      "  loaded: backup %.2f s while 6 writers stored %.0f complaints/s (%ld failed); the copy "
      "holds %ld complaints\n",
      loaded_s, during.rate(), during.failed, in_backup);
  node.stop();

  b::record("backup", "backup of the store under 6 writers", loaded_s, "s", "the same backup idle",
            idle_s, "finishes (< 60 s) while the node serves",
            std::to_string(static_cast<long>(mb)) + " MB store");
  b::record("backup", "ingest by 6 writers during the backup", during.rate(), "/s",
            "6 writers without a backup", alone.rate(), "", "");
  std::filesystem::remove_all(dir);
  return in_backup >= stored && during.failed == 0 ? 0 : 1;
}
