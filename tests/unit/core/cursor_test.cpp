// Persisted cursors carry their format (simpul/cursor.hpp).

#include "simpul/cursor.hpp"

#include <doctest/doctest.h>

using namespace simpul;

TEST_CASE("cursor text: the format travels with the body and unnumbered text is format 0") {
  CHECK(cursor_text(1, "f12") == "v1:f12");
  auto c = read_cursor_text("v1:f12");
  CHECK(c.format == 1);
  CHECK(c.body == "f12");
  CHECK(read_cursor_text("v12:a:b").body == "a:b");
  CHECK(read_cursor_text("v12:a:b").format == 12);
  for (const char* legacy : {"", "f12", "1763600000000:0:n", "v:x", "vx:1", "v1", "12:34"}) {
    CAPTURE(legacy);
    CHECK(read_cursor_text(legacy).format == 0);
    CHECK(read_cursor_text(legacy).body == legacy);
  }
}

TEST_CASE("cursor text: a format newer than the reader knows is a problem that names both") {
  auto r = read_cursor_text("v3:x", 1, "upstream.changes");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::config_invalid);
  CHECK(r.error().detail.find("v3") != std::string::npos);
  CHECK(r.error().detail.find("v1") != std::string::npos);
  CHECK(r.error().detail.find("upstream.changes") != std::string::npos);
  CHECK(read_cursor_text("v1:x", 1, "upstream.changes")->body == "x");
  CHECK_THROWS_AS(cursor_body("v9:x", 1, "import checkpoint"), std::runtime_error);
}
