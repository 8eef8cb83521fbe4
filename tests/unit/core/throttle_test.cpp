// Failed credentials throttled per client address (http/throttle.hpp), on a clock the test
// moves.

#include "http/throttle.hpp"

#include <doctest/doctest.h>

#include <mutex>
#include <string>

#include "core/log.hpp"

using namespace simpul;
using http::CredentialThrottle;

TEST_CASE(
    "throttle: an address that fails its burst must wait - the wait shrinks as its bucket "
    "refills - another address is never slowed") {
  std::int64_t now = 1'000'000;
  CredentialThrottle t({5, 6, 60}, [&now] { return now; });
  for (int i = 0; i < 5; ++i) {
    CHECK(t.wait_s("198.51.100.7") == 0);
    t.failed("198.51.100.7", "bearer");
  }
  // Six a minute: one failure back every 10 s.
  CHECK(t.wait_s("198.51.100.7") == 10);
  CHECK(t.wait_s("203.0.113.9") == 0);  // not one of its failures
  CHECK(t.throttled_clients() == 1);
  now += 4'000;
  CHECK(t.wait_s("198.51.100.7") == 6);
  now += 6'000;
  CHECK(t.wait_s("198.51.100.7") == 0);  // one attempt again
  t.failed("198.51.100.7", "bearer");
  CHECK(t.wait_s("198.51.100.7") == 10);
  CHECK(t.failures() == 6);
  CHECK(t.throttled() == 3);  // each positive answer was a refused attempt
  // A full bucket again after the burst's worth of refill.
  now += 60'000;
  CHECK(t.wait_s("198.51.100.7") == 0);
  CHECK(t.throttled_clients() == 0);
}

TEST_CASE(
    "throttle: failures are logged once per interval per address with the count since the "
    "last line") {
  std::mutex mu;
  std::string lines;
  log::set_sink([&](std::string_view l) {
    std::lock_guard lock(mu);
    lines += std::string(l) + "\n";
  });
  std::int64_t now = 0;
  CredentialThrottle t({100, 6, 60}, [&now] { return now; });
  for (int i = 0; i < 50; ++i) {
    t.failed("198.51.100.7", "bearer");
    now += 100;
  }
  now += 60'000;
  t.failed("198.51.100.7", "bearer");  // the interval passed: the next line, with the count
  log::set_sink(nullptr);
  std::size_t n = 0;
  for (std::size_t at = lines.find("auth.failures"); at != std::string::npos;
       at = lines.find("auth.failures", at + 1))
    ++n;
  CHECK(n == 2);
  CHECK(lines.find("\"failures\":1,") != std::string::npos);   // the first failure, at once
  CHECK(lines.find("\"failures\":50,") != std::string::npos);  // the 49 after it and this one
  CHECK(lines.find("\"client\":\"198.51.100.7\"") != std::string::npos);
}

TEST_CASE("throttle: the addresses tracked are bounded - idle ones are forgotten first") {
  std::int64_t now = 0;
  CredentialThrottle t({2, 60, 60, 3}, [&now] { return now; });
  t.failed("a", "bearer");
  t.failed("b", "bearer");
  now += 10'000;  // a and b have refilled: idle
  t.failed("c", "bearer");
  t.failed("c", "bearer");
  t.failed("d", "bearer");
  t.failed("e", "bearer");  // a and b were dropped to make room
  t.failed("e", "bearer");
  CHECK(t.wait_s("c") > 0);
  CHECK(t.wait_s("e") > 0);
  CHECK(t.wait_s("a") == 0);
}
