#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/normalize.hpp"
#include "core/uuid.hpp"
#include "ledger/ledger.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

IngestRequest request(const std::string& body, const std::string& key = "") {
  IngestRequest r;
  auto c = read_complaint(body, {Zone{}, "21.71", 1'763'600'000'000});
  REQUIRE(c.has_value());
  r.complaint = *c;
  r.raw_body = body;
  r.idem_scope = "tok1";
  r.idem_key = key;
  r.origin = "kota-batam";
  r.now = 1'763'600'000'000;
  return r;
}

WriteOutcome ingest(Ledger& l, const IngestRequest& r) {
  l.store().begin();
  auto out = l.ingest(r);
  l.store().commit();
  return out;
}

WriteOutcome act(Ledger& l, const std::string& id, EventKind kind,
                 const std::string& payload = "{}", std::string event_id = "") {
  AppendRequest a;
  a.event.event_id = event_id.empty() ? make_uuid_v7() : event_id;
  a.event.complaint_id = id;
  a.event.origin = "kota-batam";
  a.event.at = system_now_ms();
  a.event.kind = kind;
  a.event.payload = payload;
  l.store().begin();
  auto out = l.act(a);
  l.store().commit();
  return out;
}

// A leaf's ledger (its parent is provinsi-kepri: every event gets an upstream row).
LedgerRules leaf_rules() {
  LedgerRules r;
  r.self = "kota-batam";
  r.upstream = "provinsi-kepri";
  return r;
}

struct Fixture {
  test::TempDir dir;
  SqliteStore store{StoreOptions{dir.file("s.db")}};
  Ledger ledger{store, leaf_rules()};
  std::int64_t count(const std::string& sql) { return test::db_count(dir.file("s.db"), sql); }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "store: migrations run at open and are recorded in user_version") {
  CHECK(store.schema_version() == SqliteStore::latest_version());
  CHECK(store.setting("foreign_keys") == 1);
  CHECK(count("SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
  CHECK(store.setting("synchronous") == 2);           // FULL
  SqliteStore again(StoreOptions{dir.file("s.db")});  // idempotent
  CHECK(again.schema_version() == SqliteStore::latest_version());
}

TEST_CASE_FIXTURE(Fixture,
                  "store: one ingest writes raw payload - event - refs - projection - outbox and "
                  "idempotency together") {
  auto out = ingest(
      ledger, request(test::sample_complaint("A", R"(,"refs":[{"system":"apekesah","id":"8812"}])"),
                      "key-1"));
  CHECK(out.kind == WriteOutcome::Kind::created);
  CHECK(is_uuid_v7(out.complaint_id));
  CHECK(count("SELECT count(*) FROM complaints") == 1);
  CHECK(count("SELECT count(*) FROM events WHERE kind = 'created'") == 1);
  CHECK(count("SELECT count(*) FROM raw_payloads") == 1);
  CHECK(count("SELECT count(*) FROM refs WHERE system = 'apekesah' AND ext_id = '8812'") == 1);
  CHECK(count("SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = 'pending'") ==
        1);
  CHECK(count("SELECT count(*) FROM idempotency") == 1);
  CHECK(answer_json(out).find("CANARY") == std::string::npos);  // answers never carry the reporter
  CHECK(store.created_payload(out.complaint_id)->find("CANARY-NAME") !=
        std::string::npos);  // but it is stored
}

TEST_CASE_FIXTURE(Fixture, "store: a rolled-back ingest leaves nothing behind") {
  store.begin();
  ledger.ingest(request(test::sample_complaint()));
  store.rollback();
  for (const char* t : {"complaints", "events", "raw_payloads", "refs", "outbox", "idempotency"})
    CHECK(count(std::string("SELECT count(*) FROM ") + t) == 0);
}

TEST_CASE_FIXTURE(Fixture, "store: idempotency key and known refs return the original answer") {
  auto body = test::sample_complaint("A", R"(,"refs":[{"system":"apekesah","id":"1"}])");
  auto first = ingest(ledger, request(body, "k"));
  auto again = ingest(ledger, request(body, "k"));
  CHECK(again.kind == WriteOutcome::Kind::replayed);
  CHECK(again.complaint_id == first.complaint_id);
  CHECK(answer_json(again) == answer_json(first));
  auto other = ingest(ledger, request(test::sample_complaint("B"), "k"));
  CHECK(other.error == errc::idempotency_mismatch);
  auto by_ref = ingest(ledger, request(test::sample_complaint(
                                   "A again", R"(,"refs":[{"system":"apekesah","id":"1"}])")));
  CHECK(by_ref.kind == WriteOutcome::Kind::duplicate);
  CHECK(by_ref.complaint_id == first.complaint_id);
  CHECK(count("SELECT count(*) FROM complaints") == 1);
  CHECK(count("SELECT count(*) FROM events") == 1);
}

TEST_CASE_FIXTURE(Fixture, "store: actions follow the state machine - refused ones store nothing") {
  auto id = ingest(ledger, request(test::sample_complaint())).complaint_id;
  CHECK(act(ledger, id, EventKind::closed).error == errc::transition_not_allowed);
  CHECK(act(ledger, id, EventKind::disposed, "{}").error == errc::invalid_value);  // agency missing
  CHECK(count("SELECT count(*) FROM events") == 1);
  auto eid = make_uuid_v7();
  auto v = act(ledger, id, EventKind::verified, "{}", eid);
  CHECK(v.kind == WriteOutcome::Kind::created);
  CHECK(act(ledger, id, EventKind::verified, "{}", eid).kind ==
        WriteOutcome::Kind::replayed);  // same event again
  CHECK(act(ledger, id, EventKind::held, "{}", eid).error == errc::idempotency_mismatch);
  CHECK(act(ledger, "019a9ec0-6400-7000-8000-000000000000", EventKind::verified).error ==
        errc::not_found);
  CHECK(act(ledger, id, EventKind::disposed, R"({"agency":"dinas-pu"})").kind ==
        WriteOutcome::Kind::created);
  CHECK(
      count("SELECT count(*) FROM complaints WHERE status = 'disposed' AND agency = 'dinas-pu'") ==
      1);
  CHECK(count("SELECT count(*) FROM outbox") == 3);
}

TEST_CASE_FIXTURE(
    Fixture, "store: actions taken in the same millisecond fold in the order they were taken") {
  // Regression: `closed` right after `responded`, both stamped in one millisecond, was refused
  // when its random event_id bits sorted it before the answer.
  for (int round = 0; round < 20; ++round) {
    auto id =
        ingest(ledger, request(test::sample_complaint("R" + std::to_string(round)))).complaint_id;
    const TimeMs same = system_now_ms();
    auto at_same = [&](EventKind k, const std::string& payload) {
      AppendRequest a;
      a.event.event_id = make_uuid_v7(same);
      a.event.complaint_id = id;
      a.event.origin = "kota-batam";
      a.event.at = same;
      a.event.kind = k;
      a.event.payload = payload;
      store.begin();
      auto out = ledger.act(a);
      store.commit();
      return out.stored() ? 201 : 200;
    };
    REQUIRE(at_same(EventKind::verified, "{}") == 201);
    REQUIRE(at_same(EventKind::disposed, R"({"agency":"dinas-pu"})") == 201);
    REQUIRE(at_same(EventKind::responded, R"({"text":"sudah"})") == 201);
    REQUIRE(at_same(EventKind::closed, "{}") == 201);
    auto st = fold(store.events_of(id), FoldContext{});
    CHECK(st.status == Status::closed);
    CHECK(st.conflicts.empty());
  }
}

TEST_CASE_FIXTURE(Fixture, "store: an external id links to one complaint only") {
  auto a = ingest(ledger, request(test::sample_complaint("A"))).complaint_id;
  auto b = ingest(ledger, request(test::sample_complaint("B"))).complaint_id;
  CHECK(act(ledger, a, EventKind::linked, R"({"system":"lapor","id":"4410231"})").kind ==
        WriteOutcome::Kind::created);
  auto refused = act(ledger, b, EventKind::linked, R"({"system":"lapor","id":"4410231"})");
  CHECK(refused.error == errc::transition_not_allowed);
  CHECK(refused.detail.find(a) != std::string::npos);
  CHECK(store.find_by_ref("lapor", "4410231") == a);
}

TEST_CASE_FIXTURE(Fixture, "store: events are append-only") {
  ingest(ledger, request(test::sample_complaint()));
  CHECK_THROWS(test::db_exec(dir.file("s.db"), "UPDATE events SET kind = 'closed'"));
  CHECK_THROWS(test::db_exec(dir.file("s.db"), "DELETE FROM events"));
  CHECK(count("SELECT count(*) FROM events") == 1);
}

TEST_CASE_FIXTURE(Fixture, "store: list pages through complaints by cursor and filters") {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i)
    ids.push_back(
        ingest(ledger, request(test::sample_complaint("C" + std::to_string(i)))).complaint_id);
  act(ledger, ids[2], EventKind::verified);
  std::vector<std::string> seen;
  ListQuery q;
  q.limit = 3;
  for (;;) {
    auto page = store.list(q);
    for (const auto& id : page.ids) seen.push_back(id);
    if (!page.more) break;
    q.after_seq = page.last_seq;
  }
  CHECK(seen.size() == 7);
  CHECK(seen.back() == ids[2]);  // updated last, so listed last
  ListQuery verified;
  verified.status = Status::verified;
  CHECK(store.list(verified).ids.size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "store: tokens are kept as SHA-256 hashes only") {
  for (int i = 0; i < 200; ++i) {  // regression: ids once began with '-' and broke `token revoke`
    auto id = store.create_token("t" + std::to_string(i), "read", "", 1).id;
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  auto t = store.create_token("dashboard", "read,pii", "", 1);
  CHECK(count("SELECT count(*) FROM api_tokens WHERE sha256 = '" + crypto::sha256_hex(t.secret) +
              "'") == 1);
  CHECK(count("SELECT count(*) FROM api_tokens WHERE instr(sha256 || name || scopes, '" + t.secret +
              "') > 0") == 0);
  auto found = store.find_token_by_hash(crypto::sha256_hex(t.secret));
  REQUIRE(found);
  CHECK(found->scopes == "read,pii");
  CHECK(store.revoke_token(t.id, 2));
  CHECK(store.find_token_by_hash(crypto::sha256_hex(t.secret))->revoked_at == 2);
  CHECK_FALSE(store.revoke_token(t.id, 3));
}

TEST_CASE_FIXTURE(Fixture, "store: online backup produces a complete - openable copy") {
  for (int i = 0; i < 20; ++i)
    ingest(ledger, request(test::sample_complaint("C" + std::to_string(i))));
  store.backup_to(dir.file("backup.db"));
  SqliteStore copy(StoreOptions{dir.file("backup.db")});
  CHECK(copy.complaint_count() == 20);
  CHECK(copy.event_count() == 20);
}

TEST_CASE_FIXTURE(Fixture, "store: a database from a newer binary is refused") {
  test::db_exec(dir.file("s.db"), "PRAGMA user_version = 999");
  CHECK_THROWS_AS(SqliteStore(StoreOptions{dir.file("s.db")}), StoreError);
}

TEST_CASE_FIXTURE(
    Fixture,
    "store: a child's acknowledgement moves forward only - and prunes old acknowledged feed rows") {
  LedgerRules province;
  province.self = "provinsi-kepri";
  province.children = Directory({ChildNode{"kota-batam", {"21.71"}, {}}});
  Ledger ledger(store, province);
  const TimeMs t0 = 1'763'600'000'000;
  auto at = [&](int i, TimeMs now) {
    auto r = request(test::sample_complaint("Feed " + std::to_string(i), R"(,"region":"21.71")"));
    r.origin = "provinsi-kepri";
    r.now = now;
    REQUIRE(ingest(ledger, r).kind == WriteOutcome::Kind::created);
  };
  for (int i = 0; i < 6; ++i) at(i, t0);                            // old rows
  for (int i = 6; i < 9; ++i) at(i, t0 + Store::kFeedRetentionMs);  // recent rows
  const char* rows = "SELECT count(*) FROM outbox WHERE destination = 'child:kota-batam'";
  REQUIRE(count(rows) == 9);
  auto b = store.feed_backlog("kota-batam");
  CHECK(b.acked == 0);
  CHECK_FALSE(b.acked_at.has_value());
  CHECK(b.unfetched == 9);
  CHECK(b.oldest_unfetched == t0);

  auto page = store.feed("kota-batam", 0, 4);
  REQUIRE(page.items.size() == 4);
  const TimeMs later = t0 + Store::kFeedRetentionMs + 1000;
  store.begin();
  CHECK(store.feed_acked("kota-batam", page.last_id, later) == 4);  // acknowledged and old
  store.commit();
  b = store.feed_backlog("kota-batam");
  CHECK(b.acked == page.last_id);
  CHECK(b.acked_at == later);
  CHECK(b.unfetched == 5);
  CHECK(count(rows) == 5);
  // The rest of the feed is still served from where the child is.
  CHECK(store.feed("kota-batam", page.last_id, 100).items.size() == 5);

  // An older position (a child restored from a backup) neither moves the acknowledgement back
  // nor deletes anything.
  store.begin();
  CHECK(store.feed_acked("kota-batam", 1, later + 1) == 0);
  store.commit();
  CHECK(store.feed_backlog("kota-batam").acked == page.last_id);

  // Everything acknowledged: only rows older than the retention go.
  auto all = store.feed("kota-batam", page.last_id, 100);
  store.begin();
  CHECK(store.feed_acked("kota-batam", all.last_id, later + 2) == 2);
  store.commit();
  b = store.feed_backlog("kota-batam");
  CHECK(b.unfetched == 0);
  CHECK_FALSE(b.oldest_unfetched.has_value());
  CHECK(count(rows) == 3);  // the recent ones are kept for the retention window
}

TEST_CASE_FIXTURE(Fixture,
                  "store: an idempotent replay after later actions gives the first answer - kept "
                  "as a position not a copy") {
  auto body = test::sample_complaint("A");
  auto first = ingest(ledger, request(body, "k"));
  REQUIRE(first.kind == WriteOutcome::Kind::created);
  REQUIRE(act(ledger, first.complaint_id, EventKind::verified).kind == WriteOutcome::Kind::created);
  auto again = ingest(ledger, request(body, "k"));
  CHECK(again.kind == WriteOutcome::Kind::replayed);
  CHECK(answer_json(again) == answer_json(first));
  CHECK(answer_json(again).find("\"status\":\"received\"") != std::string::npos);
  CHECK(count("SELECT count(*) FROM idempotency WHERE response_json = '' AND through_seq > 0") ==
        1);
}

TEST_CASE_FIXTURE(Fixture,
                  "store: payloads are packed on disk - a byte search of the file finds no "
                  "reporter and the store gives every byte back") {
  auto body = test::sample_complaint("Lampu mati");  // the reporter is CANARY-NAME-7731
  auto out = ingest(ledger, request(body));
  REQUIRE(out.kind == WriteOutcome::Kind::created);
  // On disk the created record and the raw payload are DEFLATE streams...
  for (const char* suffix : {"", "-wal"}) {
    std::ifstream in(dir.file("s.db") + suffix, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(bytes.find("CANARY-NAME-7731") == std::string::npos);
  }
  // ...that the store reads back whole: so a privacy test must ask the store.
  CHECK(test::store_holds(dir.file("s.db"), "CANARY-NAME-7731"));
  CHECK(store.created_payload(out.complaint_id)->find("CANARY-NAME-7731") != std::string::npos);
  auto raws = store.latest_raw_payloads("api");
  REQUIRE(raws.size() == 1);
  CHECK(raws[0].first == out.complaint_id);
  CHECK(raws[0].second == body);  // byte for byte as sent
  CHECK(count("SELECT packing FROM raw_payloads") == 1);
}

TEST_CASE("store: a schema 4 store upgrades in place - its text rows read as before") {
  test::TempDir dir;
  const std::string path = dir.file("old.db");
  {
    // Schema 4 as an older binary left it, with one complaint in its rows.
    struct Db {
      sqlite3* db = nullptr;
      ~Db() { sqlite3_close(db); }
    } raw;
    REQUIRE(sqlite3_open(path.c_str(), &raw.db) == SQLITE_OK);
    for (int v = 1; v <= 4; ++v) {
      for (const auto& f : std::filesystem::directory_iterator(std::string(SIMPUL_SOURCE_DIR) +
                                                               "/schema/migrations"))
        if (f.path().filename().string().rfind("000" + std::to_string(v) + "_", 0) == 0) {
          std::ifstream in(f.path());
          std::string sql((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
          REQUIRE(sqlite3_exec(raw.db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
        }
    }
    const std::string rec =
        R"({"id":"c-old","refs":[],"type":"pengaduan","title":"Lama","body":"Isi",)"
        R"("region":"21.71","received_at":"2025-01-01T00:00:00.000Z","channel":"app",)"
        R"("reporter":{"name":"Budi"},"privacy":"anonim","attachments":[]})";
    const std::string sql =
        "PRAGMA user_version = 4;"
        "INSERT INTO events(event_id, complaint_id, origin, at, kind, actor_json, payload_json, "
        "hops_json, stored_at) VALUES ('e-old', 'c-old', 'kota-batam', 1735689600000, 'created', "
        "'{\"role\":\"system\"}', '" +
        rec +
        "', '[\"kota-batam\"]', 1735689600000);"
        "INSERT INTO complaints(id, seq, status, type, privacy, channel, region, received_at, "
        "updated_at, event_count, state_json) VALUES ('c-old', 1, 'received', 'pengaduan', "
        "'anonim', 'app', '21.71', 1735689600000, 1735689600000, 1, '{}');"
        "INSERT INTO raw_payloads(source, complaint_id, content_type, body, sha256, received_at) "
        "VALUES ('api', 'c-old', 'application/json', CAST('{\"title\":\"Lama\"}' AS BLOB), 'x', "
        "1735689600000);"
        "INSERT INTO outbox(destination, complaint_id, event_seq, next_attempt_at, created_at) "
        "VALUES ('upstream', 'c-old', 1, 1735689600000, 1735689600000);";
    REQUIRE(sqlite3_exec(raw.db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  SqliteStore store(StoreOptions{path});
  CHECK(store.schema_version() == SqliteStore::latest_version());
  auto events = store.events_of("c-old");
  REQUIRE(events.size() == 1);
  CHECK(events[0].payload.find("\"Budi\"") != std::string::npos);
  CHECK(store.projection("c-old")->status == Status::received);
  auto raws = store.latest_raw_payloads("api");
  REQUIRE(raws.size() == 1);
  CHECK(raws[0].second == R"({"title":"Lama"})");
  auto due = store.due_outbox("upstream", 1735689600000, 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].event.complaint_id == "c-old");
  // And the upgraded store takes new complaints, packed.
  Ledger ledger(store, leaf_rules());
  auto out = ingest(ledger, request(test::sample_complaint("Baru")));
  CHECK(out.kind == WriteOutcome::Kind::created);
  CHECK(store.events_of(out.complaint_id).size() == 1);
}

TEST_CASE_FIXTURE(Fixture,
                  "store: a recovery read pages by position from the first event since - a clock "
                  "gone back loses nothing") {
  // (stored_at, hop path) of each event in arrival order: the clock went back at the third and
  // the fourth, and one event never passed through kota-batam.
  const std::vector<std::pair<TimeMs, std::vector<std::string>>> rows = {
      {100, {"kota-batam"}}, {300, {"kota-batam", "provinsi-kepri"}}, {200, {"kota-batam"}},
      {50, {"kota-batam"}},  {400, {"kota-tanjungpinang"}},           {450, {"kota-batam"}},
      {500, {"kota-batam"}}};
  std::vector<std::int64_t> seqs;
  store.begin();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Event e;
    e.event_id = make_uuid_v7();
    e.complaint_id = "c-" + std::to_string(i);
    e.origin = "kota-batam";
    e.at = 1'000 + static_cast<TimeMs>(i);
    e.kind = EventKind::verified;
    e.payload = "{}";
    e.hops = rows[i].second;
    seqs.push_back(store.append(e, rows[i].first));
  }
  store.commit();
  // Since 150: every event of kota-batam stored at or after it, in position order, two a page.
  std::vector<std::int64_t> got;
  std::int64_t after = 0;
  for (;;) {
    auto page = store.events_through("kota-batam", 150, after, 2);
    for (const auto& q : page) got.push_back(q.id);
    if (page.size() < 2) break;
    after = page.back().id;
  }
  CHECK(got == std::vector<std::int64_t>{seqs[1], seqs[2], seqs[5], seqs[6]});
  CHECK(store.events_through("kota-batam", 600, 0, 10).empty());  // nothing stored since
  CHECK(store.events_through("kota-batam", 0, 0, 10).size() == 6);
}

TEST_CASE_FIXTURE(Fixture,
                  "store: a child's acknowledged position in a newer format is a StoreError - "
                  "read before formats were numbered it still counts") {
  store.begin();
  store.set_cursor("feed.kota-batam.acked", "12", 1);  // format 0, as nodes stored it before
  store.commit();
  CHECK(store.feed_backlog("kota-batam").acked == 12);
  store.begin();
  store.set_cursor("feed.kota-batam.acked", "v9:12", 1);
  store.commit();
  // A StoreError is what the parent's handlers catch; anything else would end the io thread.
  CHECK_THROWS_AS(store.feed_backlog("kota-batam"), StoreError);
  store.begin();
  CHECK_THROWS_AS(store.feed_acked("kota-batam", 20, 2), StoreError);
  store.rollback();
}

TEST_CASE(
    "audit chain: a store from before the chain is chained when migrated - each entry as it was "
    "- and new entries follow it") {
  test::TempDir dir;
  const std::string path = dir.file("s.db");
  {
    SqliteStore store{StoreOptions{path}};
    store.begin();
    store.audit(10, "cli", "token.create", "a1", "{\"scopes\":\"read\"}");
    store.audit(20, "cli", "token.revoke", "a1", "{}");
    store.commit();
  }
  // The store as schema version 8 left it: no hashes, no token expiry.
  test::db_exec(path,
                "DROP TRIGGER events_append_only_update; DROP TABLE sealed_events; DROP INDEX "
                "raw_payloads_key; ALTER TABLE raw_payloads DROP COLUMN key_id; CREATE TRIGGER "
                "events_append_only_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, "
                "'events are append-only'); END; "
                "DROP TABLE signed_batches; DROP TABLE event_proofs; DROP TABLE node_keys; "
                "DROP INDEX audit_log_target; DROP INDEX audit_log_at; "
                "ALTER TABLE audit_log DROP COLUMN hash; ALTER TABLE audit_log DROP COLUMN "
                "prev_hash; ALTER TABLE api_tokens DROP COLUMN expires_at; ALTER TABLE api_tokens "
                "DROP COLUMN officer; PRAGMA user_version = 8");
  SqliteStore store{StoreOptions{path}};
  CHECK(store.schema_version() == SqliteStore::latest_version());
  store.begin();
  store.audit(30, "node", "config.reload", "x.json", "{}");
  store.commit();
  auto rows = store.audit_entries({});
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].actor == "cli");
  CHECK(rows[0].detail == "{\"scopes\":\"read\"}");
  CHECK(rows[1].at == 20);
  CHECK(rows[0].prev_hash == kAuditGenesis);
  CHECK(rows[2].prev_hash == rows[1].hash);
  auto v = verify_audit_chain([&](std::int64_t after) {
    Store::AuditQuery q;
    q.after_id = after;
    return store.audit_entries(q);
  });
  CHECK(v.ok);
  CHECK(v.checked == 3);
  CHECK(store.audit_head().hash == rows[2].hash);
  CHECK(store.audit_hash_of(2) == rows[1].hash);
  CHECK_FALSE(store.audit_hash_of(9).has_value());
}
