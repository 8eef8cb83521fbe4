#include "core/ed25519.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <stdexcept>

#include "core/crypto.hpp"
#include "simpul/errors.hpp"

namespace simpul::crypto {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return e ? buf : "unknown error";
}

}  // namespace

std::string sha256_raw(std::string_view data) {
  std::string md(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(md.data()));
  return md;
}

std::string key_id_of(std::string_view public_key) {
  const std::string md = sha256_raw(public_key);
  return to_hex(reinterpret_cast<const unsigned char*>(md.data()), 8);
}

struct SigningKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  std::size_t n = 32;
  public_.assign(32, '\0');
  SIMPUL_CHECK(EVP_PKEY_get_raw_public_key(
                   impl_->key, reinterpret_cast<unsigned char*>(public_.data()), &n) == 1 &&
                   n == 32,
               "an Ed25519 key has a 32-byte public key");
  id_ = key_id_of(public_);
}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

SigningKey SigningKey::from_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  auto impl = std::make_unique<Impl>();
  impl->key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!impl->key) throw std::runtime_error("not a PEM private key (" + openssl_error() + ")");
  if (EVP_PKEY_get_id(impl->key) != EVP_PKEY_ED25519)
    throw std::runtime_error("the key is not an Ed25519 key (openssl genpkey -algorithm ed25519)");
  return SigningKey(std::move(impl));
}

SigningKey SigningKey::generate() {
  auto impl = std::make_unique<Impl>();
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  SIMPUL_CHECK(ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &impl->key) == 1,
               "Ed25519 key generation failed");
  EVP_PKEY_CTX_free(ctx);
  return SigningKey(std::move(impl));
}

std::string SigningKey::to_pem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  SIMPUL_CHECK(
      PEM_write_bio_PrivateKey(bio.get(), impl_->key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
      "writing a PEM key failed");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string SigningKey::sign(std::string_view message) const {
  std::string sig(64, '\0');
  std::size_t n = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, impl_->key) == 1 &&
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &n,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  SIMPUL_CHECK(ok && n == 64, "Ed25519 signing failed");
  return sig;
}

bool verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()), 32);
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), 64,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  ERR_clear_error();
  return ok;
}

}  // namespace simpul::crypto
