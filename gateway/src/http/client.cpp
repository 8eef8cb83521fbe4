#include "http/client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <system_error>

#include "http/tls_context.hpp"

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
  TlsClientConfig tls_cfg;
  std::string local_address;  // "" = any
  asio::io_context ioc;
  std::shared_ptr<asio::ssl::context> tls_ctx;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  bool open() const { return plain || tls; }
  void reset() {
    plain.reset();
    tls.reset();
  }
  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

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
    reset();
    buffer.clear();
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type endpoints;
    auto ec = run([&](boost::system::error_code& out) {
      resolver.async_resolve(host, std::to_string(port),
                             [&](boost::system::error_code ec, tcp::resolver::results_type r) {
                               out = ec;
                               endpoints = std::move(r);
                             });
    });
    if (ec) throw std::system_error(ec, "resolve " + host);
    if (tls_ctx)
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *tls_ctx);
    else
      plain = std::make_unique<beast::tcp_stream>(ioc);
    lowest().expires_after(std::chrono::milliseconds(timeout_ms));
    if (local_address.empty()) {
      ec = run([&](boost::system::error_code& out) {
        lowest().async_connect(
            endpoints, [&](boost::system::error_code ec, const tcp::endpoint&) { out = ec; });
      });
    } else {  // bound first, then one endpoint (connecting to a range reopens the socket)
      const tcp::endpoint to = endpoints.begin()->endpoint();
      auto& sock = lowest().socket();
      sock.open(to.protocol(), ec);
      const auto from = asio::ip::make_address(local_address, ec);
      if (!ec) sock.bind(tcp::endpoint(from, 0), ec);
      if (!ec)
        ec = run([&](boost::system::error_code& out) {
          lowest().async_connect(to, [&](boost::system::error_code ec) { out = ec; });
        });
    }
    if (ec) {
      reset();
      throw std::system_error(ec, "connect to " + host + ":" + std::to_string(port));
    }
    lowest().socket().set_option(tcp::no_delay(true));
    if (!tls) return;
    if (!prepare_client_ssl(tls->native_handle(), tls_cfg)) {
      reset();
      throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                              "tls: cannot use server name " + tls_cfg.server_name);
    }
    ec = run([&](boost::system::error_code& out) {
      tls->async_handshake(asio::ssl::stream_base::client,
                           [&](boost::system::error_code ec) { out = ec; });
    });
    if (ec) {
      std::string why = describe_tls_error(ec, tls->native_handle());
      reset();
      throw std::system_error(ec, why);
    }
  }

  ClientResponse once(bhttp::request<bhttp::string_body>& req, bool& retryable) {
    if (tls) return once_on(*tls, req, retryable);
    return once_on(*plain, req, retryable);
  }

  template <class Stream>
  ClientResponse once_on(Stream& stream, bhttp::request<bhttp::string_body>& req, bool& retryable) {
    retryable = false;
    lowest().expires_after(std::chrono::milliseconds(timeout_ms));
    auto ec = run([&](boost::system::error_code& out) {
      bhttp::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) { out = ec; });
    });
    if (ec) {
      retryable = true;
      throw std::system_error(ec, "send request");
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(req.method() == bhttp::verb::head);  // an answer to HEAD has no body
    ec = run([&](boost::system::error_code& out) {
      bhttp::async_read(stream, buffer, parser,
                        [&](boost::system::error_code ec, std::size_t) { out = ec; });
    });
    if (ec) {
      retryable = ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
                  ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
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
    if (!res.keep_alive()) reset();
    return out;
  }
};

Client::Client(std::string host, std::uint16_t port, int timeout_ms, TlsClientConfig tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout_ms = timeout_ms;
  if (tls.enabled) {
    if (tls.server_name.empty()) tls.server_name = impl_->host;
    impl_->tls_ctx = make_client_context(tls);
  }
  impl_->tls_cfg = std::move(tls);
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

  bool reused = impl_->open();
  if (!reused) impl_->connect();
  try {
    bool retryable = false;
    try {
      return impl_->once(req, retryable);
    } catch (const std::system_error&) {
      impl_->reset();
      if (!(reused && retryable)) throw;
    }
    impl_->connect();
    return impl_->once(req, retryable);
  } catch (...) {
    impl_->reset();
    throw;
  }
}

void Client::set_local_address(std::string address) {
  impl_->local_address = std::move(address);
  impl_->reset();
}

}  // namespace simpul::http
