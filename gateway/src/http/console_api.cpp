// The /v1 routes the dashboard reads besides complaints and reports: the node at a glance
// (GET /v1/overview), the open work per agency (GET /v1/workload), the agency reference
// (GET /v1/reference/{name}) and the dead letters with their retry and drop. The same tokens,
// scopes and agency rules as every /v1 route: an agency-bound token counts only what it sees
// and is not shown the node's links; dead letters are an admin's.

#include <memory>

#include "core/json.hpp"
#include "core/log.hpp"
#include "http/api.hpp"

namespace simpul::http {
namespace {

Response json_ok(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

void key_string(json::Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<unsigned>(value.size()));
}

void key_int(json::Writer& w, const char* key, std::int64_t value) {
  w.Key(key);
  w.Int64(value);
}

// Seconds since `t`, or null when there is none.
void key_age(json::Writer& w, const char* key, std::optional<TimeMs> t, TimeMs now) {
  w.Key(key);
  if (t)
    w.Int64((now - *t) / 1000);
  else
    w.Null();
}

}  // namespace

void Api::add_console_routes(Router& r) {
  r.add("GET", "/v1/overview", [this](const Request& req, const Params&, Reply reply) {
    overview(req, std::move(reply));
  });
  r.add("GET", "/v1/workload", [this](const Request& req, const Params&, Reply reply) {
    workload(req, std::move(reply));
  });
  r.add("GET", "/v1/reference/{name}", [this](const Request& req, const Params& p, Reply reply) {
    reference(req, p, std::move(reply));
  });
  r.add("GET", "/v1/dead-letters", [this](const Request& req, const Params&, Reply reply) {
    dead_letters(req, std::move(reply));
  });
  r.add("POST", "/v1/dead-letters/{id}/retry",
        [this](const Request& req, const Params& p, Reply reply) {
          settle_dead_letter(req, p, true, std::move(reply));
        });
  r.add("POST", "/v1/dead-letters/{id}/drop",
        [this](const Request& req, const Params& p, Reply reply) {
          settle_dead_letter(req, p, false, std::move(reply));
        });
}

TimeMs Api::day_start(TimeMs t) const {
  const int zone = cfg_.node.zone.offset_minutes;
  return local_day(t, zone) * 86'400'000 - static_cast<TimeMs>(zone) * 60'000;
}

std::string node_json(const Config& cfg) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  key_string(w, "id", cfg.node.id);
  key_string(w, "name", cfg.node.name);
  key_string(w, "tier", cfg.node.tier);
  key_string(w, "region", cfg.node.region);
  key_string(w, "zone", cfg.node.zone.name);
  key_int(w, "zone_offset_minutes", cfg.node.zone.offset_minutes);
  w.Key("full_text");
  w.Bool(cfg.store.full_text);
  w.Key("upstream");
  w.Bool(cfg.upstream.enabled);
  key_int(w, "children", static_cast<std::int64_t>(cfg.children.size()));
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

void Api::overview(const Request& req, Reply reply) {
  auto who = auth_.check(req, "read");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  const TimeMs now = clock_();
  const TimeMs today = day_start(now);
  const Access access = who->access();
  // The node's links and dead letters are the operators' view, not an agency officer's.
  const bool operator_view = !access.bound();
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  try {
    auto t = reader_.tally(today, now, access);
    w.StartObject();
    w.Key("node");
    const std::string node = node_json(cfg_);
    w.RawValue(node.c_str(), node.size(), rapidjson::kObjectType);
    key_string(w, "now", format_utc(now));
    w.Key("today");
    w.StartObject();
    key_string(w, "since", format_utc(today));
    key_int(w, "received", t.created);
    key_int(w, "disposed", t.disposed + t.forwarded);
    key_int(w, "responded", t.responded);
    key_int(w, "closed", t.closed);
    w.EndObject();
    w.Key("overdue");
    w.StartObject();
    key_int(w, "verify", t.overdue_verify);
    key_int(w, "followup", t.overdue_followup);
    key_int(w, "autoclose", t.overdue_autoclose);
    w.EndObject();
    if (operator_view) {
      std::vector<std::pair<std::string, std::pair<std::string, std::string>>> checks;
      for (const auto& provider : checks_)
        for (auto& c : provider()) checks.push_back(std::move(c));
      auto check_of = [&](const std::string& name) {
        for (const auto& c : checks)
          if (c.first == name) return c.second;
        return std::pair<std::string, std::string>{"unknown", ""};
      };
      w.Key("connectors");
      w.StartArray();
      for (const auto& ci : cfg_.connectors) {
        auto [state, error] = check_of("connector:" + ci.id);
        auto b = reader_.backlog(Destination::connector(ci.id).name());
        w.StartObject();
        key_string(w, "id", ci.id);
        key_string(w, "type", ci.type);
        key_string(w, "health", state);
        key_string(w, "last_error", error.empty() ? b.last_error : error);
        key_int(w, "outbox_pending", b.pending);
        key_int(w, "outbox_retrying", b.retrying);
        key_int(w, "dead", b.dead);
        w.EndObject();
      }
      w.EndArray();
      w.Key("loops");
      w.StartArray();
      for (const auto& [name, result] : checks) {
        if (name.rfind("loop:", 0) != 0) continue;
        w.StartObject();
        key_string(w, "name", name.substr(5));
        key_string(w, "state", result.first);
        key_string(w, "last_error", result.second);
        w.EndObject();
      }
      w.EndArray();
      w.Key("upstream");
      if (cfg_.upstream.enabled) {
        auto b = reader_.backlog(Destination::upstream().name());
        BreakerState link = live_.upstream ? live_.upstream() : BreakerState{};
        w.StartObject();
        key_string(w, "node", cfg_.upstream.node);
        key_string(w, "dialect", cfg_.upstream.dialect);
        w.Key("breaker_open");
        w.Bool(link.breaker_open);
        key_int(w, "consecutive_failures", link.consecutive_failures);
        key_int(w, "pending", b.pending);
        key_int(w, "retrying", b.retrying);
        key_age(w, "lag_s", b.oldest_pending, now);
        key_string(w, "last_error", link.last_error.empty() ? b.last_error : link.last_error);
        key_int(w, "dead", b.dead);
        w.EndObject();
      } else {
        w.Null();
      }
      w.Key("children");
      w.StartArray();
      for (const auto& child : cfg_.children) {
        auto b = reader_.feed_backlog(child.id);
        TimeMs last = live_.child_last_poll ? live_.child_last_poll(child.id) : 0;
        w.StartObject();
        key_string(w, "id", child.id);
        key_int(w, "unfetched", b.unfetched);
        key_age(w, "lag_s", b.oldest_unfetched, now);
        key_age(w, "last_poll_s", last ? std::optional<TimeMs>(last) : std::nullopt, now);
        key_int(w, "acked", b.acked);
        w.Key("acked_at");
        if (b.acked_at)
          w.String(format_utc(*b.acked_at).c_str());
        else
          w.Null();
        w.EndObject();
      }
      w.EndArray();
      key_int(w, "dead_letters", reader_.dead_letter_count());
    }
    w.EndObject();
  } catch (const StoreError& e) {
    reply(storage_problem(e.code()));
    return;
  }
  reply(json_ok(std::string(buf.GetString(), buf.GetSize())));
}

void Api::workload(const Request& req, Reply reply) {
  auto who = auth_.check(req, "read");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  const TimeMs now = clock_();
  const TimeMs tomorrow = day_start(now) + 86'400'000;
  std::vector<EventLog::Workload> rows;
  try {
    rows = reader_.workload(now, tomorrow, who->access());
  } catch (const StoreError& e) {
    reply(storage_problem(e.code()));
    return;
  }
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  key_string(w, "now", format_utc(now));
  key_string(w, "until", format_utc(tomorrow));
  w.Key("items");
  w.StartArray();
  for (const auto& r : rows) {
    w.StartObject();
    w.Key("agency");
    if (r.agency.empty())
      w.Null();
    else
      w.String(r.agency.c_str(), static_cast<unsigned>(r.agency.size()));
    key_string(w, "clock", r.clock);
    key_int(w, "overdue", r.overdue);
    key_int(w, "due_today", r.due_soon);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  reply(json_ok(std::string(buf.GetString(), buf.GetSize())));
}

void Api::reference(const Request& req, const Params& p, Reply reply) {
  auto who = auth_.check(req, "read");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  for (const auto& [name, text] : cfg_.reference)
    if (name == p.get("name")) {
      reply(json_ok(text));
      return;
    }
  reply(problem(errc::not_found, "this node has no such reference list (config reference)"));
}

void Api::dead_letters(const Request& req, Reply reply) {
  auto who = auth_.check(req, "admin");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  std::vector<Outbox::DeadLetter> rows;
  try {
    rows = reader_.dead_letters(500);
  } catch (const StoreError& e) {
    reply(storage_problem(e.code()));
    return;
  }
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("items");
  w.StartArray();
  for (const auto& d : rows) {
    w.StartObject();
    key_int(w, "id", d.id);
    key_string(w, "destination", d.destination);
    key_string(w, "complaint_id", d.complaint_id);
    key_string(w, "event_id", d.event_id);
    key_string(w, "error", d.error);
    key_string(w, "created_at", format_utc(d.created_at));
    w.Key("inbound");
    w.Bool(d.event_id.empty());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  reply(json_ok(std::string(buf.GetString(), buf.GetSize())));
}

void Api::settle_dead_letter(const Request& req, const Params& p, bool retry, Reply reply) {
  auto who = auth_.check(req, "admin");
  if (!who) {
    reply(problem_of(who.error()));
    return;
  }
  std::int64_t id = 0;
  if (!parse_decimal(p.get("id"), id)) {
    reply(problem(errc::not_found, "no such dead letter"));
    return;
  }
  using Retry = Outbox::DeadLetterRetry;
  auto result = std::make_shared<Retry>(Retry::unknown);
  auto dropped = std::make_shared<bool>(false);
  const TimeMs now = clock_();
  const std::string actor = who->name.empty() ? who->id : who->name;
  writer_.submit(
      [=](Ledger& l) {
        Store& s = l.store();
        if (retry)
          *result = s.retry_dead_letter(id, now);
        else
          *dropped = s.drop_dead_letter(id);
        if (*result == Retry::requeued || *dropped)
          s.audit(now, actor, retry ? "dlq.retry" : "dlq.drop", std::to_string(id), "{}");
      },
      [=, reply = std::move(reply)](errc e) {
        if (e != errc::ok) {
          reply(storage_problem(e));
          return;
        }
        if (retry && *result == Retry::inbound) {
          reply(problem(errc::transition_not_allowed,
                        "this dead letter is a record an app sent that could not be mapped: there "
                        "is nothing to requeue; fix the mapping, then drop it"));
          return;
        }
        if (!(retry ? *result == Retry::requeued : *dropped)) {
          reply(problem(errc::not_found, "no such dead letter"));
          return;
        }
        log::info(retry ? "dlq.retry" : "dlq.drop", {{"id", std::to_string(id)}, {"by", actor}});
        reply(json_ok(std::string("{\"id\":") + std::to_string(id) + ",\"result\":\"" +
                      (retry ? "requeued" : "dropped") + "\"}"));
      });
}

}  // namespace simpul::http
