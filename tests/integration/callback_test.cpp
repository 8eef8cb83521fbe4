// The callback connector against a real HTTP server standing in for the app: decisions made in
// Simpul for a complaint that came from the app are POSTed back, signed, with the app's own id
// and status name; failures are retried, refusals dead-lettered, and nothing the app sent
// itself is echoed back.

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <deque>
#include <mutex>
#include <thread>

#include "core/json.hpp"
#include "http/server.hpp"
#include "simpul/signing.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;

namespace {

const char* kInSecret = "apekesah-webhook-secret-0123456789";
const char* kOutSecret = "apekesah-callback-secret-987654321";

// The app's side: records each callback and answers with the next scripted status (200 after).
class FakeApp {
 public:
  FakeApp()
      : server_(ioc_, http::ServerOptions{}, [this](http::Request req, http::Reply reply) {
          std::lock_guard lock(mu_);
          received_.push_back(req);
          int status = script_.empty() ? 200 : script_.front();
          if (!script_.empty()) script_.pop_front();
          http::Response res;
          res.status = status;
          res.body = "{}";
          if (status == 429) res.headers.push_back({"retry-after", "1"});
          reply(std::move(res));
        }) {
    server_.start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeApp() {
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_.port(); }
  void script(std::initializer_list<int> statuses) {
    std::lock_guard lock(mu_);
    script_.assign(statuses);
  }
  std::vector<http::Request> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  boost::asio::io_context ioc_;
  http::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::deque<int> script_;
  std::vector<http::Request> received_;
};

struct Bridge {
  FakeApp app;
  test::TempDir dir;
  Config cfg = [this] {
    setenv("SIMPUL_TEST_WEBHOOK", kInSecret, 1);
    setenv("SIMPUL_TEST_CALLBACK", kOutSecret, 1);
    const std::string mapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";
    return test::node_config(dir, "kota-batam",
                             R"("connectors": [
        {"id": "apekesah", "type": "webhook", "mapping": ")" +
                                 mapping + R"(", "settings": {"secret": "env:SIMPUL_TEST_WEBHOOK"}},
        {"id": "apekesah-balik", "type": "callback", "mapping": ")" +
                                 mapping + R"(",
         "settings": {"url": "http://127.0.0.1:)" +
                                 std::to_string(app.port()) + R"(/simpul/callback",
                      "secret": "env:SIMPUL_TEST_CALLBACK", "timeout_ms": 2000}}],)");
  }();
  test::TestNode node{cfg};
  http::Client c = node.client();

  std::string submit(const std::string& source_id) {
    std::string body =
        R"({"id": ")" + source_id + R"(", "judul": "Jalan berlubang", "uraian": "Lubang besar",
        "opd_tujuan": "Dinas Pekerjaan Umum", "status": "Submitted"})";
    std::string ts = std::to_string(system_now_ms() / 1000);
    auto r = c.request("POST", "/v1/ingest/apekesah", body,
                       {{"x-simpul-timestamp", ts},
                        {"x-simpul-signature", webhook_signature(kInSecret, ts, body)}});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::get_string((*json::parse(r.body))["results"][0], "complaint_id");
  }
  int act(const std::string& id, const std::string& body) {
    return c.request("POST", "/v1/complaints/" + id + "/events", body, test::TestNode::auth())
        .status;
  }
  std::int64_t count(const std::string& sql) { return db_count(cfg.store.path, sql); }
};

}  // namespace

TEST_CASE_FIXTURE(
    Bridge,
    "callback: an answer made in Simpul reaches the app signed - with its id and status name") {
  std::string id = submit("8812");
  // The app's own submission (created + disposed by the webhook) is not sent back.
  REQUIRE(act(id, R"({"kind": "responded", "payload": {"text": "Sudah ditambal"}})") == 201);
  REQUIRE(eventually([&] { return app.received().size() == 1; }, 10));
  auto got = app.received()[0];
  CHECK(got.method == "POST");
  CHECK(got.target == "/simpul/callback");
  auto ts = got.header("x-simpul-timestamp");
  CHECK(got.header("x-simpul-signature") == webhook_signature(kOutSecret, ts, got.body));
  auto doc = json::parse(got.body);
  REQUIRE(doc.has_value());
  CHECK(json::get_string(*doc, "source_id") == "8812");
  CHECK(json::get_string(*doc, "complaint_id") == id);
  CHECK(json::get_string(*doc, "kind") == "responded");
  CHECK(json::get_string(*doc, "status") == "responded");
  CHECK(json::get_string(*doc, "app_status") == "Proses");
  CHECK(json::get_string(*doc, "text") == "Sudah ditambal");
  CHECK(eventually([&] {
    return count(
               "SELECT count(*) FROM outbox WHERE destination = 'connector:apekesah-balik' AND "
               "state = 'done'") == 1;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(app.received().size() == 1);  // exactly once
}

TEST_CASE_FIXTURE(Bridge,
                  "callback: failures are retried until delivered - a refusal is dead-lettered - "
                  "nothing is lost") {
  std::string id = submit("9001");
  app.script({500, 429, 503});
  REQUIRE(act(id, R"({"kind": "responded", "payload": {"text": "Dalam pengerjaan"}})") == 201);
  REQUIRE(eventually([&] { return app.received().size() == 4; }, 20));
  CHECK(eventually([&] {
    return count(
               "SELECT count(*) FROM outbox WHERE destination = 'connector:apekesah-balik' AND "
               "state = 'done'") == 1;
  }));
  CHECK(count("SELECT count(*) FROM dead_letters") == 0);
  auto metrics = c.request("GET", "/metrics").body;
  CHECK(metrics.find(
            R"(simpul_connector_deliveries_total{connector="apekesah-balik",outcome="retry"} 3)") !=
        std::string::npos);

  app.script({422});
  REQUIRE(act(id, R"({"kind": "closed"})") == 201);
  CHECK(eventually([&] {
    return count(
               "SELECT count(*) FROM dead_letters WHERE destination = "
               "'connector:apekesah-balik'") == 1;
  }));
  std::string out;
  CHECK(test::run_simpul({"dlq", "list", "--config", cfg.file}, &out) == 0);
  CHECK(out.find("the app refused the update: http 422") != std::string::npos);
  auto ready = c.request("GET", "/readyz").body;
  CHECK(ready.find(R"("connector:apekesah-balik":{"state":"degraded")") != std::string::npos);
  CHECK(test::run_simpul({"status", "--config", cfg.file}, &out) == 0);
  CHECK(out.find("apekesah-balik       callback") != std::string::npos);
  CHECK(out.find("dead 1, last error") != std::string::npos);
}

TEST_CASE_FIXTURE(Bridge,
                  "callback: a store read failing inside the relay is waited out - the relay lives "
                  "on and delivers") {
  std::string id = submit("5501");
  app.script({429});  // answered with Retry-After: 1, so the relay is waiting when the store breaks
  REQUIRE(act(id, R"({"kind": "responded", "payload": {"text": "Sedang dikerjakan"}})") == 201);
  REQUIRE(eventually([&] { return app.received().size() == 1; }, 10));
  // What the relay reads for an update (the complaint's projection) fails; its outbox read does
  // not.
  test::db_exec(cfg.store.path,
                "ALTER TABLE complaints RENAME COLUMN updated_at TO updated_at_away");
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  test::db_exec(cfg.store.path,
                "ALTER TABLE complaints RENAME COLUMN updated_at_away TO updated_at");
  CHECK(eventually([&] { return app.received().size() == 2; }, 20));
  CHECK(eventually([&] {
    return count(
               "SELECT count(*) FROM outbox WHERE destination = 'connector:apekesah-balik' AND "
               "state = 'done'") == 1;
  }));
  auto metrics = c.request("GET", "/metrics").body;
  CHECK(metrics.find(R"(simpul_connector_breaker_open{connector="apekesah-balik"} 0)") !=
        std::string::npos);
}

TEST_CASE_FIXTURE(Bridge,
                  "callback: complaints that did not come from the app are never sent to it") {
  auto r = c.request("POST", "/v1/complaints", test::sample_complaint("Lewat API"),
                     test::TestNode::auth());
  REQUIRE(r.status == 201);
  std::string id = json::get_string(*json::parse(r.body), "id");
  REQUIRE(act(id, R"({"kind": "verified"})") == 201);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(app.received().empty());
  CHECK(count("SELECT count(*) FROM outbox WHERE destination = 'connector:apekesah-balik'") == 0);
}

TEST_CASE_FIXTURE(
    Bridge,
    "callback: an app refusing the credential pauses the connector - nothing is dead-lettered") {
  std::string id = submit("7001");
  app.script({401, 401, 401});
  REQUIRE(act(id, R"({"kind": "responded", "payload": {"text": "Sedang dikerjakan"}})") == 201);
  REQUIRE(eventually([&] { return app.received().size() == 1; }, 10));
  CHECK(eventually([&] {
    return count(
               "SELECT count(*) FROM outbox WHERE destination = 'connector:apekesah-balik' AND "
               "state = 'pending' "
               "AND last_error = 'http 401'") == 1;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(app.received().size() == 1);  // paused, not hammering the app
  CHECK(count("SELECT count(*) FROM dead_letters") == 0);
  CHECK(
      c.request("GET", "/metrics")
          .body.find(
              R"(simpul_connector_deliveries_total{connector="apekesah-balik",outcome="auth"} 1)") !=
      std::string::npos);
  CHECK(c.request("GET", "/readyz").body.find(R"("connector:apekesah-balik":{"state":"failing")") !=
        std::string::npos);
}
