#pragma once
// The HTTP/1.1 listener and sessions (Boost.Beast, C++20 coroutines).
//
// Every read has a deadline: the header within header_timeout, the body within body_timeout,
// so slow clients lose their connection instead of holding it. A declared Content-Length over
// max_body is answered 413 before any of the body is read; a chunked body is cut off at the
// same limit. Past max_connections, new connections are closed at once (counted, and logged at
// most once a second with the number refused since the last line).
//
// Runs on the io_context it is given; start() and stop() must be called from that context's
// thread or before it runs. The handler may answer from any thread.

#include <cstdint>
#include <memory>
#include <string>

#include "core/tls.hpp"
#include "http/types.hpp"

namespace boost::asio {
class io_context;
}

namespace simpul::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port; see port()
  std::size_t max_body_bytes = 1 << 20;
  int header_timeout_ms = 10'000;
  int body_timeout_ms = 30'000;
  int max_connections = 1024;
  std::size_t max_header_bytes = 16 * 1024;
  TlsServerConfig tls;  // enabled: every connection is TLS (the handshake within header_timeout)
};

class Server {
 public:
  // Throws std::runtime_error when the TLS certificate or key cannot be loaded.
  Server(boost::asio::io_context& ioc, ServerOptions opt, Handler handler);
  ~Server();
  void start();  // binds and listens; throws std::system_error when the address is taken
  void stop();   // stops accepting; open sessions finish their current request
  std::uint16_t port() const;
  int connections() const;
  std::uint64_t refused() const;  // connections closed at once past max_connections, since start
  // Loads the certificate and key again (renewed on disk) for the connections accepted from now
  // on; open ones keep theirs. Throws std::runtime_error, keeping the old ones, when they cannot
  // be loaded. Call on the io thread.
  void reload_tls(const TlsServerConfig& tls);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace simpul::http
