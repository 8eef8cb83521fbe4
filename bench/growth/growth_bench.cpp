// bench/growth: how cost grows with the store. A leaf (kota-batam) and its parent
// (provinsi-kepri), both `simpul serve` processes on loopback, measured with 10,000, 100,000 and
// 1,000,000 complaints already stored (--sizes), each size after the last:
//
//   prefill  complaints written straight through Ledger::ingest at the leaf (as the API writes
//            them: raw payload, events, refs, projection, idempotency key, an upstream outbox
//            row, marked done as after a sync); the parent gets a copy of the leaf's database,
//            as if it had synced all of it.
//   start    time from exec to ready, for each node.
//   idle     resident memory of each node a second after start.
//   lag      complaints posted at the leaf at 20/s; the time until each can be read at the
//            parent (GET by id), p50 and p99.
//   ingest   the parent stopped, 64 connections post at the leaf as fast as answers come back
//            (closed loop); the leaf's resident memory right after, and its peak.
//   drain    the parent started again: the time until the leaf's queue is empty.
//
// Prints a table and the ratios largest/smallest (ingest rate, lag p50), which should stay close
// to 1. Needs about 4.2 KB of disk per stored complaint, twice (1,000,000: ~9 GB). Never part of
// `make test`.

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/normalize.hpp"
#include "http/client.hpp"
#include "ledger/ledger.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/fixtures.hpp"
#include "support/http_load.hpp"
#include "support/report.hpp"

using Clock = std::chrono::steady_clock;
namespace b = simpul::bench;

namespace {

struct Options {
  std::string simpul = "./build/simpul";
  std::vector<long> sizes = {10'000, 100'000, 1'000'000};
  std::string dir;
  double ingest_seconds = 5;
  int lag_complaints = 100;
  int connections = 64;
};

const char* kAdmin = "bench-admin-token-0123456789";

double secs_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void exec_sql(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_busy_timeout(h, 10'000);
  char* err = nullptr;
  if (sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string what = err ? err : "?";
    sqlite3_free(err);
    sqlite3_close(h);
    throw std::runtime_error(db + ": " + what);
  }
  sqlite3_close(h);
}

// Adds complaints [from, to) at the leaf, as API ingests with an upstream outbox row each, then
// marks the outbox done (a leaf that has synced everything).
void prefill(const std::string& db, long from, long to) {
  {
    simpul::SqliteStore store(simpul::StoreOptions{db, false, 5000, true});
    simpul::Ledger ledger(store, b::leaf_rules());
    simpul::NormalizeOptions nopt{simpul::Zone{}, "21.71", simpul::system_now_ms()};
    auto t0 = Clock::now();
    const long batch = 2000;
    for (long i = from; i < to; i += batch) {
      store.begin();
      for (long n = i; n < std::min(to, i + batch); ++n) {
        simpul::IngestRequest r = b::ingest_request(n, nopt, "kota-batam", "prefill-");
        r.now = nopt.now + n;
        ledger.ingest(r);
      }
      store.commit();
      const long done = std::min(to, i + batch);
      if ((done - from) % 100'000 == 0 || done == to) {
        std::printf("  prefill: %ld stored (%.0f/s)\n", done, (done - from) / secs_since(t0));
        std::fflush(stdout);
      }
    }
  }
  exec_sql(
      db,
      "UPDATE outbox SET state = 'done' WHERE state = 'pending'; PRAGMA wal_checkpoint(TRUNCATE);");
}

// A node: its config and ready files, and its process.
struct Proc {
  std::string id, config, ready;
  b::ServeChild child;
  pid_t pid() const { return child.pid; }
  std::uint16_t port() const { return child.port; }
};

double start(Proc& p, const std::string& simpul) {
  return p.child.start(simpul, p.config, p.ready);
}
void stop(Proc& p) { p.child.stop(); }

using b::free_port;

std::vector<simpul::http::Header> admin() {
  return {{"authorization", std::string("Bearer ") + kAdmin}};
}

struct Step {
  long stored = 0;
  double start_parent_s = 0, start_leaf_s = 0;
  double idle_parent_mb = 0, idle_leaf_mb = 0;
  double lag_p50 = 0, lag_p99 = 0;
  int lag_seen = 0;
  double ingest_rate = 0;
  double loaded_leaf_mb = 0, peak_leaf_mb = 0;
  long burst = 0;
  double drain_s = 0;
};

}  // namespace

int main(int argc, char** argv) {
  b::set_command(argc, argv);
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--simpul")
      o.simpul = v;
    else if (k == "--dir")
      o.dir = v;
    else if (k == "--ingest-seconds")
      o.ingest_seconds = std::stod(v);
    else if (k == "--lag-complaints")
      o.lag_complaints = std::stoi(v);
    else if (k == "--sizes") {
      o.sizes.clear();
      std::stringstream ss(v);
      std::string part;
      while (std::getline(ss, part, ',')) o.sizes.push_back(std::stol(part));
    } else {
      std::fprintf(
          stderr,
          "usage: growth_bench [--simpul PATH] [--sizes 10000,100000,1000000] [--ingest-seconds S] "
          "[--lag-complaints N] [--dir DIR]\n");
      return 64;
    }
  }
  const std::string base = o.dir.empty() ? std::filesystem::temp_directory_path().string() : o.dir;
  const std::string dir = base + "/simpul-growth-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  setenv("SIMPUL_BENCH_ADMIN", kAdmin, 1);
  std::printf("bench/growth: leaf and parent with %zu store sizes, %u cores, data in %s\n",
              o.sizes.size(), std::thread::hardware_concurrency(), dir.c_str());
  const std::string leaf_db = dir + "/kota-batam.db", parent_db = dir + "/provinsi-kepri.db";
  Proc parent{"provinsi-kepri", dir + "/provinsi-kepri.json", dir + "/provinsi-kepri.ready"};
  Proc leaf{"kota-batam", dir + "/kota-batam.json", dir + "/kota-batam.ready"};
  const std::string common = R"("http": {"listen": "127.0.0.1:0", "max_connections": 4096},
    "auth": {"admin_token": "env:SIMPUL_BENCH_ADMIN"}, "log": {"level": "error"})";

  std::vector<Step> steps;
  long next_id = 0;
  for (long size : o.sizes) {
    Step st;
    long have = std::filesystem::exists(leaf_db)
                    ? b::sqlite_scalar(leaf_db, "SELECT count(*) FROM complaints")
                    : 0;
    std::printf("\n%ld complaints stored (%ld to add)\n", std::max(have, size),
                std::max(0L, size - have));
    std::fflush(stdout);
    if (have < size) prefill(leaf_db, have, size);
    next_id = std::max(next_id, size) + 10'000'000;
    // The parent: a copy of the leaf's store, a token for the leaf; the leaf's pull cursor is
    // from the parent's previous copy, so it starts over.
    exec_sql(
        leaf_db,
        "DELETE FROM cursors WHERE name = 'upstream.changes'; PRAGMA wal_checkpoint(TRUNCATE);");
    for (const char* ext : {"", "-wal", "-shm"}) std::filesystem::remove(parent_db + ext);
    std::filesystem::copy_file(leaf_db, parent_db);
    {
      simpul::SqliteStore s(simpul::StoreOptions{parent_db, true, 5000, true});
      setenv("SIMPUL_BENCH_UP",
             s.create_token("batam", "node", "kota-batam", simpul::system_now_ms()).secret.c_str(),
             1);
    }
    st.stored = b::sqlite_scalar(leaf_db, "SELECT count(*) FROM complaints");

    // The parent keeps its port across its restart below (the leaf's config names it).
    std::ofstream(parent.config)
        << R"({"node": {"id": "provinsi-kepri", "tier": "provinsi", "region": "21", "timezone": "WIB"},
      "store": {"path": ")"
        << parent_db << R"("}, "children": [{"id": "kota-batam", "regions": ["21.71"]}],
      "http": {"listen": "127.0.0.1:)"
        << free_port() << R"(", "max_connections": 4096},
      "auth": {"admin_token": "env:SIMPUL_BENCH_ADMIN"}, "log": {"level": "error"}})";
    std::printf("  starting the parent and the leaf\n");
    std::fflush(stdout);
    st.start_parent_s = start(parent, o.simpul);
    std::ofstream(leaf.config)
        << R"({"node": {"id": "kota-batam", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
      "store": {"path": ")"
        << leaf_db << R"("}, "upstream": {"url": "http://127.0.0.1:)" << parent.port()
        << R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_BENCH_UP", "max_backoff_ms": 1000}, )"
        << common << "}";
    st.start_leaf_s = start(leaf, o.simpul);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    st.idle_parent_mb = b::rss_mb(parent.pid());
    st.idle_leaf_mb = b::rss_mb(leaf.pid());

    // Lag: one complaint every 50 ms; a watcher reads each at the parent by id.
    std::printf("  lag: %d complaints at 20/s\n", o.lag_complaints);
    std::fflush(stdout);
    {
      std::mutex mu;
      std::map<std::string, Clock::time_point> pending;
      std::vector<double> lags;
      std::atomic<bool> posting{true};
      std::thread watcher([&] {
        simpul::http::Client pc("127.0.0.1", parent.port());
        auto deadline = Clock::now() + std::chrono::seconds(120);
        while (Clock::now() < deadline) {
          std::vector<std::pair<std::string, Clock::time_point>> look;
          {
            std::lock_guard lock(mu);
            if (!posting && pending.empty()) break;
            look.assign(pending.begin(), pending.end());
          }
          for (const auto& [id, t] : look) {
            if (pc.request("GET", "/v1/complaints/" + id, "", admin()).status != 200) continue;
            auto seen = Clock::now();
            std::lock_guard lock(mu);
            lags.push_back(std::chrono::duration<double, std::milli>(seen - t).count());
            pending.erase(id);
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      });
      simpul::http::Client lc("127.0.0.1", leaf.port());
      for (int i = 0; i < o.lag_complaints; ++i) {
        auto t0 = Clock::now();
        auto r = lc.request("POST", "/v1/complaints", b::complaint_body(next_id++), admin());
        auto doc = simpul::json::parse(r.body);
        if (r.status == 201 && doc) {
          std::lock_guard lock(mu);
          pending[simpul::json::get_string(*doc, "id")] = t0;
        }
        std::this_thread::sleep_until(t0 + std::chrono::milliseconds(50));
      }
      posting = false;
      watcher.join();
      st.lag_seen = static_cast<int>(lags.size());
      st.lag_p50 = b::percentile(lags, 0.5);
      st.lag_p99 = b::percentile(lags, 0.99);
    }

    // Ingest at the leaf with the parent stopped.
    std::printf("  ingest: %d connections for %.0f s, the parent stopped\n", o.connections,
                o.ingest_seconds);
    std::fflush(stdout);
    stop(parent);
    b::LoadSpec spec;
    spec.port = leaf.port();
    spec.token = kAdmin;
    spec.connections = o.connections;
    spec.seconds = o.ingest_seconds;
    spec.first_id = next_id;
    spec.body = b::complaint_body;
    auto run = b::http_load(spec);
    next_id += run.ok + run.failed + 1000;
    st.ingest_rate = run.rate();
    st.burst = run.ok;
    st.loaded_leaf_mb = b::rss_mb(leaf.pid());
    st.peak_leaf_mb = b::peak_rss_mb(leaf.pid());

    // The parent returns: the leaf drains the burst.
    auto t_drain = Clock::now();
    start(parent, o.simpul);
    while (secs_since(t_drain) < 600 &&
           b::sqlite_scalar(
               leaf_db,
               "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = 'pending'") >
               0)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    st.drain_s = secs_since(t_drain);
    stop(leaf);
    stop(parent);
    std::printf("  start parent %.2f s, leaf %.2f s; idle RSS parent %.1f MB, leaf %.1f MB\n",
                st.start_parent_s, st.start_leaf_s, st.idle_parent_mb, st.idle_leaf_mb);
    std::printf("  lag leaf -> parent p50 %.1f ms, p99 %.1f ms (%d of %d)\n", st.lag_p50,
                st.lag_p99, st.lag_seen, o.lag_complaints);
    std::printf(
        "  leaf ingest %.0f /s (%ld in %.1f s), RSS after %.1f MB, peak %.1f MB; burst drained in "
        "%.2f s\n",
        st.ingest_rate, run.ok, run.seconds, st.loaded_leaf_mb, st.peak_leaf_mb, st.drain_s);
    std::fflush(stdout);
    steps.push_back(st);
  }
  const auto db_mb = static_cast<double>(std::filesystem::file_size(leaf_db)) / 1e6;
  std::filesystem::remove_all(dir);

  std::printf("\n%-12s %10s %10s %10s %10s %10s %10s %10s %10s\n", "stored", "ingest/s", "lag p50",
              "lag p99", "drain s", "idle leaf", "idle par.", "loaded", "start par.");
  for (const auto& s : steps)
    std::printf("%-12ld %10.0f %8.1fms %8.1fms %10.2f %8.1fMB %8.1fMB %8.1fMB %9.2fs\n", s.stored,
                s.ingest_rate, s.lag_p50, s.lag_p99, s.drain_s, s.idle_leaf_mb, s.idle_parent_mb,
                s.peak_leaf_mb, s.start_parent_s);
  const Step& lo = steps.front();
  const Step& hi = steps.back();
  std::printf("\n%-52s %10.2f   (close to 1 is flat)\n",
              "ratio ingest rate, largest / smallest store", hi.ingest_rate / lo.ingest_rate);
  std::printf("%-52s %10.2f   (close to 1 is flat)\n",
              "ratio sync lag p50, largest / smallest store", hi.lag_p50 / lo.lag_p50);
  std::printf("%-52s %10.0f MB (leaf, %ld complaints)\n", "database size", db_mb, hi.stored);

  auto label = [](long n) {
    std::string s = std::to_string(n), out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (i && (s.size() - i) % 3 == 0) out += ',';
      out += s[i];
    }
    return out + " stored";
  };
  const std::string smallest = label(lo.stored);
  for (const auto& s : steps) {
    const std::string at = label(s.stored);
    // The smallest store is the reference of the others (no ratio of its own).
    const bool first = &s == &lo;
    const std::string ref = first ? "" : "the same, " + smallest;
    b::record("growth", "leaf ingest rate, " + at, s.ingest_rate, "complaints/s", ref,
              lo.ingest_rate, first ? "" : "ratio close to 1",
              std::to_string(o.connections) + " connections, parent stopped");
    b::record("growth", "sync lag leaf -> parent p50, " + at, s.lag_p50, "ms", ref, lo.lag_p50,
              first ? "" : "ratio close to 1", std::to_string(s.lag_seen) + " complaints at 20/s");
    b::record("growth", "sync lag leaf -> parent p99, " + at, s.lag_p99, "ms", ref, lo.lag_p99);
    b::record(
        "growth", "burst drain leaf -> parent, " + at, s.burst / s.drain_s, "complaints/s",
        "the leaf's ingest rate", s.ingest_rate, "",
        std::to_string(s.burst) + " complaints, from the parent's start (incl. its start-up)");
    b::record("growth", "resident memory idle, leaf, " + at, s.idle_leaf_mb, "MB");
    b::record("growth", "resident memory idle, parent, " + at, s.idle_parent_mb, "MB");
    b::record("growth", "resident memory loaded (peak), leaf, " + at, s.peak_leaf_mb, "MB", "", 0,
              "", "peak during the closed-loop ingest");
    b::record("growth", "start-up to ready, parent, " + at, s.start_parent_s, "s");
  }
  b::record("growth", "database size, " + label(hi.stored), db_mb, "MB", "", 0, "",
            std::to_string(static_cast<long>(db_mb * 1e6 / static_cast<double>(hi.stored))) +
                " bytes per complaint");
  return 0;
}
