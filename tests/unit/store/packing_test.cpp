#include "store/sqlite/packing.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace simpul::sqlite;

namespace {

const std::string kRecord =
    R"({"id":"019a9ec0-6400-7000-8000-000000000001","refs":[],"type":"pengaduan",)"
    R"("title":"Jalan berlubang","body":"Lubang besar di depan halte","channel":"app",)"
    R"("reporter":{"name":"Siti Rahma","phone":"+6281270001234"},"privacy":"anonim"})";
const std::string kRaw =
    R"({"type":"pengaduan","title":"Jalan berlubang","body":"Lubang besar di depan halte",)"
    R"("channel":"app","reporter":{"name":"Siti Rahma","phone":"0812-7000-1234"}})";

}  // namespace

TEST_CASE("packing: a raw payload packed against its record comes back byte for byte") {
  auto packed = pack_against(kRaw, kRecord);
  CHECK(packed.size() < kRaw.size() / 3);  // it repeats the record
  CHECK(packed.find("Siti") == std::string::npos);
  CHECK(unpack_against(packed, kRecord) == kRaw);
  // Binary and empty bodies too.
  std::string binary("\0\x01\xff\xfe zip", 8);
  CHECK(unpack_against(pack_against(binary, kRecord), kRecord) == binary);
  CHECK(unpack_against(pack_against("", kRecord), kRecord) == std::string());
}

TEST_CASE("packing: the wrong dictionary or a cut row is refused - never half a payload") {
  auto packed = pack_against(kRaw, kRecord);
  CHECK_FALSE(unpack_against(packed, R"({"id":"another record"})").has_value());
  CHECK_FALSE(unpack_against(packed.substr(0, packed.size() - 2), kRecord).has_value());
  CHECK_FALSE(unpack_against(packed + "x", kRecord).has_value());
  CHECK_FALSE(unpack_against("not deflate at all", kRecord).has_value());
}

TEST_CASE("packing: an event payload needs its own row's context and its version byte") {
  const std::string context = R"("id":"019a9ec0-6400-7000-8000-000000000001")";
  // The same stream against another row's context would inflate to other bytes: refused.
  auto packed = pack_payload(kRecord, context + "2026-12-01T00:00:00.000Z");
  CHECK(packed.size() < kRecord.size() / 2);
  CHECK(unpack_payload(packed, context + "2026-12-01T00:00:00.000Z") == kRecord);
  CHECK_FALSE(unpack_payload(packed, R"("id":"019a9ec0-6400-7000-8000-000000000999")"
                                     "2026-12-01T00:00:00.000Z")
                  .has_value());
  std::string unknown = packed;
  unknown[0] = '\x02';
  CHECK_FALSE(unpack_payload(unknown, context + "2026-12-01T00:00:00.000Z").has_value());
  CHECK_FALSE(unpack_payload("", context).has_value());
}
