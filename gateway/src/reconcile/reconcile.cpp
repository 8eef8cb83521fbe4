#include "reconcile/reconcile.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/uuid.hpp"
#include "http/client.hpp"
#include "lapor/lapor_link.hpp"
#include "lapor/lapor_protocol.hpp"
#include "lapor/lapor_settings.hpp"
#include "ledger/ledger.hpp"
#include "simpul/cursor.hpp"
#include "simpul/url.hpp"
#include "store/store.hpp"

namespace simpul::reconcile {

namespace {

constexpr int kSummaryFormat = 1;
constexpr const char* kSystem = "lapor";
// A page of our side: complaints (hub) or events (parent) read from the store at a time.
constexpr int kOurPage = 500;
// The parent's pages, and the events asked for again in one request.
constexpr int kParentPage = 1000;
constexpr std::size_t kResendBatch = 500;
// The parent stores what it is sent after this node did: its side is read from a little before
// the window (clocks a few minutes apart), so nothing sent in the window falls outside it.
constexpr TimeMs kClockSlackMs = 10 * 60'000;
// The hub dates a report when it arrived there, after this node received the complaint: its list
// is read a day past the window's end, so a complaint received at the end is found there.
constexpr TimeMs kHubListSlackMs = 86'400'000;

// The other side did not answer: the run ends with what it found so far.
struct Unanswered : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string str(std::string_view v) { return std::string(v); }

// Requests to the other side, never more than `per_minute` in a minute; a 429 or 5xx is waited
// out (Retry-After, else 1, 2, 4 s) three times before the run gives up.
class Paced {
 public:
  Paced(const Config& cfg, int per_minute, std::int64_t& requests, const Options& o)
      : client_(cfg.upstream.host, cfg.upstream.port, cfg.upstream.timeout_ms, cfg.upstream.tls),
        gap_(std::chrono::milliseconds(60'000 / std::max(1, per_minute))),
        requests_(requests),
        ua_("simpul/" + cfg.node.id),
        o_(o) {}

  http::ClientResponse send(const std::string& method, const std::string& target,
                            const std::string& body, std::vector<http::Header> headers) {
    headers.push_back({"user-agent", ua_});
    for (int attempt = 0;; ++attempt) {
      wait_until(next_);
      next_ = std::max(std::chrono::steady_clock::now(), next_) + gap_;
      ++requests_;
      http::ClientResponse r;
      try {
        r = client_.request(method, target, body, headers);
      } catch (const std::exception& e) {
        if (attempt >= 2) throw Unanswered(std::string("not reachable: ") + e.what());
        wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(1 << attempt));
        continue;
      }
      if ((r.status == 429 || r.status >= 500) && attempt < 2) {
        int wait = 1 << attempt;
        if (auto ra = r.header("retry-after"); !ra.empty())
          wait = std::clamp(std::atoi(ra.c_str()), 1, 60);
        wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(wait));
        continue;
      }
      return r;
    }
  }

 private:
  // Sleeps in short steps, so a node that stops is not held by the pacing.
  void wait_until(std::chrono::steady_clock::time_point t) const {
    for (;;) {
      if (o_.cancelled && o_.cancelled()) throw Unanswered("the run was stopped");
      const auto now = std::chrono::steady_clock::now();
      if (now >= t) return;
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(t - now, std::chrono::milliseconds(200)));
    }
  }

  http::Client client_;
  std::chrono::steady_clock::duration gap_;
  std::chrono::steady_clock::time_point next_{};
  std::int64_t& requests_;
  std::string ua_;
  const Options& o_;
};

// ---- the hub ---------------------------------------------------------------------------------

class Hub {
 public:
  Hub(const Config& cfg, const lapor::Settings& L, std::string secret, std::int64_t& requests,
      const Options& o)
      : L_(L),
        secret_(std::move(secret)),
        http_(cfg, L.reconcile_requests_per_minute, requests, o) {}

  // A GET with the KEYTOKEN; an expired token is replaced once. Throws Unanswered unless the hub
  // answered (ok or not).
  lapor::Reply get(const char* endpoint, const std::string& query) {
    for (int attempt = 0;; ++attempt) {
      if (token_.empty()) acquire();
      auto r = http_.send("GET", L_.endpoint(endpoint) + (query.empty() ? "" : "?" + query), "",
                          {{"keytoken", token_}});
      lapor::Reply reply = lapor::read_reply(L_, endpoint, r.status, r.body);
      if (reply.token_expired && attempt == 0) {
        token_.clear();
        continue;
      }
      if (!reply.answered) throw Unanswered(std::string(endpoint) + ": " + reply.error);
      return reply;
    }
  }

 private:
  void acquire() {
    auto r = http_.send("POST", L_.endpoint("token"), lapor::token_request(L_, secret_),
                        {{"content-type", "application/json"}});
    auto issued = lapor::read_token(L_, lapor::read_reply(L_, "token", r.status, r.body));
    if (!issued)
      throw Unanswered("token: the hub issued no KEYTOKEN (http " + std::to_string(r.status) + ")");
    token_ = issued->first;
  }

  const lapor::Settings& L_;
  std::string secret_, token_;
  Paced http_;
};

struct HubRun {
  const Config& cfg;
  Store& reader;
  const Write& write;
  const Options& o;
  const std::function<TimeMs()>& clock;
  Report& report;
  lapor::Settings L = lapor::read_settings(cfg);
  Hub hub{cfg, L, upstream_credential(cfg), report.requests, o};

  void progress(const std::string& line) const {
    if (o.progress) o.progress(line);
  }

  std::string query_time(TimeMs t) const { return percent_encode(format_utc(t)); }

  std::map<std::string, lapor::HubReport> read_theirs() {
    std::map<std::string, lapor::HubReport> out;
    std::string after = "0";
    for (int page = 1;; ++page) {
      const std::string q = L.field("list_from") + "=" + query_time(o.from) + "&" +
                            L.field("list_to") + "=" + query_time(o.to + kHubListSlackMs) + "&" +
                            L.field("list_after") + "=" + after + "&" + L.field("list_limit") +
                            "=" + std::to_string(L.list_page);
      lapor::Reply reply = hub.get("list", q);
      auto list = lapor::read_hub_list(L, reply);
      if (!list) throw Unanswered("list: " + (reply.error.empty() ? "no data array" : reply.error));
      for (auto& r : list->reports) {
        after = r.nid;
        out.emplace(r.nid, std::move(r));
      }
      progress("hub: page " + std::to_string(page) + ", " + std::to_string(out.size()) +
               " reports");
      if (!list->more || list->reports.empty()) break;
    }
    return out;
  }

  // What the hub has of one report: its detail and claims, read into the events that bring the
  // complaint here to where the hub has it (with its `created` first when `create`).
  std::vector<Event> hub_history(const lapor::HubReport& seen, const std::string& complaint_id,
                                 bool create) {
    const std::string nid_q = L.field("nid") + "=" + seen.nid;
    lapor::Reply detail = hub.get("detail", nid_q);
    if (!detail.ok) throw std::runtime_error("the hub does not show lapor:" + seen.nid);
    lapor::Reply claims = hub.get("claims", nid_q);
    const lapor::HubReport report = lapor::read_report(L, lapor::report_of(L, detail));
    std::vector<Event> out;
    lapor::LocalState local;
    local.complaint_id = complaint_id;
    if (create) {
      auto created =
          lapor::hub_created_event(L, cfg.upstream.node, cfg.node.region, report, clock());
      if (!created) throw std::runtime_error("the hub's report has no tracking id");
      local.complaint_id = created->complaint_id;
      local.updated_at = created->at;
      out.push_back(std::move(*created));
    } else if (auto p = reader.projection(complaint_id)) {
      local.status = p->status;
      local.updated_at = p->updated_at;
    }
    for (auto& e :
         lapor::hub_events(L, cfg.upstream.node, seen.nid, local, detail, &claims, clock()))
      out.push_back(std::move(e));
    return out;
  }

  // `unmapped_topic`: the hub topic of a report pulled here that upstream.lapor.topics does not
  // map, remembered (at most 200) for `simpul check`.
  void merge(std::vector<Event> events, const std::string& complaint_id, const char* action,
             const std::string& detail_json, const std::string& unmapped_topic = "") {
    const TimeMs now = clock();
    auto batch = std::make_shared<std::vector<Event>>(std::move(events));
    write([batch, complaint_id, action, detail_json, now, unmapped_topic](Ledger& l) {
      l.merge_from_parent(std::move(*batch), format_utc(now), now, "reconcile.hub.merged");
      l.store().audit(now, "reconcile", action, complaint_id, detail_json);
      if (!unmapped_topic.empty()) note_unmapped_topic(l.store(), unmapped_topic, now);
    });
  }

  static void note_unmapped_topic(Store& s, const std::string& topic, TimeMs now) {
    const char* name = LaporLink::kUnmappedTopicsCursor;
    std::set<std::string> seen;
    if (auto doc = json::parse(cursor_body(s.cursor(name), LaporLink::kTopicsFormat, name));
        doc && doc->IsArray())
      for (const auto& v : doc->GetArray())
        if (v.IsString()) seen.insert(v.GetString());
    if (seen.size() >= 200 || !seen.insert(topic).second) return;
    rapidjson::Document list(rapidjson::kArrayType);
    for (const auto& t : seen)
      list.PushBack(rapidjson::Value(t.c_str(), list.GetAllocator()), list.GetAllocator());
    s.set_cursor(name, cursor_text(LaporLink::kTopicsFormat, json::stringify(list)), now);
  }

  static std::string ref_json(const std::string& nid, const std::string& extra = "") {
    return "{\"ref\":\"lapor:" + nid + "\"" + extra + "}";
  }

  // The hub has it and we have it: do the two agree?
  void compare(const lapor::HubReport& t, const std::string& complaint_id, Status here,
               const std::string& agency_here, bool conflict) {
    auto code = L.status_codes.find(t.status_code);
    std::vector<Finding> found;
    if (code != L.status_codes.end() &&
        lapor::status_rank(code->second) > lapor::status_rank(here)) {
      Finding f;
      f.kind = "status";
      f.reason = conflict ? "conflict" : "behind";
      f.here = str(to_string(here));
      f.there = str(to_string(code->second)) + " (" + t.status_code + ")";
      found.push_back(std::move(f));
    }
    const std::string agency_there =
        t.agency.empty() ? "" : L.agency_code(t.agency).value_or(t.agency);
    if (!agency_there.empty() && agency_there != agency_here) {
      Finding f;
      f.kind = "agency";
      f.reason = "differs";
      f.here = agency_here;
      f.there = agency_there;
      found.push_back(std::move(f));
    }
    if (found.empty()) return;
    std::string repair;
    if (o.repair) {
      try {
        merge(hub_history(t, complaint_id, false), complaint_id, "reconcile.refreshed",
              ref_json(t.nid));
        repair = "refreshed";
      } catch (const Unanswered&) {
        throw;
      } catch (const std::exception& e) {
        repair = std::string("failed: ") + e.what();
      }
    }
    for (auto& f : found) {
      f.complaint_id = complaint_id;
      f.ref = "lapor:" + t.nid;
      f.repair = repair;
      report.findings.push_back(std::move(f));
    }
  }

  // The hub holds the report under our id: the link it answered with never arrived.
  void link(const std::string& complaint_id, const std::string& nid, Finding& f) {
    if (!o.repair) return;
    const TimeMs now = clock();
    auto error = std::make_shared<std::string>();
    const std::string self = cfg.node.id;
    write([complaint_id, nid, self, now, error](Ledger& l) {
      AppendRequest req;
      req.event.event_id = make_uuid_v7(now);
      req.event.complaint_id = complaint_id;
      req.event.origin = self;
      req.event.at = now;
      req.event.actor = Actor{"system", "", "reconcile"};
      req.event.kind = EventKind::linked;
      req.event.payload = "{\"system\":\"lapor\",\"id\":\"" + nid + "\"}";
      req.event.hops = {self};
      auto out = l.act(req);
      if (out.error != errc::ok) {
        *error = out.detail;
        return;
      }
      l.store().audit(now, "reconcile", "reconcile.linked", complaint_id, ref_json(nid));
    });
    f.repair = error->empty() ? "linked" : "failed: " + *error;
  }

  void requeue(const Store::OwnComplaint& c, Finding& f) {
    if (!o.repair) return;
    const TimeMs now = clock();
    const std::string reason = f.reason;
    write([c, now, reason](Ledger& l) {
      l.store().requeue(Destination::upstream().name(), c.created_seq, now);
      l.store().audit(now, "reconcile", "reconcile.requeued", c.id,
                      "{\"with\":\"hub\",\"reason\":\"" + reason + "\"}");
    });
    f.repair = "requeued";
  }

  void run() {
    std::map<std::string, lapor::HubReport> theirs = read_theirs();
    report.theirs = static_cast<std::int64_t>(theirs.size());
    std::map<std::string, std::string> by_ext;  // ext_id -> nid
    for (const auto& [nid, t] : theirs)
      if (!t.ext_id.empty()) by_ext.emplace(t.ext_id, nid);
    std::set<std::string> seen;
    std::string after;
    for (;;) {
      auto page =
          reader.complaints_received(o.from, o.to, kSystem, cfg.upstream.node, after, kOurPage);
      for (const auto& c : page) {
        after = c.id;
        if (c.from_upstream) {  // the hub's own report, pulled here: compared from its side
          continue;
        }
        ++report.ours;
        if (!c.ext_id.empty()) {
          auto it = theirs.find(c.ext_id);
          if (it != theirs.end()) {
            seen.insert(c.ext_id);
            compare(it->second, c.id, c.status, c.agency, c.conflict);
            continue;
          }
          // Not in the list: dated outside it at the hub, or gone. The detail decides.
          lapor::Reply detail = hub.get("detail", L.field("nid") + "=" + c.ext_id);
          if (detail.ok) {
            compare(lapor::read_report(L, lapor::report_of(L, detail)), c.id, c.status, c.agency,
                    c.conflict);
            continue;
          }
          Finding f;
          f.kind = "missing_there";
          f.reason = "lost";
          f.complaint_id = c.id;
          f.ref = "lapor:" + c.ext_id;
          f.here = str(to_string(c.status));
          // Nothing to send again: the create went and was answered. The hub must say.
          if (o.repair)
            f.repair = "failed: linked to lapor:" + c.ext_id + ", which the hub does not show";
          report.findings.push_back(std::move(f));
          continue;
        }
        // Never linked: the hub may have it under our id all the same.
        std::string nid;
        if (auto it = by_ext.find(c.id); it != by_ext.end()) nid = it->second;
        if (nid.empty() && c.up_row == "pending") {
          ++report.in_flight;  // on its way: the relay will send (or look it up)
          continue;
        }
        if (nid.empty()) {
          lapor::Reply found = hub.get("lookup", L.field("ext_id") + "=" + percent_encode(c.id));
          if (found.ok) nid = lapor::text_of(found.doc, L.field("nid"));
        }
        Finding f;
        f.kind = "missing_there";
        f.complaint_id = c.id;
        f.here = str(to_string(c.status));
        if (!nid.empty()) {
          seen.insert(nid);
          f.reason = "unlinked";
          f.ref = "lapor:" + nid;
          link(c.id, nid, f);
        } else {
          f.reason = c.up_row == "dead" ? "dead_lettered" : "never_linked";
          requeue(c, f);
        }
        report.findings.push_back(std::move(f));
      }
      if (static_cast<int>(page.size()) < kOurPage) break;
      progress("hub: " + std::to_string(report.ours) + " complaints of ours compared");
    }
    // The hub's reports for this region that no complaint of the window matched.
    for (const auto& [nid, t] : theirs) {
      if (seen.count(nid)) continue;
      if (auto here = reader.find_by_ref(kSystem, nid)) {  // received here outside the window
        if (auto p = reader.projection(*here)) compare(t, *here, p->status, p->agency, p->conflict);
        continue;
      }
      if (!t.ext_id.empty() && reader.complaint_known(t.ext_id)) {  // ours, link lost
        Finding f;
        f.kind = "missing_there";
        f.reason = "unlinked";
        f.complaint_id = t.ext_id;
        f.ref = "lapor:" + nid;
        link(t.ext_id, nid, f);
        report.findings.push_back(std::move(f));
        continue;
      }
      Finding f;
      f.kind = "missing_here";
      f.reason = "entered_there";
      f.ref = "lapor:" + nid;
      f.there = L.status_codes.count(t.status_code)
                    ? str(to_string(L.status_codes.at(t.status_code)))
                    : t.status_code;
      if (o.repair) {
        try {
          auto events = hub_history(t, "", true);
          f.complaint_id = events.front().complaint_id;
          const bool mapped = t.topic.empty() || t.topic == "0" || L.topics.count(t.topic);
          merge(std::move(events), f.complaint_id, "reconcile.pulled",
                ref_json(nid, ",\"entered\":\"upstream\""), mapped ? "" : t.topic);
          f.repair = "pulled";
        } catch (const Unanswered&) {
          throw;
        } catch (const std::exception& e) {
          f.repair = std::string("failed: ") + e.what();
        }
      }
      report.findings.push_back(std::move(f));
    }
  }
};

// ---- the parent ------------------------------------------------------------------------------

struct ParentRun {
  const Config& cfg;
  Store& reader;
  const Write& write;
  const Options& o;
  const std::function<TimeMs()>& clock;
  Report& report;
  Paced http{cfg, 600, report.requests, o};
  std::string credential = upstream_credential(cfg);

  std::vector<http::Header> auth() const {
    if (credential.empty()) return {};
    return {{"authorization", "Bearer " + credential}};
  }

  // One side of the parent's view, page by page: event id -> complaint id.
  std::map<std::string, std::string> read(const char* side, TimeMs since) {
    std::map<std::string, std::string> out;
    std::int64_t after = 0;
    for (;;) {
      auto r = http.send(
          "GET",
          std::string("/fed/v1/reconcile?side=") + side + "&since_ms=" + std::to_string(since) +
              "&after=" + std::to_string(after) + "&limit=" + std::to_string(kParentPage),
          "", auth());
      if (r.status != 200)
        throw Unanswered("/fed/v1/reconcile: http " + std::to_string(r.status) + ": " +
                         r.body.substr(0, 200));
      auto doc = json::parse(r.body);
      if (!doc || !doc->IsObject() || !doc->HasMember("events") || !(*doc)["events"].IsArray())
        throw Unanswered("/fed/v1/reconcile: unreadable answer");
      for (const auto& e : (*doc)["events"].GetArray())
        out.emplace(json::get_string(e, "event_id"), json::get_string(e, "complaint_id"));
      const auto& next = (*doc)["next"];
      const bool more =
          doc->HasMember("more") && (*doc)["more"].IsBool() && (*doc)["more"].GetBool();
      if (!more || !next.IsInt64()) break;
      after = next.GetInt64();
      if (o.progress)
        o.progress(std::string("parent: ") + side + ", " + std::to_string(out.size()) + " events");
    }
    return out;
  }

  void run() {
    const auto held = read("from_you", o.from - kClockSlackMs);
    std::int64_t after = 0;
    for (;;) {
      auto page = reader.sent_up(cfg.upstream.node, o.from, o.to, after, kOurPage);
      for (const auto& e : page) {
        after = e.seq;
        ++report.ours;
        if (held.count(e.event_id)) continue;
        if (e.up_row == "pending") {
          ++report.in_flight;
          continue;
        }
        Finding f;
        f.kind = "missing_there";
        f.reason = e.up_row == "dead" ? "dead_lettered" : "lost";
        f.complaint_id = e.complaint_id;
        f.event_id = e.event_id;
        if (o.repair) {
          const TimeMs now = clock();
          const std::string reason = f.reason;
          write([e, now, reason](Ledger& l) {
            l.store().requeue(Destination::upstream().name(), e.seq, now);
            l.store().audit(now, "reconcile", "reconcile.requeued", e.complaint_id,
                            "{\"with\":\"parent\",\"event_id\":\"" + e.event_id +
                                "\",\"reason\":\"" + reason + "\"}");
          });
          f.repair = "requeued";
        }
        report.findings.push_back(std::move(f));
      }
      if (static_cast<int>(page.size()) < kOurPage) break;
    }
    const auto owed = read("for_you", o.from);
    report.theirs = static_cast<std::int64_t>(held.size() + owed.size());
    std::vector<std::size_t> missing;
    for (const auto& [event_id, complaint_id] : owed) {
      if (reader.find_event(event_id)) continue;
      Finding f;
      f.kind = "missing_here";
      f.reason = "not_delivered";
      f.complaint_id = complaint_id;
      f.event_id = event_id;
      missing.push_back(report.findings.size());
      report.findings.push_back(std::move(f));
    }
    if (!o.repair || missing.empty()) return;
    // The parent puts them on this node's feed again; the link's pull brings them.
    for (std::size_t i = 0; i < missing.size(); i += kResendBatch) {
      rapidjson::StringBuffer buf;
      json::Writer w(buf);
      w.StartObject();
      w.Key("events");
      w.StartArray();
      const std::size_t end = std::min(missing.size(), i + kResendBatch);
      for (std::size_t k = i; k < end; ++k) w.String(report.findings[missing[k]].event_id.c_str());
      w.EndArray();
      w.EndObject();
      auto headers = auth();
      headers.push_back({"content-type", "application/json"});
      auto r = http.send("POST", "/fed/v1/reconcile/resend",
                         std::string(buf.GetString(), buf.GetSize()), headers);
      const std::string outcome =
          r.status == 200 ? "resent" : "failed: http " + std::to_string(r.status);
      for (std::size_t k = i; k < end; ++k) report.findings[missing[k]].repair = outcome;
      if (r.status == 200) {
        const TimeMs now = clock();
        const std::string detail =
            "{\"with\":\"parent\",\"events\":" + std::to_string(end - i) + "}";
        write([now, detail](Ledger& l) {
          l.store().audit(now, "reconcile", "reconcile.resend_asked", "", detail);
        });
      }
    }
  }
};

void csv_cell(std::string& out, const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  out += '"';
}

}  // namespace

std::string_view to_string(With w) noexcept { return w == With::hub ? "hub" : "parent"; }

std::optional<With> parse_with(std::string_view s) noexcept {
  if (s == "hub") return With::hub;
  if (s == "parent") return With::parent;
  return std::nullopt;
}

std::optional<With> configured(const Config& cfg) noexcept {
  if (!cfg.upstream.enabled) return std::nullopt;
  return cfg.upstream.dialect == "lapor" ? With::hub : With::parent;
}

std::int64_t Report::count(std::string_view kind) const {
  return std::count_if(findings.begin(), findings.end(),
                       [&](const Finding& f) { return f.kind == kind; });
}

std::string cursor_name(With with) { return "reconcile." + str(to_string(with)); }

Report run(const Config& cfg, Store& reader, const Write& write, const Options& o,
           const std::function<TimeMs()>& clock) {
  auto mine = configured(cfg);
  if (!mine)
    throw ConfigError(cfg.file, "/upstream", "this node has no tier above to reconcile with");
  if (*mine != o.with)
    throw ConfigError(cfg.file, "/upstream/dialect",
                      "this node's tier above is " + str(to_string(*mine)) + " (dialect " +
                          cfg.upstream.dialect + "), not " + str(to_string(o.with)));
  Report report;
  report.with = o.with;
  report.from = o.from;
  report.to = o.to;
  report.at = clock();
  try {
    if (o.with == With::hub) {
      HubRun r{cfg, reader, write, o, clock, report};
      r.run();
    } else {
      ParentRun r{cfg, reader, write, o, clock, report};
      r.run();
    }
  } catch (const Unanswered& e) {
    report.error = e.what();
  }
  log::info("reconcile.done", {{"with", str(to_string(o.with))},
                               {"ours", report.ours},
                               {"theirs", report.theirs},
                               {"missing_there", report.count("missing_there")},
                               {"missing_here", report.count("missing_here")},
                               {"mismatched", report.mismatched()},
                               {"requests", report.requests},
                               {"error", report.error}});
  return report;
}

std::string as_text(const Report& r) {
  std::string out = "reconcile with " + str(to_string(r.with)) + ", " + format_utc(r.from) +
                    " to " + format_utc(r.to) + "\n";
  out += "  compared: " + std::to_string(r.ours) + " here, " + std::to_string(r.theirs) +
         " there; " + std::to_string(r.in_flight) + " still on the way up; " +
         std::to_string(r.requests) + " requests\n";
  out += "  missing there: " + std::to_string(r.count("missing_there")) +
         ", missing here: " + std::to_string(r.count("missing_here")) +
         ", mismatched: " + std::to_string(r.mismatched()) + "\n";
  if (!r.error.empty()) out += "  INCOMPLETE: " + r.error + "\n";
  for (const auto& f : r.findings) {
    out += "  " + f.kind + " (" + f.reason + ")";
    if (!f.complaint_id.empty()) out += " " + f.complaint_id;
    if (!f.ref.empty()) out += " " + f.ref;
    if (!f.event_id.empty()) out += " event " + f.event_id;
    if (!f.here.empty() || !f.there.empty())
      out += " here: " + (f.here.empty() ? "-" : f.here) +
             ", there: " + (f.there.empty() ? "-" : f.there);
    if (!f.repair.empty()) out += " -> " + f.repair;
    out += "\n";
  }
  return out;
}

std::string as_csv(const Report& r) {
  std::string out = "kind,reason,complaint_id,ref,event_id,here,there,repair\n";
  for (const auto& f : r.findings) {
    for (const std::string* v :
         {&f.kind, &f.reason, &f.complaint_id, &f.ref, &f.event_id, &f.here, &f.there}) {
      csv_cell(out, *v);
      out += ',';
    }
    csv_cell(out, f.repair);
    out += '\n';
  }
  return out;
}

std::string as_json(const Report& r) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  auto kv = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  auto num = [&](const char* k, std::int64_t v) {
    w.Key(k);
    w.Int64(v);
  };
  w.StartObject();
  kv("with", str(to_string(r.with)));
  kv("from", format_utc(r.from));
  kv("to", format_utc(r.to));
  kv("at", format_utc(r.at));
  w.Key("complete");
  w.Bool(r.error.empty());
  if (!r.error.empty()) kv("error", r.error);
  num("ours", r.ours);
  num("theirs", r.theirs);
  num("in_flight", r.in_flight);
  num("requests", r.requests);
  num("missing_there", r.count("missing_there"));
  num("missing_here", r.count("missing_here"));
  num("mismatched", r.mismatched());
  w.Key("findings");
  w.StartArray();
  for (const auto& f : r.findings) {
    w.StartObject();
    kv("kind", f.kind);
    kv("reason", f.reason);
    if (!f.complaint_id.empty()) kv("complaint_id", f.complaint_id);
    if (!f.ref.empty()) kv("ref", f.ref);
    if (!f.event_id.empty()) kv("event_id", f.event_id);
    if (!f.here.empty()) kv("here", f.here);
    if (!f.there.empty()) kv("there", f.there);
    if (!f.repair.empty()) kv("repair", f.repair);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::optional<Summary> last_summary(Store& reader, With with) {
  const std::string name = cursor_name(with);
  const std::string text = cursor_body(reader.cursor(name), kSummaryFormat, name);
  auto doc = json::parse(text);
  if (!doc || !doc->IsObject()) return std::nullopt;
  auto i64 = [&](const char* k) -> std::int64_t {
    auto it = doc->FindMember(k);
    return it != doc->MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
  };
  Summary s;
  s.at = i64("at");
  s.from = i64("from");
  s.to = i64("to");
  s.drift_since = i64("drift_since");
  s.missing_there = i64("missing_there");
  s.missing_here = i64("missing_here");
  s.mismatched = i64("mismatched");
  s.in_flight = i64("in_flight");
  s.repaired = i64("repaired");
  s.requests = i64("requests");
  s.error = json::get_string(*doc, "error");
  return s;
}

void keep_summary(Store& store, const Report& r) {
  Summary s;
  s.at = r.at;
  s.from = r.from;
  s.to = r.to;
  s.missing_there = r.count("missing_there");
  s.missing_here = r.count("missing_here");
  s.mismatched = r.mismatched();
  s.in_flight = r.in_flight;
  s.requests = r.requests;
  s.error = r.error;
  s.repaired = std::count_if(r.findings.begin(), r.findings.end(), [](const Finding& f) {
    return !f.repair.empty() && f.repair.rfind("failed", 0) != 0;
  });
  if (s.drift() > 0) {
    auto before = last_summary(store, r.with);
    s.drift_since = before && before->drift_since > 0 ? before->drift_since : r.at;
  }
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  for (const auto& [k, v] : std::initializer_list<std::pair<const char*, std::int64_t>>{
           {"at", s.at},
           {"from", s.from},
           {"to", s.to},
           {"drift_since", s.drift_since},
           {"missing_there", s.missing_there},
           {"missing_here", s.missing_here},
           {"mismatched", s.mismatched},
           {"in_flight", s.in_flight},
           {"repaired", s.repaired},
           {"requests", s.requests}}) {
    w.Key(k);
    w.Int64(v);
  }
  w.Key("error");
  w.String(s.error.c_str());
  w.EndObject();
  store.set_cursor(cursor_name(r.with),
                   cursor_text(kSummaryFormat, std::string_view(buf.GetString(), buf.GetSize())),
                   r.at);
}

}  // namespace simpul::reconcile
