#include "support/fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>

namespace simpul::test {

namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Close so that the peer sees a reset, not an orderly end.
void close_with_rst(int fd) {
  if (fd < 0) return;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

bool send_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<std::size_t>(k);
  }
  return true;
}

}  // namespace

struct FaultProxy::Conn {
  int client = -1;
  int server = -1;
  Fault fault;
  std::atomic<bool> rst{false};  // cut(): end with a reset
};

FaultProxy::FaultProxy(std::uint16_t target_port) : target_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto a = loopback(0);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 128) != 0)
    throw std::runtime_error("fault proxy: cannot listen");
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void FaultProxy::set(Fault f) {
  std::lock_guard lock(mu_);
  fault_ = f;
}

Fault FaultProxy::current() {
  std::lock_guard lock(mu_);
  return fault_;
}

void FaultProxy::cut() {
  std::lock_guard lock(mu_);
  for (auto& c : conns_) c->rst = true;
}

void FaultProxy::accept_loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    ++accepted_;
    auto c = std::make_shared<Conn>();
    c->client = fd;
    c->fault = current();
    std::lock_guard lock(mu_);
    std::erase_if(conns_, [](const std::shared_ptr<Conn>& x) { return x->client < 0; });
    conns_.push_back(c);
    threads_.emplace_back([this, c] { serve(c); });
  }
}

void FaultProxy::serve(std::shared_ptr<Conn> c) {
  const Fault& f = c->fault;
  bool reset = f.kind == Fault::refuse;
  if (!reset && f.kind != Fault::blackhole) {
    c->server = ::socket(AF_INET, SOCK_STREAM, 0);
    auto a = loopback(target_);
    if (::connect(c->server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      reset = true;  // target down
    int one = 1;
    setsockopt(c->server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  if (!reset) pump(c, f.kind == Fault::blackhole);
  // The end: a reset where the fault (or cut) says so, otherwise an orderly close.
  if (reset || c->rst || f.kind == Fault::reset_after) {
    close_with_rst(c->client);
    close_with_rst(c->server);
  } else {
    ::close(c->client);
    if (c->server >= 0) ::close(c->server);
  }
  std::lock_guard lock(mu_);
  c->client = -1;
}

// Moves bytes both ways until either side ends, the fault ends the connection, cut() or stop.
// `discard`: read from the client and throw it away (blackhole).
void FaultProxy::pump(std::shared_ptr<Conn> c, bool discard) {
  const Fault f = c->fault;
  std::mt19937 rng(std::random_device{}());
  std::int64_t answered = 0;
  bool silent = false;  // half_open after its bytes: read and drop everything, never close
  bool server_gone = discard;
  char buf[16384];
  while (!stop_ && !c->rst) {
    pollfd p[2] = {{c->client, POLLIN, 0}, {server_gone ? -1 : c->server, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) continue;
    for (int side = 0; side < 2; ++side) {
      if (!(p[side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const bool down = side == 1;  // target -> client
      int from = down ? c->server : c->client;
      int to = down ? c->client : c->server;
      ssize_t n = ::recv(from, buf, sizeof buf, 0);
      if (n <= 0) {
        if (discard || silent) {
          if (!down) return;   // the client gave up on a silent peer
          server_gone = true;  // the target closed: still nothing reaches the client
          continue;
        }
        ::shutdown(to, SHUT_WR);  // pass the end on
        return;
      }
      if (discard || silent) continue;
      std::size_t len = static_cast<std::size_t>(n);
      if (down && (f.kind == Fault::reset_after || f.kind == Fault::half_open)) {
        len = static_cast<std::size_t>(std::clamp<std::int64_t>(f.bytes - answered, 0, n));
      }
      if (f.kind == Fault::pass && (f.latency_ms > 0 || f.jitter_ms > 0)) {
        int d = f.latency_ms;
        if (f.jitter_ms > 0)
          d += std::uniform_int_distribution<int>(-f.jitter_ms, f.jitter_ms)(rng);
        if (d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
      }
      if (len > 0 && !send_all(to, buf, len)) return;
      (down ? down_ : up_) += static_cast<std::int64_t>(len);
      if (down) answered += static_cast<std::int64_t>(len);
      if (static_cast<std::size_t>(n) > len) {  // the fault struck in this chunk
        if (f.kind == Fault::reset_after) return;
        silent = true;
      }
    }
  }
}

}  // namespace simpul::test
