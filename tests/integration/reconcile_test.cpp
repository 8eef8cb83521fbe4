// Reconciliation with the tier above (reconcile/reconcile.hpp): against the SP4N-LAPOR!
// simulator (a report entered on the hub itself, a create that was lost, a close the hub never
// notified, an agency the two sides disagree on) and between a kabupaten/kota and its province
// (an event the parent lacks after the child's outbox row was dropped by hand, one the parent's
// feed row for the child was dropped). Each finding is listed without --repair and changes
// nothing; with it, it is repaired once and audited, and the next run finds nothing.

#include "reconcile/reconcile.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <thread>

#include "core/json.hpp"
#include "intake/registry.hpp"
#include "ledger/ledger.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"
#include "store/store.hpp"
#include "support/lapor_sim_support.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;

namespace {

// One run as `simpul reconcile` makes it, over the last day.
reconcile::Report reconcile_now(const Config& cfg, reconcile::With with, bool repair) {
  auto store = open_node_store(cfg, StoreUse::existing);
  Ledger ledger(*store, ledger_rules(cfg, build_connectors(cfg)));
  reconcile::Write write = [&](std::function<void(Ledger&)> work) {
    store->begin();
    try {
      work(ledger);
      store->commit();
    } catch (...) {
      store->rollback();
      throw;
    }
  };
  reconcile::Options o;
  o.with = with;
  o.repair = repair;
  o.to = system_now_ms();
  o.from = o.to - 86'400'000;
  auto r = reconcile::run(cfg, *store, write, o, [] { return system_now_ms(); });
  write([&r](Ledger& l) { reconcile::keep_summary(l.store(), r); });
  return r;
}

const reconcile::Finding* find(const reconcile::Report& r, const std::string& kind,
                               const std::string& reason) {
  for (const auto& f : r.findings)
    if (f.kind == kind && f.reason == reason) return &f;
  return nullptr;
}

std::string lapor_upstream(std::uint16_t port, const std::string& extra_lapor = "") {
  setenv("SIMPUL_TEST_LAPOR_SECRET", test::kSimClientSecret, 1);
  return R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(port) +
         R"(", "node": "lapor", "dialect": "lapor", "credential": "env:SIMPUL_TEST_LAPOR_SECRET",
         "timeout_ms": 1000, "max_backoff_ms": 1000, "lapor": {"client_id": "kepri",
         "source": "simpul-kepri", "poll_interval_ms": 100, "sweep_interval_s": 3600,
         "hot_batch": 0, "reconcile_requests_per_minute": 6000, "list_page": 2,
         "agencies": {"Dinas PU Kota Batam": "dinas-pu-batam"},
         "topics": {"3": "jalan"})" +
         extra_lapor + "}},";
}

std::int64_t hub_post(test::LaporSim& hub, const std::string& target, const std::string& body,
                      std::string* report = nullptr) {
  auto r = hub.client().request("POST", target, body, hub.admin());
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto doc = json::parse(r.body);
  REQUIRE(doc.has_value());
  if (report) *report = r.body;
  return std::atoll(json::get_string((*doc)["report"], "nid").c_str());
}

std::string ingest(test::TestNode& node, const std::string& title) {
  auto r = node.client().request("POST", "/v1/complaints", test::sample_complaint(title),
                                 test::TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return json::get_string(*json::parse(r.body), "id");
}

std::string status_of(test::TestNode& node, const std::string& id) {
  auto r = node.client().request("GET", "/v1/complaints/" + id, "", test::TestNode::auth());
  return json::get_string(*json::parse(r.body), "status");
}

std::int64_t nid_of(const Config& cfg, const std::string& id) {
  return db_count(cfg.store.path,
                  "SELECT coalesce(max(CAST(ext_id AS INTEGER)), 0) FROM refs WHERE system = "
                  "'lapor' AND complaint_id = '" +
                      id + "'");
}

}  // namespace

TEST_CASE(
    "reconcile with the hub: a report entered on the hub for our region is listed - repair pulls "
    "it with its history marked as entered upstream - once") {
  test::LaporSim hub;
  test::TempDir dir;
  Config cfg = test::node_config(dir, "provinsi-kepri", lapor_upstream(hub.port()));
  test::TestNode node(cfg);
  // Three of ours at the hub (two pages of the hub's list at list_page 2, with the one below).
  for (int i = 0; i < 3; ++i) ingest(node, "Aduan kami " + std::to_string(i));
  REQUIRE(eventually([&] {
    return db_count(cfg.store.path, "SELECT count(*) FROM refs WHERE system = 'lapor'") == 3;
  }));
  // Entered on the hub's own web channel for this region: disposed, answered and closed there,
  // never notified to us as new.
  const std::int64_t nid = hub_post(hub, "/admin/streams",
                                    R"({"client": "kepri", "subject": "Lampu jalan padam",
                                        "content": "Lampu jalan di Sekupang padam seminggu.",
                                        "topic": "3", "agency": "DINAS PU - KOTA BATAM"})");
  hub_post(hub, "/admin/stream/" + std::to_string(nid) + "/answer",
           R"({"text": "Sudah diganti lampunya", "agency": "Dinas PU Kota Batam"})");
  hub_post(hub, "/admin/stream/" + std::to_string(nid) + "/close", "{}");
  const std::string ref = "lapor:" + std::to_string(nid);
  const std::int64_t complaints = db_count(cfg.store.path, "SELECT count(*) FROM complaints");

  auto seen = reconcile_now(cfg, reconcile::With::hub, false);
  CHECK(seen.error.empty());
  CHECK(seen.ours == 3);
  CHECK(seen.theirs == 4);
  REQUIRE(seen.drift() == 1);
  const auto* missing = find(seen, "missing_here", "entered_there");
  REQUIRE(missing != nullptr);
  CHECK(missing->ref == ref);
  CHECK(missing->repair.empty());
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints") == complaints);  // read only

  auto repaired = reconcile_now(cfg, reconcile::With::hub, true);
  REQUIRE(repaired.drift() == 1);
  REQUIRE(repaired.findings[0].repair == "pulled");
  const std::string id = repaired.findings[0].complaint_id;
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints") == complaints + 1);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM refs WHERE system = 'lapor' AND ext_id = '" +
                                     std::to_string(nid) + "' AND complaint_id = '" + id + "'") ==
        1);
  // Its history as the hub has it, from the hub (origin lapor), through the region's tables.
  auto r = node.client().request("GET", "/v1/complaints/" + id, "", test::TestNode::auth());
  REQUIRE(r.status == 200);
  auto doc = json::parse(r.body);
  REQUIRE(doc.has_value());
  CHECK(json::get_string(*doc, "status") == "closed");
  CHECK(json::get_string(*doc, "agency") == "dinas-pu-batam");
  CHECK(json::get_string(*doc, "channel") == "lapor");
  CHECK(json::get_string((*doc)["category"], "local") == "jalan");
  CHECK(json::get_string((*doc)["category"], "topic_id") == "3");
  CHECK(json::get_string(*doc, "region") == cfg.node.region);
  std::vector<std::string> kinds;
  for (const auto& e : (*doc)["events"].GetArray()) {
    kinds.push_back(json::get_string(e, "kind"));
    CHECK(json::get_string(e, "origin") == "lapor");
  }
  CHECK(kinds == std::vector<std::string>{"created", "disposed", "responded", "closed"});
  CHECK(db_count(cfg.store.path,
                 "SELECT count(*) FROM audit_log WHERE action = 'reconcile.pulled' AND target = '" +
                     id + "' AND detail_json LIKE '%upstream%'") == 1);
  // Nothing of it goes back up: it came from there.
  CHECK(db_count(cfg.store.path,
                 "SELECT count(*) FROM outbox o JOIN events e ON e.seq = o.event_seq WHERE "
                 "o.destination = 'upstream' AND e.complaint_id = '" +
                     id + "'") == 0);

  auto again = reconcile_now(cfg, reconcile::With::hub, true);
  CHECK(again.drift() == 0);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints") == complaints + 1);
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM events WHERE complaint_id = '" + id + "'") ==
        4);
  auto summary = [&] {
    auto s = open_node_store(cfg, StoreUse::existing);
    return reconcile::last_summary(*s, reconcile::With::hub);
  }();
  REQUIRE(summary.has_value());
  CHECK(summary->drift() == 0);
  CHECK(summary->drift_since == 0);
}

TEST_CASE(
    "reconcile with the hub: a complaint whose create was lost is found and re-sent exactly once "
    "- a dead-lettered one too") {
  const std::uint16_t port = test::free_port();
  test::TempDir dir;
  Config cfg = test::node_config(dir, "provinsi-kepri", lapor_upstream(port));
  std::string lost, dead;
  {
    test::TestNode node(cfg);  // the hub is not there: the creates wait in the outbox
    lost = ingest(node, "Aduan yang hilang");
    dead = ingest(node, "Aduan yang ditolak");
  }
  // The create of `lost` dropped by hand: nothing will ever send it. `dead` dead-lettered.
  test::db_exec(cfg.store.path,
                "DELETE FROM outbox WHERE destination = 'upstream' AND event_seq = (SELECT seq "
                "FROM events WHERE kind = 'created' AND complaint_id = '" +
                    lost + "')");
  test::db_exec(cfg.store.path,
                "UPDATE outbox SET state = 'dead' WHERE destination = 'upstream' AND event_seq = "
                "(SELECT seq FROM events WHERE kind = 'created' AND complaint_id = '" +
                    dead + "')");
  test::LaporSim hub({}, 3600, port);

  auto seen = reconcile_now(cfg, reconcile::With::hub, false);
  CHECK(seen.error.empty());
  REQUIRE(seen.drift() == 2);
  const auto* never = find(seen, "missing_there", "never_linked");
  REQUIRE(never != nullptr);
  CHECK(never->complaint_id == lost);
  const auto* refused = find(seen, "missing_there", "dead_lettered");
  REQUIRE(refused != nullptr);
  CHECK(refused->complaint_id == dead);

  auto repaired = reconcile_now(cfg, reconcile::With::hub, true);
  REQUIRE(repaired.drift() == 2);
  for (const auto& f : repaired.findings) CHECK(f.repair == "requeued");
  // Asked again before the node sent them: on their way, not queued twice.
  auto queued = reconcile_now(cfg, reconcile::With::hub, true);
  CHECK(queued.drift() == 0);
  CHECK(queued.in_flight == 2);
  CHECK(db_count(cfg.store.path,
                 "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = "
                 "'pending'") == 2);
  CHECK(db_count(cfg.store.path,
                 "SELECT count(*) FROM audit_log WHERE action = "
                 "'reconcile.requeued'") == 2);

  test::TestNode node(cfg);
  REQUIRE(eventually([&] { return nid_of(cfg, lost) > 0 && nid_of(cfg, dead) > 0; }));
  auto all = hub.client().request("GET", "/admin/streams", "", hub.admin());
  auto reports = json::parse(all.body);
  REQUIRE(reports.has_value());
  CHECK(reports->Size() == 2);
  for (const auto& rep : reports->GetArray()) CHECK(rep["creates"].GetInt() == 1);
  CHECK(reconcile_now(cfg, reconcile::With::hub, true).drift() == 0);
}

TEST_CASE(
    "reconcile with the hub: a close the hub never notified is a status finding - an agency the "
    "two sides disagree on too - repair reads the close in") {
  test::LaporSim hub;
  test::TempDir dir;
  // Neither the hub's list of changes nor the recent-activity pass: only reconciling finds it.
  Config cfg = test::node_config(dir, "provinsi-kepri",
                                 lapor_upstream(hub.port(), R"(, "activity_poll": false)"));
  test::TestNode node(cfg);
  const std::string closing = ingest(node, "Akan ditutup di hub");
  const std::string other = ingest(node, "Disposisi berbeda");
  REQUIRE(eventually([&] { return nid_of(cfg, closing) > 0 && nid_of(cfg, other) > 0; }));
  hub_post(hub, "/admin/stream/" + std::to_string(nid_of(cfg, closing)) + "/dispose",
           R"({"agency": "Dinas PU Kota Batam"})");
  REQUIRE(eventually([&] { return status_of(node, closing) == "disposed"; }));
  hub_post(hub, "/admin/stream/" + std::to_string(nid_of(cfg, closing)) + "/answer",
           R"({"text": "Sudah ditambal", "agency": "Dinas PU Kota Batam"})");
  REQUIRE(eventually([&] { return status_of(node, closing) == "responded"; }));
  hub_post(hub, "/admin/stream/" + std::to_string(nid_of(cfg, closing)) + "/close", "{}");
  // Here the region disposed to one OPD, the hub to another.
  auto r = node.client().request("POST", "/v1/complaints/" + other + "/events",
                                 R"({"kind": "disposed", "payload": {"agency": "dinkes-batam"}})",
                                 test::TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  hub_post(hub, "/admin/stream/" + std::to_string(nid_of(cfg, other)) + "/dispose",
           R"({"agency": "Dinas PU Kota Batam"})");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the notification is read
  CHECK(status_of(node, closing) == "responded");  // no sweep for an hour, no recent pass

  auto seen = reconcile_now(cfg, reconcile::With::hub, false);
  REQUIRE(seen.drift() == 2);
  const auto* behind = find(seen, "status", "behind");
  REQUIRE(behind != nullptr);
  CHECK(behind->complaint_id == closing);
  CHECK(behind->here == "responded");
  CHECK(behind->there == "closed (9)");
  const auto* agency = find(seen, "agency", "differs");
  REQUIRE(agency != nullptr);
  CHECK(agency->complaint_id == other);
  CHECK(agency->here == "dinkes-batam");
  CHECK(agency->there == "dinas-pu-batam");

  auto repaired = reconcile_now(cfg, reconcile::With::hub, true);
  REQUIRE(repaired.drift() == 2);
  REQUIRE(eventually([&] { return status_of(node, closing) == "closed"; }, 5));
  // The agency stays as the region decided: an admin settles that one.
  auto next = reconcile_now(cfg, reconcile::With::hub, false);
  CHECK(next.drift() == 1);
  CHECK(find(next, "agency", "differs") != nullptr);
}

TEST_CASE(
    "reconcile with the parent: finds the event the parent lacks after the child's outbox row "
    "was dropped by hand - and the one the parent's feed row for it was dropped - repair sends "
    "each once") {
  test::TempDir pdir, ldir;
  test::TestNode parent(test::province_config(pdir));
  Config child_cfg = test::node_config(ldir, "kota-batam", test::upstream_member(parent));
  const std::string pdb = parent.config().store.path, cdb = child_cfg.store.path;
  std::string id;
  {
    test::TestNode child(child_cfg);
    id = ingest(child, "Aduan kota");
    REQUIRE(eventually([&] {
      return db_count(pdb, "SELECT count(*) FROM complaints WHERE id = '" + id + "'") == 1;
    }));
  }
  // While the child is down: a link written there by hand whose outbox row is dropped, and a
  // parent's decision whose feed row for the child is dropped.
  std::string out;
  REQUIRE(test::run_simpul({"link", "--config", ldir.file("kota-batam.json"), id, "apekesah:881"},
                           &out) == 0);
  test::db_exec(cdb,
                "DELETE FROM outbox WHERE destination = 'upstream' AND state = 'pending' AND "
                "event_seq IN (SELECT seq FROM events WHERE kind = 'linked')");
  auto r = parent.client().request("POST", "/v1/complaints/" + id + "/events",
                                   R"({"kind": "verified"})", test::TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  const std::string verified = json::get_string(*json::parse(r.body), "event_id");
  REQUIRE(!verified.empty());
  test::db_exec(pdb, "DELETE FROM outbox WHERE destination = 'child:kota-batam'");
  // A later decision, on the child's feed and not fetched yet: on its way, not drift.
  r = parent.client().request("POST", "/v1/complaints/" + id + "/events",
                              R"({"kind": "disposed", "payload": {"agency": "dinas-pu-batam"}})",
                              test::TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  {
    auto down = reconcile_now(child_cfg, reconcile::With::parent, false);
    CHECK(down.drift() == 2);
    CHECK(down.count("missing_here") == 1);
  }

  test::TestNode child(child_cfg);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the child syncs what it can
  const std::string linked_id = [&] {
    for (const auto& e : test::stored_events(cdb))
      if (e.kind == EventKind::linked) return e.event_id;
    return std::string();
  }();
  REQUIRE(!linked_id.empty());
  auto has_event = [](const std::string& db, const std::string& event) {
    return db_count(db, "SELECT count(*) FROM events WHERE event_id = '" + event + "'") == 1;
  };
  REQUIRE(!has_event(pdb, linked_id));
  REQUIRE(!has_event(cdb, verified));

  auto seen = reconcile_now(child_cfg, reconcile::With::parent, false);
  CHECK(seen.error.empty());
  REQUIRE(seen.drift() == 2);
  const auto* up = find(seen, "missing_there", "lost");
  REQUIRE(up != nullptr);
  CHECK(up->event_id == linked_id);
  const auto* down = find(seen, "missing_here", "not_delivered");
  REQUIRE(down != nullptr);
  CHECK(down->event_id == verified);

  auto repaired = reconcile_now(child_cfg, reconcile::With::parent, true);
  REQUIRE(repaired.drift() == 2);
  CHECK(find(repaired, "missing_there", "lost")->repair == "requeued");
  CHECK(find(repaired, "missing_here", "not_delivered")->repair == "resent");
  CHECK(eventually([&] { return has_event(pdb, linked_id) && has_event(cdb, verified); }));
  CHECK(eventually([&] { return status_of(child, id) == "disposed"; }, 5));
  CHECK(reconcile_now(child_cfg, reconcile::With::parent, false).drift() == 0);
  CHECK(db_count(pdb, "SELECT count(*) FROM audit_log WHERE action = 'fed.reconcile_resend'") == 1);
}

TEST_CASE(
    "reconcile: the command lists drift and exits 2 - a node of another tier is refused - simpul "
    "check names a hub topic it pulled that no entry maps") {
  test::LaporSim hub;
  test::TempDir dir;
  Config cfg = test::node_config(dir, "provinsi-kepri", lapor_upstream(hub.port()));
  hub_post(
      hub, "/admin/streams",
      R"({"client": "kepri", "subject": "Masuk lewat web", "content": "Dilaporkan langsung di hub nasional.", "topic": "7"})");
  { test::TestNode node(cfg); }  // the store exists
  std::string out;
  CHECK(test::run_simpul(
            {"reconcile", "--config", dir.file("provinsi-kepri.json"), "--with", "hub"}, &out) ==
        2);
  CHECK(out.find("missing here: 1") != std::string::npos);
  CHECK(out.find("missing_here (entered_there)") != std::string::npos);
  CHECK(test::run_simpul(
            {"reconcile", "--config", dir.file("provinsi-kepri.json"), "--with", "hub", "--csv"},
            &out) == 2);
  CHECK(out.find("kind,reason,complaint_id,ref,event_id,here,there,repair") != std::string::npos);
  CHECK(test::run_simpul(
            {"reconcile", "--config", dir.file("provinsi-kepri.json"), "--with", "parent"}, &out) ==
        78);
  CHECK(out.find("not parent") != std::string::npos);
  CHECK(test::run_simpul({"status", "--config", dir.file("provinsi-kepri.json")}, &out) == 0);
  CHECK(out.find("reconcile  hub at") != std::string::npos);
  CHECK(out.find("1 missing here") != std::string::npos);
  CHECK(test::run_simpul(
            {"reconcile", "--config", dir.file("provinsi-kepri.json"), "--with", "hub", "--repair"},
            &out) == 2);
  CHECK(out.find("-> pulled") != std::string::npos);
  CHECK(test::run_simpul({"check", "--config", dir.file("provinsi-kepri.json")}, &out) == 78);
  CHECK(out.find("have topic id \"7\", which no entry maps") != std::string::npos);
  CHECK(test::run_simpul(
            {"reconcile", "--config", dir.file("provinsi-kepri.json"), "--with", "hub"}, &out) ==
        0);
}

TEST_CASE(
    "reconcile: the node's own runs put drift on /metrics and a warning on /readyz once it "
    "lasts - with repair they pull the report and the drift goes") {
  test::LaporSim hub;
  hub_post(
      hub, "/admin/streams",
      R"({"client": "kepri", "subject": "Masuk lewat web", "content": "Dilaporkan langsung di hub nasional."})");
  for (const bool repair : {false, true}) {
    test::TempDir dir;
    Config cfg =
        test::node_config(dir, "provinsi-kepri",
                          lapor_upstream(hub.port()) +
                              R"("reconcile": {"interval_s": 1, "warn_after_s": 0, "repair": )" +
                              (repair ? "true" : "false") + "},");
    test::TestNode node(cfg);
    auto metric = [&](const std::string& kind) {
      const std::string body = node.client().request("GET", "/metrics").body;
      const std::string name = "simpul_reconcile_drift{with=\"hub\",kind=\"" + kind + "\"} ";
      auto at = body.find(name);
      return at == std::string::npos ? -1.0 : std::atof(body.c_str() + at + name.size());
    };
    auto ready_check = [&] {
      auto doc = json::parse(node.client().request("GET", "/readyz").body);
      if (!doc || !doc->HasMember("checks")) return std::string();
      auto it = (*doc)["checks"].FindMember("reconcile:hub");
      if (it == (*doc)["checks"].MemberEnd()) return std::string("absent");
      return it->value.IsString() ? std::string(it->value.GetString())
                                  : json::get_string(it->value, "state");
    };
    if (!repair) {
      CHECK(eventually([&] { return metric("missing_here") == 1.0; }, 10));
      CHECK(eventually([&] { return ready_check() == "warning"; }, 5));
      CHECK(db_count(cfg.store.path, "SELECT count(*) FROM complaints") == 0);
    } else {
      CHECK(eventually(
          [&] { return db_count(cfg.store.path, "SELECT count(*) FROM complaints") == 1; }, 10));
      CHECK(eventually([&] { return metric("missing_here") == 0.0; }, 10));
      CHECK(eventually([&] { return ready_check() == "ok"; }, 5));
    }
  }
}
