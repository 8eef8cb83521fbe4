// The HTTP server's limits, tested with raw sockets: 413 before the body is read, slow clients
// time out, oversized headers are refused, and other clients keep being served meanwhile.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "support/test_support.hpp"

using namespace simpul;

namespace {

class Raw {
 public:
  explicit Raw(std::uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~Raw() { close(fd_); }
  void send(const std::string& s) { (void)::send(fd_, s.data(), s.size(), MSG_NOSIGNAL); }
  // Reads until `marker` has arrived (or `ms` pass).
  std::string read_until(const std::string& marker, int ms) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (out.find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // Everything the server sends until it closes or `ms` pass. `closed` tells which.
  std::string read_all(int ms, bool* closed = nullptr) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    for (;;) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) break;
      char buf[4096];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    if (closed) *closed = false;
    return out;
  }

 private:
  int fd_;
};

Config limited(const test::TempDir& dir) {
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  return parse_config(test::config_json(dir, "limits", R"(, "max_body_bytes": 4096, "header_timeout_ms": 300, "body_timeout_ms": 300)"),
                      dir.file("c.json"), dir.path());
}

}  // namespace

TEST_CASE("a declared body over the limit is refused with 413 before it is sent") {
  test::TempDir dir;
  test::TestNode node(limited(dir));
  Raw raw(node.port());
  raw.send("POST /v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: 10000000\r\n\r\n");
  bool closed = false;
  auto reply = raw.read_all(2000, &closed);
  CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(reply.find("application/problem+json") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("a chunked body over the limit is cut off with 413") {
  test::TempDir dir;
  test::TestNode node(limited(dir));
  Raw raw(node.port());
  std::string chunk(3000, 'a');
  raw.send("POST /v1/complaints HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; ++i) raw.send("bb8\r\n" + chunk + "\r\n");
  auto reply = raw.read_all(2000);
  CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("slow clients time out - other clients are served meanwhile") {
  test::TempDir dir;
  test::TestNode node(limited(dir));
  Raw slow_header(node.port());
  slow_header.send("GET /livez HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  Raw slow_body(node.port());
  slow_body.send("POST /v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"ty");
  auto c = node.client();
  CHECK(c.request("GET", "/livez").status == 200);
  bool closed1 = false, closed2 = false;
  slow_header.read_all(3000, &closed1);
  slow_body.read_all(3000, &closed2);
  CHECK(closed1);
  CHECK(closed2);
  CHECK(c.request("GET", "/livez").status == 200);
}

TEST_CASE("oversized headers get 431 - garbage gets 400 - keep-alive serves many requests") {
  test::TempDir dir;
  test::TestNode node(limited(dir));
  {
    Raw raw(node.port());
    raw.send("GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    CHECK(raw.read_all(2000).rfind("HTTP/1.1 431", 0) == 0);
  }
  {
    Raw raw(node.port());
    raw.send("HELLO THERE\r\n\r\n");
    CHECK(raw.read_all(2000).rfind("HTTP/1.1 400", 0) == 0);
  }
  {
    Raw raw(node.port());
    raw.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
    auto both = raw.read_all(500);
    CHECK(both.find("\"status\":\"ok\"") != std::string::npos);
    CHECK(both.find("\"status\":\"ready\"") != std::string::npos);
  }
}

TEST_CASE("Expect: 100-continue is honoured") {
  test::TempDir dir;
  test::TestNode node(limited(dir));
  Raw raw(node.port());
  std::string body = test::sample_complaint();
  raw.send("POST /v1/complaints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(test::kAdminToken) +
           "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n");
  CHECK(raw.read_until("\r\n\r\n", 250).rfind("HTTP/1.1 100 Continue", 0) == 0);
  raw.send(body);
  CHECK(raw.read_all(2000).rfind("HTTP/1.1 201", 0) == 0);
}
