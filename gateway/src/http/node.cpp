#include "http/node.hpp"

#include <boost/asio.hpp>

#include <thread>

#include "connectors/runtime.hpp"
#include "core/crypto.hpp"
#include "core/log.hpp"
#include "federation/fed_api.hpp"
#include "federation/upstream_link.hpp"
#include "lapor/lapor_link.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"
#include "http/server.hpp"
#include "http/tls_context.hpp"
#include "simpul/calendar.hpp"
#include "node/store_setup.hpp"
#include "relay/supervisor.hpp"
#include "store/commit_queue.hpp"

namespace simpul {

namespace asio = boost::asio;

namespace {

class IoScheduler final : public Scheduler {
 public:
  explicit IoScheduler(asio::io_context& ioc) : ioc_(ioc) {}
  void after(int ms, std::function<void()> fn) override {
    auto timer = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(ms));
    timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (!ec) fn();
    });
  }

 private:
  asio::io_context& ioc_;
};

}  // namespace

void check_tls(const Config& cfg) {
  if (cfg.http.tls.enabled()) {
    try {
      http::make_server_context(cfg.http.tls);
    } catch (const std::runtime_error& e) {
      throw ConfigError(cfg.file, "/http/tls", e.what());
    }
  }
  if (cfg.upstream.enabled && cfg.upstream.tls.enabled) {
    try {
      http::make_client_context(cfg.upstream.tls);
    } catch (const std::runtime_error& e) {
      throw ConfigError(cfg.file, "/upstream/ca_file", e.what());
    }
  }
}

struct Node::Impl {
  Config cfg;
  Directory directory;
  std::function<TimeMs()> clock;
  std::unique_ptr<Store> reader;
  std::unique_ptr<CommitQueue> writer;
  http::Metrics metrics;
  std::unique_ptr<http::Authenticator> auth;
  std::unique_ptr<http::Api> api;
  std::unique_ptr<http::Router> router;
  asio::io_context ioc{1};
  IoScheduler scheduler{ioc};
  std::unique_ptr<Supervisor> supervisor;
  std::unique_ptr<FederationApi> federation;
  std::unique_ptr<ConnectorRuntime> connectors;
  std::unique_ptr<Uplink> upstream;
  std::unique_ptr<http::Server> server;
  std::thread thread;
  std::atomic<bool> stopping{false};

  void graceful_stop() {
    if (stopping.exchange(true)) return;
    log::info("node.stopping", {{"node", cfg.node.id}});
    server->stop();
    supervisor->stop();
    if (upstream) upstream->stop();
    connectors->stop();
    // Let queued writes commit and their answers go out, then stop the loop.
    writer->stop();
    auto timer = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(200));
    timer->async_wait([this, timer](auto) { ioc.stop(); });
  }
};

Node::Node(Config cfg, std::function<TimeMs()> clock) : impl_(std::make_unique<Impl>()) {
  auto& d = *impl_;
  d.cfg = std::move(cfg);
  d.clock = std::move(clock);
  log::Level level;
  if (log::parse_level(d.cfg.log_level, level)) log::set_level(level);
  check_tls(d.cfg);
  std::string admin = resolve_secret(d.cfg.auth.admin_token_ref, d.cfg.file, "/auth/admin_token");

  d.directory = Directory(d.cfg.children);
  auto write_store = open_node_store(d.cfg, StoreUse::serve);  // migrates
  d.reader = open_node_store(d.cfg, StoreUse::existing);

  d.writer = std::make_unique<CommitQueue>(std::move(write_store), ledger_rules(d.cfg), d.cfg.store.max_batch);
  // Connectors are built (and their config checked) before anything listens. The writing
  // ledger learns which complaints to queue for the outbound ones; no job has been submitted
  // yet, and submit() hands this over to the writer thread under the queue's lock.
  d.supervisor = std::make_unique<Supervisor>(d.ioc, d.metrics);
  d.connectors =
      std::make_unique<ConnectorRuntime>(d.ioc, *d.supervisor, d.cfg, *d.reader, *d.writer, d.metrics, d.clock);
  d.writer->ledger().set_outbound_routes(d.connectors->outbound_routes());

  d.auth = std::make_unique<http::Authenticator>(*d.reader, crypto::sha256_hex(admin));
  d.api = std::make_unique<http::Api>(d.cfg, *d.reader, *d.writer, d.writer->ledger().fold_context(), d.metrics,
                                      *d.auth, d.clock);
  d.federation = std::make_unique<FederationApi>(d.cfg, *d.reader, *d.writer, *d.auth,
                                                 d.directory, d.scheduler, d.clock);
  d.router = std::make_unique<http::Router>(d.metrics);
  d.api->add_routes(*d.router);
  d.federation->add_routes(*d.router);
  d.connectors->add_routes(*d.router);
  d.connectors->report_to(*d.api);
  // A loop that failed (restarting) or stopped is shown as its own check.
  Supervisor* supervisor = d.supervisor.get();
  d.api->add_troubles([supervisor] {
    std::vector<std::pair<std::string, std::pair<std::string, std::string>>> out;
    for (auto& t : supervisor->troubles()) out.push_back({"loop:" + t.loop, {t.state, t.error}});
    return out;
  });
  // Wake parked long-polls after every commit (hook runs on the writer thread).
  Impl* impl = &d;
  if (d.cfg.upstream.enabled) {
    std::string credential = resolve_secret(d.cfg.upstream.credential_ref, d.cfg.file, "/upstream/credential");
    if (d.cfg.upstream.dialect == "lapor")
      d.upstream = std::make_unique<LaporLink>(d.ioc, *d.supervisor, d.cfg, std::move(credential), *d.reader,
                                               *d.writer, d.clock);
    else
      d.upstream = std::make_unique<UpstreamLink>(d.ioc, *d.supervisor, d.cfg, std::move(credential), *d.reader,
                                                  *d.writer, d.clock);
    d.metrics.gauge("simpul_upstream_breaker_open", "1 while the upstream link's circuit breaker is open.",
                    [impl] { return impl->upstream->status().breaker_open ? 1.0 : 0.0; });
    d.metrics.gauge("simpul_upstream_consecutive_failures", "Failed upstream calls in a row.",
                    [impl] { return static_cast<double>(impl->upstream->status().consecutive_failures); });
    d.metrics.gauge("simpul_upstream_lag_seconds", "Age of the oldest event waiting to go upstream.",
                    [impl] {
                      auto b = impl->reader->backlog(Destination::upstream().name());
                      return b.oldest_pending ? (impl->clock() - *b.oldest_pending) / 1000.0 : 0.0;
                    });
    d.metrics.gauge("simpul_upstream_pushed_total", "Events the parent acknowledged since start.",
                    [impl] { return static_cast<double>(impl->upstream->status().pushed); });
    d.metrics.gauge("simpul_upstream_pulled_total", "New events merged from the parent since start.",
                    [impl] { return static_cast<double>(impl->upstream->status().pulled); });
  }
  d.metrics.gauge("simpul_dead_letters", "Events a destination refused (simpul dlq).",
                  [impl] { return static_cast<double>(impl->reader->dead_letter_count()); });
  d.writer->on_commit([impl] {
    asio::post(impl->ioc, [impl] {
      impl->federation->notify();
      if (impl->upstream) impl->upstream->wake();
      impl->connectors->wake();
    });
  });
  d.metrics.gauge("simpul_fed_parked_polls", "Child long-polls waiting for changes.",
                  [impl] { return static_cast<double>(impl->federation->parked()); });
  // Per child: what it has not fetched from its feed yet, how old the oldest of it is, and how
  // long ago it last asked (-1: not since this node started).
  for (const auto& child : d.cfg.children) {
    std::string id = child.id;
    auto label = http::Metrics::labels({{"child", id}});
    d.metrics.gauge("simpul_child_feed_unfetched" + label, "Feed events a child has not fetched yet.",
                    [impl, id] { return static_cast<double>(impl->reader->feed_backlog(id).unfetched); });
  }
  for (const auto& child : d.cfg.children) {
    std::string id = child.id;
    auto label = http::Metrics::labels({{"child", id}});
    d.metrics.gauge("simpul_child_feed_lag_seconds" + label, "Age of the oldest feed event a child has not fetched.",
                    [impl, id] {
                      auto b = impl->reader->feed_backlog(id);
                      return b.oldest_unfetched ? (impl->clock() - *b.oldest_unfetched) / 1000.0 : 0.0;
                    });
  }
  for (const auto& child : d.cfg.children) {
    std::string id = child.id;
    auto label = http::Metrics::labels({{"child", id}});
    d.metrics.gauge("simpul_child_last_poll_seconds" + label, "Seconds since a child last asked for its changes (-1: not yet).",
                    [impl, id] {
                      TimeMs t = impl->federation->last_poll(id);
                      return t ? (impl->clock() - t) / 1000.0 : -1.0;
                    });
  }

  http::ServerOptions hs;
  hs.host = d.cfg.http.host;
  hs.port = d.cfg.http.port;
  hs.max_body_bytes = d.cfg.http.max_body_bytes;
  hs.header_timeout_ms = d.cfg.http.header_timeout_ms;
  hs.body_timeout_ms = d.cfg.http.body_timeout_ms;
  hs.max_connections = d.cfg.http.max_connections;
  hs.tls = d.cfg.http.tls;
  http::Router* router = d.router.get();
  auto* server_slot = &d.server;
  d.metrics.gauge("simpul_http_connections", "Open HTTP connections.",
                  [server_slot] { return static_cast<double>((*server_slot)->connections()); });
  d.metrics.gauge("simpul_http_connections_refused", "Connections closed at once past http.max_connections, since start.",
                  [server_slot] { return static_cast<double>((*server_slot)->refused()); });
  d.server = std::make_unique<http::Server>(
      d.ioc, hs, [router](http::Request req, http::Reply reply) { router->dispatch(std::move(req), std::move(reply)); });
}

Node::~Node() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->writer->stop();
}

void Node::start() {
  auto& d = *impl_;
  if (d.upstream) {
    d.upstream->start();
    // Nothing from outside is taken in (no listening socket, no connector polls) until the link
    // has asked the parent what it holds from this node and merged it: a node restored from a
    // backup gets its own events back first. The parent's first answer settles it; a parent that
    // does not answer within its timeout leaves the rest to the background.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(d.cfg.upstream.timeout_ms + 1000);
    while (d.upstream->recovering() && std::chrono::steady_clock::now() < deadline)
      d.ioc.run_one_for(std::chrono::milliseconds(50));
    if (d.ioc.stopped()) d.ioc.restart();
  }
  d.server->start();
  d.connectors->start();
  log::info("node.listening", {{"node", impl_->cfg.node.id}, {"tier", impl_->cfg.node.tier},
                               {"host", impl_->cfg.http.host}, {"port", static_cast<int>(port())},
                               {"tls", impl_->cfg.http.tls.enabled()},
                               {"store", impl_->cfg.store.path}});
}

std::uint16_t Node::port() const { return impl_->server->port(); }

void Node::run() {
  asio::signal_set signals(impl_->ioc, SIGINT, SIGTERM);
  signals.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) impl_->graceful_stop();
  });
  impl_->ioc.run();
  signals.cancel();
  log::info("node.stopped", {{"node", impl_->cfg.node.id}});
}

void Node::start_background() {
  start();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

void Node::stop() {
  if (impl_->ioc.stopped()) return;
  asio::post(impl_->ioc, [this] { impl_->graceful_stop(); });
  if (impl_->thread.joinable() && impl_->thread.get_id() != std::this_thread::get_id())
    impl_->thread.join();
}

const Config& Node::config() const { return impl_->cfg; }

}  // namespace simpul
