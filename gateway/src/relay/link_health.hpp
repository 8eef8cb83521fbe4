#pragma once
// How every link to a peer (the parent, the national hub, an app an outbound connector writes
// to) waits after a failure, in one place: one backoff, one auth pause, one breaker.
//
//   wait:    the peer's Retry-After (capped at an hour); kAuthPauseMs when the peer refused the
//            credential (nothing is dead-lettered for that: an operator fixes the secret); else
//            full jitter, uniform in [0, min(max_backoff_ms, 200 ms * 2^failures)].
//   breaker: opens after kBreakerThreshold failures in a row in any direction (logged once),
//            closes at the first success in every direction (logged once). A link counts its
//            directions apart (trouble pulling must not slow pushing down).
// No Asio here: the loops that wait live in relay.cpp and the links.

#include <cstdint>
#include <random>
#include <string>

namespace simpul {

// One failed call, as far as waiting is concerned.
struct Failure {
  std::string what;        // a code or short sentence for logs and status, never a body
  bool auth = false;       // the peer refused the credential (401/403)
  int retry_after_s = -1;  // the peer's Retry-After, -1 when it sent none
};

// What status and /metrics show of a link.
struct BreakerState {
  bool breaker_open = false;
  int consecutive_failures = 0;
  std::string last_error;  // a code, never a body
};

class LinkHealth {
 public:
  enum Direction { pushing = 0, pulling = 1 };
  static constexpr int kBreakerThreshold = 5;
  static constexpr int kAuthPauseMs = 30'000;
  static constexpr int kBaseDelayMs = 200;
  static constexpr std::int64_t kLongestRetryAfterMs = 3'600'000;

  // `scope` prefixes the log lines ("upstream", "connector"); `peer` names the other side.
  LinkHealth(std::string scope, std::string peer, int max_backoff_ms, BreakerState& st);
  // Records a failure and returns the milliseconds to wait before the next try; `cap_ms`
  // (when >= 0) caps the jitter of this direction below max_backoff_ms (a poll loop never
  // waits longer than its interval).
  std::int64_t failed(Direction d, const Failure& f, std::int64_t cap_ms = -1);
  void succeeded(Direction d);
  int failures(Direction d) const { return failures_[d]; }

 private:
  std::string scope_, peer_;
  int max_backoff_ms_;
  BreakerState& st_;
  int failures_[2] = {0, 0};
  std::mt19937_64 rng_;
};

// A failure from an HTTP answer: 401/403 are auth, Retry-After kept.
Failure failure_of(std::string what, int http_status, int retry_after_s);

}  // namespace simpul
