#pragma once
// Failed credentials, throttled per client address: a wrong bearer token, an unknown session
// cookie, a dashboard login with a token that does not exist. Each address has a bucket of
// `burst` failures that refills at `per_minute`; an address whose bucket is empty is answered
// 429 with Retry-After for every credential it presents, before the credential is looked at (so
// a guess costs the node nothing, and a right guess cannot be told from a wrong one while
// throttled). Only failures take from the bucket: a client whose credential is valid never
// loses anything, and an address is never slowed by what another address does.
//
// The failures are counted (simpul_auth_failures_total, simpul_auth_throttled_total) and
// logged as `auth.failures` (warn) once per `log_interval_s` per address, with the number of
// failures and refused attempts since the address's previous line; the first failure of an
// address is logged at once.
//
// Thread-safe (one mutex; a lookup is a hash-map probe).

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace simpul::http {

class CredentialThrottle {
 public:
  struct Settings {
    int burst = 10;                     // failures an address may make at once
    int per_minute = 6;                 // failures it may make per minute after that
    int log_interval_s = 60;            // at most one auth.failures line per address per interval
    std::size_t max_clients = 100'000;  // addresses tracked at once (the rest are not throttled)
  };
  // `now_ms`: a monotonic clock in milliseconds (a test passes its own).
  explicit CredentialThrottle(Settings s, std::function<std::int64_t()> now_ms = {});

  // Seconds `client` must wait before it may present a credential again; 0: it may now. A
  // positive answer counts as a refused attempt.
  int wait_s(const std::string& client);
  // A credential from `client` failed; `why` names the kind ("bearer", "session", "login").
  void failed(const std::string& client, const char* why);

  std::uint64_t failures() const { return failures_.load(); }
  std::uint64_t throttled() const { return throttled_.load(); }
  std::size_t throttled_clients();  // addresses that must wait now
  const Settings& settings() const { return s_; }

 private:
  struct Bucket {
    double tokens = 0;
    std::int64_t refilled_at = 0;
    std::int64_t logged_at = 0;
    std::uint64_t failures = 0, refused = 0;  // since the address's last log line
    bool logged = false;
    const char* why = "";
  };
  void refill(Bucket& b, std::int64_t now) const;
  void maybe_log(const std::string& client, Bucket& b, std::int64_t now);
  void evict_idle(std::int64_t now);

  Settings s_;
  std::function<std::int64_t()> now_ms_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  std::atomic<std::uint64_t> failures_{0}, throttled_{0};
};

}  // namespace simpul::http
