// A node whose store cannot be read for a while (a table renamed away under it and back: the
// same SQLite error a damaged or locked file gives) goes on from where it was once the store
// answers again: its loops wait and ask again, never start over from nothing, and never die.

#include <doctest/doctest.h>

#include <thread>

#include "core/json.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/lapor_sim_support.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;
using test::TestNode;

namespace {

std::string post(TestNode& n, const std::string& body) {
  auto r = n.client().request("POST", "/v1/complaints", body, TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return json::get_string(*json::parse(r.body), "id");
}

}  // namespace

TEST_CASE(
    "store faults: a feed cursor the store cannot read is read again - the child never pulls its "
    "feed from the start") {
  test::TempDir pdir, ldir, l2dir;
  TestNode parent(test::province_config(pdir));
  const std::string upstream = test::upstream_member(parent, R"(, "timeout_ms": 1000)");
  // Three complaints entered at the province for Batam's region go down Batam's feed.
  const std::string for_batam = R"(,"region":"21.71")";
  for (int i = 0; i < 3; ++i)
    post(parent, test::sample_complaint("Dari provinsi " + std::to_string(i), for_batam));
  std::string cursor;
  {
    TestNode leaf(test::node_config(ldir, "kota-batam", upstream));
    REQUIRE(eventually([&] {
      return db_count(leaf.config().store.path, "SELECT count(*) FROM complaints") == 3;
    }));
    REQUIRE(eventually([&] {
      SqliteStore s(test::keyed_store(leaf.config().store.path));
      cursor = s.cursor("upstream.changes");
      return !cursor.empty();
    }));
  }
  // A second Batam store that holds the feed position and not what came before it (so a pull
  // from the start would show), with its cursors table unreadable when the node starts.
  Config leaf2 = test::node_config(l2dir, "kota-batam", upstream);
  {
    SqliteStore s(StoreOptions{leaf2.store.path, true, 5000, true});
    s.begin();
    s.set_cursor("upstream.changes", cursor, 1);
    s.commit();
  }
  test::db_exec(leaf2.store.path, "ALTER TABLE cursors RENAME TO cursors_away");
  TestNode node(leaf2);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  test::db_exec(leaf2.store.path, "ALTER TABLE cursors_away RENAME TO cursors");
  // The feed goes on from the stored position: the next complaint arrives, the three do not.
  const std::string next = post(parent, test::sample_complaint("Sesudahnya", for_batam));
  REQUIRE(eventually([&] {
    return db_count(leaf2.store.path,
                    "SELECT count(*) FROM complaints WHERE id = '" + next + "'") == 1;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(db_count(leaf2.store.path, "SELECT count(*) FROM complaints") == 1);
}

TEST_CASE(
    "store faults: the hub's notification cursor the store cannot read is read again - the lapor "
    "link never asks the hub from the start") {
  test::LaporSim hub;
  test::TempDir dir;
  setenv("SIMPUL_TEST_LAPOR_SECRET", test::kSimClientSecret, 1);
  const std::string upstream =
      R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(hub.port()) +
      R"(", "node": "lapor", "dialect": "lapor", "credential": "env:SIMPUL_TEST_LAPOR_SECRET",
      "timeout_ms": 1000, "max_backoff_ms": 1000, "lapor": {"client_id": "kepri",
      "poll_interval_ms": 100, "sweep_interval_s": 1}},)";
  Config cfg = test::node_config(dir, "provinsi-kepri", upstream);
  std::int64_t cursor = 0;
  {
    TestNode node(cfg);
    const std::string id = post(node, test::sample_complaint("Jalan rusak"));
    std::int64_t nid = 0;
    REQUIRE(eventually([&] {
      nid = db_count(cfg.store.path,
                     "SELECT coalesce(max(CAST(ext_id AS INTEGER)), 0) FROM refs WHERE system = "
                     "'lapor' AND complaint_id = '" +
                         id + "'");
      return nid > 0;
    }));
    // The hub disposes it: a notification, which moves the node's cursor past 0.
    auto r = hub.client().request("POST", "/admin/stream/" + std::to_string(nid) + "/dispose",
                                  R"({"agency": "dinas-pu-batam"})", hub.admin());
    REQUIRE_MESSAGE(r.status == 200, r.body);
    REQUIRE(eventually([&] {
      for (auto s : hub.sim->notification_sinces()) cursor = std::max(cursor, s);
      return cursor > 0;
    }));
  }
  // The node starts with its cursors table unreadable, then gets it back.
  test::db_exec(cfg.store.path, "ALTER TABLE cursors RENAME TO cursors_away");
  const std::size_t asked_before = hub.sim->notification_sinces().size();
  TestNode node(cfg);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  test::db_exec(cfg.store.path, "ALTER TABLE cursors_away RENAME TO cursors");
  REQUIRE(eventually([&] { return hub.sim->notification_sinces().size() > asked_before + 3; }));
  const auto sinces = hub.sim->notification_sinces();
  for (std::size_t i = asked_before; i < sinces.size(); ++i) {
    CAPTURE(i);
    CHECK(sinces[i] >= cursor);  // from where it was, never from 0
  }
}
