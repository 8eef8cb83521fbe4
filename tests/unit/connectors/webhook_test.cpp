// webhook: HMAC-SHA256 over "<timestamp>.<body>", the time window, and splitting a delivery
// into records. Nothing is accepted without a valid signature.

#include <doctest/doctest.h>

#include "core/json.hpp"
#include "simpul/signing.hpp"
#include "webhook/webhook_connector.hpp"

using namespace simpul;

namespace {

const char* kSecret = "s3cret-0123456789abcdef";
const TimeMs kNow = 1'763'600'000'000;

std::unique_ptr<Connector> make(const std::string& settings = R"({"secret": "env:WH"})") {
  auto doc = json::parse(settings);
  REQUIRE(doc.has_value());
  ConnectorSettings s{"apekesah", *doc, "node.json", "/connectors/0/settings",
                      [](const std::string&, const std::string&) { return std::string(kSecret); }};
  return connectors::make_webhook(s);
}

Result<InboundBatch> deliver(Connector& c, const std::string& body, TimeMs sent_at = kNow,
                             std::string signature = "", TimeMs now = kNow) {
  std::string ts = std::to_string(sent_at / 1000);
  if (signature.empty()) signature = webhook_signature(kSecret, ts, body);
  WebhookRequest req;
  req.headers = {{"x-simpul-timestamp", ts}, {"x-simpul-signature", signature}};
  req.body = body;
  req.now = now;
  return c.accept_webhook(req);
}

}  // namespace

TEST_CASE("webhook: a signed delivery within the window is split into records") {
  auto c = make();
  auto one = deliver(*c, R"({"id": 1, "judul": "a"})");
  REQUIRE(one.has_value());
  CHECK(one->records.size() == 1);
  auto many = deliver(*c, R"({"records": [{"id": 1}, {"id": 2}]})");
  REQUIRE(many.has_value());
  CHECK(many->records.size() == 2);
  auto nested = make(R"({"secret": "env:WH", "records": "/data/aduan"})");
  auto r = deliver(*nested, R"({"data": {"aduan": [{"id": 7}]}})");
  REQUIRE(r.has_value());
  CHECK(json::get_string(*json::parse(r->records[0].text()), "id").empty());
  CHECK(r->records[0].text() == R"({"id":7})");
  // Parsed once: the record goes on as the value read from the delivery.
  CHECK(r->records[0].value()["id"].GetInt() == 7);
  // A body that is the record is kept as it came, byte for byte.
  CHECK(one->records[0].text() == R"({"id": 1, "judul": "a"})");
  CHECK(c->health().state == ConnectorHealth::ok);
}

TEST_CASE("webhook: bad signatures - stale or future timestamps - missing headers are refused") {
  auto c = make();
  const std::string body = R"({"id": 1})";
  auto rule = [](const Result<InboundBatch>& r) {
    return r ? std::string("accepted") : r.error().rule;
  };
  CHECK(rule(deliver(*c, body, kNow, "sha256=" + std::string(64, '0'))) == "signature");
  // Signed for another body: one changed byte.
  std::string ts = std::to_string(kNow / 1000);
  CHECK(rule(deliver(*c, body, kNow, webhook_signature(kSecret, ts, R"({"id": 2})"))) ==
        "signature");
  CHECK(rule(deliver(*c, body, kNow, webhook_signature("another-secret-0123", ts, body))) ==
        "signature");
  CHECK(c->health().state == ConnectorHealth::degraded);
  CHECK(rule(deliver(*c, body, kNow - 301'000)) == "timestamp");
  CHECK(rule(deliver(*c, body, kNow + 301'000)) == "timestamp");
  CHECK(rule(deliver(*c, body, kNow - 299'000)) == "accepted");
  CHECK(c->health().state == ConnectorHealth::ok);
  WebhookRequest bare;
  bare.body = body;
  bare.now = kNow;
  auto r = c->accept_webhook(bare);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == errc::unauthenticated);
}

TEST_CASE("webhook: a signed but malformed delivery is refused with its pointer") {
  auto c = make();
  auto problem = [&](const std::string& body) {
    auto r = deliver(*c, body);
    REQUIRE_FALSE(r.has_value());
    return r.error().pointer + " " + code_name(r.error().code);
  };
  CHECK(problem("{not json") == " invalid-json");
  CHECK(problem(R"([1, 2])") == " schema-violation");
  CHECK(problem(R"({"records": [{"id": 1}, 5]})") == "/records/1 schema-violation");
  CHECK(problem(R"({"records": []})") == "/records schema-violation");
}

TEST_CASE("webhook: a secret too short to be safe is refused at config time") {
  auto doc = json::parse(R"({"secret": "env:WH"})");
  ConnectorSettings s{"apekesah", *doc, "node.json", "/connectors/0/settings",
                      [](const std::string&, const std::string&) { return std::string("short"); }};
  try {
    connectors::make_webhook(s);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.pointer() == "/connectors/0/settings/secret");
  }
}
