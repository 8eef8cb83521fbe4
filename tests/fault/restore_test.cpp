// A leaf restored from a backup gets back, from its parent, what it created and did after the
// backup was taken, before it takes anything new in; the parent's later decisions on those
// complaints are then whole complaints again, not orphan events. Real nodes on loopback.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "core/json.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;
using test::TestNode;

namespace {

std::string post(TestNode& n, const std::string& target, const std::string& body) {
  auto r = n.client().request("POST", target, body, TestNode::auth());
  REQUIRE_MESSAGE(r.status / 100 == 2, r.body);
  return json::get_string(*json::parse(r.body), "id");
}

std::string status_at(TestNode& n, const std::string& id) {
  auto r = n.client().request("GET", "/v1/complaints/" + id, "", TestNode::auth());
  return r.status == 200 ? json::get_string(*json::parse(r.body), "status") : "missing";
}

}  // namespace

TEST_CASE(
    "restore: a leaf restored from a backup recovers its own complaints from the parent - no "
    "orphan decisions") {
  test::TempDir pdir, ldir;
  TestNode parent(test::province_config(pdir));
  const std::string upstream = test::upstream_member(parent);
  Config leaf_cfg = test::node_config(ldir, "kota-batam", upstream);
  const std::string db = leaf_cfg.store.path, backup = ldir.file("backup.db");

  auto leaf = std::make_unique<TestNode>(leaf_cfg);
  std::string before = post(*leaf, "/v1/complaints", test::sample_complaint("Sebelum backup"));
  REQUIRE(eventually([&] { return status_at(parent, before) == "received"; }));
  {
    SqliteStore s(test::keyed_store(db));
    s.backup_to(backup);
  }
  // After the backup: two complaints, an officer's action on one, all acknowledged upstream.
  std::string lost = post(
      *leaf, "/v1/complaints",
      test::sample_complaint("Sesudah backup", R"(,"refs":[{"system":"apekesah","id":"9001"}])"));
  std::string also_lost =
      post(*leaf, "/v1/complaints", test::sample_complaint("Sesudah backup juga"));
  post(*leaf, "/v1/complaints/" + lost + "/events", R"({"kind":"verified"})");
  REQUIRE(eventually([&] {
    return status_at(parent, lost) == "verified" && status_at(parent, also_lost) == "received";
  }));
  REQUIRE(eventually([&] {
    return db_count(db,
                    "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = "
                    "'pending'") == 0;
  }));
  const std::int64_t parent_events =
      db_count(parent.config().store.path, "SELECT count(*) FROM events");

  // The leaf's disk is lost; the operator restores last night's backup.
  leaf.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  std::filesystem::copy_file(backup, db);
  REQUIRE(status_at(parent, lost) == "verified");
  // Meanwhile the province decides on the lost complaint: it goes down the feed to Batam.
  post(parent, "/v1/complaints/" + lost + "/events",
       R"({"kind":"disposed","payload":{"agency":"dinas-pu-batam"}})");

  leaf = std::make_unique<TestNode>(leaf_cfg);
  // Recovered before the node listened: the complaints are whole at once, with their refs.
  CHECK(status_at(*leaf, also_lost) == "received");
  CHECK(db_count(db,
                 "SELECT count(*) FROM refs WHERE system = 'apekesah' AND ext_id = '9001' AND "
                 "complaint_id = '" +
                     lost + "'") == 1);
  REQUIRE(eventually([&] { return status_at(*leaf, lost) == "disposed"; }));
  CHECK(db_count(db, "SELECT count(*) FROM conflicts") == 0);
  // Nothing was sent up twice: the parent holds what it held, plus its own decision.
  CHECK(eventually([&] {
    return db_count(db,
                    "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = "
                    "'pending'") == 0;
  }));
  CHECK(db_count(parent.config().store.path, "SELECT count(*) FROM events") == parent_events + 1);
  // The hop paths are this node's own again.
  CHECK(db_count(db,
                 "SELECT count(*) FROM events WHERE kind = 'created' AND hops_json = "
                 "'[\"kota-batam\"]'") == 3);
  // And the leaf takes new complaints as before.
  std::string after = post(*leaf, "/v1/complaints", test::sample_complaint("Sesudah pemulihan"));
  CHECK(eventually([&] { return status_at(parent, after) == "received"; }));
}
