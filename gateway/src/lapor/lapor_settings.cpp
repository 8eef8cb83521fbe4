#include "lapor/lapor_settings.hpp"

#include <cctype>
#include <set>

#include "core/json.hpp"

namespace simpul::lapor {

Settings default_settings() {
  Settings l;
  l.endpoints = {{"token", "/api/lapor/token"},
                 {"create", "/api/lapor/stream"},
                 {"detail", "/api/lapor/stream"},
                 {"lookup", "/api/lapor/lookup"},
                 {"claims", "/api/lapor/claims"},
                 {"claim", "/api/lapor/claim"},
                 {"notifications", "/api/lapor/notification"},
                 {"topics", "/api/services/f01/gettopics"},
                 {"list", "/api/lapor/streams"}};
  l.fields = {// token request and answer
              {"client_id", "client_id"},
              {"client_secret", "client_secret"},
              {"token", "KeyToken"},
              {"expires_in", "expires_in"},
              // every answer
              {"status", "status"},
              {"error", "error"},
              {"data", "data"},
              // report create (multipart)
              {"subject", "subject"},
              {"content", "content"},
              {"topic", "topik_nid"},
              {"report_type", "report_type"},
              {"is_anonim", "is_anonim"},
              {"source", "source"},
              {"ext_id", "ext_id"},
              {"location", "location"},
              {"reporter_name", "reporter_name"},
              {"reporter_phone", "reporter_phone"},
              {"reporter_email", "reporter_email"},
              {"photo", "photo"},
              // create and lookup answers, detail and claims requests
              {"nid", "nid"},
              // report detail
              {"report_status", "status"},
              {"report_agency", "agency"},
              {"report_activity", "last_activity"},
              {"report_date", "tanggal"},
              {"report_topic", "topic_nid"},
              {"report_ext_id", "ext_id"},
              {"report_type_read", "report_type"},
              // the list of this client's reports (reconciliation): paged by nid
              {"list_from", "from"},
              {"list_to", "to"},
              {"list_after", "after"},
              {"list_limit", "limit"},
              {"list_changed_since", "changed_since"},
              // follow-ups
              {"claim_text", "claim_text"},
              {"claim_date", "tanggal"},
              {"claim_by", "LevelName"},
              {"claim_source", "source"},
              // notifications
              {"since", "since"},
              {"notification_id", "id"},
              {"notification_nid", "stream_nid"},
              {"notification_group", "group_notification"}};
  l.success = {{"token", 1}, {"create", 0},        {"detail", 1}, {"lookup", 1}, {"claims", 1},
               {"claim", 1}, {"notifications", 1}, {"topics", 1}, {"list", 1}};
  l.status_codes = {{"0", Status::received},    {"2", Status::pending},     {"1", Status::verified},
                    {"5", Status::in_progress}, {"7", Status::in_progress}, {"9", Status::closed}};
  return l;
}

namespace {

int get_int(const rapidjson::Value& obj, const char* key, int fallback) {
  auto it = obj.FindMember(key);
  return it != obj.MemberEnd() && it->value.IsInt() ? it->value.GetInt() : fallback;
}

// Overrides from `upstream.lapor` (names already checked by the schema).
void read_overrides(const rapidjson::Value& l, Settings& out, const std::string& file) {
  out.client_id = json::get_string(l, "client_id");
  out.source = json::get_string(l, "source", out.source);
  out.poll_interval_ms = get_int(l, "poll_interval_ms", out.poll_interval_ms);
  out.sweep_interval_s = get_int(l, "sweep_interval_s", out.sweep_interval_s);
  out.sweep_batch = get_int(l, "sweep_batch", out.sweep_batch);
  out.hot_batch = get_int(l, "hot_batch", out.hot_batch);
  if (l.HasMember("activity_poll")) out.activity_poll = l["activity_poll"].GetBool();
  out.hot_window_s = get_int(l, "hot_window_s", out.hot_window_s);
  out.topics_refresh_s = get_int(l, "topics_refresh_s", out.topics_refresh_s);
  out.max_attachment_bytes = get_int(l, "max_attachment_bytes", out.max_attachment_bytes);
  out.default_topic = json::get_string(l, "default_topic", out.default_topic);
  out.expired_status = get_int(l, "expired_status", out.expired_status);
  out.list_page = get_int(l, "list_page", out.list_page);
  out.reconcile_requests_per_minute =
      get_int(l, "reconcile_requests_per_minute", out.reconcile_requests_per_minute);
  auto strings = [&](const char* member, std::map<std::string, std::string>& into) {
    if (!l.HasMember(member)) return;
    for (const auto& m : l[member].GetObject()) {
      std::string k = m.name.GetString();
      if (!into.count(k))
        throw ConfigError(file, std::string("/upstream/lapor/") + member + "/" + k,
                          "unknown name (docs/lapor.md lists them)");
      into[k] = m.value.GetString();
    }
  };
  strings("endpoints", out.endpoints);
  strings("fields", out.fields);
  if (l.HasMember("success")) {
    for (const auto& m : l["success"].GetObject()) {
      std::string k = m.name.GetString();
      if (!out.success.count(k))
        throw ConfigError(file, "/upstream/lapor/success/" + k,
                          "unknown endpoint (docs/lapor.md lists them)");
      out.success[k] = m.value.GetInt();
    }
  }
  if (l.HasMember("status_codes")) {
    out.status_codes.clear();  // the operator's table replaces the default one whole
    for (const auto& m : l["status_codes"].GetObject())
      out.status_codes[m.name.GetString()] = *parse_status(m.value.GetString());
  }
  if (l.HasMember("agencies")) {
    for (const auto& m : l["agencies"].GetObject()) {
      const std::string name = m.name.GetString(), code = m.value.GetString();
      const std::string key = agency_key(name);
      if (key.empty())
        throw ConfigError(file, "/upstream/lapor/agencies/" + name, "an agency name is needed");
      auto [it, fresh] = out.agencies.emplace(key, code);
      if (!fresh && it->second != code)
        throw ConfigError(file, "/upstream/lapor/agencies/" + name,
                          "the same name (as compared: \"" + key + "\") maps to " + it->second +
                              " in another entry");
    }
  }
  if (l.HasMember("topics")) {
    for (const auto& m : l["topics"].GetObject()) {
      const std::string id = m.name.GetString();
      if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
        throw ConfigError(file, "/upstream/lapor/topics/" + id,
                          "a hub topic id is a number (as gettopics lists them)");
      out.topics[id] = m.value.GetString();
    }
  }
}

}  // namespace

std::string agency_key(std::string_view name) {
  std::string out;
  bool gap = false;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c >= 0x80) {
      if (gap && !out.empty()) out += ' ';
      gap = false;
      out += static_cast<char>(std::tolower(c));
    } else {
      gap = true;
    }
  }
  return out;
}

std::optional<std::string> Settings::agency_code(const std::string& hub_name) const {
  auto it = agencies.find(agency_key(hub_name));
  if (it == agencies.end()) return std::nullopt;
  return it->second;
}

Settings read_settings(const Config& cfg) {
  if (cfg.upstream.dialect_section.empty())
    throw ConfigError(cfg.file, "/upstream/lapor",
                      "dialect lapor needs a lapor block (at least client_id)");
  auto doc = json::parse(cfg.upstream.dialect_section);
  if (!doc || !doc->IsObject())
    throw ConfigError(cfg.file, "/upstream/lapor", "the lapor block must be an object");
  Settings s = default_settings();
  read_overrides(*doc, s, cfg.file);
  // Every code the table gives must be an agency of this region's reference, when it has one.
  for (const auto& [name, text] : cfg.reference) {
    if (name != "agencies") continue;
    std::set<std::string> known;
    if (auto ref = json::parse(text); ref && ref->IsArray())
      for (const auto& a : ref->GetArray()) known.insert(json::get_string(a, "id"));
    for (const auto& [key, code] : s.agencies)
      if (!known.count(code))
        throw ConfigError(
            cfg.file, "/upstream/lapor/agencies",
            "\"" + key + "\" maps to " + code + ", which is not in reference.agencies");
  }
  return s;
}

}  // namespace simpul::lapor
