// bench/import: migration speed of `simpul import` for a generated Ape Kesah CSV export, next
// to the raw SQLite limit measured in the same run on the same disk, plus peak memory.
//
//   1. import: `simpul import` as a child process (synchronous=full, batches of 500 rows); rows/s
//      over the whole file and the child's peak RSS (getrusage of the reaped child).
//   2. raw: every row the import wrote (events, complaints, refs, raw payloads, outbox, ...)
//      copied into a fresh database of the same schema with prepared INSERTs, in as many
//      transactions as the import committed: what SQLite alone needs to store the same data.
// Prints the figures and the ratio import/raw. Never part of `make test`.
//
//   import_bench --simpul build/simpul [--rows 1000000] [--dir /tmp]

#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string simpul = "build/simpul";
  long rows = 1'000'000;
  std::string dir = "/tmp";
  int batch = 500;  // the importer's batch
};

const char* kStatuses[] = {"Submitted", "Proses", "Pending-catatan open", "Pending-catatan closed", "Dibatalkan", "Selesai"};

void generate(const std::string& path, long rows) {
  std::ofstream out(path, std::ios::binary);
  out << "id;judul;uraian;lokasi;tanggal;waktu;opd_tujuan;kategori;status;tanggapan;dibuat;diperbarui\r\n";
  for (long i = 0; i < rows; ++i) {
    out << i << ";Aduan warga nomor " << i << ";\"Uraian aduan " << i
        << "; jalan berlubang di depan halte, \"\"mohon segera\"\" ditangani\";Batam Kota;"
        << (1 + i % 28) << "/" << (1 + i % 12) << "/2024;08:" << (10 + i % 50) << ";Dinas Pekerjaan Umum;Jalan;"
        << kStatuses[i % 6] << ";Sudah ditangani oleh dinas;2024-03-01 09:00:00;2024-03-05 10:00:00\r\n";
  }
}

// Runs `simpul import`; returns wall seconds and fills the child's peak RSS in KiB.
double run_import(const Options& o, const std::string& config, const std::string& csv, long& peak_kib) {
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    execl(o.simpul.c_str(), "simpul", "import", "--config", config.c_str(), "--connector", "arsip", csv.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("simpul import failed");
  peak_kib = ru.ru_maxrss;
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Table {
  std::string name;
  int columns = 0;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<int>> types;
};

std::vector<Table> read_rows(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  std::vector<Table> out;
  for (const char* t : {"events", "complaints", "refs", "raw_payloads", "outbox", "complaint_children"}) {
    Table table;
    table.name = t;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, (std::string("SELECT * FROM ") + t).c_str(), -1, &st, nullptr) != SQLITE_OK) continue;
    table.columns = sqlite3_column_count(st);
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      std::vector<int> types;
      for (int c = 0; c < table.columns; ++c) {
        types.push_back(sqlite3_column_type(st, c));
        auto p = static_cast<const char*>(sqlite3_column_blob(st, c));
        row.emplace_back(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st, c)));
      }
      table.rows.push_back(std::move(row));
      table.types.push_back(std::move(types));
    }
    sqlite3_finalize(st);
    out.push_back(std::move(table));
  }
  sqlite3_close(db);
  return out;
}

// The same rows into an empty copy of the schema, `transactions` commits, synchronous=FULL.
double raw_rate(const std::string& path, const std::vector<Table>& tables, long complaints, long transactions) {
  { simpul::Store init(simpul::StoreOptions{path, true, 5000, true}, simpul::FoldContext{}); }  // the same schema
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  sqlite3_exec(db, "PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr);
  std::vector<sqlite3_stmt*> inserts;
  for (const auto& t : tables) {
    std::string sql = "INSERT INTO " + t.name + " VALUES (";
    for (int c = 0; c < t.columns; ++c) sql += c ? ",?" : "?";
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, (sql + ")").c_str(), -1, &st, nullptr);
    inserts.push_back(st);
  }
  auto t0 = Clock::now();
  for (long k = 0; k < transactions; ++k) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (std::size_t t = 0; t < tables.size(); ++t) {
      const auto& table = tables[t];
      std::size_t from = table.rows.size() * static_cast<std::size_t>(k) / static_cast<std::size_t>(transactions);
      std::size_t to = table.rows.size() * static_cast<std::size_t>(k + 1) / static_cast<std::size_t>(transactions);
      for (std::size_t j = from; j < to; ++j) {
        sqlite3_stmt* st = inserts[t];
        for (int c = 0; c < table.columns; ++c) {
          const auto& v = table.rows[j][static_cast<std::size_t>(c)];
          switch (table.types[j][static_cast<std::size_t>(c)]) {
            case SQLITE_NULL: sqlite3_bind_null(st, c + 1); break;
            case SQLITE_INTEGER: sqlite3_bind_int64(st, c + 1, std::stoll(v)); break;
            case SQLITE_BLOB: sqlite3_bind_blob(st, c + 1, v.data(), static_cast<int>(v.size()), SQLITE_STATIC); break;
            default: sqlite3_bind_text(st, c + 1, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
          }
        }
        if (sqlite3_step(st) != SQLITE_DONE) throw std::runtime_error(std::string("raw insert: ") + sqlite3_errmsg(db));
        sqlite3_reset(st);
      }
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) throw std::runtime_error("raw commit failed");
  }
  double rate = static_cast<double>(complaints) / std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto* st : inserts) sqlite3_finalize(st);
  sqlite3_close(db);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--simpul") o.simpul = v;
    else if (k == "--rows") o.rows = std::atol(v.c_str());
    else if (k == "--dir") o.dir = v;
    else {
      std::fprintf(stderr, "usage: import_bench --simpul PATH [--rows N] [--dir DIR]\n");
      return 64;
    }
  }
  std::string dir = o.dir + "/simpul-importbench-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string mapping = std::filesystem::absolute("config/mappings/apekesah.json").string();
  if (!std::filesystem::exists(mapping)) {
    std::fprintf(stderr, "run from the repository root (config/mappings/apekesah.json)\n");
    return 64;
  }
  setenv("SIMPUL_BENCH_ADMIN", "bench-admin-token-0123456789", 1);
  std::ofstream(dir + "/node.json") << R"({"node": {"id": "kota-batam", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
    "store": {"path": ")" << dir << R"(/import.db"}, "http": {"listen": "127.0.0.1:0"},
    "auth": {"admin_token": "env:SIMPUL_BENCH_ADMIN"}, "log": {"level": "warn"},
    "connectors": [{"id": "arsip", "type": "file_import", "mapping": ")" << mapping
                                    << R"(", "settings": {"format": "csv", "delimiter": ";"}}]})";
  std::printf("bench/import: %ld-row Ape Kesah CSV, %u cores, data in %s\n", o.rows, std::thread::hardware_concurrency(),
              dir.c_str());
  auto g0 = Clock::now();
  generate(dir + "/export.csv", o.rows);
  std::printf("generated %.0f MB in %.1f s\n", static_cast<double>(std::filesystem::file_size(dir + "/export.csv")) / 1e6,
              std::chrono::duration<double>(Clock::now() - g0).count());
  std::fflush(stdout);

  long peak_kib = 0;
  double secs = run_import(o, dir + "/node.json", dir + "/export.csv", peak_kib);
  double import_rate = static_cast<double>(o.rows) / secs;

  auto tables = read_rows(dir + "/import.db");
  long events = static_cast<long>(tables[0].rows.size());
  long transactions = (o.rows + o.batch - 1) / o.batch;
  double raw = raw_rate(dir + "/raw.db", tables, o.rows, transactions);

  std::printf("\n%-44s %12s\n", "figure", "value");
  std::printf("%-44s %12.0f rows/s (%.1f s; %ld events, %.1f per row)\n", "simpul import", import_rate, secs, events,
              static_cast<double>(events) / static_cast<double>(o.rows));
  std::printf("%-44s %12.0f rows/s (same rows, %ld transactions)\n", "raw SQLite limit", raw, transactions);
  std::printf("%-44s %12.2f      (target >= 0.5)\n", "ratio import / raw SQLite", import_rate / raw);
  std::printf("%-44s %12.1f MB   (target < 150 MB)\n", "peak RSS of simpul import", static_cast<double>(peak_kib) / 1024.0);
  std::filesystem::remove_all(dir);
  return 0;
}
