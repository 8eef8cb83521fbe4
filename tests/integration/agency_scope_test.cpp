// Agency scopes and honest actors, against a real node: a token bound to agency A lists, reads
// and acts only on what is or was with A; rahasia complaints are the handling agency's and the
// admin's; the actor on an event is the credential, whatever the body says.

#include <doctest/doctest.h>

#include <fstream>
#include <set>

#include "core/json.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::TestNode;

namespace {

struct Region {
  test::TempDir dir;
  Config cfg = [this] {
    std::ofstream(dir.file("agencies.json"))
        << R"([{"id": "dinas-pu-batam"}, {"id": "disdukcapil-batam"}, {"id": "dinsos-batam"}])";
    return test::node_config(dir, "kota-batam", R"("reference": {"agencies": "agencies.json"},)");
  }();
  TestNode node{cfg};
  http::Client c = node.client();
  std::string pu, dukcapil, both, plain;

  Region() {
    SqliteStore s(StoreOptions{cfg.store.path, true, 5000, false});
    pu = s.create_token("petugas-pu", "read,act", "", 1, "dinas-pu-batam").secret;
    dukcapil = s.create_token("petugas-dukcapil", "read,act", "", 1, "disdukcapil-batam").secret;
    both = s.create_token("kepala", "read,act", "", 1, "dinas-pu-batam,dinsos-batam").secret;
    plain = s.create_token("operator", "read,act", "", 1).secret;
  }
  std::string ingest(const std::string& title, const std::string& privacy = "anonim") {
    auto r = c.request("POST", "/v1/complaints",
                       test::sample_complaint(title, R"(,"privacy":")" + privacy + "\""),
                       TestNode::auth());
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json::get_string(*json::parse(r.body), "id");
  }
  http::ClientResponse act(const std::string& id, const std::string& body,
                           const std::string& token = test::kAdminToken) {
    return c.request("POST", "/v1/complaints/" + id + "/events", body, TestNode::auth(token));
  }
  http::ClientResponse get(const std::string& target,
                           const std::string& token = test::kAdminToken) {
    return c.request("GET", target, "", TestNode::auth(token));
  }
  std::set<std::string> listed(const std::string& token, const std::string& query = "") {
    auto r = get("/v1/complaints?limit=500" + query, token);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    std::set<std::string> ids;
    auto doc = json::parse(r.body);
    REQUIRE(doc.has_value());
    for (const auto& it : (*doc)["items"].GetArray()) ids.insert(json::get_string(it, "id"));
    return ids;
  }
  void dispose(const std::string& id, const std::string& agency) {
    auto r = act(id, R"({"kind":"disposed","payload":{"agency":")" + agency + "\"}}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }
  std::int64_t events_of(const std::string& id) {
    return test::db_count(cfg.store.path,
                          "SELECT count(*) FROM events WHERE complaint_id = '" + id + "'");
  }
};

}  // namespace

TEST_CASE_FIXTURE(
    Region, "agency scope: a token of agency A cannot list or read or act on B's complaints") {
  std::string road = ingest("Jalan rusak");
  std::string ktp = ingest("KTP belum jadi");
  std::string fresh = ingest("Belum didisposisi");
  dispose(road, "dinas-pu-batam");
  dispose(ktp, "disdukcapil-batam");

  CHECK(listed(pu) == std::set<std::string>{road});
  CHECK(listed(dukcapil) == std::set<std::string>{ktp});
  CHECK(listed(both) == std::set<std::string>{road});
  CHECK(listed(plain) == std::set<std::string>{road, ktp, fresh});
  CHECK(listed(test::kAdminToken) == std::set<std::string>{road, ktp, fresh});
  // A filter never widens what a token sees.
  CHECK(listed(pu, "&agency=disdukcapil-batam").empty());

  CHECK(get("/v1/complaints/" + road, pu).status == 200);
  auto other = get("/v1/complaints/" + ktp, pu);
  CHECK(other.status == 404);  // not seen is not there: no hint that it exists
  CHECK(other.body.find("KTP") == std::string::npos);
  CHECK(get("/v1/complaints/" + fresh, pu).status == 404);

  const auto before = events_of(ktp);
  CHECK(act(ktp, R"({"kind":"progressed"})", pu).status == 404);
  CHECK(act(ktp, R"({"kind":"responded","payload":{"text":"Selesai"}})", pu).status == 404);
  CHECK(act(ktp, R"({"kind":"forwarded","payload":{"agency":"dinas-pu-batam"}})", pu).status ==
        404);
  CHECK(events_of(ktp) == before);
  // Its own, it works.
  CHECK(act(road, R"({"kind":"progressed"})", pu).status == 201);
}

TEST_CASE_FIXTURE(Region,
                  "agency scope: a bound token cannot dispose or forward what its agency no longer "
                  "holds - but still reads what was once its") {
  std::string id = ingest("Bansos tidak cair");
  // Not disposed yet: not the agency's to dispose, and not visible to it either.
  CHECK(act(id, R"({"kind":"disposed","payload":{"agency":"dinas-pu-batam"}})", pu).status == 404);
  dispose(id, "dinas-pu-batam");
  // No Wrong Door: PU forwards it to Dinsos; the forward is recorded as PU's.
  auto fwd = act(id, R"({"kind":"forwarded","payload":{"agency":"dinsos-batam"}})", pu);
  REQUIRE_MESSAGE(fwd.status == 201, fwd.body);
  // PU had it: it still lists and reads it, but may not move it again.
  CHECK(listed(pu).count(id) == 1);
  CHECK(get("/v1/complaints/" + id, pu).status == 200);
  const auto before = events_of(id);
  auto again = act(id, R"({"kind":"forwarded","payload":{"agency":"disdukcapil-batam"}})", pu);
  CHECK(again.status == 403);
  CHECK(events_of(id) == before);
  // The token bound to Dinsos (and PU) holds it now.
  CHECK(act(id, R"({"kind":"forwarded","payload":{"agency":"disdukcapil-batam"}})", both).status ==
        201);
  CHECK(listed(dukcapil).count(id) == 1);
}

TEST_CASE_FIXTURE(Region,
                  "agency scope: B's rahasia complaints are invisible to A and to an unbound "
                  "token - the handling agency and the admin see them") {
  std::string secret = ingest("Pungli di kantor", "rahasia");
  std::string open = ingest("Lampu jalan mati", "public");
  // Before it is disposed only the admin sees it.
  CHECK(listed(plain) == std::set<std::string>{open});
  CHECK(get("/v1/complaints/" + secret, plain).status == 404);
  CHECK(listed(test::kAdminToken).count(secret) == 1);

  dispose(secret, "disdukcapil-batam");
  CHECK(listed(dukcapil) == std::set<std::string>{secret});
  CHECK(get("/v1/complaints/" + secret, dukcapil).status == 200);
  CHECK(listed(pu).empty());
  CHECK(get("/v1/complaints/" + secret, pu).status == 404);
  CHECK(listed(plain).count(secret) == 0);
  CHECK(get("/v1/complaints/" + secret, plain).status == 404);
  CHECK(act(secret, R"({"kind":"progressed"})", plain).status == 404);
  // Its words are not found either, but by whom may see it.
  CHECK(listed(plain, "&q=pungli").empty());
  CHECK(listed(pu, "&q=pungli").empty());
  CHECK(listed(dukcapil, "&q=pungli") == std::set<std::string>{secret});

  // Forwarded on to PU: rahasia follows the handling agency, the one before no longer sees it.
  CHECK(act(secret, R"({"kind":"forwarded","payload":{"agency":"dinas-pu-batam"}})", dukcapil)
            .status == 201);
  CHECK(get("/v1/complaints/" + secret, pu).status == 200);
  CHECK(get("/v1/complaints/" + secret, dukcapil).status == 404);
  CHECK(listed(dukcapil).empty());
}

TEST_CASE_FIXTURE(Region,
                  "agency scope: a forged actor in the body is ignored - the credential is "
                  "recorded") {
  std::string id = ingest("Drainase tersumbat");
  dispose(id, "dinas-pu-batam");
  auto r = act(id,
               R"({"kind":"responded","actor":{"role":"admin","agency":"disdukcapil-batam",)"
               R"("name":"Walikota"},"payload":{"text":"Sudah dibersihkan"}})",
               pu);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto st = get("/v1/complaints/" + id);
  auto doc = json::parse(st.body);
  REQUIRE(doc.has_value());
  const auto& events = (*doc)["events"];
  const auto& last = events[events.Size() - 1];
  REQUIRE(json::get_string(last, "kind") == "responded");
  CHECK(json::get_string(last["actor"], "name") == "petugas-pu");
  CHECK(json::get_string(last["actor"], "agency") == "dinas-pu-batam");
  CHECK(json::get_string(last["actor"], "role") == "agency");
  CHECK(st.body.find("Walikota") == std::string::npos);
  // The disposition the admin made is the admin's.
  CHECK(json::get_string(events[1]["actor"], "role") == "admin");
}

TEST_CASE_FIXTURE(Region,
                  "list: filters by agency and channel and privacy and region and "
                  "conflict - and refuses a value it does not know") {
  std::string a = ingest("Satu");
  std::string b = ingest("Dua", "public");
  dispose(a, "dinas-pu-batam");
  CHECK(listed(test::kAdminToken, "&agency=dinas-pu-batam") == std::set<std::string>{a});
  CHECK(listed(test::kAdminToken, "&privacy=public") == std::set<std::string>{b});
  CHECK(listed(test::kAdminToken, "&channel=app") == std::set<std::string>{a, b});
  CHECK(listed(test::kAdminToken, "&channel=surat").empty());
  CHECK(listed(test::kAdminToken, "&conflict=true").empty());
  CHECK(listed(test::kAdminToken, "&region=21").size() == 2);  // 21.71 is inside province 21
  CHECK(listed(test::kAdminToken, "&region=22").empty());
  CHECK(listed(test::kAdminToken, "&overdue=any").empty());  // just received: nothing overdue
  // q: every word, in the title or the body, accents and case aside; never query syntax.
  CHECK(listed(test::kAdminToken, "&q=satu") == std::set<std::string>{a});
  CHECK(listed(test::kAdminToken, "&q=L%C3%BAbang%20JALAN") == std::set<std::string>{a, b});
  CHECK(listed(test::kAdminToken, "&q=satu%20minggu") == std::set<std::string>{a});
  CHECK(listed(test::kAdminToken, "&q=pungli").empty());
  CHECK(listed(test::kAdminToken, "&q=satu%E2%80%94minggu") == std::set<std::string>{});
  // Amended, it is found by its new words only.
  REQUIRE(act(a, R"({"kind":"amended","payload":{"fields":{"title":"Tiga"}}})").status == 201);
  CHECK(listed(test::kAdminToken, "&q=satu").empty());
  CHECK(listed(test::kAdminToken, "&q=tiga") == std::set<std::string>{a});
  REQUIRE(act(a, R"({"kind":"amended","payload":{"fields":{"title":"Satu"}}})").status == 201);
  CHECK(listed(test::kAdminToken, "&q=satu") == std::set<std::string>{a});
  CHECK(listed(test::kAdminToken, "&q=tiga").empty());
  CHECK(listed(test::kAdminToken, "&q=jalan-sudah") == std::set<std::string>{a, b});
  for (const char* odd :
       {"%22", "OR", "satu%20OR%20dua", "*", "NEAR(satu)", "%20%20", "a%E2%80%94b", "%E2%80%94"})
    CHECK(get(std::string("/v1/complaints?q=") + odd).status == 200);
  CHECK(get("/v1/complaints?channel=merpati").status == 400);
  CHECK(get("/v1/complaints?privacy=secret").status == 400);
  CHECK(get("/v1/complaints?overdue=soon").status == 400);
  CHECK(get("/v1/complaints?conflict=yes").status == 400);
}

TEST_CASE_FIXTURE(Region,
                  "offline entry: a letter entered by an officer is channel surat and "
                  "records who entered it") {
  auto r = c.request("POST", "/v1/complaints",
                     R"({"type":"pengaduan","title":"Surat warga","body":"Mohon perbaikan.",)"
                     R"("channel":"surat"})",
                     TestNode::auth(plain));
  CHECK(r.status == 403);  // read,act: entering needs ingest
  std::string officer;
  {
    SqliteStore s(StoreOptions{cfg.store.path, true, 5000, false});
    officer = s.create_token("siti-loket", "ingest,read", "", 1).secret;
  }
  r = c.request("POST", "/v1/complaints",
                R"({"type":"pengaduan","title":"Surat warga","body":"Mohon perbaikan.",)"
                R"("channel":"surat"})",
                TestNode::auth(officer));
  REQUIRE_MESSAGE(r.status == 201, r.body);
  std::string id = json::get_string(*json::parse(r.body), "id");
  auto st = json::parse(get("/v1/complaints/" + id).body);
  CHECK(json::get_string(*st, "channel") == "surat");
  CHECK(json::get_string((*st)["events"][0]["actor"], "name") == "siti-loket");
  CHECK(listed(test::kAdminToken, "&channel=surat") == std::set<std::string>{id});
}

TEST_CASE(
    "list: with store.full_text off nothing is indexed and q is refused - naming the setting") {
  test::TempDir dir;
  Config cfg = test::node_config(dir, "kota-batam", "");
  cfg.store.full_text = false;
  TestNode node(cfg);
  auto c = node.client();
  REQUIRE(
      c.request("POST", "/v1/complaints", test::sample_complaint("Jalan rusak"), TestNode::auth())
          .status == 201);
  auto r = c.request("GET", "/v1/complaints?q=jalan", "", TestNode::auth());
  CHECK(r.status == 400);
  CHECK(r.body.find("store.full_text") != std::string::npos);
  CHECK(test::db_count(cfg.store.path,
                       "SELECT count(*) FROM complaints WHERE fts_rowid IS NOT "
                       "NULL") == 0);
  CHECK(c.request("GET", "/v1/complaints", "", TestNode::auth()).status == 200);
}
