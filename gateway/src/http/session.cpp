#include "http/session.hpp"

#include <algorithm>

#include "core/crypto.hpp"

namespace simpul::http {

SessionTable::SessionTable(SessionOptions opt, std::function<TimeMs()> clock)
    : opt_(opt), clock_(std::move(clock)) {}

TimeMs SessionTable::expiry(const Entry& e) const {
  return std::min(e.used_at + opt_.idle_ms, e.opened_at + opt_.max_ms);
}

void SessionTable::sweep(TimeMs now) {
  for (auto it = by_key_.begin(); it != by_key_.end();)
    it = expiry(it->second) <= now ? by_key_.erase(it) : std::next(it);
}

SessionTable::Opened SessionTable::open(const std::string& token_sha256) {
  Opened o;
  o.cookie = crypto::random_token(32);
  o.csrf = crypto::random_token(32);
  const TimeMs now = clock_();
  std::lock_guard lock(mu_);
  sweep(now);
  while (!by_key_.empty() && by_key_.size() >= opt_.max_sessions) {
    auto oldest = std::min_element(
        by_key_.begin(), by_key_.end(),
        [](const auto& a, const auto& b) { return a.second.used_at < b.second.used_at; });
    by_key_.erase(oldest);
  }
  Entry e{token_sha256, o.csrf, now, now};
  o.expires_at = expiry(e);
  by_key_[crypto::sha256_hex(o.cookie)] = std::move(e);
  return o;
}

std::optional<SessionTable::Found> SessionTable::find(const std::string& cookie) {
  if (cookie.empty()) return std::nullopt;
  const TimeMs now = clock_();
  const std::string key = crypto::sha256_hex(cookie);
  std::lock_guard lock(mu_);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return std::nullopt;
  if (expiry(it->second) <= now) {
    by_key_.erase(it);
    return std::nullopt;
  }
  it->second.used_at = now;
  return Found{it->second.token_sha256, it->second.csrf, expiry(it->second)};
}

void SessionTable::close(const std::string& cookie) {
  std::lock_guard lock(mu_);
  by_key_.erase(crypto::sha256_hex(cookie));
}

void SessionTable::close_all_of(const std::string& token_sha256) {
  std::lock_guard lock(mu_);
  for (auto it = by_key_.begin(); it != by_key_.end();)
    it = it->second.token_sha256 == token_sha256 ? by_key_.erase(it) : std::next(it);
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mu_);
  return by_key_.size();
}

std::string cookie_value(std::string_view header, std::string_view name) {
  // Cookie: a=1; b=2 (RFC 6265 section 5.4): pairs split at ';', optional spaces.
  std::size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ';')) ++i;
    std::size_t end = header.find(';', i);
    if (end == std::string_view::npos) end = header.size();
    std::string_view pair = header.substr(i, end - i);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view v = pair.substr(eq + 1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return std::string(v);
    }
    i = end + 1;
  }
  return "";
}

}  // namespace simpul::http
