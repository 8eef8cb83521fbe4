// bench/ingest: durable HTTP ingest throughput and latency, next to the raw SQLite limit
// measured in the same run on the same disk with the same synchronous setting.
//
//   1. peak: C concurrent keep-alive connections post complaints as fast as answers come back
//      (closed loop), against a `simpul serve` child process.
//   2. latency: an open-loop schedule at half the peak rate; each latency is measured from the
//      request's scheduled send time, so queueing delay is not hidden.
//   3. raw: the same rows an ingest writes (produced once by Store::ingest, untimed) inserted
//      straight into a fresh database with prepared statements, C complaints' rows per
//      transaction: what a group commit of C concurrent clients can gather. Also the store's
//      own code path on one thread, which adds the fold and JSON encoding per row.
// Prints the figures and the ratio http/raw. Never part of `make test`.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

#include "core/normalize.hpp"
#include "http/client.hpp"
#include "store/store.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string simpul = "./build/simpul";
  double seconds = 10;
  int connections = 64;
  std::string sync = "full";
  std::string dir;  // where the databases go; default: the system temp directory
};

const char* kToken = "bench-admin-token";

std::string complaint(long n) {
  return R"({"refs":[{"system":"bench","id":")" + std::to_string(n) +
         R"("}],"type":"pengaduan","title":"Jalan berlubang nomor )" + std::to_string(n) +
         R"(","body":"Lubang besar di depan halte sudah dua minggu, membahayakan pengendara motor yang lewat setiap pagi.","category":{"local":"jalan"},"agency":"dinas-pu-batam","location":{"text":"Jl. Ahmad Yani, Batam Kota","lat":1.1301,"lon":104.0529},"incident_at":"2026-11-18 07:30","channel":"app","reporter":{"name":"Siti Rahma","phone":"0812-7000-1234"}})";
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

struct Run {
  long ok = 0, failed = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
};

// rate <= 0: closed loop. Otherwise open loop at `rate` requests/s.
Run load(std::uint16_t port, const Options& o, double seconds, double rate, long first_id) {
  asio::io_context ioc{1};
  Run run;
  long next = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto worker = [&]() -> asio::awaitable<void> {
    beast::tcp_stream stream(ioc);
    co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), asio::use_awaitable);
    stream.socket().set_option(tcp::no_delay(true));
    beast::flat_buffer buf;
    asio::steady_timer timer(ioc);
    for (;;) {
      long i = next++;
      auto scheduled = Clock::now();
      if (rate > 0) {
        scheduled = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / rate));
        if (scheduled >= end) co_return;
        timer.expires_at(scheduled);
        co_await timer.async_wait(asio::use_awaitable);
      } else if (scheduled >= end) {
        co_return;
      }
      bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/complaints", 11};
      req.set(bhttp::field::host, "127.0.0.1");
      req.set(bhttp::field::authorization, std::string("Bearer ") + kToken);
      req.set(bhttp::field::content_type, "application/json");
      req.set("Idempotency-Key", "bench-" + std::to_string(first_id + i));
      req.body() = complaint(first_id + i);
      req.prepare_payload();
      co_await bhttp::async_write(stream, req, asio::use_awaitable);
      bhttp::response<bhttp::string_body> res;
      co_await bhttp::async_read(stream, buf, res, asio::use_awaitable);
      auto done = Clock::now();
      if (res.result_int() == 201) {
        ++run.ok;
        run.latencies_ms.push_back(std::chrono::duration<double, std::milli>(done - scheduled).count());
      } else {
        ++run.failed;
      }
    }
  };
  for (int c = 0; c < o.connections; ++c)
    asio::co_spawn(ioc, worker(), [&](std::exception_ptr e) {
      if (e) ++run.failed;
    });
  ioc.run();
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return run;
}

struct Child {
  pid_t pid = -1;
  std::uint16_t port = 0;
};

Child start_server(const Options& o, const std::string& dir) {
  std::ofstream(dir + "/bench.json") << R"({"node":{"id":"bench","tier":"kabkota","region":"21.71","timezone":"WIB"},
    "store":{"path":")" << dir << R"(/http.db","synchronous":")" << o.sync << R"("},
    "http":{"listen":"127.0.0.1:0","max_connections":4096},
    "auth":{"admin_token":"env:SIMPUL_BENCH_ADMIN"},"log":{"level":"warn"}})";
  setenv("SIMPUL_BENCH_ADMIN", kToken, 1);
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    execl(o.simpul.c_str(), "simpul", "serve", "--config", (dir + "/bench.json").c_str(), "--ready-file",
          (dir + "/port").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 500 && !c.port; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::ifstream in(dir + "/port");
    int p = 0;
    if (in >> p) c.port = static_cast<std::uint16_t>(p);
  }
  if (!c.port) throw std::runtime_error("simpul serve did not start; is --simpul right?");
  return c;
}

// The disk's own limit: 4 KiB appends, each followed by fdatasync, for one second.
double fsync_rate(const std::string& dir) {
  std::string path = dir + "/fsync.probe";
  FILE* f = std::fopen(path.c_str(), "w");
  char block[4096] = {};
  long n = 0;
  auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::seconds(1)) {
    std::fwrite(block, 1, sizeof block, f);
    std::fflush(f);
    fdatasync(fileno(f));
    ++n;
  }
  std::fclose(f);
  std::filesystem::remove(path);
  return n / std::chrono::duration<double>(Clock::now() - t0).count();
}

// What the server's writer does for complaint n: the same normalized record, key and origin.
simpul::IngestRequest request(long n, const simpul::NormalizeOptions& nopt) {
  simpul::IngestRequest r;
  r.raw_body = complaint(n);
  r.complaint = *simpul::read_complaint(r.raw_body, nopt);
  r.idem_scope = "admin";
  r.idem_key = "bench-" + std::to_string(n);
  r.origin = "bench";
  r.now = nopt.now;
  return r;
}

// The rows one ingest writes, copied out of a staging database.
struct Rows {
  struct Table {
    std::string name;
    int columns = 0;
    std::vector<std::vector<std::string>> rows;  // every value as text/blob bytes, or "\0NULL"
    std::vector<std::vector<int>> types;
  };
  std::vector<Table> tables;
};

// Builds `rows` complaints through Store::ingest (untimed) and reads back every row written.
Rows stage(const Options& o, const std::string& path, long rows) {
  {
    simpul::Store store(simpul::StoreOptions{path, o.sync == "full", 5000, true}, simpul::FoldContext{});
    simpul::NormalizeOptions nopt{simpul::Zone{}, "21.71", simpul::system_now_ms()};
    store.begin();
    for (long i = 0; i < rows; ++i) store.ingest(request(i, nopt));
    store.commit();
  }
  Rows out;
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  for (const char* t : {"events", "complaints", "refs", "raw_payloads", "idempotency"}) {
    Rows::Table table;
    table.name = t;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, (std::string("SELECT * FROM ") + t).c_str(), -1, &st, nullptr);
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
    out.tables.push_back(std::move(table));
  }
  sqlite3_close(db);
  return out;
}

// The SQLite limit: the same rows inserted with prepared statements into a fresh database of
// the same schema and synchronous setting, `batch` complaints' rows per transaction.
double raw_rows_rate(const Options& o, const Rows& rows, const std::string& path, int batch) {
  { simpul::Store init(simpul::StoreOptions{path, o.sync == "full", 5000, true}, simpul::FoldContext{}); }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, o.sync == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
  sqlite3_exec(db, "PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr);
  std::vector<sqlite3_stmt*> inserts;
  for (const auto& t : rows.tables) {
    std::string sql = "INSERT INTO " + t.name + " VALUES (";
    for (int c = 0; c < t.columns; ++c) sql += c ? ",?" : "?";
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, (sql + ")").c_str(), -1, &st, nullptr);
    inserts.push_back(st);
  }
  const std::size_t n = rows.tables.front().rows.size();
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; i += static_cast<std::size_t>(batch)) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (std::size_t j = i; j < std::min(n, i + static_cast<std::size_t>(batch)); ++j) {
      for (std::size_t t = 0; t < rows.tables.size(); ++t) {
        const auto& table = rows.tables[t];
        if (j >= table.rows.size()) continue;
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
  double rate = static_cast<double>(n) / std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto* st : inserts) sqlite3_finalize(st);
  sqlite3_close(db);
  return rate;
}

// Inserts `rows` complaints through Store::ingest on one thread, `batch` per transaction: the
// server's writer-side work without HTTP and without overlap with parsing.
double store_rate(const Options& o, const std::string& path, long rows, int batch) {
  simpul::Store store(simpul::StoreOptions{path, o.sync == "full", 5000, true}, simpul::FoldContext{});
  simpul::NormalizeOptions nopt{simpul::Zone{}, "21.71", simpul::system_now_ms()};
  std::vector<simpul::IngestRequest> reqs;
  reqs.reserve(static_cast<std::size_t>(rows));
  for (long i = 0; i < rows; ++i) reqs.push_back(request(i, nopt));
  auto t0 = Clock::now();
  for (long i = 0; i < rows; i += batch) {
    store.begin();
    for (long j = i; j < std::min(rows, i + batch); ++j) store.ingest(reqs[static_cast<std::size_t>(j)]);
    store.commit();
  }
  return rows / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--simpul") o.simpul = v;
    else if (k == "--seconds") o.seconds = std::stod(v);
    else if (k == "--connections") o.connections = std::stoi(v);
    else if (k == "--sync") o.sync = v;
    else if (k == "--dir") o.dir = v;
    else {
      std::fprintf(stderr, "usage: ingest_bench [--simpul PATH] [--seconds N] [--connections N] [--sync full|normal] [--dir DIR]\n");
      return 64;
    }
  }
  std::string base = o.dir.empty() ? std::filesystem::temp_directory_path().string() : o.dir;
  std::string dir = base + "/simpul-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::printf("bench/ingest: %d connections, synchronous=%s, %u cores, data in %s\n", o.connections,
              o.sync.c_str(), std::thread::hardware_concurrency(), dir.c_str());

  Child server = start_server(o, dir);
  load(server.port, o, 1.0, 0, 10'000'000);  // warm-up
  Run peak = load(server.port, o, o.seconds, 0, 0);
  double peak_rate = peak.ok / peak.seconds;
  Run half = load(server.port, o, o.seconds, peak_rate / 2, 20'000'000);
  double jobs = 0, batches = 0;
  {
    simpul::http::Client c("127.0.0.1", server.port);
    std::istringstream metrics(c.request("GET", "/metrics").body);
    std::string line;
    while (std::getline(metrics, line)) {
      if (line.rfind("simpul_commit_jobs_total ", 0) == 0) jobs = std::stod(line.substr(25));
      if (line.rfind("simpul_commit_batches_total ", 0) == 0) batches = std::stod(line.substr(28));
    }
  }
  kill(server.pid, SIGTERM);
  waitpid(server.pid, nullptr, 0);

  double fsyncs = fsync_rate(dir);
  long rows = std::max<long>(peak.ok, 2000);
  Rows staged = stage(o, dir + "/staging.db", rows);
  double raw = raw_rows_rate(o, staged, dir + "/raw.db", o.connections);
  double raw_big = raw_rows_rate(o, staged, dir + "/raw_big.db", 1000);
  double store1 = store_rate(o, dir + "/store.db", rows, o.connections);
  std::filesystem::remove_all(dir);

  std::printf("\n%-44s %12s\n", "figure", "value");
  std::printf("%-44s %12.0f /s   (%ld ok, %ld failed, %.1f s)\n", "HTTP ingest peak (closed loop)", peak_rate, peak.ok, peak.failed, peak.seconds);
  std::printf("%-44s %12.2f ms\n", "  latency p50 at peak", pct(peak.latencies_ms, 0.50));
  std::printf("%-44s %12.2f ms\n", "  latency p99 at peak", pct(peak.latencies_ms, 0.99));
  std::printf("%-44s %12.0f /s   (%ld ok, %ld failed)\n", "HTTP ingest at half peak (open loop)", half.ok / half.seconds, half.ok, half.failed);
  std::printf("%-44s %12.2f ms\n", "  latency p50 at half peak", pct(half.latencies_ms, 0.50));
  std::printf("%-44s %12.2f ms\n", "  latency p99 at half peak", pct(half.latencies_ms, 0.99));
  std::printf("%-44s %12.0f /s   (%d complaints' rows per transaction)\n", "raw SQLite limit, same rows", raw, o.connections);
  std::printf("%-44s %12.0f /s   (1000 complaints' rows per transaction)\n", "raw SQLite, large batches", raw_big);
  std::printf("%-44s %12.0f /s   (Store::ingest incl. fold and JSON, %d per transaction)\n", "store code path, one thread", store1, o.connections);
  std::printf("%-44s %12.0f /s   (4 KiB append + fdatasync)\n", "disk fsync limit", fsyncs);
  std::printf("%-44s %12.1f      (requests per commit the group commit must reach)\n", "HTTP peak / fsync limit", peak_rate / fsyncs);
  std::printf("%-44s %12.1f      (requests per group commit, whole run)\n", "server's average commit batch", batches > 0 ? jobs / batches : 0);
  std::printf("%-44s %12.2f      (target >= 0.5)\n", "ratio HTTP peak / raw SQLite (large batches)", peak_rate / raw_big);
  std::printf("%-44s %12.2f\n", "ratio HTTP peak / raw SQLite (64 per txn)", peak_rate / raw);
  std::printf("%-44s %12s      (target < 50 ms)\n", "p99 at half peak", pct(half.latencies_ms, 0.99) < 50 ? "met" : "NOT met");
  return 0;
}
