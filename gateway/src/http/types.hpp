#pragma once
// Plain HTTP request/response values shared by the server, router and handlers, so handlers
// never see Beast and compile fast. Handlers answer through a Reply callback, exactly once,
// from any thread: the server posts the answer back to the connection's executor.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tls.hpp"

namespace simpul::http {

struct Header {
  std::string name;  // lowercase
  std::string value;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::vector<Header> headers;
  std::string body;
  std::string remote;  // peer address, for logs
  // The client as the router names it (Router::client_of: `remote`, or through trusted proxies
  // the address their X-Forwarded-For gives): what failed credentials are throttled by.
  std::string client;
  // The client's certificate when the listener asks for one (TlsServerConfig::client_ca_file)
  // and the client presented one; null otherwise.
  std::shared_ptr<const PeerCertificate> peer_certificate;

  // First value of a header (name compared case-insensitively), or "".
  std::string header(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<Header> headers;
  std::string body;
  bool close = false;  // close the connection after sending
};

using Reply = std::function<void(Response)>;
using Handler = std::function<void(Request, Reply)>;

}  // namespace simpul::http
