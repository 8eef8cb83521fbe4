// TLS on both ends: the node's listener and the upstream link to the parent. Certificates come
// from a throwaway CA made for each test (support/test_pki). A client that cannot verify the
// peer (unknown CA, wrong name) sends nothing; the link over a verified connection syncs both
// ways; the link sends the parent's name as SNI.

#include <doctest/doctest.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "core/json.hpp"
#include "node/node.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_pki.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;
using test::node_config;

namespace {

std::string tls_member(const test::TestPki& pki) {
  return R"(, "tls": {"cert_file": ")" + pki.cert_file + R"(", "key_file": ")" + pki.key_file +
         R"("})";
}

Config tls_node_config(const test::TempDir& dir, const std::string& id, const test::TestPki& pki,
                       const std::string& extra = "") {
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::string text = test::config_json(dir, id, tls_member(pki));
  text.replace(text.find("\"log\""), 0, extra);
  return parse_config(text, dir.file(id + ".json"), dir.path());
}

http::TlsClientConfig trusting(const test::TestPki& pki, const std::string& name = "") {
  http::TlsClientConfig t;
  t.enabled = true;
  t.ca_file = pki.ca_file;
  t.server_name = name;
  return t;
}

std::string failure_of(http::Client& c) {
  try {
    c.request("GET", "/livez");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

const char* kParentCfg = R"("children": [{"id": "kota-batam", "regions": ["21.71"]}],)";

std::string upstream_member(const std::string& url, const std::string& ca_file,
                            const std::string& more = "") {
  return R"("upstream": {"url": ")" + url +
         R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_TEST_UPSTREAM",
            "ca_file": ")" +
         ca_file + R"(", "poll_wait_s": 1, "timeout_ms": 2000, "max_backoff_ms": 500)" + more +
         "},";
}

void issue_child_token(const Config& parent_cfg) {
  SqliteStore s(StoreOptions{parent_cfg.store.path, true, 5000, false});
  setenv("SIMPUL_TEST_UPSTREAM", s.create_token("batam", "node", "kota-batam", 1).secret.c_str(),
         1);
}

}  // namespace

TEST_CASE("tls: the listener serves a client that trusts its CA - by name or by IP address") {
  test::TempDir dir;
  auto pki = test::make_test_pki(dir.path(), "node", {"localhost", "127.0.0.1"});
  test::TestNode node(tls_node_config(dir, "kota-batam", pki));
  http::Client by_ip("127.0.0.1", node.port(), 5000, trusting(pki));
  CHECK(by_ip.request("GET", "/livez").status == 200);
  CHECK(by_ip.request("GET", "/livez").status == 200);  // kept alive
  http::Client by_name("localhost", node.port(), 5000, trusting(pki));
  auto r =
      by_name.request("POST", "/v1/complaints", test::sample_complaint(), test::TestNode::auth());
  CHECK(r.status == 201);
}

TEST_CASE(
    "tls: a client refuses a certificate from another CA or for another name - before sending "
    "anything") {
  test::TempDir dir;
  auto pki = test::make_test_pki(dir.path(), "node", {"localhost", "127.0.0.1"});
  auto other = test::make_test_pki(dir.path(), "other", {"localhost", "127.0.0.1"});
  test::TestNode node(tls_node_config(dir, "kota-batam", pki));

  http::Client wrong_ca("127.0.0.1", node.port(), 5000, trusting(other));
  CHECK(failure_of(wrong_ca).find("certificate refused") != std::string::npos);

  http::Client wrong_name("127.0.0.1", node.port(), 5000, trusting(pki, "simpul.kepri.go.id"));
  auto why = failure_of(wrong_name);
  CHECK(why.find("hostname mismatch") != std::string::npos);

  auto ip_only = test::make_test_pki(dir.path(), "iponly", {"10.1.2.3"});
  test::TestNode node2(tls_node_config(dir, "kota-tpi", ip_only));
  http::Client wrong_ip("127.0.0.1", node2.port(), 5000, trusting(ip_only));
  CHECK(failure_of(wrong_ip).find("IP address mismatch") != std::string::npos);

  // Nothing reached the node: no complaint was stored by the refused clients.
  http::Client good("127.0.0.1", node.port(), 5000, trusting(pki));
  auto list = good.request("GET", "/v1/complaints", "", test::TestNode::auth());
  REQUIRE(list.status == 200);
  CHECK(json::parse(list.body)->operator[]("items").Size() == 0);
}

TEST_CASE("tls: plain HTTP - garbage and stalled handshakes at a TLS listener fail alone") {
  test::TempDir dir;
  auto pki = test::make_test_pki(dir.path(), "node", {"127.0.0.1"});
  auto cfg = tls_node_config(dir, "kota-batam", pki);
  cfg.http.header_timeout_ms = 500;
  test::TestNode node(cfg);

  http::Client plain("127.0.0.1", node.port(), 3000);
  CHECK_THROWS(plain.request("GET", "/livez"));

  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket garbage(ioc), stalled(ioc);
  boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), node.port());
  garbage.connect(ep);
  stalled.connect(ep);  // connects and never starts the handshake
  boost::asio::write(garbage, boost::asio::buffer(std::string(2000, '\x16')));

  http::Client good("127.0.0.1", node.port(), 5000, trusting(pki));
  CHECK(good.request("GET", "/livez").status == 200);
  // The stalled connection is dropped after the header timeout.
  char byte;
  boost::system::error_code ec;
  stalled.read_some(boost::asio::buffer(&byte, 1), ec);
  CHECK(ec);
}

TEST_CASE("tls: the upstream link syncs both ways over a verified https connection") {
  test::TempDir dir;
  auto pki = test::make_test_pki(dir.path(), "kepri", {"localhost"});
  auto parent_cfg = tls_node_config(dir, "provinsi-kepri", pki, kParentCfg);
  test::TestNode parent(parent_cfg);
  issue_child_token(parent_cfg);
  auto child_cfg = node_config(
      dir, "kota-batam",
      upstream_member("https://localhost:" + std::to_string(parent.port()), pki.ca_file));
  REQUIRE(child_cfg.upstream.tls.enabled);
  test::TestNode child(child_cfg);
  auto c = child.client();
  auto r = c.request("POST", "/v1/complaints",
                     test::sample_complaint("Lewat TLS", R"(,"region":"21.71")"),
                     test::TestNode::auth());
  REQUIRE(r.status == 201);
  auto id = json::get_string(*json::parse(r.body), "id");
  CHECK(eventually(
      [&] { return db_count(parent_cfg.store.path, "SELECT count(*) FROM complaints") == 1; }));

  http::Client pc("localhost", parent.port(), 5000, trusting(pki));
  REQUIRE(pc.request("POST", "/v1/complaints/" + id + "/events", R"({"kind":"verified"})",
                     test::TestNode::auth())
              .status == 201);
  CHECK(eventually([&] {
    auto got = c.request("GET", "/v1/complaints/" + id, "", test::TestNode::auth());
    return json::get_string(*json::parse(got.body), "status") == "verified";
  }));
}

TEST_CASE("tls: the upstream link sends nothing to a parent whose certificate does not verify") {
  test::TempDir dir;
  auto pki = test::make_test_pki(dir.path(), "kepri", {"localhost"});
  auto impostor = test::make_test_pki(dir.path(), "impostor", {"localhost"});
  auto parent_cfg = tls_node_config(dir, "provinsi-kepri", impostor, kParentCfg);
  test::TestNode parent(parent_cfg);
  issue_child_token(parent_cfg);
  // The child trusts the real CA; the parent presents a certificate from another one.
  auto child_cfg = node_config(
      dir, "kota-batam",
      upstream_member("https://localhost:" + std::to_string(parent.port()), pki.ca_file));
  test::TestNode child(child_cfg);
  auto c = child.client();
  REQUIRE(c.request("POST", "/v1/complaints",
                    test::sample_complaint("Tidak lewat", R"(,"region":"21.71")"),
                    test::TestNode::auth())
              .status == 201);
  const auto& cdb = child_cfg.store.path;
  CHECK(eventually([&] {
    return db_count(
               cdb,
               "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = 'pending' "
               "AND last_error LIKE 'certificate refused%'") == 1;
  }));
  CHECK(db_count(parent_cfg.store.path, "SELECT count(*) FROM complaints") == 0);
  CHECK(db_count(cdb, "SELECT count(*) FROM dead_letters") == 0);  // kept, not dropped
  std::string out;
  CHECK(test::run_simpul({"status", "--config", child_cfg.file}, &out) == 0);
  CHECK(out.find("certificate refused") != std::string::npos);
}

TEST_CASE("tls: the upstream link sends the parent's host name as SNI - or server_name when set") {
  test::TempDir dir;
  auto pki = test::make_test_pki(dir.path(), "kepri", {"localhost", "simpul.kepri.go.id"});
  // A bare TLS server that records the SNI of each handshake and then hangs up.
  boost::asio::io_context ioc;
  boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
  ctx.use_certificate_chain_file(pki.cert_file);
  ctx.use_private_key_file(pki.key_file, boost::asio::ssl::context::pem);
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::mutex mu;
  std::vector<std::string> seen;
  std::atomic<bool> done{false};
  std::thread server([&] {
    while (!done) {
      boost::asio::ip::tcp::socket s(ioc);
      boost::system::error_code ec;
      acceptor.accept(s, ec);
      if (ec || done) break;
      boost::asio::ssl::stream<boost::asio::ip::tcp::socket> tls(std::move(s), ctx);
      tls.handshake(boost::asio::ssl::stream_base::server, ec);
      const char* name = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name);
      std::lock_guard lock(mu);
      seen.push_back(ec ? "handshake failed" : name ? name : "(none)");
    }
  });
  auto port = std::to_string(acceptor.local_endpoint().port());
  setenv("SIMPUL_TEST_UPSTREAM", "unused-token", 1);
  auto seen_has = [&](const std::string& want) {
    return eventually(
        [&] {
          std::lock_guard lock(mu);
          return std::find(seen.begin(), seen.end(), want) != seen.end();
        },
        15);
  };
  {
    test::TestNode child(
        node_config(dir, "kota-batam", upstream_member("https://localhost:" + port, pki.ca_file)));
    CHECK(seen_has("localhost"));
  }
  {
    test::TestNode child(node_config(dir, "kota-tpi",
                                     upstream_member("https://127.0.0.1:" + port, pki.ca_file,
                                                     R"(, "server_name": "simpul.kepri.go.id")")));
    CHECK(seen_has("simpul.kepri.go.id"));
  }
  done = true;
  boost::asio::ip::tcp::socket poke(ioc);
  boost::system::error_code ignored;
  poke.connect(acceptor.local_endpoint(), ignored);
  server.join();
}

TEST_CASE("tls: config and check refuse missing or unusable certificate files - with the pointer") {
  test::TempDir dir;
  auto pki = test::make_test_pki(dir.path(), "node", {"localhost"});
  auto pointer = [&](const std::string& extra_http, const std::string& extra = "") {
    setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
    std::string text = test::config_json(dir, "kota-batam", extra_http);
    text.replace(text.find("\"log\""), 0, extra);
    try {
      auto cfg = parse_config(text, dir.file("x.json"), dir.path());
      check_tls(cfg);
    } catch (const ConfigError& e) {
      return e.pointer();
    }
    return std::string("accepted");
  };
  CHECK(pointer(tls_member(pki)) == "accepted");
  CHECK(pointer(R"(, "tls": {"cert_file": "missing.pem", "key_file": ")" + pki.key_file + "\"}") ==
        "/http/tls/cert_file");
  // A key that is not the certificate's.
  auto other = test::make_test_pki(dir.path(), "other", {"localhost"});
  CHECK(pointer(R"(, "tls": {"cert_file": ")" + pki.cert_file + R"(", "key_file": ")" +
                other.key_file + "\"}") == "/http/tls");
  // A CA file that is not PEM.
  std::ofstream(dir.file("junk.pem")) << "not a certificate\n";
  setenv("SIMPUL_TEST_UPSTREAM", "x", 1);
  CHECK(pointer("", upstream_member("https://kepri.example:8443", dir.file("junk.pem"))) ==
        "/upstream/ca_file");
  CHECK(pointer("", upstream_member("https://kepri.example:8443", dir.file("absent.pem"))) ==
        "/upstream/ca_file");
  CHECK(pointer("", upstream_member("https://kepri.example:8443", pki.ca_file)) == "accepted");
}

TEST_CASE("tls: the dashboard's session cookie is Secure when the node serves TLS") {
  test::TempDir dir;
  auto pki = test::make_test_pki(dir.path(), "node", {"localhost", "127.0.0.1"});
  test::TestNode node(tls_node_config(dir, "kota-batam", pki));
  http::Client c("127.0.0.1", node.port(), 5000, trusting(pki));
  auto r =
      c.request("POST", "/ui/session", std::string(R"({"token": ")") + test::kAdminToken + R"("})",
                {{"content-type", "application/json"}});
  REQUIRE_MESSAGE(r.status == 201, r.body);
  const std::string cookie = r.header("set-cookie");
  CHECK(cookie.find("; Secure") != std::string::npos);
  CHECK(cookie.find("HttpOnly") != std::string::npos);
}

TEST_CASE(
    "serve: SIGHUP reloads the log level and a renewed TLS certificate - says what it "
    "reloaded - never stops - requests go on being answered - a broken config changes "
    "nothing") {
  test::TempDir dir;
  auto first = test::make_test_pki(dir.path(), "lama", {"127.0.0.1"});
  auto renewed = test::make_test_pki(dir.path(), "baru", {"127.0.0.1"});
  const std::string cert = dir.file("server-cert.pem"), key = dir.file("server-key.pem");
  std::filesystem::copy_file(first.cert_file, cert);
  std::filesystem::copy_file(first.key_file, key);
  test::TestPki live{first.ca_file, cert, key};
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  auto write_config = [&](const std::string& level) {
    std::string text = test::config_json(dir, "kota-batam", tls_member(live));
    const auto at = text.find("\"level\": \"");
    REQUIRE(at != std::string::npos);
    text.replace(at + 10, text.find('"', at + 10) - at - 10, level);
    std::ofstream(dir.file("node.json"), std::ios::trunc) << text;
  };
  write_config("info");
  test::ServeProcess serve(dir.file("node.json"), dir.file("ready"), dir.file("log.jsonl"));
  auto log_has = [&](const std::string& what) {
    std::ifstream in(dir.file("log.jsonl"));
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.find(what) != std::string::npos;
  };
  // Requests all along, one connection kept alive across every signal.
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::thread client([&] {
    http::Client c("127.0.0.1", serve.port(), 5000, trusting(first));
    while (!done) {
      try {
        if (c.request("GET", "/livez").status == 200) ++answered;
      } catch (const std::exception&) {
        ++failed;
      }
    }
  });
  REQUIRE(eventually([&] { return answered > 0; }, 10));  // connected with the first certificate
  // The certificate renewed on disk and the log level raised, then SIGHUP.
  std::filesystem::copy_file(renewed.cert_file, cert,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(renewed.key_file, key,
                             std::filesystem::copy_options::overwrite_existing);
  write_config("debug");
  serve.signal(SIGHUP);
  CHECK(eventually([&] { return log_has("\"msg\":\"node.reloaded\""); }, 10));
  CHECK(log_has("log level debug"));
  CHECK(log_has("TLS certificate"));
  // New connections get the renewed certificate; the old CA no longer verifies it.
  {
    http::Client fresh("127.0.0.1", serve.port(), 5000, trusting(renewed));
    CHECK(fresh.request("GET", "/livez").status == 200);
    http::Client stale("127.0.0.1", serve.port(), 5000, trusting(first));
    CHECK_FALSE(failure_of(stale).empty());
  }
  // A config that no longer loads: an error line, the node as it was.
  std::ofstream(dir.file("node.json"), std::ios::trunc) << "{ not json";
  serve.signal(SIGHUP);
  CHECK(eventually([&] { return log_has("node.reload_failed"); }, 10));
  serve.signal(SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  done = true;
  client.join();
  CHECK(answered > 0);
  CHECK(failed == 0);  // the kept-alive connection was never dropped
  CHECK(serve.running());
  http::Client after("127.0.0.1", serve.port(), 5000, trusting(renewed));
  CHECK(after.request("GET", "/livez").status == 200);
  CHECK(serve.terminate() == 0);
}
