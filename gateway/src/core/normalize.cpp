#include "core/normalize.hpp"

#include <utf8.h>

#include <array>
#include <unordered_set>
#include <utility>

#include "core/json.hpp"
#include "core/schema.hpp"

namespace simpul {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Lowercase ASCII, spaces and dashes to underscores: "Permintaan Informasi" ->
// "permintaan_informasi".
std::string spelling_key(std::string_view raw) {
  std::string s = trim(raw);
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c == ' ' || c == '-' || c == '.') c = '_';
  }
  return s;
}

template <class E, std::size_t N>
std::optional<E> lookup(const std::array<std::pair<std::string_view, E>, N>& table,
                        std::string_view raw) {
  std::string key = spelling_key(raw);
  for (const auto& [k, v] : table)
    if (k == key) return v;
  return std::nullopt;
}

constexpr std::array<std::pair<std::string_view, ComplaintType>, 17> kTypeSpellings{{
    {"pengaduan", ComplaintType::pengaduan},
    {"aduan", ComplaintType::pengaduan},
    {"keluhan", ComplaintType::pengaduan},
    {"complaint", ComplaintType::pengaduan},
    {"laporan", ComplaintType::pengaduan},
    {"aspirasi", ComplaintType::aspirasi},
    {"saran", ComplaintType::aspirasi},
    {"usulan", ComplaintType::aspirasi},
    {"masukan", ComplaintType::aspirasi},
    {"aspiration", ComplaintType::aspirasi},
    {"suggestion", ComplaintType::aspirasi},
    {"permintaan_informasi", ComplaintType::permintaan_informasi},
    {"permohonan_informasi", ComplaintType::permintaan_informasi},
    {"permintaan_info", ComplaintType::permintaan_informasi},
    {"informasi", ComplaintType::permintaan_informasi},
    {"information_request", ComplaintType::permintaan_informasi},
    {"info", ComplaintType::permintaan_informasi},
}};

constexpr std::array<std::pair<std::string_view, Privacy>, 16> kPrivacySpellings{{
    {"public", Privacy::public_},
    {"publik", Privacy::public_},
    {"umum", Privacy::public_},
    {"biasa", Privacy::public_},
    {"terbuka", Privacy::public_},
    {"anonim", Privacy::anonim},
    {"anonym", Privacy::anonim},
    {"anonymous", Privacy::anonim},
    {"anonimus", Privacy::anonim},
    {"tanpa_nama", Privacy::anonim},
    {"rahasia", Privacy::rahasia},
    {"confidential", Privacy::rahasia},
    {"secret", Privacy::rahasia},
    {"private", Privacy::rahasia},
    {"pribadi", Privacy::rahasia},
    {"tertutup", Privacy::rahasia},
}};

constexpr std::array<std::pair<std::string_view, Channel>, 34> kChannelSpellings{{
    {"web", Channel::web},
    {"website", Channel::web},
    {"situs", Channel::web},
    {"app", Channel::app},
    {"aplikasi", Channel::app},
    {"mobile", Channel::app},
    {"android", Channel::app},
    {"ios", Channel::app},
    {"sms", Channel::sms},
    {"whatsapp", Channel::whatsapp},
    {"wa", Channel::whatsapp},
    {"email", Channel::email},
    {"e_mail", Channel::email},
    {"surel", Channel::email},
    {"social", Channel::social},
    {"sosmed", Channel::social},
    {"medsos", Channel::social},
    {"media_sosial", Channel::social},
    {"walk_in", Channel::walk_in},
    {"walkin", Channel::walk_in},
    {"tatap_muka", Channel::walk_in},
    {"loket", Channel::walk_in},
    {"phone", Channel::phone},
    {"telepon", Channel::phone},
    {"telp", Channel::phone},
    {"hotline", Channel::phone},
    {"call_center", Channel::phone},
    {"lapor", Channel::lapor},
    {"sp4n", Channel::lapor},
    {"import", Channel::import},
    {"migrasi", Channel::import},
    {"surat", Channel::surat},
    {"letter", Channel::surat},
    {"pos", Channel::surat},
}};

Problem at(errc code, std::string pointer, std::string rule, std::string detail) {
  return make_problem(code, std::move(pointer), std::move(rule), std::move(detail));
}

// Checks UTF-8 everywhere, trims strings and drops optional members that are empty after
// trimming (so "agency": "  " means "not given"). Keeps title/body: the schema says why empty
// is wrong there.
std::optional<Problem> clean_strings(rapidjson::Value& v, const std::string& ptr,
                                     rapidjson::Document::AllocatorType& a, int depth) {
  if (depth > 32) return at(errc::schema_violation, ptr, "depth", "nesting is too deep");
  if (v.IsString()) {
    std::string_view s(v.GetString(), v.GetStringLength());
    if (!utf8::is_valid(s.begin(), s.end()))
      return at(errc::invalid_utf8, ptr, "utf-8", "the string is not valid UTF-8");
    if (s.find('\0') != std::string_view::npos)
      return at(errc::invalid_value, ptr, "nul", "the string contains a NUL character");
    std::string t = trim(s);
    if (t.size() != s.size()) v.SetString(t.c_str(), static_cast<rapidjson::SizeType>(t.size()), a);
    return std::nullopt;
  }
  if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      if (auto p = clean_strings(v[i], ptr + "/" + std::to_string(i), a, depth + 1)) return p;
    return std::nullopt;
  }
  if (v.IsObject()) {
    // Duplicate member names make a document mean different things to different readers.
    std::unordered_set<std::string_view> names;
    for (const auto& m : v.GetObject()) {
      std::string_view name(m.name.GetString(), m.name.GetStringLength());
      if (!names.insert(name).second)
        return at(errc::schema_violation, ptr + "/" + json::pointer_token(name), "duplicate-key",
                  "a member name appears twice in the same object");
    }
    for (auto it = v.MemberBegin(); it != v.MemberEnd();) {
      std::string_view name(it->name.GetString(), it->name.GetStringLength());
      std::string child = ptr + "/" + json::pointer_token(name);
      if (!utf8::is_valid(name.begin(), name.end()))
        return at(errc::invalid_utf8, ptr, "utf-8", "a member name is not valid UTF-8");
      if (auto p = clean_strings(it->value, child, a, depth + 1)) return p;
      bool keep_empty = depth == 0 && (name == "title" || name == "body");
      if (it->value.IsString() && it->value.GetStringLength() == 0 && !keep_empty) {
        it = v.EraseMember(it);
      } else {
        ++it;
      }
    }
  }
  return std::nullopt;
}

// Rewrites a known spelling to the canonical value. An unknown one is left as it is: the
// schema's enum rule then reports it, listing the allowed values.
template <class E>
void canonical_enum(rapidjson::Document& doc, const char* key,
                    std::optional<E> (*normalize)(std::string_view)) {
  auto it = doc.FindMember(key);
  if (it == doc.MemberEnd() || !it->value.IsString()) return;  // the schema decides
  auto v = normalize({it->value.GetString(), it->value.GetStringLength()});
  if (!v) return;
  std::string canonical(to_string(*v));
  it->value.SetString(canonical.c_str(), static_cast<rapidjson::SizeType>(canonical.size()),
                      doc.GetAllocator());
}

constexpr TimeMs kEarliestComplaint = 631152000000;    // 1990-01-01T00:00:00Z
constexpr TimeMs kFutureSlackMs = 24LL * 3600 * 1000;  // a source's clock a little ahead

std::optional<Problem> canonical_time(rapidjson::Document& doc, rapidjson::Value& obj,
                                      const char* key, const std::string& pointer, const Zone& zone,
                                      TimeMs now) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  auto t = parse_timestamp({it->value.GetString(), it->value.GetStringLength()}, zone);
  if (!t) return at(errc::invalid_value, pointer, "timestamp", t.error().detail);
  // Years such as 0000 or 9999 are typing errors or clock faults, and a time in the future would
  // fold after every later action: a complaint happened between 1990 and (a day past) now.
  if (*t < kEarliestComplaint)
    return at(errc::invalid_value, pointer, "timestamp", "lies before 1990");
  if (now > 0 && *t > now + kFutureSlackMs)
    return at(errc::invalid_value, pointer, "timestamp", "lies in the future");
  std::string s = format_utc(*t);
  it->value.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), doc.GetAllocator());
  return std::nullopt;
}

}  // namespace

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::optional<Problem> check_strings(rapidjson::Document& doc) {
  return clean_strings(doc, "", doc.GetAllocator(), 0);
}

std::optional<ComplaintType> normalize_type(std::string_view raw) {
  return lookup(kTypeSpellings, raw);
}
std::optional<Privacy> normalize_privacy(std::string_view raw) {
  return lookup(kPrivacySpellings, raw);
}
std::optional<Channel> normalize_channel(std::string_view raw) {
  return lookup(kChannelSpellings, raw);
}

Result<std::string> normalize_phone(std::string_view raw) {
  std::string digits;
  bool plus = false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/') {
      continue;
    } else {
      return at(errc::invalid_value, "", "phone",
                "a phone number may hold only digits, +, spaces, dashes, dots and parentheses");
    }
  }
  std::string national;
  if (digits.rfind("62", 0) == 0) {
    national = digits.substr(2);
  } else if (plus) {
    return at(errc::invalid_value, "", "phone", "only Indonesian numbers (+62) are accepted");
  } else if (digits.rfind("0", 0) == 0) {
    national = digits.substr(1);
  } else if (digits.rfind("8", 0) == 0) {
    national = digits;  // mobile number written without its trunk prefix
  } else {
    return at(errc::invalid_value, "", "phone", "expected a number starting with 0, 62 or +62");
  }
  if (!national.empty() && national[0] == '0') national.erase(0, 1);  // "+62 (0)812..."
  if (national.size() < 7 || national.size() > 13)
    return at(errc::invalid_value, "", "phone",
              "an Indonesian number has 7 to 13 digits after +62");
  return "+62" + national;
}

std::optional<Problem> normalize_complaint_doc(rapidjson::Document& doc,
                                               const NormalizeOptions& opt) {
  if (!doc.IsObject())
    return at(errc::schema_violation, "", "type", "a complaint must be a JSON object");
  auto& a = doc.GetAllocator();
  if (auto p = clean_strings(doc, "", a, 0)) return p;

  canonical_enum<ComplaintType>(doc, "type", normalize_type);
  canonical_enum<Privacy>(doc, "privacy", normalize_privacy);
  canonical_enum<Channel>(doc, "channel", normalize_channel);
  if (!doc.HasMember("privacy")) doc.AddMember("privacy", "anonim", a);  // privacy by default
  if (!doc.HasMember("region") && !opt.default_region.empty())
    doc.AddMember("region", rapidjson::Value(opt.default_region.c_str(), a), a);

  if (auto p = canonical_time(doc, doc, "incident_at", "/incident_at", opt.zone, opt.now)) return p;
  if (auto p = canonical_time(doc, doc, "received_at", "/received_at", opt.zone, opt.now)) return p;
  if (!doc.HasMember("received_at"))
    doc.AddMember("received_at", rapidjson::Value(format_utc(opt.now).c_str(), a), a);

  if (auto it = doc.FindMember("reporter"); it != doc.MemberEnd() && it->value.IsObject()) {
    auto& r = it->value;
    if (auto ph = r.FindMember("phone"); ph != r.MemberEnd() && ph->value.IsString()) {
      auto n = normalize_phone({ph->value.GetString(), ph->value.GetStringLength()});
      if (!n) return at(errc::invalid_value, "/reporter/phone", "phone", n.error().detail);
      ph->value.SetString(n->c_str(), static_cast<rapidjson::SizeType>(n->size()), a);
    }
    if (auto nik = r.FindMember("nik"); nik != r.MemberEnd() && nik->value.IsString()) {
      std::string s;
      for (char c : std::string_view(nik->value.GetString(), nik->value.GetStringLength()))
        if (c != ' ' && c != '.' && c != '-') s += c;
      nik->value.SetString(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
    }
    if (r.ObjectEmpty()) doc.RemoveMember("reporter");
  }
  return std::nullopt;
}

Result<Complaint> read_complaint(std::string_view body, const NormalizeOptions& opt) {
  auto doc = json::parse(body);
  if (!doc) return doc.error();
  return read_complaint(*doc, opt);
}

Result<Complaint> read_complaint(rapidjson::Document& doc, const NormalizeOptions& opt) {
  if (doc.IsObject()) {
    for (const char* derived : {"status", "deadlines", "conflicts", "events"}) {
      if (doc.HasMember(derived))
        return at(errc::schema_violation, std::string("/") + derived, "readOnly",
                  "derived from the complaint's events; post an event instead");
    }
  }
  if (auto p = normalize_complaint_doc(doc, opt)) return *p;
  if (auto p = JsonSchema::builtin("schema/complaint.schema.json").validate(doc)) return *p;
  return json::complaint_from_value(doc);
}

}  // namespace simpul
