#pragma once
// Browser sessions for the dashboard (/ui/): a login with a token opens one; the browser then
// holds only an opaque cookie. The table keeps, per session, the SHA-256 of the token it was
// opened with (so every request is authorized by that token as it stands now: a revoked token
// ends its sessions at once), the CSRF token the page must send back on every write, and its
// times. Sessions live in memory: a restart of the node logs everyone out, by design (nothing
// of a session is ever written to the database or its backups).
//
// Expiry: idle for `idle_ms`, or `max_ms` after login, whichever comes first. At most
// `max_sessions` are kept; a login past that ends the session idle the longest.
// Thread-safe.

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "simpul/time.hpp"

namespace simpul::http {

struct SessionOptions {
  TimeMs idle_ms = 2 * 3600 * 1000;
  TimeMs max_ms = 12 * 3600 * 1000;
  std::size_t max_sessions = 10'000;
};

class SessionTable {
 public:
  SessionTable(SessionOptions opt, std::function<TimeMs()> clock);

  struct Opened {
    std::string cookie;  // the cookie's value: 32 random bytes, base64url
    std::string csrf;    // what the page sends back in X-CSRF-Token
    TimeMs expires_at = 0;
  };
  Opened open(const std::string& token_sha256);

  struct Found {
    std::string token_sha256;
    std::string csrf;
    TimeMs expires_at = 0;  // the sooner of idle and absolute expiry, after this use
  };
  // The live session the cookie names (its idle time restarts), or nullopt.
  std::optional<Found> find(const std::string& cookie);
  void close(const std::string& cookie);
  // Ends every session opened with this token (its token was revoked or is unknown).
  void close_all_of(const std::string& token_sha256);
  std::size_t size() const;

  static constexpr const char* kCookie = "simpul_session";

 private:
  struct Entry {
    std::string token_sha256, csrf;
    TimeMs opened_at = 0, used_at = 0;
  };
  TimeMs expiry(const Entry& e) const;
  void sweep(TimeMs now);  // drops expired sessions (the lock held)

  SessionOptions opt_;
  std::function<TimeMs()> clock_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> by_key_;  // keyed by SHA-256 of the cookie value
};

// The value of cookie `name` in a Cookie header ("" when absent).
std::string cookie_value(std::string_view header, std::string_view name);

}  // namespace simpul::http
