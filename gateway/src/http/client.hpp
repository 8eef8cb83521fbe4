#pragma once
// A small blocking HTTP/1.1 client with keep-alive and a deadline per request. For the CLI,
// the demo and tests; the daemon's own upstream link is asynchronous. Not thread-safe: one
// Client per thread.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tls.hpp"
#include "http/types.hpp"

namespace simpul::http {

struct ClientResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  std::string header(std::string_view name) const;
};

class Client {
 public:
  // With tls.enabled the connection is TLS, verified as TlsClientConfig says (server_name
  // defaults to host). Throws std::runtime_error when the CA file cannot be loaded.
  Client(std::string host, std::uint16_t port, int timeout_ms = 10'000, TlsClientConfig tls = {});
  ~Client();
  // Throws std::system_error when the server cannot be reached or the deadline passes.
  // A kept-alive connection the server closed meanwhile is reopened once, transparently.
  ClientResponse request(const std::string& method, const std::string& target,
                         const std::string& body = "", std::vector<Header> headers = {});
  // Connect from this local address (an IP literal, e.g. 127.0.0.2 to look like another
  // client on loopback); from the next connection on.
  void set_local_address(std::string address);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace simpul::http
