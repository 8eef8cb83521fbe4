#include "intake/mapping.hpp"

#include <rapidjson/pointer.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "core/json.hpp"
#include "core/normalize.hpp"
#include "core/schema.hpp"
#include "simpul/fold.hpp"

namespace simpul {
namespace {

enum class FieldKind { text, number, attachments };

struct FieldSpec {
  const char* name;
  std::vector<const char*> path;  // members in the canonical document
  FieldKind kind;
};

const std::vector<FieldSpec>& field_specs() {
  static const std::vector<FieldSpec> specs = {
      {"title", {"title"}, FieldKind::text},
      {"body", {"body"}, FieldKind::text},
      {"type", {"type"}, FieldKind::text},
      {"agency", {"agency"}, FieldKind::text},
      {"region", {"region"}, FieldKind::text},
      {"channel", {"channel"}, FieldKind::text},
      {"privacy", {"privacy"}, FieldKind::text},
      {"received_at", {"received_at"}, FieldKind::text},
      {"incident_at", {"incident_at"}, FieldKind::text},
      {"category.local", {"category", "local"}, FieldKind::text},
      {"category.topic_id", {"category", "topic_id"}, FieldKind::text},
      {"location.text", {"location", "text"}, FieldKind::text},
      {"location.lat", {"location", "lat"}, FieldKind::number},
      {"location.lon", {"location", "lon"}, FieldKind::number},
      {"reporter.name", {"reporter", "name"}, FieldKind::text},
      {"reporter.phone", {"reporter", "phone"}, FieldKind::text},
      {"reporter.email", {"reporter", "email"}, FieldKind::text},
      {"reporter.nik", {"reporter", "nik"}, FieldKind::text},
      {"attachments", {"attachments"}, FieldKind::attachments},
  };
  return specs;
}

const FieldSpec* find_spec(const std::string& name) {
  for (const auto& s : field_specs())
    if (name == s.name) return &s;
  return nullptr;
}

bool valid_pointer(const std::string& p) {
  if (p.empty() || p[0] != '/') return false;
  rapidjson::Pointer ptr(p.c_str(), p.size());
  return ptr.IsValid();
}

// The value at `pointer` as text: strings as they are, numbers and booleans written out;
// absent, null, objects and empty strings are "nothing".
std::optional<std::string> text_at(const rapidjson::Value& source, const std::string& pointer) {
  const rapidjson::Value* v = rapidjson::Pointer(pointer.c_str(), pointer.size()).Get(source);
  if (!v || v->IsNull()) return std::nullopt;
  if (v->IsString()) {
    if (v->GetStringLength() == 0) return std::nullopt;
    return std::string(v->GetString(), v->GetStringLength());
  }
  if (v->IsBool()) return std::string(v->GetBool() ? "true" : "false");
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsUint64()) return std::to_string(v->GetUint64());
  if (v->IsNumber()) return json::stringify(*v);
  return std::nullopt;
}

Problem bad(const std::string& pointer, const std::string& rule, const std::string& detail) {
  return make_problem(errc::invalid_value, pointer, rule, detail);
}

// The status a new complaint reaches after `kind` (fold's effect, payload aside).
Status after(Status from, EventKind kind) {
  switch (kind) {
    case EventKind::verified:
      return Status::verified;
    case EventKind::held:
      return Status::pending;
    case EventKind::disposed:
    case EventKind::forwarded:
      return Status::disposed;
    case EventKind::not_authority:
      return Status::verified;
    case EventKind::progressed:
      return Status::in_progress;
    case EventKind::responded:
      return Status::responded;
    case EventKind::closed:
      return Status::closed;
    case EventKind::reopened:
      return Status::in_progress;
    case EventKind::archived:
      return Status::archived;
    case EventKind::cancelled:
      return Status::cancelled;
    default:
      return from;
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, "", "cannot read the mapping file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Mapping Mapping::load(const std::string& path) { return parse(read_text_file(path), path); }

Mapping Mapping::parse(std::string_view text, const std::string& file) {
  auto doc = json::parse_relaxed(text);
  if (!doc) throw ConfigError(file, "", doc.error().detail);
  if (auto p = JsonSchema::builtin("schema/mapping.schema.json").validate(*doc))
    throw ConfigError(file, p->pointer, p->detail);
  const auto& d = *doc;
  Mapping m;
  m.file_ = file;
  m.version_ = d["version"].GetInt();
  m.system_ = d["system"].GetString();
  m.id_pointer_ = d["id"].GetString();
  if (!valid_pointer(m.id_pointer_))
    throw ConfigError(file, "/id", "not a JSON Pointer (\"/field\")");

  if (d.HasMember("lookups"))
    for (const auto& t : d["lookups"].GetObject()) {
      auto& table = m.lookups_[t.name.GetString()];
      for (const auto& e : t.value.GetObject()) table[e.name.GetString()] = e.value.GetString();
    }

  auto read_rule = [&](const rapidjson::Value& v, const std::string& at) {
    Rule r;
    if (v.HasMember("from")) {
      std::string p = v["from"].GetString();
      if (!valid_pointer(p))
        throw ConfigError(file, at + "/from", "not a JSON Pointer (\"/field\")");
      r.pieces.push_back({true, p});
    } else if (v.HasMember("concat")) {
      const auto& parts = v["concat"];
      for (rapidjson::SizeType i = 0; i < parts.Size(); ++i) {
        const auto& part = parts[i];
        if (part.HasMember("from")) {
          std::string p = part["from"].GetString();
          if (!valid_pointer(p))
            throw ConfigError(file, at + "/concat/" + std::to_string(i) + "/from",
                              "not a JSON Pointer (\"/field\")");
          r.pieces.push_back({true, p});
        } else {
          r.pieces.push_back({false, part["text"].GetString()});
        }
      }
    } else {
      r.pieces.push_back({false, v["value"].GetString()});
    }
    if (v.HasMember("transform")) {
      const auto& steps = v["transform"];
      for (rapidjson::SizeType i = 0; i < steps.Size(); ++i) {
        const auto& s = steps[i];
        std::string here = at + "/transform/" + std::to_string(i);
        Transform t;
        if (s.IsString()) {
          t.op = s.GetString();
        } else if (s.HasMember("date")) {
          t.op = "date";
          t.format = s["date"]["format"].GetString();
          auto zone = parse_zone(json::get_string(s["date"], "zone", "UTC"));
          if (!zone) throw ConfigError(file, here + "/date/zone", "unknown time zone");
          t.zone_minutes = zone->offset_minutes;
          if (!valid_time_format(t.format))
            throw ConfigError(file, here + "/date/format", "only %Y %m %d %H %M %S are understood");
        } else if (s.HasMember("lookup")) {
          t.op = "lookup";
          t.table = s["lookup"].GetString();
          if (!m.lookups_.count(t.table))
            throw ConfigError(file, here + "/lookup",
                              "no lookup table \"" + t.table + "\" under /lookups");
        } else {
          t.op = "map";
          for (const auto& e : s["map"].GetObject())
            t.map[e.name.GetString()] = e.value.GetString();
        }
        r.transforms.push_back(std::move(t));
      }
    }
    return r;
  };

  for (const auto& f : d["fields"].GetObject()) {
    std::string name = f.name.GetString();
    std::string at = "/fields/" + json::pointer_token(name);
    if (!find_spec(name))
      throw ConfigError(file, at,
                        "\"" + name + "\" is not a canonical field (see docs/connectors.md)");
    m.fields_.emplace_back(name, read_rule(f.value, at));
  }
  if (d.HasMember("defaults"))
    for (const auto& f : d["defaults"].GetObject()) {
      std::string name = f.name.GetString();
      if (!find_spec(name))
        throw ConfigError(file, "/defaults/" + json::pointer_token(name),
                          "\"" + name + "\" is not a canonical field");
      m.defaults_[name] = f.value.GetString();
    }

  if (d.HasMember("status")) {
    const auto& st = d["status"];
    m.status_pointer_ = st["from"].GetString();
    if (!valid_pointer(m.status_pointer_))
      throw ConfigError(file, "/status/from", "not a JSON Pointer (\"/field\")");
    if (st.HasMember("answer")) m.answer_ = read_rule(st["answer"], "/status/answer");
    if (st.HasMember("at")) m.at_ = read_rule(st["at"], "/status/at");
    for (const auto& v : st["values"].GetObject()) {
      std::string raw = v.name.GetString();
      std::string at = "/status/values/" + json::pointer_token(raw);
      std::vector<EventKind> kinds;
      Status s = Status::received;
      const auto& events = v.value["events"];
      for (rapidjson::SizeType i = 0; i < events.Size(); ++i) {
        auto kind = parse_event_kind(events[i].GetString());
        std::string here = at + "/events/" + std::to_string(i);
        if (!kind || *kind == EventKind::created || *kind == EventKind::amended ||
            *kind == EventKind::linked || *kind == EventKind::sla_breached ||
            *kind == EventKind::sla_warning || *kind == EventKind::resolved ||
            *kind == EventKind::citizen_replied)
          throw ConfigError(
              file, here,
              "not a status-changing event kind (verified, held, disposed, forwarded, "
              "not_authority, progressed, responded, closed, reopened, archived, cancelled)");
        if (auto why = transition_error(s, *kind))
          throw ConfigError(file, here, "the state machine refuses this step: " + *why);
        s = after(s, *kind);
        kinds.push_back(*kind);
      }
      m.status_values_[raw] = std::move(kinds);
    }
    for (rapidjson::SizeType i = 0; i < st["source_values"].Size(); ++i) {
      std::string raw = st["source_values"][i].GetString();
      if (!m.status_values_.count(raw))
        throw ConfigError(
            file, "/status/source_values/" + std::to_string(i),
            "the app can report status \"" + raw + "\" but /status/values has no mapping for it");
    }
  }
  if (d.HasMember("outbound"))
    for (const auto& o : d["outbound"]["status"].GetObject()) {
      std::string canonical = o.name.GetString();
      if (!parse_status(canonical))
        throw ConfigError(file, "/outbound/status/" + json::pointer_token(canonical),
                          "not a canonical status");
      m.outbound_[canonical] = o.value.GetString();
    }
  return m;
}

Result<std::optional<std::string>> Mapping::eval(const Rule& rule, const rapidjson::Value& source,
                                                 const std::string& field) const {
  std::string out;
  bool any = false;
  std::string where;
  for (const auto& piece : rule.pieces) {
    if (!piece.pointer) {
      out += piece.text;
      continue;
    }
    if (where.empty()) where = piece.text;
    if (auto v = text_at(source, piece.text)) {
      out += *v;
      any = true;
    }
  }
  const bool literal_only = std::none_of(rule.pieces.begin(), rule.pieces.end(),
                                         [](const Piece& p) { return p.pointer; });
  if (!any && !literal_only) return std::optional<std::string>();
  for (const auto& t : rule.transforms) {
    if (t.op == "trim") {
      out = trim(out);
    } else if (t.op == "upper" || t.op == "lower") {
      for (char& c : out)
        c = static_cast<char>(t.op == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                              : std::tolower(static_cast<unsigned char>(c)));
    } else if (t.op == "digits") {
      std::erase_if(out, [](char c) { return !std::isdigit(static_cast<unsigned char>(c)); });
    } else if (t.op == "phone") {
      auto p = normalize_phone(out);
      if (!p) return bad(where, "phone", field + ": not a phone number");
      out = *p;
    } else if (t.op == "date") {
      auto when = parse_formatted_time(trim(out), t.format, t.zone_minutes);
      if (!when) return bad(where, "date", field + ": not a date in the format " + t.format);
      out = format_utc(*when);
    } else if (t.op == "lookup") {
      const auto& table = lookups_.at(t.table);
      auto it = table.find(out);
      if (it == table.end())
        return bad(where, "lookup", field + ": value not in lookup table " + t.table);
      out = it->second;
    } else if (t.op == "map") {
      auto it = t.map.find(out);
      if (it == t.map.end()) return bad(where, "map", field + ": value has no mapping");
      out = it->second;
    }
  }
  if (out.empty()) return std::optional<std::string>();
  return std::optional<std::string>(std::move(out));
}

std::vector<PlannedEvent> Mapping::plan(const std::vector<EventKind>& kinds, std::size_t from,
                                        const rapidjson::Value& source,
                                        const std::string& agency) const {
  std::vector<PlannedEvent> out;
  std::optional<TimeMs> at;
  if (at_) {
    auto v = eval(*at_, source, "status.at");
    if (v && *v) {
      auto t = parse_timestamp(**v, Zone{});
      if (t) at = *t;
    }
  }
  std::string answer;
  if (answer_) {
    auto v = eval(*answer_, source, "status.answer");
    if (v && *v) answer = **v;
  }
  for (std::size_t i = from; i < kinds.size(); ++i) {
    // A status that says "with an OPD" for a record that names none (or one the lookup does not
    // know) is no disposition: the complaint comes in undisposed, for the admin to dispose. (A
    // disposition to a made-up agency would be refused by a node with an agency reference, and
    // the citizen's complaint with it.)
    if ((kinds[i] == EventKind::disposed || kinds[i] == EventKind::forwarded) && agency.empty())
      continue;
    PlannedEvent e;
    e.kind = kinds[i];
    e.at = at;
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    if (e.kind == EventKind::disposed || e.kind == EventKind::forwarded) {
      w.Key("agency");
      w.String(agency.c_str());
    }
    if (e.kind == EventKind::responded) {
      w.Key("text");
      w.String(answer.empty() ? "(the source app recorded this answer without its text)"
                              : answer.c_str());
    }
    w.Key("source");
    w.String(system_.c_str());
    w.EndObject();
    e.payload.assign(buf.GetString(), buf.GetSize());
    out.push_back(std::move(e));
  }
  return out;
}

std::string Mapping::id_of(const rapidjson::Value& source) const {
  if (!source.IsObject()) return "";
  return text_at(source, id_pointer_).value_or("");
}

Result<MappedRecord> Mapping::apply(const rapidjson::Value& source) const {
  if (!source.IsObject()) return bad("", "type", "the source record is not a JSON object");
  MappedRecord out;
  auto id = text_at(source, id_pointer_);
  if (!id) return bad(id_pointer_, "required", "the record has no id at " + id_pointer_);
  out.source_id = *id;

  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  auto set = [&](const FieldSpec& spec, const std::string& value) -> std::optional<Problem> {
    rapidjson::Value* obj = &doc;
    for (std::size_t i = 0; i + 1 < spec.path.size(); ++i) {
      auto it = obj->FindMember(spec.path[i]);
      if (it == obj->MemberEnd()) {
        obj->AddMember(rapidjson::StringRef(spec.path[i]), rapidjson::Value(rapidjson::kObjectType),
                       a);
        it = obj->FindMember(spec.path[i]);
      }
      obj = &it->value;
    }
    const char* leaf = spec.path.back();
    obj->RemoveMember(leaf);
    if (spec.kind == FieldKind::number) {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (!end || *end) return bad("", "number", std::string(spec.name) + ": not a number");
      obj->AddMember(rapidjson::StringRef(leaf), rapidjson::Value(v), a);
    } else if (spec.kind == FieldKind::attachments) {
      // One URL, or several separated by commas, semicolons, spaces or new lines.
      rapidjson::Value list(rapidjson::kArrayType);
      std::string cur;
      auto flush = [&] {
        if (!cur.empty()) {
          rapidjson::Value item(rapidjson::kObjectType);
          item.AddMember("uri", rapidjson::Value(cur.c_str(), a), a);
          list.PushBack(item, a);
        }
        cur.clear();
      };
      for (char c : value) {
        if (c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r' || c == '\t')
          flush();
        else
          cur += c;
      }
      flush();
      obj->AddMember(rapidjson::StringRef(leaf), list, a);
    } else {
      obj->AddMember(rapidjson::StringRef(leaf), rapidjson::Value(value.c_str(), a), a);
    }
    return std::nullopt;
  };

  std::string agency;
  for (const auto& [name, rule] : fields_) {
    auto v = eval(rule, source, name);
    if (!v) return v.error();
    const FieldSpec& spec = *find_spec(name);
    std::optional<std::string> value = *v;
    if (!value) {
      auto d = defaults_.find(name);
      if (d != defaults_.end()) value = d->second;
    }
    if (!value) continue;
    if (auto p = set(spec, *value)) {
      p->pointer =
          rule.pieces.empty() || !rule.pieces.front().pointer ? "" : rule.pieces.front().text;
      return *p;
    }
    if (name == "agency") agency = *value;
  }
  for (const auto& [name, value] : defaults_) {
    const FieldSpec& spec = *find_spec(name);
    bool present = std::any_of(fields_.begin(), fields_.end(),
                               [&n = name](const auto& f) { return f.first == n; });
    if (present) continue;  // handled with its rule
    if (auto p = set(spec, value)) return *p;
    if (name == "agency") agency = value;
  }
  rapidjson::Value refs(rapidjson::kArrayType);
  rapidjson::Value ref(rapidjson::kObjectType);
  ref.AddMember("system", rapidjson::Value(system_.c_str(), a), a);
  ref.AddMember("id", rapidjson::Value(out.source_id.c_str(), a), a);
  refs.PushBack(ref, a);
  doc.AddMember("refs", refs, a);
  out.canonical = std::move(doc);  // `agency` holds what the plan below needs of it

  if (!status_pointer_.empty()) {
    if (auto raw = text_at(source, status_pointer_)) {
      auto it = status_values_.find(*raw);
      if (it == status_values_.end())
        return bad(status_pointer_, "status", "status \"" + *raw + "\" has no mapping in " + file_);
      out.raw_status = *raw;
      out.history = plan(it->second, 0, source, agency);
    }
  }
  return out;
}

std::vector<PlannedEvent> Mapping::advance(Status current, const std::string& raw_status,
                                           const rapidjson::Value& source) const {
  auto it = status_values_.find(raw_status);
  if (it == status_values_.end()) return {};
  const auto& kinds = it->second;
  // Walk the path; the step after the last point where a new complaint would be in `current`
  // is where this one resumes.
  Status s = Status::received;
  std::optional<std::size_t> resume;
  if (s == current) resume = 0;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    s = after(s, kinds[i]);
    if (s == current) resume = i + 1;
  }
  if (!resume || *resume >= kinds.size()) return {};
  std::string agency;
  for (const auto& [name, rule] : fields_)
    if (name == "agency")
      if (auto v = eval(rule, source, name); v && *v) agency = **v;
  return plan(kinds, *resume, source, agency);
}

std::vector<std::pair<std::string, std::string>> Mapping::topic_ids() const {
  const std::string field = "category.topic_id";
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, rule] : fields_) {
    if (name != field) continue;
    bool literal = !rule.pieces.empty();
    std::string text;
    for (const auto& p : rule.pieces) {
      literal = literal && !p.pointer;
      text += p.text;
    }
    const auto* last_table = static_cast<const Transform*>(nullptr);
    for (const auto& t : rule.transforms)
      if (t.op == "lookup" || t.op == "map") last_table = &t;
    if (last_table && last_table->op == "lookup") {
      auto escape = [](const std::string& key) {  // JSON Pointer: ~ -> ~0, / -> ~1
        std::string e;
        for (char c : key)
          e += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
        return e;
      };
      for (const auto& [k, v] : lookups_.at(last_table->table))
        out.emplace_back("/lookups/" + escape(last_table->table) + "/" + escape(k), v);
    } else if (last_table) {
      for (const auto& [k, v] : last_table->map) out.emplace_back("/fields/" + field, v);
    } else if (literal) {
      out.emplace_back("/fields/" + field, text);
    }
  }
  if (auto it = defaults_.find(field); it != defaults_.end())
    out.emplace_back("/defaults/" + field, it->second);
  return out;
}

std::string Mapping::outbound_status(Status s) const {
  auto it = outbound_.find(std::string(to_string(s)));
  return it == outbound_.end() ? std::string() : it->second;
}

}  // namespace simpul
