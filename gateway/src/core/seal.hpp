#pragma once
// Sealing: AES-256-GCM (OpenSSL) for what the store keeps encrypted at rest, a reporter's
// identity and a source's raw payload (docs/operations.md, "Personal data at rest"). A key is
// 32 random bytes written as 64 hex characters (`openssl rand -hex 32`), read from a file: or
// env: reference, never from the database; its id is the first 16 hex characters of its
// SHA-256. A sealed value is
//
//   0x01 | nonce (12 random bytes) | ciphertext | tag (16 bytes)
//
// authenticated together with a context the caller names (the row it belongs to), so a sealed
// value moved to another row does not open. Thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace simpul::crypto {

struct SealKey {
  std::string id;   // 16 hex characters
  std::string raw;  // 32 bytes
};

// "<64 hex characters>" (surrounding white space ignored) -> a key; throws std::runtime_error
// saying what is wrong with the text (never the text itself).
SealKey parse_seal_key(std::string_view text);
SealKey generate_seal_key();
std::string seal_key_text(const SealKey& key);  // 64 hex characters and a newline

class SealKeys {
 public:
  // `current` seals; `previous` only open what they sealed (a rotation in progress).
  SealKeys(SealKey current, std::vector<SealKey> previous = {});
  const std::string& current_id() const { return current_.id; }
  bool knows(std::string_view key_id) const { return find(key_id) != nullptr; }
  std::vector<std::string> ids() const;  // current first

  std::string seal(std::string_view plain, std::string_view context) const;
  // The plain text, or nullopt when `key_id` is not one of these keys or the value does not
  // open under it with this context (damaged, or moved from another row).
  std::optional<std::string> open(std::string_view key_id, std::string_view sealed,
                                  std::string_view context) const;

 private:
  const SealKey* find(std::string_view key_id) const;
  SealKey current_;
  std::vector<SealKey> previous_;
};

}  // namespace simpul::crypto
