#pragma once
// Small wrappers over OpenSSL: hashing, randomness, constant-time comparison.
// All functions are thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace simpul::crypto {

std::string sha256_hex(std::string_view data);
// Cryptographically random bytes; aborts if the system RNG fails (a broken invariant).
void random_bytes(void* out, std::size_t n);
// base64url without padding, and back (nullopt for anything that is not that).
std::string base64url(std::string_view raw);
std::optional<std::string> from_base64url(std::string_view text);
// URL-safe random token text of `bytes` random bytes (base64url without padding).
std::string random_token(std::size_t bytes);
bool constant_time_equal(std::string_view a, std::string_view b);
// HMAC-SHA256 of `data` under `key`, lowercase hex.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
std::string to_hex(const unsigned char* data, std::size_t n);

}  // namespace simpul::crypto
