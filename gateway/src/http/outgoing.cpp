#include "http/outgoing.hpp"

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include "core/log.hpp"
#include "http/tls_context.hpp"

namespace simpul::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

std::optional<UrlTarget> peer_of_url(std::string_view text) {
  auto url = boost::urls::parse_uri(text);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty())
    return std::nullopt;
  UrlTarget out;
  out.scheme = url->scheme();
  out.peer.host = url->host_address();
  if (out.peer.host.size() > 2 && out.peer.host.front() == '[')
    out.peer.host = out.peer.host.substr(1, out.peer.host.size() - 2);
  out.peer.tls.enabled = out.scheme == "https";
  out.peer.port = url->has_port() ? url->port_number() : (out.peer.tls.enabled ? 443 : 80);
  out.target = url->encoded_target();
  if (out.target.empty()) out.target = "/";
  return out;
}

std::string Incoming::header(std::string_view name) const {
  Request r;
  r.headers = headers;
  return r.header(name);
}

struct OutgoingConnection::Impl {
  asio::io_context& ioc;
  Peer peer;
  int connect_timeout_ms;
  std::shared_ptr<asio::ssl::context> tls_ctx;
  std::uint64_t tls_generation = 0;  // client_certificate_generation() when tls_ctx was made
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  bool open() const { return plain || tls; }
  void reset() {
    plain.reset();
    tls.reset();
  }

  awaitable<boost::system::error_code> connect(std::string& why) {
    reset();
    buffer.clear();
    tcp::resolver resolver(ioc);
    auto [rec, endpoints] = co_await resolver.async_resolve(peer.host, std::to_string(peer.port),
                                                            asio::as_tuple(use_awaitable));
    if (rec) {
      why = "resolve " + peer.host + ": " + rec.message();
      co_return rec;
    }
    if (tls_ctx) {
      renew_context();
      tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *tls_ctx);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
    auto& layer = tls ? beast::get_lowest_layer(*tls) : *plain;
    layer.expires_after(std::chrono::milliseconds(connect_timeout_ms));
    auto [ec, ep] = co_await layer.async_connect(endpoints, asio::as_tuple(use_awaitable));
    if (ec) {
      reset();
      why = ec == beast::error::timeout ? "timeout" : "connection: " + ec.message();
      co_return ec;
    }
    layer.socket().set_option(tcp::no_delay(true));
    if (!tls) co_return ec;
    if (!prepare_client_ssl(tls->native_handle(), peer.tls)) {
      reset();
      why = "tls: cannot use server name " + peer.tls.server_name;
      co_return asio::error::invalid_argument;
    }
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client,
                                               asio::as_tuple(use_awaitable));
    if (hec) {
      why = describe_tls_error(hec, tls->native_handle());
      reset();
      co_return hec;
    }
    co_return hec;
  }

  // After renew_client_certificates() (SIGHUP): the certificate and key files read again for
  // this connection; files that no longer load keep the context in use (and say so).
  void renew_context() {
    const auto generation = client_certificate_generation();
    if (generation == tls_generation) return;
    tls_generation = generation;
    try {
      tls_ctx = make_client_context(peer.tls);
    } catch (const std::exception& e) {
      log::error("http.client_certificate_reload_failed",
                 {{"peer", peer.host}, {"error", e.what()}, {"detail", "the one in use is kept"}});
    }
  }

  template <class Stream>
  awaitable<Incoming> exchange(Stream& stream, const Outgoing& out) {
    Incoming a;
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(out.method), out.target, 11};
    req.set(bhttp::field::host, peer.host + ":" + std::to_string(peer.port));
    for (const auto& h : out.headers) req.set(h.name, h.value);
    req.body() = out.body;
    req.keep_alive(true);
    req.prepare_payload();
    auto& layer = beast::get_lowest_layer(stream);
    layer.expires_after(std::chrono::milliseconds(out.timeout_ms));
    auto [wec, wn] = co_await bhttp::async_write(stream, req, asio::as_tuple(use_awaitable));
    if (wec) {
      a.ec = wec;
      co_return a;
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto [rec, rn] =
        co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
    if (rec) {
      a.ec = rec;
      co_return a;
    }
    auto res = parser.release();
    a.status = static_cast<int>(res.result_int());
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      a.headers.push_back({std::move(name), std::string(f.value())});
    }
    a.body = std::move(res.body());
    auto ra = res[bhttp::field::retry_after];
    if (!ra.empty()) a.retry_after_s = std::atoi(std::string(ra).c_str());
    if (!res.keep_alive()) reset();
    co_return a;
  }
};

OutgoingConnection::OutgoingConnection(asio::io_context& ioc, Peer peer, int connect_timeout_ms)
    : impl_(std::make_unique<Impl>(
          Impl{ioc, std::move(peer), connect_timeout_ms, nullptr, 0, nullptr, nullptr, {}})) {
  if (impl_->peer.tls.enabled) {
    if (impl_->peer.tls.server_name.empty()) impl_->peer.tls.server_name = impl_->peer.host;
    impl_->tls_ctx = make_client_context(impl_->peer.tls);
    impl_->tls_generation = client_certificate_generation();
  }
}

OutgoingConnection::~OutgoingConnection() = default;

awaitable<Incoming> OutgoingConnection::send(const Outgoing& out) {
  auto& d = *impl_;
  // Renewed certificates (SIGHUP): this request goes on a new connection that presents them.
  if (d.open() && d.tls_ctx && d.tls_generation != client_certificate_generation()) d.reset();
  if (!d.open()) {
    Incoming failed;
    failed.ec = co_await d.connect(failed.error);
    if (failed.ec) co_return failed;
  }
  Incoming a;
  if (d.tls)
    a = co_await d.exchange(*d.tls, out);
  else
    a = co_await d.exchange(*d.plain, out);
  if (a.ec) {
    a.error = a.ec == beast::error::timeout ? "timeout" : "connection: " + a.ec.message();
    d.reset();
  }
  co_return a;
}

}  // namespace simpul::http
