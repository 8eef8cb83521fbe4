#include "relay/link_health.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace simpul {

LinkHealth::LinkHealth(std::string scope, std::string peer, int max_backoff_ms, BreakerState& st)
    : scope_(std::move(scope)),
      peer_(std::move(peer)),
      max_backoff_ms_(max_backoff_ms),
      st_(st),
      rng_(std::random_device{}()) {}

std::int64_t LinkHealth::failed(Direction d, const Failure& f, std::int64_t cap_ms) {
  int& failures = failures_[d];
  ++failures;
  st_.consecutive_failures = std::max(failures_[0], failures_[1]);
  st_.last_error = f.what;
  if (failures >= kBreakerThreshold && !st_.breaker_open) {
    st_.breaker_open = true;
    log::warn(scope_ + ".breaker_open", {{"peer", peer_}, {"error", f.what}});
  }
  if (f.auth) return kAuthPauseMs;
  if (f.retry_after_s >= 0)
    return std::min<std::int64_t>(f.retry_after_s * 1000LL, kLongestRetryAfterMs);
  const int shift = std::min(failures, 20);
  std::int64_t cap =
      std::min<std::int64_t>(max_backoff_ms_, static_cast<std::int64_t>(kBaseDelayMs) << shift);
  if (cap_ms >= 0) cap = std::min(cap, cap_ms);
  return std::uniform_int_distribution<std::int64_t>(0, cap)(rng_);
}

void LinkHealth::succeeded(Direction d) {
  failures_[d] = 0;
  st_.consecutive_failures = std::max(failures_[0], failures_[1]);
  if (st_.consecutive_failures == 0) {
    if (st_.breaker_open) log::info(scope_ + ".breaker_closed", {{"peer", peer_}});
    st_.breaker_open = false;
    st_.last_error.clear();
  }
}

Failure failure_of(std::string what, int http_status, int retry_after_s) {
  return Failure{std::move(what), http_status == 401 || http_status == 403, retry_after_s};
}

}  // namespace simpul
