// The composition root: what a node is made of, listed in one place (Node::Node below). Each
// component is named by its config section, adds its routes and metrics, and is started,
// woken after commits and stopped the same way. Nothing else in the tree builds a node.

#include "node/node.hpp"

#include <unistd.h>

#include <boost/asio.hpp>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <sstream>
#include <thread>

#include "connectors/runtime.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/pki.hpp"
#include "core/systemd.hpp"
#include "federation/audit_anchor.hpp"
#include "federation/fed_api.hpp"
#include "http/api.hpp"
#include "http/auth.hpp"
#include "http/server.hpp"
#include "http/tls_context.hpp"
#include "ledger/commit_queue.hpp"
#include "ledger/retention.hpp"
#include "ledger/sealer.hpp"
#include "ledger/sla_engine.hpp"
#include "node/component.hpp"
#include "node/recompute.hpp"
#include "node/reconcile_runs.hpp"
#include "node/signing_key.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"
#include "relay/supervisor.hpp"
#include "simpul/calendar.hpp"
#include "ui/dashboard.hpp"

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

// What every component is built from.
struct Parts {
  const Config& cfg;
  asio::io_context& ioc;
  Supervisor& supervisor;
  Store& reader;
  CommitQueue& writer;
  Metrics& metrics;
  const http::Authenticator& auth;
  std::function<TimeMs()> clock;
  const crypto::SigningKey& signing_key;
};

// "http": the /v1 API, health and metrics, and the listening socket every route is served on.
class HttpComponent final : public Component {
 public:
  HttpComponent(Parts& p, http::Router& router)
      : api_(p.cfg, p.reader, p.writer, p.writer.ledger().fold_context(), p.metrics, p.auth,
             p.clock) {
    http::ServerOptions hs;
    hs.host = p.cfg.http.host;
    hs.port = p.cfg.http.port;
    hs.max_body_bytes = p.cfg.http.max_body_bytes;
    hs.header_timeout_ms = p.cfg.http.header_timeout_ms;
    hs.body_timeout_ms = p.cfg.http.body_timeout_ms;
    hs.max_connections = p.cfg.http.max_connections;
    hs.tls = p.cfg.http.tls;
    http::Router* r = &router;
    server_ = std::make_unique<http::Server>(p.ioc, hs, [r](http::Request req, http::Reply reply) {
      r->dispatch(std::move(req), std::move(reply));
    });
    http::Server* server = server_.get();
    p.metrics.gauge("simpul_http_connections", "Open HTTP connections.",
                    [server] { return static_cast<double>(server->connections()); });
    p.metrics.sampled_counter("simpul_http_connections_refused_total",
                              "Connections closed at once past http.max_connections, since start.",
                              [server] { return static_cast<double>(server->refused()); });
  }
  std::string_view name() const override { return "http"; }
  void add_routes(http::Router& router) override { api_.add_routes(router); }
  void start() override { server_->start(); }
  void stop() override { server_->stop(); }
  http::Api& api() { return api_; }
  std::uint16_t port() const { return server_->port(); }
  void reload_tls(const http::TlsServerConfig& tls) { server_->reload_tls(tls); }

 private:
  http::Api api_;
  std::unique_ptr<http::Server> server_;
};

// "children": the federation API the child nodes push to and pull their feeds from.
class ChildrenComponent final : public Component {
 public:
  ChildrenComponent(Parts& p, Scheduler& scheduler)
      : directory_(p.cfg.children),
        fed_(p.cfg, p.reader, p.writer, p.auth, directory_, scheduler, p.clock) {
    FederationApi* fed = &fed_;
    Store* reader = &p.reader;
    auto clock = p.clock;
    p.metrics.gauge("simpul_fed_parked_polls", "Child long-polls waiting for changes.",
                    [fed] { return static_cast<double>(fed->parked()); });
    // Per child: what it has not fetched from its feed yet, how old the oldest of it is, and
    // how long ago it last asked (-1: not since this node started).
    for (const auto& child : p.cfg.children) {
      std::string id = child.id;
      if (child.auth != "token")
        p.metrics.gauge(
            "simpul_child_certificate_expiry_timestamp_seconds" + Metrics::labels({{"child", id}}),
            "When the client certificate a child last presented ends (Unix time; 0: none seen "
            "since start).",
            [fed, id] { return static_cast<double>(fed->child_certificate_expiry(id) / 1000); });
      p.metrics.gauge("simpul_child_feed_unfetched" + Metrics::labels({{"child", id}}),
                      "Feed events a child has not fetched yet.", [reader, id] {
                        return static_cast<double>(reader->feed_backlog(id).unfetched);
                      });
    }
    for (const auto& child : p.cfg.children) {
      std::string id = child.id;
      p.metrics.gauge("simpul_child_feed_lag_seconds" + Metrics::labels({{"child", id}}),
                      "Age of the oldest feed event a child has not fetched.", [reader, id, clock] {
                        auto b = reader->feed_backlog(id);
                        return b.oldest_unfetched ? (clock() - *b.oldest_unfetched) / 1000.0 : 0.0;
                      });
    }
    for (const auto& child : p.cfg.children) {
      std::string id = child.id;
      p.metrics.gauge("simpul_child_last_poll_seconds" + Metrics::labels({{"child", id}}),
                      "Seconds since a child last asked for its changes (no sample: not yet).",
                      [fed, id, clock] {
                        TimeMs t = fed->last_poll(id);
                        return t ? (clock() - t) / 1000.0 : std::nan("");
                      });
    }
    // Per child: breaks of its audit chain seen here (federation/audit_anchor.hpp).
    for (const auto& child : p.cfg.children) {
      std::string id = child.id;
      p.metrics.sampled_counter(
          "simpul_child_audit_breaks_total" + Metrics::labels({{"child", id}}),
          "Times a child's audit log head went back or no longer held the entry kept here.",
          [reader, id] {
            auto a = anchored_head(*reader, id);
            return a ? static_cast<double>(a->breaks) : 0.0;
          });
    }
  }
  std::string_view name() const override { return "children"; }
  TimeMs last_poll(const std::string& child) const { return fed_.last_poll(child); }
  void add_routes(http::Router& router) override { fed_.add_routes(router); }
  void committed() override { fed_.notify(); }

 private:
  Directory directory_;
  FederationApi fed_;
};

// "upstream": the link to the tier above, in the dialect the config names (node/uplinks.cpp).
class UpstreamComponent final : public Component {
 public:
  explicit UpstreamComponent(Parts& p) : ioc_(p.ioc), timeout_ms_(p.cfg.upstream.timeout_ms) {
    UplinkContext ctx{p.ioc,    p.supervisor, p.cfg,   upstream_credential(p.cfg),
                      p.reader, p.writer,     p.clock, p.signing_key};
    link_ = uplink_dialect(p.cfg).make(ctx);
    Uplink* link = link_.get();
    Store* reader = &p.reader;
    auto clock = p.clock;
    p.metrics.gauge("simpul_upstream_breaker_open",
                    "1 while the upstream link's circuit breaker is open.",
                    [link] { return link->status().breaker_open ? 1.0 : 0.0; });
    p.metrics.gauge("simpul_upstream_consecutive_failures", "Failed upstream calls in a row.",
                    [link] { return static_cast<double>(link->status().consecutive_failures); });
    p.metrics.gauge("simpul_upstream_lag_seconds",
                    "Age of the oldest event waiting to go upstream.", [reader, clock] {
                      auto b = reader->backlog(Destination::upstream().name());
                      return b.oldest_pending ? (clock() - *b.oldest_pending) / 1000.0 : 0.0;
                    });
    p.metrics.sampled_counter("simpul_upstream_pushed_total",
                              "Events the parent acknowledged since start.",
                              [link] { return static_cast<double>(link->status().pushed); });
    p.metrics.sampled_counter("simpul_upstream_pulled_total",
                              "New events merged from the parent since start.",
                              [link] { return static_cast<double>(link->status().pulled); });
  }
  std::string_view name() const override { return "upstream"; }
  BreakerState breaker() const { return link_->status(); }
  // Nothing from outside is taken in (no listening socket, no connector polls) until the link
  // has asked the parent what it holds from this node and merged it: a node restored from a
  // backup gets its own events back first. The parent's first answer settles it; a parent that
  // does not answer within its timeout leaves the rest to the background.
  void start() override {
    link_->start();
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_ + 1000);
    while (link_->recovering() && std::chrono::steady_clock::now() < deadline)
      ioc_.run_one_for(std::chrono::milliseconds(50));
    if (ioc_.stopped()) ioc_.restart();
  }
  void stop() override { link_->stop(); }
  void committed() override { link_->wake(); }

 private:
  asio::io_context& ioc_;
  int timeout_ms_;
  std::unique_ptr<Uplink> link_;
};

// "connectors": the legacy apps' webhooks, polls and outbound relays.
class ConnectorsComponent final : public Component {
 public:
  explicit ConnectorsComponent(Parts& p)
      : runtime_(p.ioc, p.supervisor, p.cfg, p.reader, p.writer, p.metrics, p.clock) {
    // The writing ledger learns which complaints to queue for the outbound ones; no job has
    // been submitted yet, and submit() hands this over to the writer thread under its lock.
    p.writer.ledger().set_outbound_routes(runtime_.outbound_routes());
  }
  std::string_view name() const override { return "connectors"; }
  void add_routes(http::Router& router) override { runtime_.add_routes(router); }
  void start() override { runtime_.start(); }
  void stop() override { runtime_.stop(); }
  void committed() override { runtime_.wake(); }
  std::vector<Check> checks() const override { return runtime_.checks(); }

 private:
  ConnectorRuntime runtime_;
};

// "seal": every reporter's identity in the store brought under the current store key
// (ledger/sealer.hpp), once after start.
class SealComponent final : public Component {
 public:
  explicit SealComponent(Parts& p)
      : sealer_(
            p.writer, [&ioc = p.ioc](std::function<void()> fn) { asio::post(ioc, std::move(fn)); },
            p.metrics) {}
  std::string_view name() const override { return "seal"; }
  void start() override { sealer_.start(); }
  void stop() override { sealer_.stop(); }

 private:
  Sealer sealer_;
};

// "ui": the web dashboard under /ui/ (ui/dashboard.hpp), on the http component's port.
class UiComponent final : public Component {
 public:
  UiComponent(Parts& p, http::SessionTable& sessions) : dashboard_(p.cfg, p.auth, sessions) {}
  std::string_view name() const override { return "ui"; }
  void add_routes(http::Router& router) override { dashboard_.add_routes(router); }

 private:
  ui::Dashboard dashboard_;
};

// "sla": the scheduler that writes what this node's SLA clocks decide (ledger/sla.hpp).
class SlaComponent final : public Component {
 public:
  SlaComponent(Parts& p, Scheduler& scheduler)
      : engine_(
            p.reader, p.writer, scheduler,
            [&ioc = p.ioc](std::function<void()> fn) { asio::post(ioc, std::move(fn)); }, p.clock,
            p.cfg.sla.scan_interval_s * 1000, p.metrics) {}
  std::string_view name() const override { return "sla"; }
  void start() override { engine_.start(); }
  void stop() override { engine_.stop(); }

 private:
  SlaEngine engine_;
};

// "reconcile": the node's own runs against the tier above (node/reconcile_runs.hpp).
class ReconcileComponent final : public Component {
 public:
  ReconcileComponent(Parts& p, reconcile::With with)
      : runs_(p.cfg, with, p.reader, p.writer, p.metrics, p.clock) {}
  std::string_view name() const override { return "reconcile"; }
  void start() override { runs_.start(); }
  void stop() override { runs_.stop(); }
  std::vector<Check> checks() const override { return {runs_.check()}; }

 private:
  ReconcileRuns runs_;
};

// "retention": the deletes that keep the store from growing for ever (ledger/retention.hpp).
class RetentionComponent final : public Component {
 public:
  RetentionComponent(Parts& p, Scheduler& scheduler)
      : retention_(
            p.writer, scheduler,
            [&ioc = p.ioc](std::function<void()> fn) { asio::post(ioc, std::move(fn)); }, p.clock,
            settings(p.cfg), p.metrics) {
    p.metrics.gauge("simpul_store_free_pages",
                    "Free pages in the database file (reused, or returned by retention).",
                    [reader = &p.reader] { return static_cast<double>(reader->free_pages()); });
  }
  std::string_view name() const override { return "retention"; }
  void start() override { retention_.start(); }
  void stop() override { retention_.stop(); }

 private:
  static RetentionSettings settings(const Config& cfg) {
    RetentionSettings s;
    constexpr TimeMs day = 24LL * 3600 * 1000;
    s.interval_ms = cfg.retention.interval_s * 1000;
    s.first_delay_ms = std::min(s.interval_ms, 60 * 1000);
    s.outbox_done_ms = cfg.retention.outbox_done_days * day;
    s.raw_closed_ms = cfg.retention.raw_payload_days * day;
    s.idempotency_ms = cfg.retention.idempotency_days * day;
    return s;
  }
  Retention retention_;
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
      const bool own = std::string_view(e.what()).find("client") != std::string_view::npos;
      throw ConfigError(cfg.file, own ? "/upstream/cert_file" : "/upstream/ca_file", e.what());
    }
  }
}

// What runs: simpul_build_info (1, with the version and the node as labels) and the process's
// own figures as Prometheus names them, read from /proc at each scrape.
void describe_process(Metrics& m, const Config& cfg) {
  m.gauge("simpul_build_info" + Metrics::labels({{"version", SIMPUL_VERSION_TEXT},
                                                 {"node", cfg.node.id},
                                                 {"tier", cfg.node.tier}}),
          "Always 1: the running version and node as labels.", [] { return 1.0; });
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // /proc/self/stat fields after the command's closing parenthesis: utime is the 12th,
  // stime the 13th, starttime the 20th, rss the 22nd (counted from the state, the 1st).
  auto stat = [](int field) {
    std::ifstream in("/proc/self/stat");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto at = all.rfind(')');
    if (at == std::string::npos) return std::nan("");
    std::istringstream rest(all.substr(at + 2));
    std::string v;
    for (int i = 1; i <= field && rest >> v; ++i) {
    }
    return std::atof(v.c_str());
  };
  m.sampled_counter("process_cpu_seconds_total", "CPU time the node has used (user and system).",
                    [stat, ticks] { return (stat(12) + stat(13)) / ticks; });
  m.gauge("process_resident_memory_bytes", "Resident memory.",
          [stat, page] { return stat(22) * page; });
  m.gauge("process_start_time_seconds", "When the node started, in seconds since the epoch.",
          [stat, ticks] {
            std::ifstream up("/proc/uptime");
            double uptime = 0;
            up >> uptime;
            return static_cast<double>(std::time(nullptr)) - uptime + stat(20) / ticks;
          });
  m.gauge("process_open_fds", "Open file descriptors.", [] {
    double n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
      ++n;
    return n;
  });
}

struct Node::Impl {
  Config cfg;
  std::function<TimeMs()> clock;
  std::unique_ptr<Store> reader;
  std::unique_ptr<CommitQueue> writer;
  Metrics metrics;
  std::unique_ptr<http::SessionTable> sessions;  // the dashboard's logins (none when ui is off)
  std::unique_ptr<crypto::SigningKey> signing_key;
  std::unique_ptr<http::CredentialThrottle> throttle;
  std::unique_ptr<http::Authenticator> auth;
  http::Router router{metrics};
  asio::io_context ioc{1};
  IoScheduler scheduler{ioc};
  std::unique_ptr<Supervisor> supervisor;
  // In start order: the upstream link first (recovery before anything is taken in), then the
  // listener, then the connectors' polls. Stopped in the same order, the listener first of
  // what takes writes in.
  std::vector<std::unique_ptr<Component>> components;
  HttpComponent* http = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};

  // When this node's own certificates end (listener, upstream; 0: none), read from their files
  // at start, on SIGHUP and once a day; a certificate with fewer than kCertificateWarningDays
  // left is a warning each time, an expired one an error.
  static constexpr int kCertificateWarningDays = 30;
  std::atomic<TimeMs> listener_not_after{0}, upstream_not_after{0};
  void watch_certificates() {
    auto check = [this](const char* which, const std::string& file, std::atomic<TimeMs>& out) {
      if (file.empty()) return;
      try {
        const TimeMs end = pki::read_certificate(file).not_after;
        out = end;
        const TimeMs left = end - clock();
        if (left < 0)
          log::error("tls.certificate_expired",
                     {{"certificate", which}, {"file", file}, {"not_after", format_utc(end)}});
        else if (left < kCertificateWarningDays * 86'400'000LL)
          log::warn("tls.certificate_expiring",
                    {{"certificate", which},
                     {"file", file},
                     {"not_after", format_utc(end)},
                     {"days_left", static_cast<std::int64_t>(left / 86'400'000)},
                     {"detail", "renew it (simpul pki renew) and send SIGHUP"}});
      } catch (const std::exception& e) {
        log::error("tls.certificate_unreadable", {{"certificate", which}, {"error", e.what()}});
      }
    };
    check("listener", cfg.http.tls.cert_file, listener_not_after);
    if (cfg.upstream.enabled) check("upstream", cfg.upstream.tls.cert_file, upstream_not_after);
  }
  void watch_certificates_daily() {
    scheduler.after(86'400'000, [this] {
      if (stopping) return;
      watch_certificates();
      watch_certificates_daily();
    });
  }

  // SIGHUP: the config file read again and what can change while running applied: the log
  // level, the TLS certificate and key (renewed on disk), the reference data and the calendar
  // with the SLA rules. Everything else is read at start; the log line names what changed and
  // waits for a restart. A config that no longer loads changes nothing. Never stops the node.
  // systemd hears RELOADING=1 before and READY=1 after.
  void reload() {
    systemd::notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(systemd::monotonic_usec()));
    reload_config();
    systemd::notify("READY=1");
  }

  void reload_config() {
    Config next;
    try {
      next = load_node_config(cfg.file);
    } catch (const std::exception& e) {
      log::error("node.reload_failed",
                 {{"config", cfg.file}, {"error", e.what()}, {"detail", "nothing was changed"}});
      return;
    }
    std::string reloaded, waiting;
    auto add = [](std::string& list, const std::string& what) {
      list += (list.empty() ? "" : ", ") + what;
    };
    if (next.log_level != cfg.log_level) {
      log::Level level;
      if (log::parse_level(next.log_level, level)) {
        log::set_level(level);
        add(reloaded, "log level " + next.log_level);
        cfg.log_level = next.log_level;
      }
    }
    if (cfg.http.tls.enabled()) {
      try {
        http->reload_tls(next.http.tls);
        add(reloaded, "TLS certificate " + next.http.tls.cert_file);
        if (!next.http.tls.client_crl_file.empty())
          add(reloaded, "revocation list " + next.http.tls.client_crl_file);
      } catch (const std::exception& e) {
        log::error("node.reload_tls_failed",
                   {{"error", e.what()}, {"detail", "the certificate in use is kept"}});
      }
    }
    // Outgoing connections read their certificate files again from their next connection on.
    if (cfg.upstream.enabled && !cfg.upstream.tls.cert_file.empty()) {
      http::renew_client_certificates();
      add(reloaded, "upstream certificate " + cfg.upstream.tls.cert_file);
    }
    watch_certificates();
    // Reference data: the API, the children's /fed/v1/reference and the dashboard read `cfg` on
    // this thread; the ledger's agency list is set by a job on the writer thread.
    if (next.reference != cfg.reference) {
      cfg.reference = next.reference;
      writer->submit([agencies = agency_ids(cfg)](Ledger& l) { l.set_agencies(agencies); },
                     [](errc) {});
      add(reloaded, "reference data");
    }
    // The calendar (a new file, or the same file with new days) and the SLA rules: the API and
    // the ledger take the new one, and every complaint's clocks are folded again by a pass on
    // its own thread (each moved due date logged), while the node goes on serving.
    try {
      FoldContext fold = fold_context(next);
      Config as_next = cfg;
      as_next.sla = next.sla;
      if (projection_fingerprint(as_next, fold) != projection_fingerprint(cfg, fold_in_force)) {
        if (recompute_running) {
          add(waiting, "sla (a recompute pass is running: reload again after sla.recompute_done)");
        } else {
          cfg.sla = next.sla;
          fold_in_force = fold;
          http->api().set_fold(fold);
          writer->submit([fold](Ledger& l) { l.set_fold_context(fold); }, [](errc) {});
          add(reloaded, "calendar " +
                            (fold.calendar ? fold.calendar->version() : std::string("weekends")) +
                            " and SLA rules");
          start_recompute();
        }
      }
    } catch (const std::exception& e) {
      log::error("node.reload_calendar_failed",
                 {{"error", e.what()}, {"detail", "the calendar in force is kept"}});
    }
    if (next.connectors.size() != cfg.connectors.size()) add(waiting, "connectors");
    if (next.http.port != cfg.http.port || next.http.host != cfg.http.host)
      add(waiting, "http.listen");
    log::info(
        "node.reloaded",
        {{"config", cfg.file},
         {"reloaded", reloaded.empty() ? "nothing that changed" : reloaded},
         {"restart_to_apply", waiting.empty() ? "none" : waiting},
         {"note", "connectors, listen address, store and federation settings are read at start"}});
    rapidjson::StringBuffer detail;
    {
      json::Writer w(detail);
      w.StartObject();
      w.Key("reloaded");
      w.String(reloaded.c_str());
      w.Key("restart_to_apply");
      w.String(waiting.c_str());
      w.EndObject();
    }
    writer->submit(
        [at = clock(), file = cfg.file, text = std::string(detail.GetString(), detail.GetSize())](
            Ledger& l) { l.store().audit(at, "node", "config.reload", file, text); },
        [](errc e) {
          if (e != errc::ok) log::error("node.reload_audit_failed", {{"error", code_name(e)}});
        });
  }

  // The clocks refolded with the calendar now in force, on a thread of its own with its own
  // reader (the io thread's reader is not shared), the writes through the writer as at start.
  FoldContext fold_in_force;
  std::atomic<bool> recompute_running{false};
  std::thread recompute;
  void start_recompute() {
    if (recompute.joinable()) recompute.join();
    recompute_running = true;
    Config snapshot = cfg;
    recompute = std::thread([this, snapshot] {
      try {
        // The writer runs jobs in order: once this one is done, so is the job that set the new
        // calendar, and the ledger's fold may be read here.
        std::promise<errc> set;
        auto was_set = set.get_future();
        writer->submit([](Ledger&) {}, [&set](errc e) { set.set_value(e); });
        if (was_set.get() != errc::ok) throw StoreError(errc::unavailable, "the node is stopping");
        auto own_reader = open_node_store(snapshot, StoreUse::existing);
        recompute_if_changed(snapshot, *own_reader, *writer, clock());
      } catch (const std::exception& e) {
        log::error("sla.recompute_failed",
                   {{"error", e.what()}, {"detail", "the clocks are refolded at the next start"}});
      }
      recompute_running = false;
    });
  }

  void graceful_stop() {
    if (stopping.exchange(true)) return;
    systemd::notify("STOPPING=1");
    log::info("node.stopping", {{"node", cfg.node.id}});
    supervisor->stop();
    http->stop();
    for (auto& c : components)
      if (c.get() != http) c->stop();
    // A recompute pass ends at its next chunk (the writer answers unavailable once stopped).
    // Let queued writes commit and their answers go out, then stop the loop.
    writer->stop();
    if (recompute.joinable()) recompute.join();
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

  auto write_store = open_node_store(d.cfg, StoreUse::serve);  // migrates
  d.reader = open_node_store(d.cfg, StoreUse::existing);
  d.writer = std::make_unique<CommitQueue>(std::move(write_store), ledger_rules(d.cfg),
                                           d.cfg.store.max_batch);
  d.fold_in_force = d.writer->ledger().fold_context();
  d.supervisor = std::make_unique<Supervisor>(d.ioc, d.metrics);
  d.router.set_options({d.cfg.log_access, d.cfg.http.trusted_proxies});
  if (d.cfg.ui.enabled) {
    http::SessionOptions so;
    so.idle_ms = static_cast<TimeMs>(d.cfg.ui.session_idle_minutes) * 60'000;
    so.max_ms = static_cast<TimeMs>(d.cfg.ui.session_max_hours) * 3'600'000;
    d.sessions = std::make_unique<http::SessionTable>(so, d.clock);
  }
  d.throttle = std::make_unique<http::CredentialThrottle>(http::CredentialThrottle::Settings{
      d.cfg.auth.failed_burst, d.cfg.auth.failed_per_minute, d.cfg.auth.failed_log_interval_s});
  d.auth = std::make_unique<http::Authenticator>(*d.reader, crypto::sha256_hex(admin),
                                                 d.sessions.get(), d.throttle.get(), d.clock);
  {
    http::CredentialThrottle* t = d.throttle.get();
    d.metrics.sampled_counter("simpul_auth_failures_total",
                              "Credentials refused: unknown, revoked or expired tokens, ended "
                              "sessions, failed dashboard logins.",
                              [t] { return static_cast<double>(t->failures()); });
    d.metrics.sampled_counter("simpul_auth_throttled_total",
                              "Requests answered 429: their address failed too often.",
                              [t] { return static_cast<double>(t->throttled()); });
    d.metrics.gauge("simpul_auth_throttled_clients",
                    "Client addresses that must wait before presenting a credential.",
                    [t] { return static_cast<double>(t->throttled_clients()); });
  }
  d.signing_key = std::make_unique<crypto::SigningKey>(load_signing_key(d.cfg));
  Parts parts{d.cfg,     d.ioc,   *d.supervisor, *d.reader,     *d.writer,
              d.metrics, *d.auth, d.clock,       *d.signing_key};
  describe_process(d.metrics, d.cfg);
  d.watch_certificates();
  if (!d.cfg.http.tls.cert_file.empty() || !d.cfg.upstream.tls.cert_file.empty()) {
    Impl* impl = &d;
    const char* help = "When this node's TLS certificate ends (Unix time; 0: unreadable).";
    if (!d.cfg.http.tls.cert_file.empty())
      d.metrics.gauge(
          "simpul_tls_certificate_expiry_timestamp_seconds" +
              Metrics::labels({{"certificate", "listener"}}),
          help, [impl] { return static_cast<double>(impl->listener_not_after.load() / 1000); });
    if (d.cfg.upstream.enabled && !d.cfg.upstream.tls.cert_file.empty())
      d.metrics.gauge(
          "simpul_tls_certificate_expiry_timestamp_seconds" +
              Metrics::labels({{"certificate", "upstream"}}),
          help, [impl] { return static_cast<double>(impl->upstream_not_after.load() / 1000); });
  }

  // The node's components. Connectors are built (and their config checked) before anything
  // listens.
  UpstreamComponent* upstream = nullptr;
  if (d.cfg.upstream.enabled) {
    auto up = std::make_unique<UpstreamComponent>(parts);
    upstream = up.get();
    d.components.push_back(std::move(up));
  }
  auto http = std::make_unique<HttpComponent>(parts, d.router);
  d.http = http.get();
  d.components.push_back(std::move(http));
  auto children = std::make_unique<ChildrenComponent>(parts, d.scheduler);
  ChildrenComponent* fed = children.get();
  d.components.push_back(std::move(children));
  if (d.sessions) d.components.push_back(std::make_unique<UiComponent>(parts, *d.sessions));
  d.components.push_back(std::make_unique<ConnectorsComponent>(parts));
  if (d.cfg.sla.scheduler)
    d.components.push_back(std::make_unique<SlaComponent>(parts, d.scheduler));
  d.components.push_back(std::make_unique<RetentionComponent>(parts, d.scheduler));
  d.components.push_back(std::make_unique<SealComponent>(parts));
  if (auto with = reconcile::configured(d.cfg))
    d.components.push_back(std::make_unique<ReconcileComponent>(parts, *with));
  for (auto& c : d.components) c->add_routes(d.router);

  // /readyz: every component's checks, and any loop that failed (restarting) or stopped.
  Impl* impl = &d;
  d.http->api().add_checks([impl] {
    std::vector<Component::Check> out;
    for (const auto& c : impl->components)
      for (auto& check : c->checks()) out.push_back(std::move(check));
    for (auto& t : impl->supervisor->troubles())
      out.push_back({"loop:" + t.loop, {t.state, t.error}});
    return out;
  });
  http::Api::Live live;
  if (upstream) live.upstream = [upstream] { return upstream->breaker(); };
  live.child_last_poll = [fed](const std::string& child) { return fed->last_poll(child); };
  d.http->api().set_live(std::move(live));
  d.metrics.gauge("simpul_dead_letters", "Events a destination refused (simpul dlq).",
                  [impl] { return static_cast<double>(impl->reader->dead_letter_count()); });
  // After every commit (the hook runs on the writer thread): wake whatever waits for new rows.
  d.writer->on_commit([impl] {
    asio::post(impl->ioc, [impl] {
      for (auto& c : impl->components) c->committed();
    });
  });

  // The clocks as the calendar in force derives them, before anything is taken in (the first
  // writes of this node: after the writer's hook and routes are set). A store that cannot be
  // read for it now keeps the projection it has (lists and the scheduler work on it) and is
  // refolded at the next start.
  try {
    recompute_if_changed(d.cfg, *d.reader, *d.writer, d.clock());
  } catch (const StoreError& e) {
    log::warn("sla.recompute_failed", {{"error", e.what()}});
  }
}

Node::~Node() {
  stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->writer->stop();
  if (impl_->recompute.joinable()) impl_->recompute.join();
}

void Node::start() {
  auto& d = *impl_;
  for (auto& c : d.components) c->start();
  d.watch_certificates_daily();
  log::info("node.listening", {{"node", d.cfg.node.id},
                               {"tier", d.cfg.node.tier},
                               {"host", d.cfg.http.host},
                               {"port", static_cast<int>(port())},
                               {"tls", d.cfg.http.tls.enabled()},
                               {"store", d.cfg.store.path}});
}

std::uint16_t Node::port() const { return impl_->http->port(); }

std::vector<std::pair<std::string, std::string>> Node::routes() const {
  return impl_->router.table();
}

void Node::run() {
  // SIGINT and SIGTERM drain and stop; SIGHUP reloads (systemd's ExecReload) and never stops.
  asio::signal_set signals(impl_->ioc, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [this, &signals, &on_signal](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          impl_->reload();
          signals.async_wait(on_signal);
          return;
        }
        impl_->graceful_stop();
      };
  signals.async_wait(on_signal);
  // Under systemd (Type=notify): ready once listening, and the watchdog pinged from this loop at
  // half its interval, so a loop that hangs stops the pings and systemd restarts the node.
  systemd::notify("READY=1\nSTATUS=listening on port " + std::to_string(port()));
  asio::steady_timer watchdog(impl_->ioc);
  std::function<void(const boost::system::error_code&)> ping;
  if (std::int64_t every = systemd::watchdog_interval_ms(); every > 0) {
    ping = [&watchdog, &ping, every, this](const boost::system::error_code& ec) {
      if (ec || impl_->stopping) return;
      systemd::notify("WATCHDOG=1");
      watchdog.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(1, every / 2)));
      watchdog.async_wait(ping);
    };
    ping({});
  }
  impl_->ioc.run();
  watchdog.cancel();
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
