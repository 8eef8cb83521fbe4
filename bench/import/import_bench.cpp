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

#include "support/fixtures.hpp"
#include "support/raw_rows.hpp"
#include "support/report.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string simpul = "build/simpul";
  long rows = 1'000'000;
  std::string dir = "/tmp";
  int batch = 500;  // the importer's batch
};

const char* kStatuses[] = {"Submitted",  "Proses", "Pending-catatan open", "Pending-catatan closed",
                           "Dibatalkan", "Selesai"};

void generate(const std::string& path, long rows) {
  std::ofstream out(path, std::ios::binary);
  out << "id;judul;uraian;lokasi;tanggal;waktu;opd_tujuan;kategori;status;tanggapan;dibuat;"
         "diperbarui\r\n";
  for (long i = 0; i < rows; ++i) {
    out << i << ";Aduan warga nomor " << i << ";\"Uraian aduan " << i
        << "; jalan berlubang di depan halte, \"\"mohon segera\"\" ditangani\";Batam Kota;"
        << (1 + i % 28) << "/" << (1 + i % 12) << "/2024;08:" << (10 + i % 50)
        << ";Dinas Pekerjaan Umum;Jalan;" << kStatuses[i % 6]
        << ";Sudah ditangani oleh dinas;2024-03-01 09:00:00;2024-03-05 10:00:00\r\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  simpul::bench::set_command(argc, argv);
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--simpul")
      o.simpul = v;
    else if (k == "--rows")
      o.rows = std::atol(v.c_str());
    else if (k == "--dir")
      o.dir = v;
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
  std::ofstream(dir + "/node.json")
      << R"({"node": {"id": "kota-batam", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
    "store": {"path": ")"
      << dir << R"(/import.db"}, "http": {"listen": "127.0.0.1:0"},
    "auth": {"admin_token": "env:SIMPUL_BENCH_ADMIN"}, "log": {"level": "warn"},
    "connectors": [{"id": "arsip", "type": "file_import", "mapping": ")"
      << mapping << R"(", "settings": {"format": "csv", "delimiter": ";"}}]})";
  std::printf("bench/import: %ld-row Ape Kesah CSV, %u cores, data in %s\n", o.rows,
              std::thread::hardware_concurrency(), dir.c_str());
  auto g0 = Clock::now();
  generate(dir + "/export.csv", o.rows);
  std::printf("generated %.0f MB in %.1f s\n",
              static_cast<double>(std::filesystem::file_size(dir + "/export.csv")) / 1e6,
              std::chrono::duration<double>(Clock::now() - g0).count());
  std::fflush(stdout);

  long peak_kib = 0;
  double secs = simpul::bench::run_import(o.simpul, dir + "/node.json", "arsip",
                                          dir + "/export.csv", peak_kib);
  double import_rate = static_cast<double>(o.rows) / secs;

  auto tables = simpul::bench::read_rows(
      dir + "/import.db",
      {"events", "complaints", "refs", "raw_payloads", "outbox", "complaint_children"});
  long events = static_cast<long>(tables[0].rows.size());
  long transactions = (o.rows + o.batch - 1) / o.batch;
  double raw = simpul::bench::raw_insert_rate(dir + "/raw.db", tables, o.rows, transactions, true);

  std::printf("\n%-44s %12s\n", "figure", "value");
  std::printf("%-44s %12.0f rows/s (%.1f s; %ld events, %.1f per row)\n", "simpul import",
              import_rate, secs, events, static_cast<double>(events) / static_cast<double>(o.rows));
  std::printf("%-44s %12.0f rows/s (same rows, %ld transactions)\n", "raw SQLite limit", raw,
              transactions);
  std::printf("%-44s %12.2f      (target >= 0.5)\n", "ratio import / raw SQLite",
              import_rate / raw);
  std::printf("%-44s %12.1f MB   (target < 150 MB)\n", "peak RSS of simpul import",
              static_cast<double>(peak_kib) / 1024.0);
  namespace b = simpul::bench;
  b::record("import",
            "simpul import of an Ape Kesah CSV export (" + std::to_string(o.rows) + " rows)",
            import_rate, "rows/s",
            "raw SQLite limit, same rows, " + std::to_string(transactions) + " transactions", raw,
            "ratio >= 0.5", std::to_string(events) + " events");
  b::record("import", "peak RSS of simpul import", static_cast<double>(peak_kib) / 1024.0, "MB", "",
            0, "< 150 MB");
  std::filesystem::remove_all(dir);
  return 0;
}
