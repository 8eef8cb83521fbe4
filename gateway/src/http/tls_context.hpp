#pragma once
// OpenSSL contexts for Beast streams. Internal: includes Asio's SSL headers, so only .cpp files
// that already speak Asio include it.

#include <boost/asio/ssl.hpp>
#include <memory>

#include "core/tls.hpp"

namespace simpul::http {

// TLS 1.2 or later, no compression or renegotiation. Throws std::runtime_error naming the file
// that could not be loaded and OpenSSL's reason.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const TlsServerConfig& cfg);
std::shared_ptr<boost::asio::ssl::context> make_client_context(const TlsClientConfig& cfg);

// Per connection, before the handshake: SNI (names only, never an IP literal, RFC 6066) and the
// check that the certificate names cfg.server_name. Returns false when OpenSSL refuses the name.
bool prepare_client_ssl(SSL* ssl, const TlsClientConfig& cfg);

// The certificate the client presented on this server-side connection, checked as the context
// says (null when none was presented).
std::shared_ptr<const PeerCertificate> peer_certificate(SSL* ssl);

// A readable reason for a failed handshake, e.g. "certificate verify failed: hostname mismatch".
std::string describe_tls_error(const boost::system::error_code& ec, SSL* ssl);

}  // namespace simpul::http
