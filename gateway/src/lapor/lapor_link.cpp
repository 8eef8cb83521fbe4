#include "lapor/lapor_link.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <map>
#include <optional>
#include <set>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/uuid.hpp"
#include "http/multipart.hpp"
#include "http/outgoing.hpp"
#include "lapor/lapor_protocol.hpp"
#include "ledger/commit_awaitable.hpp"
#include "relay/coroutines.hpp"
#include "relay/relay.hpp"
#include "relay/supervisor.hpp"
#include "simpul/cursor.hpp"
#include "simpul/delivery.hpp"
#include "simpul/url.hpp"

namespace simpul {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

using lapor::text_of;

namespace {

constexpr const char* kSystem = "lapor";
constexpr const char* kNotificationsCursor = "lapor.notifications";
constexpr const char* kSweepCursor = "lapor.sweep";
constexpr const char* kRecentCursor = "lapor.recent";  // the recent-activity walk's position
// The hub's last activity read so far, "<unix ms>:<nid>" (the activity pass).
constexpr const char* kActivityCursor = "lapor.activity";

// What the hub said to one call: the raw answer, and its reading when it came (transport
// failures leave the reading empty, with the error).
struct HubAnswer : lapor::Reply {
  http::Incoming raw;
};

}  // namespace

struct LaporLink::Impl : RelaySink, std::enable_shared_from_this<LaporLink::Impl> {
  Impl(asio::io_context& ioc, Supervisor& supervisor, const Config& cfg, std::string secret,
       Store& reader, CommitQueue& writer, std::function<TimeMs()> clock)
      : ioc(ioc),
        supervisor(supervisor),
        cfg(cfg),
        L(lapor::read_settings(cfg)),
        secret(std::move(secret)),
        reader(reader),
        writer(writer),
        clock(std::move(clock)),
        pull_timer(ioc),
        push_conn(ioc, hub_peer(), cfg.upstream.timeout_ms),
        pull_conn(ioc, hub_peer(), cfg.upstream.timeout_ms) {}

  http::Peer hub_peer() const {
    return http::Peer{cfg.upstream.host, cfg.upstream.port, cfg.upstream.tls};
  }

  asio::io_context& ioc;
  Supervisor& supervisor;
  const Config& cfg;
  const lapor::Settings L;
  std::string secret;
  Store& reader;
  CommitQueue& writer;
  std::function<TimeMs()> clock;
  asio::steady_timer pull_timer;
  http::OutgoingConnection push_conn, pull_conn;
  bool stopping = false;
  UplinkStatus st;
  LinkHealth health{"upstream", cfg.upstream.node, cfg.upstream.max_backoff_ms, st};
  std::unique_ptr<Relay> relay;
  std::string token;
  TimeMs token_expires = 0;
  // After a start, the creates of the first batch are looked up before they are sent: the last
  // batch before a stop may have been answered by the hub and not committed here.
  int lookup_first = 0;
  // Complaints (creates) and events (claims) whose last attempt got no answer: the hub may have
  // stored them, so they are looked up before they are sent again.
  std::set<std::string> uncertain;

  const std::string& F(const char* role) const { return L.field(role); }

  auto commit(std::shared_ptr<CommitQueue::Work> work) {
    return commit_awaitable(ioc, writer, std::move(work));
  }

  awaitable<void> sleep_ms(std::int64_t ms) {
    asio::steady_timer t(ioc, std::chrono::milliseconds(std::max<std::int64_t>(ms, 0)));
    co_await t.async_wait(asio::as_tuple(use_awaitable));
  }

  static std::string describe(const http::Incoming& a) {
    if (a.ec) return a.error;
    return "http " + std::to_string(a.status);
  }

  // Reads an answer: JSON object with a status member -> answered; ok when that status is the
  // endpoint's success flag.
  HubAnswer read_answer(http::Incoming raw, const std::string& endpoint) const {
    HubAnswer h;
    h.raw = std::move(raw);
    if (h.raw.ec) {
      h.error = h.raw.error;
      return h;
    }
    static_cast<lapor::Reply&>(h) = lapor::read_reply(L, endpoint, h.raw.status, h.raw.body);
    return h;
  }

  // A new KEYTOKEN. Answers the failure ("" when a token was issued).
  awaitable<std::string> acquire_token(http::OutgoingConnection& conn) {
    http::Outgoing out;
    out.method = "POST";
    out.target = L.endpoint("token");
    out.headers = {{"content-type", "application/json"}, {"user-agent", "simpul/" + cfg.node.id}};
    out.body = lapor::token_request(L, secret);
    out.timeout_ms = cfg.upstream.timeout_ms;
    http::Incoming raw = co_await conn.send(out);
    HubAnswer h = read_answer(std::move(raw), "token");
    auto issued = lapor::read_token(L, h);
    if (!issued)
      co_return "token: " + (h.error.empty() ? std::string("no token in the answer") : h.error);
    token = issued->first;
    token_expires = clock() + issued->second * 1000LL;
    log::info("lapor.token_issued", {{"client", L.client_id}});
    co_return std::string();
  }

  // One call with the KEYTOKEN; an expired token is replaced and the call made once more.
  // (GCC 12: a coroutine's parameters must not be temporaries of class type, so the endpoint
  // name is a plain pointer and the request a caller's named local.)
  awaitable<HubAnswer> call(http::OutgoingConnection& conn, const char* endpoint,
                            http::Outgoing& out) {
    for (int attempt = 0;; ++attempt) {
      // Renew a minute early: a token that expires on the way costs a round trip.
      if (token.empty() || clock() > token_expires - 60'000) {
        std::string failure = co_await acquire_token(conn);
        if (!failure.empty()) {
          HubAnswer h;
          h.error = failure;
          h.raw.status = 503;  // not answered: retried with backoff
          co_return h;
        }
      }
      std::erase_if(out.headers, [](const http::Header& hd) { return hd.name == "keytoken"; });
      out.headers.push_back({"keytoken", token});
      out.timeout_ms = cfg.upstream.timeout_ms;
      http::Incoming raw = co_await conn.send(out);
      HubAnswer h = read_answer(std::move(raw), endpoint);
      if (h.token_expired && attempt == 0) {
        token.clear();
        continue;
      }
      co_return h;
    }
  }

  http::Outgoing get(const std::string& endpoint, const std::string& query) const {
    http::Outgoing out;
    out.method = "GET";
    out.target = L.endpoint(endpoint) + (query.empty() ? "" : "?" + query);
    out.headers = {{"user-agent", "simpul/" + cfg.node.id}};
    return out;
  }

  http::Outgoing post_form(const std::string& endpoint,
                           const std::vector<http::FormPart>& parts) const {
    http::Outgoing out;
    out.method = "POST";
    out.target = L.endpoint(endpoint);
    auto [body, type] = http::build_multipart(parts);
    out.headers = {{"user-agent", "simpul/" + cfg.node.id}, {"content-type", type}};
    out.body = std::move(body);
    return out;
  }

  // ---- push ---------------------------------------------------------------------------------

  struct PushResult {
    enum Kind { done, linked, dead, retry } kind = done;
    std::string nid;  // linked
    std::string why;  // dead
    Failure failure;  // retry
  };

  static PushResult retry_after(const HubAnswer& h) {
    PushResult r;
    r.kind = PushResult::retry;
    r.failure =
        failure_of(h.error.empty() ? describe(h.raw) : h.error, h.raw.status, h.raw.retry_after_s);
    return r;
  }

  static PushResult dead_because(std::string why) {
    PushResult r;
    r.kind = PushResult::dead;
    r.why = std::move(why);
    return r;
  }

  // The hub decided: ok, or a refusal that sending again would not change.
  static bool decided(const HubAnswer& h) {
    return h.answered || (!h.raw.ec && h.raw.status >= 400 &&
                          delivery_outcome(h.raw.status) == DeliveryOutcome::rejected);
  }

  // An attachment's bytes, when its uri is http(s) and it fits; nullopt otherwise (it then goes
  // as a link in the content, so nothing is lost).
  awaitable<std::optional<std::string>> fetch_attachment(const std::string& uri) {
    auto url = http::peer_of_url(uri);
    if (!url) co_return std::nullopt;
    std::unique_ptr<http::OutgoingConnection> conn;
    try {
      conn = std::make_unique<http::OutgoingConnection>(ioc, url->peer, cfg.upstream.timeout_ms);
    } catch (const std::exception&) {
      co_return std::nullopt;
    }
    http::Outgoing out;
    out.target = url->target;
    out.headers = {{"user-agent", "simpul/" + cfg.node.id}};
    out.timeout_ms = cfg.upstream.timeout_ms;
    http::Incoming in = co_await conn->send(out);
    if (in.ec || in.status != 200 ||
        in.body.size() > static_cast<std::size_t>(L.max_attachment_bytes)) {
      log::warn("lapor.attachment_as_link",
                {{"reason", in.ec ? in.error : "http " + std::to_string(in.status)}});
      co_return std::nullopt;
    }
    co_return std::move(in.body);
  }

  // Looks a report up by ext_id. nid, "" when the hub has none, nullopt when it did not answer.
  awaitable<std::optional<std::string>> lookup(const std::string& complaint_id, HubAnswer& h) {
    http::Outgoing out = get("lookup", F("ext_id") + "=" + percent_encode(complaint_id));
    h = co_await call(push_conn, "lookup", out);
    if (!h.answered) co_return std::nullopt;
    co_return h.ok ? text_of(h.doc, F("nid")) : std::string();
  }

  awaitable<PushResult> push_created(const QueuedEvent& item) {
    const std::string& id = item.event.complaint_id;
    if (reader.ref_of(id, kSystem)) co_return PushResult{};  // linked by hand, or already sent
    auto doc = json::parse(item.event.payload);
    if (!doc) co_return dead_because("the created event's record is not JSON");
    auto rec = json::complaint_from_value(*doc);
    if (!rec)
      co_return dead_because("the created event's record cannot be read: " + rec.error().detail);
    // An answer lost on the way: the hub may hold the report already.
    const bool look_first = lookup_first > 0 || uncertain.count(id);
    if (lookup_first > 0) --lookup_first;
    if (look_first) {
      HubAnswer h;
      auto found = co_await lookup(id, h);
      if (!found) co_return retry_after(h);
      if (!found->empty()) {
        uncertain.erase(id);
        PushResult r;
        r.kind = PushResult::linked;
        r.nid = *found;
        co_return r;
      }
    }
    // The current privacy flag decides (an admin may have tightened it since the record came).
    const Privacy privacy = item.privacy;
    std::vector<http::FormPart> parts;
    auto field = [&](const char* role, std::string value) {
      if (!value.empty()) parts.push_back({F(role), "", "", std::move(value)});
    };
    std::string content = rec->body;
    std::vector<std::pair<const Attachment*, std::string>> files;
    for (const auto& a : rec->attachments) {
      auto bytes = co_await fetch_attachment(a.uri);
      if (bytes)
        files.emplace_back(&a, std::move(*bytes));
      else
        content += "\n\nLampiran: " + a.uri;
    }
    field("subject", rec->title);
    field("content", content);
    field("topic", rec->category.topic_id.empty() ? L.default_topic : rec->category.topic_id);
    field("report_type", privacy == Privacy::rahasia ? "2" : "1");
    field("is_anonim", privacy == Privacy::public_ ? "0" : "2");
    field("source", L.source);
    field("ext_id", id);
    field("location", rec->location.text);
    if (privacy == Privacy::public_) {  // identity only where the reporter allowed it
      field("reporter_name", rec->reporter.name.value_or(""));
      field("reporter_phone", rec->reporter.phone.value_or(""));
      field("reporter_email", rec->reporter.email.value_or(""));
    }
    if (!files.empty()) field("photo", "1");
    for (std::size_t i = 0; i < files.size(); ++i) {
      const Attachment& a = *files[i].first;
      parts.push_back({F("photo") + std::to_string(i),
                       a.name.empty() ? "lampiran-" + std::to_string(i) : a.name,
                       a.mime.empty() ? "application/octet-stream" : a.mime,
                       std::move(files[i].second)});
    }
    http::Outgoing out = post_form("create", parts);
    HubAnswer h = co_await call(push_conn, "create", out);
    if (!decided(h)) {
      uncertain.insert(id);  // sent, no answer: look it up before sending again
      co_return retry_after(h);
    }
    uncertain.erase(id);
    std::string nid = text_of(h.doc, F("nid"));
    if (!h.ok) co_return dead_because("the hub refused the report: " + h.error);
    if (nid.empty() || nid.find_first_not_of("0123456789") != std::string::npos)
      co_return dead_because("the hub accepted the report but sent no tracking id");
    PushResult r;
    r.kind = PushResult::linked;
    r.nid = nid;
    co_return r;
  }

  // A follow-up written here goes up as a claim on the hub's report.
  awaitable<PushResult> push_claim(const QueuedEvent& item, const std::string& nid) {
    auto doc = json::parse(item.event.payload);
    std::string text = doc && doc->IsObject() ? json::get_string(*doc, "text") : "";
    if (text.empty()) co_return PushResult{};
    const std::string& key = item.event.event_id;
    if (uncertain.count(key)) {  // it may be there already: look at the report's claims
      http::Outgoing out = get("claims", F("nid") + "=" + nid);
      HubAnswer h = co_await call(push_conn, "claims", out);
      if (!h.answered) co_return retry_after(h);
      const std::string data = F("data");
      if (h.ok && h.doc.HasMember(data.c_str()) && h.doc[data.c_str()].IsArray())
        for (const auto& c : h.doc[data.c_str()].GetArray())
          if (text_of(c, F("claim_source")) == L.source && text_of(c, F("claim_text")) == text) {
            uncertain.erase(key);
            co_return PushResult{};
          }
    }
    std::vector<http::FormPart> parts = {
        {F("nid"), "", "", nid}, {F("claim_text"), "", "", text}, {F("source"), "", "", L.source}};
    http::Outgoing out = post_form("claim", parts);
    HubAnswer h = co_await call(push_conn, "claim", out);
    if (!decided(h)) {
      uncertain.insert(key);
      co_return retry_after(h);
    }
    uncertain.erase(key);
    if (!h.ok) co_return dead_because("the hub refused the follow-up: " + h.error);
    co_return PushResult{};
  }

  // The relay's sink: settled item by item, committed once for the batch; a failure ends the
  // batch there (the rows after it, some maybe of the same complaint, wait their turn).
  int batch_limit() const override { return cfg.upstream.batch; }

  void send(std::vector<QueuedEvent> batch, std::function<void(Delivery)> done) override {
    auto self = shared_from_this();
    send_as_coroutine(
        ioc, std::move(batch), std::move(done),
        [self](std::vector<QueuedEvent> items) { return self->push(std::move(items)); });
  }

  // Nothing of the last batch is recorded: the hub's answers are lost here, so every create
  // of it is looked up before it is sent again.
  void settle_lost(const std::vector<QueuedEvent>& batch) override {
    lookup_first = std::max<int>(lookup_first, static_cast<int>(batch.size()));
  }

  // Counted once the settling commit is durable: the rows done and the tracking ids stored.
  std::shared_ptr<int> links_stored = std::make_shared<int>(0);
  int links_sent = 0;
  void settled(const Delivery& d) override {
    st.pushed += d.done.size();
    st.dead += d.dead.size() + static_cast<std::size_t>(links_sent - *links_stored);
  }

  awaitable<Delivery> push(std::vector<QueuedEvent> items) {
    auto self = shared_from_this();
    Delivery d;
    links_sent = 0;
    links_stored = std::make_shared<int>(0);
    std::vector<std::tuple<std::int64_t, std::string, std::string>> linked;  // row, complaint, nid
    std::map<std::string, std::string> linked_now;  // complaint -> nid, not committed yet
    for (const QueuedEvent& item : items) {
      if (stopping) break;
      PushResult r;
      if (item.event.kind == EventKind::created) {
        r = co_await push_created(item);
      } else if (item.event.kind == EventKind::responded) {
        auto it = linked_now.find(item.event.complaint_id);
        std::optional<std::string> nid = it != linked_now.end()
                                             ? std::optional<std::string>(it->second)
                                             : reader.ref_of(item.event.complaint_id, kSystem);
        if (nid)
          r = co_await push_claim(item, *nid);
        else
          r = dead_because("the complaint has no hub tracking id: its report was not accepted");
      }
      if (r.kind == PushResult::retry) {
        d.failed.push_back(item.id);
        d.failure = std::move(r.failure);
        break;
      }
      if (r.kind == PushResult::dead)
        d.dead.emplace_back(item.id, r.why);
      else if (r.kind == PushResult::linked) {
        linked.emplace_back(item.id, item.event.complaint_id, r.nid);
        linked_now[item.event.complaint_id] = r.nid;
      } else {
        d.done.push_back(item.id);
      }
    }
    if (linked.empty()) co_return d;
    const std::string self_id = cfg.node.id;
    links_sent = static_cast<int>(linked.size());
    const TimeMs now = clock();
    d.also = [linked = std::move(linked), self_id, stored = links_stored, now](Ledger& l) {
      Store& s = l.store();
      for (const auto& [row, complaint, nid] : linked) {
        // The tracking id and the outbox row in one transaction.
        AppendRequest req;
        req.event.event_id = make_uuid_v7(now);
        req.event.complaint_id = complaint;
        req.event.origin = self_id;
        req.event.at = now;
        req.event.actor = Actor{"system", "", "lapor"};
        req.event.kind = EventKind::linked;
        req.event.payload = "{\"system\":\"lapor\",\"id\":\"" + nid + "\"}";
        req.event.hops = {self_id};
        auto out = l.act(req);  // an error answer leaves nothing of it
        if (out.error != errc::ok) {
          s.outbox_dead(row, Destination::upstream().name(),
                        "tracking id lapor:" + nid + " refused here: " + out.detail, now);
          log::warn("lapor.rejected",
                    {{"outbox_id", row}, {"reason", "tracking id lapor:" + nid + " refused here"}});
          continue;
        }
        s.outbox_done(row);
        ++*stored;
      }
    };
    co_return d;
  }

  // ---- pull ---------------------------------------------------------------------------------

  // What this node knows of a complaint: its status and the time of its last event.
  std::optional<lapor::LocalState> local_state(const std::string& complaint_id) {
    auto projected = reader.projection(complaint_id);
    if (!projected) return std::nullopt;
    lapor::LocalState l;
    l.complaint_id = complaint_id;
    l.status = projected->status;
    l.updated_at = projected->updated_at;
    return l;
  }

  // Reads one report's detail and claims and appends the events that bring the complaint here
  // to where the hub has it. False when the hub did not answer (nothing appended).
  awaitable<bool> reconcile(const std::string& nid, std::vector<Event>& out, HubAnswer& failure) {
    auto complaint = reader.find_by_ref(kSystem, nid);
    if (!complaint) co_return true;  // not a report this node sent or linked
    auto local = local_state(*complaint);
    if (!local) co_return true;
    http::Outgoing detail_req = get("detail", F("nid") + "=" + nid);
    HubAnswer detail = co_await call(pull_conn, "detail", detail_req);
    if (!detail.answered) {
      failure = std::move(detail);
      co_return false;
    }
    if (!detail.ok)
      co_return true;  // the hub does not show it (deleted, or not ours): nothing to learn
    http::Outgoing claims_req = get("claims", F("nid") + "=" + nid);
    HubAnswer claims = co_await call(pull_conn, "claims", claims_req);
    if (!claims.answered) {
      failure = std::move(claims);
      co_return false;
    }
    std::vector<std::string> unmapped;
    auto events =
        lapor::hub_events(L, cfg.upstream.node, nid, *local, detail, &claims, clock(), &unmapped);
    for (auto& e : events) out.push_back(std::move(e));
    for (const auto& name : unmapped) co_await note_unmapped(name);
    co_return true;
  }

  // A hub agency name no entry of upstream.lapor.agencies maps: said once, and kept for
  // `simpul check` (at most 200 names).
  std::set<std::string> unmapped_seen;
  bool unmapped_loaded = false;
  awaitable<void> note_unmapped(const std::string& name) {
    if (!unmapped_loaded) {
      unmapped_loaded = true;
      auto text = cursor_body(reader.cursor(kUnmappedCursor), kTopicsFormat, kUnmappedCursor);
      if (auto doc = json::parse(text); doc && doc->IsArray())
        for (const auto& v : doc->GetArray())
          if (v.IsString()) unmapped_seen.insert(v.GetString());
    }
    if (unmapped_seen.size() >= 200 || !unmapped_seen.insert(name).second) co_return;
    log::warn(
        "lapor.unmapped_agency",
        {{"agency", name}, {"detail", "map it to an agency code in upstream.lapor.agencies"}});
    rapidjson::Document list(rapidjson::kArrayType);
    for (const auto& n : unmapped_seen)
      list.PushBack(rapidjson::Value(n.c_str(), list.GetAllocator()), list.GetAllocator());
    auto text = json::stringify(list);
    const TimeMs now = clock();
    auto work = std::make_shared<CommitQueue::Work>([text, now](Ledger& l) {
      l.store().set_cursor(kUnmappedCursor, cursor_text(kTopicsFormat, text), now);
    });
    co_await commit(work);
  }

  // Merges `events` and moves `cursor_name` to `position` in one transaction.
  awaitable<bool> merge(std::vector<Event>& events, const char* cursor_name,
                        const std::string& position) {
    auto batch = std::make_shared<std::vector<Event>>(std::move(events));
    auto fresh = std::make_shared<int>(0);
    const TimeMs now = clock();
    auto work = std::make_shared<CommitQueue::Work>(
        [batch, fresh, name = std::string(cursor_name), position, now](Ledger& l) {
          *fresh = l.merge_from_parent(std::move(*batch), position, now, name);
        });
    errc e = co_await commit(work);
    if (e != errc::ok) co_return false;
    st.pulled += static_cast<std::uint64_t>(*fresh);
    co_return true;
  }

  // The topic tree, cached in the store for `simpul check`. False when the hub did not answer.
  awaitable<bool> refresh_topics() {
    http::Outgoing out = get("topics", "");
    out.method = "POST";
    HubAnswer h = co_await call(pull_conn, "topics", out);
    if (!h.ok) {
      log::warn("lapor.topics_failed", {{"error", h.error}});
      co_return false;
    }
    const std::string data = F("data");
    if (!h.doc.HasMember(data.c_str()) || !h.doc[data.c_str()].IsArray()) co_return false;
    rapidjson::Document topics(rapidjson::kArrayType);
    auto& a = topics.GetAllocator();
    for (const auto& t : h.doc[data.c_str()].GetArray()) {
      std::string id = text_of(t, "id");
      if (id.empty()) continue;
      rapidjson::Value v(rapidjson::kObjectType);
      v.AddMember("id", rapidjson::Value(id.c_str(), a), a);
      v.AddMember("parent", rapidjson::Value(text_of(t, "parent").c_str(), a), a);
      v.AddMember("topic_name", rapidjson::Value(text_of(t, "topic_name").c_str(), a), a);
      topics.PushBack(v, a);
    }
    auto text = json::stringify(topics);
    const TimeMs now = clock();
    auto work = std::make_shared<CommitQueue::Work>([text, now](Ledger& l) {
      l.store().set_cursor(kTopicsCursor, cursor_text(kTopicsFormat, text), now);
    });
    errc e = co_await commit(work);
    if (e == errc::ok)
      log::info("lapor.topics_cached", {{"topics", static_cast<std::int64_t>(topics.Size())}});
    co_return e == errc::ok;
  }

  // The hub answered the activity list with a refusal (no such endpoint): not asked again.
  bool no_activity_list = false;

  // One page of the hub's list of this client's reports changed after `position` ("<ms>:<nid>"):
  // each linked one the hub has further on (its status, or an agency this node does not have)
  // is read and brought here; the position moves to the last report of the page, in the same
  // transaction. False when the hub did not answer (nothing moves).
  awaitable<bool> activity_pass(std::string& position, HubAnswer& failure) {
    const auto colon = position.find(':');
    const TimeMs since = std::atoll(position.substr(0, colon).c_str());
    const std::string after = colon == std::string::npos ? "0" : position.substr(colon + 1);
    http::Outgoing out =
        get("list", F("list_changed_since") + "=" + percent_encode(format_utc(since)) + "&" +
                        F("list_after") + "=" + after + "&" + F("list_limit") + "=" +
                        std::to_string(L.list_page));
    HubAnswer page = co_await call(pull_conn, "list", out);
    auto list = lapor::read_hub_list(L, page);
    if (!list && decided(page)) {
      // The hub answered, and has no such list (or refuses it): said once, and the
      // recent-activity pass takes over (hot_batch, at least 5).
      no_activity_list = true;
      log::warn("lapor.activity_list_unavailable",
                {{"error", page.error},
                 {"detail",
                  "closes are found by the recent-activity pass instead; set "
                  "upstream.lapor.endpoints.list, or activity_poll false"}});
      co_return true;
    }
    if (!list) {
      failure = std::move(page);
      if (failure.error.empty()) failure.error = "list: no data array";
      co_return false;
    }
    std::vector<Event> events;
    std::string next = position;
    for (const auto& r : list->reports) {
      const TimeMs at = lapor::hub_time(r.activity, since);
      next = std::to_string(at) + ":" + r.nid;
      auto id = reader.find_by_ref(kSystem, r.nid);
      auto here = id ? reader.projection(*id) : std::nullopt;
      if (!here) continue;  // not ours here (reconciliation lists it)
      auto code = L.status_codes.find(r.status_code);
      const bool ahead = code != L.status_codes.end() &&
                         lapor::status_rank(code->second) > lapor::status_rank(here->status);
      const std::string agency = r.agency.empty() ? "" : L.agency_code(r.agency).value_or(r.agency);
      const bool undisposed = !agency.empty() && here->agency.empty();
      if (!ahead && !undisposed) continue;
      if (!(co_await reconcile(r.nid, events, failure))) co_return false;
    }
    if (events.empty() && next == position) co_return true;
    if (co_await merge(events, kActivityCursor, next)) position = next;  // else read again
    co_return true;
  }

  awaitable<void> pull_wait(std::int64_t ms) {
    pull_timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(ms, 0)));
    co_await pull_timer.async_wait(asio::as_tuple(use_awaitable));
  }

  awaitable<void> pull_loop() {
    auto self = shared_from_this();
    std::string cursor, sweep_after;
    std::int64_t hot_after = 0;  // the recent-activity walk: the list's seq
    std::string activity;        // the activity pass: "<ms>:<nid>" read up to
    auto read = [&] {
      cursor = cursor_body(reader.cursor(kNotificationsCursor), Ledger::kUplinkCursorFormat,
                           kNotificationsCursor);
      sweep_after =
          cursor_body(reader.cursor(kSweepCursor), Ledger::kUplinkCursorFormat, kSweepCursor);
      hot_after = std::atoll(
          cursor_body(reader.cursor(kRecentCursor), Ledger::kUplinkCursorFormat, kRecentCursor)
              .c_str());
      activity =
          cursor_body(reader.cursor(kActivityCursor), Ledger::kUplinkCursorFormat, kActivityCursor);
    };
    if (!co_await read_at_start(ioc, "upstream.pull", stopping, read)) co_return;
    if (cursor.empty()) cursor = "0";
    // A first start reads the changes of the last hot_window_s, not the hub's whole past.
    if (activity.empty()) activity = std::to_string(clock() - L.hot_window_s * 1000LL) + ":0";
    TimeMs next_topics = 0, next_sweep = clock() + L.poll_interval_ms;
    while (!stopping) {
      if (clock() >= next_topics) {
        bool ok = co_await refresh_topics();
        next_topics = clock() + (ok ? L.topics_refresh_s * 1000LL : 60'000LL);
      }
      HubAnswer failure;
      bool failed = false, busy = false;
      http::Outgoing out = get("notifications", F("since") + "=" + percent_encode(cursor));
      HubAnswer page = co_await call(pull_conn, "notifications", out);
      auto notes = lapor::read_notifications(L, page, std::atoll(cursor.c_str()));
      if (!notes) {
        failure = std::move(page);
        if (failure.error.empty()) failure.error = "unreadable answer";
        failed = true;
      } else {
        const std::vector<std::string>& nids = notes->nids;
        const std::int64_t last = notes->last;
        std::vector<Event> events;
        for (const auto& nid : nids) {
          if (!(co_await reconcile(nid, events, failure))) {
            failed = true;
            break;
          }
        }
        if (!failed && (!events.empty() || std::to_string(last) != cursor)) {
          std::string next = std::to_string(last);
          if (co_await merge(events, kNotificationsCursor, next)) cursor = next;
          busy = !nids.empty();  // there may be more: ask again at once
        }
      }
      // Every round, the reports the hub changed since the last round (its list by last
      // activity): the hub notifies dispositions and follow-ups but not a close. One request,
      // and detail and claims only for a report the hub has further on than this node.
      if (!failed && !busy && L.activity_poll && !no_activity_list) {
        if (!(co_await activity_pass(activity, failure))) failed = true;
      }
      // For a hub without that list: a few of the reports that changed here lately: the hub
      // notifies dispositions and follow-ups but not a close, and a close follows recent activity.
      // The walk goes through the complaints updated in the last `hot_window_s`, oldest change
      // first, `hot_batch` linked open ones a round (at most 2 x hot_batch hub requests).
      const int hot_batch = L.hot_batch > 0 ? L.hot_batch : (no_activity_list ? 5 : 0);
      if (!failed && !busy && hot_batch > 0) {
        std::vector<Event> events;
        try {
          ListQuery q;
          q.since = clock() - L.hot_window_s * 1000LL;
          q.after_seq = hot_after;
          q.limit = hot_batch;
          const ListPage listed = reader.list(q);
          std::vector<std::string> nids;
          for (const auto& id : listed.ids) {
            auto nid = reader.ref_of(id, kSystem);
            auto local = nid ? local_state(id) : std::nullopt;
            if (local && local->status != Status::closed && local->status != Status::archived &&
                local->status != Status::cancelled)
              nids.push_back(*nid);
          }
          for (const auto& nid : nids) {
            if (!(co_await reconcile(nid, events, failure))) {
              failed = true;
              break;
            }
          }
          if (!failed) {
            // From the start again at the end of the list.
            const std::int64_t next = listed.more ? listed.last_seq : 0;
            if (!events.empty() || next != hot_after) {
              std::vector<Event> batch = std::move(events);
              if (co_await merge(batch, kRecentCursor, std::to_string(next))) hot_after = next;
            }
          }
        } catch (const StoreError& e) {
          failure.error = std::string("store: ") + code_name(e.code());
          failed = true;
        }
      }
      // Now and then, every open linked report: the hub does not notify each status change.
      if (!failed && !busy && clock() >= next_sweep) {
        // A store that cannot be read fails this round (waited out, then asked again), never
        // passes for an empty list (which would end the sweep and move its cursor).
        std::vector<Store::LinkedComplaint> open;
        try {
          open = reader.open_linked(kSystem, sweep_after, L.sweep_batch);
        } catch (const StoreError& e) {
          failure.error = std::string("store: ") + code_name(e.code());
          failed = true;
        }
        std::vector<Event> events;
        for (const auto& c : open) {
          if (!(co_await reconcile(c.ext_id, events, failure))) {
            failed = true;
            break;
          }
        }
        if (!failed) {
          const bool full = static_cast<int>(open.size()) == L.sweep_batch;
          std::string next = full ? open.back().complaint_id : std::string();
          if (co_await merge(events, kSweepCursor, next)) {
            sweep_after = next;
            // A full step: the next one after a poll interval (the hub is not hammered when
            // thousands of reports are open); the end of the list: the next sweep later.
            next_sweep = clock() + (full ? L.poll_interval_ms : L.sweep_interval_s * 1000LL);
          }
        }
      }
      if (stopping) break;
      if (failed) {
        std::string what = failure.error.empty() ? describe(failure.raw) : failure.error;
        std::int64_t delay = health.failed(
            LinkHealth::pulling, failure_of(what, failure.raw.status, failure.raw.retry_after_s));
        log::warn("lapor.pull_failed", {{"error", what}, {"retry_in_ms", delay}});
        co_await pull_wait(delay);
        continue;
      }
      health.succeeded(LinkHealth::pulling);
      if (!busy) co_await pull_wait(L.poll_interval_ms);
    }
  }
};

LaporLink::LaporLink(asio::io_context& ioc, Supervisor& supervisor, const Config& cfg,
                     std::string client_secret, Store& reader, CommitQueue& writer,
                     std::function<TimeMs()> clock)
    : impl_(std::make_shared<Impl>(ioc, supervisor, cfg, std::move(client_secret), reader, writer,
                                   std::move(clock))) {
  auto& d = *impl_;
  d.relay = std::make_unique<Relay>(ioc, reader, writer, d.clock, Destination::upstream(), "lapor",
                                    d, d.health);
}

LaporLink::~LaporLink() = default;

void LaporLink::start() {
  auto impl = impl_;
  impl->lookup_first = impl->cfg.upstream.batch;
  impl->relay->start(impl->supervisor, "upstream.push");
  impl->supervisor.spawn("upstream.pull", [impl] { return impl->pull_loop(); });
  log::info("upstream.started", {{"parent", impl_->cfg.upstream.node},
                                 {"dialect", "lapor"},
                                 {"host", impl_->cfg.upstream.host},
                                 {"port", static_cast<int>(impl_->cfg.upstream.port)},
                                 {"tls", impl_->cfg.upstream.tls.enabled}});
}

void LaporLink::stop() {
  impl_->stopping = true;
  impl_->relay->stop();
  impl_->pull_timer.cancel();
}

void LaporLink::wake() { impl_->relay->wake(); }

const UplinkStatus& LaporLink::status() const { return impl_->st; }

}  // namespace simpul
