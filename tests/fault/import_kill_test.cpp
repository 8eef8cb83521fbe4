// Migration under a crash: a generated 100,000-row Ape Kesah export with 1% bad rows is imported
// by a `simpul import` process that is SIGKILLed mid-way; the rerun resumes from the last
// checkpoint. Afterwards every good row is stored exactly once (complaint, ref and history),
// exactly the bad rows are in the rejects file, and the database is intact.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;

namespace {

const char* kStatuses[] = {"Submitted",  "Proses", "Pending-catatan open", "Pending-catatan closed",
                           "Dibatalkan", "Selesai"};
const int kEventsFor[] = {2, 3, 4, 4, 2, 4};  // created + the status path of each

pid_t spawn_import(const std::string& config, const std::string& file) {
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(SIMPUL_BINARY, "simpul", "import", "--config", config.c_str(), "--connector", "arsip",
          file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE(
    "import: a 100 000-row export killed mid-way and rerun stores every good row exactly once") {
  // 100 000 by default; the sanitizer targets set fewer (SIMPUL_IMPORT_ROWS), being 10x slower.
  const int rows =
      std::getenv("SIMPUL_IMPORT_ROWS") ? std::atoi(std::getenv("SIMPUL_IMPORT_ROWS")) : 100'000;
  test::TempDir dir;
  setenv("SIMPUL_TEST_WEBHOOK", "unused-secret-0123456789", 1);
  const std::string mapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";
  auto cfg =
      test::node_config(dir, "kota-batam",
                        R"("connectors": [{"id": "arsip", "type": "file_import", "mapping": ")" +
                            mapping + R"(", "settings": {"format": "csv", "delimiter": ";"}}],)");
  const std::string file = dir.file("apekesah-2019-2025.csv");
  std::set<std::int64_t> bad_lines;
  std::int64_t expected_events = 0;
  {
    std::ofstream out(file, std::ios::binary);
    out << "id;judul;uraian;lokasi;tanggal;waktu;opd_tujuan;status;tanggapan;dibuat;diperbarui\r\n";
    for (int i = 0; i < rows; ++i) {
      if (i % 100 == 7) {  // 1%: an impossible date
        out << i
            << ";Rusak;x;y;31/13/2024;08:00;;Proses;;2024-03-02 20:00:00;2024-03-02 20:00:00\r\n";
        bad_lines.insert(i + 2);
        continue;
      }
      out << i << ";Aduan " << i << ";\"Uraian " << i
          << "; dengan \"\"kutip\"\"\";Batam;01/03/2024;08:00;"
          << "Dinas Pekerjaan Umum;" << kStatuses[i % 6]
          << ";Sudah ditangani;2024-03-01 09:00:00;2024-03-05 10:00:00\r\n";
      expected_events += kEventsFor[i % 6];
    }
  }

  // Kill the import once a few batches are committed.
  pid_t pid = spawn_import(cfg.file, file);
  bool mid_way = test::eventually(
      [&] {
        try {
          return db_count(cfg.store.path, "SELECT count(*) FROM complaints") >= rows / 20;
        } catch (const std::exception&) {
          return false;  // the import has not created the database yet
        }
      },
      120);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE(mid_way);
  const auto after_kill = db_count(cfg.store.path, "SELECT count(*) FROM complaints");
  CHECK(after_kill < rows - static_cast<int>(bad_lines.size()));  // it really was cut short
  MESSAGE("killed after " << after_kill << " complaints");

  std::string out;
  REQUIRE(test::run_simpul({"import", "--config", cfg.file, "--connector", "arsip", file}, &out) ==
          0);
  INFO(out);
  CHECK(out.find("resumed after line") != std::string::npos);

  const std::int64_t good = rows - static_cast<std::int64_t>(bad_lines.size());
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints") == good);
  CHECK(db_count(cfg.store.path,
                 "SELECT count(DISTINCT ext_id) FROM refs WHERE system = 'apekesah'") == good);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events") == expected_events);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events WHERE kind = 'created'") == good);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints WHERE status = 'closed'") ==
        db_count(cfg.store.path,
                 "SELECT count(*) FROM refs WHERE system = 'apekesah' AND (CAST(ext_id AS INTEGER) "
                 "% 6) IN (3, 5)"));
  CHECK(db_count(cfg.store.path,
                 "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1);

  // Exactly the bad rows are listed, once each, with their line numbers.
  std::ifstream rejects(file + ".rejects.csv");
  std::string line;
  std::getline(rejects, line);
  CHECK(line == "line,source_id,reason");
  std::set<std::int64_t> listed;
  std::int64_t entries = 0;
  while (std::getline(rejects, line)) {
    ++entries;
    listed.insert(std::strtoll(line.c_str(), nullptr, 10));
    CHECK(line.find("/tanggal") != std::string::npos);
  }
  CHECK(entries == static_cast<std::int64_t>(bad_lines.size()));
  CHECK(listed == bad_lines);
}

TEST_CASE(
    "import: Ctrl-C stops after a committed batch - says where a rerun resumes - exit 130 - the "
    "rerun stores the rest once - every rejected row names its source id") {
  const int rows = 20'000;
  test::TempDir dir;
  const std::string mapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";
  auto cfg =
      test::node_config(dir, "kota-batam",
                        R"("connectors": [{"id": "arsip", "type": "file_import", "mapping": ")" +
                            mapping + R"(", "settings": {"format": "csv", "delimiter": ";"}}],)");
  const std::string file = dir.file("apekesah.csv");
  int bad = 0;
  {
    std::ofstream out(file, std::ios::binary);
    out << "id;judul;uraian;lokasi;tanggal;waktu;opd_tujuan;status;tanggapan;dibuat;diperbarui\r\n";
    for (int i = 0; i < rows; ++i) {
      const bool impossible = i % 100 == 7;
      bad += impossible;
      out << "AK-" << i << ";Aduan " << i << ";Uraian;Batam;"
          << (impossible ? "31/13/2024" : "01/03/2024")
          << ";08:00;Dinas Pekerjaan Umum;Proses;;2024-03-01 09:00:00;2024-03-05 10:00:00\r\n";
    }
  }
  int out_fd = ::open(dir.file("first.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    execl(SIMPUL_BINARY, "simpul", "import", "--config", cfg.file.c_str(), "--connector", "arsip",
          file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  ::close(out_fd);
  REQUIRE(test::eventually(
      [&] {
        try {
          return db_count(cfg.store.path, "SELECT count(*) FROM complaints") > 0;
        } catch (const std::exception&) {
          return false;
        }
      },
      60));
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream in(dir.file("first.out"));
  const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::int64_t stored = db_count(cfg.store.path, "SELECT count(*) FROM complaints");
  if (stored < rows - bad) {  // it was still running when the signal came
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    CHECK_MESSAGE(said.find("import interrupted") != std::string::npos, said);
    CHECK(said.find("Run the same command again to resume after it") != std::string::npos);
  }
  std::string out;
  REQUIRE(test::run_simpul({"import", "--config", cfg.file, "--connector", "arsip", file}, &out) ==
          0);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints") == rows - bad);
  // Every rejected row with its id at the source, however it was refused.
  std::ifstream rejects(file + ".rejects.csv");
  std::string row;
  std::getline(rejects, row);  // header
  int listed = 0;
  while (std::getline(rejects, row)) {
    ++listed;
    auto first = row.find(','), second = row.find(',', first + 1);
    CHECK_MESSAGE(row.substr(first + 1, second - first - 1).rfind("\"AK-", 0) == 0, row);
  }
  CHECK(listed == bad);
}
