#pragma once
// One keep-alive client connection to a peer, plain or TLS, for the node's own outgoing calls
// (the upstream link, connectors' requests). Internal: includes Asio and Beast, so only .cpp
// files that already speak Asio include it. Not thread-safe: use from the io thread only, one
// request at a time per connection.

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tls.hpp"
#include "http/types.hpp"

namespace simpul::http {

struct Peer {
  std::string host;  // a name or an IP address
  std::uint16_t port = 0;
  TlsClientConfig tls;  // enabled: verified TLS (server_name defaults to host)
};

struct Outgoing {
  std::string method = "GET";
  std::string target = "/";
  std::vector<Header> headers;  // Host, Content-Length and Connection are set here
  std::string body;
  int timeout_ms = 10'000;  // the whole exchange after connecting
};

struct Incoming {
  boost::system::error_code ec;  // transport failure
  std::string error;             // what failed, for status ("certificate refused: ...", "timeout")
  int status = 0;
  std::vector<Header> headers;  // names in lowercase
  std::string body;
  int retry_after_s = -1;  // Retry-After in seconds, when given
  std::string header(std::string_view name) const;
};

// The peer and request target of an http(s) URL ("/" when it has no path); nullopt for any
// other scheme or no host. The scheme decides TLS and the default port (443 or 80).
struct UrlTarget {
  Peer peer;
  std::string scheme;
  std::string target;
};
std::optional<UrlTarget> peer_of_url(std::string_view url);

class OutgoingConnection {
 public:
  // Throws std::runtime_error when the TLS settings cannot be loaded (CA file).
  OutgoingConnection(boost::asio::io_context& ioc, Peer peer, int connect_timeout_ms = 10'000);
  ~OutgoingConnection();
  // Connects (resolve, TCP, TLS handshake with verification) when not connected, then sends.
  // Any transport error closes the connection; the next call reconnects. `out` must outlive
  // the call (a named local of the caller: GCC 12 and coroutine temporaries).
  boost::asio::awaitable<Incoming> send(const Outgoing& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace simpul::http
