#include "federation/upstream_link.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <set>

#include "core/hop_redact.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "federation/audit_anchor.hpp"
#include "federation/fed_protocol.hpp"
#include "federation/signatures.hpp"
#include "http/outgoing.hpp"
#include "ledger/commit_awaitable.hpp"
#include "relay/coroutines.hpp"
#include "relay/relay.hpp"
#include "relay/supervisor.hpp"
#include "simpul/cursor.hpp"

namespace simpul {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr std::size_t kMaxPushBytes = 512 * 1024;
// Recovery looks this far before the latest event stored here: what was sent up just before the
// backup and is already here is a duplicate, and skipped.
constexpr TimeMs kRecoveryOverlapMs = 3'600'000;
// How often this node's keys (and its subtree's) are registered with the parent.
constexpr std::int64_t kKeysIntervalMs = 60'000;

using Answer = http::Incoming;

http::Peer parent_of(const Config& cfg) {
  return http::Peer{cfg.upstream.host, cfg.upstream.port, cfg.upstream.tls};
}

}  // namespace

struct UpstreamLink::Impl : RelaySink, std::enable_shared_from_this<UpstreamLink::Impl> {
  Impl(asio::io_context& ioc, Supervisor& supervisor, const Config& cfg, std::string credential,
       Store& reader, CommitQueue& writer, std::function<TimeMs()> clock,
       const crypto::SigningKey& signing_key)
      : ioc(ioc),
        supervisor(supervisor),
        cfg(cfg),
        credential(std::move(credential)),
        reader(reader),
        writer(writer),
        clock(std::move(clock)),
        signing_key(signing_key),
        pull_timer(ioc),
        recover_timer(ioc),
        audit_timer(ioc),
        keys_timer(ioc),
        push_conn(ioc, parent_of(cfg), cfg.upstream.timeout_ms),
        pull_conn(ioc, parent_of(cfg), cfg.upstream.timeout_ms),
        recover_conn(ioc, parent_of(cfg), cfg.upstream.timeout_ms),
        audit_conn(ioc, parent_of(cfg), cfg.upstream.timeout_ms),
        keys_conn(ioc, parent_of(cfg), cfg.upstream.timeout_ms) {}

  asio::io_context& ioc;
  Supervisor& supervisor;
  const Config& cfg;
  std::string credential;
  Store& reader;
  CommitQueue& writer;
  std::function<TimeMs()> clock;
  const crypto::SigningKey& signing_key;
  asio::steady_timer pull_timer;       // the pull loop's waits, cut short by stop()
  asio::steady_timer recover_timer;    // the recovery's waits (its own: one timer per loop)
  asio::steady_timer audit_timer;      // the audit head loop's waits
  asio::steady_timer keys_timer;       // the key registration loop's waits
  http::OutgoingConnection push_conn;  // one keep-alive connection per direction
  http::OutgoingConnection pull_conn;
  http::OutgoingConnection recover_conn;  // used only at start
  http::OutgoingConnection audit_conn;    // the audit chain's head, now and then
  http::OutgoingConnection keys_conn;     // this node's keys and its subtree's
  bool stopping = false;
  bool recovering = true;  // until the parent has said what it holds from this node
  Status st;
  // Smaller batches after a 413 or a timeout (halved each time, doubled back after successes),
  // or 1 while isolating an event the parent refuses as malformed; 0 = the configured batch.
  int push_limit = 0;

  http::Outgoing request(const char* method, std::string target, std::string body,
                         int timeout_ms) const {
    http::Outgoing out;
    out.method = method;
    out.target = std::move(target);
    out.headers = {{"user-agent", "simpul/" + cfg.node.id}};
    // Without a token the node's certificate says who it is (mTLS).
    if (!credential.empty()) out.headers.push_back({"authorization", "Bearer " + credential});
    if (!body.empty()) out.headers.push_back({"content-type", "application/json"});
    out.body = std::move(body);
    out.timeout_ms = timeout_ms;
    return out;
  }

  auto commit(std::shared_ptr<CommitQueue::Work> work) {
    return commit_awaitable(ioc, writer, std::move(work));
  }

  // A timer is one loop's: two coroutines waiting on one would cut each other's waits short.
  awaitable<void> sleep_on(asio::steady_timer& t, std::int64_t ms) {
    t.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(ms, 0)));
    co_await t.async_wait(asio::as_tuple(use_awaitable));
  }

  LinkHealth health{"upstream", cfg.upstream.node, cfg.upstream.max_backoff_ms, st};
  std::unique_ptr<Relay> relay;

  // What failed, with the parent's reason when it gave one (a refused certificate names why:
  // "http 401: client certificate refused: expired").
  static std::string describe(const Answer& a) {
    if (a.ec) return a.error;
    std::string out = "http " + std::to_string(a.status);
    if (a.status >= 400 && a.body.size() < 4096) {
      auto doc = json::parse(a.body);
      if (doc && doc->IsObject() && doc->HasMember("detail") && (*doc)["detail"].IsString())
        out += ": " + std::string((*doc)["detail"].GetString()).substr(0, 300);
    }
    return out;
  }

  // ---- push: the relay's sink --------------------------------------------------------------

  int batch_limit() const override { return push_limit ? push_limit : cfg.upstream.batch; }

  void send(std::vector<QueuedEvent> batch, std::function<void(Delivery)> done) override {
    auto self = shared_from_this();
    send_as_coroutine(
        ioc, std::move(batch), std::move(done),
        [self](std::vector<QueuedEvent> items) { return self->push(std::move(items)); });
  }

  void settled(const Delivery& d) override {
    st.pushed += d.done.size();
    st.dead += d.dead.size();
  }

  awaitable<Delivery> push(std::vector<QueuedEvent> items) {
    auto self = shared_from_this();
    Delivery d;
    // At most kMaxPushBytes per request (the parent's body limit is 1 MiB by default); the
    // rest goes in the next batch. Each event's JSON is written once.
    std::vector<std::string> texts;
    std::size_t bytes = 0;
    for (auto& item : items) {
      if (!texts.empty() && bytes > kMaxPushBytes) break;
      redact_for_hop(item.event, item.privacy);
      item.event.proof.reset();
      texts.push_back(json::event_to_json(item.event, true));
      bytes += texts.back().size();
    }
    items.resize(texts.size());
    // Signed (core/provenance.hpp): the events this node originated in one manifest it signs
    // now, the others with the manifests their origins signed, as this node keeps them.
    std::vector<Event> own;
    std::vector<std::size_t> own_at;
    std::vector<SignedBatch> manifests;
    std::set<std::string> cited;
    for (std::size_t i = 0; i < items.size(); ++i) {
      Event& e = items[i].event;
      if (e.origin == cfg.node.id) {
        if (!cfg.upstream.sign_events) continue;
        own_at.push_back(i);
        own.push_back(e);
        continue;
      }
      e.proof = reader.event_proof(e.event_id);
      if (e.proof && cited.insert(e.proof->batch).second)
        if (auto b = reader.signed_batch(e.proof->batch)) manifests.push_back(std::move(*b));
    }
    if (!own.empty()) {
      SignedBatch mine = sign_batch(cfg.node.id, own, signing_key);
      for (std::size_t k = 0; k < own_at.size(); ++k)
        items[own_at[k]].event.proof = EventProof{mine.id, static_cast<int>(k)};
      manifests.push_back(std::move(mine));
    }
    std::string body = "{\"events\":[";
    body.reserve(bytes + items.size() * 64 + manifests.size() * 200 + own.size() * 48);
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) body += ',';
      const auto& p = items[i].event.proof;
      if (!p) {
        body += texts[i];
        continue;
      }
      // The event's object without its closing brace, then its `sig` (an id and a number:
      // nothing to escape).
      body.append(texts[i], 0, texts[i].size() - 1);
      body += ",\"sig\":{\"batch\":\"" + p->batch + "\",\"leaf\":" + std::to_string(p->leaf) + "}}";
    }
    body += ']';
    if (!manifests.empty()) {
      rapidjson::StringBuffer buf;
      json::Writer w(buf);
      w.StartArray();
      for (const auto& b : manifests) write_batch(w, b);
      w.EndArray();
      body += ",\"batches\":";
      body.append(buf.GetString(), buf.GetSize());
    }
    body += '}';
    co_await keys_before_push(manifests);
    if (stopping) co_return d;
    http::Outgoing out =
        request("POST", "/fed/v1/events", std::move(body), cfg.upstream.timeout_ms);
    Answer a = co_await push_conn.send(out);
    if (stopping) co_return d;
    if (!a.ec && a.status == 413 && items.size() > 1) {
      push_limit = std::max<int>(1, static_cast<int>(items.size()) / 2);  // too big: send less
      co_return d;
    }
    // A parent too slow to answer a batch in time would time out on the same batch forever:
    // send less next time (the rows stay pending; the parent may have stored them, which
    // makes them duplicates there).
    if (a.ec == beast::error::timeout && items.size() > 1)
      push_limit = std::max<int>(1, static_cast<int>(items.size()) / 2);
    const bool data_error = !a.ec && (a.status == 400 || a.status == 413 || a.status == 422);
    if (data_error && items.size() > 1) {
      push_limit = 1;  // find the event the parent refuses, one at a time
      co_return d;
    }
    std::vector<fed::PushResult> results;
    bool readable = false;
    if (!a.ec && a.status == 200) {
      std::vector<std::string> sent;
      for (const auto& i : items) sent.push_back(i.event.event_id);
      if (auto r = fed::read_push_results(a.body, sent)) {
        readable = true;
        results = std::move(*r);
      }
    }
    if (!readable && !data_error) {
      for (const auto& i : items) d.failed.push_back(i.id);
      d.failure = failure_of(a.ec || a.status != 200 ? describe(a) : "unreadable answer", a.status,
                             a.retry_after_s);
      co_return d;
    }
    if (data_error) {  // a single event the parent cannot read at all
      d.dead.emplace_back(items[0].id, "the parent refused the event: " + describe(a));
      push_limit = 0;
      co_return d;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto& r = results[i];
      if (r.outcome == MergeResult::retry)
        d.later.push_back(items[i].id);  // the complaint (or a signing key) is not there yet
      else if (r.outcome == MergeResult::rejected)
        d.dead.emplace_back(items[i].id, r.reason.empty() ? "rejected" : r.reason);
      else
        d.done.push_back(items[i].id);
    }
    // Grow back towards the configured batch after a success.
    if (push_limit > 1) push_limit = push_limit * 2 >= cfg.upstream.batch ? 0 : push_limit * 2;
    co_return d;
  }

  // Restored from a backup? The parent holds what this node sent up after the backup was taken
  // (its complaints, its officers' actions): asked for everything it holds from this node since
  // an hour before the latest event stored here, paged, and merged as this node's own past.
  // `recovering` stays true until that is done, or until the parent has failed to answer once
  // (Node::start takes nothing in from outside meanwhile); after a failure the recovery goes on
  // in the background until it is done.
  awaitable<void> recover() {
    auto self = shared_from_this();
    TimeMs since = 0;
    std::string cursor;
    auto read = [&] {
      TimeMs latest = reader.latest_stored_at();
      since = latest > kRecoveryOverlapMs ? latest - kRecoveryOverlapMs : 0;
      cursor = cursor_body(reader.cursor("upstream.changes"), Ledger::kUplinkCursorFormat,
                           "upstream.changes");
    };
    if (!co_await read_at_start(ioc, "upstream.recover", stopping, read)) co_return;
    std::int64_t after = 0;
    int recovered = 0;
    int failures = 0;
    while (!stopping) {
      http::Outgoing out = request("GET",
                                   "/fed/v1/recover?limit=500&since_ms=" + std::to_string(since) +
                                       "&after=" + std::to_string(after),
                                   "", cfg.upstream.timeout_ms);
      Answer a = co_await recover_conn.send(out);
      if (stopping) break;
      std::optional<fed::RecoveryPage> page;
      if (!a.ec && a.status == 200) page = fed::read_recovery(a.body);
      if (!a.ec && a.status == 404) {  // a parent from before recovery existed: nothing to ask
        log::warn("upstream.recovery_unavailable", {{"parent", cfg.upstream.node}});
        break;
      }
      if (!page) {
        std::string what = a.ec || a.status != 200 ? describe(a) : "unreadable answer";
        if (recovering) {
          recovering = false;  // the parent cannot say now: serve, and keep asking
          log::warn("upstream.recovery_deferred", {{"error", what}});
        }
        co_await sleep_on(recover_timer,
                          std::min<std::int64_t>(cfg.upstream.max_backoff_ms,
                                                 static_cast<std::int64_t>(LinkHealth::kBaseDelayMs)
                                                     << std::min(++failures, 10)));
        continue;
      }
      failures = 0;
      if (after == 0) {
        std::int64_t position = 0;
        if (!cursor.empty()) feed_position(cursor, position);
        if (page->acked > position)
          log::warn("upstream.restored",
                    {{"detail",
                      "this node's feed position is behind what the parent has "
                      "acknowledged: it was restored from a backup; recovering"},
                     {"cursor", position},
                     {"parent_acked", page->acked}});
      }
      if (!page->events.empty()) {
        auto batch = std::make_shared<std::vector<Event>>(std::move(page->events));
        auto fresh = std::make_shared<int>(0);
        TimeMs now = clock();
        auto merge = std::make_shared<CommitQueue::Work>(
            [batch, fresh, now](Ledger& l) { *fresh = l.merge_recovered(std::move(*batch), now); });
        if (co_await commit(merge) != errc::ok) {
          co_await sleep_on(recover_timer, 500);
          continue;  // `after` not moved: the same page again
        }
        recovered += *fresh;
      }
      after = page->next;
      if (!page->more) break;
    }
    if (recovered > 0) log::warn("upstream.recovered", {{"events", recovered}});
    recovering = false;
  }

  // The head of this node's audit chain goes to the parent every audit_head_interval_s, with the
  // hash this log has at the entry the parent kept last (so a log rewritten below the head
  // shows there too). The parent answers what it keeps; "proof_needed" (it kept an earlier
  // head and this request did not say what that entry is now) is answered at once.
  awaitable<void> audit_loop() {
    auto self = shared_from_this();
    const std::int64_t interval_ms =
        static_cast<std::int64_t>(cfg.upstream.audit_head_interval_s) * 1000;
    std::optional<std::int64_t> kept_id;  // what the parent keeps, from its last answer
    int failures = 0, proofs = 0;
    while (!stopping) {
      AuditHeadRequest r;
      bool read = true;
      try {
        r.head = reader.audit_head();
        if (kept_id && *kept_id != r.head.id)
          r.at = AuditHead{*kept_id, *kept_id == 0 ? kAuditGenesis
                                                   : reader.audit_hash_of(*kept_id).value_or("")};
      } catch (const StoreError& e) {
        log::warn("upstream.audit_head_unreadable", {{"error", e.what()}});
        read = false;
      }
      if (!read) {
        co_await sleep_on(audit_timer, interval_ms);
        continue;
      }
      Answer a = co_await audit_conn.send(request(
          "POST", "/fed/v1/audit/head", audit_head_request_json(r), cfg.upstream.timeout_ms));
      if (stopping) break;
      std::optional<AuditHeadAnswer> answer;
      if (!a.ec && a.status == 200) answer = read_audit_head_answer(a.body);
      if (!answer) {
        std::string what = a.ec || a.status != 200 ? describe(a) : "unreadable answer";
        if (!a.ec && a.status == 404) {  // a parent from before audit heads: ask again later
          log::warn("upstream.audit_head_unavailable", {{"parent", cfg.upstream.node}});
          co_await sleep_on(audit_timer, interval_ms);
          continue;
        }
        log::warn("upstream.audit_head_failed", {{"error", what}});
        co_await sleep_on(
            audit_timer,
            std::min<std::int64_t>(interval_ms, static_cast<std::int64_t>(LinkHealth::kBaseDelayMs)
                                                    << std::min(++failures, 10)));
        continue;
      }
      failures = 0;
      kept_id = answer->kept.id;
      if (answer->verdict == "proof_needed" && ++proofs <= 2) continue;
      proofs = 0;
      if (answer->verdict == "backwards" || answer->verdict == "rewritten")
        log::error("upstream.audit_chain_broken",
                   {{"parent", cfg.upstream.node},
                    {"verdict", answer->verdict},
                    {"detail",
                     "the parent holds a head of this node's audit log that the log no longer "
                     "has: it was rewritten or restored (simpul audit verify)"}});
      co_await sleep_on(audit_timer, interval_ms);
    }
  }

  // This node's signing key and the keys of its subtree, vouched for with it
  // (federation/signatures.hpp): at start, before a push that needs a key the parent has not
  // confirmed, and every kKeysIntervalMs (so a revocation below reaches the tiers above within
  // a minute). Until the parent knows a key, the events it signed are answered `retry` and
  // stay in the outbox. The keys the parent has confirmed ("<node> <key id>"), and when this
  // node last asked:
  std::set<std::string> keys_up;
  std::chrono::steady_clock::time_point keys_asked{};

  // Sends this node's key and its subtree's (vouched for with it) on `conn`; true when the
  // parent answered (its refusals logged).
  awaitable<bool> send_keys(http::OutgoingConnection& conn) {
    auto self = shared_from_this();
    keys_asked = std::chrono::steady_clock::now();
    std::string body;
    try {
      body = keys_request_json(registrations_to_send(reader, cfg.node.id, signing_key));
    } catch (const StoreError& e) {
      log::warn("upstream.keys_unreadable", {{"error", e.what()}});
      co_return false;
    }
    Answer a = co_await conn.send(
        request("POST", "/fed/v1/keys", std::move(body), cfg.upstream.timeout_ms));
    std::optional<std::vector<KeyOutcome>> results;
    if (!a.ec && a.status == 200) results = read_keys_answer(a.body);
    if (!results) {
      log::warn("upstream.keys_failed",
                {{"error", a.ec || a.status != 200 ? describe(a) : "unreadable answer"}});
      co_return false;
    }
    for (const auto& r : *results) {
      if (r.outcome == "refused")
        log::error("upstream.key_refused", {{"parent", cfg.upstream.node},
                                            {"node", r.node},
                                            {"key", r.key_id},
                                            {"reason", r.reason}});
      else
        keys_up.insert(r.node + " " + r.key_id);
    }
    co_return true;
  }

  // Before a push whose events were signed with keys the parent has not confirmed (this
  // node's after a rotation, a node's below it that registered just now): register first, at
  // most once every few seconds, so the parent never meets a key it cannot know.
  // A key asked about once and still not confirmed (the parent refused it) is asked about again
  // at most every few seconds.
  std::set<std::string> keys_tried;
  awaitable<void> keys_before_push(const std::vector<SignedBatch>& manifests) {
    bool unknown = false, fresh = false;
    for (const auto& b : manifests) {
      const std::string k = b.origin + " " + b.key_id;
      if (keys_up.count(k)) continue;
      unknown = true;
      fresh = fresh || keys_tried.insert(k).second;
    }
    if (!unknown) co_return;
    if (!fresh && std::chrono::steady_clock::now() - keys_asked < std::chrono::seconds(5))
      co_return;
    co_await send_keys(push_conn);
  }

  // The same at start and every kKeysIntervalMs, so revocations below reach the tiers above.
  awaitable<void> keys_loop() {
    auto self = shared_from_this();
    int failures = 0;
    while (!stopping) {
      const bool sent = co_await send_keys(keys_conn);
      if (stopping) break;
      failures = sent ? 0 : failures + 1;
      co_await sleep_on(keys_timer, sent ? kKeysIntervalMs
                                         : std::min<std::int64_t>(
                                               kKeysIntervalMs,
                                               static_cast<std::int64_t>(LinkHealth::kBaseDelayMs)
                                                   << std::min(failures, 10)));
    }
  }

  // "f<position>", the changes feed's cursor as this node stores it.
  static void feed_position(const std::string& c, std::int64_t& out) {
    if (c.size() > 1 && c[0] == 'f') out = std::strtoll(c.c_str() + 1, nullptr, 10);
  }

  awaitable<void> pull_loop() {
    auto self = shared_from_this();
    std::string cursor;
    auto read = [&] {
      cursor = cursor_body(reader.cursor("upstream.changes"), Ledger::kUplinkCursorFormat,
                           "upstream.changes");
    };
    if (!co_await read_at_start(ioc, "upstream.pull", stopping, read)) co_return;
    const int wait = cfg.upstream.poll_wait_s;
    while (!stopping) {
      http::Outgoing out = request(
          "GET", "/fed/v1/changes?limit=500&wait=" + std::to_string(wait) + "&since=" + cursor, "",
          wait * 1000 + cfg.upstream.timeout_ms);
      Answer a = co_await pull_conn.send(out);
      if (stopping) break;
      std::vector<Event> events;
      std::string next;
      bool readable = false;
      if (!a.ec && a.status == 200) {
        if (auto page = fed::read_changes(a.body)) {
          readable = true;
          events = std::move(page->events);
          next = std::move(page->next);
        }
      }
      if (!readable) {
        std::string what = a.ec || a.status != 200 ? describe(a) : "unreadable answer";
        std::int64_t delay =
            health.failed(LinkHealth::pulling, failure_of(what, a.status, a.retry_after_s));
        log::warn("upstream.pull_failed", {{"error", what}, {"retry_in_ms", delay}});
        co_await sleep_on(pull_timer, delay);
        continue;
      }
      if (!events.empty() || next != cursor) {
        auto batch = std::make_shared<std::vector<Event>>(std::move(events));
        auto fresh = std::make_shared<int>(0);
        TimeMs now = clock();
        auto merge = std::make_shared<CommitQueue::Work>([batch, fresh, next, now](Ledger& l) {
          *fresh = l.merge_from_parent(std::move(*batch), next, now);
        });
        errc e = co_await commit(merge);
        if (e != errc::ok) {
          co_await sleep_on(pull_timer, 500);
          continue;  // cursor not moved: the same page is fetched again
        }
        st.pulled += static_cast<std::uint64_t>(*fresh);
        cursor = next;
      }
      health.succeeded(LinkHealth::pulling);
    }
  }
};

UpstreamLink::UpstreamLink(asio::io_context& ioc, Supervisor& supervisor, const Config& cfg,
                           std::string credential, Store& reader, CommitQueue& writer,
                           std::function<TimeMs()> clock, const crypto::SigningKey& signing_key)
    : impl_(std::make_shared<Impl>(ioc, supervisor, cfg, std::move(credential), reader, writer,
                                   std::move(clock), signing_key)) {
  auto& d = *impl_;
  d.relay = std::make_unique<Relay>(ioc, reader, writer, d.clock, Destination::upstream(),
                                    "upstream", d, d.health);
}

UpstreamLink::~UpstreamLink() = default;

void UpstreamLink::start() {
  auto impl = impl_;
  // Recovery runs once: a failure in it is logged by the supervisor and it asks again.
  impl->supervisor.spawn(
      "upstream.recover", [impl] { return impl->recover(); }, Supervisor::Kind::task);
  impl->relay->start(impl->supervisor, "upstream.push");
  impl->supervisor.spawn("upstream.pull", [impl] { return impl->pull_loop(); });
  impl->supervisor.spawn("upstream.keys", [impl] { return impl->keys_loop(); });
  if (impl->cfg.upstream.audit_head_interval_s > 0)
    impl->supervisor.spawn("upstream.audit", [impl] { return impl->audit_loop(); });
  log::info("upstream.started", {{"parent", impl_->cfg.upstream.node},
                                 {"host", impl_->cfg.upstream.host},
                                 {"port", static_cast<int>(impl_->cfg.upstream.port)},
                                 {"tls", impl_->cfg.upstream.tls.enabled}});
}

void UpstreamLink::stop() {
  impl_->stopping = true;
  impl_->relay->stop();
  impl_->pull_timer.cancel();
  impl_->recover_timer.cancel();
  impl_->audit_timer.cancel();
  impl_->keys_timer.cancel();
}

void UpstreamLink::wake() { impl_->relay->wake(); }

bool UpstreamLink::recovering() const { return impl_->recovering; }

const UpstreamLink::Status& UpstreamLink::status() const { return impl_->st; }

}  // namespace simpul
