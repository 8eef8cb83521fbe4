#include "relay/supervisor.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <chrono>

#include "core/log.hpp"
#include "core/metrics.hpp"

namespace simpul {

namespace asio = boost::asio;

namespace {
constexpr int kFirstRestartMs = 1000;
constexpr int kLongestRestartMs = 60'000;
// A loop that ran this long before it failed starts its restart wait from the beginning.
constexpr auto kHealthyRun = std::chrono::minutes(1);
}  // namespace

struct Supervisor::Impl : std::enable_shared_from_this<Supervisor::Impl> {
  Impl(asio::io_context& ioc, Metrics& metrics) : ioc(ioc), metrics(metrics) {}

  struct Loop {
    std::string name;
    std::function<asio::awaitable<void>()> make;
    Kind kind = Kind::loop;
    int failures = 0;  // in a row
    std::string state = "running", error;
    std::chrono::steady_clock::time_point started;
    std::unique_ptr<asio::steady_timer> timer;
  };

  asio::io_context& ioc;
  Metrics& metrics;
  bool stopping = false;
  std::vector<std::shared_ptr<Loop>> loops;

  void run(const std::shared_ptr<Loop>& loop) {
    loop->state = "running";
    loop->started = std::chrono::steady_clock::now();
    auto self = shared_from_this();
    asio::co_spawn(ioc, loop->make(),
                   [self, loop](std::exception_ptr ep) { self->ended(loop, ep); });
  }

  void ended(const std::shared_ptr<Loop>& loop, std::exception_ptr ep) {
    if (stopping) return;
    if (!ep && loop->kind == Kind::task) {
      loop->state = "done";
      loop->failures = 0;
      return;
    }
    if (!ep) {
      loop->state = "stopped";
      loop->error = "the loop returned";
      log::error("loop.ended", {{"loop", loop->name}});
      return;
    }
    std::string what;
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "an exception that is not a std::exception";
    }
    if (std::chrono::steady_clock::now() - loop->started > kHealthyRun) loop->failures = 0;
    ++loop->failures;
    const int delay =
        std::min(kLongestRestartMs, kFirstRestartMs << std::min(loop->failures - 1, 6));
    loop->state = "restarting";
    loop->error = what;
    metrics.add("simpul_loop_failures_total", Metrics::labels({{"loop", loop->name}}));
    log::error("loop.failed", {{"loop", loop->name}, {"error", what}, {"restart_in_ms", delay}});
    loop->timer->expires_after(std::chrono::milliseconds(delay));
    auto self = shared_from_this();
    loop->timer->async_wait([self, loop](const boost::system::error_code& ec) {
      if (!ec && !self->stopping) self->run(loop);
    });
  }
};

Supervisor::Supervisor(asio::io_context& ioc, Metrics& metrics)
    : impl_(std::make_shared<Impl>(ioc, metrics)) {
  metrics.describe(
      "simpul_loop_failures_total", "counter",
      "Times a node loop (relay, pull, poll) ended by an error and was started again.");
}

Supervisor::~Supervisor() { stop(); }

void Supervisor::spawn(std::string name, std::function<asio::awaitable<void>()> make, Kind kind) {
  auto loop = std::make_shared<Impl::Loop>();
  loop->name = std::move(name);
  loop->make = std::move(make);
  loop->kind = kind;
  loop->timer = std::make_unique<asio::steady_timer>(impl_->ioc);
  impl_->loops.push_back(loop);
  impl_->metrics.add("simpul_loop_failures_total", Metrics::labels({{"loop", loop->name}}), 0);
  impl_->run(loop);
}

void Supervisor::stop() {
  impl_->stopping = true;
  for (auto& l : impl_->loops) l->timer->cancel();
}

std::vector<Supervisor::Trouble> Supervisor::troubles() const {
  std::vector<Trouble> out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& l : impl_->loops) {
    if (l->state == "done") continue;
    if (l->state == "running" && (l->failures == 0 || now - l->started > kHealthyRun)) continue;
    out.push_back({l->name, l->state == "running" ? "recovering" : l->state, l->error});
  }
  return out;
}

std::vector<std::string> Supervisor::names() const {
  std::vector<std::string> out;
  for (const auto& l : impl_->loops) out.push_back(l->name);
  return out;
}

}  // namespace simpul
