// The declarative mapping engine against the shipped Ape Kesah mapping: records in, canonical
// complaints and their status history out; every mapping mistake reported with its pointer.

#include "intake/mapping.hpp"

#include <doctest/doctest.h>

#include "core/json.hpp"
#include "core/normalize.hpp"

using namespace simpul;

namespace {

const std::string kApeKesah = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";

const char* kRecord = R"({
  "id": 8812, "judul": "  Jalan berlubang di Jl. Ahmad Yani ", "uraian": "Lubang besar di depan halte.",
  "lokasi": "Jl. Ahmad Yani, Batam Kota", "tanggal": "21/11/2026", "waktu": "07:30",
  "opd_tujuan": "Dinas Bina Marga dan Sumber Daya Air", "kategori": "Jalan",
  "foto": "https://apekesah.batam.go.id/foto/8812-1.jpg, https://apekesah.batam.go.id/foto/8812-2.jpg",
  "pelapor": {"nama": "Siti Rahma", "hp": "0812-7000-1234", "anonim": false},
  "status": "Selesai", "tanggapan": "Sudah ditambal pada 22/11.",
  "dibuat": "2026-11-21 08:00:00", "diperbarui": "2026-11-22 09:15:00"
})";

rapidjson::Document doc(const std::string& text) {
  auto d = json::parse(text);
  REQUIRE(d.has_value());
  return std::move(*d);
}

std::string pointer_of(const std::string& text) {
  try {
    Mapping::parse(text, "m.json");
  } catch (const ConfigError& e) {
    CHECK(e.file() == "m.json");
    CHECK_FALSE(e.reason().empty());
    return e.pointer();
  }
  return "accepted";
}

const char* kSmall = R"({"version": 1, "system": "app", "id": "/id",
  "fields": {"title": {"from": "/t"}, "body": {"from": "/b"}},
  "status": {"from": "/s", "source_values": ["A", "B"],
             "values": {"A": {"events": ["verified"]}, "B": {"events": ["disposed", "responded", "closed"]}}}})";

std::string with(std::string s, const std::string& from, const std::string& to) {
  auto i = s.find(from);
  REQUIRE(i != std::string::npos);
  return s.replace(i, from.size(), to);
}

}  // namespace

TEST_CASE("mapping: an Ape Kesah record becomes a canonical complaint with its history") {
  auto m = Mapping::load(kApeKesah);
  CHECK(m.system() == "apekesah");
  CHECK(m.version() == 1);
  auto src = doc(kRecord);
  auto mapped = m.apply(src);
  REQUIRE(mapped.has_value());
  CHECK(mapped->source_id == "8812");
  CHECK(mapped->raw_status == "Selesai");

  auto c = read_complaint(mapped->canonical, {Zone{}, "21.71", 1'796'000'000'000});
  REQUIRE_MESSAGE(c.has_value(), json::stringify(mapped->canonical));
  CHECK(c->title == "Jalan berlubang di Jl. Ahmad Yani");
  CHECK(c->agency == "dinas-pu-batam");
  CHECK(c->category.local == "jalan");
  CHECK(c->category.topic_id == "3");
  CHECK(c->location.text == "Jl. Ahmad Yani, Batam Kota");
  CHECK(format_utc(*c->incident_at) == "2026-11-21T00:30:00.000Z");  // 07:30 WIB
  CHECK(format_utc(c->received_at) == "2026-11-21T01:00:00.000Z");
  CHECK(*c->reporter.phone == "+6281270001234");
  CHECK(c->privacy == Privacy::public_);
  CHECK(c->channel == Channel::app);
  CHECK(c->region == "21.71");
  REQUIRE(c->attachments.size() == 2);
  CHECK(c->attachments[1].uri == "https://apekesah.batam.go.id/foto/8812-2.jpg");
  REQUIRE(c->refs.size() == 1);
  CHECK(c->refs[0] == Ref{"apekesah", "8812"});

  REQUIRE(mapped->history.size() == 3);
  CHECK(mapped->history[0].kind == EventKind::disposed);
  CHECK(json::get_string(*json::parse(mapped->history[0].payload), "agency") == "dinas-pu-batam");
  CHECK(mapped->history[1].kind == EventKind::responded);
  CHECK(json::get_string(*json::parse(mapped->history[1].payload), "text") ==
        "Sudah ditambal pada 22/11.");
  CHECK(mapped->history[2].kind == EventKind::closed);
  CHECK(format_utc(*mapped->history[2].at) == "2026-11-22T02:15:00.000Z");
}

TEST_CASE("mapping: defaults fill what the source leaves out - anonim when the app does not say") {
  auto m = Mapping::load(kApeKesah);
  auto src =
      doc(R"({"id": "9001", "judul": "Lampu mati", "uraian": "Gelap", "status": "Submitted"})");
  auto mapped = m.apply(src);
  REQUIRE(mapped.has_value());
  auto c = read_complaint(mapped->canonical, {Zone{}, "21.71", 1'796'000'000'000});
  REQUIRE(c.has_value());
  CHECK(c->privacy == Privacy::anonim);
  CHECK(c->type == ComplaintType::pengaduan);
  CHECK(c->agency.empty());
  CHECK(c->reporter.empty());
  // "Submitted" means "with an OPD", but the record names none: no disposition is made up.
  CHECK(mapped->history.empty());
}

TEST_CASE(
    "mapping: a record the mapping cannot read is refused naming the source pointer and rule") {
  auto m = Mapping::load(kApeKesah);
  auto problem = [&](const std::string& record) {
    auto src = doc(record);
    auto r = m.apply(src);
    REQUIRE_FALSE(r.has_value());
    return r.error().pointer + " " + r.error().rule;
  };
  CHECK(problem(R"({"judul": "x"})") == "/id required");
  CHECK(problem(R"({"id": 1, "pelapor": {"hp": "halo"}})") == "/pelapor/hp phone");
  CHECK(problem(R"({"id": 1, "tanggal": "31-12-2026", "waktu": "10:00"})") == "/tanggal date");
  CHECK(problem(R"({"id": 1, "opd_tujuan": "Dinas Rahasia"})") == "/opd_tujuan lookup");
  CHECK(problem(R"({"id": 1, "status": "Hilang"})") == "/status status");
  CHECK(problem(R"({"id": 1, "pelapor": {"anonim": "mungkin"}})") == "/pelapor/anonim map");
}

TEST_CASE("mapping: advance resumes a status path from where the complaint is") {
  auto m = Mapping::load(kApeKesah);
  auto src = doc(kRecord);
  auto kinds = [](const std::vector<PlannedEvent>& es) {
    std::string out;
    for (const auto& e : es) out += std::string(to_string(e.kind)) + " ";
    return out;
  };
  CHECK(kinds(m.advance(Status::received, "Selesai", src)) == "disposed responded closed ");
  CHECK(kinds(m.advance(Status::disposed, "Selesai", src)) == "responded closed ");
  CHECK(kinds(m.advance(Status::disposed, "Proses", src)) == "progressed ");
  CHECK(kinds(m.advance(Status::closed, "Selesai", src)).empty());       // already there
  CHECK(kinds(m.advance(Status::responded, "Proses", src)).empty());     // upstream is further on
  CHECK(kinds(m.advance(Status::verified, "Dibatalkan", src)).empty());  // not on that path
  CHECK(kinds(m.advance(Status::received, "Dibatalkan", src)) == "cancelled ");
  CHECK(kinds(m.advance(Status::disposed, "Tidak ada", src)).empty());
  CHECK(m.outbound_status(Status::closed) == "Selesai");
  CHECK(m.outbound_status(Status::in_progress) == "Proses");
}

TEST_CASE("mapping: check names the pointer of every kind of mapping mistake") {
  CHECK(pointer_of(kSmall) == "accepted");
  CHECK(pointer_of(with(kSmall, R"("title": {"from": "/t"})", R"("judul": {"from": "/t"})")) ==
        "/fields/judul");
  CHECK(pointer_of(with(kSmall, R"("from": "/t")", R"("from": "t")")) == "/fields/title/from");
  CHECK(
      pointer_of(with(kSmall, R"({"from": "/t"})", R"({"from": "/t", "transform": ["snake"]})")) ==
      "/fields/title/transform/0");
  CHECK(pointer_of(with(kSmall, R"({"from": "/t"})",
                        R"({"from": "/t", "transform": [{"lookup": "opd"}]})")) ==
        "/fields/title/transform/0/lookup");
  CHECK(pointer_of(with(kSmall, R"({"from": "/t"})",
                        R"({"from": "/t", "transform": [{"date": {"format": "%Q"}}]})")) ==
        "/fields/title/transform/0/date/format");
  CHECK(pointer_of(with(kSmall, R"(["A", "B"])", R"(["A", "B", "C"])")) ==
        "/status/source_values/2");
  CHECK(pointer_of(with(kSmall, R"(["disposed", "responded", "closed"])", R"(["closed"])")) ==
        "/status/values/B/events/0");
  CHECK(pointer_of(with(kSmall, R"(["disposed", "responded", "closed"])",
                        R"(["disposed", "flying"])")) == "/status/values/B/events/1");
  CHECK(pointer_of(with(kSmall, R"("system": "app")", R"("system": "App Besar")")) == "/system");
  CHECK(pointer_of(with(kSmall, R"("version": 1, )", "")) == "/version");
  CHECK(pointer_of(with(kSmall, R"("status":)",
                        R"("outbound": {"status": {"selesai": "Done"}}, "status":)")) ==
        "/outbound/status/selesai");
  CHECK(pointer_of("{ not json") == "");
}
