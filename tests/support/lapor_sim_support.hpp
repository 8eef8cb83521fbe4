#pragma once
// The SP4N-LAPOR! simulator on its own io thread, for tests: client "kepri" with a known
// secret, an admin token, one topic ("3"), the faults a test asks for.

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/client.hpp"
#include "lapor/simulator.hpp"
#include "support/test_support.hpp"

namespace simpul::test {

inline constexpr const char* kSimClientSecret = "kepri-secret-0123456789";
inline constexpr const char* kSimAdmin = "lapor-admin-0123456789";

struct LaporSim {
  TempDir dir;
  boost::asio::io_context ioc;
  std::unique_ptr<lapor::Simulator> sim;
  std::thread thread;

  // port 0: any free port. `store`: a database path to use instead of a fresh one (a hub that
  // restarts keeps its reports).
  explicit LaporSim(
      lapor::SimFaults faults = {}, int ttl_s = 3600, std::uint16_t port = 0,
      const std::string& store = "",
      std::string topics = R"([{"id": "3", "parent": "0", "topic_name": "Infrastruktur"}])") {
    lapor::SimConfig cfg;
    cfg.port = port;
    cfg.store_path = store.empty() ? dir.file("lapor.db") : store;
    cfg.clients = {{"kepri", kSimClientSecret}};
    cfg.admin_token = kSimAdmin;
    cfg.token_ttl_s = ttl_s;
    cfg.topics_json = std::move(topics);
    cfg.faults = faults;
    sim = std::make_unique<lapor::Simulator>(ioc, cfg);
    sim->start();
    thread = std::thread([this] { ioc.run(); });
  }
  ~LaporSim() {
    ioc.stop();
    thread.join();
  }
  std::uint16_t port() const { return sim->port(); }
  http::Client client(int timeout_ms = 5000) {
    return http::Client("127.0.0.1", sim->port(), timeout_ms);
  }
  std::vector<http::Header> admin() {
    return {{"authorization", std::string("Bearer ") + kSimAdmin}};
  }
};

}  // namespace simpul::test
