// The pieces every link shares: LinkHealth's waits and breaker, and the Supervisor that keeps a
// node loop from dying silently.

#include <doctest/doctest.h>

#include <boost/asio.hpp>
#include <stdexcept>

#include "core/metrics.hpp"
#include "relay/link_health.hpp"
#include "relay/supervisor.hpp"
#include "store/store.hpp"

using namespace simpul;
namespace asio = boost::asio;

TEST_CASE(
    "link health: Retry-After capped at an hour - the auth pause - full jitter under the cap") {
  BreakerState st;
  LinkHealth h("test", "peer", 30'000, st);
  CHECK(h.failed(LinkHealth::pushing, Failure{"http 429", false, 7}) == 7000);
  CHECK(h.failed(LinkHealth::pushing, Failure{"http 503", false, 999'999}) ==
        LinkHealth::kLongestRetryAfterMs);
  CHECK(h.failed(LinkHealth::pushing, Failure{"http 401", true}) == LinkHealth::kAuthPauseMs);
  for (int i = 0; i < 50; ++i) {
    auto d = h.failed(LinkHealth::pulling, Failure{"timeout"});
    CHECK(d >= 0);
    CHECK(d <= 30'000);
    CHECK(h.failed(LinkHealth::pulling, Failure{"timeout"}, 500) <= 500);  // a poll's own cap
  }
  CHECK(failure_of("http 403", 403, -1).auth);
  CHECK_FALSE(failure_of("http 500", 500, -1).auth);
}

TEST_CASE(
    "link health: the breaker opens after five failures in a row in one direction - closes when "
    "every direction succeeds") {
  BreakerState st;
  LinkHealth h("test", "peer", 1000, st);
  for (int i = 0; i < LinkHealth::kBreakerThreshold - 1; ++i)
    h.failed(LinkHealth::pulling, Failure{"timeout"});
  CHECK_FALSE(st.breaker_open);
  h.succeeded(LinkHealth::pushing);  // the other direction working does not reset this one
  h.failed(LinkHealth::pulling, Failure{"timeout"});
  CHECK(st.breaker_open);
  CHECK(st.consecutive_failures == LinkHealth::kBreakerThreshold);
  CHECK(st.last_error == "timeout");
  h.succeeded(LinkHealth::pulling);
  CHECK_FALSE(st.breaker_open);
  CHECK(st.last_error.empty());
}

TEST_CASE("supervisor: a loop that throws is logged - counted - shown - and started again") {
  asio::io_context ioc;
  Metrics metrics;
  Supervisor sup(ioc, metrics);
  int runs = 0;
  std::vector<Supervisor::Trouble> seen;
  sup.spawn(
      "test.loop",
      [&]() -> asio::awaitable<void> {
        ++runs;
        if (runs == 1) throw std::runtime_error("disk on fire");
        seen = sup.troubles();  // running again, within a minute of the failure
        co_return;
      },
      Supervisor::Kind::task);
  ioc.run_for(std::chrono::milliseconds(1500));
  CHECK(runs == 2);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].loop == "test.loop");
  CHECK(seen[0].error == "disk on fire");
  CHECK(sup.troubles().empty());  // a task that finished is done
  CHECK(metrics.render().find(R"(simpul_loop_failures_total{loop="test.loop"} 1)") !=
        std::string::npos);
}

TEST_CASE("supervisor: a loop that returns while the node runs is shown as stopped") {
  asio::io_context ioc;
  Metrics metrics;
  Supervisor sup(ioc, metrics);
  sup.spawn("test.quits", []() -> asio::awaitable<void> { co_return; });
  ioc.run_for(std::chrono::milliseconds(100));
  auto t = sup.troubles();
  REQUIRE(t.size() == 1);
  CHECK(t[0].state == "stopped");
}

TEST_CASE(
    "destinations: the outbox names of upstream - a child and a connector read back as the same "
    "destination") {
  for (const auto& d : {Destination::upstream(), Destination::child("kota-batam"),
                        Destination::connector("apekesah")})
    CHECK(Destination::parse(d.name()) == d);
  CHECK(Destination::child("kota-batam").name() == "child:kota-batam");
  CHECK_FALSE(Destination::parse("child:").has_value());
  CHECK_FALSE(Destination::parse("elsewhere").has_value());
}
