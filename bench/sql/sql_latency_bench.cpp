// bench/sql: how long a complaint written into a legacy app's database takes to reach the
// province: from the app's INSERT committed in MariaDB to the complaint listed by provinsi-kepri,
// through kota-batam's sql_poll connector and its uplink. p50 and p99, at three settings of the
// connector: the defaults (interval_s 30, delay_s 5), interval_s 1 (delay_s 5), and interval_s 1
// with delay_s 0 (the floor: nothing held back for transactions still open).
//
// Starts a throwaway MariaDB and two `simpul serve` children; the app's rows are inserted at an
// even pace across several poll cycles (so they fall at every point of a cycle), and a watcher
// lists the province's complaints every 20 ms. Never part of `make test`.
//
//   sql_latency_bench --simpul build/simpul [--rows 60]

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "db_servers.hpp"
#include "http/client.hpp"
#include "support/fixtures.hpp"
#include "support/http_load.hpp"
#include "support/report.hpp"

namespace b = simpul::bench;
using Clock = std::chrono::steady_clock;
using simpul::http::Client;

namespace {

const char* kAdmin = "Bearer bench-admin-token-0123456789";

const char* kMapping = R"({
  "version": 1, "system": "eaduan", "description": "a PHP app's aduan table",
  "id": "/id",
  "fields": {
    "title": {"from": "/judul", "transform": ["trim"]},
    "body": {"from": "/uraian", "transform": ["trim"]},
    "received_at": {"from": "/dibuat", "transform": [{"date": {"format": "%Y-%m-%d %H:%M:%S", "zone": "WIB"}}]}
  },
  "defaults": {"type": "pengaduan", "channel": "web", "region": "21.71", "privacy": "anonim"}
})";

struct Setting {
  std::string name;
  int interval_s, delay_s;
};

// The titles the province lists, each with when it was first seen.
class Watcher {
 public:
  explicit Watcher(std::uint16_t port) : port_(port), thread_([this] { run(); }) {}
  ~Watcher() {
    done_ = true;
    thread_.join();
  }
  std::optional<Clock::time_point> seen(const std::string& title) {
    std::lock_guard lock(mu_);
    auto it = seen_.find(title);
    if (it == seen_.end()) return std::nullopt;
    return it->second;
  }

 private:
  void run() {
    Client c("127.0.0.1", port_);
    while (!done_) {
      try {
        auto r = c.request("GET", "/v1/complaints?limit=500", "", {{"authorization", kAdmin}});
        const auto now = Clock::now();
        auto doc = simpul::json::parse(r.body);
        if (doc && doc->IsObject() && (*doc)["items"].IsArray()) {
          std::lock_guard lock(mu_);
          for (const auto& item : (*doc)["items"].GetArray())
            seen_.emplace(simpul::json::get_string(item, "title"), now);
        }
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::uint16_t port_;
  std::atomic<bool> done_{false};
  std::mutex mu_;
  std::map<std::string, Clock::time_point> seen_;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  b::set_command(argc, argv);
  std::string simpul = "build/simpul";
  int rows = 60;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--simpul") {
      simpul = v;
    } else if (k == "--rows") {
      rows = std::atoi(v.c_str());
    } else {
      std::fprintf(stderr, "usage: sql_latency_bench --simpul PATH [--rows N]\n");
      return 64;
    }
  }
  char tmpl[] = "/tmp/simpul-sqllatency-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  setenv("SIMPUL_BENCH_ADMIN", kAdmin + 7, 1);
  std::ofstream(dir + "/eaduan.json") << kMapping;
  auto db = simpul::dbserver::start_mariadb(dir);
  auto app = db->admin();
  app->execute(
      "CREATE TABLE aduan (id INT AUTO_INCREMENT PRIMARY KEY, judul VARCHAR(200), uraian TEXT, "
      "dibuat DATETIME NOT NULL, diperbarui DATETIME(6), INDEX aduan_diperbarui (diperbarui, id))",
      {});
  app->execute("SET time_zone = '+07:00'", {});  // the app writes Batam's wall time

  const std::uint16_t kepri_port = b::free_port();
  const std::string common =
      R"(, "auth": {"admin_token": "env:SIMPUL_BENCH_ADMIN"}, "log": {"level": "error"})";
  const std::string kepri_cfg = dir + "/kepri.json";
  std::ofstream(kepri_cfg)
      << R"({"node": {"id": "provinsi-kepri", "tier": "provinsi", "region": "21", "timezone": "WIB"},
    "store": {"path": ")"
      << dir << R"(/kepri.db"}, "http": {"listen": "127.0.0.1:)" << kepri_port << R"("})" << common
      << R"(, "children": [{"id": "kota-batam", "regions": ["21.71"]}]})";
  std::string out;
  b::run_cli(simpul, {"token", "create", "--config", kepri_cfg, "--node", "kota-batam"}, &out);
  const auto at = out.find("token: ");
  if (at == std::string::npos) {
    std::fprintf(stderr, "sql_latency_bench: no node token: %s\n", out.c_str());
    return 1;
  }
  setenv("SIMPUL_BENCH_UP", out.substr(at + 7, out.find('\n', at) - at - 7).c_str(), 1);
  auto batam_cfg = [&](const Setting& s) {
    const std::string path =
        dir + "/batam-" + std::to_string(s.interval_s) + "-" + std::to_string(s.delay_s) + ".json";
    std::ofstream(path)
        << R"({"node": {"id": "kota-batam", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
      "store": {"path": ")"
        << dir << R"(/batam.db"}, "http": {"listen": "127.0.0.1:0"})" << common
        << R"(, "upstream": {"url": "http://127.0.0.1:)" << kepri_port
        << R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_BENCH_UP"},
      "connectors": [{"id": "eaduan", "type": "sql_poll", "mapping": ")"
        << dir << R"(/eaduan.json", "settings": {"driver": "mariadb", "socket": ")" << db->socket()
        << R"(", "database": "legacy", "user": "root", "table": "aduan", "key": "id",
        "updated": "diperbarui", "interval_s": )"
        << s.interval_s << R"(, "delay_s": )" << s.delay_s << "}}]}";
    return path;
  };

  b::ServeChild kepri;
  kepri.start(simpul, kepri_cfg, dir + "/kepri.ready");
  Watcher watch(kepri_port);
  std::printf("bench/sql latency: MariaDB -> kota-batam (sql_poll) -> provinsi-kepri, %u cores\n",
              std::thread::hardware_concurrency());
  const std::vector<Setting> settings = {{"defaults (interval_s 30, delay_s 5)", 30, 5},
                                         {"interval_s 1 (delay_s 5)", 1, 5},
                                         {"interval_s 1, delay_s 0", 1, 0}};
  int next_id = 0;
  for (const auto& s : settings) {
    b::ServeChild batam;
    batam.start(simpul, batam_cfg(s), dir + "/batam.ready");
    // The rows spread over five poll cycles (at least 10 s), so they fall at every point of one.
    const double span_s = std::max(10.0, 5.0 * s.interval_s);
    const auto gap = std::chrono::duration<double>(span_s / rows);
    std::vector<std::pair<std::string, Clock::time_point>> written;
    for (int i = 0; i < rows; ++i) {
      const std::string title = "Aduan latensi " + std::to_string(++next_id);
      app->execute(
          "INSERT INTO aduan (judul, uraian, dibuat, diperbarui) VALUES (:j, 'Lampu jalan "
          "padam.', NOW(), NOW(6))",
          {{"j", title}});
      written.emplace_back(title, Clock::now());  // committed (autocommit) when it returns
      std::this_thread::sleep_for(gap);
    }
    std::vector<double> ms;
    const auto deadline = Clock::now() + std::chrono::seconds(s.interval_s + s.delay_s + 30);
    for (const auto& [title, t0] : written) {
      std::optional<Clock::time_point> t;
      while (!(t = watch.seen(title)) && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (t) ms.push_back(std::chrono::duration<double, std::milli>(*t - t0).count());
    }
    batam.stop();
    const double p50 = b::percentile(ms, 0.5), p99 = b::percentile(ms, 0.99);
    std::printf("%-40s p50 %8.0f ms   p99 %8.0f ms   (%zu of %d rows arrived)\n", s.name.c_str(),
                p50, p99, ms.size(), rows);
    std::fflush(stdout);
    b::record("sql_poll latency", "row committed -> at the province p50, " + s.name, p50, "ms", "",
              0, "",
              std::to_string(ms.size()) + " rows over " + std::to_string(int(span_s)) + " s");
    b::record("sql_poll latency", "row committed -> at the province p99, " + s.name, p99, "ms", "",
              0, "", "");
  }
  kepri.stop();
  db.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
