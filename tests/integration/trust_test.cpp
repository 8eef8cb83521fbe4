// Trust that can be checked (docs/operations.md, "Credentials and the audit log"): failed
// credentials throttled per address, tokens that expire and rotate, one credential per officer,
// and the audit log as a hash chain whose head the parent keeps.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/uuid.hpp"
#include "federation/audit_anchor.hpp"
#include "federation/signatures.hpp"
#include "node/uplinks.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::run_simpul;
using test::TestNode;

namespace {

// The value of `key: ` on its own line of a CLI's output.
std::string field(const std::string& out, const std::string& key) {
  auto at = out.find(key + ": ");
  if (at == std::string::npos) return "";
  at += key.size() + 2;
  return out.substr(at, out.find('\n', at) - at);
}

double metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

struct LogCapture {
  std::mutex mu;
  std::string lines;
  LogCapture() {
    log::set_sink([this](std::string_view l) {
      std::lock_guard lock(mu);
      lines += std::string(l) + "\n";
    });
  }
  ~LogCapture() { log::set_sink(nullptr); }
  std::size_t count(const std::string& needle) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (auto at = lines.find(needle); at != std::string::npos; at = lines.find(needle, at + 1))
      ++n;
    return n;
  }
};

std::string ingest(http::Client& c, const std::string& title) {
  auto r = c.request("POST", "/v1/complaints", test::sample_complaint(title), TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return json::get_string(*json::parse(r.body), "id");
}

}  // namespace

TEST_CASE(
    "throttle: a brute-force burst of wrong tokens from one address gets 429 with Retry-After - "
    "a valid token from there too - another address is answered as before - counted on /metrics "
    "and logged once") {
  test::TempDir dir;
  Config cfg = test::test_config(dir);
  cfg.auth.failed_burst = 5;
  cfg.auth.failed_per_minute = 6;
  TestNode node(cfg);
  LogCapture logs;
  auto attacker = node.client();
  attacker.set_local_address("127.0.0.2");
  std::vector<int> statuses;
  std::string retry_after;
  for (int i = 0; i < 30; ++i) {
    auto r = attacker.request("GET", "/v1/complaints", "",
                              TestNode::auth("spl.0123456789.guess" + std::to_string(i)));
    statuses.push_back(r.status);
    if (r.status == 429) retry_after = r.header("retry-after");
  }
  for (int i = 0; i < 5; ++i) CHECK(statuses[i] == 401);
  for (int i = 5; i < 30; ++i) CHECK(statuses[i] == 429);
  REQUIRE_FALSE(retry_after.empty());
  CHECK(std::stoi(retry_after) >= 1);
  CHECK(std::stoi(retry_after) <= 10);
  // While throttled a right guess cannot be told from a wrong one.
  CHECK(attacker.request("GET", "/v1/complaints", "", TestNode::auth()).status == 429);
  // The dashboard's login is the same door.
  auto login = attacker.request("POST", "/ui/session", R"({"token":"spl.0123456789.x"})",
                                {{"content-type", "application/json"}});
  CHECK(login.status == 429);

  // Another client, before and while the attack goes on from 127.0.0.2: every request
  // answered, none 429 (the figures are printed, not judged: a timed test would be flaky).
  auto legit = node.client(2'000);  // a request slowed past 2 s throws
  auto timed = [&legit] {
    auto t0 = std::chrono::steady_clock::now();
    auto r = legit.request("GET", "/v1/complaints?limit=5", "", TestNode::auth());
    CHECK(r.status == 200);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> before;
  for (int i = 0; i < 200; ++i) before.push_back(timed());
  std::sort(before.begin(), before.end());
  std::atomic<bool> stop{false};
  std::atomic<int> attempts{0};
  std::thread attack([&] {
    auto a = node.client();
    a.set_local_address("127.0.0.2");
    while (!stop) {
      a.request("GET", "/v1/complaints", "", TestNode::auth("spl.0123456789.more"));
      ++attempts;
    }
  });
  std::vector<double> ms;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((attempts < 2000 || ms.size() < 200) && std::chrono::steady_clock::now() < until)
    ms.push_back(timed());
  stop = true;
  attack.join();
  std::sort(ms.begin(), ms.end());
  MESSAGE("valid client before the attack: p50 "
          << before[before.size() / 2] << " ms, max " << before.back() << " ms; during it: p50 "
          << ms[ms.size() / 2] << " ms, max " << ms.back() << " ms; attacker attempts "
          << attempts.load());
  CHECK(attempts.load() >= 2000);

  auto m = legit.request("GET", "/metrics");
  CHECK(metric(m.body, "simpul_auth_failures_total") == 5);
  CHECK(metric(m.body, "simpul_auth_throttled_total") >= 25 + attempts.load());
  CHECK(metric(m.body, "simpul_auth_throttled_clients") == 1);
  // Thousands of attempts, one line (the first failure; the interval is a minute).
  CHECK(logs.count("\"auth.failures\"") == 1);
  CHECK(logs.count("\"client\":\"127.0.0.2\"") == 1);
}

TEST_CASE(
    "token: an expired token is refused - rotation keeps the old secret through its grace "
    "period and no longer - the new secret has the old one's rights and lifetime - both audited") {
  test::TempDir dir;
  Config cfg = test::node_config(dir, "kota-batam", "");
  const std::string conf = dir.file("kota-batam.json");
  std::string out;
  REQUIRE(run_simpul({"token", "create", "--config", conf, "--name", "portal", "--scopes", "read",
                      "--expires-in", "1h"},
                     &out) == 0);
  const std::string old_secret = field(out, "token"), old_id = field(out, "id");
  CHECK_FALSE(field(out, "expires").empty());
  CHECK(run_simpul({"token", "create", "--config", conf, "--expires-in", "soon"}, &out) == 64);
  CHECK(out.find("--expires-in") != std::string::npos);

  std::atomic<TimeMs> offset{0};
  TestNode node(cfg, [&offset] { return system_now_ms() + offset.load(); });
  auto c = node.client();
  auto list = [&](const std::string& token) {
    return c.request("GET", "/v1/complaints", "", TestNode::auth(token)).status;
  };
  CHECK(list(old_secret) == 200);
  offset = 2 * 3'600'000;
  auto expired = c.request("GET", "/v1/complaints", "", TestNode::auth(old_secret));
  CHECK(expired.status == 401);
  CHECK(expired.body.find("expired") != std::string::npos);
  offset = 0;

  REQUIRE(run_simpul({"token", "rotate", "--config", conf, old_id, "--grace", "30m"}, &out) == 0);
  const std::string new_secret = field(out, "token"), new_id = field(out, "id");
  CHECK(new_id != old_id);
  CHECK(field(out, "scopes") == "read");
  CHECK(out.find("accepted until") != std::string::npos);
  CHECK(list(old_secret) == 200);  // within the grace period
  CHECK(list(new_secret) == 200);
  offset = 31 * 60'000;
  CHECK(list(old_secret) == 401);
  CHECK(list(new_secret) == 200);  // its hour runs from the rotation
  offset = 59 * 60'000;
  CHECK(list(new_secret) == 200);
  CHECK(run_simpul({"token", "rotate", "--config", conf, "0000000000"}, &out) == 1);
  CHECK(test::db_count(
            cfg.store.path,
            "SELECT count(*) FROM audit_log WHERE action = 'token.rotate' AND target = '" + old_id +
                "' AND json_extract(detail_json, '$.new') = '" + new_id + "'") == 1);
}

TEST_CASE(
    "officer: one credential per officer bound to one agency - its actions name the officer - "
    "each action is an audit entry with the credential") {
  test::TempDir dir;
  std::ofstream(dir.file("agencies.json"))
      << R"([{"id": "dinas-pu-batam"}, {"id": "disdukcapil-batam"}])";
  Config cfg =
      test::node_config(dir, "kota-batam", R"("reference": {"agencies": "agencies.json"},)");
  const std::string conf = dir.file("kota-batam.json");
  std::string out;
  REQUIRE(run_simpul({"token", "create", "--config", conf, "--officer", "Siti Rahma", "--agency",
                      "dinas-pu-batam"},
                     &out) == 0);
  const std::string siti = field(out, "token"), siti_id = field(out, "id");
  CHECK(field(out, "officer") == "Siti Rahma");
  CHECK(field(out, "scopes") == "read,act");
  CHECK(run_simpul({"token", "create", "--config", conf, "--officer", "Siti Rahma", "--agency",
                    "dinas-pu-batam"},
                   &out) == 64);
  CHECK(out.find("already has an active credential (" + siti_id + ")") != std::string::npos);
  CHECK(run_simpul({"token", "create", "--config", conf, "--officer", "Budi", "--agency",
                    "dinas-pu-batam", "--agency", "disdukcapil-batam"},
                   &out) == 64);
  CHECK(run_simpul({"token", "create", "--config", conf, "--officer", "Budi", "--agency",
                    "dinas-pu-batam", "--scopes", "admin"},
                   &out) == 64);
  CHECK(run_simpul({"token", "list", "--config", conf}, &out) == 0);
  CHECK(out.find("officer") != std::string::npos);

  TestNode node(cfg);
  auto c = node.client();
  std::string id = ingest(c, "Lampu jalan mati");
  auto r =
      c.request("POST", "/v1/complaints/" + id + "/events",
                R"({"kind":"disposed","payload":{"agency":"dinas-pu-batam"}})", TestNode::auth());
  REQUIRE_MESSAGE(r.status == 201, r.body);
  r = c.request("POST", "/v1/complaints/" + id + "/events",
                R"({"kind":"responded","actor":{"role":"admin","name":"Walikota"},)"
                R"("payload":{"text":"Sudah diganti"}})",
                TestNode::auth(siti));
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto doc = json::parse(c.request("GET", "/v1/complaints/" + id, "", TestNode::auth()).body);
  const auto& events = (*doc)["events"];
  const auto& last = events[events.Size() - 1];
  CHECK(json::get_string(last["actor"], "name") == "Siti Rahma");
  CHECK(json::get_string(last["actor"], "agency") == "dinas-pu-batam");
  // Who disposed it and who answered: the audit log says, with the credential.
  CHECK(test::db_count(cfg.store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'complaint.disposed' AND "
                       "target = '" +
                           id + "' AND actor = 'admin'") == 1);
  CHECK(test::db_count(cfg.store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'complaint.responded' AND "
                       "target = '" +
                           id +
                           "' AND actor = 'Siti Rahma' AND json_extract(detail_json, "
                           "'$.credential') = '" +
                           siti_id + "'") == 1);
  CHECK(run_simpul({"audit", "list", "--config", conf, "--complaint", id}, &out) == 0);
  CHECK(out.find("complaint.disposed") != std::string::npos);
  CHECK(out.find("complaint.responded") != std::string::npos);
  CHECK(out.find("token.create") == std::string::npos);  // about another target
  CHECK(run_simpul({"audit", "list", "--config", conf, "--actor", "Siti Rahma", "--json"}, &out) ==
        0);
  CHECK(out.find("\"action\":\"complaint.responded\"") != std::string::npos);
  CHECK(out.find("complaint.disposed") == std::string::npos);
  CHECK(run_simpul({"audit", "list", "--config", conf, "--since", "2999-01-01"}, &out) == 0);
  CHECK(out.find("complaint.") == std::string::npos);
  CHECK(run_simpul({"audit", "list", "--config", conf, "--since", "yesterday"}, &out) == 64);
}

TEST_CASE(
    "audit: simpul audit verify passes an untouched log and names the entry edited - removed - "
    "inserted with sqlite") {
  test::TempDir dir;
  Config cfg = test::node_config(dir, "kota-batam", "");
  const std::string conf = dir.file("kota-batam.json");
  std::string out;
  for (const char* name : {"a", "b", "c", "d", "e"})
    REQUIRE(run_simpul({"token", "create", "--config", conf, "--name", name}, &out) == 0);
  REQUIRE(run_simpul({"audit", "verify", "--config", conf}, &out) == 0);
  CHECK(out.find("verifies: 5 entries") != std::string::npos);

  // Each tampering on a copy of the store, so each is seen alone.
  auto tampered = [&](const std::string& sql) {
    test::TempDir copy;
    Config c2 = test::node_config(copy, "kota-batam", "");
    std::filesystem::copy_file(cfg.store.path, c2.store.path);
    test::db_exec(c2.store.path, sql);
    std::string o;
    CHECK(run_simpul({"audit", "verify", "--config", copy.file("kota-batam.json")}, &o) == 1);
    return o;
  };
  out = tampered("UPDATE audit_log SET actor = 'someone-else' WHERE id = 3");
  CHECK(out.find("BROKEN at entry 3") != std::string::npos);
  CHECK(out.find("edited") != std::string::npos);
  out = tampered("DELETE FROM audit_log WHERE id = 2");
  CHECK(out.find("BROKEN at entry 3") != std::string::npos);
  CHECK(out.find("entries 2 to 2 were removed") != std::string::npos);
  out = tampered(
      "INSERT INTO audit_log(at, actor, action, target, detail_json) VALUES "
      "(1, 'cli', 'token.revoke', 'x', '{}')");
  CHECK(out.find("BROKEN at entry 6") != std::string::npos);
  CHECK(out.find("inserted by hand") != std::string::npos);
}

TEST_CASE(
    "fed: the parent keeps each child's audit head - a head that went back or an entry that "
    "changed is a break - audited and counted - the head kept moves on") {
  test::TempDir dir;
  TestNode parent(test::province_config(dir));
  std::string token;
  {
    SqliteStore s(StoreOptions{parent.config().store.path, true, 5000, false});
    token = s.create_token("batam", "node", "kota-batam", 1).secret;
  }
  auto c = parent.client();
  auto headers = TestNode::auth(token);
  headers.push_back({"content-type", "application/json"});
  auto post = [&](const std::string& body) {
    auto r = c.request("POST", "/fed/v1/audit/head", body, headers);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return *json::parse(r.body);
  };
  auto h = [](int n) { return crypto::sha256_hex("entry " + std::to_string(n)); };
  auto head = [&](int id, const std::string& hash) {
    return R"({"id":)" + std::to_string(id) + R"(,"hash":")" + hash + "\"}";
  };
  auto verdict = [](const rapidjson::Document& d) { return json::get_string(d, "verdict"); };

  CHECK(verdict(post(R"({"head":)" + head(5, h(5)) + "}")) == "kept");
  CHECK(verdict(post(R"({"head":)" + head(5, h(5)) + "}")) == "same");
  auto asked = post(R"({"head":)" + head(8, h(8)) + "}");
  CHECK(verdict(asked) == "proof_needed");
  CHECK(asked["kept"]["id"].GetInt64() == 5);
  CHECK(verdict(post(R"({"head":)" + head(8, h(8)) + R"(,"at":)" + head(5, h(5)) + "}")) ==
        "extended");
  // Entry 8 is not what it was: rewritten from there on.
  auto rewritten = post(R"({"head":)" + head(9, h(9)) + R"(,"at":)" + head(8, h(80)) + "}");
  CHECK(verdict(rewritten) == "rewritten");
  CHECK(rewritten["kept"]["id"].GetInt64() == 9);  // watched from the new head on
  CHECK(verdict(post(R"({"head":)" + head(3, h(3)) + "}")) == "backwards");
  CHECK(verdict(post(R"({"head":)" + head(3, h(30)) + "}")) == "rewritten");

  CHECK(test::db_count(parent.config().store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'fed.audit_chain_broken' "
                       "AND target = 'kota-batam'") == 3);
  auto m = c.request("GET", "/metrics");
  CHECK(metric(m.body, "simpul_child_audit_breaks_total{child=\"kota-batam\"}") == 3);

  // What is not as the protocol says, or not from a child.
  CHECK(
      c.request("POST", "/fed/v1/audit/head", R"({"head":{"id":-1,"hash":""}})", headers).status ==
      422);
  CHECK(c.request("POST", "/fed/v1/audit/head", R"({"head":)" + head(4, "ABC") + "}", headers)
            .status == 422);
  auto text = TestNode::auth(token);
  text.push_back({"content-type", "text/plain"});
  CHECK(c.request("POST", "/fed/v1/audit/head", R"({"head":)" + head(4, h(4)) + "}", text).status ==
        415);
  auto admin = TestNode::auth();
  admin.push_back({"content-type", "application/json"});
  CHECK(
      c.request("POST", "/fed/v1/audit/head", R"({"head":)" + head(4, h(4)) + "}", admin).status ==
      403);
}

TEST_CASE(
    "fed: a child's audit head reaches its parent over the link - the parent notices when the "
    "child's log was cut back while it was down") {
  test::TempDir pdir, cdir;
  TestNode parent(test::province_config(pdir));
  Config ccfg = test::node_config(cdir, "kota-batam",
                                  test::upstream_member(parent, R"(, "audit_head_interval_s": 1)"));
  std::string out;
  for (const char* name : {"a", "b", "c"})
    REQUIRE(
        run_simpul({"token", "create", "--config", cdir.file("kota-batam.json"), "--name", name},
                   &out) == 0);
  SqliteStore pstore(StoreOptions{parent.config().store.path, true, 5000, false});
  {
    TestNode child(ccfg);
    CHECK(test::eventually([&] {
      auto a = anchored_head(pstore, "kota-batam");
      return a && a->head.id >= 3;
    }));
  }
  CHECK(anchored_head(pstore, "kota-batam")->breaks == 0);
  test::db_exec(ccfg.store.path, "DELETE FROM audit_log WHERE id > 1");
  TestNode child(ccfg);
  CHECK(test::eventually([&] {
    return test::db_count(parent.config().store.path,
                          "SELECT count(*) FROM audit_log WHERE action = "
                          "'fed.audit_chain_broken' AND json_extract(detail_json, '$.verdict') = "
                          "'backwards'") == 1;
  }));
  CHECK(anchored_head(pstore, "kota-batam")->breaks == 1);
}

namespace {

// A province that asks for signatures (the default), and Batam's key as Batam would hold it:
// events are signed and sent as Batam's link does, so each test changes one thing.
struct SignedFederation {
  test::TempDir dir;
  TestNode parent{[this] {
    setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
    std::string text = test::config_json(dir, "provinsi-kepri");
    text.replace(text.find("\"log\""), 0, R"("children": [
      {"id": "kota-batam", "regions": ["21.71"]}, {"id": "kota-tanjungpinang", "regions": ["21.72"]}],
    )");
    text.replace(text.find("\"tier\": \"kabkota\""), 17, "\"tier\": \"provinsi\"");
    text.replace(text.find("\"region\": \"21.71\""), 17, "\"region\": \"21\"");
    std::ofstream(dir.file("kepri.json")) << text;
    return parse_node_config(text, dir.file("kepri.json"), dir.path());
  }()};
  crypto::SigningKey key = crypto::SigningKey::generate();
  std::string token;
  http::Client c = parent.client();
  std::vector<http::Header> headers;

  SignedFederation() {
    SqliteStore s(StoreOptions{parent.config().store.path, true, 5000, false});
    token = s.create_token("batam", "node", "kota-batam", 1).secret;
    headers = TestNode::auth(token);
    headers.push_back({"content-type", "application/json"});
  }
  int register_key(const crypto::SigningKey& k) {
    KeyRegistration r{"kota-batam", k.key_id(), k.public_key(), std::nullopt, ""};
    r.voucher = k.sign(key_text(r));
    auto a = c.request("POST", "/fed/v1/keys", keys_request_json({r}), headers);
    REQUIRE_MESSAGE(a.status == 200, a.body);
    return a.body.find("\"refused\"") == std::string::npos ? 0 : 1;
  }
  Event created(const std::string& id) {
    Event e;
    e.event_id = make_uuid_v7();
    e.complaint_id = id;
    e.origin = "kota-batam";
    e.at = system_now_ms();
    e.actor = Actor{"system", "", ""};
    e.kind = EventKind::created;
    e.payload =
        R"({"id":")" + id +
        R"(","refs":[],"type":"pengaduan","title":"Jalan rusak","body":"Lubang","region":"21.71","received_at":"2026-11-20T01:00:00.000Z","channel":"app","privacy":"anonim","attachments":[]})";
    e.hops = {"kota-batam"};
    return e;
  }
  // Signs `signed_as` (as Batam would) and sends `sent` citing that signature.
  std::string push(const Event& signed_as, Event sent, const crypto::SigningKey* with = nullptr,
                   bool strip = false) {
    SignedBatch b = sign_batch("kota-batam", {signed_as}, with ? *with : key);
    if (!strip) sent.proof = EventProof{b.id, 0};
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    w.Key("events");
    w.StartArray();
    json::write_event(w, sent, true);
    w.EndArray();
    if (!strip) {
      w.Key("batches");
      w.StartArray();
      write_batch(w, b);
      w.EndArray();
    }
    w.EndObject();
    auto r = c.request("POST", "/fed/v1/events", buf.GetString(), headers);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto doc = json::parse(r.body);
    const auto& res = (*doc)["results"][0];
    return json::get_string(res, "outcome") + ": " + json::get_string(res, "reason");
  }
  std::int64_t refused(const std::string& complaint_id) {
    return test::db_count(parent.config().store.path,
                          "SELECT count(*) FROM audit_log WHERE action = 'fed.rejected' AND "
                          "target = '" +
                              complaint_id + "'");
  }
};

}  // namespace

TEST_CASE_FIXTURE(SignedFederation,
                  "signatures: a signed event is accepted - its key registered first - and "
                  "kept with its proof to go on upward") {
  const std::string id = make_uuid_v7();
  Event e = created(id);
  CHECK(push(e, e).rfind("retry", 0) == 0);  // the key is not known yet: sent again later
  CHECK(register_key(key) == 0);
  CHECK(push(e, e) == "accepted: ");
  CHECK(test::db_count(parent.config().store.path,
                       "SELECT count(*) FROM event_proofs WHERE event_id = '" + e.event_id + "'") ==
        1);
  std::string out;
  CHECK(run_simpul({"key", "list", "--config", dir.file("kepri.json")}, &out) == 0);
  CHECK(out.find(key.key_id()) != std::string::npos);
}

TEST_CASE_FIXTURE(SignedFederation,
                  "signatures: one byte of the payload changed - a stripped signature - a "
                  "replay under another complaint id - an origin outside the sender's subtree - "
                  "each rejected and audited") {
  REQUIRE(register_key(key) == 0);
  const std::string id = make_uuid_v7();
  Event e = created(id);
  Event changed = e;
  changed.payload.replace(changed.payload.find("Lubang"), 6, "Lubanh");
  CHECK(push(e, changed).find("rejected: the event is not what kota-batam signed") == 0);
  CHECK(refused(id) == 1);
  CHECK(push(e, e, nullptr, true) ==
        "rejected: the event is not signed (federation.signatures is "
        "require)");
  CHECK(refused(id) == 2);
  const std::string other = make_uuid_v7();
  Event replay = e;
  replay.complaint_id = other;
  CHECK(push(e, replay).find("rejected: the event is not what kota-batam signed") == 0);
  CHECK(refused(other) == 1);
  Event sibling = created(make_uuid_v7());
  sibling.origin = "kota-tanjungpinang";
  sibling.hops = {"kota-tanjungpinang", "kota-batam"};
  CHECK(push(sibling, sibling).find("not in the subtree of kota-batam") != std::string::npos);
  CHECK(refused(sibling.complaint_id) == 1);
  // Signed by a key that is not Batam's: the manifest does not verify under the key it names.
  crypto::SigningKey stranger = crypto::SigningKey::generate();
  SignedBatch forged = sign_batch("kota-batam", {e}, stranger);
  forged.key_id = key.key_id();
  CHECK_FALSE(verify_batch(forged, key.public_key()));
  // Nothing of it stored; the untouched event still goes in.
  CHECK(test::db_count(parent.config().store.path,
                       "SELECT count(*) FROM events WHERE complaint_id = '" + other + "'") == 0);
  CHECK(push(e, e) == "accepted: ");
}

TEST_CASE_FIXTURE(SignedFederation,
                  "signatures: a rotated key verifies alongside the old one - a revoked key's "
                  "events from its date on are refused and the ones before stay") {
  REQUIRE(register_key(key) == 0);
  const std::string id = make_uuid_v7();
  Event first = created(id);
  CHECK(push(first, first) == "accepted: ");
  crypto::SigningKey next = crypto::SigningKey::generate();
  REQUIRE(register_key(next) == 0);
  const std::string id2 = make_uuid_v7();
  Event second = created(id2);
  CHECK(push(second, second, &next) == "accepted: ");
  // The old key is still Batam's: what it signs verifies.
  Event third = created(make_uuid_v7());
  CHECK(push(third, third) == "accepted: ");
  // Compromised from now on: what it signs is refused; the new key goes on.
  std::string out;
  const TimeMs cut = system_now_ms();
  REQUIRE(run_simpul({"key", "revoke", "--config", dir.file("kepri.json"), "--node", "kota-batam",
                      "--key", key.key_id(), "--from", format_utc(cut)},
                     &out) == 0);
  Event late = created(make_uuid_v7());
  late.at = cut + 1000;
  CHECK(push(late, late).find("is revoked from") != std::string::npos);
  Event late_new = created(make_uuid_v7());
  late_new.at = cut + 1000;
  CHECK(push(late_new, late_new, &next) == "accepted: ");
  // A registration cannot take a revocation back.
  REQUIRE(register_key(key) == 0);
  CHECK(push(late, late).find("is revoked from") != std::string::npos);
  CHECK(test::db_count(dir.file("provinsi-kepri.db"),
                       "SELECT count(*) FROM audit_log WHERE action = 'key.revoke'") == 1);
}

TEST_CASE_FIXTURE(SignedFederation,
                  "signatures: a key registration must be signed with the key it registers - a "
                  "node's key through another child is refused") {
  crypto::SigningKey k = crypto::SigningKey::generate();
  KeyRegistration r{"kota-batam", k.key_id(), k.public_key(), std::nullopt, ""};
  r.voucher = crypto::SigningKey::generate().sign(key_text(r));  // not k's
  auto a = c.request("POST", "/fed/v1/keys", keys_request_json({r}), headers);
  CHECK(a.body.find("not signed with the key it registers") != std::string::npos);
  // Batam vouching for Tanjungpinang, another child of this province.
  REQUIRE(register_key(key) == 0);
  crypto::SigningKey t = crypto::SigningKey::generate();
  KeyRegistration tr{"kota-tanjungpinang", t.key_id(), t.public_key(), std::nullopt, ""};
  tr.voucher = key.sign(key_text(tr));
  a = c.request("POST", "/fed/v1/keys", keys_request_json({tr}), headers);
  CHECK(a.body.find("another child of this node") != std::string::npos);
  CHECK(test::db_count(parent.config().store.path,
                       "SELECT count(*) FROM audit_log WHERE action = 'fed.key_refused'") == 2);
}
