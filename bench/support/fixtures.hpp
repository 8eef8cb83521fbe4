#pragma once
// What several benchmarks share besides the HTTP load: the complaint they send, the request the
// server's writer would make of it, a `simpul serve` child process, and one value read from a
// SQLite file.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/normalize.hpp"
#include "ledger/ledger.hpp"

namespace simpul::bench {

// A realistic complaint (~500 bytes, reporter with a phone, location, ref bench:<n>).
std::string complaint_body(long n);

// What the server's writer stores for complaint_body(n) posted with Idempotency-Key
// <key_prefix><n> by the admin token at node `origin`.
IngestRequest ingest_request(long n, const NormalizeOptions& nopt, const std::string& origin,
                             const std::string& key_prefix);

// The ledger's rules at a leaf that has a parent: kota-batam under provinsi-kepri (every event
// gets an upstream outbox row), as the benchmarks that prefill a leaf's store write it.
LedgerRules leaf_rules();

// `simpul serve --config FILE --ready-file READY`, stdout to /dev/null.
struct ServeChild {
  pid_t pid = -1;
  std::uint16_t port = 0;
  // Starts and waits until ready (at most 300 s). Returns the seconds it took; throws when the
  // process exits or never gets ready.
  double start(const std::string& simpul, const std::string& config, const std::string& ready);
  // SIGTERM and wait; the child's peak RSS in KiB (0 when it was not running).
  long stop();
};

// `simpul import --config CONFIG --connector CONNECTOR CSV` as a child process: the wall
// seconds it took, and its peak RSS in KiB through `peak_kib`. Throws when it fails.
double run_import(const std::string& simpul, const std::string& config,
                  const std::string& connector, const std::string& csv, long& peak_kib);

// Runs `simpul ARGS...` (the binary at `simpul`) and appends its standard output to `out`;
// returns the exit status as pclose gives it.
int run_cli(const std::string& simpul, const std::vector<std::string>& args, std::string* out);

// The first column of the first row of `sql` in the SQLite file `db` (read-only), -1 when none.
std::int64_t sqlite_scalar(const std::string& db, const std::string& sql);

}  // namespace simpul::bench
