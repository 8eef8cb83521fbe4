// Node identity by certificate (mTLS): the federation's authority made with `simpul pki`, a
// parent that asks its children for certificates and refuses each bad one with its reason (no
// certificate, another authority's, expired, revoked, naming a node that is not its child, a
// certificate and a token of two different nodes), failed certificates throttled like tokens,
// a child that syncs with its certificate, and renewed certificates taken on SIGHUP while a
// request is in flight.

#include <doctest/doctest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "core/json.hpp"
#include "core/pki.hpp"
#include "node/uplinks.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::eventually;
using test::run_simpul;

namespace {

constexpr TimeMs kDay = 86'400'000;

// The federation's authority, a second one nobody trusts, and the parent's own certificate.
struct Authorities {
  test::TempDir dir;
  std::string ca = dir.file("ca");
  std::string other = dir.file("other-ca");
  TimeMs now = system_now_ms();
  Authorities() {
    pki::create_authority(ca, "Federasi Uji", 400, now);
    pki::create_authority(other, "Orang Lain", 30, now);
    pki::issue(ca, {"provinsi-kepri", {"localhost"}, {"127.0.0.1"}, now - 60'000, now + 90 * kDay},
               dir.file("parent.pem"), dir.file("parent.key"));
  }
  // A node certificate: `from` the authority's folder, valid from..until.
  std::string issue(const std::string& from, const std::string& node, const std::string& name,
                    TimeMs not_before, TimeMs not_after) const {
    pki::issue(from, {node, {}, {}, not_before, not_after}, dir.file(name + ".pem"),
               dir.file(name + ".key"));
    return dir.file(name);
  }
  std::string issue(const std::string& node, const std::string& name) const {
    return issue(ca, node, name, now - 60'000, now + 90 * kDay);
  }
};

// The http block of a parent that asks for certificates, and its children: kota-batam by
// certificate, kota-lain by certificate and token together, kab-lama by token only.
std::string parent_extra(const std::string& more = "") {
  return R"("children": [{"id": "kota-batam", "regions": ["21.71"]},
                         {"id": "kota-lain", "regions": ["21.72"], "auth": "both"},
                         {"id": "kab-lama", "regions": ["21.01"], "auth": "token"}],
            "federation": {"child_auth": "certificate", "signatures": "off"},)" +
         more;
}

std::string tls_block(const Authorities& a) {
  return R"(, "tls": {"cert_file": ")" + a.dir.file("parent.pem") + R"(", "key_file": ")" +
         a.dir.file("parent.key") + R"(", "client_ca_file": ")" + pki::authority_file(a.ca) +
         R"(", "client_crl_file": ")" + pki::crl_file(a.ca) + R"("})";
}

Config parent_config(const test::TempDir& dir, const Authorities& a, int failed_burst = 4) {
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::string text = test::config_json(dir, "provinsi-kepri", tls_block(a));
  text.replace(text.find("\"log\""), 0, parent_extra());
  const std::string admin = R"("admin_token": "env:SIMPUL_TEST_ADMIN")";
  text.replace(
      text.find(admin) + admin.size(), 0,
      R"(, "failed_burst": )" + std::to_string(failed_burst) + R"(, "failed_per_minute": 6)");
  text.replace(text.find("\"tier\": \"kabkota\""), 17, "\"tier\": \"provinsi\"");
  text.replace(text.find("\"region\": \"21.71\""), 17, "\"region\": \"21\"");
  std::ofstream(dir.file("provinsi-kepri.json")) << text;
  return parse_node_config(text, dir.file("provinsi-kepri.json"), dir.path());
}

http::TlsClientConfig presenting(const Authorities& a, const std::string& cert) {
  http::TlsClientConfig t;
  t.enabled = true;
  t.ca_file = pki::authority_file(a.ca);
  t.server_name = "127.0.0.1";
  if (!cert.empty()) {
    t.cert_file = cert + ".pem";
    t.key_file = cert + ".key";
  }
  return t;
}

// GET /fed/v1/changes?wait=0 presenting `cert` (a prefix; "" for none) from `from_address`.
http::ClientResponse ask(std::uint16_t port, const Authorities& a, const std::string& cert,
                         const std::string& token = "", const std::string& from = "127.0.0.1") {
  http::Client c("127.0.0.1", port, 5000, presenting(a, cert));
  c.set_local_address(from);
  std::vector<http::Header> h;
  if (!token.empty()) h.push_back({"Authorization", "Bearer " + token});
  return c.request("GET", "/fed/v1/changes?wait=0", "", h);
}

std::string detail_of(const http::ClientResponse& r) {
  auto doc = json::parse(r.body);
  if (!doc || !doc->IsObject() || !doc->HasMember("detail")) return r.body;
  return (*doc)["detail"].GetString();
}

std::string node_token(const Config& cfg, const std::string& node) {
  SqliteStore s(StoreOptions{cfg.store.path, true, 5000, false});
  return s.create_token(node, "node", node, 1).secret;
}

// The serial of the certificate a TLS listener presents to a new connection.
std::string served_serial(std::uint16_t port) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<asio::ip::tcp::socket> s(ioc, ctx);
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
  s.handshake(asio::ssl::stream_base::client);
  X509* cert = SSL_get1_peer_certificate(s.native_handle());
  REQUIRE(cert != nullptr);
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = hex;
  OPENSSL_free(hex);
  BN_free(bn);
  X509_free(cert);
  boost::system::error_code ignored;
  s.shutdown(ignored);
  return out;
}

}  // namespace

TEST_CASE("mtls: simpul pki makes an authority - issues - renews - lists and revokes") {
  test::TempDir dir;
  const std::string ca = dir.file("ca");
  std::string out;
  REQUIRE(run_simpul({"pki", "ca", "--dir", ca, "--name", "Federasi SP4N Kepri"}, &out) == 0);
  CHECK(out.find("CN=Federasi SP4N Kepri") != std::string::npos);
  CHECK(std::filesystem::status(ca + "/ca.key").permissions() ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  // A second authority in the same folder would orphan every certificate of the first.
  CHECK(run_simpul({"pki", "ca", "--dir", ca, "--name", "Lagi"}, &out) == 1);
  CHECK(out.find("already holds an authority") != std::string::npos);

  REQUIRE(run_simpul({"pki", "issue", "--dir", ca, "--node", "kota-batam", "--out",
                      dir.file("batam"), "--dns", "simpul.batam.go.id", "--days", "30"},
                     &out) == 0);
  auto first = pki::read_certificate(dir.file("batam.pem"));
  CHECK(first.node == "kota-batam");
  CHECK(first.dns == std::vector<std::string>{"simpul.batam.go.id"});
  CHECK(first.issuer == "CN=Federasi SP4N Kepri");
  CHECK((first.not_after - first.not_before) / kDay == 30);
  CHECK(std::filesystem::status(dir.file("batam.key")).permissions() ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(run_simpul({"pki", "issue", "--dir", ca, "--node", "Kota Batam", "--out", dir.file("x")},
                   &out) == 1);
  CHECK(out.find("is not one") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.file("x.pem")));

  // Renewal: a new key and serial with the same names, over the same files.
  const std::string old_key = [&] {
    std::ifstream in(dir.file("batam.key"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  REQUIRE(
      run_simpul({"pki", "renew", "--dir", ca, "--cert", dir.file("batam.pem"), "--days", "400"},
                 &out) == 0);
  auto renewed = pki::read_certificate(dir.file("batam.pem"));
  CHECK(renewed.node == "kota-batam");
  CHECK(renewed.dns == first.dns);
  CHECK(renewed.serial != first.serial);
  CHECK((renewed.not_after - renewed.not_before) / kDay == 400);
  std::ifstream key_in(dir.file("batam.key"));
  CHECK(std::string(std::istreambuf_iterator<char>(key_in), {}) != old_key);

  REQUIRE(run_simpul({"pki", "revoke", "--dir", ca, "--serial", first.serial}, &out) == 0);
  CHECK(run_simpul({"pki", "revoke", "--dir", ca, "--serial", "ABCDEF"}, &out) == 1);
  CHECK(out.find("issued no certificate with serial ABCDEF") != std::string::npos);
  REQUIRE(run_simpul({"pki", "list", "--dir", ca}, &out) == 0);
  const auto first_row = out.substr(out.find(first.serial));
  CHECK(first_row.substr(0, first_row.find('\n')).find("revoked") != std::string::npos);
  const auto renewed_row = out.substr(out.find(renewed.serial));
  CHECK(renewed_row.substr(0, renewed_row.find('\n')).find("days left") != std::string::npos);
  auto crl = pki::read_crl(pki::crl_file(ca));
  REQUIRE(crl.size() == 1);
  CHECK(crl[0].serial == first.serial);
}

TEST_CASE("mtls: a parent refuses no certificate - another CA - expired - revoked - another node") {
  Authorities a;
  test::TempDir dir;
  Config cfg = parent_config(dir, a);
  test::TestNode parent(cfg);
  const auto port = parent.port();

  const std::string good = a.issue("kota-batam", "batam");
  auto r = ask(port, a, good);
  CHECK(r.status == 200);

  r = ask(port, a, "");
  CHECK(r.status == 401);
  CHECK(detail_of(r).find("present a client certificate") != std::string::npos);

  const std::string stranger =
      a.issue(a.other, "kota-batam", "stranger", a.now - 60'000, a.now + kDay);
  r = ask(port, a, stranger);
  CHECK(r.status == 401);
  CHECK(detail_of(r).find("unknown CA") != std::string::npos);

  r = ask(port, a, a.issue(a.ca, "kota-batam", "expired", a.now - 10 * kDay, a.now - kDay), "",
          "127.0.0.2");
  CHECK(r.status == 401);
  CHECK(detail_of(r).find("expired") != std::string::npos);

  const std::string revoked = a.issue("kota-batam", "revoked");
  pki::revoke(a.ca, pki::read_certificate(revoked + ".pem").serial, a.now);
  // The parent reads the list at start and on SIGHUP: this node started before the revocation.
  CHECK(ask(port, a, revoked, "", "127.0.0.2").status == 200);

  r = ask(port, a, a.issue("kota-asing", "asing"), "", "127.0.0.2");
  CHECK(r.status == 403);
  CHECK(detail_of(r).find("names node kota-asing, which is not a child") != std::string::npos);

  // kota-lain must send its token too, and the two must name the same node.
  const std::string lain = a.issue("kota-lain", "lain");
  const std::string lain_token = node_token(cfg, "kota-lain");
  r = ask(port, a, lain, "", "127.0.0.3");
  CHECK(r.status == 401);
  CHECK(detail_of(r).find("also send its node token") != std::string::npos);
  r = ask(port, a, good, lain_token, "127.0.0.3");
  CHECK(r.status == 403);
  CHECK(detail_of(r).find("names node kota-batam, not kota-lain") != std::string::npos);
  CHECK(ask(port, a, lain, lain_token, "127.0.0.3").status == 200);
  // kab-lama has no certificate: its token alone, as before.
  CHECK(ask(port, a, "", node_token(cfg, "kab-lama"), "127.0.0.4").status == 200);

  // Failed certificates count like wrong tokens: past the burst, 429 for that address only.
  int throttled = 0;
  for (int i = 0; i < 8; ++i)
    if (ask(port, a, stranger, "", "127.0.0.5").status == 429) ++throttled;
  CHECK(throttled > 0);
  CHECK(ask(port, a, good).status == 200);
}

TEST_CASE("mtls: a revocation list reloaded on SIGHUP refuses the revoked certificate") {
  Authorities a;
  test::TempDir dir;
  parent_config(dir, a);
  test::ServeProcess parent(dir.file("provinsi-kepri.json"), dir.file("ready"),
                            dir.file("parent.log"));
  const std::string cert = a.issue("kota-batam", "batam");
  REQUIRE(ask(parent.port(), a, cert).status == 200);
  pki::revoke(a.ca, pki::read_certificate(cert + ".pem").serial, a.now);
  parent.signal(SIGHUP);
  CHECK(eventually(
      [&] {
        auto r = ask(parent.port(), a, cert);
        return r.status == 401 && detail_of(r).find("revoked") != std::string::npos;
      },
      10));
}

TEST_CASE("mtls: renewed certificates are taken on SIGHUP while a request is in flight") {
  Authorities a;
  test::TempDir dir;
  parent_config(dir, a);
  test::ServeProcess parent(dir.file("provinsi-kepri.json"), dir.file("ready"),
                            dir.file("parent.log"));
  const auto port = parent.port();
  const std::string before = served_serial(port);
  CHECK(before == pki::read_certificate(a.dir.file("parent.pem")).serial);

  // A child's long-poll waits 3 s at the parent; the parent's certificate is renewed and the
  // parent told so in the middle of it.
  const std::string cert = a.issue("kota-batam", "batam");
  auto in_flight = std::async(std::launch::async, [&] {
    http::Client c("127.0.0.1", port, 10'000, presenting(a, cert));
    return c.request("GET", "/fed/v1/changes?wait=3").status;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  pki::renew(a.ca, a.dir.file("parent.pem"), a.dir.file("parent.key"), 60, system_now_ms());
  const std::string renewed = pki::read_certificate(a.dir.file("parent.pem")).serial;
  REQUIRE(renewed != before);
  parent.signal(SIGHUP);
  CHECK(in_flight.get() == 200);  // not dropped
  CHECK(eventually([&] { return served_serial(port) == renewed; }, 10));

  // The child's side: its certificate renewed on disk and SIGHUP; the parent sees the new one
  // on the child's next connection (its expiry per child on /metrics).
  test::TempDir child_dir;
  const std::string child_cfg = R"("upstream": {"url": "https://127.0.0.1:)" +
                                std::to_string(port) + R"(", "node": "provinsi-kepri",
      "ca_file": ")" + pki::authority_file(a.ca) +
                                R"(", "cert_file": ")" + cert + R"(.pem", "key_file": ")" + cert +
                                R"(.key",
      "poll_wait_s": 2, "timeout_ms": 3000, "max_backoff_ms": 500},
      "federation": {"signatures": "off"},)";
  test::node_config(child_dir, "kota-batam", child_cfg);
  test::ServeProcess child(child_dir.file("kota-batam.json"), child_dir.file("ready"),
                           child_dir.file("child.log"));
  auto child_expiry = [&] {
    http::Client c("127.0.0.1", port, 5000, presenting(a, ""));
    auto m = c.request("GET", "/metrics", "", test::TestNode::auth());
    const std::string key =
        "simpul_child_certificate_expiry_timestamp_seconds{child=\"kota-batam\"} ";
    auto at = m.body.find(key);
    if (at == std::string::npos) return -1.0;
    // One series per child (it was once registered four times, once per loop over children).
    if (m.body.find(key, at + key.size()) != std::string::npos) return -2.0;
    return std::stod(m.body.substr(at + key.size()));
  };
  const TimeMs first_after = pki::read_certificate(cert + ".pem").not_after;
  CHECK(eventually([&] { return child_expiry() == static_cast<double>(first_after / 1000); }, 15));

  // A complaint the child stores reaches the parent over the certificate-only link.
  {
    http::Client c("127.0.0.1", child.port(), 5000);
    auto r = c.request("POST", "/v1/complaints", test::sample_complaint(), test::TestNode::auth());
    REQUIRE(r.status == 201);
  }
  CHECK(eventually(
      [&] {
        return test::db_count(dir.file("provinsi-kepri.db"), "SELECT COUNT(*) FROM complaints") ==
               1;
      },
      15));

  pki::renew(a.ca, cert + ".pem", cert + ".key", 200, system_now_ms());
  const TimeMs second_after = pki::read_certificate(cert + ".pem").not_after;
  REQUIRE(second_after != first_after);
  child.signal(SIGHUP);
  CHECK(eventually([&] { return child_expiry() == static_cast<double>(second_after / 1000); }, 15));

  // Its own certificates' expiry on /metrics and in simpul status.
  http::Client c("127.0.0.1", child.port(), 5000);
  auto m = c.request("GET", "/metrics", "", test::TestNode::auth());
  CHECK(m.body.find("simpul_tls_certificate_expiry_timestamp_seconds{certificate=\"upstream\"} " +
                    std::to_string(second_after / 1000)) != std::string::npos);
  std::string out;
  REQUIRE(run_simpul({"status", "--config", child_dir.file("kota-batam.json")}, &out) == 0);
  CHECK(out.find("upstream certificate") != std::string::npos);
  CHECK(out.find("199 days left") != std::string::npos);
}

TEST_CASE("mtls: a child whose certificate the parent refuses shows the reason in its status") {
  Authorities a;
  test::TempDir dir;
  Config cfg = parent_config(dir, a, 10'000);  // not throttled: the reason stays the last error
  test::TestNode parent(cfg);
  const std::string stranger =
      a.issue(a.other, "kota-batam", "stranger", a.now - 60'000, a.now + 90 * kDay);
  test::TempDir child_dir;
  test::node_config(child_dir, "kota-batam",
                    R"("upstream": {"url": "https://127.0.0.1:)" + std::to_string(parent.port()) +
                        R"(", "node": "provinsi-kepri", "ca_file": ")" + pki::authority_file(a.ca) +
                        R"(", "cert_file": ")" + stranger + R"(.pem", "key_file": ")" + stranger +
                        R"(.key",
      "poll_wait_s": 1, "timeout_ms": 2000, "max_backoff_ms": 300},)");
  test::ServeProcess child(child_dir.file("kota-batam.json"), child_dir.file("ready"));
  {
    http::Client c("127.0.0.1", child.port(), 5000);
    REQUIRE(c.request("POST", "/v1/complaints", test::sample_complaint(), test::TestNode::auth())
                .status == 201);
  }
  std::string out;
  CHECK(eventually(
      [&] {
        run_simpul({"status", "--config", child_dir.file("kota-batam.json")}, &out);
        return out.find("client certificate refused: unknown CA") != std::string::npos;
      },
      15));
  // Nothing of it reached the parent.
  CHECK(test::db_count(cfg.store.path, "SELECT count(*) FROM complaints") == 0);
}
