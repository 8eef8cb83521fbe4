#pragma once
// A running Simpul node: config, stores, group commit, HTTP API, all on one io_context.
//
// Threads: one io thread runs the HTTP sessions and every read (against its own read-only use
// connection); one writer thread (CommitQueue) does every write. Construction opens and
// migrates the database and resolves secrets, so configuration problems surface before the
// port is bound (ConfigError, StoreError).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"

namespace simpul {

// Loads the TLS certificate, key and CA files the config names, as the node would at start.
// Throws ConfigError with the pointer of the setting (for `simpul check` and Node itself).
void check_tls(const Config& cfg);

class Node {
 public:
  explicit Node(Config cfg, std::function<TimeMs()> clock = system_now_ms);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds the listening socket (port 0 picks a free one).
  void start();
  std::uint16_t port() const;
  // Every route the node serves, as (method, pattern).
  std::vector<std::pair<std::string, std::string>> routes() const;
  // Runs until stop(), SIGINT or SIGTERM. Writes still queued are committed before it returns.
  void run();
  // start() and run() on an internal thread (tests, the demo).
  void start_background();
  // Thread-safe; returns once the node has stopped.
  void stop();
  const Config& config() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace simpul
