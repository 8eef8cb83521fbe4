#include <doctest/doctest.h>

#include <sqlite3.h>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/normalize.hpp"
#include "core/uuid.hpp"
#include "store/store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

std::int64_t count(Store& s, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(s.handle(), sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  auto v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

IngestRequest request(const std::string& body, const std::string& key = "") {
  IngestRequest r;
  auto c = read_complaint(body, {Zone{}, "21.71", 1'763'600'000'000});
  REQUIRE(c.has_value());
  r.complaint = *c;
  r.raw_body = body;
  r.idem_scope = "tok1";
  r.idem_key = key;
  r.origin = "kota-batam";
  r.destinations = {"upstream"};
  r.now = 1'763'600'000'000;
  return r;
}

WriteOutcome ingest(Store& s, const IngestRequest& r) {
  s.begin();
  auto out = s.ingest(r);
  s.commit();
  return out;
}

WriteOutcome act(Store& s, const std::string& id, EventKind kind, const std::string& payload = "{}",
                 std::string event_id = "") {
  AppendRequest a;
  a.event.event_id = event_id.empty() ? make_uuid_v7() : event_id;
  a.event.complaint_id = id;
  a.event.origin = "kota-batam";
  a.event.at = system_now_ms();
  a.event.kind = kind;
  a.event.payload = payload;
  a.destinations = {"upstream"};
  s.begin();
  auto out = s.append_event(a);
  s.commit();
  return out;
}

struct Fixture {
  test::TempDir dir;
  Store store{StoreOptions{dir.file("s.db")}, FoldContext{}};
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "store: migrations run at open and are recorded in user_version") {
  CHECK(store.schema_version() == Store::latest_schema_version());
  CHECK(count(store, "PRAGMA foreign_keys") == 1);
  CHECK(count(store, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);
  CHECK(count(store, "PRAGMA synchronous") == 2);  // FULL
  Store again(StoreOptions{dir.file("s.db")}, FoldContext{});  // idempotent
  CHECK(again.schema_version() == Store::latest_schema_version());
}

TEST_CASE_FIXTURE(Fixture, "store: one ingest writes raw payload - event - refs - projection - outbox and idempotency together") {
  auto out = ingest(store, request(test::sample_complaint("A", R"(,"refs":[{"system":"apekesah","id":"8812"}])"), "key-1"));
  CHECK(out.kind == WriteOutcome::Kind::created);
  CHECK(is_uuid_v7(out.complaint_id));
  CHECK(count(store, "SELECT count(*) FROM complaints") == 1);
  CHECK(count(store, "SELECT count(*) FROM events WHERE kind = 'created'") == 1);
  CHECK(count(store, "SELECT count(*) FROM raw_payloads") == 1);
  CHECK(count(store, "SELECT count(*) FROM refs WHERE system = 'apekesah' AND ext_id = '8812'") == 1);
  CHECK(count(store, "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = 'pending'") == 1);
  CHECK(count(store, "SELECT count(*) FROM idempotency") == 1);
  CHECK(out.body.find("CANARY") == std::string::npos);  // answers never carry the reporter
  CHECK(store.state_json(out.complaint_id)->find("CANARY-NAME") != std::string::npos);  // but it is stored
}

TEST_CASE_FIXTURE(Fixture, "store: a rolled-back ingest leaves nothing behind") {
  store.begin();
  store.ingest(request(test::sample_complaint()));
  store.rollback();
  for (const char* t : {"complaints", "events", "raw_payloads", "refs", "outbox", "idempotency"})
    CHECK(count(store, std::string("SELECT count(*) FROM ") + t) == 0);
}

TEST_CASE_FIXTURE(Fixture, "store: idempotency key and known refs return the original answer") {
  auto body = test::sample_complaint("A", R"(,"refs":[{"system":"apekesah","id":"1"}])");
  auto first = ingest(store, request(body, "k"));
  auto again = ingest(store, request(body, "k"));
  CHECK(again.kind == WriteOutcome::Kind::replayed);
  CHECK(again.complaint_id == first.complaint_id);
  CHECK(again.body == first.body);
  auto other = ingest(store, request(test::sample_complaint("B"), "k"));
  CHECK(other.error == errc::idempotency_mismatch);
  auto by_ref = ingest(store, request(test::sample_complaint("A again", R"(,"refs":[{"system":"apekesah","id":"1"}])")));
  CHECK(by_ref.kind == WriteOutcome::Kind::duplicate);
  CHECK(by_ref.complaint_id == first.complaint_id);
  CHECK(count(store, "SELECT count(*) FROM complaints") == 1);
  CHECK(count(store, "SELECT count(*) FROM events") == 1);
}

TEST_CASE_FIXTURE(Fixture, "store: actions follow the state machine - refused ones store nothing") {
  auto id = ingest(store, request(test::sample_complaint())).complaint_id;
  CHECK(act(store, id, EventKind::closed).error == errc::transition_not_allowed);
  CHECK(act(store, id, EventKind::disposed, "{}").error == errc::invalid_value);  // agency missing
  CHECK(count(store, "SELECT count(*) FROM events") == 1);
  auto eid = make_uuid_v7();
  auto v = act(store, id, EventKind::verified, "{}", eid);
  CHECK(v.kind == WriteOutcome::Kind::created);
  CHECK(act(store, id, EventKind::verified, "{}", eid).kind == WriteOutcome::Kind::replayed);  // same event again
  CHECK(act(store, id, EventKind::held, "{}", eid).error == errc::idempotency_mismatch);
  CHECK(act(store, "019a9ec0-6400-7000-8000-000000000000", EventKind::verified).error == errc::not_found);
  CHECK(act(store, id, EventKind::disposed, R"({"agency":"dinas-pu"})").kind == WriteOutcome::Kind::created);
  CHECK(count(store, "SELECT count(*) FROM complaints WHERE status = 'disposed' AND agency = 'dinas-pu'") == 1);
  CHECK(count(store, "SELECT count(*) FROM outbox") == 3);
}

TEST_CASE_FIXTURE(Fixture, "store: actions taken in the same millisecond fold in the order they were taken") {
  // Regression: `closed` right after `responded`, both stamped in one millisecond, was refused
  // when its random event_id bits sorted it before the answer.
  for (int round = 0; round < 20; ++round) {
    auto id = ingest(store, request(test::sample_complaint("R" + std::to_string(round)))).complaint_id;
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
      auto out = store.append_event(a);
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
  auto a = ingest(store, request(test::sample_complaint("A"))).complaint_id;
  auto b = ingest(store, request(test::sample_complaint("B"))).complaint_id;
  CHECK(act(store, a, EventKind::linked, R"({"system":"lapor","id":"4410231"})").kind == WriteOutcome::Kind::created);
  auto refused = act(store, b, EventKind::linked, R"({"system":"lapor","id":"4410231"})");
  CHECK(refused.error == errc::transition_not_allowed);
  CHECK(refused.body.find(a) != std::string::npos);
  CHECK(store.find_by_ref("lapor", "4410231") == a);
}

TEST_CASE_FIXTURE(Fixture, "store: events are append-only") {
  ingest(store, request(test::sample_complaint()));
  CHECK_THROWS_AS(store.exec("UPDATE events SET kind = 'closed'"), StoreError);
  CHECK_THROWS_AS(store.exec("DELETE FROM events"), StoreError);
}

TEST_CASE_FIXTURE(Fixture, "store: list pages through complaints by cursor and filters") {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(ingest(store, request(test::sample_complaint("C" + std::to_string(i)))).complaint_id);
  act(store, ids[2], EventKind::verified);
  std::vector<std::string> seen;
  ListQuery q;
  q.limit = 3;
  for (;;) {
    auto page = store.list(q);
    for (const auto& s : page.states) seen.push_back(json::get_string(*json::parse(s), "id"));
    if (!page.more) break;
    q.after_seq = page.last_seq;
  }
  CHECK(seen.size() == 7);
  CHECK(seen.back() == ids[2]);  // updated last, so listed last
  ListQuery verified;
  verified.status = Status::verified;
  CHECK(store.list(verified).states.size() == 1);
}

TEST_CASE_FIXTURE(Fixture, "store: tokens are kept as SHA-256 hashes only") {
  for (int i = 0; i < 200; ++i) {  // regression: ids once began with '-' and broke `token revoke`
    auto id = store.create_token("t" + std::to_string(i), "read", "", 1).id;
    CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  auto t = store.create_token("dashboard", "read,pii", "", 1);
  CHECK(count(store, "SELECT count(*) FROM api_tokens WHERE sha256 = '" + crypto::sha256_hex(t.secret) + "'") == 1);
  CHECK(count(store, "SELECT count(*) FROM api_tokens WHERE instr(sha256 || name || scopes, '" + t.secret + "') > 0") == 0);
  auto found = store.find_token_by_hash(crypto::sha256_hex(t.secret));
  REQUIRE(found);
  CHECK(found->scopes == "read,pii");
  CHECK(store.revoke_token(t.id, 2));
  CHECK(store.find_token_by_hash(crypto::sha256_hex(t.secret))->revoked_at == 2);
  CHECK_FALSE(store.revoke_token(t.id, 3));
}

TEST_CASE_FIXTURE(Fixture, "store: online backup produces a complete - openable copy") {
  for (int i = 0; i < 20; ++i) ingest(store, request(test::sample_complaint("C" + std::to_string(i))));
  store.backup_to(dir.file("backup.db"));
  Store copy(StoreOptions{dir.file("backup.db")}, FoldContext{});
  CHECK(copy.complaint_count() == 20);
  CHECK(copy.event_count() == 20);
}

TEST_CASE_FIXTURE(Fixture, "store: a database from a newer binary is refused") {
  store.exec("PRAGMA user_version = 999");
  CHECK_THROWS_AS(Store(StoreOptions{dir.file("s.db")}, FoldContext{}), StoreError);
}

TEST_CASE_FIXTURE(Fixture, "store: a child's acknowledgement moves forward only - and prunes old acknowledged feed rows") {
  Directory dir({ChildNode{"kota-batam", {"21.71"}, {}}});
  store.set_topology("provinsi-kepri", dir, "");
  const TimeMs t0 = 1'763'600'000'000;
  auto at = [&](int i, TimeMs now) {
    auto r = request(test::sample_complaint("Feed " + std::to_string(i), R"(,"region":"21.71")"));
    r.origin = "provinsi-kepri";
    r.destinations = {};
    r.now = now;
    REQUIRE(ingest(store, r).kind == WriteOutcome::Kind::created);
  };
  for (int i = 0; i < 6; ++i) at(i, t0);                                // old rows
  for (int i = 6; i < 9; ++i) at(i, t0 + Store::kFeedRetentionMs);      // recent rows
  const char* rows = "SELECT count(*) FROM outbox WHERE destination = 'child:kota-batam'";
  REQUIRE(count(store, rows) == 9);
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
  CHECK(count(store, rows) == 5);
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
  CHECK(count(store, rows) == 3);  // the recent ones are kept for the retention window
}
