#include "core/normalize.hpp"

#include <doctest/doctest.h>

#include "core/json.hpp"

using namespace simpul;

namespace {
NormalizeOptions opts() { return {Zone{7 * 60, "WIB"}, "21.71", 1'796'000'000'000}; }
std::string with(const std::string& fields) {
  return R"({"type":"pengaduan","title":"Judul","body":"Isi","channel":"app")" + fields + "}";
}
// The base record with one member's value replaced.
std::string replacing(const std::string& key, const std::string& value) {
  std::string s = R"({"type":"pengaduan","title":"Judul","body":"Isi","channel":"app"})";
  auto k = s.find("\"" + key + "\":");
  auto v = k + key.size() + 3;
  auto end = s.find_first_of(",}", v);
  return s.replace(v, end - v, value);
}
}  // namespace

TEST_CASE("phone numbers become +62 form") {
  CHECK(*normalize_phone("0812-7000-1234") == "+6281270001234");
  CHECK(*normalize_phone("62 812 7000 1234") == "+6281270001234");
  CHECK(*normalize_phone("+62 (0)812.7000.1234") == "+6281270001234");
  CHECK(*normalize_phone("812 7000 1234") == "+6281270001234");
  CHECK(*normalize_phone("(021) 555-1234") == "+62215551234");
  CHECK_FALSE(normalize_phone("12345").has_value());
  CHECK_FALSE(normalize_phone("+1 415 555 0100").has_value());
  CHECK_FALSE(normalize_phone("0812-7000-12345678901").has_value());
  CHECK_FALSE(normalize_phone("0812 abc").has_value());
}

TEST_CASE("type - privacy and channel accept common Indonesian and English spellings") {
  CHECK(normalize_type("Pengaduan") == ComplaintType::pengaduan);
  CHECK(normalize_type(" keluhan ") == ComplaintType::pengaduan);
  CHECK(normalize_type("Permintaan Informasi") == ComplaintType::permintaan_informasi);
  CHECK(normalize_type("permintaan-informasi") == ComplaintType::permintaan_informasi);
  CHECK(normalize_type("saran") == ComplaintType::aspirasi);
  CHECK_FALSE(normalize_type("pujian"));
  CHECK(normalize_privacy("Publik") == Privacy::public_);
  CHECK(normalize_privacy("anonymous") == Privacy::anonim);
  CHECK(normalize_privacy("RAHASIA") == Privacy::rahasia);
  CHECK(normalize_channel("WA") == Channel::whatsapp);
  CHECK(normalize_channel("walk-in") == Channel::walk_in);
  CHECK(normalize_channel("Telepon") == Channel::phone);
}

TEST_CASE("read_complaint normalizes a whole record") {
  auto c = read_complaint(
      std::string(
          R"({"type":" Keluhan ","title":"  Jalan rusak  ","body":"Isi","channel":"app","privacy":"publik",
      "received_at":"2026-11-20 08:15","incident_at":"2026-11-19 07:00 WITA",
      "reporter":{"phone":"0812-7000-1234","nik":"2171 0101 0190 0001","name":" "}})"),
      opts());
  if (!c) FAIL(c.error());
  CHECK(c->type == ComplaintType::pengaduan);
  CHECK(c->title == "Jalan rusak");
  CHECK(c->privacy == Privacy::public_);
  CHECK(c->region == "21.71");
  CHECK(format_utc(c->received_at) == "2026-11-20T01:15:00.000Z");
  CHECK(format_utc(*c->incident_at) == "2026-11-18T23:00:00.000Z");
  CHECK(*c->reporter.phone == "+6281270001234");
  CHECK(*c->reporter.nik == "2171010101900001");
  CHECK_FALSE(c->reporter.name);  // blank is "not given"
}

TEST_CASE("privacy defaults to anonim - received_at defaults to now") {
  auto c = read_complaint(with(""), opts());
  REQUIRE(c.has_value());
  CHECK(c->privacy == Privacy::anonim);
  CHECK(c->received_at == 1'796'000'000'000);
}

TEST_CASE("bad input is rejected with the pointer and the rule") {
  struct Case {
    std::string body;
    errc code;
    std::string pointer;
    std::string rule;
  };
  const Case cases[] = {
      {"{not json", errc::invalid_json, "", "json"},
      {"[1,2]", errc::schema_violation, "", "type"},
      {R"({"type":"pengaduan","body":"Isi","channel":"app"})", errc::schema_violation, "/title",
       "required"},
      {replacing("type", R"("pujian")"), errc::schema_violation, "/type", "enum"},
      {replacing("title", "42"), errc::schema_violation, "/title", "type"},
      {replacing("title", R"("   ")"), errc::schema_violation, "/title", "minLength"},
      {with(R"(,"colour":"red")"), errc::schema_violation, "/colour", "additionalProperties"},
      {with(std::string(R"(,"reporter":{"name":"x)") + "\xff\xfe" + R"(y"})"), errc::invalid_utf8,
       "/reporter/name", "utf-8"},
      {with(R"(,"reporter":{"phone":"12345"})"), errc::invalid_value, "/reporter/phone", "phone"},
      {with(R"(,"reporter":{"nik":"0171010101900001"})"), errc::schema_violation, "/reporter/nik",
       "pattern"},
      {with(R"(,"received_at":"kemarin")"), errc::invalid_value, "/received_at", "timestamp"},
      {with(R"(,"status":"closed")"), errc::schema_violation, "/status", "readOnly"},
      {with(R"(,"location":{"lat":123})"), errc::schema_violation, "/location/lat", "maximum"},
      {with(R"(,"refs":[{"system":"a","id":"1"},{"system":"a","id":"1"}])"), errc::schema_violation,
       "/refs/1", "uniqueItems"},
      {with(R"(,"type":"aspirasi")"), errc::schema_violation, "", "duplicate-key"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = read_complaint(c.body, opts());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == c.code);
    CHECK(r.error().pointer == c.pointer);
    CHECK(r.error().rule == c.rule);
    CHECK_FALSE(r.error().detail.empty());
  }
}

TEST_CASE("problem details never echo personal data") {
  auto r = read_complaint(with(R"(,"reporter":{"phone":"CANARY-081270001234"})"), opts());
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().detail.find("CANARY") == std::string::npos);
}

// Found by `make fuzz` (fed_answers): RapidJSON's schema validator hashes enum values by
// converting them to 64-bit integers, undefined for 1.1e20. Such numbers are refused at parse.
TEST_CASE("numbers beyond the 64-bit range are refused at parse - with their pointer") {
  auto bad = json::parse(R"({"events":[{"kind":{"x":114111111111111111112}}]})");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().pointer == "/events/0/kind/x");
  CHECK(bad.error().code == errc::invalid_json);
  auto neg = json::parse("[1, -1e300]");
  REQUIRE_FALSE(neg.has_value());
  CHECK(neg.error().pointer == "/1");
  auto c = read_complaint(R"({"type":1e20,"title":"t","body":"b","channel":"app"})", opts());
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().pointer == "/type");
  // Large numbers inside the range still parse.
  CHECK(json::parse(R"({"a": 9007199254740993, "b": -9.1e18, "c": 1.5e-300})").has_value());
}

// The strict reader (core/json.cpp) on what attackers send.
TEST_CASE(
    "json: one value only - no NUL - no name twice - nesting at most 64 - even in a huge object") {
  CHECK(json::parse(R"({"a":1})").has_value());
  CHECK(json::parse(" {\"a\":1}\n").has_value());
  CHECK(json::parse(R"({"a":1}{"a":2})").error().rule == "json");
  CHECK(json::parse(R"({"a":"x\u0000y"})").error().rule == "nul");
  CHECK(json::parse(R"({"a":1,"a":2})").error().rule == "duplicate-key");
  CHECK(json::parse(std::string(64, '[') + std::string(64, ']')).has_value());
  auto deep = json::parse(std::string(65, '[') + std::string(65, ']'));
  REQUIRE_FALSE(deep.has_value());
  CHECK(deep.error().rule == "depth");
  CHECK(json::parse(
            R"({"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})")
            .has_value());
  // 100,000 members: read in linear time, the repeated last name still found.
  std::string big = "{";
  for (int i = 0; i < 100'000; ++i) big += "\"k" + std::to_string(i) + "\":1,";
  CHECK(json::parse(big + "\"end\":1}").has_value());
  auto repeated = json::parse(big + "\"k7\":1}");
  REQUIRE_FALSE(repeated.has_value());
  CHECK(repeated.error().rule == "duplicate-key");
}
