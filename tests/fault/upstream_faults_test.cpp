// The upstream link under a misbehaving or absent parent. A fault shim (a real HTTP server in
// this process) sits between a child node and its real parent: it forwards requests, or answers
// 500, 429 with Retry-After, garbage, half a JSON document, or nothing at all (timeouts).
// Whatever the faults, every complaint arrives at the parent exactly once, nothing is
// dead-lettered for a network problem, and decisions made at the parent reach the child.

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <deque>
#include <mutex>
#include <thread>

#include "core/json.hpp"
#include "http/server.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

enum class Fault { forward, error500, retry_after, garbage, half_json, silence };

class Shim {
 public:
  Shim()
      : server_(ioc_, http::ServerOptions{}, [this](http::Request req, http::Reply reply) {
          handle(std::move(req), std::move(reply));
        }) {
    server_.start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Shim() {
    ioc_.stop();
    thread_.join();
    for (auto& t : forwards_) t.join();
  }
  std::uint16_t port() const { return server_.port(); }
  void target(std::uint16_t port) { parent_port_ = port; }
  // Faults for the child's pushes (POST) and, separately, for its pulls (GET): each direction
  // is guaranteed to meet its faults whatever the timing between the two loops.
  void script(std::deque<Fault> pushes, std::deque<Fault> pulls) {
    std::lock_guard lock(mu_);
    push_script_ = std::move(pushes);
    pull_script_ = std::move(pulls);
  }
  int served() const { return served_; }

  // Whether any request the child sent up carried `needle` (a reporter canary).
  bool saw(const std::string& needle) {
    std::lock_guard lock(mu_);
    for (const auto& b : bodies_)
      if (b.find(needle) != std::string::npos) return true;
    return false;
  }

 private:
  void handle(http::Request req, http::Reply reply) {
    ++served_;
    {
      std::lock_guard lock(mu_);
      bodies_.push_back(req.body);
    }
    Fault f = Fault::forward;
    {
      std::lock_guard lock(mu_);
      auto& script = req.method == "POST" ? push_script_ : pull_script_;
      if (!script.empty()) {
        f = script.front();
        script.pop_front();
      }
    }
    http::Response res;
    switch (f) {
      case Fault::error500:
        res.status = 500;
        res.body = "{}";
        break;
      case Fault::retry_after:
        res.status = 429;
        res.headers.push_back({"retry-after", "1"});
        break;
      case Fault::garbage:
        res.body = "<html>proxy error</html>";
        break;
      case Fault::half_json:
        res.body = R"({"results":[{"event_id":")";
        break;
      case Fault::silence:
        held_.push_back(std::move(reply));
        return;  // never answered
      case Fault::forward:
        if (parent_port_ == 0) {  // the parent is down: refuse like a dead host
          res.status = 502;
          res.close = true;
          break;
        }
        // On a thread of its own: a parked long-poll must not hold up the pushes behind it.
        std::lock_guard lock(mu_);
        forwards_.emplace_back([this, req = std::move(req), reply = std::move(reply)] {
          http::Response out;
          try {
            http::Client c("127.0.0.1", parent_port_, 65'000);
            std::vector<http::Header> h{{"authorization", req.header("authorization")}};
            auto r = c.request(req.method, req.target, req.body, h);
            out.status = r.status;
            out.body = r.body;
            out.content_type = r.header("content-type");
          } catch (const std::exception&) {
            out.status = 502;
            out.close = true;
          }
          reply(std::move(out));
        });
        return;
    }
    reply(std::move(res));
  }

  boost::asio::io_context ioc_;
  http::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::deque<Fault> push_script_, pull_script_;
  std::vector<http::Reply> held_;
  std::vector<std::thread> forwards_;
  std::vector<std::string> bodies_;
  std::atomic<std::uint16_t> parent_port_{0};
  std::atomic<int> served_{0};
};

using test::db_count;
using test::eventually;
using test::node_config;

const char* kParentCfg = R"("children": [{"id": "kota-batam", "regions": ["21.71"]}],)";

}  // namespace

TEST_CASE("upstream: faults from the parent are retried until everything arrives exactly once") {
  test::TempDir dir;
  auto parent_cfg = node_config(dir, "provinsi-kepri", kParentCfg);
  auto parent = std::make_unique<test::TestNode>(parent_cfg);
  {
    SqliteStore s(test::keyed_store(parent_cfg.store.path));
    setenv("SIMPUL_TEST_UPSTREAM", s.create_token("batam", "node", "kota-batam", 1).secret.c_str(),
           1);
  }
  Shim shim;
  shim.target(parent->port());
  shim.script(
      {Fault::error500, Fault::garbage, Fault::retry_after, Fault::half_json, Fault::silence,
       Fault::error500, Fault::garbage},
      {Fault::error500, Fault::half_json, Fault::retry_after, Fault::silence, Fault::garbage});
  auto child_cfg = node_config(
      dir, "kota-batam",
      R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(shim.port()) +
          R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_TEST_UPSTREAM", "poll_wait_s": 1, "timeout_ms": 500, "batch": 7, "max_backoff_ms": 2000},)");
  test::TestNode child(child_cfg);
  auto c = child.client();
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    auto r = c.request("POST", "/v1/complaints",
                       test::sample_complaint("F" + std::to_string(i), R"(,"region":"21.71")"),
                       test::TestNode::auth());
    REQUIRE(r.status == 201);
    ids.push_back(json::get_string(*json::parse(r.body), "id"));
  }
  const auto& pdb = parent_cfg.store.path;
  const auto& cdb = child_cfg.store.path;
  CHECK(eventually([&] { return db_count(pdb, "SELECT count(*) FROM complaints") == 40; }));
  CHECK(db_count(pdb, "SELECT count(*) FROM events") == 40);  // no duplicate anywhere
  CHECK(eventually([&] {
    return db_count(cdb,
                    "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = "
                    "'pending'") == 0;
  }));
  CHECK(db_count(cdb, "SELECT count(*) FROM dead_letters") ==
        0);  // network trouble is never a data error
  CHECK(
      db_count(cdb, "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND attempts > 1") >
      0);
  // The complaints are anonim (the default): no upstream request ever carried the reporter.
  CHECK(shim.served() > 0);
  CHECK_FALSE(shim.saw("CANARY-NAME-7731"));
  CHECK_FALSE(shim.saw("2171010101900001"));
  CHECK(shim.saw("\"privacy\":\"anonim\""));  // the bodies are really recorded

  // A decision at the parent reaches the child through the same faulty link.
  shim.script({}, {Fault::garbage, Fault::error500, Fault::half_json});
  auto pc = parent->client();
  REQUIRE(pc.request("POST", "/v1/complaints/" + ids[0] + "/events", R"({"kind":"verified"})",
                     test::TestNode::auth())
              .status == 201);
  CHECK(eventually([&] {
    auto r = c.request("GET", "/v1/complaints/" + ids[0], "", test::TestNode::auth());
    return json::get_string(*json::parse(r.body), "status") == "verified";
  }));
}

TEST_CASE("upstream: with the parent down the child keeps accepting - and drains when it returns") {
  test::TempDir dir;
  auto parent_cfg = node_config(dir, "provinsi-kepri", kParentCfg);
  {
    SqliteStore s(StoreOptions{parent_cfg.store.path, true, 5000, true});
    setenv("SIMPUL_TEST_UPSTREAM", s.create_token("batam", "node", "kota-batam", 1).secret.c_str(),
           1);
  }
  Shim shim;  // the parent is not running yet: every call fails
  auto child_cfg = node_config(
      dir, "kota-batam",
      R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(shim.port()) +
          R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_TEST_UPSTREAM", "poll_wait_s": 1, "timeout_ms": 500, "max_backoff_ms": 2000},)");
  test::TestNode child(child_cfg);
  auto c = child.client();
  for (int i = 0; i < 25; ++i)
    REQUIRE(c.request("POST", "/v1/complaints", test::sample_complaint("D" + std::to_string(i)),
                      test::TestNode::auth())
                .status == 201);
  // The link is failing: the breaker opens, the queue holds everything, nothing is dead.
  CHECK(eventually([&] {
    return c.request("GET", "/metrics").body.find("simpul_upstream_breaker_open 1") !=
           std::string::npos;
  }));
  CHECK(db_count(
            child_cfg.store.path,
            "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = 'pending'") ==
        25);
  CHECK(db_count(child_cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
  // The parent comes back.
  test::TestNode parent(parent_cfg);
  shim.target(parent.port());
  CHECK(eventually(
      [&] { return db_count(parent_cfg.store.path, "SELECT count(*) FROM complaints") == 25; },
      60));
  CHECK(eventually([&] {
    return c.request("GET", "/metrics").body.find("simpul_upstream_breaker_open 0") !=
           std::string::npos;
  }));
}
