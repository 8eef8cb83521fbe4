#pragma once
// The HTTP load every benchmark uses: C keep-alive connections POSTing bodies on one io thread
// of this process, closed loop (as fast as answers come back) or open loop at a fixed rate (each
// latency from the request's scheduled send time, so queueing is not hidden).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace simpul::bench {

struct LoadRun {
  long ok = 0, failed = 0;  // 201 answers; anything else (or a broken connection)
  double seconds = 0;
  std::vector<double> latencies_ms;
  double rate() const { return seconds > 0 ? ok / seconds : 0; }
};

struct LoadSpec {
  std::uint16_t port = 0;
  std::string target = "/v1/complaints";
  std::string token;  // Bearer token ("" = none)
  int connections = 64;
  double seconds = 10;
  double rate = 0;    // <= 0: closed loop
  long first_id = 0;  // request i carries body(first_id + i) and Idempotency-Key bench-<that>
  std::function<std::string(long)> body;
};

LoadRun http_load(const LoadSpec& spec);

double percentile(std::vector<double> v, double p);

// A TCP port on 127.0.0.1 that was free a moment ago (for a node that keeps its port across a
// restart, or whose port another node's config names before it starts).
std::uint16_t free_port();

// Resident memory of a process from /proc/<pid>/status: VmRSS (now) and VmHWM (peak), in MB.
double rss_mb(int pid);
double peak_rss_mb(int pid);

}  // namespace simpul::bench
