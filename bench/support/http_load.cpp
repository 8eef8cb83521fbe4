#include "support/http_load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <fstream>

namespace simpul::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

LoadRun http_load(const LoadSpec& spec) {
  asio::io_context ioc{1};
  LoadRun run;
  long next = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(spec.seconds));
  auto worker = [&]() -> asio::awaitable<void> {
    beast::tcp_stream stream(ioc);
    co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), spec.port),
                                  asio::use_awaitable);
    stream.socket().set_option(tcp::no_delay(true));
    beast::flat_buffer buf;
    asio::steady_timer timer(ioc);
    for (;;) {
      long i = next++;
      auto scheduled = Clock::now();
      if (spec.rate > 0) {
        scheduled = start + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>(i / spec.rate));
        if (scheduled >= end) co_return;
        timer.expires_at(scheduled);
        co_await timer.async_wait(asio::use_awaitable);
      } else if (scheduled >= end) {
        co_return;
      }
      bhttp::request<bhttp::string_body> req{bhttp::verb::post, spec.target, 11};
      req.set(bhttp::field::host, "127.0.0.1");
      if (!spec.token.empty()) req.set(bhttp::field::authorization, "Bearer " + spec.token);
      req.set(bhttp::field::content_type, "application/json");
      req.set("Idempotency-Key", "bench-" + std::to_string(spec.first_id + i));
      req.body() = spec.body(spec.first_id + i);
      req.prepare_payload();
      co_await bhttp::async_write(stream, req, asio::use_awaitable);
      bhttp::response<bhttp::string_body> res;
      co_await bhttp::async_read(stream, buf, res, asio::use_awaitable);
      auto done = Clock::now();
      if (res.result_int() == 201) {
        ++run.ok;
        run.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(done - scheduled).count());
      } else {
        ++run.failed;
      }
    }
  };
  for (int c = 0; c < spec.connections; ++c)
    asio::co_spawn(ioc, worker(), [&](std::exception_ptr e) {
      if (e) ++run.failed;
    });
  ioc.run();
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return run;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

namespace {
double status_mb(int pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0)
      return std::stod(line.substr(key.size() + 1)) / 1024.0;  // kB
  return 0;
}
}  // namespace

double rss_mb(int pid) { return status_mb(pid, "VmRSS"); }
double peak_rss_mb(int pid) { return status_mb(pid, "VmHWM"); }

}  // namespace simpul::bench
