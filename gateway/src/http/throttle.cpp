#include "http/throttle.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/log.hpp"

namespace simpul::http {

CredentialThrottle::CredentialThrottle(Settings s, std::function<std::int64_t()> now_ms)
    : s_(s), now_ms_(std::move(now_ms)) {
  if (!now_ms_)
    now_ms_ = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  s_.burst = std::max(1, s_.burst);
  s_.per_minute = std::max(1, s_.per_minute);
}

void CredentialThrottle::refill(Bucket& b, std::int64_t now) const {
  const double per_ms = s_.per_minute / 60'000.0;
  b.tokens = std::min<double>(s_.burst, b.tokens + (now - b.refilled_at) * per_ms);
  b.refilled_at = now;
}

void CredentialThrottle::maybe_log(const std::string& client, Bucket& b, std::int64_t now) {
  if (b.logged && now - b.logged_at < static_cast<std::int64_t>(s_.log_interval_s) * 1000) return;
  log::warn("auth.failures", {{"client", client},
                              {"failures", b.failures},
                              {"refused", b.refused},
                              {"kind", b.why},
                              {"interval_s", s_.log_interval_s},
                              {"throttled", b.tokens < 1.0}});
  b.logged = true;
  b.logged_at = now;
  b.failures = 0;
  b.refused = 0;
}

void CredentialThrottle::evict_idle(std::int64_t now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    if (it->second.tokens >= s_.burst)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

int CredentialThrottle::wait_s(const std::string& client) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(client);
  if (it == buckets_.end()) return 0;
  const auto now = now_ms_();
  Bucket& b = it->second;
  refill(b, now);
  if (b.tokens >= 1.0) return 0;
  const double per_s = s_.per_minute / 60.0;
  int wait = static_cast<int>(std::ceil((1.0 - b.tokens) / per_s));
  ++b.refused;
  throttled_.fetch_add(1);
  maybe_log(client, b, now);
  return std::max(1, wait);
}

void CredentialThrottle::failed(const std::string& client, const char* why) {
  std::lock_guard lock(mu_);
  failures_.fetch_add(1);
  const auto now = now_ms_();
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= s_.max_clients) evict_idle(now);
    if (buckets_.size() >= s_.max_clients) return;  // every tracked address is failing now
    it = buckets_.emplace(client, Bucket{static_cast<double>(s_.burst), now}).first;
  }
  Bucket& b = it->second;
  refill(b, now);
  b.tokens = std::max(0.0, b.tokens - 1.0);
  ++b.failures;
  b.why = why;
  maybe_log(client, b, now);
}

std::size_t CredentialThrottle::throttled_clients() {
  std::lock_guard lock(mu_);
  const auto now = now_ms_();
  std::size_t n = 0;
  for (auto& [client, b] : buckets_) {
    refill(b, now);
    n += b.tokens < 1.0;
  }
  return n;
}

}  // namespace simpul::http
