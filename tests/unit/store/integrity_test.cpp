// Store-level cases of what broke under attack (docs: the integrity issue's items): an error
// answer inside the caller's transaction, a remote privacy change, the parent's ancestors on a
// hop path, clocks ahead and clocks gone back, a second created from the parent, backups, and
// inbound dead letters. Real SQLite stores in temp files.

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <set>

#include "core/hop_redact.hpp"
#include "core/json.hpp"
#include "core/normalize.hpp"
#include "core/uuid.hpp"
#include "ledger/ledger.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

constexpr TimeMs kNow = 1'796'000'000'000;  // 2026-11-30

using test::db_count;

// Every table a write touches, counted in the database file `db`.
std::string rows(const std::string& db) {
  std::string out;
  for (const char* t : {"events", "complaints", "refs", "outbox", "raw_payloads", "idempotency"})
    out += std::string(t) + "=" +
           std::to_string(db_count(db, std::string("SELECT count(*) FROM ") + t)) + " ";
  return out;
}

IngestRequest request(const std::string& privacy, const std::string& origin = "kota-batam") {
  std::string body =
      R"({"type":"pengaduan","title":"Jalan","body":"Isi","channel":"web","privacy":")" + privacy +
      R"(","reporter":{"name":"CANARY-REPORTER-3317"}})";
  IngestRequest r;
  auto c = read_complaint(body, {Zone{}, "21.71", kNow});
  REQUIRE(c.has_value());
  r.complaint = *c;
  r.raw_body = body;
  r.origin = origin;
  r.now = kNow;
  return r;
}

LedgerRules rules(std::string self, std::string upstream, Directory children = {}) {
  LedgerRules r;
  r.self = std::move(self);
  r.upstream = std::move(upstream);
  r.children = std::move(children);
  return r;
}

std::string ingest(Ledger& l, const IngestRequest& r) {
  l.store().begin();
  auto out = l.ingest(r);
  l.store().commit();
  REQUIRE(out.error == errc::ok);
  return out.complaint_id;
}

Event event(const std::string& id, EventKind kind, const std::string& payload,
            const std::string& origin, TimeMs at, std::vector<std::string> hops = {}) {
  Event e;
  e.event_id = make_uuid_v7(at);
  e.complaint_id = id;
  e.origin = origin;
  e.at = at;
  e.actor = Actor{"operator", "", ""};
  e.kind = kind;
  e.payload = payload;
  e.hops = hops.empty() ? std::vector<std::string>{origin} : hops;
  return e;
}

struct Stores {
  test::TempDir dir;
  SqliteStore leaf{StoreOptions{dir.file("leaf.db"), false, 5000, true}};
  Ledger leaf_ledger{leaf, rules("kota-batam", "provinsi-kepri")};
};

// A province (parent of kota-batam, child of nasional) and a record of a new Batam complaint.
struct Province {
  test::TempDir dir;
  SqliteStore kepri{StoreOptions{dir.file("kepri.db"), false, 5000, true}};
  Directory children{{ChildNode{"kota-batam", {"21.71"}, {}}}};
  std::string id = make_uuid_v7(kNow);
  std::string rec =
      R"({"id":")" + id +
      R"(","refs":[],"type":"pengaduan","title":"J","body":"B","region":"21.71",)"
      R"("received_at":"2026-11-20T01:00:00.000Z","channel":"app","privacy":"anonim","attachments":[]})";
  Ledger kepri_ledger{kepri, rules("provinsi-kepri", "nasional", children)};
};

}  // namespace

TEST_CASE(
    "integrity: an ingest whose history the state machine refuses leaves nothing in the caller's "
    "transaction") {
  test::TempDir dir;
  SqliteStore s(StoreOptions{dir.file("s.db"), false, 5000, true});
  Ledger l(s, rules("kota-batam", "provinsi-kepri"));
  auto r = request("anonim");
  r.history.push_back(event("", EventKind::closed, R"({"reason":"x"})", "kota-batam",
                            kNow));  // closed from received
  std::string before = rows(dir.file("s.db"));
  s.begin();
  auto out = l.ingest(r);
  s.commit();  // the caller commits whatever the answer: nothing of the refused ingest is in it
  CHECK(out.error == errc::transition_not_allowed);
  CHECK(rows(dir.file("s.db")) == before);
}

TEST_CASE(
    "integrity: an existing id is a duplicate when the record is the same - refused and audited "
    "when not") {
  test::TempDir dir;
  SqliteStore s(StoreOptions{dir.file("s.db"), false, 5000, true});
  Ledger l(s, rules("kota-batam", "provinsi-kepri"));
  auto r = request("rahasia");
  std::string id = ingest(l, r);
  auto again = r;
  again.complaint.id = id;
  again.complaint.received_at = r.complaint.received_at;
  s.begin();
  auto same = l.ingest(again);
  s.commit();
  CHECK(same.kind == WriteOutcome::Kind::duplicate);
  auto forged = again;
  forged.complaint.privacy = Privacy::public_;
  forged.complaint.received_at = 946'684'800'000;  // 2000-01-01: would win the fold
  std::string before = rows(dir.file("s.db"));
  s.begin();
  auto out = l.ingest(forged);
  s.commit();
  CHECK(out.error == errc::already_exists);
  CHECK(rows(dir.file("s.db")) == before);
  CHECK(db_count(dir.file("s.db"),
                 "SELECT count(*) FROM audit_log WHERE action = 'ingest.rejected'") == 1);
  CHECK(db_count(dir.file("s.db"), "SELECT count(*) FROM complaints WHERE privacy = 'rahasia'") ==
        1);
}

TEST_CASE_FIXTURE(Stores,
                  "integrity: the reporter of an anonim complaint stays at the leaf after the "
                  "nation sets it public") {
  std::string id = ingest(leaf_ledger, request("anonim"));
  // The nation amends the leaf's complaint to public; it comes down the feed.
  auto lowered = event(id, EventKind::amended, R"({"fields":{"privacy":"public"}})", "nasional",
                       kNow + 10, {"nasional", "provinsi-kepri"});
  leaf.begin();
  leaf_ledger.merge_from_parent({lowered}, "f1", kNow + 20);
  leaf.commit();
  auto st = fold(leaf.events_of(id), FoldContext{});
  CHECK(st.record.privacy == Privacy::anonim);
  REQUIRE(st.conflicts.size() == 1);
  CHECK(st.conflicts[0].reason.find("may lower its privacy") != std::string::npos);
  // The officer's next reporter correction: queued up, and what leaves the leaf has no reporter.
  AppendRequest fix;
  fix.event = event(id, EventKind::amended,
                    R"({"fields":{"reporter":{"name":"CANARY-REPORTER-3317 dibetulkan"}}})",
                    "kota-batam", kNow + 30);
  leaf.begin();
  REQUIRE(leaf_ledger.act(fix).error == errc::ok);
  leaf.commit();
  for (auto item : leaf.due_outbox("upstream", kNow + 60'000, 100)) {
    redact_for_hop(item.event, item.privacy);
    CHECK(item.event.payload.find("CANARY") == std::string::npos);
  }
  // The receiving node itself may lower it (the API asks for an admin, tests/integration).
  AppendRequest own;
  own.event =
      event(id, EventKind::amended, R"({"fields":{"privacy":"public"}})", "kota-batam", kNow + 40);
  own.may_lower_privacy = true;
  leaf.begin();
  CHECK(leaf_ledger.act(own).error == errc::ok);
  leaf.commit();
  CHECK(fold(leaf.events_of(id), FoldContext{}).record.privacy == Privacy::public_);
}

TEST_CASE("integrity: the citizen's name as actor leaves no node for anonim or rahasia") {
  Event e = event("c", EventKind::citizen_replied, R"({"text":"Belum"})", "kota-batam", kNow);
  e.actor = Actor{"citizen", "", "CANARY-REPORTER-3317"};
  Event copy = e;
  redact_for_hop(copy, Privacy::rahasia);
  CHECK(copy.actor.name.empty());
  copy = e;
  redact_for_hop(copy, Privacy::public_);
  CHECK(copy.actor.name == "CANARY-REPORTER-3317");
  CHECK(json::event_to_json(e, false).find("CANARY") == std::string::npos);
}

TEST_CASE_FIXTURE(
    Province,
    "integrity: a hop path naming this node's parent is rejected - it cannot come from below") {
  auto e = event(id, EventKind::created, rec, "nasional", kNow, {"nasional", "kota-batam"});
  kepri.begin();
  auto out = kepri_ledger.merge_from_child("kota-batam", {e}, kNow);
  kepri.commit();
  REQUIRE(out.size() == 1);
  CHECK(out[0].outcome == MergeResult::rejected);
  CHECK(out[0].reason.find("parent") != std::string::npos);
  CHECK(db_count(dir.file("kepri.db"), "SELECT count(*) FROM events") == 0);
}

TEST_CASE_FIXTURE(Province,
                  "integrity: a child's event stamped a day ahead is refused - within the skew it "
                  "does not stall the parent's outbox") {
  kepri.begin();
  auto created = kepri_ledger.merge_from_child(
      "kota-batam", {event(id, EventKind::created, rec, "kota-batam", kNow)}, kNow);
  auto ahead = kepri_ledger.merge_from_child(
      "kota-batam", {event(id, EventKind::verified, "{}", "kota-batam", kNow + 24 * 3'600'000)},
      kNow);
  auto slightly = kepri_ledger.merge_from_child(
      "kota-batam", {event(id, EventKind::verified, "{}", "kota-batam", kNow + 60'000)}, kNow);
  kepri.commit();
  CHECK(created[0].outcome == MergeResult::accepted);
  CHECK(ahead[0].outcome == MergeResult::rejected);
  CHECK(ahead[0].reason.find("future") != std::string::npos);
  CHECK(slightly[0].outcome == MergeResult::accepted);
  // The province's own next action folds after the child's (a minute ahead) but is due now.
  AppendRequest act;
  act.event = event(id, EventKind::disposed, R"({"agency":"dinas-pu-batam"})", "provinsi-kepri",
                    kNow + 1000);
  act.now = kNow + 1000;
  kepri.begin();
  REQUIRE(kepri_ledger.act(act).error == errc::ok);
  kepri.commit();
  auto due = kepri.due_outbox("upstream", kNow + 1000, 100);
  bool found = false;
  for (const auto& q : due) found = found || q.event.kind == EventKind::disposed;
  CHECK(found);
}

TEST_CASE_FIXTURE(
    Stores,
    "integrity: outbox rows written by a clock 40 days ahead are due once it is corrected") {
  const TimeMs ahead = kNow + 40LL * 24 * 3'600'000;
  auto r = request("anonim");
  r.now = ahead;
  ingest(leaf_ledger, r);
  CHECK(leaf.due_outbox("upstream", kNow, 100).size() == 1);
  // A row put back by an ordinary retry (within an hour) is not due early.
  auto row = leaf.due_outbox("upstream", kNow, 100).front().id;
  leaf.begin();
  leaf.outbox_failed(row, "busy", kNow + 30'000);
  leaf.commit();
  CHECK(leaf.due_outbox("upstream", kNow, 100).empty());
  CHECK(leaf.due_outbox("upstream", kNow + 30'000, 100).size() == 1);
}

TEST_CASE_FIXTURE(
    Stores, "integrity: a second created from the parent never replaces a complaint held here") {
  std::string id = ingest(leaf_ledger, request("anonim", "provinsi-kepri"));
  auto state_of = [&](const std::string& cid) {
    return json::state_to_json(fold(leaf.events_of(cid), FoldContext{}), true);
  };
  std::string before = state_of(id);
  std::string rec =
      R"({"id":")" + id +
      R"(","refs":[],"type":"aspirasi","title":"Lain","body":"B","region":"21.71",)"
      R"("received_at":"2000-01-01T00:00:00.000Z","channel":"app","privacy":"public","attachments":[]})";
  leaf.begin();
  CHECK(leaf_ledger.merge_from_parent(
            {event(id, EventKind::created, rec, "nasional", kNow, {"nasional", "provinsi-kepri"})},
            "f9", kNow) == 0);
  leaf.commit();
  CHECK(state_of(id) == before);
  CHECK(db_count(dir.file("leaf.db"),
                 "SELECT count(*) FROM audit_log WHERE action = 'fed.rejected'") == 1);
  CHECK(read_cursor_text(leaf.cursor("upstream.changes")).body == "f9");  // the feed moves on
}

TEST_CASE_FIXTURE(Stores, "integrity: dlq retry on an inbound dead letter keeps it and says why") {
  leaf.begin();
  leaf.inbound_dead_letter("connector:apekesah", "record 77: /judul: missing", kNow);
  leaf.commit();
  auto letters = leaf.dead_letters(10);
  REQUIRE(letters.size() == 1);
  leaf.begin();
  CHECK(leaf.retry_dead_letter(letters[0].id, kNow) == Store::DeadLetterRetry::inbound);
  CHECK(leaf.retry_dead_letter(letters[0].id + 100, kNow) == Store::DeadLetterRetry::unknown);
  leaf.commit();
  CHECK(leaf.dead_letters(10).size() == 1);
}

TEST_CASE_FIXTURE(Stores,
                  "integrity: a backup killed mid-way leaves nothing at the destination - a "
                  "finished one passes its check") {
  // Enough rows (~16 MB) that the copy takes long enough to be caught writing.
  leaf.begin();
  for (int i = 0; i < 6000; ++i) {
    auto r = request("anonim");
    r.complaint.body = std::string(2000, 'x');
    leaf_ledger.ingest(r);
  }
  leaf.commit();
  const std::string dest = dir.file("backup.db"), partial = dest + ".partial";
  pid_t pid = ::fork();
  if (pid == 0) {
    SqliteStore copy(StoreOptions{dir.file("leaf.db"), false, 5000, false, false});
    copy.backup_to(dest);
    ::_exit(0);
  }
  // Killed while it writes the copy.
  std::error_code ec;
  while (std::filesystem::file_size(partial, ec) == 0 || ec) ::usleep(100);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  CHECK_FALSE(std::filesystem::exists(dest));
  CHECK(std::filesystem::exists(partial));
  // What the killed run left is cleared by the next one, which completes.
  leaf.backup_to(dest);
  SqliteStore copy(StoreOptions{dest, false, 5000, false, false});
  CHECK(copy.complaint_count() == 6000);
  CHECK_FALSE(std::filesystem::exists(partial));
  CHECK_THROWS_AS(leaf.backup_to(dest), StoreError);  // never over an existing file
}

TEST_CASE("integrity: a store that had a database is not created empty in its place") {
  test::TempDir dir;
  const std::string path = dir.file("node.db");
  { SqliteStore s(StoreOptions{path, false, 5000, true}); }
  CHECK(std::filesystem::exists(SqliteStore::expected_marker(path)));
  std::filesystem::remove(path);
  CHECK_THROWS_AS(SqliteStore(StoreOptions{path, false, 5000, true}), StoreError);
  CHECK_FALSE(std::filesystem::exists(path));
  StoreOptions fresh{path, false, 5000, true};
  fresh.recreate = true;
  SqliteStore s(fresh);
  CHECK(s.complaint_count() == 0);
}

TEST_CASE_FIXTURE(Stores,
                  "integrity: a record from the parent is validated like the API's own input") {
  std::string id = make_uuid_v7(kNow);
  std::string huge =
      R"({"id":")" + id + R"(","refs":[],"type":"pengaduan","title":")" +
      std::string(600'000, 'x') +
      R"(","body":"B","region":"21.71","received_at":"2026-11-20T01:00:00.000Z","channel":"app",)"
      R"("privacy":"bogus","attachments":[]})";
  leaf.begin();
  CHECK(leaf_ledger.merge_from_parent(
            {event(id, EventKind::created, huge, "provinsi-kepri", kNow, {"provinsi-kepri"})}, "f3",
            kNow) == 0);
  leaf.commit();
  CHECK(db_count(dir.file("leaf.db"), "SELECT count(*) FROM events") == 0);
  CHECK(db_count(dir.file("leaf.db"),
                 "SELECT count(*) FROM audit_log WHERE action = 'fed.rejected'") == 1);
  CHECK(read_cursor_text(leaf.cursor("upstream.changes")).body == "f3");
}

TEST_CASE(
    "integrity: a migrated history or a source update disposing to an agency not in the reference "
    "stores nothing") {
  test::TempDir dir;
  SqliteStore s(StoreOptions{dir.file("s.db"), false, 5000, true});
  auto r_rules = rules("kota-batam", "provinsi-kepri");
  r_rules.agencies = std::set<std::string>{"dinas-pu-batam"};
  Ledger l(s, r_rules);
  // A record whose past disposes it to a misspelled agency: refused whole.
  auto r = request("anonim");
  r.history.push_back(
      event("", EventKind::disposed, R"({"agency":"dinas-pu-btam"})", "kota-batam", kNow));
  std::string before = rows(dir.file("s.db"));
  s.begin();
  auto out = l.ingest(r);
  s.commit();
  CHECK(out.error == errc::invalid_value);
  CHECK(out.detail.find("dinas-pu-btam") != std::string::npos);
  CHECK(rows(dir.file("s.db")) == before);
  // A known complaint's update that amends and then disposes to an unknown agency: neither stays.
  const std::string id = ingest(l, request("anonim"));
  before = rows(dir.file("s.db"));
  s.begin();
  auto upd = l.act_planned(
      id,
      [&](const ComplaintState&) {
        return std::vector<Event>{
            event(id, EventKind::amended, R"({"fields":{"title":"Jalan berlubang"}})", "kota-batam",
                  kNow + 1000),
            event(id, EventKind::disposed, R"({"agency":"dinas-sosial"})", "kota-batam",
                  kNow + 2000)};
      },
      kNow + 2000);
  s.commit();
  CHECK(upd.error == errc::invalid_value);
  CHECK(upd.pointer == "/payload/agency");
  CHECK(rows(dir.file("s.db")) == before);
  // The same to a known agency goes in, both events after the latest, in order.
  s.begin();
  auto ok = l.act_planned(
      id,
      [&](const ComplaintState& st) {
        CHECK(st.status == Status::received);
        return std::vector<Event>{
            event(id, EventKind::amended, R"({"fields":{"title":"Jalan berlubang"}})", "kota-batam",
                  kNow + 1000),
            event(id, EventKind::disposed, R"({"agency":"dinas-pu-batam"})", "kota-batam",
                  kNow + 2000)};
      },
      kNow + 2000);
  s.commit();
  REQUIRE(ok.error == errc::ok);
  REQUIRE(ok.state.has_value());
  CHECK(ok.state->status == Status::disposed);
  CHECK(ok.state->record.title == "Jalan berlubang");
  CHECK(ok.state->record.agency == "dinas-pu-batam");
}

TEST_CASE(
    "integrity: a hub decision held as a conflict is not relayed to the app the complaint came "
    "from - an allowed one is") {
  test::TempDir dir;
  SqliteStore s(StoreOptions{dir.file("s.db"), false, 5000, true});
  LedgerRules r = rules("provinsi-kepri", "lapor");
  r.outbound = {OutboundRoute{"apekesah", "apekesah", {"connector:apekesah"}}};
  Ledger l(s, r);
  const std::string id = ingest(l, request("anonim", "provinsi-kepri"));
  s.begin();
  s.add_ref({"apekesah", "8812"}, id, kNow);
  s.commit();
  // A close of a report nobody answered here (refused: a conflict), then a verification.
  auto close = event(id, EventKind::closed, "{}", "lapor", kNow + 10);
  auto verify = event(id, EventKind::verified, "{}", "lapor", kNow + 20);
  s.begin();
  l.merge_from_parent({close, verify}, "1", kNow + 30, "lapor.notifications");
  s.commit();
  auto st = fold(s.events_of(id), FoldContext{});
  REQUIRE(st.conflicts.size() == 1);
  CHECK(st.conflicts[0].event_id == close.event_id);
  std::set<std::string> relayed;
  for (const auto& item : s.due_outbox("connector:apekesah", kNow + 60'000, 100))
    relayed.insert(item.event.event_id);
  CHECK(relayed.count(verify.event_id) == 1);
  CHECK(relayed.count(close.event_id) == 0);
}
