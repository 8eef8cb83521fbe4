#include "connectors/runtime.hpp"

#include <boost/asio.hpp>
#include <map>

#include "connectors/context.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "http/outgoing.hpp"
#include "intake/intake.hpp"
#include "ledger/commit_awaitable.hpp"
#include "relay/coroutines.hpp"
#include "relay/relay.hpp"
#include "relay/supervisor.hpp"

namespace simpul {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using http::problem;

namespace {
constexpr int kMaxBackoffMs = 60'000;
}  // namespace

struct ConnectorRuntime::Impl : std::enable_shared_from_this<ConnectorRuntime::Impl> {
  Impl(asio::io_context& ioc, Supervisor& supervisor, const Config& cfg, Store& reader,
       CommitQueue& writer, Metrics& metrics, std::function<TimeMs()> clock)
      : ioc(ioc),
        supervisor(supervisor),
        cfg(cfg),
        reader(reader),
        writer(writer),
        metrics(metrics),
        clock(std::move(clock)),
        slots(build_connectors(cfg)) {
    for (auto& slot : slots) links.push_back(std::make_unique<Link>(*this, &slot));
  }

  // One connector's link to its app: the relay of its outbox (one row at a time, each settled
  // in its own commit, so a crash re-sends at most one update) and its poll loop share one
  // LinkHealth: one backoff, one auth pause, one breaker; `ctx` is what the connector is lent.
  struct Link : RelaySink {
    Link(Impl& rt, ConnectorSlot* slot)
        : rt(rt), slot(slot), health("connector", slot->config->id, kMaxBackoffMs, st) {
      // The context lives inside the runtime (and stops with it), so the runtime is there
      // whenever the connector fetches.
      Impl* r = &rt;
      ctx = std::make_unique<NodeConnectorContext>(
          rt.ioc, slot->config->id, rt.metrics, rt.clock,
          [r](FetchRequest req, std::function<void(Result<FetchResponse>)> done) {
            asio::co_spawn(r->ioc, r->run_fetch(std::move(req), std::move(done)), asio::detached);
          });
    }
    Impl& rt;
    ConnectorSlot* slot;
    BreakerState st;
    LinkHealth health;
    std::unique_ptr<Relay> relay;
    std::unique_ptr<NodeConnectorContext>
        ctx;  // links go before slots: stopped before its connector

    int batch_limit() const override { return 1; }
    void send(std::vector<QueuedEvent> batch, std::function<void(Delivery)> done) override {
      auto keep = rt.shared_from_this();
      send_as_coroutine(
          rt.ioc, std::move(batch), std::move(done),
          [keep, this](std::vector<QueuedEvent> items) { return deliver_one(std::move(items)); });
    }

    awaitable<Delivery> deliver_one(std::vector<QueuedEvent> items);
  };

  asio::io_context& ioc;
  Supervisor& supervisor;
  const Config& cfg;
  Store& reader;
  CommitQueue& writer;
  Metrics& metrics;
  std::function<TimeMs()> clock;
  std::vector<ConnectorSlot> slots;
  std::vector<std::unique_ptr<Link>> links;  // one per slot, in the same order
  bool stopping = false;
  std::map<std::string, std::vector<std::unique_ptr<http::OutgoingConnection>>> idle;  // by peer

  void ingest_webhook(const http::Request& req, ConnectorSlot& slot, http::Reply reply);

  awaitable<void> run_fetch(FetchRequest req, std::function<void(Result<FetchResponse>)> done) {
    auto self = shared_from_this();
    auto url = http::peer_of_url(req.url);
    if (!url) {
      done(make_problem(errc::config_invalid, "", "url", "not an http(s) url"));
      co_return;
    }
    const http::Peer& peer = url->peer;
    const std::string key = url->scheme + "://" + peer.host + ":" + std::to_string(peer.port);
    std::unique_ptr<http::OutgoingConnection> conn;
    auto& pool = idle[key];
    const bool reused = !pool.empty();
    if (reused) {
      conn = std::move(pool.back());
      pool.pop_back();
    } else {
      try {
        conn = std::make_unique<http::OutgoingConnection>(ioc, peer, req.timeout_ms);
      } catch (const std::exception& e) {
        done(make_problem(errc::unavailable, "", "tls", std::string("tls: ") + e.what()));
        co_return;
      }
    }
    http::Outgoing o;
    o.method = req.method;
    o.target = url->target;
    for (auto& [k, v] : req.headers) o.headers.push_back({k, v});
    o.headers.push_back({"user-agent", "simpul/" + cfg.node.id});
    o.body = std::move(req.body);
    o.timeout_ms = req.timeout_ms;
    http::Incoming in = co_await conn->send(o);
    // A kept-alive connection the app closed meanwhile fails at once: try a fresh one, once.
    if (in.ec && reused && in.error != "timeout") in = co_await conn->send(o);
    if (in.ec) {
      done(make_problem(in.error == "timeout" ? errc::timeout : errc::unavailable, "", "connect",
                        in.error));
      co_return;
    }
    FetchResponse out;
    out.status = in.status;
    for (auto& h : in.headers) out.headers.emplace_back(std::move(h.name), std::move(h.value));
    out.body = std::move(in.body);
    if (idle[key].size() < 4) idle[key].push_back(std::move(conn));  // keep a few alive
    done(std::move(out));
  }

  // Delivers through the connector and resumes with its result (a plain function returning
  // Asio's awaitable: see upstream_link.cpp on GCC 12 and coroutine parameters).
  auto deliver(Connector* c, std::shared_ptr<OutboundUpdate> u) {
    return asio::async_initiate<decltype(use_awaitable), void(DeliveryResult)>(
        [this, c, u](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          c->deliver(*u, [this, h](DeliveryResult r) { asio::post(ioc, [h, r] { (*h)(r); }); });
        },
        use_awaitable);
  }

  auto commit(std::shared_ptr<CommitQueue::Work> work) {
    return commit_awaitable(ioc, writer, std::move(work));
  }

  awaitable<void> sleep(asio::steady_timer& t, std::int64_t ms) {
    t.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(ms, 0)));
    co_await t.async_wait(asio::as_tuple(use_awaitable));
  }

  // What the connector sends for one outbox row: the app's id, the complaint's status now and
  // the mapping's name for it, and the event's text (an answer, a note).
  std::optional<OutboundUpdate> update_for(const ConnectorSlot& slot, const QueuedEvent& item) {
    OutboundUpdate u;
    u.complaint_id = item.event.complaint_id;
    u.event = item.event;
    // The projection and the refs already hold what is sent: two rows, no fold of the history.
    auto projected = reader.projection(u.complaint_id);
    auto source_id = reader.ref_of(u.complaint_id, slot.mapping->system());
    if (!projected || !source_id || source_id->empty()) return std::nullopt;
    u.source_id = *source_id;
    u.status = projected->status;
    u.app_status = slot.mapping->outbound_status(u.status);
    auto payload = json::parse(item.event.payload);
    if (payload && payload->IsObject()) {
      u.text = json::get_string(*payload, "text");
      if (u.text.empty()) u.text = json::get_string(*payload, "note");
    }
    return u;
  }

  auto poll(Connector* c, std::shared_ptr<std::string> cursor) {
    return asio::async_initiate<decltype(use_awaitable), void(Result<InboundBatch>)>(
        [this, c, cursor](auto handler) {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          c->poll(*cursor, [this, h](Result<InboundBatch> r) {
            asio::post(ioc, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
          });
        },
        use_awaitable);
  }

  // Inbound polling: the connector fetches, the core maps, stores and moves the cursor in one
  // transaction, so a crash means fetching the same page again (and finding it unchanged).
  awaitable<void> poll_loop(Link* link) {
    auto self = shared_from_this();
    ConnectorSlot* slot = link->slot;
    const std::string id = slot->config->id;
    const std::string cursor_name = "connector." + id + ".cursor";
    asio::steady_timer timer(ioc);
    std::string cursor;
    auto read = [&] { cursor = reader.cursor(cursor_name); };
    if (!co_await read_at_start(ioc, "connector.poll", stopping, read)) co_return;
    while (!stopping) {
      auto current = std::make_shared<std::string>(cursor);
      Result<InboundBatch> r = co_await poll(slot->connector.get(), current);
      if (stopping) break;
      if (!r) {
        std::int64_t delay = link->health.failed(LinkHealth::pulling, Failure{r.error().detail},
                                                 slot->connector->poll_interval_ms());
        log::warn("connector.poll_failed",
                  {{"connector", id}, {"error", r.error().detail}, {"retry_in_ms", delay}});
        co_await sleep(timer, delay);
        continue;
      }
      link->health.succeeded(LinkHealth::pulling);
      auto prepared = std::make_shared<std::vector<PreparedRecord>>();
      auto refused = std::make_shared<std::vector<std::string>>();
      const TimeMs now = clock();
      NormalizeOptions opt{cfg.node.zone, cfg.node.region, now};
      for (auto& record : r->records) {
        const std::string source_id = slot->mapping->id_of(record.value());
        auto rec = prepare_record(*slot->mapping, std::move(record), opt);
        if (rec) {
          prepared->push_back(std::move(*rec));
          continue;
        }
        refused->push_back("record " + (source_id.empty() ? std::string("?") : source_id) + ": " +
                           (rec.error().pointer.empty() ? "" : rec.error().pointer + ": ") +
                           rec.error().detail);
      }
      auto outcomes = std::make_shared<std::vector<IntakeOutcome>>();
      const Mapping* mapping = &*slot->mapping;
      const std::string next = r->cursor, node = cfg.node.id,
                        dest = Destination::connector(id).name();
      auto store = std::make_shared<CommitQueue::Work>([=](Ledger& l) {
        Store& s = l.store();
        for (const auto& rec : *prepared) {
          outcomes->push_back(store_record(l, *mapping, rec, id, node, now));
          if (outcomes->back().outcome == IntakeResult::rejected)
            s.inbound_dead_letter(
                dest,
                "record " + outcomes->back().source_id + ": " + outcomes->back().problem.detail,
                now);
        }
        for (const auto& why : *refused) s.inbound_dead_letter(dest, why, now);
        s.set_cursor(cursor_name, next, now);
      });
      errc e = co_await commit(store);
      if (e != errc::ok) {
        co_await sleep(timer, 500);
        continue;  // the cursor did not move: the same page comes again
      }
      cursor = next;
      for (const auto& o : *outcomes)
        metrics.add("simpul_connector_records_total",
                    Metrics::labels({{"connector", id}, {"outcome", to_string(o.outcome)}}));
      for (std::size_t i = 0; i < refused->size(); ++i)
        metrics.add("simpul_connector_records_total",
                    Metrics::labels({{"connector", id}, {"outcome", "rejected"}}));
      if (!r->more) co_await sleep(timer, slot->connector->poll_interval_ms());
    }
  }
};

awaitable<Delivery> ConnectorRuntime::Impl::Link::deliver_one(std::vector<QueuedEvent> items) {
  Delivery d;
  const QueuedEvent& item = items.front();
  // A store that cannot be read here throws: the relay counts it a failure and waits.
  auto update = rt.update_for(*slot, item);
  if (!update) {  // no ref of this app any more: nothing to deliver
    d.done.push_back(item.id);
    co_return d;
  }
  auto u = std::make_shared<OutboundUpdate>(std::move(*update));
  DeliveryResult r = co_await rt.deliver(slot->connector.get(), u);
  rt.metrics.add(
      "simpul_connector_deliveries_total",
      Metrics::labels({{"connector", slot->config->id}, {"outcome", to_string(r.outcome)}}));
  switch (r.outcome) {
    case DeliveryOutcome::delivered:
      d.done.push_back(item.id);
      break;
    case DeliveryOutcome::rejected:
      d.dead.emplace_back(item.id, r.detail);
      break;
    case DeliveryOutcome::auth:
      d.failed.push_back(item.id);
      d.failure = Failure{r.detail, true};
      break;
    case DeliveryOutcome::retry:
      d.failed.push_back(item.id);
      d.failure = Failure{r.detail, false, r.retry_after_s};
      break;
  }
  co_return d;
}

ConnectorRuntime::ConnectorRuntime(asio::io_context& ioc, Supervisor& supervisor, const Config& cfg,
                                   Store& reader, CommitQueue& writer, Metrics& metrics,
                                   std::function<TimeMs()> clock)
    : impl_(
          std::make_shared<Impl>(ioc, supervisor, cfg, reader, writer, metrics, std::move(clock))) {
  metrics.describe(
      "simpul_connector_records_total", "counter",
      "Source records a connector delivered, by outcome (created, updated, unchanged, rejected).");
  metrics.describe("simpul_connector_deliveries_total", "counter",
                   "Updates sent to an app, by outcome (delivered, retry, auth, rejected).");
  metrics.describe("simpul_connector_pages_total", "counter",
                   "Pages a polling connector fetched from its app.");
  metrics.describe("simpul_connector_bad_signatures_total", "counter",
                   "Webhook deliveries refused for their signature.");
  for (auto& link : impl_->links) {
    auto* c = link->slot->connector.get();
    auto label = Metrics::labels({{"connector", link->slot->config->id}});
    metrics.gauge("simpul_connector_health" + label,
                  "Connector health: 0 ok, 1 degraded, 2 failing.",
                  [c] { return static_cast<double>(static_cast<int>(c->health().state)); });
    const BreakerState* st = &link->st;
    metrics.gauge("simpul_connector_breaker_open" + label,
                  "1 while the connector's circuit breaker is open.",
                  [st] { return st->breaker_open ? 1.0 : 0.0; });
    if (link->slot->connector->delivers())
      link->relay = std::make_unique<Relay>(ioc, reader, writer, impl_->clock, link->slot->outbox(),
                                            "connector", *link, link->health);
  }
}

ConnectorRuntime::~ConnectorRuntime() = default;

std::vector<OutboundRoute> ConnectorRuntime::outbound_routes() const {
  return simpul::outbound_routes(impl_->slots);
}

void ConnectorRuntime::start() {
  auto impl = impl_;
  for (auto& link : impl->links) {
    ConnectorSlot& slot = *link->slot;
    slot.connector->start(*link->ctx);
    const std::string name = "connector." + slot.config->id;
    if (link->relay) link->relay->start(impl->supervisor, name + ".relay");
    if (slot.connector->polls()) {
      auto* l = link.get();
      impl->supervisor.spawn(name + ".poll", [impl, l] { return impl->poll_loop(l); });
    }
  }
}

void ConnectorRuntime::stop() {
  impl_->stopping = true;
  for (auto& link : impl_->links) {
    link->slot->connector->drain();
    if (link->relay) link->relay->stop();
    link->ctx->stop();  // no callback into the connector from here on
  }
}

void ConnectorRuntime::wake() {
  for (auto& link : impl_->links)
    if (link->relay) link->relay->wake();
}

std::vector<std::pair<std::string, std::pair<std::string, std::string>>> ConnectorRuntime::checks()
    const {
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> out;
  for (const auto& slot : impl_->slots) {
    auto h = slot.connector->health();
    out.push_back({Destination::connector(slot.config->id).name(),
                   {std::string(to_string(h.state)), h.last_error}});
  }
  return out;
}

void ConnectorRuntime::add_routes(http::Router& r) {
  r.add("POST", "/v1/ingest/{connector}",
        [this](const http::Request& req, const http::Params& p, http::Reply reply) {
          for (auto& slot : impl_->slots) {
            if (slot.config->id == p.get("connector") && slot.connector->accepts_webhooks()) {
              impl_->ingest_webhook(req, slot, std::move(reply));
              return;
            }
          }
          reply(problem(errc::not_found, "no webhook connector with this id"));
        });
}

void ConnectorRuntime::Impl::ingest_webhook(const http::Request& req, ConnectorSlot& slot,
                                            http::Reply reply) {
  auto& cfg_ = cfg;
  auto& writer_ = writer;
  auto& metrics_ = metrics;
  auto& clock_ = clock;
  const std::string id = slot.config->id;
  TimeMs now = clock_();
  auto refuse = [&](const Problem& p, const char* what) {
    metrics_.add("simpul_connector_records_total",
                 Metrics::labels({{"connector", id}, {"outcome", "rejected"}}));
    log::info("connector.rejected",
              {{"connector", id}, {"reason", what}, {"pointer", p.pointer}, {"rule", p.rule}});
    reply(http::problem_of(p));
  };
  if (!http::is_json(req.header("content-type"))) {
    refuse(http::json_required_problem(), "delivery");
    return;
  }
  WebhookRequest wr;
  for (const auto& h : req.headers) wr.headers.emplace_back(h.name, h.value);
  wr.body = req.body;
  wr.now = now;
  auto batch = slot.connector->accept_webhook(wr);
  if (!batch) {
    refuse(batch.error(), "delivery");
    return;
  }
  // Map and normalize everything first: a delivery with one bad record stores nothing.
  auto prepared = std::make_shared<std::vector<PreparedRecord>>();
  NormalizeOptions opt{cfg_.node.zone, cfg_.node.region, now};
  for (std::size_t i = 0; i < batch->records.size(); ++i) {
    auto rec = prepare_record(*slot.mapping, std::move(batch->records[i]), opt);
    if (!rec) {
      Problem p = rec.error();
      if (batch->records.size() > 1) p.detail = "record " + std::to_string(i) + ": " + p.detail;
      refuse(p, "record");
      return;
    }
    prepared->push_back(std::move(*rec));
  }
  struct Answer {
    int status = 200;
    std::string body;
    std::vector<IntakeOutcome> outcomes;
    bool replayed = false;
  };
  auto answer = std::make_shared<Answer>();
  const std::string scope = "connector:" + id;
  const std::string key = crypto::sha256_hex(req.body);
  const Mapping* mapping = &*slot.mapping;
  const std::string node = cfg_.node.id;
  writer_.submit(
      [=](Ledger& l) {
        Store& s = l.store();
        if (auto stored = s.recall_answer(scope, key)) {
          answer->status = stored->status;
          answer->body = stored->body;
          answer->replayed = true;
          return;
        }
        Store::Savepoint delivery(s);  // one refused record: nothing of the delivery stays
        for (const auto& rec : *prepared) {
          auto o = store_record(l, *mapping, rec, id, node, now);
          answer->outcomes.push_back(o);
          if (o.outcome == IntakeResult::rejected) {
            answer->status = http_status(o.problem.code);
            return;
          }
        }
        rapidjson::StringBuffer buf;
        json::Writer w(buf);
        w.StartObject();
        w.Key("results");
        w.StartArray();
        for (const auto& o : answer->outcomes) {
          w.StartObject();
          w.Key("source_id");
          w.String(o.source_id.c_str());
          w.Key("complaint_id");
          w.String(o.complaint_id.c_str());
          w.Key("outcome");
          w.String(to_string(o.outcome).data());
          w.EndObject();
        }
        w.EndArray();
        w.EndObject();
        answer->body.assign(buf.GetString(), buf.GetSize());
        s.remember_answer(scope, key, key, 200, "", answer->body, now);
        delivery.keep();
      },
      [&metrics_, answer, id, reply = std::move(reply)](errc e) {
        if (e != errc::ok) {
          reply(http::storage_problem(e));
          return;
        }
        if (answer->status != 200) {
          const auto& o = answer->outcomes.back();
          metrics_.add("simpul_connector_records_total",
                       Metrics::labels({{"connector", id}, {"outcome", "rejected"}}));
          log::info("connector.rejected",
                    {{"connector", id}, {"source_id", o.source_id}, {"reason", o.problem.detail}});
          reply(http::problem_of(o.problem));
          return;
        }
        for (const auto& o : answer->outcomes) {
          metrics_.add("simpul_connector_records_total",
                       Metrics::labels({{"connector", id}, {"outcome", to_string(o.outcome)}}));
          log::info("connector.record", {{"connector", id},
                                         {"complaint_id", o.complaint_id},
                                         {"outcome", to_string(o.outcome)}});
        }
        http::Response res;
        res.status = 200;
        res.body = answer->body;
        reply(std::move(res));
      });
}

Result<std::string> test_connector(const Config& cfg, const std::string& id, int timeout_ms,
                                   Store& reader, CommitQueue& writer) {
  asio::io_context ioc;
  Metrics metrics;
  Supervisor supervisor(ioc, metrics);
  auto rt = std::make_shared<ConnectorRuntime::Impl>(ioc, supervisor, cfg, reader, writer, metrics,
                                                     system_now_ms);
  ConnectorRuntime::Impl::Link* link = nullptr;
  for (auto& l : rt->links)
    if (l->slot->config->id == id) link = l.get();
  if (!link) throw ConfigError(cfg.file, "/connectors", "no connector with id " + id);
  ConnectorSlot* slot = link->slot;
  std::optional<Result<std::string>> result;
  slot->connector->start(*link->ctx);
  slot->connector->test([&](Result<std::string> r) {
    result = std::move(r);
    ioc.stop();
  });
  ioc.run_for(std::chrono::milliseconds(timeout_ms));
  if (!result)
    return make_problem(errc::timeout, "", "timeout",
                        "no answer within " + std::to_string(timeout_ms / 1000) + " s");
  if (!*result || !slot->connector->polls() || !slot->mapping) return *result;
  // A polled source: its first record through the mapping, as the node would store it (the
  // reporter left out of what is printed), or the reason it cannot be.
  std::optional<Result<InboundBatch>> page;
  slot->connector->poll("", [&](Result<InboundBatch> r) {
    page = std::move(r);
    ioc.stop();
  });
  ioc.restart();
  ioc.run_for(std::chrono::milliseconds(timeout_ms));
  std::string out = **result;
  if (!page || !*page) {
    out += "\n  the first page could not be read: " +
           (page ? (*page).error().detail : std::string("no answer in time"));
  } else if ((*page)->records.empty()) {
    out += "\n  no record to map yet";
  } else {
    const std::string source_id = slot->mapping->id_of((*page)->records.front().value());
    auto rec = prepare_record(*slot->mapping, std::move((*page)->records.front()),
                              NormalizeOptions{cfg.node.zone, cfg.node.region, system_now_ms()});
    if (rec)
      out +=
          "\n  record " + source_id + " maps to: " + json::complaint_to_json(rec->complaint, false);
    else
      out += "\n  record " + source_id + " cannot be mapped: " +
             (rec.error().pointer.empty() ? "" : rec.error().pointer + ": ") + rec.error().detail;
  }
  return out;
}

}  // namespace simpul
