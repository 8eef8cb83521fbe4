// The upstream link through real network faults, below HTTP.
//
// 1. A fault-injecting TCP proxy (support/fault_proxy.hpp) between a child and its parent, or
//    between a provincial node and the SP4N-LAPOR! simulator: latency with jitter, resets after
//    N bytes of the answer, half-open connections (the answer stops, no FIN), a parent that
//    accepts and never answers, refused connections, and every open connection cut at once,
//    again and again.
// 2. Network namespaces with a veth pair, the parent a `simpul serve` process in its own
//    namespace: random packet drops and TCP resets from nftables, a bandwidth limit from
//    `tc tbf`. These need root, iproute2 and nft; without them they skip and say why.
//
// For each fault: complaints keep being accepted while it lasts; afterwards every one is at the
// parent exactly once (no loss, no duplicate event), nothing is dead-lettered for a network
// problem, a decision at the parent comes back down, and the time to drain after the fault ends
// is printed (run `build/tests/fault_tests -tc='net*'` to see the figures).

#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/json.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/fault_proxy.hpp"
#include "support/lapor_sim_support.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::db_count;
using test::eventually;
using test::Fault;

namespace {

using Clock = std::chrono::steady_clock;

long ms_since(Clock::time_point t) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

const char* kParentChildren = R"("children": [{"id": "kota-batam", "regions": ["21.71"]}],)";

// A token for kota-batam in the parent's database, exported for the child's config.
void issue_child_token(const std::string& parent_db) {
  SqliteStore s(StoreOptions{parent_db, true, 5000, true});
  setenv("SIMPUL_NET_UPSTREAM", s.create_token("batam", "node", "kota-batam", 1).secret.c_str(), 1);
}

std::string upstream_block(const std::string& host, std::uint16_t port) {
  return R"("upstream": {"url": "http://)" + host + ":" + std::to_string(port) +
         R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_NET_UPSTREAM", "poll_wait_s": 1,
         "timeout_ms": 800, "batch": 10, "max_backoff_ms": 1000)" +
         (host == "127.0.0.1" ? "" : R"(, "allow_plain_http": true)") + "},";
}

// The child's side of one scenario: ingest while the fault lasts, lift it, wait for the drain,
// check exactly-once at the parent and the flow back down.
struct Scenario {
  test::TempDir dir;
  Config child_cfg;
  std::string parent_db;
  std::unique_ptr<test::TestNode> child;
  std::vector<std::string> ids;

  void start_child(const std::string& host, std::uint16_t port) {
    child_cfg = test::node_config(dir, "kota-batam", upstream_block(host, port));
    child = std::make_unique<test::TestNode>(child_cfg);
  }
  void ingest(int n, const std::string& tag) {
    auto c = child->client();
    for (int i = 0; i < n; ++i) {
      auto r =
          c.request("POST", "/v1/complaints",
                    test::sample_complaint(tag + " " + std::to_string(i), R"(,"region":"21.71")"),
                    test::TestNode::auth());
      REQUIRE_MESSAGE(r.status == 201, r.body);
      ids.push_back(json::get_string(*json::parse(r.body), "id"));
    }
  }
  std::int64_t at_parent() { return db_count(parent_db, "SELECT count(*) FROM complaints"); }
  std::int64_t pending() {
    return db_count(
        child_cfg.store.path,
        "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND state = 'pending'");
  }
  // After the fault is lifted: drains, nothing lost or doubled. Returns the drain time in ms.
  long drain(const std::string& label) {
    const auto arrived = at_parent();
    const auto retried =
        db_count(child_cfg.store.path,
                 "SELECT count(*) FROM outbox WHERE destination = 'upstream' AND attempts > 1");
    auto lifted = Clock::now();
    const auto n = static_cast<std::int64_t>(ids.size());
    bool drained = eventually([&] { return at_parent() == n && pending() == 0; }, 60);
    long took = ms_since(lifted);
    CHECK_MESSAGE(drained, std::string(label) << ": " << at_parent() << " of " << n
                                              << " at the parent, " << pending() << " pending");
    CHECK(at_parent() == n);
    CHECK(db_count(parent_db, "SELECT count(*) FROM events") ==
          n);  // one `created` each, none twice
    for (const auto& id : ids)
      CHECK(db_count(parent_db, "SELECT count(*) FROM complaints WHERE id = '" + id + "'") == 1);
    CHECK(db_count(child_cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
    MESSAGE("net fault '" << label << "': " << n << " complaints, " << arrived
                          << " at the parent when the fault ended, " << retried
                          << " sent more than once; drained " << took
                          << " ms after the fault ended");
    return took;
  }
  std::string child_status(const std::string& id) {
    auto r = child->client().request("GET", "/v1/complaints/" + id, "", test::TestNode::auth());
    return json::get_string(*json::parse(r.body), "status");
  }
  // A decision at the parent (through `parent_client`) reaches the child over the healed link.
  void decide(http::Client& parent_client, const std::string& label) {
    auto r = parent_client.request("POST", "/v1/complaints/" + ids[2] + "/events",
                                   R"({"kind":"verified"})", test::TestNode::auth());
    REQUIRE(r.status == 201);
    auto decided = Clock::now();
    CHECK(eventually([&] { return child_status(ids[2]) == "verified"; }));
    MESSAGE("net fault '" << label << "': parent decision at the child after " << ms_since(decided)
                          << " ms");
  }
};

// Parent in this process, the proxy in front of it.
struct ProxiedFederation : Scenario {
  Config parent_cfg;
  std::unique_ptr<test::TestNode> parent;
  std::unique_ptr<test::FaultProxy> proxy;

  ProxiedFederation() {
    parent_cfg = test::node_config(dir, "provinsi-kepri", kParentChildren);
    parent_db = parent_cfg.store.path;
    issue_child_token(parent_db);
    parent = std::make_unique<test::TestNode>(parent_cfg);
    proxy = std::make_unique<test::FaultProxy>(parent->port());
    start_child("127.0.0.1", proxy->port());
  }

  // Ingest during `fault_ms` of `f` (with `during` run meanwhile), lift it, drain, decide.
  void run(const std::string& label, Fault f, int fault_ms = 2500,
           const std::function<void()>& during = {}) {
    proxy->set(f);
    proxy->cut();  // the child's kept-alive connections too: all traffic meets the fault
    auto start = Clock::now();
    ingest(20, label);
    while (ms_since(start) < fault_ms) {
      if (during) during();
      std::this_thread::sleep_for(std::chrono::milliseconds(during ? 150 : 50));
    }
    ingest(5, label + " late");  // accepted while the link is still broken
    proxy->set({});
    drain(label);
    auto pc = parent->client();
    decide(pc, label);
  }
};

}  // namespace

TEST_CASE("net proxy: latency 150 ms with 100 ms jitter") {
  ProxiedFederation fed;
  Fault f;
  f.latency_ms = 150;
  f.jitter_ms = 100;
  fed.run("latency 150+-100 ms", f);
}

TEST_CASE(
    "net proxy: answers reset after 0 bytes - the parent stored what the child never heard of") {
  ProxiedFederation fed;
  fed.run("reset after 0 answer bytes", Fault{Fault::reset_after, 0});
  CHECK(fed.proxy->connections() > 1);
}

TEST_CASE("net proxy: answers reset after 100 bytes - mid-header") {
  ProxiedFederation fed;
  fed.run("reset after 100 answer bytes", Fault{Fault::reset_after, 100});
}

TEST_CASE("net proxy: half-open after 0 and 60 answer bytes - no FIN ever comes") {
  {
    ProxiedFederation fed;
    fed.run("half-open after 0 bytes", Fault{Fault::half_open, 0});
  }
  {
    ProxiedFederation fed;
    fed.run("half-open after 60 bytes", Fault{Fault::half_open, 60});
  }
}

TEST_CASE("net proxy: a parent that accepts and never answers") {
  ProxiedFederation fed;
  fed.run("accepts, never answers", Fault{Fault::blackhole});
  CHECK(fed.proxy->connections() > 1);  // the child gave up on silent connections and tried anew
}

TEST_CASE("net proxy: connections refused with a reset") {
  ProxiedFederation fed;
  fed.run("refused (RST on accept)", Fault{Fault::refuse});
}

TEST_CASE("net proxy: a flapping link - every open connection cut every 150 ms") {
  ProxiedFederation fed;
  auto* proxy = fed.proxy.get();
  fed.run("all connections cut every 150 ms", Fault{}, 3000, [proxy] { proxy->cut(); });
}

TEST_CASE(
    "net proxy: lapor dialect - creates answered into a reset or a half-open link - no report "
    "twice") {
  test::LaporSim hub;
  test::FaultProxy proxy(hub.port());
  setenv("SIMPUL_TEST_LAPOR_SECRET", test::kSimClientSecret, 1);
  test::TempDir dir;
  auto cfg = test::node_config(
      dir, "provinsi-kepri",
      R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(proxy.port()) +
          R"(", "node": "lapor", "dialect": "lapor", "credential": "env:SIMPUL_TEST_LAPOR_SECRET", "timeout_ms": 800,
      "max_backoff_ms": 1000, "lapor": {"client_id": "kepri", "source": "simpul-kepri", "poll_interval_ms": 100,
      "sweep_interval_s": 1}},)");
  test::TestNode kepri(cfg);
  auto linked = [&] {
    return db_count(cfg.store.path, "SELECT count(*) FROM refs WHERE system = 'lapor'");
  };
  std::vector<std::string> ids;
  auto ingest = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto r = kepri.client().request("POST", "/v1/complaints",
                                      test::sample_complaint("Lapor " + std::to_string(ids.size())),
                                      test::TestNode::auth());
      REQUIRE(r.status == 201);
      ids.push_back(json::get_string(*json::parse(r.body), "id"));
    }
  };
  for (Fault f :
       {Fault{Fault::reset_after, 0}, Fault{Fault::half_open, 0}, Fault{Fault::reset_after, 90}}) {
    proxy.set(f);
    proxy.cut();
    ingest(6);
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    proxy.set({});
    auto lifted = Clock::now();
    CHECK(eventually([&] { return linked() == static_cast<std::int64_t>(ids.size()); }, 60));
    MESSAGE("net fault lapor kind " << f.kind << " after " << f.bytes << " bytes: " << ids.size()
                                    << " linked, drained " << ms_since(lifted)
                                    << " ms after the fault ended");
  }
  auto r = hub.client().request("GET", "/admin/streams", "", hub.admin());
  auto doc = json::parse(r.body);
  REQUIRE(doc.has_value());
  CHECK(doc->Size() == ids.size());
  for (const auto& v : doc->GetArray())
    CHECK(v["creates"].GetInt() == 1);  // the hub never got one twice
  CHECK(db_count(cfg.store.path, "SELECT count(*) FROM dead_letters") == 0);
}

// ---- network namespaces ------------------------------------------------------------------------

namespace {

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// A namespace holding the parent, joined to this one by a veth pair: 10.233.<n>.1 here,
// 10.233.<n>.2 there.
class NetNs {
 public:
  NetNs() {
    static int counter = 0;
    const int n = (static_cast<int>(getpid()) * 7 + ++counter) % 250 + 1;
    name_ = "simpul-t" + std::to_string(getpid()) + "-" + std::to_string(counter);
    here_ = "sp" + std::to_string(getpid() % 100000) + "h" + std::to_string(counter);
    there_ = "sp" + std::to_string(getpid() % 100000) + "t" + std::to_string(counter);
    local_ = "10.233." + std::to_string(n) + ".1";
    remote_ = "10.233." + std::to_string(n) + ".2";
    if (geteuid() != 0) {
      why_ = "needs root (network namespaces, nftables, tc)";
      return;
    }
    if (sh("command -v ip") != 0 || sh("command -v nft") != 0 || sh("command -v tc") != 0) {
      why_ = "needs iproute2 and nftables (ip, tc, nft)";
      return;
    }
    if (sh("ip netns add " + name_) != 0) {
      why_ = "cannot create a network namespace here (ip netns add failed)";
      return;
    }
    made_ = true;
    bool ok = sh("ip link add " + here_ + " type veth peer name " + there_) == 0 &&
              sh("ip link set " + there_ + " netns " + name_) == 0 &&
              sh("ip addr add " + local_ + "/30 dev " + here_) == 0 &&
              sh("ip link set " + here_ + " up") == 0 &&
              in("ip addr add " + remote_ + "/30 dev " + there_) == 0 &&
              in("ip link set " + there_ + " up") == 0 && in("ip link set lo up") == 0 &&
              in("nft add table inet simpul_fault") == 0;
    if (!ok) why_ = "cannot set up a veth pair and nftables in the namespace";
  }
  ~NetNs() {
    if (!made_) return;
    sh("ip netns del " + name_);
    sh("ip link del " + here_);
  }
  bool usable() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  const std::string& name() const { return name_; }
  const std::string& remote() const { return remote_; }
  int in(const std::string& cmd) const { return sh("ip netns exec " + name_ + " " + cmd); }
  // Runs nft in the namespace with `rules` (an nft script).
  bool nft(const std::string& rules) const {
    const std::string file = "/tmp/" + name_ + ".nft";
    std::ofstream(file) << rules;
    bool ok = in("nft -f " + file) == 0;
    std::remove(file.c_str());
    return ok;
  }
  void clear_faults() const {
    in("nft flush table inet simpul_fault");
    in("nft delete table inet simpul_fault");
    in("nft add table inet simpul_fault");
    in("tc qdisc del dev " + there_ + " root");
    sh("tc qdisc del dev " + here_ + " root");
  }
  bool limit_bandwidth(const std::string& rate) const {
    const std::string tbf = " root tbf rate " + rate + " burst 8kb latency 400ms";
    return in("tc qdisc add dev " + there_ + tbf) == 0 &&
           sh("tc qdisc add dev " + here_ + tbf) == 0;
  }

 private:
  std::string name_, here_, there_, local_, remote_, why_;
  bool made_ = false;
};

// The parent as `simpul serve` inside the namespace, listening on its veth address.
struct NamespacedFederation : Scenario {
  NetNs ns;
  std::unique_ptr<test::ServeProcess> parent;
  std::uint16_t port = 0;

  bool up() {
    if (!ns.usable()) return false;
    auto cfg = test::node_config(dir, "provinsi-kepri", kParentChildren);
    parent_db = cfg.store.path;
    issue_child_token(parent_db);
    // Listen on every address of the namespace (its veth address among them); plain HTTP is
    // allowed there only because the namespace is this test's own.
    const std::string file = dir.file("provinsi-kepri.json");
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto at = text.find("127.0.0.1:0");
    REQUIRE(at != std::string::npos);
    text.replace(at, 12, R"(0.0.0.0:0", "allow_plain_http": true)");
    std::ofstream(file) << text;
    try {
      parent = std::make_unique<test::ServeProcess>(file, dir.file("parent.ready"),
                                                    dir.file("parent.log"), ns.name());
    } catch (const std::exception& e) {
      std::ifstream log(dir.file("parent.log"));
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      FAIL(std::string(e.what()) << "; its log: " << text);
    }
    port = parent->port();
    start_child(ns.remote(), port);
    return true;
  }

  void run(const std::string& label, const std::function<bool()>& apply, int fault_ms = 4000) {
    REQUIRE(apply());
    auto start = Clock::now();
    ingest(30, label);
    while (ms_since(start) < fault_ms) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ingest(5, label + " late");
    ns.clear_faults();
    drain(label);
    http::Client pc(ns.remote(), port, 5000);
    decide(pc, label);
  }
};

}  // namespace

TEST_CASE("net namespace: 30% of packets dropped both ways (nftables)") {
  NamespacedFederation fed;
  if (!fed.up()) {
    MESSAGE("skipped: " << fed.ns.why());
    return;
  }
  const std::string p = std::to_string(fed.port);
  fed.run("nft: 30% packet loss", [&] {
    return fed.ns.nft(
        "table inet simpul_fault {\n"
        " chain in { type filter hook input priority 0; tcp dport " +
        p +
        " numgen random mod 100 < 30 drop; }\n"
        " chain out { type filter hook output priority 0; tcp sport " +
        p +
        " numgen random mod 100 < 30 drop; }\n"
        "}\n");
  });
}

TEST_CASE("net namespace: TCP resets on 5% of packets (nftables reject with tcp reset)") {
  NamespacedFederation fed;
  if (!fed.up()) {
    MESSAGE("skipped: " << fed.ns.why());
    return;
  }
  const std::string p = std::to_string(fed.port);
  fed.run("nft: 5% of packets answered with a TCP reset", [&] {
    return fed.ns.nft(
        "table inet simpul_fault {\n"
        " chain in { type filter hook input priority 0; tcp dport " +
        p +
        " numgen random mod 100 < 5 reject with tcp reset; }\n"
        "}\n");
  });
}

TEST_CASE("net namespace: the link squeezed to 32 kbit/s (tc tbf)") {
  NamespacedFederation fed;
  if (!fed.up()) {
    MESSAGE("skipped: " << fed.ns.why());
    return;
  }
  fed.run("tc tbf: 32 kbit/s", [&] { return fed.ns.limit_bandwidth("32kbit"); });
}
