// The pure readers of what comes down the upstream link: a parent's federation answers
// (fed_protocol) and SP4N-LAPOR!'s answers (lapor_protocol). The links act on nothing else, so a
// refusal here is what keeps a half-understood answer from being applied.

#include <doctest/doctest.h>

#include "core/config.hpp"
#include "core/json.hpp"
#include "federation/fed_protocol.hpp"
#include "lapor/lapor_protocol.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

const char* kEvent =
    R"({"event_id":"0192f3a0-1111-7000-8000-000000000001","complaint_id":"0192f3a0-0000-7000-8000-00000000abcd",
  "origin":"provinsi-kepri","at":"2026-11-20T01:15:00.000Z","actor":{"role":"admin"},"kind":"verified","payload":{},
  "hops":["provinsi-kepri"]})";

const lapor::Settings& lapor_defaults() {
  static Config cfg = [] {
    setenv("SIMPUL_TEST_LAPOR_SECRET", "x", 1);
    test::TempDir dir;
    return test::node_config(dir, "provinsi-kepri",
                             R"("upstream": {"url": "http://127.0.0.1:9", "node": "lapor",
      "dialect": "lapor", "credential": "env:SIMPUL_TEST_LAPOR_SECRET", "lapor": {"client_id": "kepri", "source": "simpul-kepri"}},)");
  }();
  static const lapor::Settings settings = lapor::read_settings(cfg);
  return settings;
}

}  // namespace

TEST_CASE("fed protocol: push results are read only when they answer every event sent - in order") {
  const std::vector<std::string> sent = {"a", "b"};
  auto ok = fed::read_push_results(
      R"({"results":[{"event_id":"a","outcome":"accepted"},{"event_id":"b","outcome":"rejected","reason":"no"}]})",
      sent);
  REQUIRE(ok.has_value());
  CHECK((*ok)[1].outcome == MergeResult::rejected);
  CHECK((*ok)[1].reason == "no");
  CHECK_FALSE(fed::read_push_results(
      R"({"results":[{"event_id":"b","outcome":"accepted"},{"event_id":"a","outcome":"accepted"}]})",
      sent));
  CHECK_FALSE(
      fed::read_push_results(R"({"results":[{"event_id":"a","outcome":"accepted"}]})", sent));
  CHECK_FALSE(fed::read_push_results(
      R"({"results":[{"event_id":"a","outcome":"stored"},{"event_id":"b","outcome":"accepted"}]})",
      sent));
  CHECK_FALSE(fed::read_push_results("<html>proxy error</html>", sent));
}

TEST_CASE("fed protocol: a changes page is read whole or not at all") {
  auto page = fed::read_changes(std::string(R"({"events":[)") + kEvent + R"(],"next":"42"})");
  REQUIRE(page.has_value());
  CHECK(page->next == "42");
  REQUIRE(page->events.size() == 1);
  CHECK(page->events[0].kind == EventKind::verified);
  auto empty = fed::read_changes(R"({"events":[],"next":""})");
  REQUIRE(empty.has_value());
  CHECK(empty->next.empty());
  // One bad event spoils the page (the cursor must not move past it).
  std::string bad = std::string(R"({"events":[)") + kEvent + "," + kEvent;
  bad.replace(bad.rfind("verified"), 8, "teleported");
  CHECK_FALSE(fed::read_changes(bad + R"(],"next":"43"})"));
  CHECK_FALSE(fed::read_changes(R"({"events":{},"next":"1"})"));
  CHECK_FALSE(fed::read_changes(R"({"events":[],"next":7})"));
  CHECK_FALSE(fed::read_changes(R"({"events":[],"next":"1")"));  // cut short
}

TEST_CASE("lapor protocol: ids as numbers or strings - out-of-range numbers read as nothing") {
  auto doc = json::parse(R"({"a": 42, "b": "77", "c": 12.9, "d": true, "e": -3})");
  REQUIRE(doc.has_value());
  CHECK(lapor::text_of(*doc, "a") == "42");
  CHECK(lapor::text_of(*doc, "b") == "77");
  CHECK(lapor::text_of(*doc, "c") == "12");
  CHECK(lapor::text_of(*doc, "d").empty());
  CHECK(lapor::text_of(*doc, "e") == "-3");
  CHECK(lapor::text_of(*doc, "missing").empty());
}

TEST_CASE(
    "lapor protocol: answers - success flags - expired tokens - notifications never move the "
    "cursor back") {
  const auto& L = lapor_defaults();
  auto ok = lapor::read_reply(L, "detail", 200, R"({"status":1,"data":{}})");
  CHECK(ok.answered);
  CHECK(ok.ok);
  auto refused = lapor::read_reply(L, "detail", 200, R"({"status":0,"error":"not found"})");
  CHECK(refused.answered);
  CHECK_FALSE(refused.ok);
  CHECK(refused.error == "http 200: not found");
  CHECK(lapor::read_reply(L, "detail", 200, R"({"status":-1})").token_expired);
  CHECK(lapor::read_reply(L, "detail", 401, "").token_expired);
  CHECK_FALSE(
      lapor::read_reply(L, "detail", 503, R"({"status":1})").answered);  // 5xx is never a decision
  CHECK(lapor::read_reply(L, "detail", 200, "garbage").error == "unreadable answer");

  auto page = lapor::read_reply(
      L, "notifications", 200,
      R"({"status":1,"data":[{"id":3,"stream_nid":77},{"id":"9","stream_nid":"78"},{"id":5,"stream_nid":77}]})");
  auto n = lapor::read_notifications(L, page, 4);
  REQUIRE(n.has_value());
  CHECK(n->last == 9);
  CHECK(n->nids == std::vector<std::string>{"77", "78"});
  auto old = lapor::read_notifications(
      L,
      lapor::read_reply(L, "notifications", 200,
                        R"({"status":1,"data":[{"id":2,"stream_nid":1}]})"),
      4);
  REQUIRE(old.has_value());
  CHECK(old->last == 4);
  CHECK_FALSE(lapor::read_notifications(
      L, lapor::read_reply(L, "notifications", 200, R"({"status":1})"), 4));
}

TEST_CASE(
    "lapor protocol: a disposed report with claims - events in state-machine order - our own "
    "claims skipped - stable ids") {
  const auto& L = lapor_defaults();
  auto detail = lapor::read_reply(
      L, "detail", 200,
      R"({"status":1,"data":{"status":"5","agency":"dinas-pu-batam","last_activity":"2026-11-20 10:00:00"}})");
  auto claims = lapor::read_reply(L, "claims", 200, R"({"status":1,"data":[
      {"claim_text":"Jawaban kami","tanggal":"2026-11-20 09:00:00","source":"simpul-kepri"},
      {"claim_text":"Sedang dikerjakan","tanggal":"2026-11-20 11:00:00","LevelName":"Dinas PU","source":"lapor"}]})");
  lapor::LocalState local{"0192f3a0-0000-7000-8000-00000000abcd", Status::received,
                          1'700'000'000'000};
  auto events = lapor::hub_events(L, "lapor", "77", local, detail, &claims, 1'780'000'000'000);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == EventKind::disposed);
  CHECK(events[0].payload.find("dinas-pu-batam") != std::string::npos);
  CHECK(events[1].kind == EventKind::responded);
  CHECK(events[1].payload.find("Sedang dikerjakan") != std::string::npos);
  CHECK(events[0].at < events[1].at);
  CHECK(events[0].hops == std::vector<std::string>{"lapor"});
  // The same facts read again give the same ids (merged once).
  auto again = lapor::hub_events(L, "lapor", "77", local, detail, &claims, 1'780'000'999'000);
  CHECK(again[0].event_id == events[0].event_id);
  CHECK(again[1].event_id == events[1].event_id);
  // An unknown hub status code changes nothing.
  auto unknown = lapor::read_reply(L, "detail", 200, R"({"status":1,"data":{"status":"42"}})");
  CHECK(lapor::hub_events(L, "lapor", "77", local, unknown, nullptr, 1'780'000'000'000).empty());
}

TEST_CASE("fed: a recovery page is read whole - or refused") {
  auto page = fed::read_recovery(std::string(R"({"events":[)") + kEvent +
                                 R"(],"next":17,"more":true,"acked":4})");
  REQUIRE(page.has_value());
  CHECK(page->events.size() == 1);
  CHECK(page->next == 17);
  CHECK(page->more);
  CHECK(page->acked == 4);
  CHECK(fed::read_recovery(R"({"events":[],"next":0,"more":false,"acked":0})").has_value());
  CHECK_FALSE(
      fed::read_recovery(R"({"events":[],"next":"17","more":false,"acked":0})").has_value());
  CHECK_FALSE(fed::read_recovery(R"({"events":[],"next":-1,"more":false,"acked":0})").has_value());
  CHECK_FALSE(fed::read_recovery(R"({"events":[],"next":1,"acked":0})").has_value());
  CHECK_FALSE(
      fed::read_recovery(R"({"events":[{"kind":"verified"}],"next":1,"more":false,"acked":0})")
          .has_value());
}
