// bench/ingest: durable HTTP ingest throughput and latency, next to the raw SQLite limit
// measured in the same run on the same disk with the same synchronous setting.
//
//   1. peak: C concurrent keep-alive connections post complaints as fast as answers come back
//      (closed loop), against a `simpul serve` child process.
//   2. latency: an open-loop schedule at half the peak rate; each latency is measured from the
//      request's scheduled send time, so queueing delay is not hidden.
//   3. raw: the same rows an ingest writes (produced once by Ledger::ingest, untimed) inserted
//      straight into a fresh database with prepared statements, C complaints' rows per
//      transaction: what a group commit of C concurrent clients can gather. Also the store's
//      own code path on one thread, which adds the fold and JSON encoding per row.
//   4. lean: the SQLite minimum for the same information (raw payload, one projection row, one
//      event row, one outbox row), committed in batches the size the group commit gathered at
//      the peak, and again with every client's rows in one commit.
// Prints the figures and the ratio http/raw. Never part of `make test`.

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/normalize.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/fixtures.hpp"
#include "support/http_load.hpp"
#include "support/raw_rows.hpp"
#include "support/report.hpp"

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
  std::string dir;        // where the databases go; default: the system temp directory
  bool full_text = true;  // the server's store.full_text (the index for ?q=)
  // The server's log level: warn (default here) writes no http.access lines; info, a node's
  // default, writes one per request (what the access log costs).
  std::string log_level = "warn";
};

const char* kToken = "bench-admin-token";

using simpul::bench::complaint_body;

using simpul::bench::LoadRun;

LoadRun load(std::uint16_t port, const Options& o, double seconds, double rate, long first_id) {
  simpul::bench::LoadSpec spec;
  spec.port = port;
  spec.token = kToken;
  spec.connections = o.connections;
  spec.seconds = seconds;
  spec.rate = rate;
  spec.first_id = first_id;
  spec.body = complaint_body;
  return simpul::bench::http_load(spec);
}

double pct(const std::vector<double>& v, double p) { return simpul::bench::percentile(v, p); }

// The loopback HTTP limit: the same server code (http::Server, Beast) with a handler that
// answers 201 at once, on one io thread of this process; the same load as the real run.
double trivial_http_rate(const Options& o) {
  asio::io_context ioc{1};
  simpul::http::Server server(
      ioc, simpul::http::ServerOptions{"127.0.0.1", 0, 1 << 20, 10'000, 30'000, 4096},
      [](simpul::http::Request, simpul::http::Reply reply) {
        simpul::http::Response r;
        r.status = 201;
        r.body = R"({"id":"0"})";
        reply(std::move(r));
      });
  server.start();
  std::thread t([&] { ioc.run(); });
  load(server.port(), o, 1.0, 0, 30'000'000);  // warm-up
  LoadRun run = load(server.port(), o, o.seconds, 0, 40'000'000);
  ioc.stop();
  t.join();
  return run.rate();
}

simpul::bench::ServeChild start_server(const Options& o, const std::string& dir) {
  std::ofstream(dir + "/bench.json")
      << R"({"node":{"id":"bench","tier":"kabkota","region":"21.71","timezone":"WIB"},
    "store":{"path":")"
      << dir << R"(/http.db","synchronous":")" << o.sync << R"(","full_text":)"
      << (o.full_text ? "true" : "false") << R"(},
    "http":{"listen":"127.0.0.1:0","max_connections":4096},
    "auth":{"admin_token":"env:SIMPUL_BENCH_ADMIN"},"log":{"level":")"
      << o.log_level << R"("}})";
  setenv("SIMPUL_BENCH_ADMIN", kToken, 1);
  simpul::bench::ServeChild c;
  c.start(o.simpul, dir + "/bench.json", dir + "/port");
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
  return simpul::bench::ingest_request(n, nopt, "bench", "bench-");
}

// Builds `rows` complaints through Ledger::ingest (untimed) and reads back every row written.
std::vector<simpul::bench::RowTable> stage(const Options& o, const std::string& path, long rows) {
  {
    simpul::SqliteStore store(simpul::StoreOptions{path, o.sync == "full", 5000, true});
    simpul::NormalizeOptions nopt{simpul::Zone{}, "21.71", simpul::system_now_ms()};
    simpul::Ledger ledger(store, simpul::LedgerRules{});
    store.begin();
    for (long i = 0; i < rows; ++i) ledger.ingest(request(i, nopt));
    store.commit();
  }
  return simpul::bench::read_rows(path,
                                  {"events", "complaints", "refs", "raw_payloads", "idempotency"});
}

// The SQLite limit: the same rows in `batch` complaints' rows per transaction.
// The lean reference: the SQLite minimum for the same information per complaint (its raw
// payload, one projection row, one event row with the record, one outbox row), no secondary
// index, WAL, the same synchronous setting, `batch` complaints per transaction as a group
// commit of that many clients gathers. What any design of these rows could reach here.
double lean_rate(const Options& o, const std::string& path, long rows, int batch) {
  std::filesystem::remove(path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  for (const char* sql :
       {"PRAGMA journal_mode=WAL", "CREATE TABLE raw(id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
        "CREATE TABLE complaint(id TEXT PRIMARY KEY, status TEXT NOT NULL, "
        "updated_at INTEGER NOT NULL)",
        "CREATE TABLE event(seq INTEGER PRIMARY KEY, complaint_id TEXT NOT NULL, "
        "payload TEXT NOT NULL)",
        "CREATE TABLE outbox(id INTEGER PRIMARY KEY, event_seq INTEGER NOT NULL)"})
    sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  sqlite3_exec(db, o.sync == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
               nullptr, nullptr, nullptr);
  sqlite3_stmt *raw = nullptr, *complaint = nullptr, *event = nullptr, *outbox = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO raw(body) VALUES (?)", -1, &raw, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO complaint VALUES (?, 'received', ?)", -1, &complaint,
                     nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO event(complaint_id, payload) VALUES (?, ?)", -1, &event,
                     nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO outbox(event_seq) VALUES (?)", -1, &outbox, nullptr);
  std::vector<std::pair<std::string, std::string>> docs;  // (body, id): made before the clock
  for (long i = 0; i < rows; ++i)
    docs.emplace_back(complaint_body(i),
                      "019a9ec0-6400-7000-8000-" + std::to_string(100000000000 + i));
  auto t0 = Clock::now();
  for (long i = 0; i < rows; i += batch) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (long j = i; j < std::min(rows, i + batch); ++j) {
      const auto& [body, id] = docs[static_cast<std::size_t>(j)];
      sqlite3_bind_blob(raw, 1, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      sqlite3_step(raw);
      sqlite3_reset(raw);
      sqlite3_bind_text(complaint, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_int64(complaint, 2, j);
      sqlite3_step(complaint);
      sqlite3_reset(complaint);
      sqlite3_bind_text(event, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_text(event, 2, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
      sqlite3_step(event);
      sqlite3_reset(event);
      sqlite3_bind_int64(outbox, 1, sqlite3_last_insert_rowid(db));
      sqlite3_step(outbox);
      sqlite3_reset(outbox);
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      throw std::runtime_error("lean commit failed");
  }
  const double rate = rows / std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto* st : {raw, complaint, event, outbox}) sqlite3_finalize(st);
  sqlite3_close(db);
  return rate;
}

double raw_rows_rate(const Options& o, const std::vector<simpul::bench::RowTable>& rows,
                     const std::string& path, int batch) {
  const long n = static_cast<long>(rows.front().rows.size());
  return simpul::bench::raw_insert_rate(path, rows, n, (n + batch - 1) / batch, o.sync == "full");
}

// Inserts `rows` complaints through Ledger::ingest on one thread, `batch` per transaction: the
// server's writer-side work without HTTP and without overlap with parsing.
double store_rate(const Options& o, const std::string& path, long rows, int batch) {
  simpul::SqliteStore store(simpul::StoreOptions{path, o.sync == "full", 5000, true});
  simpul::NormalizeOptions nopt{simpul::Zone{}, "21.71", simpul::system_now_ms()};
  simpul::Ledger ledger(store, simpul::LedgerRules{});
  std::vector<simpul::IngestRequest> reqs;
  reqs.reserve(static_cast<std::size_t>(rows));
  for (long i = 0; i < rows; ++i) reqs.push_back(request(i, nopt));
  auto t0 = Clock::now();
  for (long i = 0; i < rows; i += batch) {
    store.begin();
    for (long j = i; j < std::min(rows, i + batch); ++j)
      ledger.ingest(reqs[static_cast<std::size_t>(j)]);
    store.commit();
  }
  return rows / std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  simpul::bench::set_command(argc, argv);
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--simpul")
      o.simpul = v;
    else if (k == "--seconds")
      o.seconds = std::stod(v);
    else if (k == "--connections")
      o.connections = std::stoi(v);
    else if (k == "--sync")
      o.sync = v;
    else if (k == "--dir")
      o.dir = v;
    else if (k == "--full-text")
      o.full_text = v != "0";
    else if (k == "--log-level")
      o.log_level = v;
    else {
      std::fprintf(stderr,
                   "usage: ingest_bench [--simpul PATH] [--seconds N] [--connections N] [--sync "
                   "full|normal] [--dir DIR] [--full-text 1|0] [--log-level warn|info]\n");
      return 64;
    }
  }
  std::string base = o.dir.empty() ? std::filesystem::temp_directory_path().string() : o.dir;
  std::string dir = base + "/simpul-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::printf("bench/ingest: %d connections, synchronous=%s, %u cores, data in %s\n", o.connections,
              o.sync.c_str(), std::thread::hardware_concurrency(), dir.c_str());

  auto server = start_server(o, dir);
  // The group commit's counters: requests committed and commits, read around the peak run.
  auto commits = [&] {
    std::pair<double, double> jb{0, 0};
    simpul::http::Client c("127.0.0.1", server.port);
    std::istringstream metrics(c.request("GET", "/metrics").body);
    std::string line;
    while (std::getline(metrics, line)) {
      if (line.rfind("simpul_commit_jobs_total ", 0) == 0) jb.first = std::stod(line.substr(25));
      if (line.rfind("simpul_commit_batches_total ", 0) == 0)
        jb.second = std::stod(line.substr(28));
    }
    return jb;
  };
  load(server.port, o, 1.0, 0, 10'000'000);  // warm-up
  const auto before_peak = commits();
  LoadRun peak = load(server.port, o, o.seconds, 0, 0);
  const auto after_peak = commits();
  double peak_rate = peak.ok / peak.seconds;
  LoadRun half = load(server.port, o, o.seconds, peak_rate / 2, 20'000'000);
  const auto [jobs, batches] = commits();
  const double peak_commits = after_peak.second - before_peak.second;
  const double peak_batch =
      peak_commits > 0 ? (after_peak.first - before_peak.first) / peak_commits : 1;
  server.stop();

  double trivial = trivial_http_rate(o);
  double fsyncs = fsync_rate(dir);
  long rows = std::max<long>(peak.ok, 2000);
  auto staged = stage(o, dir + "/staging.db", rows);
  double raw = raw_rows_rate(o, staged, dir + "/raw.db", o.connections);
  double raw_big = raw_rows_rate(o, staged, dir + "/raw_big.db", 1000);
  double store1 = store_rate(o, dir + "/store.db", rows, o.connections);
  // The lean reference commits as the group commit did at the peak (its average batch there);
  // at one transaction per client count it shows what a perfect gatherer could reach.
  const int lean_batch = std::max(1, static_cast<int>(std::lround(peak_batch)));
  double lean = lean_rate(o, dir + "/lean.db", rows, lean_batch);
  double lean_all = lean_rate(o, dir + "/lean_all.db", rows, o.connections);
  std::filesystem::remove_all(dir);

  std::printf("\n%-44s %12s\n", "figure", "value");
  std::printf("%-44s %12.0f /s   (%ld ok, %ld failed, %.1f s)\n", "HTTP ingest peak (closed loop)",
              peak_rate, peak.ok, peak.failed, peak.seconds);
  std::printf("%-44s %12.2f ms\n", "  latency p50 at peak", pct(peak.latencies_ms, 0.50));
  std::printf("%-44s %12.2f ms\n", "  latency p99 at peak", pct(peak.latencies_ms, 0.99));
  std::printf("%-44s %12.0f /s   (%ld ok, %ld failed)\n", "HTTP ingest at half peak (open loop)",
              half.ok / half.seconds, half.ok, half.failed);
  std::printf("%-44s %12.2f ms\n", "  latency p50 at half peak", pct(half.latencies_ms, 0.50));
  std::printf("%-44s %12.2f ms\n", "  latency p99 at half peak", pct(half.latencies_ms, 0.99));
  std::printf("%-44s %12.0f /s   (%d complaints' rows per transaction)\n",
              "raw SQLite limit, same rows", raw, o.connections);
  std::printf("%-44s %12.0f /s   (1000 complaints' rows per transaction)\n",
              "raw SQLite, large batches", raw_big);
  std::printf(
      "%-44s %12.0f /s   (raw, projection, event, outbox rows; %d per transaction,\n"
      "%-44s %12s      as the group commit gathered at the peak: %.1f)\n",
      "lean SQLite reference", lean, lean_batch, "", "", peak_batch);
  std::printf("%-44s %12.0f /s   (the same rows, %d per transaction)\n",
              "lean SQLite, one commit for every client", lean_all, o.connections);
  std::printf("%-44s %12.2f      (target >= 0.5)\n", "ratio HTTP peak / lean reference",
              peak_rate / lean);
  std::printf("%-44s %12.0f /s   (Ledger::ingest incl. fold and JSON, %d per transaction)\n",
              "store code path, one thread", store1, o.connections);
  std::printf("%-44s %12.0f /s   (4 KiB append + fdatasync)\n", "disk fsync limit", fsyncs);
  std::printf("%-44s %12.1f      (requests per commit the group commit must reach)\n",
              "HTTP peak / fsync limit", peak_rate / fsyncs);
  std::printf("%-44s %12.1f      (requests per group commit at the peak; %.1f whole run)\n",
              "server's average commit batch", peak_batch, batches > 0 ? jobs / batches : 0);
  std::printf("%-44s %12.2f      (target >= 0.5)\n", "ratio HTTP peak / raw SQLite (large batches)",
              peak_rate / raw_big);
  std::printf("%-44s %12.2f\n", "ratio HTTP peak / raw SQLite (64 per txn)", peak_rate / raw);
  std::printf("%-44s %12s      (target < 50 ms)\n", "p99 at half peak",
              pct(half.latencies_ms, 0.99) < 50 ? "met" : "NOT met");
  std::printf("%-44s %12.0f /s   (same load, a handler that answers 201 at once)\n",
              "loopback HTTP limit, trivial handler", trivial);
  std::printf("%-44s %12.2f\n", "ratio HTTP peak / loopback HTTP limit", peak_rate / trivial);

  namespace b = simpul::bench;
  const std::string conns = std::to_string(o.connections) + " connections, synchronous=" + o.sync;
  b::record("ingest", "HTTP ingest peak (durable, closed loop)", peak_rate, "complaints/s",
            "raw SQLite limit, same rows, 1000 per transaction", raw_big, "ratio >= 0.5", conns);
  b::record("ingest", "HTTP ingest peak (durable, closed loop)", peak_rate, "complaints/s",
            "loopback HTTP limit, trivial handler", trivial, "",
            "the same server code answering 201 at once: what HTTP alone costs");
  b::record("ingest", "HTTP ingest peak (durable, closed loop)", peak_rate, "complaints/s",
            "raw SQLite, same rows, " + std::to_string(o.connections) + " per transaction", raw, "",
            "what one group commit of all clients could gather");
  b::record("ingest", "HTTP ingest peak (durable, closed loop)", peak_rate, "complaints/s",
            "lean SQLite reference (raw, projection, event, outbox rows)", lean, "ratio >= 0.5",
            conns + "; the reference commits " + std::to_string(lean_batch) +
                " per transaction, as the group commit did at the peak");
  b::record("ingest", "HTTP ingest peak (durable, closed loop)", peak_rate, "complaints/s",
            "lean SQLite, " + std::to_string(o.connections) + " per transaction", lean_all, "",
            "the lean rows if one commit gathered every client");
  b::record("ingest", "latency p50 at peak", pct(peak.latencies_ms, 0.50), "ms");
  b::record("ingest", "latency p99 at peak", pct(peak.latencies_ms, 0.99), "ms");
  b::record("ingest", "latency p99 at half peak (open loop)", pct(half.latencies_ms, 0.99), "ms",
            "", 0, "< 50 ms",
            std::to_string(static_cast<long>(half.ok / half.seconds)) +
                " complaints/s offered on a fixed schedule");
  b::record("ingest", "store code path, one thread", store1, "complaints/s",
            "raw SQLite, same rows, " + std::to_string(o.connections) + " per transaction", raw, "",
            "Ledger::ingest incl. fold and JSON, without HTTP");
  b::record("ingest", "disk fsync limit", fsyncs, "fsyncs/s", "", 0, "",
            "4 KiB append + fdatasync");
  b::record("ingest", "requests per group commit (average at the peak)", peak_batch, "requests");
  return 0;
}
