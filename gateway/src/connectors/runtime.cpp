#include "connectors/runtime.hpp"

#include <boost/asio.hpp>
#include <map>
#include <unordered_map>

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
#include "simpul/cursor.hpp"

namespace simpul {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using http::problem;

namespace {
constexpr int kMaxBackoffMs = 60'000;
constexpr int kReconcileChunk = 500;  // keys asked for at once
constexpr int kReconcileFormat = 1;

// A record's text as a number (the first 8 bytes of its SHA-256): what source_rows keeps to
// tell a row that changed from one that did not.
std::int64_t record_hash(std::string_view text) {
  return static_cast<std::int64_t>(
      std::stoull(crypto::sha256_hex(text).substr(0, 16), nullptr, 16));
}

// Where a connector's reconciliation stands ("connector.<id>.reconcile"), format 1:
// "<finished_at>|<gone>|<running 0/1>|<after>": when the last pass ended, how many rows the
// pass running now found gone, and the last key it has done (keys may hold '|': it is last).
struct ReconcilePass {
  TimeMs finished_at = 0;
  std::int64_t gone = 0;
  bool running = false;
  std::string after;

  static ReconcilePass read(const std::string& stored) {
    ReconcilePass p;
    const std::string body = cursor_body(stored, kReconcileFormat, "reconciliation");
    if (body.empty()) return p;
    auto a = body.find('|'), b = body.find('|', a + 1), c = body.find('|', b + 1);
    if (c == std::string::npos) throw std::runtime_error("the reconciliation cursor is unreadable");
    p.finished_at = std::stoll(body.substr(0, a));
    p.gone = std::stoll(body.substr(a + 1, b - a - 1));
    p.running = body.substr(b + 1, c - b - 1) == "1";
    p.after = body.substr(c + 1);
    return p;
  }
  std::string text() const {
    return cursor_text(kReconcileFormat, std::to_string(finished_at) + "|" + std::to_string(gone) +
                                             "|" + (running ? "1" : "0") + "|" + after);
  }
};
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
        ctx;                            // links go before slots: stopped before its connector
    std::string reconcile_problem;      // a pass that was not believed (too many rows gone)
    std::optional<ReconcilePass> pass;  // as last committed (read once, at the first turn)

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

  // Resumes, on the io thread, with the batch a connector gives `ask`'s callback (a poll, a
  // reconciliation's rows).
  template <class Ask>
  auto batch_from(Ask ask) {
    return asio::async_initiate<decltype(use_awaitable), void(Result<InboundBatch>)>(
        [this, ask = std::move(ask)](auto handler) mutable {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          ask([this, h](Result<InboundBatch> r) {
            asio::post(ioc, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
          });
        },
        use_awaitable);
  }
  auto poll(Connector* c, std::shared_ptr<std::string> cursor) {
    return batch_from([c, cursor](std::function<void(Result<InboundBatch>)> done) {
      c->poll(*cursor, std::move(done));
    });
  }
  auto rows_by_key(Connector* c, std::shared_ptr<std::vector<std::string>> keys) {
    return batch_from([c, keys](std::function<void(Result<InboundBatch>)> done) {
      c->rows_by_key(*keys, std::move(done));
    });
  }

  // A poll started ahead of time, and its answer when it comes.
  struct Prefetch : std::enable_shared_from_this<Prefetch> {
    explicit Prefetch(asio::io_context& ioc) : wake(ioc) {}
    std::string from;  // the cursor it reads after
    std::optional<Result<InboundBatch>> got;
    asio::steady_timer wake;

    static std::shared_ptr<Prefetch> start(asio::io_context& ioc, Connector* c,
                                           const std::string& cursor) {
      auto p = std::make_shared<Prefetch>(ioc);
      p->from = cursor;
      p->wake.expires_at(asio::steady_timer::time_point::max());
      c->poll(cursor, [p, &ioc](Result<InboundBatch> r) {
        asio::post(ioc, [p, r = std::move(r)]() mutable {
          p->got.emplace(std::move(r));
          p->wake.cancel();
        });
      });
      return p;
    }
    awaitable<Result<InboundBatch>> take() {
      auto keep = shared_from_this();
      while (!got) co_await wake.async_wait(asio::as_tuple(use_awaitable));
      co_return std::move(*got);
    }
  };

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
    std::shared_ptr<Prefetch> ahead;  // the next page, asked for while this one commits
    while (!stopping) {
      Result<InboundBatch> r = make_problem(errc::unavailable, "", "poll", "not asked");
      if (ahead && ahead->from == cursor) {
        r = co_await ahead->take();
      } else {
        auto current = std::make_shared<std::string>(cursor);
        r = co_await poll(slot->connector.get(), current);
      }
      ahead.reset();
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
      auto rows = std::make_shared<std::vector<Store::SourceRowState>>();  // key, hash of each
      auto refused = std::make_shared<std::vector<std::string>>();
      const TimeMs now = clock();
      NormalizeOptions opt{cfg.node.zone, cfg.node.region, now};
      const bool keyed = r->keys.size() == r->records.size();
      for (std::size_t i = 0; i < r->records.size(); ++i) {
        auto& record = r->records[i];
        const std::string source_id = slot->mapping->id_of(record.value());
        Store::SourceRowState row;
        if (keyed) row = {r->keys[i], "", record_hash(record.text())};
        auto rec = prepare_record(*slot->mapping, std::move(record), opt);
        if (rec) {
          prepared->push_back(std::move(*rec));
          rows->push_back(std::move(row));
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
        for (std::size_t i = 0; i < prepared->size(); ++i) {
          outcomes->push_back(store_record(l, *mapping, (*prepared)[i], id, node, now));
          const IntakeOutcome& o = outcomes->back();
          if (o.outcome == IntakeResult::rejected)
            s.inbound_dead_letter(dest, "record " + o.source_id + ": " + o.problem.detail, now);
          else if (keyed)
            s.note_source_row(id, (*rows)[i].key, o.complaint_id, (*rows)[i].hash, now);
        }
        for (const auto& why : *refused) s.inbound_dead_letter(dest, why, now);
        s.set_cursor(cursor_name, next, now);
      });
      // A catch-up reads the next page while this one is stored (the source's read, the
      // mapping and the store's write overlap); it is used only if this commit succeeds.
      if (r->more) ahead = Prefetch::start(ioc, slot->connector.get(), next);
      errc e = co_await commit(store);
      if (e != errc::ok) {
        ahead.reset();
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
      if (r->more) continue;
      // The end of a cycle: until the next one is due, the reconciliation's turn (if any).
      const TimeMs next_cycle = clock() + slot->connector->poll_interval_ms();
      if (slot->connector->reconciliation().interval_ms > 0)
        co_await reconcile_until(link, next_cycle);
      co_await sleep(timer, next_cycle - clock());
    }
  }

  // A reconciliation, chunk after chunk, until `until` or the end of its pass. It runs in the
  // poll loop, between cycles, so a row is never read by a page and a chunk at the same time
  // (an older read stored after a newer one would take an edit back). For each chunk of the
  // rows this node holds from the source (source_rows, by key), the connector reads them as they
  // are now: a row whose record changed is taken in again (amended), a row the source lacks was
  // deleted there (the complaint is cancelled by its source), and the pass moves on, in one
  // commit with its position, so a crash repeats at most one chunk.
  awaitable<void> reconcile_until(Link* link, TimeMs until) {
    ConnectorSlot* slot = link->slot;
    const std::string id = slot->config->id;
    const std::string name = "connector." + id + ".reconcile";
    const auto rules = slot->connector->reconciliation();
    if (!link->pass) {
      ReconcilePass stored;
      try {
        stored = ReconcilePass::read(reader.cursor(name));
      } catch (const std::exception& e) {
        log::error("connector.reconcile_unreadable", {{"connector", id}, {"error", e.what()}});
        co_return;
      }
      if (stored.finished_at == 0 && !stored.running) {
        // The first start: the first pass is due an interval from now (the rows were just read).
        stored.finished_at = clock();
        const std::string text = stored.text();
        auto first = std::make_shared<CommitQueue::Work>(
            [=, now = stored.finished_at](Ledger& l) { l.store().set_cursor(name, text, now); });
        if (co_await commit(first) != errc::ok) co_return;
      }
      link->pass = stored;
    }
    ReconcilePass pass = *link->pass;
    std::int64_t amended = 0, gone_now = 0;
    while (!stopping && clock() < until) {
      if (!pass.running) {
        if (clock() < pass.finished_at + rules.interval_ms) break;
        pass = ReconcilePass{pass.finished_at, 0, true, ""};
        log::info("connector.reconcile_started", {{"connector", id}});
      }
      std::vector<Store::SourceRowState> known;
      try {
        known = reader.source_rows_after(id, pass.after, kReconcileChunk);
      } catch (const StoreError& e) {
        log::error("connector.reconcile_unreadable", {{"connector", id}, {"error", e.what()}});
        break;
      }
      const TimeMs now = clock();
      struct Changed {
        std::string key;
        std::int64_t hash = 0;
        PreparedRecord rec;
      };
      auto work = std::make_shared<std::vector<Changed>>();
      auto gone = std::make_shared<std::vector<Store::SourceRowState>>();
      auto refused = std::make_shared<std::vector<std::pair<std::string, Store::SourceRowState>>>();
      if (known.empty()) {  // the pass is over
        pass.running = false;
        pass.finished_at = now;
        pass.after.clear();
      } else {
        auto keys = std::make_shared<std::vector<std::string>>();
        for (const auto& k : known) keys->push_back(k.key);
        Result<InboundBatch> r = co_await rows_by_key(slot->connector.get(), keys);
        if (stopping) break;
        if (!r || r->keys.size() != r->records.size()) {
          log::warn("connector.reconcile_failed",
                    {{"connector", id}, {"error", r ? "records without keys" : r.error().detail}});
          break;  // the connector's health says why; the same chunk next time
        }
        std::unordered_map<std::string, std::size_t> at;
        for (std::size_t i = 0; i < r->keys.size(); ++i) at.emplace(r->keys[i], i);
        NormalizeOptions opt{cfg.node.zone, cfg.node.region, now};
        for (const auto& k : known) {
          auto it = at.find(k.key);
          if (it == at.end()) {
            gone->push_back(k);
            continue;
          }
          SourceRecord& record = r->records[it->second];
          const std::int64_t h = record_hash(record.text());
          if (h == k.hash) continue;
          auto rec = prepare_record(*slot->mapping, std::move(record), opt);
          if (!rec) {  // a dead letter once for this version of the row (its hash is kept)
            refused->push_back(
                {"row " + k.key + ": " +
                     (rec.error().pointer.empty() ? "" : rec.error().pointer + ": ") +
                     rec.error().detail,
                 {k.key, k.complaint_id, h}});
            continue;
          }
          work->push_back({k.key, h, std::move(*rec)});
        }
        pass.after = known.back().key;
        if (pass.gone + static_cast<std::int64_t>(gone->size()) > rules.max_gone) {
          // Not believed: a wrong database, a table restored empty. Nothing is marked; the pass
          // ends here and the next one, an interval later, looks again.
          link->reconcile_problem =
              "reconciliation: " +
              std::to_string(pass.gone + static_cast<std::int64_t>(gone->size())) +
              " rows this node holds are gone from the source (more than reconcile_max_gone " +
              std::to_string(rules.max_gone) +
              "): none is marked deleted. Check that the connector reads the right database; if "
              "the app really deleted them, raise reconcile_max_gone";
          log::error("connector.reconcile_refused",
                     {{"connector", id}, {"gone", static_cast<std::int64_t>(gone->size())}});
          gone->clear();
          work->clear();
          refused->clear();
          pass.running = false;
          pass.finished_at = now;
          pass.after.clear();
        } else {
          pass.gone += static_cast<std::int64_t>(gone->size());
        }
      }
      if (known.empty()) link->reconcile_problem.clear();  // a pass that ended, believed
      const std::string next = pass.text(), node = cfg.node.id,
                        dest = Destination::connector(id).name();
      const Mapping* mapping = &*slot->mapping;
      auto counts = std::make_shared<std::pair<std::int64_t, std::int64_t>>();  // amended, gone
      auto store = std::make_shared<CommitQueue::Work>([=](Ledger& l) {
        Store& s = l.store();
        *counts = {};
        for (const auto& c : *work) {
          const IntakeOutcome o = store_record(l, *mapping, c.rec, id, node, now);
          if (o.outcome == IntakeResult::rejected) {
            s.inbound_dead_letter(dest, "record " + o.source_id + ": " + o.problem.detail, now);
            continue;
          }
          if (o.outcome == IntakeResult::updated) ++counts->first;
          s.note_source_row(id, c.key, o.complaint_id, c.hash, now);
        }
        for (const auto& g : *gone) {
          const IntakeOutcome o = withdraw_record(l, g.complaint_id, id, node, now);
          if (o.outcome == IntakeResult::rejected) {
            log::warn(
                "connector.reconcile_cancel_refused",
                {{"connector", id}, {"complaint", g.complaint_id}, {"error", o.problem.detail}});
            continue;
          }
          ++counts->second;
          s.source_row_gone(id, g.key, now);
        }
        for (const auto& [why, row] : *refused) {
          s.inbound_dead_letter(dest, why, now);
          s.note_source_row(id, row.key, row.complaint_id, row.hash, now);
        }
        s.set_cursor(name, next, now);
      });
      if (co_await commit(store) != errc::ok) break;  // the same chunk next time
      link->pass = pass;
      amended += counts->first;
      gone_now += counts->second;
      metrics.add("simpul_connector_reconciled_total",
                  Metrics::labels({{"connector", id}, {"outcome", "amended"}}),
                  static_cast<double>(counts->first));
      metrics.add("simpul_connector_reconciled_total",
                  Metrics::labels({{"connector", id}, {"outcome", "gone"}}),
                  static_cast<double>(counts->second));
      if (!pass.running) {
        log::info("connector.reconciled",
                  {{"connector", id}, {"amended", amended}, {"gone", gone_now}});
        break;
      }
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
  metrics.describe("simpul_connector_reconciled_total", "counter",
                   "Rows a reconciliation took in again (amended) or found deleted at the source "
                   "(gone).");
  metrics.describe("simpul_connector_pages_total", "counter",
                   "Pages a polling connector fetched from its app.");
  metrics.describe("simpul_connector_bad_signatures_total", "counter",
                   "Webhook deliveries refused for their signature.");
  for (auto& link : impl_->links) {
    auto* c = link->slot->connector.get();
    const std::string& cid = link->slot->config->id;
    auto label = Metrics::labels({{"connector", cid}});
    // Each counter this connector can move starts at 0: a rate is defined from the first scrape.
    if (c->polls() || c->accepts_webhooks() || c->imports_files())
      for (const char* o : {"created", "updated", "unchanged", "rejected"})
        metrics.add("simpul_connector_records_total",
                    Metrics::labels({{"connector", cid}, {"outcome", o}}), 0);
    if (c->delivers())
      for (const char* o : {"delivered", "retry", "auth", "rejected"})
        metrics.add("simpul_connector_deliveries_total",
                    Metrics::labels({{"connector", cid}, {"outcome", o}}), 0);
    if (c->polls()) metrics.add("simpul_connector_pages_total", label, 0);
    if (c->accepts_webhooks()) metrics.add("simpul_connector_bad_signatures_total", label, 0);
    if (c->reconciliation().interval_ms > 0)
      for (const char* o : {"amended", "gone"})
        metrics.add("simpul_connector_reconciled_total",
                    Metrics::labels({{"connector", cid}, {"outcome", o}}), 0);
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
  for (std::size_t i = 0; i < impl_->slots.size(); ++i) {
    const auto& slot = impl_->slots[i];
    auto h = slot.connector->health();
    // A reconciliation that was not believed fails the connector until a pass is.
    const std::string& refused = impl_->links[i]->reconcile_problem;
    if (!refused.empty() && h.state != ConnectorHealth::failing)
      h = {ConnectorHealth::failing, refused};
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
    // A delivery whose signature does not verify is someone (or something misconfigured)
    // knocking without the secret: said at warn; a record the mapping refuses is ordinary.
    if (p.code == errc::unauthenticated)
      log::warn("connector.rejected", {{"connector", id},
                                       {"reason", "signature"},
                                       {"detail", p.detail},
                                       {"remote", req.remote}});
    else
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
