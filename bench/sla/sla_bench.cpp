// bench/sla: the SLA scheduler's scan cost does not grow with the store.
//
// Fills a leaf store with N complaints (default 1,000,000) through the ledger, as the API stores
// them, all received now (their clocks due days ahead) except 100 of the first 10,000, received
// 30 days ago (past due). Then times the scheduler's scan (Store::sla_due, 200 rows) at 10,000
// complaints and at N, median of 2,000 runs each, and compares each with a same-run reference: the
// query a scheduler without the index would run (the running clocks past due, by the projection's
// due columns, reading every row). Then times the ticks that write the 100 breaches. Target: the
// scan at N within 2x of the scan at 10,000. Never part of `make test`.
//
//   sla_bench [--complaints N] [--dir DIR]

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "ledger/ledger.hpp"
#include "simpul/calendar.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/fixtures.hpp"
#include "support/report.hpp"

namespace b = simpul::bench;
using Clock = std::chrono::steady_clock;

namespace {

double median_us(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median microseconds of `runs` calls of `f`.
template <typename F>
double time_us(int runs, F f) {
  std::vector<double> t;
  t.reserve(runs);
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  return median_us(std::move(t));
}

// The unindexed way: every complaint whose running clock is past due.
std::int64_t full_scan(const std::string& db, simpul::TimeMs now) {
  return b::sqlite_scalar(db, "SELECT count(*) FROM complaints WHERE verify_due < " +
                                  std::to_string(now) + " OR followup_due < " +
                                  std::to_string(now) + " OR autoclose_due < " +
                                  std::to_string(now));
}

}  // namespace

int main(int argc, char** argv) {
  b::set_command(argc, argv);
  long n = 1'000'000;
  std::string dir = (std::filesystem::temp_directory_path() / "simpul-sla-bench").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--complaints")
      n = std::atol(argv[i + 1]);
    else if (k == "--dir")
      dir = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: sla_bench [--complaints N] [--dir DIR]\n");
      return 64;
    }
  }
  const long small = std::min<long>(10'000, n);
  const int due_count = 100;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/leaf.db";
  simpul::SqliteStore store(simpul::StoreOptions{db, false, 5000, true});
  simpul::LedgerRules rules = b::leaf_rules();
  rules.fold.calendar = std::make_shared<const simpul::WorkingDayCalendar>(
      simpul::Zone{}, std::set<std::int64_t>{}, "weekends-only");
  simpul::Ledger ledger(store, rules);
  const simpul::TimeMs now = simpul::system_now_ms();
  simpul::NormalizeOptions nopt{simpul::Zone{}, "21.71", now};

  auto fill = [&](long from, long to) {
    auto t0 = Clock::now();
    for (long i = from; i < to; i += 512) {
      store.begin();
      for (long k = i; k < std::min(to, i + 512); ++k) {
        auto r = b::ingest_request(k, nopt, "kota-batam", "key-");
        // The past-due ones are among the first 10,000: both scans have the same rows to find,
        // and only the store around them grows.
        if (k < small && k % (small / due_count) == 0)
          r.complaint.received_at = now - 30LL * 86'400'000;
        ledger.ingest(r);
      }
      store.commit();
      if ((i / 512) % 200 == 0 && i > from)
        std::fprintf(stderr, "  %ld of %ld complaints stored\n", i, n);
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto measure = [&](long stored, const char* label) {
    std::size_t found = 0;
    double scan = time_us(2000, [&] { found = store.sla_due(now, 200).size(); });
    double reference = time_us(20, [&] { full_scan(db, now); });
    std::printf("%-10s %9ld complaints: scan %8.1f us (%zu due), full scan %10.1f us\n", label,
                stored, scan, found, reference);
    return std::make_pair(scan, reference);
  };

  std::printf("bench/sla: %ld complaints, %d past due among them\n", n, due_count);
  double s1 = fill(0, small);
  auto [scan_small, ref_small] = measure(small, "small");
  double s2 = fill(small, n);
  auto [scan_big, ref_big] = measure(n, "full");
  std::printf("stored in %.1f s\n", s1 + s2);

  // The ticks: write every breach due now.
  auto due = store.sla_due(now, 1000);
  auto t0 = Clock::now();
  store.begin();
  int written = 0;
  for (const auto& id : due) {
    std::vector<simpul::Event> events;
    ledger.sla_tick(id, now, &events);
    written += static_cast<int>(events.size());
  }
  store.commit();
  double tick_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const std::size_t left = store.sla_due(now, 1000).size();
  std::printf("ticks: %zu complaints, %d events written in %.1f ms; due after: %zu\n", due.size(),
              written, tick_ms, left);
  std::printf("scan at %ld / scan at %ld: %.2f (target <= 2)\n", n, small, scan_big / scan_small);

  b::record("sla", "scan, 200 due rows, at " + std::to_string(small) + " complaints", scan_small,
            "us", "full scan of the projection", ref_small);
  b::record("sla", "scan, 200 due rows, at " + std::to_string(n) + " complaints", scan_big, "us",
            "scan at " + std::to_string(small) + " complaints", scan_small, "<= 2x",
            "full scan at this size: " + std::to_string(static_cast<long>(ref_big)) + " us");
  b::record("sla", "ticks writing the breaches due", tick_ms / std::max<std::size_t>(due.size(), 1),
            "ms per complaint", "", 0, "", std::to_string(written) + " events");
  if (!std::getenv("SIMPUL_BENCH_KEEP")) std::filesystem::remove_all(dir);
  return left == 0 && scan_big <= 2 * scan_small ? 0 : 1;
}
