#include "core/directory.hpp"

#include <doctest/doctest.h>

#include "core/hop_redact.hpp"
#include "core/json.hpp"

using namespace simpul;

TEST_CASE("directory: agency first - then the longest region prefix - else stays here") {
  Directory d({{"kota-batam", {"21.71"}, {"dinas-pu-batam"}},
               {"kec-sekupang", {"21.71.05"}, {}},
               {"kota-tanjungpinang", {"21.72"}, {"dinas-pu-tpi"}}});
  Complaint c;
  c.region = "21.71.05.1001";
  CHECK(d.route(c) == "kec-sekupang");
  c.region = "21.71.01";
  CHECK(d.route(c) == "kota-batam");
  c.agency = "dinas-pu-tpi";
  CHECK(d.route(c) == "kota-tanjungpinang");  // a disposition overrides the region
  c.agency = "dinas-lain";
  c.region = "21.7";
  CHECK(d.route(c) == "");
  c.region = "21.711";
  CHECK(d.route(c) == "");  // "21.711" is not below "21.71"
  CHECK(region_within("21.71", "21.71"));
  CHECK_FALSE(region_within("21", "21.71"));
  CHECK(d.find("kota-batam") != nullptr);
  CHECK(d.find("nope") == nullptr);
}

TEST_CASE("redact: reporters of anonim and rahasia complaints never leave - public ones may") {
  auto created = [](const char* privacy) {
    Event e;
    e.kind = EventKind::created;
    e.payload =
        std::string(R"({"title":"t","privacy":")") + privacy + R"(","reporter":{"name":"CANARY"}})";
    return e;
  };
  for (const char* p : {"anonim", "rahasia"}) {
    auto e = created(p);
    redact_for_hop(e, Privacy::public_);  // the payload's own flag is enough
    CHECK(e.payload.find("CANARY") == std::string::npos);
    CHECK(e.payload.find(p) != std::string::npos);  // the flag itself travels
  }
  auto pub = created("public");
  redact_for_hop(pub, Privacy::public_);
  CHECK(pub.payload.find("CANARY") != std::string::npos);
  auto later_anonim = created("public");
  redact_for_hop(later_anonim, Privacy::anonim);  // amended to anonim since: stricter wins
  CHECK(later_anonim.payload.find("CANARY") == std::string::npos);
  Event amended;
  amended.kind = EventKind::amended;
  amended.payload = R"({"fields":{"title":"x","reporter":{"phone":"+628123"}}})";
  redact_for_hop(amended, Privacy::anonim);
  CHECK(amended.payload == R"({"fields":{"title":"x"}})");
  Event other;
  other.kind = EventKind::responded;
  other.payload = R"({"text":"jawaban"})";
  redact_for_hop(other, Privacy::rahasia);
  CHECK(other.payload == R"({"text":"jawaban"})");
}
