#include "http/server.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "core/log.hpp"
#include "http/router.hpp"
#include "http/tls_context.hpp"

namespace simpul::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& ioc, ServerOptions opt, Handler handler)
      : ioc(ioc), opt(std::move(opt)), handler(std::move(handler)), acceptor(ioc) {
    if (this->opt.tls.enabled()) tls = make_server_context(this->opt.tls);
  }

  asio::io_context& ioc;
  ServerOptions opt;
  Handler handler;
  tcp::acceptor acceptor;
  std::shared_ptr<asio::ssl::context> tls;  // null: plain HTTP
  std::atomic<int> connections{0};
  std::atomic<std::uint64_t> refused{0};  // past max_connections, since start
  std::chrono::steady_clock::time_point last_refusal_log{};
  std::uint64_t refused_at_last_log = 0;
  std::uint16_t bound_port = 0;

  // Hands the request to the handler and resumes with its answer, whichever thread it comes
  // from: the answer is posted back to this coroutine's executor.
  template <class Token>
  auto async_handle(Request req, Token&& token) {
    return asio::async_initiate<Token, void(Response)>(
        [this](auto completion, Request req) {
          auto ex = asio::get_associated_executor(completion, ioc.get_executor());
          auto shared = std::make_shared<decltype(completion)>(std::move(completion));
          handler(std::move(req), [shared, ex](Response res) {
            asio::post(ex, [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); });
          });
        },
        token, std::move(req));
  }

  static bhttp::response<bhttp::string_body> to_beast(const Response& r, unsigned version,
                                                      bool keep_alive, bool head = false) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
    res.set(bhttp::field::server, "simpul");
    if (!r.content_type.empty()) res.set(bhttp::field::content_type, r.content_type);
    for (const auto& h : r.headers) res.set(h.name, h.value);
    res.body() = r.body;
    res.keep_alive(keep_alive && !r.close);
    res.prepare_payload();
    if (head) {  // the headers a GET would have, Content-Length included, and no body
      const auto n = res.body().size();
      res.body().clear();
      res.content_length(n);
    }
    return res;
  }

  template <class Stream>
  awaitable<void> write_and_close(Stream& stream, const Response& r) {
    auto res = to_beast(r, 11, false);
    beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(opt.body_timeout_ms));
    co_await bhttp::async_write(stream, res, asio::as_tuple(use_awaitable));
  }

  awaitable<void> session(tcp::socket socket) {
    auto self = shared_from_this();
    struct Count {
      std::atomic<int>& n;
      ~Count() { --n; }
    } count{connections};
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = socket.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string();
    }
    beast::flat_buffer buffer;
    if (!tls) {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream, buffer, remote, nullptr);
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    // The context as it is now, kept for this connection (a reload swaps `tls` for the next).
    const std::shared_ptr<asio::ssl::context> context = tls;
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *context);
    // The handshake counts as part of the header: a client that stalls in it is dropped.
    beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(opt.header_timeout_ms));
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                                 asio::as_tuple(use_awaitable));
    if (hec) {
      log::debug("http.tls_handshake_failed",
                 {{"remote", remote}, {"error", describe_tls_error(hec, nullptr)}});
      co_return;
    }
    // Checked once at the handshake, the same for every request on the connection.
    const auto peer = peer_certificate(stream.native_handle());
    co_await serve(stream, buffer, remote, peer);
    beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(1000));
    co_await stream.async_shutdown(asio::as_tuple(use_awaitable));
  }

  // Requests on one connection until the peer or an error ends it.
  template <class Stream>
  awaitable<void> serve(Stream& stream, beast::flat_buffer& buffer, const std::string& remote,
                        std::shared_ptr<const PeerCertificate> peer) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
      parser.body_limit(opt.max_body_bytes);
      tcp_layer.expires_after(std::chrono::milliseconds(opt.header_timeout_ms));
      auto [ec, n] =
          co_await bhttp::async_read_header(stream, buffer, parser, asio::as_tuple(use_awaitable));
      // Beast checks a declared Content-Length against body_limit as soon as the header is in.
      if (ec == bhttp::error::body_limit) {
        co_await write_and_close(
            stream,
            problem(errc::payload_too_large, "the body exceeds the limit of " +
                                                 std::to_string(opt.max_body_bytes) + " bytes"));
        break;
      }
      if (ec == bhttp::error::header_limit) {
        co_await write_and_close(stream, problem(errc::header_too_large));
        break;
      }
      if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::eof ||
          ec == asio::ssl::error::stream_truncated) {
        break;
      }
      if (ec) {
        co_await write_and_close(stream, problem(errc::bad_request));
        break;
      }
      auto length = parser.content_length();
      if (length && *length > opt.max_body_bytes) {
        co_await write_and_close(
            stream,
            problem(errc::payload_too_large, "the body exceeds the limit of " +
                                                 std::to_string(opt.max_body_bytes) + " bytes"));
        break;
      }
      if (!parser.is_done()) {
        if (bhttp::token_list{parser.get()[bhttp::field::expect]}.exists("100-continue")) {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
          tcp_layer.expires_after(std::chrono::milliseconds(opt.body_timeout_ms));
          auto [wec, wn] = co_await bhttp::async_write(stream, cont, asio::as_tuple(use_awaitable));
          if (wec) break;
        }
        tcp_layer.expires_after(std::chrono::milliseconds(opt.body_timeout_ms));
        auto [bec, bn] =
            co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
        if (bec == bhttp::error::body_limit) {
          co_await write_and_close(
              stream,
              problem(errc::payload_too_large, "the body exceeds the limit of " +
                                                   std::to_string(opt.max_body_bytes) + " bytes"));
          break;
        }
        // A body that is not valid HTTP (a bad chunk size, a chunk extension too long) gets its
        // 400; a timeout or a broken connection gets nothing, as nothing was handled.
        if (bec && bec.category() == make_error_code(bhttp::error::bad_chunk).category() &&
            bec != bhttp::error::partial_message && bec != bhttp::error::end_of_stream) {
          co_await write_and_close(
              stream, problem(errc::bad_request, "the request body is not valid HTTP/1.1"));
          break;
        }
        if (bec) break;
      }
      auto msg = parser.release();
      Request req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      for (const auto& f : msg) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers.push_back({std::move(name), std::string(f.value())});
      }
      req.body = std::move(msg.body());
      req.remote = remote;
      req.peer_certificate = peer;
      const bool keep_alive = msg.keep_alive();
      const unsigned version = msg.version();
      const bool head = msg.method() == bhttp::verb::head;

      tcp_layer.expires_never();  // the handler may wait for a group commit
      Response r = co_await async_handle(std::move(req), use_awaitable);
      auto res = to_beast(r, version, keep_alive, head);
      tcp_layer.expires_after(std::chrono::milliseconds(opt.body_timeout_ms));
      auto [wec, wn] = co_await bhttp::async_write(stream, res, asio::as_tuple(use_awaitable));
      if (wec || !res.keep_alive()) break;
    }
  }

  awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        log::warn("http.accept_failed", {{"error", ec.message()}});
        continue;
      }
      if (connections.load() >= opt.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        ++refused;
        // At most one line a second: a flood of connections must not become a flood of log.
        auto now = std::chrono::steady_clock::now();
        if (now - last_refusal_log >= std::chrono::seconds(1)) {
          log::warn("http.connection_refused",
                    {{"reason", "max_connections"},
                     {"limit", opt.max_connections},
                     {"refused", static_cast<std::int64_t>(refused - refused_at_last_log)}});
          last_refusal_log = now;
          refused_at_last_log = refused;
        }
        continue;
      }
      ++connections;
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
    }
  }
};

Server::Server(asio::io_context& ioc, ServerOptions opt, Handler handler)
    : impl_(std::make_shared<Impl>(ioc, std::move(opt), std::move(handler))) {}

Server::~Server() { stop(); }

void Server::start() {
  auto& a = impl_->acceptor;
  const std::string where = impl_->opt.host + ":" + std::to_string(impl_->opt.port);
  try {
    tcp::endpoint ep{asio::ip::make_address(impl_->opt.host), impl_->opt.port};
    a.open(ep.protocol());
    a.set_option(asio::socket_base::reuse_address(true));
    a.bind(ep);
    a.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    // The address and the setting, in place of Boost's source location.
    boost::system::error_code ignored;
    a.close(ignored);
    throw std::runtime_error("cannot listen on " + where +
                             " (/http/listen): " + e.code().message());
  }
  impl_->bound_port = a.local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
}

void Server::stop() {
  boost::system::error_code ignored;
  if (impl_->acceptor.is_open()) impl_->acceptor.close(ignored);
}

std::uint16_t Server::port() const { return impl_->bound_port; }
int Server::connections() const { return impl_->connections.load(); }
std::uint64_t Server::refused() const { return impl_->refused.load(); }

void Server::reload_tls(const TlsServerConfig& tls) {
  if (!impl_->tls || !tls.enabled()) return;
  auto fresh = make_server_context(tls);  // throws, leaving the old one in place
  impl_->opt.tls = tls;
  impl_->tls = std::move(fresh);
}

}  // namespace simpul::http
