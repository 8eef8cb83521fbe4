#include "http/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>

#include "core/pki.hpp"

namespace simpul::http {

namespace ssl = boost::asio::ssl;

namespace {

constexpr long kOptions =
    SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE;

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!e) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  const char* reason = ERR_reason_error_string(e);
  return reason ? reason : buf;
}

// Where a connection keeps the first error its client certificate's check found: the check goes
// on (so the handshake completes and the route can answer with the reason), and a later error
// must not hide the first.
int first_error_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return slot;
}

int keep_first_error(int ok, X509_STORE_CTX* store) {
  if (!ok) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl && !SSL_get_ex_data(ssl, first_error_slot()))
      SSL_set_ex_data(
          ssl, first_error_slot(),
          reinterpret_cast<void*>(static_cast<std::intptr_t>(X509_STORE_CTX_get_error(store))));
  }
  return 1;
}

std::string refusal(long error) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "not valid yet";
    case X509_V_ERR_CERT_REVOKED:
      return "revoked (listed in http.tls.client_crl_file)";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "unknown CA: not issued by an authority this node trusts (http.tls.client_ca_file)";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return "no revocation list of its authority here (http.tls.client_crl_file)";
    case X509_V_ERR_CRL_HAS_EXPIRED:
      return "the revocation list has expired: `simpul pki revoke` writes a new one";
    default:
      return X509_verify_cert_error_string(error);
  }
}

std::atomic<std::uint64_t> g_client_generation{0};

// The certificate chain and private key a context presents; `whose` is "" for the listener's,
// "client " for the node's own at its parent (the error names which).
void use_certificate(SSL_CTX* native, const std::string& cert_file, const std::string& key_file,
                     const std::string& whose) {
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    throw std::runtime_error("cannot load the " + whose + "certificate chain " + cert_file + ": " +
                             openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot load the " + whose + "private key " + key_file + ": " +
                             openssl_reason());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("the " + whose + "private key " + key_file +
                             " does not match the certificate " + cert_file);
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const TlsServerConfig& cfg) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, kOptions);
  ERR_clear_error();
  use_certificate(native, cfg.cert_file, cfg.key_file, "");
  if (!cfg.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(native, cfg.client_ca_file.c_str(), nullptr) != 1)
      throw std::runtime_error("cannot load the client CA file " + cfg.client_ca_file + ": " +
                               openssl_reason());
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.client_ca_file.c_str());
    if (names) SSL_CTX_set_client_CA_list(native, names);
    if (!cfg.client_crl_file.empty()) {
      X509_STORE* store = SSL_CTX_get_cert_store(native);
      X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
      if (!lookup || X509_load_crl_file(lookup, cfg.client_crl_file.c_str(), X509_FILETYPE_PEM) < 1)
        throw std::runtime_error("cannot load the revocation list " + cfg.client_crl_file + ": " +
                                 openssl_reason());
      X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    // Asked for, checked, never a reason to end the handshake (keep_first_error).
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, keep_first_error);
    static const unsigned char kContext[] = "simpul";
    SSL_CTX_set_session_id_context(native, kContext, sizeof kContext - 1);
  }
  return ctx;
}

std::shared_ptr<const PeerCertificate> peer_certificate(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!cert) return nullptr;
  auto p = std::make_shared<PeerCertificate>();
  long error =
      static_cast<long>(reinterpret_cast<std::intptr_t>(SSL_get_ex_data(ssl, first_error_slot())));
  if (error == X509_V_OK) error = SSL_get_verify_result(ssl);
  p->verified = error == X509_V_OK;
  if (!p->verified) p->error = refusal(error);
  const auto info = pki::inspect(cert);
  p->node = info.node;
  p->serial = info.serial;
  p->not_after = info.not_after;
  return p;
}

void renew_client_certificates() { ++g_client_generation; }
std::uint64_t client_certificate_generation() { return g_client_generation.load(); }

std::shared_ptr<ssl::context> make_client_context(const TlsClientConfig& cfg) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, kOptions);
  ERR_clear_error();
  if (!cfg.verify) {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  if (cfg.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(native) != 1)
      throw std::runtime_error("cannot load the system's trusted certificates: " +
                               openssl_reason());
  } else if (SSL_CTX_load_verify_locations(native, cfg.ca_file.c_str(), nullptr) != 1) {
    throw std::runtime_error("cannot load the CA file " + cfg.ca_file + ": " + openssl_reason());
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  if (!cfg.cert_file.empty()) use_certificate(native, cfg.cert_file, cfg.key_file, "client ");
  return ctx;
}

bool prepare_client_ssl(SSL* ssl, const TlsClientConfig& cfg) {
  const std::string& name = cfg.server_name;
  if (name.empty()) return false;
  const bool ip = is_ip_literal(name);
  // SNI carries host names only (RFC 6066 section 3).
  if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return false;
  if (!cfg.verify) return true;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (ip) return X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size()) == 1;
}

std::string describe_tls_error(const boost::system::error_code& ec, SSL* ssl) {
  if (ssl) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK)
      return std::string("certificate refused: ") + X509_verify_cert_error_string(v);
  }
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    return std::string("tls: ") + (reason ? reason : ec.message());
  }
  return "tls: " + ec.message();
}

}  // namespace simpul::http
