#include "core/seal.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include "core/crypto.hpp"

namespace simpul::crypto {
namespace {

constexpr unsigned char kVersion = 1;
constexpr std::size_t kKeyBytes = 32, kNonceBytes = 12, kTagBytes = 16;

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Cipher = std::unique_ptr<EVP_CIPHER_CTX, CipherFree>;

const auto* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

SealKey key_of(std::string raw) {
  SealKey k;
  k.id = sha256_hex(raw).substr(0, 16);
  k.raw = std::move(raw);
  return k;
}

}  // namespace

SealKey parse_seal_key(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  auto last = text.find_last_not_of(" \t\r\n");
  std::string_view hex =
      first == std::string_view::npos ? std::string_view() : text.substr(first, last - first + 1);
  if (hex.size() != kKeyBytes * 2)
    throw std::runtime_error("a store key is 64 hex characters (openssl rand -hex 32), this one " +
                             std::to_string(hex.size()));
  std::string raw(kKeyBytes, '\0');
  for (std::size_t i = 0; i < kKeyBytes; ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::runtime_error("a store key is hex digits only");
    raw[i] = static_cast<char>(hi * 16 + lo);
  }
  return key_of(std::move(raw));
}

SealKey generate_seal_key() {
  std::string raw(kKeyBytes, '\0');
  random_bytes(raw.data(), raw.size());
  return key_of(std::move(raw));
}

std::string seal_key_text(const SealKey& key) {
  return to_hex(bytes(key.raw), key.raw.size()) + "\n";
}

SealKeys::SealKeys(SealKey current, std::vector<SealKey> previous)
    : current_(std::move(current)), previous_(std::move(previous)) {}

std::vector<std::string> SealKeys::ids() const {
  std::vector<std::string> out{current_.id};
  for (const auto& k : previous_) out.push_back(k.id);
  return out;
}

const SealKey* SealKeys::find(std::string_view key_id) const {
  if (key_id == current_.id) return &current_;
  for (const auto& k : previous_)
    if (k.id == key_id) return &k;
  return nullptr;
}

std::string SealKeys::seal(std::string_view plain, std::string_view context) const {
  std::string out(1 + kNonceBytes + plain.size() + kTagBytes, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kVersion;
  random_bytes(o + 1, kNonceBytes);
  Cipher c(EVP_CIPHER_CTX_new());
  int n = 0;
  bool ok = c && EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_EncryptInit_ex(c.get(), nullptr, nullptr, bytes(current_.raw), o + 1) == 1 &&
            EVP_EncryptUpdate(c.get(), nullptr, &n, bytes(context),
                              static_cast<int>(context.size())) == 1 &&
            EVP_EncryptUpdate(c.get(), o + 1 + kNonceBytes, &n, bytes(plain),
                              static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(c.get(), o + 1 + kNonceBytes + n, &n) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                                o + 1 + kNonceBytes + plain.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM sealing failed");
  return out;
}

std::optional<std::string> SealKeys::open(std::string_view key_id, std::string_view sealed,
                                          std::string_view context) const {
  const SealKey* key = find(key_id);
  if (!key || sealed.size() < 1 + kNonceBytes + kTagBytes ||
      static_cast<unsigned char>(sealed[0]) != kVersion)
    return std::nullopt;
  const auto* s = bytes(sealed);
  const std::size_t len = sealed.size() - 1 - kNonceBytes - kTagBytes;
  std::string plain(len, '\0');
  auto* p = reinterpret_cast<unsigned char*>(plain.data());
  std::string tag(sealed.substr(1 + kNonceBytes + len));
  Cipher c(EVP_CIPHER_CTX_new());
  int n = 0;
  bool ok = c && EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_DecryptInit_ex(c.get(), nullptr, nullptr, bytes(key->raw), s + 1) == 1 &&
            EVP_DecryptUpdate(c.get(), nullptr, &n, bytes(context),
                              static_cast<int>(context.size())) == 1 &&
            EVP_DecryptUpdate(c.get(), p, &n, s + 1 + kNonceBytes, static_cast<int>(len)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
            EVP_DecryptFinal_ex(c.get(), p + n, &n) == 1;
  if (!ok) return std::nullopt;
  return plain;
}

}  // namespace simpul::crypto
