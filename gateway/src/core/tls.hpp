#pragma once
// TLS settings for the listener and for outgoing links, without Asio in the header.
// The contexts themselves are built in tls_context.hpp (for .cpp files only).

#include <cstdint>
#include <string>

#include "simpul/time.hpp"

namespace simpul::http {

// The listener: a PEM certificate chain (leaf first) and its private key. Empty = plain HTTP.
// With client_ca_file the listener asks every client for a certificate and checks the one it is
// given against those authorities (and against client_crl_file's revocations); the handshake
// goes on either way, and the route decides (PeerCertificate below): a browser without a
// certificate still reaches the dashboard, a child without one is refused by the federation API
// with the reason.
struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::string client_crl_file;
  bool enabled() const { return !cert_file.empty(); }
};

// The certificate a client presented on this connection, as the listener checked it.
struct PeerCertificate {
  bool verified = false;
  std::string error;   // why it is not accepted: "unknown CA ...", "expired ...", "revoked"
  std::string node;    // the node id it names (urn:simpul:node:<id>), "" for none
  std::string serial;  // upper-case hex
  TimeMs not_after = 0;
};

// Renewed certificate and key files are read again by outgoing connections from their next
// connection on after this is called (SIGHUP); the ones open finish what they are doing.
void renew_client_certificates();
std::uint64_t client_certificate_generation();

// An outgoing connection. With `enabled`, the peer's certificate must chain to `ca_file`
// (or to the system's trust store when empty) and name `server_name` (a DNS name or an IP
// address), which is also sent as SNI when it is a name. verify=false exists only for the CLI's
// loopback probe of its own node, which sends no credential.
struct TlsClientConfig {
  bool enabled = false;
  std::string ca_file;
  std::string server_name;
  bool verify = true;
  // A client certificate and key to present (mTLS: the node's identity at its parent).
  std::string cert_file;
  std::string key_file;
};

}  // namespace simpul::http
