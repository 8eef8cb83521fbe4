#include "federation/fed_api.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/hop_redact.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/normalize.hpp"
#include "core/schema.hpp"
#include "federation/audit_anchor.hpp"
#include "federation/signatures.hpp"
#include "http/api.hpp"

namespace simpul {

using http::problem;

namespace {

constexpr int kMaxWaitSeconds = 60;

// "f<feed position>"; "" is the start of the feed.
bool parse_cursor(const std::string& s, std::int64_t& out) {
  if (s.empty()) {
    out = 0;
    return true;
  }
  if (s.size() < 2 || s[0] != 'f') return false;
  return http::parse_decimal(std::string_view(s).substr(1), out);
}

}  // namespace

FederationApi::FederationApi(const Config& cfg, Store& reader, CommitQueue& writer,
                             const http::Authenticator& auth, const Directory& directory,
                             Scheduler& scheduler, std::function<TimeMs()> clock)
    : cfg_(cfg),
      reader_(reader),
      writer_(writer),
      auth_(auth),
      directory_(directory),
      scheduler_(scheduler),
      clock_(std::move(clock)),
      policy_(
          parse_signature_policy(cfg.federation.signatures).value_or(SignaturePolicy::require)) {}

namespace {

// ?since_ms=&after=&limit= of a paged answer by this node's event position (recover,
// reconcile): since, after, limit (default `fallback`, at most `most`).
struct PageQuery {
  std::int64_t since = 0, after = 0, limit = 0;
};
Result<PageQuery> read_page_query(const http::Params& p, std::int64_t fallback, std::int64_t most) {
  PageQuery q;
  q.limit = fallback;
  if (p.has_query("since_ms") && !http::parse_decimal(p.get("since_ms"), q.since))
    return make_problem(errc::invalid_query, "", "since_ms", "since_ms must be Unix milliseconds");
  if (p.has_query("after") && !http::parse_decimal(p.get("after"), q.after))
    return make_problem(errc::invalid_query, "", "after",
                        "after must be a position this answer issued");
  if (p.has_query("limit") &&
      (!http::parse_decimal(p.get("limit"), q.limit) || q.limit < 1 || q.limit > most))
    return make_problem(errc::invalid_query, "", "limit",
                        "limit must be 1 to " + std::to_string(most));
  return q;
}

}  // namespace

void FederationApi::add_routes(http::Router& r) {
  r.add("POST", "/fed/v1/events",
        [this](const http::Request& req, const http::Params&, http::Reply reply) {
          post_events(req, std::move(reply));
        });
  r.add("GET", "/fed/v1/reference/{name}",
        [this](const http::Request& req, const http::Params& p, http::Reply reply) {
          auto child = child_of(req);
          if (!child) {
            reply(http::problem_of(child.error()));
            return;
          }
          for (const auto& [name, text] : cfg_.reference) {
            if (name == p.get("name")) {
              http::Response res;
              res.body = "{\"items\":" + text + "}";
              reply(std::move(res));
              return;
            }
          }
          reply(problem(errc::not_found,
                        "this node has no such reference data (topics, agencies, regions)"));
        });
  r.add("GET", "/fed/v1/changes",
        [this](const http::Request& req, const http::Params& p, http::Reply reply) {
          changes(req, p, std::move(reply));
        });
  r.add("POST", "/fed/v1/keys",
        [this](const http::Request& req, const http::Params&, http::Reply reply) {
          post_keys(req, std::move(reply));
        });
  r.add("POST", "/fed/v1/audit/head",
        [this](const http::Request& req, const http::Params&, http::Reply reply) {
          audit_head(req, std::move(reply));
        });
  r.add("GET", "/fed/v1/reconcile",
        [this](const http::Request& req, const http::Params& p, http::Reply reply) {
          reconcile_list(req, p, std::move(reply));
        });
  r.add("POST", "/fed/v1/reconcile/resend",
        [this](const http::Request& req, const http::Params&, http::Reply reply) {
          reconcile_resend(req, std::move(reply));
        });
  r.add("GET", "/fed/v1/recover",
        [this](const http::Request& req, const http::Params& p, http::Reply reply) {
          recover(req, p, std::move(reply));
        });
}

std::optional<Problem> FederationApi::refused_certificate(const http::Request& req) {
  if (req.peer_certificate->verified) return std::nullopt;
  auth_.failed(req, "certificate");
  return make_problem(errc::unauthenticated, "", "certificate",
                      "client certificate refused: " + req.peer_certificate->error);
}

Problem FederationApi::wrong_node(const http::Request& req, const std::string& rest) {
  auth_.failed(req, "certificate");
  const std::string& node = req.peer_certificate->node;
  return make_problem(
      errc::forbidden, "", "certificate",
      "the client certificate names node " + (node.empty() ? "(none)" : node) + rest);
}

std::optional<Problem> FederationApi::certificate_names(const http::Request& req,
                                                        const std::string& node) {
  if (!req.peer_certificate)
    return make_problem(
        errc::unauthenticated, "", "certificate",
        "child " + node + " must present a client certificate from the federation's authority");
  if (auto p = refused_certificate(req)) return p;
  if (req.peer_certificate->node != node) return wrong_node(req, ", not " + node);
  certificate_expiry_[node] = req.peer_certificate->not_after;
  return std::nullopt;
}

Result<std::string> FederationApi::child_of(const http::Request& req) {
  if (!req.header("authorization").empty()) {
    auto who = auth_.check_bearer(req, "node");
    if (!who) return who.error();
    const ChildNode* child = who->node_id.empty() ? nullptr : directory_.find(who->node_id);
    if (!child)
      return make_problem(errc::forbidden, "", "node",
                          "this credential does not identify one of this node's children");
    if (child->auth != "token")
      if (auto p = certificate_names(req, child->id)) return *p;
    return who->node_id;
  }
  // No token: the certificate alone, for a child that may go by it.
  if (auto t = auth_.throttled(req)) return *t;
  if (!req.peer_certificate)
    return make_problem(errc::unauthenticated, "", "bearer",
                        "send Authorization: Bearer <node token>, or present a client "
                        "certificate from the federation's authority");
  if (auto p = refused_certificate(req)) return *p;
  const ChildNode* child = directory_.find(req.peer_certificate->node);
  if (!child) return wrong_node(req, ", which is not a child of this node");
  if (child->auth != "certificate")
    return make_problem(
        errc::unauthenticated, "", "bearer",
        "child " + child->id + " must also send its node token (auth " + child->auth + ")");
  certificate_expiry_[child->id] = req.peer_certificate->not_after;
  return child->id;
}

std::optional<std::string> FederationApi::json_post_child(const http::Request& req,
                                                          http::Reply& reply) {
  auto child = child_of(req);
  if (!child) {
    reply(http::problem_of(child.error()));
    return std::nullopt;
  }
  if (!http::is_json(req.header("content-type"))) {
    reply(http::json_required());
    return std::nullopt;
  }
  return *child;
}

TimeMs FederationApi::child_certificate_expiry(const std::string& child) const {
  auto it = certificate_expiry_.find(child);
  return it == certificate_expiry_.end() ? 0 : it->second;
}

void FederationApi::post_events(const http::Request& req, http::Reply reply) {
  auto child = json_post_child(req, reply);
  if (!child) return;
  auto doc = json::parse(req.body);
  if (!doc) {
    reply(http::problem_of(doc.error()));
    return;
  }
  if (auto p = check_strings(*doc)) {
    reply(http::problem_of(*p));
    return;
  }
  if (auto p = JsonSchema::builtin("schema/fed_events.schema.json").validate(*doc)) {
    reply(http::problem_of(*p));
    return;
  }
  auto events = std::make_shared<std::vector<Event>>();
  for (const auto& v : (*doc)["events"].GetArray()) {
    auto e = json::event_from_value(v);
    if (!e) {
      reply(http::problem_of(e.error()));
      return;
    }
    events->push_back(std::move(*e));
  }
  std::vector<SignedBatch> batches;
  if (doc->HasMember("batches"))
    for (const auto& v : (*doc)["batches"].GetArray()) {
      auto b = read_batch(v);
      if (!b) {
        reply(problem(errc::schema_violation, "a manifest in batches cannot be read",
                      "/batches/" + std::to_string(batches.size())));
        return;
      }
      batches.push_back(std::move(*b));
    }
  // Signatures are checked here, on the io thread with its reader: the writer only merges.
  auto checked = std::make_shared<ChildEvents>();
  try {
    std::vector<std::string> children;
    for (const auto& c : cfg_.children) children.push_back(c.id);
    checked->verdicts = check_signatures(reader_, policy_, cfg_.node.id, children, *child, *events,
                                         batches, checked->manifests);
  } catch (const StoreError& e) {
    reply(problem(e.code(), "the store cannot be read now; retry"));
    return;
  }
  auto outcomes = std::make_shared<std::vector<MergeOutcome>>();
  std::string from = *child;
  TimeMs now = clock_();
  writer_.submit(
      [events, outcomes, from, now, checked](Ledger& l) {
        *outcomes = l.merge_from_child(from, std::move(*events), now, checked.get());
      },
      [outcomes, from, reply = std::move(reply)](errc e) {
        if (e != errc::ok) {
          reply(http::storage_problem(e));
          return;
        }
        rapidjson::StringBuffer buf;
        json::Writer w(buf);
        w.StartObject();
        w.Key("results");
        w.StartArray();
        int accepted = 0, rejected = 0;
        for (const auto& o : *outcomes) {
          w.StartObject();
          w.Key("event_id");
          w.String(o.event_id.c_str());
          w.Key("outcome");
          w.String(to_string(o.outcome).data());
          if (!o.reason.empty()) {
            w.Key("reason");
            w.String(o.reason.c_str());
          }
          w.EndObject();
          accepted += o.outcome == MergeResult::accepted;
          rejected += o.outcome == MergeResult::rejected;
        }
        w.EndArray();
        w.EndObject();
        log::info("fed.events", {{"from", from},
                                 {"events", outcomes->size()},
                                 {"accepted", accepted},
                                 {"rejected", rejected}});
        http::Response res;
        res.body.assign(buf.GetString(), buf.GetSize());
        reply(std::move(res));
      });
}

bool FederationApi::answer(Waiter& w, bool force) {
  if (w.done) return true;
  FeedPage page;
  try {
    page = reader_.feed(w.child, w.after, w.limit);
  } catch (const StoreError& e) {
    w.done = true;
    w.reply(problem(e.code(), "the store cannot be read now; retry"));
    return true;
  }
  if (page.items.empty() && !force) return false;
  rapidjson::StringBuffer buf;
  json::Writer wr(buf);
  wr.StartObject();
  wr.Key("events");
  wr.StartArray();
  for (auto& item : page.items) {
    redact_for_hop(item.event, item.privacy);
    json::write_event(wr, item.event, true);
  }
  wr.EndArray();
  wr.Key("next");
  std::string next = page.last_id > 0 ? "f" + std::to_string(page.last_id) : "";
  wr.String(next.c_str());
  wr.EndObject();
  http::Response res;
  res.body.assign(buf.GetString(), buf.GetSize());
  w.done = true;
  w.reply(std::move(res));
  return true;
}

void FederationApi::changes(const http::Request& req, const http::Params& p, http::Reply reply) {
  auto child = child_of(req);
  if (!child) {
    reply(http::problem_of(child.error()));
    return;
  }
  auto w = std::make_shared<Waiter>();
  w->child = *child;
  w->reply = std::move(reply);
  if (!parse_cursor(p.get("since"), w->after)) {
    w->reply(problem(errc::invalid_query, "since must be a cursor this feed issued", "", "since"));
    return;
  }
  int wait = 0;
  if (p.has_query("limit")) {
    std::int64_t limit = 0;
    if (!http::parse_decimal(p.get("limit"), limit) || limit < 1 || limit > 1000) {
      w->reply(problem(errc::invalid_query, "limit must be 1 to 1000", "", "limit"));
      return;
    }
    w->limit = static_cast<int>(limit);
  }
  if (p.has_query("wait")) {
    std::int64_t v = -1;
    if (!http::parse_decimal(p.get("wait"), v) || v > kMaxWaitSeconds) {
      w->reply(problem(errc::invalid_query, "wait must be 0 to 60 seconds", "", "wait"));
      return;
    }
    wait = static_cast<int>(v);
  }
  acknowledge(w->child, w->after);
  if (answer(*w, wait == 0)) return;
  waiters_.push_back(w);
  scheduler_.after(wait * 1000, [this, w] {
    answer(*w, true);
    std::erase(waiters_, w);
  });
}

// A child restored from a backup asks for what it sent up since its latest write: every event
// with the child on its hop path, stored here at or after `since_ms`, paged by position
// (`after`). `acked` is the feed position the child last acknowledged here: a child whose own
// cursor is behind it has lost what it had merged (docs/federation.md, "Restored from a backup").
void FederationApi::recover(const http::Request& req, const http::Params& p, http::Reply reply) {
  auto child = child_of(req);
  if (!child) {
    reply(http::problem_of(child.error()));
    return;
  }
  auto page = read_page_query(p, 500, 1000);
  if (!page) {
    reply(http::problem_of(page.error()));
    return;
  }
  const auto [since, after, limit] = *page;
  std::vector<QueuedEvent> items;
  std::int64_t acked = 0;
  try {
    items = reader_.events_through(*child, since, after, static_cast<int>(limit));
    acked = reader_.feed_backlog(*child).acked;
  } catch (const StoreError& e) {
    reply(problem(e.code(), "the store cannot be read now; retry"));
    return;
  }
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("events");
  w.StartArray();
  for (auto& item : items) {
    redact_for_hop(item.event, item.privacy);
    json::write_event(w, item.event, true);
  }
  w.EndArray();
  w.Key("next");
  w.Int64(items.empty() ? after : items.back().id);
  w.Key("more");
  w.Bool(static_cast<std::int64_t>(items.size()) == limit);
  w.Key("acked");
  w.Int64(acked);
  w.EndObject();
  http::Response res;
  res.body.assign(buf.GetString(), buf.GetSize());
  log::info("fed.recover", {{"child", *child}, {"events", items.size()}, {"after", after}});
  reply(std::move(res));
}

// What a child reconciles against (reconcile/reconcile.hpp): the ids of the events held here
// that came through it (from_you), or of those its feed gave or gives it (for_you), stored at or
// after since_ms, by position.
void FederationApi::reconcile_list(const http::Request& req, const http::Params& p,
                                   http::Reply reply) {
  auto child = child_of(req);
  if (!child) {
    reply(http::problem_of(child.error()));
    return;
  }
  const std::string side = p.get("side");
  if (side != "from_you" && side != "for_you") {
    reply(problem(errc::invalid_query, "side must be from_you or for_you", "", "side"));
    return;
  }
  auto page = read_page_query(p, 1000, 5000);
  if (!page) {
    reply(http::problem_of(page.error()));
    return;
  }
  const auto [since, after, limit] = *page;
  std::vector<Store::HeldEvent> items;
  try {
    if (side == "for_you") {
      items = reader_.events_for_child(*child, since, after, reader_.feed_backlog(*child).acked,
                                       static_cast<int>(limit));
    } else {
      for (auto& q : reader_.events_through(*child, since, after, static_cast<int>(limit)))
        items.push_back({q.id, q.event.event_id, q.event.complaint_id});
    }
  } catch (const StoreError& e) {
    reply(problem(e.code(), "the store cannot be read now; retry"));
    return;
  }
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("events");
  w.StartArray();
  for (const auto& e : items) {
    w.StartObject();
    w.Key("event_id");
    w.String(e.event_id.c_str());
    w.Key("complaint_id");
    w.String(e.complaint_id.c_str());
    w.EndObject();
  }
  w.EndArray();
  w.Key("next");
  w.Int64(items.empty() ? after : items.back().seq);
  w.Key("more");
  w.Bool(static_cast<std::int64_t>(items.size()) == limit);
  w.EndObject();
  http::Response res;
  res.body.assign(buf.GetString(), buf.GetSize());
  reply(std::move(res));
}

// A child found events its feed owes it missing there: each is put on its feed again (a new
// position), if it is one the child sees and did not come through it. Audited.
void FederationApi::reconcile_resend(const http::Request& req, http::Reply reply) {
  auto child = json_post_child(req, reply);
  if (!child) return;
  auto doc = json::parse(req.body);
  std::vector<std::string> ids;
  bool readable = doc && doc->IsObject() && doc->HasMember("events") && (*doc)["events"].IsArray();
  if (readable)
    for (const auto& v : (*doc)["events"].GetArray()) {
      if (!v.IsString() || ids.size() >= 1000) {
        readable = false;
        break;
      }
      ids.emplace_back(v.GetString(), v.GetStringLength());
    }
  if (!readable) {
    reply(
        problem(errc::schema_violation, "send {\"events\": [\"<event id>\", ...]} (at most 1000)"));
    return;
  }
  auto counts = std::make_shared<std::pair<int, int>>(0, 0);  // resent, refused
  const TimeMs now = clock_();
  writer_.submit(
      [ids = std::move(ids), child = *child, counts, now](Ledger& l) {
        Store& s = l.store();
        const std::string dest = Destination::child(child).name();
        for (const auto& id : ids) {
          auto e = s.find_event(id);
          bool ok = e && s.visible_to(e->complaint_id, child) &&
                    std::find(e->hops.begin(), e->hops.end(), child) == e->hops.end();
          std::int64_t seq = 0;
          if (ok) {
            for (const auto& st : s.stored_events_of(e->complaint_id))
              if (st.event.event_id == id) seq = st.seq;
            ok = seq != 0;
          }
          if (!ok) {
            ++counts->second;
            continue;
          }
          s.requeue(dest, seq, now);
          ++counts->first;
        }
        s.audit(now, "node:" + child, "fed.reconcile_resend", "",
                "{\"resent\":" + std::to_string(counts->first) +
                    ",\"refused\":" + std::to_string(counts->second) + "}");
      },
      [counts, child = *child, reply = std::move(reply)](errc e) {
        if (e != errc::ok) {
          reply(http::storage_problem(e));
          return;
        }
        log::info("fed.reconcile_resend",
                  {{"child", child}, {"resent", counts->first}, {"refused", counts->second}});
        http::Response res;
        res.body = "{\"resent\":" + std::to_string(counts->first) +
                   ",\"refused\":" + std::to_string(counts->second) + "}";
        reply(std::move(res));
      });
}

// A child's keys and those it vouches for (federation/signatures.hpp).
void FederationApi::post_keys(const http::Request& req, http::Reply reply) {
  auto child = json_post_child(req, reply);
  if (!child) return;
  auto keys = read_keys_request(req.body);
  if (!keys) {
    reply(problem(errc::schema_violation,
                  "send {\"keys\": [{\"node\", \"key\", \"public_key\", \"voucher\"}, ...]} "
                  "(base64url, docs/federation.md)"));
    return;
  }
  std::vector<std::string> children;
  for (const auto& c : cfg_.children) children.push_back(c.id);
  auto outcome = std::make_shared<std::vector<KeyOutcome>>();
  TimeMs now = clock_();
  writer_.submit(
      [outcome, self = cfg_.node.id, children, child = *child, keys = std::move(*keys),
       now](Ledger& l) { *outcome = register_keys(l.store(), self, children, child, keys, now); },
      [outcome, child = *child, reply = std::move(reply)](errc e) {
        if (e != errc::ok) {
          reply(http::storage_problem(e));
          return;
        }
        int registered = 0, refused = 0;
        for (const auto& o : *outcome) {
          registered += o.outcome == "registered";
          refused += o.outcome == "refused";
        }
        if (registered || refused)
          log::info("fed.keys",
                    {{"child", child}, {"registered", registered}, {"refused", refused}});
        http::Response res;
        res.body = keys_answer_json(*outcome);
        reply(std::move(res));
      });
}

void FederationApi::audit_head(const http::Request& req, http::Reply reply) {
  auto child = json_post_child(req, reply);
  if (!child) return;
  auto r = read_audit_head_request(req.body);
  if (!r) {
    reply(problem(errc::schema_violation,
                  "send {\"head\": {\"id\": N, \"hash\": \"<64 hex>\"}} and, when asked, \"at\" "
                  "with the hash at the kept id"));
    return;
  }
  auto outcome = std::make_shared<AnchorOutcome>();
  TimeMs now = clock_();
  writer_.submit(
      [outcome, child = *child, r = *r, now](Ledger& l) {
        *outcome = anchor_child_head(l.store(), child, r.head, r.at, now);
      },
      [outcome, child = *child, reply = std::move(reply)](errc e) {
        if (e != errc::ok) {
          reply(http::storage_problem(e));
          return;
        }
        if (outcome->verdict == AnchorVerdict::backwards ||
            outcome->verdict == AnchorVerdict::rewritten)
          log::error("fed.audit_chain_broken", {{"child", child},
                                                {"verdict", to_string(outcome->verdict)},
                                                {"reason", outcome->reason}});
        http::Response res;
        res.body = audit_head_answer_json(*outcome);
        reply(std::move(res));
      });
}

TimeMs FederationApi::last_poll(const std::string& child) const {
  auto it = last_poll_.find(child);
  return it == last_poll_.end() ? 0 : it->second;
}

void FederationApi::acknowledge(const std::string& child, std::int64_t position) {
  TimeMs now = clock_();
  last_poll_[child] = now;
  auto it = acked_.find(child);
  if (it == acked_.end()) {
    std::int64_t stored = 0;
    try {
      stored = reader_.feed_backlog(child).acked;
    } catch (const StoreError&) {
    }
    it = acked_.emplace(child, stored).first;
  }
  if (position <= it->second) return;
  it->second = position;
  // Fire and forget: a lost acknowledgement only delays pruning and understates progress.
  writer_.submit([child, position, now](Ledger& l) { l.store().feed_acked(child, position, now); },
                 [](errc) {});
}

void FederationApi::notify() {
  for (auto& w : waiters_) answer(*w, false);
  std::erase_if(waiters_, [](const auto& w) { return w->done; });
}

}  // namespace simpul
