#include "http/api.hpp"

#include <memory>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/normalize.hpp"
#include "core/schema.hpp"
#include "core/uuid.hpp"
#include "ledger/report.hpp"

namespace simpul::http {
namespace {

Response json_response(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

std::vector<std::string> allowed_actions(const Principal& who, const ComplaintState& st) {
  std::vector<std::string> out;
  if (!who.has("act")) return out;
  const Access access = who.access();
  if (!access.sees(st)) return out;
  for (EventKind k :
       {EventKind::verified, EventKind::held, EventKind::disposed, EventKind::forwarded,
        EventKind::not_authority, EventKind::progressed, EventKind::responded, EventKind::closed,
        EventKind::reopened, EventKind::archived, EventKind::cancelled}) {
    if (transition_error(st.status, k)) continue;
    if ((k == EventKind::disposed || k == EventKind::forwarded) && access.bound() &&
        !access.holds(st))
      continue;
    out.emplace_back(to_string(k));
  }
  return out;
}

Api::Api(const Config& cfg, Store& reader, CommitQueue& writer, FoldContext fold, Metrics& metrics,
         const Authenticator& auth, std::function<TimeMs()> clock)
    : cfg_(cfg),
      reader_(reader),
      writer_(writer),
      fold_(std::move(fold)),
      metrics_(metrics),
      auth_(auth),
      clock_(std::move(clock)) {
  metrics_.describe("simpul_ingest_total", "counter",
                    "Complaints offered to the ingest API, by result.");
  metrics_.describe("simpul_events_total", "counter",
                    "Officer actions posted, by kind and result.");
  for (const char* r : {"created", "duplicate", "rejected", "failed"})
    metrics_.add("simpul_ingest_total", Metrics::labels({{"result", r}}), 0);
  metrics_.gauge("simpul_outbox_depth", "Outbox rows waiting to be sent.",
                 [this] { return static_cast<double>(reader_.outbox_depth()); });
  metrics_.gauge("simpul_commit_queue_depth", "Writes waiting for the group commit.",
                 [this] { return static_cast<double>(writer_.queued()); });
  metrics_.sampled_counter("simpul_commit_batches_total", "Group commits done since start.",
                           [this] { return static_cast<double>(writer_.stats().batches); });
  metrics_.sampled_counter("simpul_commit_jobs_total",
                           "Writes committed through the group commit since start.",
                           [this] { return static_cast<double>(writer_.stats().jobs); });
}

void Api::add_routes(Router& r) {
  r.add("GET", "/livez", [](const Request&, const Params&, Reply reply) {
    reply(json_response(200, "{\"status\":\"ok\"}"));
  });
  r.add("GET", "/readyz",
        [this](const Request&, const Params&, Reply reply) { ready(std::move(reply)); });
  r.add("GET", "/metrics", [this](const Request&, const Params&, Reply reply) {
    Response res;
    res.content_type = "text/plain; version=0.0.4";
    res.body = metrics_.render();
    reply(std::move(res));
  });
  r.add("POST", "/v1/complaints",
        [this](const Request& req, const Params&, Reply reply) { ingest(req, std::move(reply)); });
  r.add("GET", "/v1/complaints", [this](const Request& req, const Params& p, Reply reply) {
    list_complaints(req, p, std::move(reply));
  });
  r.add("GET", "/v1/complaints/{id}", [this](const Request& req, const Params& p, Reply reply) {
    get_complaint(req, p, std::move(reply));
  });
  r.add("GET", "/v1/reports/agencies", [this](const Request& req, const Params& p, Reply reply) {
    agency_report(req, p, std::move(reply));
  });
  r.add("POST", "/v1/complaints/{id}/events",
        [this](const Request& req, const Params& p, Reply reply) {
          post_event(req, p, std::move(reply));
        });
  add_console_routes(r);
}

void Api::ready(Reply reply) {
  try {
    if (reader_.file_replaced()) {
      reply(problem(
          errc::unavailable,
          "the database file was deleted or replaced under the running node; writes are refused"));
      return;
    }
    int v = reader_.schema_version();
    if (v != reader_.latest_schema_version()) {
      reply(problem(errc::unavailable, "database migrations are not applied"));
      return;
    }
  } catch (const StoreError& e) {
    reply(problem(errc::unavailable, "the database cannot be read"));
    return;
  }
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("status");
  w.String("ready");
  w.Key("checks");
  w.StartObject();
  w.Key("store");
  w.String("ok");
  w.Key("migrations");
  w.String("ok");
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> checks;
  for (const auto& provider : checks_)
    for (auto& c : provider()) checks.push_back(std::move(c));
  for (const auto& [name, result] : checks) {
    const auto& [state, error] = result;
    w.Key(name.c_str());
    if (error.empty()) {
      w.String(state.c_str());
    } else {
      w.StartObject();
      w.Key("state");
      w.String(state.c_str());
      w.Key("last_error");
      w.String(error.c_str());
      w.EndObject();
    }
  }
  w.EndObject();
  w.EndObject();
  reply(json_response(200, std::string(buf.GetString(), buf.GetSize())));
}

void Api::ingest(const Request& req, Reply reply) {
  auto who = auth_.check(req, "ingest");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  auto reject = [&](const Problem& p) {
    metrics_.add("simpul_ingest_total", Metrics::labels({{"result", "rejected"}}));
    log::info("ingest.rejected",
              {{"error", code_name(p.code)}, {"pointer", p.pointer}, {"rule", p.rule}});
    reply(problem_of(p));
  };
  if (!is_json(req.header("content-type"))) {
    reject(http::json_required_problem());
    return;
  }
  std::string key = req.header("idempotency-key");
  if (key.size() > 200 ||
      std::any_of(key.begin(), key.end(), [](char c) { return c < 0x21 || c > 0x7e; })) {
    reject(make_problem(errc::invalid_value, "", "idempotency-key",
                        "Idempotency-Key must be 1 to 200 visible ASCII characters"));
    return;
  }
  TimeMs now = clock_();
  auto complaint =
      read_complaint(req.body, NormalizeOptions{cfg_.node.zone, cfg_.node.region, now});
  if (!complaint) {
    reject(complaint.error());
    return;
  }

  auto ireq = std::make_shared<IngestRequest>();
  ireq->complaint = std::move(*complaint);
  ireq->raw_body = req.body;
  ireq->idem_scope = who->id;
  ireq->idem_key = key;
  ireq->origin = cfg_.node.id;
  // Who entered it is the credential (an officer typing in a letter, a connector app's token).
  ireq->actor = who->actor();
  ireq->now = now;
  auto outcome = std::make_shared<WriteOutcome>();
  writer_.submit(
      [ireq, outcome](Ledger& l) { *outcome = l.ingest(*ireq); },
      [this, outcome, reply = std::move(reply)](errc e) {
        if (e != errc::ok) {
          metrics_.add("simpul_ingest_total", Metrics::labels({{"result", "failed"}}));
          reply(storage_problem(e));
          return;
        }
        if (outcome->error != errc::ok) {
          metrics_.add("simpul_ingest_total", Metrics::labels({{"result", "rejected"}}));
          reply(problem(outcome->error, outcome->detail, outcome->pointer));
          return;
        }
        const char* result = outcome->stored() ? "created" : "duplicate";
        metrics_.add("simpul_ingest_total", Metrics::labels({{"result", result}}));
        log::info("ingest.accepted", {{"complaint_id", outcome->complaint_id}, {"result", result}});
        Response res = json_response(outcome->stored() ? 201 : 200, answer_json(*outcome));
        res.headers.push_back({"location", "/v1/complaints/" + outcome->complaint_id});
        reply(std::move(res));
      });
}

void Api::get_complaint(const Request& req, const Params& p, Reply reply) {
  auto who = auth_.check(req, "read");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  std::string id = p.get("id");
  std::vector<Event> events;
  try {
    events = reader_.events_of(id);
  } catch (const StoreError& e) {
    reply(storage_problem(e.code()));
    return;
  }
  if (events.empty()) {
    reply(problem(errc::not_found, "no such complaint"));
    return;
  }
  ComplaintState st = fold(events, fold_);
  // Not seen is not there: another agency's complaint answers as one that does not exist.
  if (!who->access().sees(st)) {
    reply(problem(errc::not_found, "no such complaint"));
    return;
  }
  std::string sync;
  try {
    sync = reader_.sync_state(id);
  } catch (const StoreError& e) {
    reply(storage_problem(e.code()));
    return;
  }
  std::string body = json::state_to_json(st, who->has("pii"), &events, sync);
  // What this credential may do to it now (the state machine and the agency rules): the
  // dashboard's forms. The ledger decides again when one is posted.
  if (!body.empty() && body.back() == '}') {
    body.pop_back();
    body += ",\"actions\":[";
    bool first = true;
    for (const auto& kind : allowed_actions(*who, st)) {
      body += first ? "\"" : ",\"";
      body += kind;
      body += '"';
      first = false;
    }
    body += "]}";
  }
  reply(json_response(200, std::move(body)));
}

void Api::list_complaints(const Request& req, const Params& p, Reply reply) {
  auto who = auth_.check(req, "read");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  ListQuery q;
  if (p.has_query("status")) {
    q.status = parse_status(p.get("status"));
    if (!q.status) {
      reply(problem(errc::invalid_query, "unknown status", "", "status"));
      return;
    }
  }
  if (p.has_query("since")) {
    auto t = parse_timestamp(p.get("since"), cfg_.node.zone);
    if (!t) {
      reply(problem(errc::invalid_query, t.error().detail, "", "since"));
      return;
    }
    q.since = *t;
  }
  if (p.has_query("cursor")) {
    std::string c = p.get("cursor");
    std::int64_t v = 0;
    if (c.size() < 2 || c[0] != 'c' || !parse_decimal(std::string_view(c).substr(1), v)) {
      reply(problem(errc::invalid_query, "the cursor is not one this API issued", "", "cursor"));
      return;
    }
    q.after_seq = v;
  }
  if (p.has_query("limit")) {
    std::int64_t limit = 0;
    if (!parse_decimal(p.get("limit"), limit) || limit < 1 || limit > 500) {
      reply(problem(errc::invalid_query, "limit must be 1 to 500", "", "limit"));
      return;
    }
    q.limit = static_cast<int>(limit);
  }
  q.access = who->access();
  q.now = clock_();
  auto text = [&](const char* name, std::optional<std::string>& into) {
    if (!p.has_query(name)) return true;
    into = p.get(name);
    if (!into->empty() && into->size() <= 128) return true;
    reply(
        problem(errc::invalid_query, std::string(name) + " must be 1 to 128 characters", "", name));
    return false;
  };
  if (!text("agency", q.agency) || !text("channel", q.channel) || !text("region", q.region) ||
      !text("q", q.q))
    return;
  if (q.q && !cfg_.store.full_text) {
    reply(problem(errc::invalid_query,
                  "full-text search is off on this node (config store.full_text)", "", "q"));
    return;
  }
  if (q.channel && !parse_channel(*q.channel)) {
    reply(problem(errc::invalid_query, "unknown channel", "", "channel"));
    return;
  }
  if (p.has_query("privacy")) {
    q.privacy = parse_privacy(p.get("privacy"));
    if (!q.privacy) {
      reply(problem(errc::invalid_query, "privacy is public, anonim or rahasia", "", "privacy"));
      return;
    }
  }
  if (p.has_query("conflict")) {
    std::string c = p.get("conflict");
    if (c != "true" && c != "false") {
      reply(problem(errc::invalid_query, "conflict is true or false", "", "conflict"));
      return;
    }
    q.conflict = c == "true";
  }
  if (p.has_query("sync")) {
    std::string v = p.get("sync");
    if (std::find(std::begin(EventLog::kSyncStates), std::end(EventLog::kSyncStates), v) ==
        std::end(EventLog::kSyncStates)) {
      reply(problem(errc::invalid_query, "sync is local, queued, at_parent, at_hub or failed", "",
                    "sync"));
      return;
    }
    q.sync = v;
  }
  if (p.has_query("overdue")) {
    std::string o = p.get("overdue");
    if (o != "verify" && o != "followup" && o != "autoclose" && o != "any") {
      reply(problem(errc::invalid_query, "overdue is verify, followup, autoclose or any", "",
                    "overdue"));
      return;
    }
    q.overdue = o;
  }
  // Each complaint on the page is its events folded, as GET by id gives it.
  ListPage page;
  std::string items;
  try {
    page = reader_.list(q);
    const bool pii = who->has("pii");
    const Access access = who->access();
    for (const auto& id : page.ids) {
      ComplaintState st = fold(reader_.events_of(id), fold_);
      if (!access.sees(st)) continue;  // the store selected by the same rule; never show more
      if (!items.empty()) items += ',';
      items += json::state_to_json(st, pii, nullptr, reader_.sync_state(id));
    }
  } catch (const StoreError& e) {
    reply(storage_problem(e.code()));
    return;
  }
  std::string body = "{\"items\":[" + items + "],\"next_cursor\":";
  body += page.more ? "\"c" + std::to_string(page.last_seq) + "\"" : std::string("null");
  body += '}';
  reply(json_response(200, std::move(body)));
}

void Api::agency_report(const Request& req, const Params& p, Reply reply) {
  auto who = auth_.check(req, "read");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  if (!p.has_query("from") || !p.has_query("to")) {
    reply(problem(errc::invalid_query, "give the period as from=YYYY-MM-DD&to=YYYY-MM-DD", "",
                  p.has_query("from") ? "to" : "from"));
    return;
  }
  std::set<std::string> agencies;
  if (const auto& ref = writer_.ledger().rules().agencies) agencies = *ref;
  // A token bound to agencies gets their rows only.
  const Access access = who->access();
  std::set<std::string> only = access.bound() ? access.agencies : std::set<std::string>{};
  std::optional<Result<AgencyReport>> made;
  try {
    made = simpul::agency_report(reader_, fold_, agencies, p.get("from"), p.get("to"), clock_(),
                                 cfg_.reports.min_n, only);
  } catch (const StoreError& e) {
    reply(storage_problem(e.code()));
    return;
  }
  auto& report = *made;
  if (!report) {
    reply(problem_of(report.error()));
    return;
  }
  Response res;
  if (req.header("accept").find("text/csv") != std::string::npos || p.get("format") == "csv") {
    res.content_type = "text/csv; charset=utf-8";
    res.body = report_csv(*report);
    if (p.get("format") == "csv")  // a download link: the browser saves it under this name
      res.headers.push_back(
          {"content-disposition",
           "attachment; filename=\"agencies-" + p.get("from") + "-" + p.get("to") + ".csv\""});
  } else {
    res.body = report_json(*report);
  }
  reply(std::move(res));
}

void Api::post_event(const Request& req, const Params& p, Reply reply) {
  auto who = auth_.check(req, "act");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  if (!is_json(req.header("content-type"))) {
    reply(json_required());
    return;
  }
  auto doc = json::parse(req.body);
  if (!doc) {
    reply(problem_of(doc.error()));
    return;
  }
  if (auto prob = check_strings(*doc)) {
    reply(problem_of(*prob));
    return;
  }
  if (auto prob = JsonSchema::builtin("schema/action.schema.json").validate(*doc)) {
    reply(problem_of(*prob));
    return;
  }
  TimeMs now = clock_();
  auto areq = std::make_shared<AppendRequest>();
  Event& e = areq->event;
  e.event_id = json::get_string(*doc, "event_id");
  if (e.event_id.empty()) e.event_id = make_uuid_v7(now);
  e.complaint_id = p.get("id");
  e.origin = cfg_.node.id;
  e.at = now;
  e.kind = *parse_event_kind(json::get_string(*doc, "kind"));
  if (e.kind == EventKind::resolved && !who->has("admin")) {
    reply(problem(errc::forbidden, "only an admin resolves a conflict", "/kind"));
    return;
  }
  // Who acted is the credential: an `actor` in the body is ignored (it is kept in the schema
  // for clients written against the first API).
  e.actor = who->actor();
  if (auto it = doc->FindMember("payload"); it != doc->MemberEnd())
    e.payload = json::stringify(it->value);
  e.hops = {cfg_.node.id};
  areq->now = now;
  areq->may_lower_privacy = who->has("admin");
  areq->access = who->access();
  areq->credential = who->id;
  std::string kind(to_string(e.kind));
  auto outcome = std::make_shared<WriteOutcome>();
  writer_.submit(
      [areq, outcome](Ledger& l) { *outcome = l.act(*areq); },
      [this, outcome, kind, reply = std::move(reply)](errc err) {
        if (err != errc::ok) {
          metrics_.add("simpul_events_total",
                       Metrics::labels({{"kind", kind}, {"result", "failed"}}));
          reply(storage_problem(err));
          return;
        }
        if (outcome->error != errc::ok) {
          metrics_.add("simpul_events_total",
                       Metrics::labels({{"kind", kind}, {"result", "refused"}}));
          reply(problem(outcome->error, outcome->detail, outcome->pointer));
          return;
        }
        metrics_.add("simpul_events_total",
                     Metrics::labels({{"kind", kind},
                                      {"result", outcome->stored() ? "accepted" : "duplicate"}}));
        const int status = outcome->stored() ? 201 : 200;
        log::info("event.accepted",
                  {{"complaint_id", outcome->complaint_id}, {"kind", kind}, {"status", status}});
        reply(json_response(status, answer_json(*outcome)));
      });
}

}  // namespace simpul::http
