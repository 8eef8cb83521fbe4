#include "core/uuid.hpp"

#include <cstdint>
#include <string>

#include "core/crypto.hpp"

namespace simpul {

namespace {

std::string format_v7(unsigned char (&b)[16], TimeMs now) {
  auto ms = static_cast<std::uint64_t>(now);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>(0x70 | (b[6] & 0x0f));
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3f));
  std::string hex = crypto::to_hex(b, sizeof b);
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20);
}

}  // namespace

std::string make_uuid_v7(TimeMs now) {
  unsigned char b[16];
  crypto::random_bytes(b, sizeof b);
  return format_v7(b, now);
}

std::string derived_uuid_v7(TimeMs at, std::string_view name) {
  const std::string digest = crypto::sha256_hex(name);
  unsigned char b[16];
  for (int i = 0; i < 16; ++i)
    b[i] = static_cast<unsigned char>(std::stoi(digest.substr(2 * i, 2), nullptr, 16));
  return format_v7(b, at);
}

std::string make_uuid_v7() { return make_uuid_v7(system_now_ms()); }

bool is_uuid_v7(std::string_view s) noexcept {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return s[14] == '7' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

}  // namespace simpul
