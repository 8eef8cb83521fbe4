// bench/sql: the first load of a legacy app's table through sql_poll, next to `simpul import` of
// the same rows as a CSV export, measured in the same run on the same disk.
//
//   1. import: the Ape Kesah CSV export of N rows (the import bench's rows) taken in by
//      `simpul import` as a child process; rows/s over the whole file and its peak RSS.
//   2. sql_poll: the same N rows in a throwaway MariaDB `aduan` table (the CSV's columns, with
//      an index on (diperbarui, id)), read by a `simpul serve` child with one sql_poll connector
//      through the same Ape Kesah mapping, from start-up until the store holds N complaints;
//      rows/s and the child's peak RSS.
// Prints both and the ratio sql_poll / import (target >= 0.5; peak RSS < 150 MB). Never part of
// `make test`.
//
//   sql_load_bench --simpul build/simpul [--rows 1000000]

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

#include "db_servers.hpp"
#include "http/client.hpp"
#include "support/fixtures.hpp"
#include "support/report.hpp"

namespace b = simpul::bench;
using Clock = std::chrono::steady_clock;

namespace {

const char* kStatuses[] = {"Submitted",  "Proses", "Pending-catatan open", "Pending-catatan closed",
                           "Dibatalkan", "Selesai"};

// Row i of the export, as the CSV writes it and as the table holds it (the same formulas).
void write_csv(const std::string& path, long rows) {
  std::ofstream out(path, std::ios::binary);
  out << "id;judul;uraian;lokasi;tanggal;waktu;opd_tujuan;kategori;status;tanggapan;dibuat;"
         "diperbarui\r\n";
  for (long i = 1; i <= rows; ++i)
    out << i << ";Aduan warga nomor " << i << ";\"Uraian aduan " << i
        << "; jalan berlubang di depan halte, \"\"mohon segera\"\" ditangani\";Batam Kota;"
        << (1 + i % 28) << "/" << (1 + i % 12) << "/2024;08:" << (10 + i % 50)
        << ";Dinas Pekerjaan Umum;Jalan;" << kStatuses[i % 6]
        << ";Sudah ditangani oleh dinas;2024-03-01 09:00:00;2024-03-05 10:00:00\r\n";
}

void fill_table(simpul::connectors::sql::Connection& app, long rows) {
  app.execute(
      "CREATE TABLE aduan (id INT PRIMARY KEY, judul VARCHAR(200), uraian TEXT, lokasi "
      "VARCHAR(100), tanggal VARCHAR(10), waktu VARCHAR(5), opd_tujuan VARCHAR(100), kategori "
      "VARCHAR(50), status VARCHAR(30), tanggapan TEXT, dibuat DATETIME NOT NULL, diperbarui "
      "DATETIME, INDEX aduan_diperbarui (diperbarui, id))",
      {});
  for (long done = 0; done < rows; done += 100'000) {
    const long n = std::min<long>(100'000, rows - done);
    const std::string i = "(seq + " + std::to_string(done) + ")";
    app.execute(
        "INSERT INTO aduan SELECT " + i + ", CONCAT('Aduan warga nomor ', " + i +
            "), CONCAT('Uraian aduan ', " + i +
            ", '; jalan berlubang di depan halte, \"mohon segera\" ditangani'), 'Batam Kota', "
            "CONCAT(1 + " +
            i + " % 28, '/', 1 + " + i + " % 12, '/2024'), CONCAT('08:', 10 + " + i +
            " % 50), 'Dinas Pekerjaan Umum', 'Jalan', ELT(1 + " + i +
            " % 6, 'Submitted', 'Proses', 'Pending-catatan open', 'Pending-catatan closed', "
            "'Dibatalkan', 'Selesai'), 'Sudah ditangani oleh dinas', '2024-03-01 09:00:00', "
            "'2024-03-05 10:00:00' FROM seq_1_to_" +
            std::to_string(n),
        {});
  }
}

std::string node_config(const std::string& dir, const std::string& name,
                        const std::string& connector) {
  const std::string path = dir + "/" + name + ".json";
  std::ofstream(path)
      << R"({"node": {"id": "kota-batam", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
    "store": {"path": ")"
      << dir << "/" << name << R"(.db"}, "http": {"listen": "127.0.0.1:0"},
    "auth": {"admin_token": "env:SIMPUL_BENCH_ADMIN"}, "log": {"level": "warn"},
    "connectors": [)"
      << connector << "]}";
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  b::set_command(argc, argv);
  std::string simpul = "build/simpul";
  long rows = 1'000'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--simpul") {
      simpul = v;
    } else if (k == "--rows") {
      rows = std::atol(v.c_str());
    } else {
      std::fprintf(stderr, "usage: sql_load_bench --simpul PATH [--rows N]\n");
      return 64;
    }
  }
  const std::string mapping = std::filesystem::absolute("config/mappings/apekesah.json").string();
  if (!std::filesystem::exists(mapping)) {
    std::fprintf(stderr, "run from the repository root (config/mappings/apekesah.json)\n");
    return 64;
  }
  char tmpl[] = "/tmp/simpul-sqlload-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  setenv("SIMPUL_BENCH_ADMIN", "bench-admin-token-0123456789", 1);
  std::printf("bench/sql load: %ld Ape Kesah rows, %u cores, data in %s\n", rows,
              std::thread::hardware_concurrency(), dir.c_str());
  std::fflush(stdout);
  double import_s = 0, poll_s = 0;
  long import_kib = 0, poll_kib = 0;
  {
    auto db = simpul::dbserver::start_mariadb(dir);
    auto app = db->admin();
    auto t0 = Clock::now();
    write_csv(dir + "/export.csv", rows);
    fill_table(*app, rows);
    app->execute("ANALYZE TABLE aduan", {});
    std::printf("CSV written and table filled in %.1f s\n",
                std::chrono::duration<double>(Clock::now() - t0).count());
    std::fflush(stdout);

    const std::string import_cfg =
        node_config(dir, "import",
                    R"({"id": "arsip", "type": "file_import", "mapping": ")" + mapping +
                        R"(", "settings": {"format": "csv", "delimiter": ";"}})");
    import_s = b::run_import(simpul, import_cfg, "arsip", dir + "/export.csv", import_kib);
    std::printf("simpul import: %.1f s\n", import_s);
    std::fflush(stdout);

    const std::string poll_cfg =
        node_config(dir, "poll",
                    R"({"id": "apekesah-db", "type": "sql_poll", "mapping": ")" + mapping +
                        R"(", "settings": {"driver": "mariadb", "socket": ")" + db->socket() +
                        R"(", "database": "legacy", "user": "root", "table": "aduan", "key": "id",
            "updated": "diperbarui"}})");
    b::ServeChild node;
    auto p0 = Clock::now();
    node.start(simpul, poll_cfg, dir + "/poll.ready");
    auto last_report = Clock::now();
    // Progress from the node's own counter: a reader of the store file would hold back its
    // checkpoints (the WAL would grow and slow the writer it measures).
    simpul::http::Client client("127.0.0.1", node.port);
    const std::string admin = "Bearer bench-admin-token-0123456789";
    const std::string counter =
        "simpul_connector_records_total{connector=\"apekesah-db\",outcome=\"created\"} ";
    for (;;) {
      long long n = 0;
      const auto m = client.request("GET", "/metrics", "", {{"authorization", admin}}).body;
      if (auto at = m.find(counter); at != std::string::npos)
        n = std::atoll(m.c_str() + at + counter.size());
      if (n >= rows) break;
      if (Clock::now() - last_report > std::chrono::seconds(15)) {
        std::printf("  sql_poll: %lld of %ld rows stored\n", n, rows);
        std::fflush(stdout);
        last_report = Clock::now();
      }
      if (Clock::now() - p0 > std::chrono::minutes(30)) {
        std::fprintf(stderr, "sql_load_bench: sql_poll did not finish in 30 minutes\n");
        node.stop();
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    poll_s = std::chrono::duration<double>(Clock::now() - p0).count();
    poll_kib = node.stop();
    const auto events_import = b::sqlite_scalar(dir + "/import.db", "SELECT count(*) FROM events");
    const auto events_poll = b::sqlite_scalar(dir + "/poll.db", "SELECT count(*) FROM events");
    const auto sla_poll =
        b::sqlite_scalar(dir + "/poll.db", "SELECT count(*) FROM events WHERE kind LIKE 'sla_%'");
    std::printf(
        "events stored: import %lld, sql_poll %lld (%lld of them the serving node's SLA "
        "scheduler's: these 2024 complaints are long overdue)\n",
        static_cast<long long>(events_import), static_cast<long long>(events_poll),
        static_cast<long long>(sla_poll));
  }
  const double import_rate = static_cast<double>(rows) / import_s;
  const double poll_rate = static_cast<double>(rows) / poll_s;
  std::printf("\n%-44s %12s\n", "figure", "value");
  std::printf("%-44s %12.0f rows/s (%.1f s)\n", "sql_poll first load from MariaDB", poll_rate,
              poll_s);
  std::printf("%-44s %12.0f rows/s (%.1f s, the same rows as CSV)\n", "simpul import", import_rate,
              import_s);
  std::printf("%-44s %12.2f      (target >= 0.5)\n", "ratio sql_poll / import",
              poll_rate / import_rate);
  std::printf("%-44s %12.1f MB   (target < 150 MB)\n", "peak RSS of the polling node",
              static_cast<double>(poll_kib) / 1024.0);
  std::printf("%-44s %12.1f MB\n", "peak RSS of simpul import",
              static_cast<double>(import_kib) / 1024.0);
  b::record("sql_poll", "first load of " + std::to_string(rows) + " MariaDB rows", poll_rate,
            "rows/s", "simpul import of the same rows as CSV", import_rate, "ratio >= 0.5");
  b::record("sql_poll", "peak RSS of the polling node (first load)",
            static_cast<double>(poll_kib) / 1024.0, "MB", "", 0, "< 150 MB");
  std::filesystem::remove_all(dir);
  return 0;
}
