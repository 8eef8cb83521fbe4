// bench/storage: what a stored complaint costs on disk, next to the size of its JSON document.
//
// Stores N complaints (default 100,000) the way the API stores them at a leaf: the same
// ~500-byte document as bench/ingest, an Idempotency-Key, the raw payload, the `created` event,
// the projection, the ref and the upstream outbox row, through the ledger in batches of 512 (a
// group commit's size), WAL, synchronous=NORMAL (durability does not change the size). Then
// closes the store (the WAL is checkpointed into the file) and prints the file's bytes per
// complaint, the document's bytes, their ratio (target <= 3), and each table's and index's share
// (SQLite's dbstat). Never part of `make test`.
//
//   storage_bench [--complaints N] [--dir DIR] [--full-text 1|0]
//   (SIMPUL_BENCH_KEEP=1 leaves DIR/leaf.db behind, to look into with the sqlite3 shell)

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

#include "ledger/ledger.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/fixtures.hpp"
#include "support/report.hpp"

namespace b = simpul::bench;

int main(int argc, char** argv) {
  b::set_command(argc, argv);
  long n = 100'000;
  bool full_text = true;
  std::string dir = (std::filesystem::temp_directory_path() / "simpul-storage-bench").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--complaints")
      n = std::atol(argv[i + 1]);
    else if (k == "--dir")
      dir = argv[i + 1];
    else if (k == "--full-text")
      full_text = std::string(argv[i + 1]) != "0";
    else {
      std::fprintf(stderr, "usage: storage_bench [--complaints N] [--dir DIR] [--full-text 1|0]\n");
      return 64;
    }
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/leaf.db";
  double doc_bytes = 0;
  {
    simpul::StoreOptions so{db, false, 5000, true};
    so.full_text = full_text;
    simpul::SqliteStore store(so);
    simpul::Ledger ledger(store, b::leaf_rules());
    simpul::NormalizeOptions nopt{simpul::Zone{}, "21.71", simpul::system_now_ms()};
    for (long i = 0; i < n; i += 512) {
      store.begin();
      for (long k = i; k < std::min(n, i + 512); ++k) {
        auto r = b::ingest_request(k, nopt, "kota-batam", "key-");
        doc_bytes += static_cast<double>(r.raw_body.size());
        ledger.ingest(r);
      }
      store.commit();
    }
  }
  const double file = static_cast<double>(std::filesystem::file_size(db));
  const double per = file / static_cast<double>(n), doc = doc_bytes / static_cast<double>(n);
  std::printf("bench/storage: %ld complaints, store %.1f MB\n", n, file / 1e6);
  std::printf("  %-40s %10.0f bytes\n", "on disk per complaint", per);
  std::printf("  %-40s %10.0f bytes\n", "its JSON document", doc);
  std::printf("  %-40s %10.2f x     (target <= 3)\n", "ratio", per / doc);

  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC",
                           -1, &st, nullptr) == SQLITE_OK) {
      std::printf("  per complaint, by table and index (dbstat):\n");
      while (sqlite3_step(st) == SQLITE_ROW)
        std::printf("    %-36s %10.0f bytes\n",
                    reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                    static_cast<double>(sqlite3_column_int64(st, 1)) / static_cast<double>(n));
    } else {
      std::printf("  (this SQLite has no dbstat table: no breakdown)\n");
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
  }
  b::record("storage",
            "bytes on disk per complaint, " + std::to_string(n) + " stored" +
                (full_text ? "" : ", store.full_text off"),
            per, "bytes", "its JSON document", doc, "at most 3",
            "ledger ingest as the API stores it, leaf with a parent");
  if (!std::getenv("SIMPUL_BENCH_KEEP")) std::filesystem::remove_all(dir);
  return 0;
}
