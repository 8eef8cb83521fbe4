#include "http/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

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
  if (SSL_CTX_use_certificate_chain_file(native, cfg.cert_file.c_str()) != 1)
    throw std::runtime_error("cannot load the certificate chain " + cfg.cert_file + ": " +
                             openssl_reason());
  if (SSL_CTX_use_PrivateKey_file(native, cfg.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("cannot load the private key " + cfg.key_file + ": " +
                             openssl_reason());
  if (SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("the private key " + cfg.key_file +
                             " does not match the certificate " + cfg.cert_file);
  return ctx;
}

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
