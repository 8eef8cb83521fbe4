#include "core/pki.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "core/files.hpp"

namespace simpul::pki {
namespace fs = std::filesystem;
namespace {

template <class T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, Free<X509_CRL, X509_CRL_free>>;
using BioPtr = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using NamePtr = std::unique_ptr<X509_NAME, Free<X509_NAME, X509_NAME_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(e);
  if (reason) return reason;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + openssl_reason());
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TimeMs to_ms(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<TimeMs>(timegm(&tm)) * 1000;
}

// What a memory BIO holds.
std::string text_of(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string name_line(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  return text_of(bio.get());
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  BnPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return "";
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  return out;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // BN_bn2hex writes no leading zeros; a serial given with them names the same number.
  auto nz = s.find_first_not_of('0');
  return nz == std::string::npos ? "0" : s.substr(nz);
}

CertificateInfo info_of(X509* cert) {
  CertificateInfo i;
  i.subject = name_line(X509_get_subject_name(cert));
  i.issuer = name_line(X509_get_issuer_name(cert));
  i.serial = serial_hex(X509_get0_serialNumber(cert));
  i.not_before = to_ms(X509_get0_notBefore(cert));
  i.not_after = to_ms(X509_get0_notAfter(cert));
  i.authority = X509_check_ca(cert) > 0;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int k = 0; names && k < sk_GENERAL_NAME_num(names); ++k) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, k);
    if (g->type == GEN_URI || g->type == GEN_DNS) {
      const ASN1_IA5STRING* s = g->type == GEN_URI ? g->d.uniformResourceIdentifier : g->d.dNSName;
      std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                    static_cast<std::size_t>(ASN1_STRING_length(s)));
      if (g->type == GEN_DNS) {
        i.dns.push_back(v);
      } else if (v.rfind(kNodeUri, 0) == 0 && i.node.empty()) {
        std::string id = v.substr(kNodeUri.size());
        if (valid_node_id(id)) i.node = id;
      }
    } else if (g->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = g->d.iPAddress;
      const unsigned char* b = ASN1_STRING_get0_data(ip);
      if (ASN1_STRING_length(ip) == 4)
        i.ips.push_back(std::to_string(b[0]) + "." + std::to_string(b[1]) + "." +
                        std::to_string(b[2]) + "." + std::to_string(b[3]));
    }
  }
  GENERAL_NAMES_free(names);
  return i;
}

X509Ptr load_cert(const std::string& path) {
  const std::string pem = read_text(path);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) fail(path + " holds no PEM certificate");
  return cert;
}

KeyPtr load_key(const std::string& path) {
  const std::string pem = read_text(path);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) fail(path + " holds no PEM private key");
  return key;
}

KeyPtr new_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail("cannot make an EC P-256 key");
  return key;
}

std::string pem_of(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) fail("cannot write a certificate");
  return text_of(bio.get());
}

std::string pem_of(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("cannot write a private key");
  return text_of(bio.get());
}

void set_time(ASN1_TIME* t, TimeMs ms) {
  if (!ASN1_TIME_set(t, static_cast<time_t>(ms / 1000))) fail("cannot set a validity date");
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) fail("cannot make the extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

void random_serial(X509* cert) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) fail("no random bytes for a serial");
  raw[0] &= 0x7f;  // positive
  raw[0] |= 0x10;  // and never shorter than 16 bytes, so every serial has 31 or 32 hex digits
  BnPtr bn(BN_bin2bn(raw, sizeof raw, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) fail("cannot set serial");
}

// Version 3, a random serial, CN=common_name; self-issued when `issuer` is null. Extensions and
// the signature are added by the caller.
X509Ptr make_cert(EVP_PKEY* subject_key, const std::string& common_name, X509* issuer,
                  TimeMs not_before, TimeMs not_after) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  random_serial(cert.get());
  NamePtr name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_subject_name(cert.get(), name.get());
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name.get());
  set_time(X509_getm_notBefore(cert.get()), not_before);
  set_time(X509_getm_notAfter(cert.get()), not_after);
  X509_set_pubkey(cert.get(), subject_key);
  return cert;
}

void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) fail("cannot sign the certificate");
}

std::string issued_dir(const std::string& dir) { return (fs::path(dir) / "issued").string(); }
std::string revoked_file(const std::string& dir) {
  return (fs::path(dir) / "revoked.txt").string();
}
std::string key_file_of(const std::string& dir) { return (fs::path(dir) / "ca.key").string(); }

std::vector<Revoked> read_revoked(const std::string& dir) {
  std::vector<Revoked> out;
  std::ifstream in(revoked_file(dir));
  std::string serial;
  long long seconds = 0;
  while (in >> serial >> seconds) out.push_back({upper(serial), seconds * 1000});
  return out;
}

void write_crl(const std::string& dir, const std::vector<Revoked>& revoked, TimeMs now) {
  X509Ptr ca = load_cert(authority_file(dir));
  KeyPtr key = load_key(key_file_of(dir));
  CrlPtr crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), 1);  // v2
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get()));
  using TimePtr = std::unique_ptr<ASN1_TIME, Free<ASN1_TIME, ASN1_TIME_free>>;
  TimePtr last(ASN1_TIME_new()), next(ASN1_TIME_new());
  set_time(last.get(), now);
  // The list stays valid as long as the authority: a parent that was not sent a newer one keeps
  // refusing what it lists instead of refusing everyone once a short nextUpdate passed.
  set_time(next.get(), std::max(now + 86'400'000, to_ms(X509_get0_notAfter(ca.get()))));
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (const auto& r : revoked) {
    X509_REVOKED* entry = X509_REVOKED_new();
    BIGNUM* raw = nullptr;
    if (!BN_hex2bn(&raw, r.serial.c_str())) fail("bad serial " + r.serial);
    BnPtr bn(raw);
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn.get(), nullptr);
    TimePtr at(ASN1_TIME_new());
    set_time(at.get(), r.at);
    X509_REVOKED_set_serialNumber(entry, serial);
    X509_REVOKED_set_revocationDate(entry, at.get());
    ASN1_INTEGER_free(serial);
    X509_CRL_add0_revoked(crl.get(), entry);
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), key.get(), EVP_sha256()) <= 0) fail("cannot sign the CRL");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509_CRL(bio.get(), crl.get()) != 1) fail("cannot write the CRL");
  write_file_atomically(crl_file(dir), text_of(bio.get()), 0644);
}

// Writes a node certificate (and its key) issued by the authority in `dir`.
CertificateInfo issue_cert(const std::string& dir, const Issue& req, const std::string& cert_file,
                           const std::string& key_file) {
  if (!valid_node_id(req.node))
    throw std::runtime_error("the node id \"" + req.node +
                             "\" is not one (lower-case letters, digits and '-', 1 to 64)");
  if (req.not_after <= req.not_before)
    throw std::runtime_error("the certificate would end before it starts");
  X509Ptr ca = load_cert(authority_file(dir));
  KeyPtr ca_key = load_key(key_file_of(dir));
  KeyPtr key = new_key();
  X509Ptr cert = make_cert(key.get(), req.node, ca.get(), req.not_before, req.not_after);
  std::string san = "URI:" + std::string(kNodeUri) + req.node;
  for (const auto& d : req.dns) san += ",DNS:" + d;
  for (const auto& ip : req.ips) san += ",IP:" + ip;
  add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), ca.get(), NID_ext_key_usage, "clientAuth,serverAuth");
  add_ext(cert.get(), ca.get(), NID_subject_alt_name, san);
  add_ext(cert.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_ext(cert.get(), ca.get(), NID_authority_key_identifier, "keyid");
  sign(cert.get(), ca_key.get());
  const std::string pem = pem_of(cert.get());
  CertificateInfo info = info_of(cert.get());
  std::error_code ec;
  fs::create_directories(issued_dir(dir), ec);
  write_file_atomically((fs::path(issued_dir(dir)) / (info.serial + ".pem")).string(), pem, 0644);
  // The key first: a certificate on disk always has its key beside it.
  write_file_atomically(key_file, pem_of(key.get()), 0600);
  write_file_atomically(cert_file, pem, 0644);
  return info;
}

}  // namespace

CertificateInfo inspect(X509* cert) { return info_of(cert); }

bool valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string crl_file(const std::string& dir) { return (fs::path(dir) / "crl.pem").string(); }
std::string authority_file(const std::string& dir) { return (fs::path(dir) / "ca.pem").string(); }

std::vector<CertificateInfo> read_certificates(const std::string& pem_file) {
  const std::string pem = read_text(pem_file);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<CertificateInfo> out;
  while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)})
    out.push_back(info_of(cert.get()));
  ERR_clear_error();  // the end of the file reads as an error
  if (out.empty()) throw std::runtime_error(pem_file + " holds no PEM certificate");
  return out;
}

CertificateInfo read_certificate(const std::string& pem_file) {
  return read_certificates(pem_file).front();
}

std::vector<Revoked> read_crl(const std::string& pem_file) {
  const std::string pem = read_text(pem_file);
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) fail(pem_file + " holds no PEM CRL");
  std::vector<Revoked> out;
  STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl.get());
  for (int k = 0; list && k < sk_X509_REVOKED_num(list); ++k) {
    const X509_REVOKED* r = sk_X509_REVOKED_value(list, k);
    out.push_back({serial_hex(X509_REVOKED_get0_serialNumber(r)),
                   to_ms(X509_REVOKED_get0_revocationDate(r))});
  }
  return out;
}

CertificateInfo create_authority(const std::string& dir, const std::string& name, int days,
                                 TimeMs now) {
  if (name.empty()) throw std::runtime_error("the authority needs a name (--name)");
  if (days < 1) throw std::runtime_error("the authority must be valid for a day at least");
  std::error_code ec;
  if (fs::exists(authority_file(dir), ec))
    throw std::runtime_error(dir + " already holds an authority (" + authority_file(dir) + ")");
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot make " + dir + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);
  KeyPtr key = new_key();
  X509Ptr cert = make_cert(key.get(), name, nullptr, now - 60'000, now + days * 86'400'000LL);
  add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  sign(cert.get(), key.get());
  write_file_atomically(key_file_of(dir), pem_of(key.get()), 0600);
  write_file_atomically(authority_file(dir), pem_of(cert.get()), 0644);
  fs::create_directories(issued_dir(dir), ec);
  write_crl(dir, {}, now);
  return info_of(cert.get());
}

CertificateInfo issue(const std::string& dir, const Issue& req, const std::string& cert_file,
                      const std::string& key_file) {
  return issue_cert(dir, req, cert_file, key_file);
}

CertificateInfo renew(const std::string& dir, const std::string& cert_file,
                      const std::string& key_file, int days, TimeMs now) {
  if (days < 1) throw std::runtime_error("a renewed certificate must be valid for a day at least");
  CertificateInfo old = read_certificate(cert_file);
  if (old.node.empty())
    throw std::runtime_error(cert_file + " names no node (" + std::string(kNodeUri) + "<id>)");
  Issue req;
  req.node = old.node;
  req.dns = old.dns;
  req.ips = old.ips;
  req.not_before = now - 60'000;
  req.not_after = now + days * 86'400'000LL;
  return issue_cert(dir, req, cert_file, key_file);
}

std::vector<Issued> issued(const std::string& dir) {
  std::vector<Issued> out;
  const auto revoked = read_revoked(dir);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(issued_dir(dir), ec)) {
    if (entry.path().extension() != ".pem") continue;
    Issued i;
    i.cert = read_certificate(entry.path().string());
    for (const auto& r : revoked)
      if (r.serial == i.cert.serial) i.revoked_at = r.at;
    out.push_back(std::move(i));
  }
  if (ec) throw std::runtime_error("cannot read " + issued_dir(dir) + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const Issued& a, const Issued& b) {
    return a.cert.not_before != b.cert.not_before ? a.cert.not_before < b.cert.not_before
                                                  : a.cert.serial < b.cert.serial;
  });
  return out;
}

void revoke(const std::string& dir, const std::string& serial, TimeMs now) {
  const std::string s = upper(serial);
  std::error_code ec;
  if (!fs::exists(fs::path(issued_dir(dir)) / (s + ".pem"), ec))
    throw std::runtime_error("this authority issued no certificate with serial " + s +
                             " (simpul pki list)");
  auto revoked = read_revoked(dir);
  for (const auto& r : revoked)
    if (r.serial == s) return;
  revoked.push_back({s, now});
  std::string text;
  for (const auto& r : revoked) text += r.serial + " " + std::to_string(r.at / 1000) + "\n";
  write_crl(dir, revoked, now);  // the list first: revoked.txt never names what crl.pem lacks
  write_file_atomically(revoked_file(dir), text, 0644);
}

}  // namespace simpul::pki
