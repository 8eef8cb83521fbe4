#include "core/json.hpp"

#include <rapidjson/error/en.h>
#include <utf8.h>

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <vector>

#include "core/redact.hpp"
#include "simpul/time.hpp"

namespace simpul::json {
namespace {

// Nesting deeper than this is refused before the document is built. Everything that walks a
// document afterwards (RapidJSON's writer and schema validator, our normalizers) recurses, and a
// 200 KB body of 100,000 '[' took the node down with SIGSEGV in a webhook's serialization.
constexpr int kMaxDepth = 64;

// The byte offset where nesting first exceeds kMaxDepth, counted on the raw text (strings
// skipped), so nothing recursive ever sees such a document.
std::optional<std::size_t> too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::nullopt;
}

// A number beyond +-2^63 has no use in Simpul, and RapidJSON's schema validator converts numbers
// to 64-bit integers to hash them (enum, uniqueItems): out of range that conversion is undefined
// behaviour (found by fuzzing fed_answers with {"kind": 114111111111111111112}).
bool huge(const rapidjson::Value& v) {
  if (!v.IsDouble()) return false;
  double d = v.GetDouble();
  return !(d > -9.2e18 && d < 9.2e18);
}

bool valid_utf8(const rapidjson::Value& v) {
  const char* p = v.GetString();
  return utf8::is_valid(p, p + v.GetStringLength());
}

bool has_nul(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength()).find('\0') != std::string_view::npos;
}

// What makes a parsed document mean different things to different readers, checked on one
// iterative walk: a string or member name that is not UTF-8, a NUL inside a string or member name
// (C strings end there: a title became "Jalan"), a member name twice in one object (which one wins
// depends on the reader), a number out of range. The pointer names where, built only once something
// is found; member names are never put in the detail.
std::optional<Problem> ambiguity(const rapidjson::Value& root) {
  struct Frame {
    const rapidjson::Value* v;
    std::size_t parent;         // index into `frames` of the container, npos for the root
    std::string_view token;     // member name, or
    rapidjson::SizeType index;  // array index when `token` is not a member's
    bool member;
  };
  std::vector<Frame> frames{{&root, std::string_view::npos, {}, 0, false}};
  auto pointer_of = [&](std::size_t i) {
    std::vector<std::string> tokens;
    for (; frames[i].parent != std::string_view::npos; i = frames[i].parent)
      tokens.push_back(frames[i].member ? pointer_token(frames[i].token)
                                        : std::to_string(frames[i].index));
    std::string out;
    for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) out += "/" + *it;
    return out;
  };
  std::vector<std::size_t> todo{0};
  while (!todo.empty()) {
    std::size_t i = todo.back();
    todo.pop_back();
    const rapidjson::Value& v = *frames[i].v;
    if (huge(v))
      return make_problem(errc::invalid_json, pointer_of(i), "number",
                          "a number beyond +-9.2e18 (64-bit range) is refused");
    if (v.IsString() && !valid_utf8(v))
      return make_problem(errc::invalid_utf8, pointer_of(i), "utf-8",
                          "the string is not valid UTF-8");
    if (v.IsString() && has_nul(v))
      return make_problem(errc::invalid_value, pointer_of(i), "nul",
                          "the string contains a NUL character");
    if (v.IsArray()) {
      for (rapidjson::SizeType k = 0; k < v.Size(); ++k) {
        frames.push_back({&v[k], i, {}, k, false});
        todo.push_back(frames.size() - 1);
      }
    } else if (v.IsObject()) {
      // Small objects (nearly all) compare names pairwise; a large one uses a set, so a body of
      // 100,000 members costs linear time, not 10^10 comparisons.
      const bool large = v.MemberCount() > 16;
      std::unordered_set<std::string_view> seen;
      if (large) seen.reserve(v.MemberCount());
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        std::string_view name(m->name.GetString(), m->name.GetStringLength());
        if (!valid_utf8(m->name))
          return make_problem(errc::invalid_utf8, pointer_of(i), "utf-8",
                              "a member name is not valid UTF-8");
        if (has_nul(m->name))
          return make_problem(errc::invalid_value, pointer_of(i), "nul",
                              "a member name contains a NUL character");
        bool repeated = false;
        if (large) {
          repeated = !seen.insert(name).second;
        } else {
          for (auto n = v.MemberBegin(); n != m && !repeated; ++n)
            repeated = std::string_view(n->name.GetString(), n->name.GetStringLength()) == name;
        }
        if (repeated)
          return make_problem(errc::schema_violation, pointer_of(i), "duplicate-key",
                              "a member name appears twice in the same object");
        frames.push_back({&m->value, i, name, 0, true});
        todo.push_back(frames.size() - 1);
      }
    }
  }
  return std::nullopt;
}

template <unsigned Flags>
std::optional<Problem> parse_into_with(rapidjson::Document& doc, std::string_view text) {
  if (auto at = too_deep(text))
    return make_problem(errc::invalid_json, "", "depth",
                        "nesting deeper than " + std::to_string(kMaxDepth) + " levels at byte " +
                            std::to_string(*at));
  doc.Parse<Flags>(text.data(), text.size());
  if (doc.HasParseError()) {
    // Where a person finds it in an editor: line and column (1-based), and the byte.
    const std::size_t at = std::min(doc.GetErrorOffset(), text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < at; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
        ++column;  // one per character, not per byte of UTF-8
      }
    }
    return make_problem(errc::invalid_json, "", "json",
                        "malformed JSON at line " + std::to_string(line) + ", column " +
                            std::to_string(column) + " (byte " + std::to_string(at) +
                            "): " + rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return ambiguity(doc);
}

template <unsigned Flags>
Result<rapidjson::Document> parse_with(std::string_view text) {
  rapidjson::Document doc;
  if (auto p = parse_into_with<Flags>(doc, text)) return *p;
  return doc;
}

void key(Writer& w, const char* k) { w.Key(k); }
void str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}
void kv(Writer& w, const char* k, std::string_view v) {
  key(w, k);
  str(w, v);
}

Problem shape(const std::string& pointer, const std::string& detail) {
  return make_problem(errc::schema_violation, pointer, "type", detail);
}

}  // namespace

// Iterative parsing (the recursive parser overflows the stack on a million '['), and no bytes
// after the value: `{valid}{"title":"second"}` is refused, not read as
// its first half while the raw payload keeps the second.
Result<rapidjson::Document> parse(std::string_view text) {
  return parse_with<rapidjson::kParseIterativeFlag>(text);
}

std::optional<Problem> parse_into(rapidjson::Document& doc, std::string_view text) {
  return parse_into_with<rapidjson::kParseIterativeFlag>(doc, text);
}

Result<rapidjson::Document> parse_relaxed(std::string_view text) {
  return parse_with<rapidjson::kParseIterativeFlag | rapidjson::kParseCommentsFlag |
                    rapidjson::kParseTrailingCommasFlag>(text);
}

std::string stringify(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string pointer_token(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string get_string(const rapidjson::Value& obj, const char* k, std::string fallback) {
  if (!obj.IsObject()) return fallback;
  auto it = obj.FindMember(k);
  if (it == obj.MemberEnd() || !it->value.IsString()) return fallback;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<std::string> get_optional_string(const rapidjson::Value& obj, const char* k) {
  if (!obj.IsObject()) return std::nullopt;
  auto it = obj.FindMember(k);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

void write_complaint(Writer& w, const Complaint& c, bool include_reporter) {
  w.StartObject();
  kv(w, "id", c.id);
  key(w, "refs");
  w.StartArray();
  for (const auto& r : c.refs) {
    w.StartObject();
    kv(w, "system", r.system);
    kv(w, "id", r.id);
    w.EndObject();
  }
  w.EndArray();
  kv(w, "type", to_string(c.type));
  kv(w, "title", c.title);
  kv(w, "body", c.body);
  if (!c.category.local.empty() || !c.category.topic_id.empty()) {
    key(w, "category");
    w.StartObject();
    if (!c.category.local.empty()) kv(w, "local", c.category.local);
    if (!c.category.topic_id.empty()) kv(w, "topic_id", c.category.topic_id);
    w.EndObject();
  }
  if (!c.agency.empty()) kv(w, "agency", c.agency);
  if (!c.region.empty()) kv(w, "region", c.region);
  if (!c.location.text.empty() || c.location.lat || c.location.lon) {
    key(w, "location");
    w.StartObject();
    if (!c.location.text.empty()) kv(w, "text", c.location.text);
    if (c.location.lat) {
      key(w, "lat");
      w.Double(*c.location.lat);
    }
    if (c.location.lon) {
      key(w, "lon");
      w.Double(*c.location.lon);
    }
    w.EndObject();
  }
  if (c.incident_at) kv(w, "incident_at", format_utc(*c.incident_at));
  kv(w, "received_at", format_utc(c.received_at));
  kv(w, "channel", to_string(c.channel));
  if (include_reporter && !c.reporter.empty()) {
    key(w, "reporter");
    w.StartObject();
    if (c.reporter.name) kv(w, "name", *c.reporter.name);
    if (c.reporter.phone) kv(w, "phone", *c.reporter.phone);
    if (c.reporter.email) kv(w, "email", *c.reporter.email);
    if (c.reporter.nik) kv(w, "nik", *c.reporter.nik);
    w.EndObject();
  }
  kv(w, "privacy", to_string(c.privacy));
  key(w, "attachments");
  w.StartArray();
  for (const auto& a : c.attachments) {
    w.StartObject();
    kv(w, "uri", a.uri);
    if (!a.name.empty()) kv(w, "name", a.name);
    if (!a.mime.empty()) kv(w, "mime", a.mime);
    if (a.size) {
      key(w, "size");
      w.Int64(*a.size);
    }
    if (!a.sha256.empty()) kv(w, "sha256", a.sha256);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

std::string complaint_to_json(const Complaint& c, bool include_reporter) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  write_complaint(w, c, include_reporter);
  return std::string(buf.GetString(), buf.GetSize());
}

Result<Complaint> complaint_from_value(const rapidjson::Value& v) {
  if (!v.IsObject()) return shape("", "a complaint must be a JSON object");
  Complaint c;
  c.id = get_string(v, "id");
  if (auto it = v.FindMember("refs"); it != v.MemberEnd() && it->value.IsArray()) {
    for (const auto& r : it->value.GetArray())
      c.refs.push_back({get_string(r, "system"), get_string(r, "id")});
  }
  auto type = parse_complaint_type(get_string(v, "type"));
  if (!type) return shape("/type", "unknown complaint type");
  c.type = *type;
  c.title = get_string(v, "title");
  c.body = get_string(v, "body");
  if (auto it = v.FindMember("category"); it != v.MemberEnd() && it->value.IsObject()) {
    c.category.local = get_string(it->value, "local");
    c.category.topic_id = get_string(it->value, "topic_id");
  }
  c.agency = get_string(v, "agency");
  c.region = get_string(v, "region");
  if (auto it = v.FindMember("location"); it != v.MemberEnd() && it->value.IsObject()) {
    const auto& l = it->value;
    c.location.text = get_string(l, "text");
    if (l.HasMember("lat") && l["lat"].IsNumber()) c.location.lat = l["lat"].GetDouble();
    if (l.HasMember("lon") && l["lon"].IsNumber()) c.location.lon = l["lon"].GetDouble();
  }
  Zone utc{0, "UTC"};
  if (auto s = get_optional_string(v, "incident_at")) {
    auto t = parse_timestamp(*s, utc);
    if (!t) return shape("/incident_at", "not a timestamp");
    c.incident_at = *t;
  }
  if (auto s = get_optional_string(v, "received_at")) {
    auto t = parse_timestamp(*s, utc);
    if (!t) return shape("/received_at", "not a timestamp");
    c.received_at = *t;
  }
  auto channel = parse_channel(get_string(v, "channel", "web"));
  if (!channel) return shape("/channel", "unknown channel");
  c.channel = *channel;
  if (auto it = v.FindMember("reporter"); it != v.MemberEnd() && it->value.IsObject()) {
    c.reporter.name = get_optional_string(it->value, "name");
    c.reporter.phone = get_optional_string(it->value, "phone");
    c.reporter.email = get_optional_string(it->value, "email");
    c.reporter.nik = get_optional_string(it->value, "nik");
  }
  auto privacy = parse_privacy(get_string(v, "privacy", "anonim"));
  if (!privacy) return shape("/privacy", "unknown privacy flag");
  c.privacy = *privacy;
  if (auto it = v.FindMember("attachments"); it != v.MemberEnd() && it->value.IsArray()) {
    for (const auto& a : it->value.GetArray()) {
      Attachment att;
      att.uri = get_string(a, "uri");
      att.name = get_string(a, "name");
      att.mime = get_string(a, "mime");
      if (a.HasMember("size") && a["size"].IsInt64()) att.size = a["size"].GetInt64();
      att.sha256 = get_string(a, "sha256");
      c.attachments.push_back(std::move(att));
    }
  }
  return c;
}

std::string actor_to_json(const Actor& a) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  kv(w, "role", a.role);
  if (!a.agency.empty()) kv(w, "agency", a.agency);
  if (!a.name.empty()) kv(w, "name", a.name);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

Actor actor_from_json(std::string_view text) {
  Actor a;
  auto doc = parse(text);
  if (!doc) return a;
  a.role = get_string(*doc, "role", "system");
  a.agency = get_string(*doc, "agency");
  a.name = get_string(*doc, "name");
  return a;
}

std::string hops_to_json(const std::vector<std::string>& hops) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartArray();
  for (const auto& h : hops) str(w, h);
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize());
}

std::vector<std::string> hops_from_json(std::string_view text) {
  std::vector<std::string> out;
  auto doc = parse(text);
  if (!doc || !doc->IsArray()) return out;
  for (const auto& h : doc->GetArray())
    if (h.IsString()) out.emplace_back(h.GetString(), h.GetStringLength());
  return out;
}

void write_event(Writer& w, const Event& e, bool include_pii) {
  w.StartObject();
  kv(w, "event_id", e.event_id);
  kv(w, "complaint_id", e.complaint_id);
  kv(w, "origin", e.origin);
  kv(w, "at", format_utc(e.at));
  key(w, "actor");
  w.StartObject();
  kv(w, "role", e.actor.role);
  if (!e.actor.agency.empty()) kv(w, "agency", e.actor.agency);
  if (!e.actor.name.empty() && (include_pii || !actor_identifies_reporter(e)))
    kv(w, "name", e.actor.name);
  w.EndObject();
  kv(w, "kind", to_string(e.kind));
  key(w, "payload");
  auto doc = parse(e.payload);
  if (doc && doc->IsObject()) {
    if (!include_pii) strip_reporter(*doc, e.kind);
    doc->Accept(w);
  } else {
    w.StartObject();
    w.EndObject();
  }
  key(w, "hops");
  w.StartArray();
  for (const auto& h : e.hops) str(w, h);
  w.EndArray();
  if (e.proof) {
    key(w, "sig");
    w.StartObject();
    kv(w, "batch", e.proof->batch);
    key(w, "leaf");
    w.Int(e.proof->leaf);
    w.EndObject();
  }
  w.EndObject();
}

std::string event_to_json(const Event& e, bool include_pii) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  write_event(w, e, include_pii);
  return std::string(buf.GetString(), buf.GetSize());
}

Result<Event> event_from_value(const rapidjson::Value& v) {
  if (!v.IsObject()) return shape("", "an event must be a JSON object");
  Event e;
  e.event_id = get_string(v, "event_id");
  e.complaint_id = get_string(v, "complaint_id");
  e.origin = get_string(v, "origin");
  auto at = parse_timestamp(get_string(v, "at"), Zone{0, "UTC"});
  if (!at) return shape("/at", "not a timestamp");
  e.at = *at;
  if (auto it = v.FindMember("actor"); it != v.MemberEnd() && it->value.IsObject()) {
    e.actor.role = get_string(it->value, "role", "system");
    e.actor.agency = get_string(it->value, "agency");
    e.actor.name = get_string(it->value, "name");
  }
  auto kind = parse_event_kind(get_string(v, "kind"));
  if (!kind) return shape("/kind", "unknown event kind");
  e.kind = *kind;
  if (auto it = v.FindMember("payload"); it != v.MemberEnd() && it->value.IsObject())
    e.payload = stringify(it->value);
  if (auto it = v.FindMember("hops"); it != v.MemberEnd() && it->value.IsArray()) {
    for (const auto& h : it->value.GetArray())
      if (h.IsString()) e.hops.emplace_back(h.GetString(), h.GetStringLength());
  }
  if (auto it = v.FindMember("sig"); it != v.MemberEnd()) {
    const auto& s = it->value;
    if (!s.IsObject() || !s.HasMember("batch") || !s["batch"].IsString() || !s.HasMember("leaf") ||
        !s["leaf"].IsInt() || s["leaf"].GetInt() < 0)
      return shape("/sig", "sig must be {\"batch\": <manifest id>, \"leaf\": <index>}");
    e.proof = EventProof{s["batch"].GetString(), s["leaf"].GetInt()};
  }
  return e;
}

std::string state_to_json(const ComplaintState& s, bool include_pii,
                          const std::vector<Event>* events, std::string_view sync) {
  // The record first, then the derived members appended to the same object.
  rapidjson::Document doc;
  doc.Parse(complaint_to_json(s.record, include_pii).c_str());
  auto& a = doc.GetAllocator();
  doc.AddMember("status", rapidjson::Value(std::string(to_string(s.status)).c_str(), a), a);
  if (s.rerouting) doc.AddMember("rerouting", true, a);
  rapidjson::Value dl(rapidjson::kObjectType);
  auto put_time = [&](const char* k, const std::optional<TimeMs>& t) {
    if (t) dl.AddMember(rapidjson::StringRef(k), rapidjson::Value(format_utc(*t).c_str(), a), a);
  };
  put_time("verify_due", s.deadlines.verify_due);
  put_time("followup_due", s.deadlines.followup_due);
  put_time("autoclose_due", s.deadlines.autoclose_due);
  doc.AddMember("deadlines", dl, a);
  rapidjson::Value clocks(rapidjson::kArrayType);
  for (const auto& c : s.clocks) {
    rapidjson::Value o(rapidjson::kObjectType);
    auto put = [&](const char* k, const std::optional<TimeMs>& t) {
      if (t) o.AddMember(rapidjson::StringRef(k), rapidjson::Value(format_utc(*t).c_str(), a), a);
    };
    o.AddMember("name", rapidjson::Value(c.name.c_str(), a), a);
    o.AddMember("owner", rapidjson::Value(c.owner.c_str(), a), a);
    o.AddMember("state", rapidjson::Value(std::string(to_string(c.state)).c_str(), a), a);
    put("started", c.started);
    put("due", c.due);
    put("warn_at", c.warn_at);
    o.AddMember("paused_ms", static_cast<std::int64_t>(c.paused_ms), a);
    o.AddMember("paused_working_days", c.paused_days, a);
    put("paused_since", c.paused_since);
    put("ended_at", c.ended_at);
    if (c.ended_at)
      o.AddMember("ended_by", rapidjson::Value(std::string(to_string(c.ended_by)).c_str(), a), a);
    put("warned_at", c.warned_at);
    put("breached_at", c.breached_at);
    o.AddMember("node", rapidjson::Value(c.origin.c_str(), a), a);
    clocks.PushBack(o, a);
  }
  doc.AddMember("clocks", clocks, a);
  if (!s.breaches.empty()) {
    rapidjson::Value b(rapidjson::kArrayType);
    for (const auto& x : s.breaches) b.PushBack(rapidjson::Value(x.c_str(), a), a);
    doc.AddMember("sla_breaches", b, a);
  }
  doc.AddMember("responses", s.responses, a);
  doc.AddMember("updated_at", rapidjson::Value(format_utc(s.updated_at).c_str(), a), a);
  if (s.closed_at)
    doc.AddMember("closed_at", rapidjson::Value(format_utc(*s.closed_at).c_str(), a), a);
  rapidjson::Value conflicts(rapidjson::kArrayType);
  for (const auto& c : s.conflicts) {
    rapidjson::Value o(rapidjson::kObjectType);
    o.AddMember("event_id", rapidjson::Value(c.event_id.c_str(), a), a);
    o.AddMember("kind", rapidjson::Value(std::string(to_string(c.kind)).c_str(), a), a);
    o.AddMember("reason", rapidjson::Value(c.reason.c_str(), a), a);
    if (c.resolved_at) {
      o.AddMember("resolved_at", rapidjson::Value(format_utc(*c.resolved_at).c_str(), a), a);
      o.AddMember("resolved_by", rapidjson::Value(c.resolved_by.c_str(), a), a);
      o.AddMember("decision", rapidjson::Value(c.decision.c_str(), a), a);
    }
    conflicts.PushBack(o, a);
  }
  doc.AddMember("conflicts", conflicts, a);
  if (!sync.empty())
    doc.AddMember(
        "sync", rapidjson::Value(sync.data(), static_cast<rapidjson::SizeType>(sync.size()), a), a);
  if (events) {
    rapidjson::Value arr(rapidjson::kArrayType);
    for (const auto& e : *events) {
      rapidjson::Document ed;
      ed.Parse(event_to_json(e, include_pii).c_str());
      arr.PushBack(rapidjson::Value(ed, a), a);
    }
    doc.AddMember("events", arr, a);
  }
  return stringify(doc);
}

}  // namespace simpul::json
