#include "http/client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <system_error>

namespace simpul::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::string ClientResponse::header(std::string_view name) const {
  Request r;
  r.headers = headers;
  return r.header(name);
}

struct Client::Impl {
  std::string host;
  std::uint16_t port;
  int timeout_ms;
  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the async operation started by `start` to completion on this thread.
  template <class Start>
  boost::system::error_code run(Start start) {
    boost::system::error_code result;
    ioc.restart();
    start(result);
    ioc.run();
    return result;
  }

  void connect() {
    stream = std::make_unique<beast::tcp_stream>(ioc);
    buffer.clear();
    tcp::endpoint ep{asio::ip::make_address(host), port};
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    auto ec = run([&](boost::system::error_code& out) {
      stream->async_connect(ep, [&](boost::system::error_code ec) { out = ec; });
    });
    if (ec) {
      stream.reset();
      throw std::system_error(ec, "connect to " + host + ":" + std::to_string(port));
    }
    stream->socket().set_option(tcp::no_delay(true));
  }

  ClientResponse once(bhttp::request<bhttp::string_body>& req, bool& retryable) {
    retryable = false;
    stream->expires_after(std::chrono::milliseconds(timeout_ms));
    auto ec = run([&](boost::system::error_code& out) {
      bhttp::async_write(*stream, req, [&](boost::system::error_code ec, std::size_t) { out = ec; });
    });
    if (ec) {
      retryable = true;
      throw std::system_error(ec, "send request");
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    ec = run([&](boost::system::error_code& out) {
      bhttp::async_read(*stream, buffer, parser, [&](boost::system::error_code ec, std::size_t) { out = ec; });
    });
    if (ec) {
      retryable = ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                  ec == asio::error::eof;
      throw std::system_error(ec, "read response");
    }
    auto res = parser.release();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers.push_back({std::move(name), std::string(f.value())});
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) stream.reset();
    return out;
  }
};

Client::Client(std::string host, std::uint16_t port, int timeout_ms) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout_ms = timeout_ms;
}

Client::~Client() = default;

ClientResponse Client::request(const std::string& method, const std::string& target,
                               const std::string& body, std::vector<Header> headers) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, impl_->host);
  req.set(bhttp::field::user_agent, "simpul-client");
  for (const auto& h : headers) req.set(h.name, h.value);
  if (!body.empty() && req[bhttp::field::content_type].empty())
    req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();

  bool reused = impl_->stream != nullptr;
  if (!reused) impl_->connect();
  try {
    bool retryable = false;
    try {
      return impl_->once(req, retryable);
    } catch (const std::system_error&) {
      impl_->stream.reset();
      if (!(reused && retryable)) throw;
    }
    impl_->connect();
    return impl_->once(req, retryable);
  } catch (...) {
    impl_->stream.reset();
    throw;
  }
}

}  // namespace simpul::http
