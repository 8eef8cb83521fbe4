// rest_poll's cursor against a scripted app (a scripted context, no sockets): records sharing one
// updated_at across page boundaries are all asked for, a new cycle starts overlap_s earlier,
// requests are spaced by min_interval_ms, and an app out of order or unreachable is refused.

#include <doctest/doctest.h>

#include <deque>

#include "core/json.hpp"
#include "rest_poll/rest_poll_connector.hpp"

using namespace simpul;

#include "support/scripted_context.hpp"

namespace {

using test::ScriptedContext;

FetchResponse page(const std::vector<std::pair<int, std::string>>& records) {
  FetchResponse r;
  r.status = 200;
  r.body = "[";
  for (const auto& [id, at] : records)
    r.body += (r.body.size() > 1 ? "," : "") + std::string(R"({"id":)") + std::to_string(id) +
              R"(,"updated_at":")" + at + "\"}";
  r.body += "]";
  return r;
}

std::unique_ptr<Connector> make(ScriptedContext& host) {
  auto doc =
      json::parse(R"({"url": "http://app/api/aduan", "updated_at": "/updated_at", "page_size": 2,
                             "overlap_s": 60, "min_interval_ms": 500})");
  ConnectorSettings s{"poll", *doc, "node.json", "/connectors/0/settings", nullptr};
  auto c = connectors::make_rest_poll(s);
  c->start(host);
  return c;
}

Result<InboundBatch> poll(Connector& c, const std::string& cursor) {
  std::optional<Result<InboundBatch>> out;
  c.poll(cursor, [&](Result<InboundBatch> r) { out = std::move(r); });
  REQUIRE(out.has_value());
  return std::move(*out);
}

}  // namespace

TEST_CASE(
    "rest_poll: records sharing one updated_at across pages are all asked for - the next cycle "
    "overlaps") {
  ScriptedContext host;
  auto c = make(host);
  const std::string t = "2026-11-20T01:00:00.000Z";
  host.answers = {page({{1, t}, {2, t}}), page({{3, t}, {4, t}}), page({{5, t}}), page({})};
  auto a = poll(*c, "");
  REQUIRE(a.has_value());
  CHECK(a->more);  // a full page: ask again at once
  CHECK(host.urls.back() == "http://app/api/aduan?limit=2&offset=0");
  auto b = poll(*c, a->cursor);
  REQUIRE(b.has_value());
  CHECK(b->more);
  // The cursor stayed at t and moved the offset past both pages of the tie.
  CHECK(host.urls.back() ==
        "http://app/api/aduan?limit=2&offset=2&updated_since=2026-11-20T01%3A00%3A00.000Z");
  auto d = poll(*c, b->cursor);
  REQUIRE(d.has_value());
  CHECK(host.urls.back() ==
        "http://app/api/aduan?limit=2&offset=4&updated_since=2026-11-20T01%3A00%3A00.000Z");
  CHECK_FALSE(d->more);  // a short page ends the cycle
  CHECK(d->records.size() == 1);
  // The next cycle starts overlap_s before the cursor, from offset 0.
  auto e = poll(*c, d->cursor);
  REQUIRE(e.has_value());
  CHECK(host.urls.back() ==
        "http://app/api/aduan?limit=2&offset=0&updated_since=2026-11-20T00%3A59%3A00.000Z");
  // Requests closer than min_interval_ms were spaced by the host's timer.
  CHECK_FALSE(host.delays.empty());
  for (int ms : host.delays) CHECK(ms <= 500);
}

TEST_CASE(
    "rest_poll: an unordered page - a missing change time - an unreachable app are refused without "
    "moving on") {
  ScriptedContext host;
  auto c = make(host);
  Result<FetchResponse> down =
      make_problem(errc::unavailable, "", "connect", "connection: Connection refused");
  FetchResponse auth;
  auth.status = 401;
  host.answers = {page({{1, "2026-11-20T02:00:00Z"}, {2, "2026-11-20T01:00:00Z"}}),
                  page({{1, "kemarin"}}), down, auth};
  auto rule = [&] {
    auto r = poll(*c, "");
    REQUIRE_FALSE(r.has_value());
    return r.error().rule;
  };
  CHECK(rule() == "order");
  CHECK(rule() == "updated_at");
  CHECK(rule() == "connect");
  CHECK(rule() == "credential");
  CHECK(c->health().state == ConnectorHealth::failing);
}

TEST_CASE("rest_poll: a cursor in a newer format is refused - never a poll from the start") {
  ScriptedContext host;
  auto c = make(host);
  auto r = poll(*c, "v2:1763600000000:0:n");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().rule == "cursor-format");
  CHECK(r.error().detail.find("v2") != std::string::npos);
  CHECK(host.urls.empty());  // nothing was asked of the app
  CHECK(c->health().state == ConnectorHealth::failing);
}

TEST_CASE("rest_poll: a cursor stored before formats were numbered goes on where it was") {
  ScriptedContext host;
  auto c = make(host);
  const std::string t = "2026-11-20T01:00:00.000Z";
  const TimeMs at = *parse_timestamp(t, Zone{0, "UTC"});
  host.answers = {page({{5, t}})};
  auto r = poll(*c, std::to_string(at) + ":4:c");  // format 0: no "v1:"
  REQUIRE(r.has_value());
  CHECK(host.urls.back() ==
        "http://app/api/aduan?limit=2&offset=4&updated_since=2026-11-20T01%3A00%3A00.000Z");
  CHECK(r->cursor.rfind("v1:", 0) == 0);  // and is written back in the current format
}
