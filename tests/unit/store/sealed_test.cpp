// Reporters' identities sealed at rest (schema 11, core/seal.hpp): none of a reporter's
// canaries in the database file, its WAL or a backup; every event read back whole; a rotated key
// reads what the old one sealed and the old rows are sealed again; events written in the clear
// are sealed in place and read back unchanged; a missing key is an error naming it, never an
// event silently without its reporter; the append-only rule still holds for everything else.

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <fstream>
#include <iterator>

#include "core/normalize.hpp"
#include "core/seal.hpp"
#include "core/uuid.hpp"
#include "ledger/ledger.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

constexpr TimeMs kNow = 1'763'600'000'000;
const char* const kCanaries[] = {"CANARY-NAME-7731", "+6281270001234", "2171010101900001",
                                 "canary.7731@example.org", "CANARY-CITIZEN-4410"};

std::shared_ptr<const crypto::SealKeys> keys(const crypto::SealKey& current,
                                             std::vector<crypto::SealKey> previous = {}) {
  return std::make_shared<crypto::SealKeys>(current, std::move(previous));
}

StoreOptions options(const std::string& path, std::shared_ptr<const crypto::SealKeys> k) {
  StoreOptions o{path, false, 5000, true};
  o.seal_keys = std::move(k);
  return o;
}

LedgerRules leaf() {
  LedgerRules r;
  r.self = "kota-batam";
  r.upstream = "provinsi-kepri";
  return r;
}

// A complaint with a reporter, its raw payload, an amended reporter and the citizen's reply.
std::string fill(SqliteStore& s) {
  Ledger l(s, leaf());
  const std::string body = test::sample_complaint("Jalan rusak", R"(,"region":"21.71")");
  IngestRequest r;
  auto c = read_complaint(body, {Zone{}, "21.71", kNow});
  REQUIRE(c.has_value());
  r.complaint = *c;
  r.raw_body = body;
  r.raw_source = "apekesah";
  r.content_type = "application/json";
  r.origin = "kota-batam";
  r.now = kNow;
  s.begin();
  auto out = l.ingest(r);
  s.commit();
  REQUIRE(out.error == errc::ok);
  for (
      auto [kind, actor, payload] :
      {std::tuple{
           EventKind::amended, Actor{"officer", "", "Budi"},
           std::string(
               R"({"fields":{"reporter":{"name":"CANARY-NAME-7731","email":"canary.7731@example.org"}}})")},
       std::tuple{EventKind::citizen_replied, Actor{"citizen", "", "CANARY-CITIZEN-4410"},
                  std::string(R"({"text":"Belum diperbaiki"})")},
       // names nobody: kept as it is
       std::tuple{EventKind::verified, Actor{"admin", "", "Budi"}, std::string("{}")}}) {
    AppendRequest a;
    a.event.event_id = make_uuid_v7();
    a.event.complaint_id = out.complaint_id;
    a.event.origin = "kota-batam";
    a.event.at = kNow + 1000;
    a.event.kind = kind;
    a.event.actor = actor;
    a.event.payload = payload;
    s.begin();
    auto done = l.act(a);
    s.commit();
    REQUIRE(done.error == errc::ok);
  }
  return out.complaint_id;
}

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool any_canary(const std::string& bytes) {
  for (const char* c : kCanaries)
    if (bytes.find(c) != std::string::npos) return true;
  return false;
}

std::string everything(SqliteStore& s, const std::string& id) {
  std::string out;
  for (const auto& e : s.events_of(id)) out += e.actor.name + "|" + e.payload + "\n";
  for (const auto& [cid, raw] : s.latest_raw_payloads("apekesah")) out += raw + "\n";
  return out;
}

}  // namespace

TEST_CASE("seal: a keyed store holds no reporter canary in its file - WAL or backup") {
  test::TempDir dir;
  const std::string db = dir.file("s.db");
  const auto k = crypto::generate_seal_key();
  SqliteStore s(options(db, keys(k)));
  const std::string id = fill(s);
  const std::string seen = everything(s, id);
  for (const char* c : kCanaries) CHECK(seen.find(c) != std::string::npos);  // read back whole
  s.backup_to(dir.file("backup.db"));
  for (const std::string& f : {db, db + "-wal", dir.file("backup.db")}) {
    const std::string raw = bytes_of(f);
    const std::string where = "a canary in the bytes of " + f;
    CHECK_MESSAGE(!any_canary(raw), where);
  }
  CHECK(test::db_count(db, "SELECT count(*) FROM sealed_events") == 3);
  CHECK(test::db_count(db, "SELECT count(*) FROM raw_payloads WHERE key_id IS NULL") == 0);
  // The control: the same writes without a key leave the canaries in the file.
  SqliteStore clear(options(dir.file("clear.db"), nullptr));
  fill(clear);
  CHECK(any_canary(bytes_of(dir.file("clear.db")) + bytes_of(dir.file("clear.db-wal"))));
}

TEST_CASE("seal: after a key rotation the old rows read - and seal_step seals them again") {
  test::TempDir dir;
  const std::string db = dir.file("s.db");
  const auto old_key = crypto::generate_seal_key();
  const auto new_key = crypto::generate_seal_key();
  std::string id, before;
  {
    SqliteStore s(options(db, keys(old_key)));
    id = fill(s);
    before = everything(s, id);
  }
  SqliteStore s(options(db, keys(new_key, {old_key})));
  CHECK(everything(s, id) == before);  // readable at once, before any re-sealing
  Store::SealStep st;
  std::int64_t through = 0;
  int steps = 0;
  do {
    s.begin();
    st = s.seal_step(through, 2);
    s.commit();
    through = st.sealed_through;
  } while (!st.finished && ++steps < 20);
  CHECK(st.finished);
  auto state = s.seal_state();
  REQUIRE(state.sealed_by_key.size() == 1);
  CHECK(state.sealed_by_key[0].first == new_key.id);
  CHECK(state.clear_raw_payloads == 0);
  // Without the old key now.
  SqliteStore only_new(options(db, keys(new_key)));
  CHECK(everything(only_new, id) == before);
}

TEST_CASE("seal: a sealed identity without its key is an error naming the key") {
  test::TempDir dir;
  const std::string db = dir.file("s.db");
  const auto k = crypto::generate_seal_key();
  std::string id;
  {
    SqliteStore s(options(db, keys(k)));
    id = fill(s);
  }
  SqliteStore none(options(db, nullptr));
  try {
    none.events_of(id);
    FAIL("events read without the key");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find(k.id) != std::string::npos);
  }
  SqliteStore wrong(options(db, keys(crypto::generate_seal_key())));
  try {
    wrong.events_of(id);
    FAIL("events read with another key");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find("not configured") != std::string::npos);
  }
}

TEST_CASE("seal: events written in the clear are sealed in place - read back the same") {
  test::TempDir dir;
  const std::string db = dir.file("s.db");
  std::string id, before;
  {
    SqliteStore clear(options(db, nullptr));  // as a store before schema 11 was written
    id = fill(clear);
    before = everything(clear, id);
  }
  const auto k = crypto::generate_seal_key();
  SqliteStore s(options(db, keys(k)));
  CHECK(everything(s, id) == before);
  Store::SealStep st;
  std::int64_t through = 0;
  for (int i = 0; i < 20 && !st.finished; ++i) {
    s.begin();
    st = s.seal_step(through, 2);
    s.commit();
    through = st.sealed_through;
  }
  CHECK(st.finished);
  CHECK(everything(s, id) == before);  // the events and the raw payload, byte for byte
  CHECK(test::db_count(db, "SELECT count(*) FROM sealed_events") == 3);
  // The rows in the file no longer name the reporter (read as any SQLite client would).
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(raw, "SELECT actor_json || CAST(payload_json AS BLOB) FROM events", -1, &q,
                     nullptr);
  std::string rows;
  while (sqlite3_step(q) == SQLITE_ROW)
    rows.append(reinterpret_cast<const char*>(sqlite3_column_blob(q, 0)),
                static_cast<std::size_t>(sqlite3_column_bytes(q, 0)));
  sqlite3_finalize(q);
  sqlite3_close(raw);
  CHECK_FALSE(rows.find("CANARY-CITIZEN-4410") != std::string::npos);
  CHECK(test::db_count(db, "SELECT count(*) FROM raw_payloads WHERE key_id IS NULL") == 0);
}

TEST_CASE("seal: the append-only rule still refuses every other change of an event") {
  test::TempDir dir;
  const std::string db = dir.file("s.db");
  {
    SqliteStore s(options(db, keys(crypto::generate_seal_key())));
    fill(s);
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  for (const char* sql : {"UPDATE events SET kind = 'closed' WHERE kind = 'created'",
                          "UPDATE events SET at = at + 1 WHERE kind = 'created'",
                          // the payload of an event that names nobody (so has no sealed row)
                          "UPDATE events SET payload_json = '{\"x\":1}' WHERE kind = 'verified'",
                          "DELETE FROM events"}) {
    char* err = nullptr;
    const int rc = sqlite3_exec(raw, sql, nullptr, nullptr, &err);
    const std::string why = err ? err : "";
    sqlite3_free(err);
    const std::string what = std::string("allowed: ") + sql;
    CHECK_MESSAGE(rc != SQLITE_OK, what);
    CHECK(why.find("append-only") != std::string::npos);
  }
  sqlite3_close(raw);
}

TEST_CASE("seal: a sealed value opens only under its key and context - a flipped byte refuses it") {
  const auto k = crypto::generate_seal_key();
  crypto::SealKeys ks(k);
  const std::string sealed = ks.seal("CANARY-NAME-7731", "simpul-identity-1\nevent-a");
  CHECK(sealed.find("CANARY") == std::string::npos);
  CHECK(ks.open(k.id, sealed, "simpul-identity-1\nevent-a") == "CANARY-NAME-7731");
  CHECK_FALSE(ks.open(k.id, sealed, "simpul-identity-1\nevent-b"));  // moved to another row
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    CHECK_FALSE(ks.open(k.id, bad, "simpul-identity-1\nevent-a"));
  }
  CHECK_FALSE(ks.open("0000000000000000", sealed, "simpul-identity-1\nevent-a"));
  CHECK(ks.seal("x", "c") != ks.seal("x", "c"));  // a fresh nonce each time
  // The key's text form, and what is refused.
  CHECK(crypto::parse_seal_key(crypto::seal_key_text(k)).raw == k.raw);
  CHECK_THROWS_WITH(crypto::parse_seal_key("abc"), doctest::Contains("64 hex characters"));
  CHECK_THROWS_WITH(crypto::parse_seal_key(std::string(64, 'g')), doctest::Contains("hex"));
}
