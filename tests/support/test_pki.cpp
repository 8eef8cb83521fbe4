#include "support/test_pki.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>

namespace simpul::test {
namespace {

EVP_PKEY* new_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* new_cert(EVP_PKEY* key, const std::string& cn, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Simpul test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + path);
  bool ok = cert ? PEM_write_X509(f, cert) == 1
                 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  if (!ok) throw std::runtime_error("PEM write failed for " + path);
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

TestPki make_test_pki(const std::string& dir, const std::string& prefix,
                      const std::vector<std::string>& names) {
  static long serial = 1000;
  EVP_PKEY* ca_key = new_key();
  X509* ca = new_cert(ca_key, prefix + " test CA", ++serial);
  X509_set_issuer_name(ca, X509_get_subject_name(ca));
  add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(ca, ca, NID_subject_key_identifier, "hash");
  if (!X509_sign(ca, ca_key, EVP_sha256())) throw std::runtime_error("signing the CA failed");

  EVP_PKEY* key = new_key();
  X509* leaf = new_cert(key, names.empty() ? "localhost" : names.front(), ++serial);
  X509_set_issuer_name(leaf, X509_get_subject_name(ca));
  add_ext(leaf, ca, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(leaf, ca, NID_key_usage, "critical,digitalSignature");
  add_ext(leaf, ca, NID_ext_key_usage, "serverAuth");
  add_ext(leaf, ca, NID_authority_key_identifier, "keyid");
  std::string san;
  for (const auto& n : names)
    san += (san.empty() ? "" : ",") + std::string(is_ip(n) ? "IP:" : "DNS:") + n;
  if (!san.empty()) add_ext(leaf, ca, NID_subject_alt_name, san);
  if (!X509_sign(leaf, ca_key, EVP_sha256())) throw std::runtime_error("signing the leaf failed");

  TestPki out{dir + "/" + prefix + "-ca.pem", dir + "/" + prefix + "-cert.pem",
              dir + "/" + prefix + "-key.pem"};
  write_pem(out.ca_file, ca, nullptr);
  write_pem(out.cert_file, leaf, nullptr);
  write_pem(out.key_file, nullptr, key);
  X509_free(leaf);
  X509_free(ca);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  return out;
}

}  // namespace simpul::test
