#pragma once
// Ed25519 keys and signatures (OpenSSL), and the base64url text they travel as. A node's
// signing key is a PEM file (PKCS#8, as `openssl genpkey -algorithm ed25519` writes it); its
// public key is 32 raw bytes and its key id the first 8 bytes of their SHA-256, in hex.
// Thread-safe: a SigningKey may sign from several threads; verify() is a pure function.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/crypto.hpp"  // base64url

namespace simpul::crypto {

std::string sha256_raw(std::string_view data);  // 32 bytes

// The id of a public key (32 raw bytes): 16 hex characters.
std::string key_id_of(std::string_view public_key);

class SigningKey {
 public:
  // Reads a PEM private key; throws std::runtime_error naming what is wrong.
  static SigningKey from_pem(const std::string& pem);
  static SigningKey generate();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  std::string sign(std::string_view message) const;  // 64 raw bytes
  const std::string& public_key() const { return public_; }
  const std::string& key_id() const { return id_; }
  std::string to_pem() const;  // PKCS#8

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string public_, id_;
};

// Whether `signature` (64 raw bytes) is `public_key`'s (32 raw bytes) over `message`.
bool verify(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace simpul::crypto
