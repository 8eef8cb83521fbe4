#pragma once
// TLS settings for the listener and for outgoing links, without Asio in the header.
// The contexts themselves are built in tls_context.hpp (for .cpp files only).

#include <string>

namespace simpul::http {

// The listener: a PEM certificate chain (leaf first) and its private key. Empty = plain HTTP.
struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  bool enabled() const { return !cert_file.empty(); }
};

// An outgoing connection. With `enabled`, the peer's certificate must chain to `ca_file`
// (or to the system's trust store when empty) and name `server_name` (a DNS name or an IP
// address), which is also sent as SNI when it is a name. verify=false exists only for the CLI's
// loopback probe of its own node, which sends no credential.
struct TlsClientConfig {
  bool enabled = false;
  std::string ca_file;
  std::string server_name;
  bool verify = true;
};

}  // namespace simpul::http
