// The context the node lends a connector instance (connectors/context.hpp), on a real io
// context: blocking work runs on the instance's worker thread while the io thread goes on,
// its result comes back on the io thread, an exception arrives as a problem, nothing calls the
// connector back once the context stopped, and counters and log lines carry the instance's id.

#include "connectors/context.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "core/log.hpp"

using namespace simpul;

namespace {

NodeConnectorContext::Fetcher no_network() {
  return [](FetchRequest, std::function<void(Result<FetchResponse>)> done) {
    done(make_problem(errc::unavailable, "", "connect", "no network in this test"));
  };
}

}  // namespace

TEST_CASE(
    "connector context: blocking work runs on the worker thread while the io thread goes on") {
  boost::asio::io_context ioc;
  Metrics metrics;
  NodeConnectorContext ctx(ioc, "db", metrics, system_now_ms, no_network());
  const auto io_thread = std::this_thread::get_id();
  std::atomic<bool> released{false};
  std::thread::id work_thread, done_thread;
  std::optional<Result<int>> got;
  // The job waits for a timer that only the io thread can fire: were the job run on the io
  // thread, the timer would never come and the job would give up after 5 s.
  ctx.blocking<int>(
      [&]() -> Result<int> {
        work_thread = std::this_thread::get_id();
        for (int i = 0; i < 500 && !released; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        if (!released) return make_problem(errc::timeout, "", "test", "the io thread was blocked");
        return 7;
      },
      [&](Result<int> r) {
        done_thread = std::this_thread::get_id();
        got = std::move(r);
        ioc.stop();
      });
  ctx.after(20, [&] { released = true; });
  ioc.run_for(std::chrono::seconds(10));
  REQUIRE(got.has_value());
  REQUIRE(got->has_value());
  CHECK(**got == 7);
  CHECK(work_thread != io_thread);
  CHECK(done_thread == io_thread);
}

TEST_CASE("connector context: an exception in blocking work arrives as a problem") {
  boost::asio::io_context ioc;
  Metrics metrics;
  NodeConnectorContext ctx(ioc, "db", metrics, system_now_ms, no_network());
  std::optional<Result<std::string>> got;
  ctx.blocking<std::string>(
      []() -> Result<std::string> { throw std::runtime_error("driver gone"); },
      [&](Result<std::string> r) {
        got = std::move(r);
        ioc.stop();
      });
  ioc.run_for(std::chrono::seconds(10));
  REQUIRE(got.has_value());
  REQUIRE_FALSE(got->has_value());
  CHECK(got->error().code == errc::unavailable);
  CHECK(got->error().detail == "driver gone");
}

TEST_CASE(
    "connector context: stopping finishes the running job and answers the waiting ones without "
    "running them") {
  boost::asio::io_context ioc;
  Metrics metrics;
  NodeConnectorContext ctx(ioc, "db", metrics, system_now_ms, no_network());
  std::atomic<int> ran{0};
  std::vector<Result<int>> answers;
  std::atomic<bool> started{false};
  ctx.blocking<int>(
      [&]() -> Result<int> {
        started = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ++ran;
        return 1;
      },
      [&](Result<int> r) { answers.push_back(std::move(r)); });
  ctx.blocking<int>([&]() -> Result<int> { return ++ran; },
                    [&](Result<int> r) { answers.push_back(std::move(r)); });
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ctx.stop();  // waits for the running job; the second one does not run
  ctx.blocking<int>([&]() -> Result<int> { return ++ran; },
                    [&](Result<int> r) { answers.push_back(std::move(r)); });  // after stop
  ioc.run_for(std::chrono::seconds(2));
  CHECK(ran == 1);
  REQUIRE(answers.size() == 3);  // every job is answered once, in order
  REQUIRE(answers[0].has_value());
  CHECK(*answers[0] == 1);
  for (int i : {1, 2}) {
    REQUIRE_FALSE(answers[i].has_value());
    CHECK(answers[i].error().rule == "stopping");
  }
}

TEST_CASE("connector context: nothing calls the connector back once the context is gone") {
  boost::asio::io_context ioc;
  Metrics metrics;
  int called = 0;
  std::function<void(Result<FetchResponse>)> parked;
  {
    NodeConnectorContext ctx(
        ioc, "db", metrics, system_now_ms,
        [&](FetchRequest, std::function<void(Result<FetchResponse>)> done) { parked = done; });
    ctx.after(1, [&] { ++called; });
    ctx.fetch(FetchRequest{}, [&](Result<FetchResponse>) { ++called; });
    ctx.blocking<int>([]() -> Result<int> { return 1; }, [&](Result<int>) { ++called; });
  }  // the context goes (its connector is about to)
  REQUIRE(parked);
  parked(FetchResponse{});  // the answer comes back late
  ioc.run_for(std::chrono::milliseconds(200));
  CHECK(called == 0);
}

TEST_CASE("connector context: counters and log lines carry the connector id") {
  boost::asio::io_context ioc;
  Metrics metrics;
  NodeConnectorContext ctx(ioc, "ape-kesah", metrics, system_now_ms, no_network());
  ctx.count("pages");
  ctx.count("pages", 2);
  CHECK(metrics.render().find("simpul_connector_pages_total{connector=\"ape-kesah\"} 3") !=
        std::string::npos);
  std::mutex mu;
  std::string lines;
  log::set_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    lines.append(line);
  });
  ctx.log_warn("connector.slow", "the app took 9 s");
  log::set_sink(nullptr);
  CHECK(lines.find("\"connector\":\"ape-kesah\"") != std::string::npos);
  CHECK(lines.find("connector.slow") != std::string::npos);
}
