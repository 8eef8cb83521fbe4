// The SLA scheduler on running nodes, with a clock the test moves on: breaches written once
// across restarts and across two tiers, autoclose, and a calendar change that refolds the
// clocks and logs each moved due date.

#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/json.hpp"
#include "core/log.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::TestNode;

namespace {

const Zone kWib{7 * 60, "WIB"};
TimeMs wib(const std::string& local) { return *parse_timestamp(local + ":00+07:00", kWib); }

// A clock every node of a test shares; the test moves it.
struct TestClock {
  std::shared_ptr<std::atomic<TimeMs>> now = std::make_shared<std::atomic<TimeMs>>(0);
  std::function<TimeMs()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
  void set(TimeMs t) { now->store(t); }
};

std::int64_t count_kind(const std::string& db, const std::string& id, const std::string& kind) {
  return test::db_count(db, "SELECT count(*) FROM events WHERE complaint_id = '" + id +
                                "' AND kind = '" + kind + "'");
}

Config fast_sla(Config cfg) {
  cfg.sla.scan_interval_s = 1;
  return cfg;
}

std::string ingest(http::Client& c) {
  auto r =
      c.request("POST", "/v1/complaints", test::sample_complaint("Jalan rusak"), TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return json::get_string(*json::parse(r.body), "id");
}

http::ClientResponse act(http::Client& c, const std::string& id, const std::string& body) {
  return c.request("POST", "/v1/complaints/" + id + "/events", body, TestNode::auth());
}

std::string clock_state(http::Client& c, const std::string& id, const std::string& name) {
  auto doc = json::parse(c.request("GET", "/v1/complaints/" + id, "", TestNode::auth()).body);
  std::string state;
  for (const auto& k : (*doc)["clocks"].GetArray())
    if (json::get_string(k, "name") == name) state = json::get_string(k, "state");
  return state;
}

}  // namespace

TEST_CASE("sla: a clock past due is breached once - across restarts - and lists as overdue") {
  test::TempDir dir;
  Config cfg = fast_sla(test::node_config(dir, "kota-batam", ""));
  TestClock clock;
  clock.set(wib("2026-11-02T09:00"));  // Monday: verify due Thursday 5, 23:59 WIB
  std::string id;
  {
    TestNode node(cfg, clock.fn());
    auto c = node.client();
    id = ingest(c);
    CHECK(clock_state(c, id, "verify") == "running");
    // Wednesday: within the last working day - a warning, no breach.
    clock.set(wib("2026-11-05T08:00"));
    CHECK(test::eventually([&] { return count_kind(cfg.store.path, id, "sla_warning") == 1; }, 10));
    CHECK(count_kind(cfg.store.path, id, "sla_breached") == 0);
    // Friday: past due.
    clock.set(wib("2026-11-06T08:00"));
    CHECK(
        test::eventually([&] { return count_kind(cfg.store.path, id, "sla_breached") == 1; }, 10));
    CHECK(clock_state(c, id, "verify") == "breached");
    auto overdue = c.request("GET", "/v1/complaints?overdue=verify", "", TestNode::auth());
    CHECK(overdue.body.find(id) != std::string::npos);
    CHECK(c.request("GET", "/v1/complaints?overdue=followup", "", TestNode::auth()).body.find(id) ==
          std::string::npos);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // more scans
  }
  // Started again, scanning again: nothing more for that clock and due date.
  {
    TestNode node(cfg, clock.fn());
    clock.set(wib("2026-11-06T10:00"));
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  }
  CHECK(count_kind(cfg.store.path, id, "sla_breached") == 1);
  CHECK(count_kind(cfg.store.path, id, "sla_warning") == 1);
}

TEST_CASE(
    "sla: autoclose closes a follow-up the citizen did not answer - actor system - and a "
    "reply stops it") {
  test::TempDir dir;
  Config cfg = fast_sla(test::node_config(dir, "kota-batam", ""));
  TestClock clock;
  clock.set(wib("2026-11-02T09:00"));
  TestNode node(cfg, clock.fn());
  auto c = node.client();
  std::string quiet = ingest(c), answered = ingest(c);
  for (const auto& id : {quiet, answered}) {
    REQUIRE(act(c, id, R"({"kind":"disposed","payload":{"agency":"dinas-pu-batam"}})").status ==
            201);
    REQUIRE(act(c, id, R"({"kind":"responded","payload":{"text":"Sudah ditambal"}})").status ==
            201);
  }
  REQUIRE(act(c, answered, R"({"kind":"citizen_replied","payload":{"text":"Belum"}})").status ==
          201);
  clock.set(wib("2026-11-17T09:00"));  // autoclose due Monday 16, 23:59
  CHECK(test::eventually([&] { return count_kind(cfg.store.path, quiet, "closed") == 1; }, 10));
  auto doc = json::parse(c.request("GET", "/v1/complaints/" + quiet, "", TestNode::auth()).body);
  CHECK(json::get_string(*doc, "status") == "closed");
  const auto& events = (*doc)["events"];
  const auto& last = events[events.Size() - 1];
  CHECK(json::get_string(last, "kind") == "closed");
  CHECK(json::get_string(last["actor"], "role") == "system");
  CHECK(count_kind(cfg.store.path, answered, "closed") == 0);
  // The agency's followup was met in time: no breach for either.
  CHECK(count_kind(cfg.store.path, quiet, "sla_breached") == 0);
}

TEST_CASE("sla: two tiers holding one complaint write one breach per clock - it syncs upward") {
  test::TempDir pdir, ldir;
  TestClock clock;
  clock.set(wib("2026-11-02T09:00"));
  Config pcfg = fast_sla(test::province_config(pdir));
  TestNode province(pcfg, clock.fn());
  Config lcfg = fast_sla(test::node_config(ldir, "kota-batam", test::upstream_member(province)));
  TestNode leaf(lcfg, clock.fn());
  auto lc = leaf.client();
  auto pc = province.client();
  std::string id = ingest(lc);
  REQUIRE(test::eventually([&] { return count_kind(pcfg.store.path, id, "created") == 1; }));
  // The province disposes it: that followup clock is the province's.
  REQUIRE(act(pc, id, R"({"kind":"disposed","payload":{"agency":"dinas-pu-kepri"}})").status ==
          201);
  REQUIRE(test::eventually([&] { return count_kind(lcfg.store.path, id, "disposed") == 1; }));
  // Batam's verify clock was met by the disposition; the followup (due Monday 9) passes due.
  clock.set(wib("2026-11-10T09:00"));
  CHECK(test::eventually(
      [&] {
        return count_kind(pcfg.store.path, id, "sla_breached") == 1 &&
               count_kind(lcfg.store.path, id, "sla_breached") == 1;
      },
      15));
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // both scan again
  CHECK(count_kind(pcfg.store.path, id, "sla_breached") == 1);
  CHECK(count_kind(lcfg.store.path, id, "sla_breached") == 1);
  CHECK(test::db_count(pcfg.store.path,
                       "SELECT count(*) FROM events WHERE kind = 'sla_breached' AND "
                       "origin = 'provinsi-kepri'") == 1);
  CHECK(clock_state(lc, id, "followup") == "breached");
}

TEST_CASE(
    "sla: a calendar change refolds the open clocks at start - each moved due date logged "
    "old to new - and audited") {
  test::TempDir dir;
  auto write_calendar = [&](const std::string& version, const std::string& days) {
    std::ofstream(dir.file("calendar.json"))
        << R"({"version": ")" + version + R"(", "days": [)" + days + "]}";
  };
  write_calendar("r1", "");
  Config cfg = test::node_config(dir, "kota-batam", "");
  cfg.sla.holidays_file = dir.file("calendar.json");
  cfg.sla.scheduler = false;
  cfg.log_level = "info";  // the moved due dates are info lines
  TestClock clock;
  clock.set(wib("2026-12-01T10:00"));  // Tuesday: verify due Friday 4
  std::string id;
  auto due = [&] {
    return test::db_count(cfg.store.path,
                          "SELECT verify_due FROM complaints WHERE id = '" + id + "'");
  };
  {
    TestNode node(cfg, clock.fn());
    auto c = node.client();
    id = ingest(c);
  }
  CHECK(due() == wib("2026-12-04T23:59") + 59'999);
  // Batam declares Thursday 3 a day off.
  write_calendar("r2", R"({"date": "2026-12-03", "name": "Hari Jadi Batam",
      "kind": "libur_daerah", "scope": "kabkota", "region": "21.71", "source": "Perwako"})");
  std::mutex mu;
  std::string captured;
  log::set_sink([&](std::string_view line) {
    std::lock_guard lock(mu);
    captured.append(line).push_back('\n');
  });
  { TestNode node(cfg, clock.fn()); }
  log::set_sink(nullptr);
  log::set_level(log::Level::warn);
  CHECK(due() == wib("2026-12-07T23:59") + 59'999);
  {
    std::lock_guard lock(mu);  // released before the next node logs
    auto at = captured.find("\"sla.due_moved\"");
    REQUIRE(at != std::string::npos);
    auto line = captured.substr(at, captured.find('\n', at) - at);
    CHECK(line.find(id) != std::string::npos);
    CHECK(line.find("2026-12-04T16:59:59.999Z") != std::string::npos);
    CHECK(line.find("2026-12-07T16:59:59.999Z") != std::string::npos);
  }
  CHECK(test::db_count(cfg.store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'sla.recomputed'") == 1);
  // The same calendar again: nothing to refold.
  { TestNode node(cfg, clock.fn()); }
  CHECK(test::db_count(cfg.store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'sla.recomputed'") == 1);
}
