#include "core/uuid.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace simpul;

TEST_CASE("UUIDv7: canonical form - version and variant - time-ordered - unique") {
  auto a = make_uuid_v7(1'763'600'000'000);
  CHECK(is_uuid_v7(a));
  CHECK(a.substr(0, 8) == "019a9ec0");  // 48-bit milliseconds, big-endian
  CHECK(make_uuid_v7(1'763'600'000'000) < make_uuid_v7(1'763'600'000'001));
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) seen.insert(make_uuid_v7(5));
  CHECK(seen.size() == 10'000);
  CHECK_FALSE(is_uuid_v7("019aa0e7-0000-4000-8000-000000000000"));  // version 4
  CHECK_FALSE(is_uuid_v7("019AA0E7-0000-7000-8000-000000000000"));  // uppercase
  CHECK_FALSE(is_uuid_v7("not-a-uuid"));
}
