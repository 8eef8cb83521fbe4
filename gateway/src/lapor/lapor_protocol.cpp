#include "lapor/lapor_protocol.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"

namespace simpul::lapor {

std::string text_of(const rapidjson::Value& obj, const std::string& key) {
  if (!obj.IsObject()) return "";
  auto it = obj.FindMember(key.c_str());
  if (it == obj.MemberEnd()) return "";
  const auto& v = it->value;
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  if (v.IsNumber()) {
    // A fractional or huge id (1e300): converting it to an integer would be undefined.
    double d = v.GetDouble();
    if (!std::isfinite(d) || d < -9.2e18 || d > 9.2e18) return "";
    return std::to_string(static_cast<long long>(d));
  }
  return "";
}

std::string stable_event_id(TimeMs t, const std::string& key) {
  std::string h = crypto::sha256_hex(key);
  char time_hex[13];
  std::snprintf(time_hex, sizeof time_hex, "%012llx",
                static_cast<unsigned long long>(t) & 0xffffffffffffULL);
  std::string id =
      std::string(time_hex, 8) + "-" + std::string(time_hex + 8, 4) + "-7" + h.substr(0, 3) + "-";
  id += "89ab"[std::stoi(h.substr(3, 1), nullptr, 16) & 3];
  id += h.substr(4, 3) + "-" + h.substr(7, 12);
  return id;
}

TimeMs hub_time(const std::string& text, TimeMs fallback) {
  if (text.empty()) return fallback;
  auto t = parse_timestamp(text, Zone{});  // naive hub times are WIB (Jakarta)
  return t ? *t : fallback;
}

Reply read_reply(const Settings& L, const std::string& endpoint, int http_status,
                 std::string_view body) {
  Reply h;
  auto doc = json::parse(body);
  if (doc && doc->IsObject()) h.doc = std::move(*doc);
  const std::string status = text_of(h.doc, L.field("status"));
  h.answered = !status.empty() && http_status < 500 && http_status != 429 && http_status != 401 &&
               http_status != 403;
  h.ok = h.answered && status == std::to_string(L.success.at(endpoint));
  h.token_expired = http_status == 401 || status == std::to_string(L.expired_status);
  if (!h.ok) {
    std::string hub_error = text_of(h.doc, L.field("error"));
    h.error = "http " + std::to_string(http_status) +
              (hub_error.empty() ? "" : ": " + hub_error.substr(0, 200));
    if (http_status == 200 && status.empty()) h.error = "unreadable answer";
  }
  return h;
}

std::string token_request(const Settings& L, const std::string& secret) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key(L.field("client_id").c_str());
  w.String(L.client_id.c_str());
  w.Key(L.field("client_secret").c_str());
  w.String(secret.c_str());
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::optional<std::pair<std::string, std::int64_t>> read_token(const Settings& L, const Reply& r) {
  std::string issued = text_of(r.doc, L.field("token"));
  if (!r.ok || issued.empty()) return std::nullopt;
  std::string ttl = text_of(r.doc, L.field("expires_in"));
  return std::make_pair(std::move(issued),
                        ttl.empty() ? 3600LL : std::max(60LL, std::atoll(ttl.c_str())));
}

std::optional<Notifications> read_notifications(const Settings& L, const Reply& page,
                                                std::int64_t cursor) {
  const std::string data = L.field("data");
  if (!page.ok || !page.doc.IsObject()) return std::nullopt;
  auto it = page.doc.FindMember(data.c_str());
  if (it == page.doc.MemberEnd() || !it->value.IsArray()) return std::nullopt;
  Notifications n;
  n.last = cursor;
  for (const auto& item : it->value.GetArray()) {
    const std::string id = text_of(item, L.field("notification_id"));
    char* end = nullptr;
    errno = 0;
    long long v = id.empty() ? 0 : std::strtoll(id.c_str(), &end, 10);
    if (errno == 0) n.last = std::max<std::int64_t>(n.last, v);
    std::string nid = text_of(item, L.field("notification_nid"));
    if (!nid.empty() && std::find(n.nids.begin(), n.nids.end(), nid) == n.nids.end())
      n.nids.push_back(nid);
  }
  return n;
}

std::vector<Event> hub_events(const Settings& L, const std::string& hub_node,
                              const std::string& nid, const LocalState& local, const Reply& detail,
                              const Reply* claims, TimeMs now, std::vector<std::string>* unmapped) {
  std::vector<Event> out;
  auto F = [&](const char* role) -> const std::string& { return L.field(role); };
  const std::string data = F("data");
  const rapidjson::Value* report = &detail.doc;
  if (detail.doc.IsObject() && detail.doc.HasMember(data.c_str()) &&
      detail.doc[data.c_str()].IsObject())
    report = &detail.doc[data.c_str()];
  const std::string code = text_of(*report, F("report_status"));
  const std::string hub_agency = text_of(*report, F("report_agency"));
  std::string agency = hub_agency;
  if (!hub_agency.empty()) {
    if (auto code = L.agency_code(hub_agency))
      agency = *code;
    else if (unmapped)
      unmapped->push_back(hub_agency);
  }
  const std::string activity = text_of(*report, F("report_activity"));
  auto target_it = L.status_codes.find(code);
  if (target_it == L.status_codes.end()) {
    log::warn("lapor.unknown_status", {{"nid", nid}, {"status", code}});
    return out;
  }
  const Status target = target_it->second;
  TimeMs at = std::max(now, local.updated_at + 1);
  Status s = local.status;
  const TimeMs activity_at = hub_time(activity, now);
  // `refused_too`: a decision of the hub's that this node's state machine refuses (a close of a
  // report never answered here, an answer after a close) is kept all the same: the fold holds it
  // as a conflict, which an admin sees and resolves, instead of a log line nobody reads. Its id is
  // stable, so reading the same hub state again adds nothing.
  auto emit = [&](EventKind kind, std::string payload, const std::string& key, TimeMs id_time,
                  Actor actor, bool refused_too = false) {
    if (transition_error(s, kind) && !refused_too) return false;
    const bool allowed = !transition_error(s, kind);
    Event e;
    e.event_id = stable_event_id(id_time, "lapor:" + nid + ":" + key);
    e.complaint_id = local.complaint_id;
    e.origin = hub_node;
    e.at = at++;
    e.actor = std::move(actor);
    e.kind = kind;
    e.payload = std::move(payload);
    e.hops = {hub_node};
    out.push_back(std::move(e));
    if (!allowed)
      log::warn("lapor.decision_conflict",
                {{"nid", nid}, {"kind", to_string(kind)}, {"status", to_string(s)}});
    return allowed;
  };
  const Actor hub_admin{"admin", "", "SP4N-LAPOR!"};
  const std::string step = code + ":" + activity;
  auto payload_of = [](std::initializer_list<std::pair<const char*, std::string>> members) {
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    for (const auto& [k, v] : members) {
      w.Key(k);
      w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  };
  const std::string hub_status = payload_of({{"hub_status", code}});
  const bool moved_on = target != Status::received && target != Status::pending;
  if (target == Status::pending) {
    if (emit(EventKind::held, hub_status, "held:" + step, activity_at, hub_admin))
      s = Status::pending;
  }
  if (moved_on && (s == Status::received || s == Status::pending) && agency.empty()) {
    if (emit(EventKind::verified, hub_status, "verified:" + step, activity_at, hub_admin))
      s = Status::verified;
  }
  if (moved_on && !agency.empty() &&
      (s == Status::received || s == Status::pending || s == Status::verified)) {
    if (emit(EventKind::disposed,
             payload_of({{"agency", agency}, {"hub_agency", hub_agency}, {"hub_status", code}}),
             "disposed:" + hub_agency, activity_at, hub_admin))
      s = Status::disposed;
  }
  // Follow-ups from the hub's side (ours come back with our source name: skipped).
  if (claims && claims->ok && claims->doc.IsObject() && claims->doc.HasMember(data.c_str()) &&
      claims->doc[data.c_str()].IsArray()) {
    for (const auto& c : claims->doc[data.c_str()].GetArray()) {
      if (text_of(c, F("claim_source")) == L.source) continue;
      std::string text = text_of(c, F("claim_text"));
      std::string date = text_of(c, F("claim_date"));
      if (text.empty()) continue;
      Actor by{"agency", agency, text_of(c, F("claim_by"))};
      if (emit(EventKind::responded, payload_of({{"text", text}}),
               "claim:" + date + ":" + crypto::sha256_hex(text), hub_time(date, now), by, true))
        s = Status::responded;
    }
  }
  if (target == Status::in_progress && s == Status::disposed)
    if (emit(EventKind::progressed, hub_status, "progressed:" + step, activity_at, hub_admin))
      s = Status::in_progress;
  if (target == Status::closed && s != Status::closed)
    if (emit(EventKind::closed, hub_status, "closed:" + step, activity_at, hub_admin, true))
      s = Status::closed;
  return out;
}

const rapidjson::Value& report_of(const Settings& L, const Reply& detail) {
  const std::string& data = L.field("data");
  if (detail.doc.IsObject() && detail.doc.HasMember(data.c_str()) &&
      detail.doc[data.c_str()].IsObject())
    return detail.doc[data.c_str()];
  return detail.doc;
}

HubReport read_report(const Settings& L, const rapidjson::Value& report) {
  HubReport r;
  r.nid = text_of(report, L.field("nid"));
  r.ext_id = text_of(report, L.field("report_ext_id"));
  r.status_code = text_of(report, L.field("report_status"));
  r.agency = text_of(report, L.field("report_agency"));
  r.topic = text_of(report, L.field("report_topic"));
  r.subject = text_of(report, L.field("subject"));
  r.content = text_of(report, L.field("content"));
  r.date = text_of(report, L.field("report_date"));
  r.activity = text_of(report, L.field("report_activity"));
  r.rahasia = text_of(report, L.field("report_type_read")) == "2";
  return r;
}

std::optional<HubList> read_hub_list(const Settings& L, const Reply& page) {
  const std::string& data = L.field("data");
  if (!page.ok || !page.doc.IsObject()) return std::nullopt;
  auto it = page.doc.FindMember(data.c_str());
  if (it == page.doc.MemberEnd() || !it->value.IsArray()) return std::nullopt;
  HubList out;
  for (const auto& item : it->value.GetArray()) {
    HubReport r = read_report(L, item);
    if (r.nid.empty() || r.nid.find_first_not_of("0123456789") != std::string::npos) continue;
    out.reports.push_back(std::move(r));
  }
  auto more = page.doc.FindMember("more");
  out.more = more != page.doc.MemberEnd() && more->value.IsBool() && more->value.GetBool();
  return out;
}

std::optional<Event> hub_created_event(const Settings& L, const std::string& hub_node,
                                       const std::string& region, const HubReport& report,
                                       TimeMs now) {
  if (report.nid.empty()) return std::nullopt;
  const TimeMs at = hub_time(report.date, now);
  Complaint rec;
  rec.id = stable_event_id(at, "lapor:" + report.nid + ":complaint");
  rec.refs = {{"lapor", report.nid}};
  rec.title = report.subject.empty() ? "Laporan SP4N-LAPOR! " + report.nid : report.subject;
  rec.body = report.content.empty() ? rec.title : report.content;
  rec.category.topic_id = report.topic == "0" ? "" : report.topic;
  if (auto it = L.topics.find(report.topic); it != L.topics.end()) rec.category.local = it->second;
  rec.region = region;
  rec.received_at = at;
  rec.channel = Channel::lapor;
  rec.privacy = report.rahasia ? Privacy::rahasia : Privacy::anonim;
  Event e;
  e.event_id = stable_event_id(at, "lapor:" + report.nid + ":created");
  e.complaint_id = rec.id;
  e.origin = hub_node;
  e.at = std::min(at, now);
  e.actor = Actor{"admin", "", "SP4N-LAPOR!"};
  e.kind = EventKind::created;
  e.payload = json::complaint_to_json(rec);
  e.hops = {hub_node};
  return e;
}

int status_rank(Status s) {
  switch (s) {
    case Status::received:
    case Status::pending:
      return 0;
    case Status::verified:
      return 1;
    case Status::disposed:
      return 2;
    case Status::in_progress:
      return 3;
    case Status::responded:
      return 4;
    case Status::closed:
    case Status::archived:
    case Status::cancelled:
      return 5;
  }
  return 0;
}

}  // namespace simpul::lapor
