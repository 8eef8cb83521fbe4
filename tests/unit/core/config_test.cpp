// Config: good config, wrong type, missing key, bad secret reference. Errors name the file,
// the JSON Pointer and the reason.

#include "core/config.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include "support/test_support.hpp"

using namespace simpul;

namespace {
const char* kGood = R"({
  // comments are allowed
  "node": {"id": "kota-batam", "tier": "kabkota", "region": "21.71", "timezone": "WITA"},
  "store": {"path": "data/batam.db", "synchronous": "normal"},
  "http": {"listen": "0.0.0.0:8443", "max_body_bytes": 2048, "allow_plain_http": true},
  "auth": {"admin_token": "env:SIMPUL_ADMIN_TOKEN"},
  "sla": {"verify_days": 2},
})";

std::string pointer_of(const std::string& text) {
  try {
    parse_config(text, "node.json", "/etc/simpul");
  } catch (const ConfigError& e) {
    CHECK(e.file() == "node.json");
    CHECK_FALSE(e.reason().empty());
    return e.pointer();
  }
  FAIL("expected a ConfigError");
  return "";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto i = s.find(from);
  REQUIRE(i != std::string::npos);
  return s.replace(i, from.size(), to);
}
}  // namespace

TEST_CASE("config: a good file with comments and defaults") {
  auto c = parse_config(kGood, "node.json", "/etc/simpul");
  CHECK(c.node.id == "kota-batam");
  CHECK(c.node.name == "kota-batam");
  CHECK(c.node.zone.offset_minutes == 480);
  CHECK(c.store.path == "/etc/simpul/data/batam.db");
  CHECK_FALSE(c.store.synchronous_full);
  CHECK(c.http.host == "0.0.0.0");
  CHECK(c.http.port == 8443);
  CHECK(c.http.max_body_bytes == 2048);
  CHECK(c.http.header_timeout_ms == 10'000);
  CHECK(c.sla.rules.verify_days == 2);
  CHECK(c.sla.rules.followup_days == 5);
  CHECK(c.sla.rules.autoclose_days == 10);
}

TEST_CASE("config: wrong type - missing key - unknown key - bad values name the pointer") {
  CHECK(pointer_of(replace(kGood, R"("max_body_bytes": 2048)", R"("max_body_bytes": "2k")")) ==
        "/http/max_body_bytes");
  CHECK(pointer_of(replace(kGood, R"("tier": "kabkota", )", "")) == "/node/tier");
  CHECK(pointer_of(replace(kGood, R"("synchronous": "normal")", R"("synchronous": "off")")) ==
        "/store/synchronous");
  CHECK(pointer_of(replace(kGood, R"("sla": {)", R"("sla": {"verfy_days": 1, )")) ==
        "/sla/verfy_days");
  CHECK(pointer_of(replace(kGood, "env:SIMPUL_ADMIN_TOKEN", "hunter2")) == "/auth/admin_token");
  CHECK(pointer_of(replace(kGood, "0.0.0.0:8443", "0.0.0.0:99999")) == "/http/listen");
  CHECK(pointer_of("{\"node\": ") == "");
}

TEST_CASE("config: the SLA scheduler and report settings - defaults and bad values") {
  Config d = parse_config(kGood, "node.json", "/etc/simpul");
  CHECK(d.sla.rules.warn_days == 1);
  CHECK(d.sla.rules.forward_restarts);
  CHECK(d.sla.scan_interval_s == 60);
  CHECK(d.sla.scheduler);
  CHECK(d.reports.min_n == 5);
  Config c = parse_config(
      replace(kGood, R"("sla": {"verify_days": 2})",
              R"("sla": {"warn_days": 2, "on_forward": "continue", "scan_interval_s": 5,)"
              R"( "scheduler": false}, "reports": {"min_n": 10})"),
      "node.json", "/etc/simpul");
  CHECK(c.sla.rules.warn_days == 2);
  CHECK_FALSE(c.sla.rules.forward_restarts);
  CHECK(c.sla.scan_interval_s == 5);
  CHECK_FALSE(c.sla.scheduler);
  CHECK(c.reports.min_n == 10);
  CHECK(pointer_of(replace(kGood, R"("sla": {)", R"("sla": {"on_forward": "split", )")) ==
        "/sla/on_forward");
  CHECK(pointer_of(replace(kGood, R"("sla": {)", R"("sla": {"scan_interval_s": 0, )")) ==
        "/sla/scan_interval_s");
  CHECK(pointer_of(replace(kGood, R"("sla": {"verify_days": 2})",
                           R"("sla": {}, "reports": {"min_n": 0})")) == "/reports/min_n");
}

TEST_CASE("config: secrets resolve from env and file references only") {
  setenv("SIMPUL_TEST_SECRET", "s3cret", 1);
  CHECK(resolve_secret("env:SIMPUL_TEST_SECRET", "f", "/p") == "s3cret");
  CHECK_THROWS_AS(resolve_secret("env:SIMPUL_DOES_NOT_EXIST_42", "f", "/p"), ConfigError);
  CHECK_THROWS_AS(resolve_secret("file:/nonexistent/secret", "f", "/p"), ConfigError);
  CHECK_THROWS_AS(resolve_secret("plain-text", "f", "/p"), ConfigError);
}

TEST_CASE("config: reference files must be arrays of objects with a string id") {
  test::TempDir dir;
  std::ofstream(dir.file("ok.json")) << R"([{"id":"13","parent":"3","topic_name":"TIK"}])";
  std::ofstream(dir.file("bad.json")) << R"([{"id":13}])";
  std::string base = kGood;
  auto with_ref = [&](const std::string& f) {
    return replace(base, R"("sla": {)", R"("reference": {"topics": ")" + f + R"("}, "sla": {)");
  };
  auto c = parse_config(with_ref("ok.json"), "node.json", dir.path());
  REQUIRE(c.reference.size() == 1);
  CHECK(c.reference[0].first == "topics");
  try {
    parse_config(with_ref("bad.json"), "node.json", dir.path());
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.pointer() == "/reference/topics");
    CHECK(e.reason().find("string \"id\"") != std::string::npos);
  }
  CHECK_THROWS_AS(parse_config(with_ref("missing.json"), "node.json", dir.path()), ConfigError);
}

TEST_CASE("config: plain HTTP listens on loopback only - unless TLS or allow_plain_http") {
  CHECK(pointer_of(replace(kGood, R"(, "allow_plain_http": true)", "")) == "/http/listen");
  auto loopback = parse_config(
      replace(replace(kGood, R"(, "allow_plain_http": true)", ""), "0.0.0.0", "127.0.0.1"),
      "node.json", "/etc/simpul");
  CHECK_FALSE(loopback.http.tls.enabled());
  CHECK(pointer_of(replace(kGood, R"("allow_plain_http": true)",
                           R"("tls": {"cert_file": "/nonexistent.pem", "key_file": "k.pem"})")) ==
        "/http/tls/cert_file");
  CHECK(pointer_of(replace(kGood, R"("allow_plain_http": true)",
                           R"("tls": {"cert_file": "c.pem"})")) == "/http/tls/key_file");
}

TEST_CASE(
    "config: upstream urls - https with default port and server name - plain http only to "
    "loopback") {
  setenv("SIMPUL_UP", "t", 1);
  auto with_upstream = [](const std::string& member) {
    return replace(kGood, R"("sla": {)",
                   R"("upstream": {"url": )" + member +
                       R"(, "node": "provinsi-kepri", "credential": "env:SIMPUL_UP"},
      "sla": {)");
  };
  auto c = parse_config(with_upstream(R"("https://simpul.kepriprov.go.id")"), "node.json",
                        "/etc/simpul");
  CHECK(c.upstream.tls.enabled);
  CHECK(c.upstream.host == "simpul.kepriprov.go.id");
  CHECK(c.upstream.port == 443);
  CHECK(c.upstream.tls.server_name == "simpul.kepriprov.go.id");
  CHECK(c.upstream.tls.ca_file.empty());  // the system's trust store

  c = parse_config(
      with_upstream(R"("https://10.20.0.5:8443/", "server_name": "simpul.kepriprov.go.id")"),
      "node.json", "/etc/simpul");
  CHECK(c.upstream.host == "10.20.0.5");
  CHECK(c.upstream.port == 8443);
  CHECK(c.upstream.tls.server_name == "simpul.kepriprov.go.id");

  c = parse_config(with_upstream(R"("http://[::1]:7702")"), "node.json", "/etc/simpul");
  CHECK_FALSE(c.upstream.tls.enabled);
  CHECK(c.upstream.host == "::1");
  CHECK(c.upstream.port == 7702);

  CHECK(pointer_of(with_upstream(R"("http://10.20.0.5:7702")")) == "/upstream/url");
  CHECK(parse_config(with_upstream(R"("http://10.20.0.5:7702", "allow_plain_http": true)"),
                     "node.json", "/etc/simpul")
            .upstream.port == 7702);
  CHECK(pointer_of(with_upstream(R"("ftp://10.20.0.5:7702")")) == "/upstream/url");
  CHECK(pointer_of(with_upstream(R"("https://10.20.0.5:99999")")) == "/upstream/url");
  CHECK(pointer_of(with_upstream(R"("https://kepri.example", "ca_file": "/nonexistent/ca.pem")")) ==
        "/upstream/ca_file");
  CHECK(pointer_of(with_upstream(R"("http://127.0.0.1:7702", "ca_file": "/etc/hostname")")) ==
        "/upstream/ca_file");
}

// Found by `make fuzz` (config): a member name with invalid UTF-8 where the schema refuses the
// value made RapidJSON read past the name while writing the pointer (heap overflow under ASan).
// The reader now refuses such a name itself, naming the object that holds it (the name is not
// UTF-8, so it is not repeated).
TEST_CASE(
    "config: a member name with invalid UTF-8 is refused where it sits - not read past its end") {
  const std::string bad_name = "\"sto\xe7\x80\"";  // a truncated three-byte sequence
  auto text = replace(kGood, R"("sla": {"verify_days": 2},)",
                      R"("sla": {"verify_days": 2}, )" + bad_name + R"(: 7,)");
  CHECK(pointer_of(text) == "");
  CHECK(pointer_of(replace(kGood, R"("sla": {)", R"("sla": {)" + bad_name + R"(: 1, )")) == "/sla");
  // Member names with '/' and '~' are escaped as RFC 6901 says.
  CHECK(pointer_of(replace(kGood, R"("sla": {)", R"("sla": {"a/b~c": 1, )")) == "/sla/a~1b~0c");
}
