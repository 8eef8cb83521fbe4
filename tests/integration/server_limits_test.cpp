// The HTTP server's limits, tested with raw sockets: 413 before the body is read, slow clients
// time out, oversized headers are refused, and other clients keep being served meanwhile.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

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
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
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
  return parse_config(
      test::config_json(
          dir, "limits",
          R"(, "max_body_bytes": 4096, "header_timeout_ms": 300, "body_timeout_ms": 300)"),
      dir.file("c.json"), dir.path());
}

}  // namespace

TEST_CASE("a declared body over the limit is refused with 413 before it is sent") {
  test::TempDir dir;
  test::TestNode node(limited(dir));
  Raw raw(node.port());
  raw.send(
      "POST /v1/complaints HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
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
  raw.send("POST /v1/complaints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           std::string(test::kAdminToken) +
           "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n");
  CHECK(raw.read_until("\r\n\r\n", 250).rfind("HTTP/1.1 100 Continue", 0) == 0);
  raw.send(body);
  CHECK(raw.read_all(2000).rfind("HTTP/1.1 201", 0) == 0);
}

// ---- hostile clients --------------------------------------------------------------------------

namespace {

Config few_connections(const test::TempDir& dir) {
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  return parse_config(
      test::config_json(
          dir, "limits",
          R"(, "max_body_bytes": 4096, "header_timeout_ms": 400, "body_timeout_ms": 400, "max_connections": 16)"),
      dir.file("c.json"), dir.path());
}

// A GET /livez on a fresh connection, retried until served or `ms` pass; the time it took.
std::optional<int> served_within(std::uint16_t port, int ms) {
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count());
  };
  while (elapsed() < ms) {
    Raw raw(port);
    raw.send("GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (raw.read_all(500).rfind("HTTP/1.1 200", 0) == 0) return elapsed();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("slowloris: a header dripped a byte at a time is cut off at the header deadline") {
  test::TempDir dir;
  test::TestNode node(few_connections(dir));
  Raw loris(node.port());
  const std::string header =
      "GET /livez HTTP/1.1\r\nHost: x\r\nX-Drip: " + std::string(200, 'a') + "\r\n\r\n";
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  std::string got;
  for (char ch : header) {  // one byte every 20 ms: ~5 s for the whole header, deadline 400 ms
    loris.send(std::string(1, ch));
    got += loris.read_all(20, &closed);
    if (closed) break;
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  CHECK(closed);
  CHECK(took < 2000);  // the deadline holds for the whole header, not per byte
  CHECK(got.find("HTTP/1.1 200") == std::string::npos);  // never answered
  CHECK(served_within(node.port(), 1000));
}

TEST_CASE(
    "many idle connections: past the limit new ones are refused - idle ones time out - service "
    "resumes") {
  test::TempDir dir;
  test::TestNode node(few_connections(dir));
  std::vector<std::unique_ptr<Raw>> idle;
  for (int i = 0; i < 60; ++i) idle.push_back(std::make_unique<Raw>(node.port()));  // 16 allowed
  // All idle: each is closed by the header deadline (400 ms), so a client is served soon after,
  // while the attackers hold their sockets open.
  auto waited = served_within(node.port(), 3000);
  REQUIRE(waited);
  MESSAGE(
      "served " << *waited
                << " ms after 60 idle connections were opened (limit 16, header deadline 400 ms)");
  for (auto& r : idle) {
    bool closed = false;
    r->read_all(1500, &closed);
    CHECK(closed);
  }
  // An attacker re-opening idle connections in a loop cannot starve a real client for longer
  // than the header deadline plus the time to get a slot.
  std::atomic<bool> stop{false};
  std::thread attacker([&] {
    std::vector<std::unique_ptr<Raw>> held;
    while (!stop) {
      held.push_back(std::make_unique<Raw>(node.port()));
      if (held.size() > 200) held.erase(held.begin(), held.begin() + 100);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  int served = 0;
  for (int i = 0; i < 5; ++i)
    if (served_within(node.port(), 3000)) ++served;
  stop = true;
  attacker.join();
  CHECK(served == 5);
  // Counted for the operator (the log says it at most once a second).
  auto metrics = node.client().request("GET", "/metrics").body;
  const std::string series = "\nsimpul_http_connections_refused_total ";
  auto at = metrics.find(series);
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(metrics.substr(at + series.size())) > 44);
}

TEST_CASE(
    "request smuggling: conflicting Content-Length and Transfer-Encoding are refused - nothing "
    "hidden is served") {
  test::TempDir dir;
  test::TestNode node(limited(dir));
  const std::string auth = "Authorization: Bearer " + std::string(test::kAdminToken) + "\r\n";
  const std::string smuggled = "GET /v1/complaints HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n";
  struct Attempt {
    const char* what;
    std::string request;
  };
  std::vector<Attempt> attempts = {
      {"CL.TE",
       "POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n" +
           smuggled},
      {"TE.CL",
       "POST /livez HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
       "4\r\n\r\n5c\r\n" +
           smuggled + "\r\n0\r\n\r\n"},
      {"two lengths",
       "POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n" +
           smuggled},
      {"length list",
       "POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 0, 44\r\n\r\n" + smuggled},
      {"obfuscated TE",
       "POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: "
       "xchunked\r\n\r\n0\r\n\r\n" +
           smuggled},
      {"space before colon",
       "POST /livez HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: "
       "4\r\n\r\n0\r\n\r\n" +
           smuggled},
      {"bare LF",
       "POST /livez HTTP/1.1\nHost: x\nContent-Length: 0\nTransfer-Encoding: chunked\n\n0\n\n" +
           smuggled},
  };
  for (const auto& a : attempts) {
    CAPTURE(a.what);
    Raw raw(node.port());
    raw.send(a.request);
    bool closed = false;
    auto reply = raw.read_all(1500, &closed);
    // Refused outright, and the connection closed: the bytes after the first request are
    // never read as a second request (no complaint list leaks out of them).
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(reply.find("\"items\"") == std::string::npos);
    CHECK(reply.find("HTTP/1.1 200") == std::string::npos);
    CHECK(closed);
  }
  CHECK(served_within(node.port(), 1000));
}
