#pragma once
// A fault-injecting TCP proxy for tests: listens on 127.0.0.1:<port> and forwards each
// connection to 127.0.0.1:<target>, doing to the bytes what the current fault says. Plain
// sockets and one thread per direction of each connection: it sits below HTTP, so what the
// node under test meets is a real broken network, not a scripted HTTP answer.
//
// Faults (set at any time; each new connection takes the fault in force when it opens, so a
// test that wants kept-alive connections to meet it too calls cut() after set()):
//   pass            forward, after latency_ms +- jitter_ms per chunk (order kept)
//   reset_after     forward `bytes` bytes of the answer, then RST both sides
//   half_open       forward `bytes` bytes of the answer, then go silent: nothing more either
//                   way and no FIN (a peer that vanished, or a NAT that forgot the flow)
//   blackhole       accept and read everything, never answer and never close (a parent that
//                   accepts and never answers)
//   refuse          accept and RST at once
// cut() RSTs every connection open now (a link that dropped everything in flight).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace simpul::test {

struct Fault {
  enum Kind { pass, reset_after, half_open, blackhole, refuse } kind = pass;
  std::int64_t bytes = 0;  // reset_after, half_open: answer bytes let through first
  int latency_ms = 0;      // pass: added to each chunk, both directions
  int jitter_ms = 0;       // pass: +- uniformly random on top of latency_ms
};

class FaultProxy {
 public:
  explicit FaultProxy(std::uint16_t target_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const { return port_; }
  void set(Fault f);
  void cut();
  int connections() const { return accepted_; }      // accepted since start
  std::int64_t bytes_up() const { return up_; }      // client -> target, forwarded
  std::int64_t bytes_down() const { return down_; }  // target -> client, forwarded

 private:
  struct Conn;
  void accept_loop();
  void serve(std::shared_ptr<Conn> c);
  void pump(std::shared_ptr<Conn> c, bool downstream);
  Fault current();

  std::uint16_t target_;
  std::uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::atomic<std::int64_t> up_{0}, down_{0};
  std::mutex mu_;
  Fault fault_;
  std::vector<std::shared_ptr<Conn>> conns_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace simpul::test
