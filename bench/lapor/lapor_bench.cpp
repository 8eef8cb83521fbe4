// bench/lapor: the lapor dialect against the SP4N-LAPOR! simulator, all on loopback in this
// process (the simulator on its own thread, each node on its own threads, Ape Kesah's stand-in):
//   1. sync rate: N complaints stored at Kepri while the hub is down, then the hub comes up;
//      complaints/s from then until every one holds its hub tracking id (lapor:<nid>).
//   2. up: an aduan submitted to Ape Kesah -> Batam (webhook) -> Kepri -> a hub tracking id at
//      Kepri, one at a time; p50/p99.
//   3. down: a hub answer (claim + TINDAKLANJUT notification) -> Kepri -> Batam -> Ape Kesah
//      (callback) shows the tanggapan, one at a time; p50/p99. Bounded below by the
//      notification poll interval (printed).
//   4. down: a hub close (no notification) -> Ape Kesah's status, one at a time; p50/p99.
//   5. reconciliation with the hub over every complaint of the run: requests and time, then
//      --repair pulling 20 reports entered on the hub itself.
// Prints its figures. Never part of `make test`.
//
//   build/bench/lapor_bench [--complaints N] [--latency M] [--poll-ms MS]

#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "intake/registry.hpp"
#include "lapor/lapor_settings.hpp"
#include "lapor/simulator.hpp"
#include "ledger/ledger.hpp"
#include "node/node.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"
#include "reconcile/reconcile.hpp"
#include "standin.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/fixtures.hpp"
#include "support/report.hpp"

using namespace simpul;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// A simulator that can be started late (the sync-rate run starts with the hub down).
struct Hub {
  boost::asio::io_context ioc;
  std::unique_ptr<lapor::Simulator> sim;
  std::thread thread;
  Hub(lapor::SimConfig cfg) {
    sim = std::make_unique<lapor::Simulator>(ioc, std::move(cfg));
    sim->start();
    thread = std::thread([this] { ioc.run(); });
  }
  ~Hub() {
    ioc.stop();
    thread.join();
  }
};

using simpul::bench::sqlite_scalar;

}  // namespace

int main(int argc, char** argv) {
  simpul::bench::set_command(argc, argv);
  int complaints = 2000, latency = 100, poll_ms = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (k == "--complaints")
      complaints = v;
    else if (k == "--latency")
      latency = v;
    else if (k == "--poll-ms")
      poll_ms = v;
    else {
      std::fprintf(stderr, "usage: lapor_bench [--complaints N] [--latency M] [--poll-ms MS]\n");
      return 64;
    }
  }
  const std::string dir = "/tmp/simpul-laporbench-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  log::set_sink([](std::string_view) {});
  const std::string secret = "bench-" + crypto::random_token(16),
                    admin = "bench-" + crypto::random_token(16);
  const std::string webhook = "bench-webhook-" + crypto::random_token(16),
                    callback = "bench-cb-" + crypto::random_token(16);
  setenv("BENCH_LAPOR_SECRET", secret.c_str(), 1);
  setenv("BENCH_ADMIN", admin.c_str(), 1);
  setenv("BENCH_WEBHOOK", webhook.c_str(), 1);
  setenv("BENCH_CALLBACK", callback.c_str(), 1);
  const std::string mapping = std::filesystem::absolute("config/mappings/apekesah.json").string();
  if (!std::filesystem::exists(mapping)) {
    std::fprintf(stderr, "run from the repository root (config/mappings/apekesah.json)\n");
    return 64;
  }
  std::printf(
      "bench/lapor: %d complaints for the sync rate, %d one at a time for latency, notifications "
      "polled every %d ms, %u cores\n",
      complaints, latency, poll_ms, std::thread::hardware_concurrency());

  lapor::SimConfig sim_cfg;
  sim_cfg.port = 0;
  sim_cfg.store_path = dir + "/lapor.db";
  sim_cfg.clients = {{"provinsi-kepri", secret}};
  sim_cfg.admin_token = admin;
  // The hub's port must be known before Kepri starts: take one, then let the hub bind it late.
  std::uint16_t hub_port = 0;
  {
    boost::asio::io_context probe;
    lapor::Simulator s(probe, sim_cfg);
    s.start();
    hub_port = s.port();
  }
  sim_cfg.port = hub_port;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  const std::string common =
      R"("auth": {"admin_token": "env:BENCH_ADMIN"}, "log": {"level": "error"}, "http": {"listen": "127.0.0.1:0"},)";
  Config kepri_cfg = load_node_config(write(
      "kepri.json",
      R"({"node": {"id": "provinsi-kepri", "tier": "provinsi", "region": "21", "timezone": "WIB"},
    "store": {"path": ")" +
          dir + R"(/kepri.db"}, )" + common + R"(
    "upstream": {"url": "http://127.0.0.1:)" +
          std::to_string(hub_port) + R"(", "node": "lapor", "dialect": "lapor",
      "credential": "env:BENCH_LAPOR_SECRET", "max_backoff_ms": 200, "batch": 200,
      "lapor": {"client_id": "provinsi-kepri", "source": "simpul-kepri", "poll_interval_ms": )" +
          std::to_string(poll_ms) + R"(}},
    "reconcile": {"interval_s": 0},
    "children": [{"id": "kota-batam", "regions": ["21.71"]}]})"));
  Node kepri(kepri_cfg);
  kepri.start_background();
  http::Client kc("127.0.0.1", kepri.port(), 30'000);
  const std::vector<http::Header> as_admin{{"authorization", "Bearer " + admin}};

  // 1. Sync rate.
  std::vector<std::string> ids;
  for (int i = 0; i < complaints; ++i) {
    auto r = kc.request(
        "POST", "/v1/complaints",
        R"({"type":"pengaduan","title":"Aduan bench )" + std::to_string(i) +
            R"(","body":"Lubang besar di depan halte Batam Centre.","channel":"app","region":"21.71"})",
        as_admin);
    if (r.status != 201) {
      std::fprintf(stderr, "ingest failed: %d %s\n", r.status, r.body.c_str());
      return 1;
    }
  }
  double sync_s = 0;
  {
    Hub hub(sim_cfg);
    auto t0 = Clock::now();
    while (sqlite_scalar(kepri_cfg.store.path, "SELECT count(*) FROM refs WHERE system = 'lapor'") <
           complaints) {
      if (ms_since(t0) > 600'000) {
        std::fprintf(stderr, "sync did not finish in 10 minutes\n");
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    sync_s = ms_since(t0) / 1000.0;
  }
  std::printf("%-46s %10.0f complaints/s (%d in %.1f s, from the hub coming up)\n",
              "sync to the hub (create + tracking id)", complaints / sync_s, complaints, sync_s);

  // 2 and 3 with the hub up for good, Batam and Ape Kesah below Kepri.
  Hub hub(sim_cfg);
  http::Client hc("127.0.0.1", hub_port, 30'000);
  const std::vector<http::Header> hub_admin{{"authorization", "Bearer " + admin}};
  apekesah::StandIn app({dir + "/apekesah.db", 0, "", "", callback});
  {
    SqliteStore s(StoreOptions{kepri_cfg.store.path, true, 5000, false});
    setenv("BENCH_BATAM_TOKEN",
           s.create_token("batam", "node", "kota-batam", system_now_ms()).secret.c_str(), 1);
  }
  Config batam_cfg = load_node_config(write(
      "batam.json",
      R"({"node": {"id": "kota-batam", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
    "store": {"path": ")" +
          dir + R"(/batam.db"}, )" + common + R"(
    "upstream": {"url": "http://127.0.0.1:)" +
          std::to_string(kepri.port()) + R"(", "node": "provinsi-kepri",
      "credential": "env:BENCH_BATAM_TOKEN", "poll_wait_s": 20},
    "connectors": [
      {"id": "apekesah", "type": "webhook", "mapping": ")" +
          mapping + R"(", "settings": {"secret": "env:BENCH_WEBHOOK"}},
      {"id": "apekesah-balik", "type": "callback", "mapping": ")" +
          mapping + R"(",
       "settings": {"url": "http://127.0.0.1:)" +
          std::to_string(app.port()) + R"(/simpul/callback", "secret": "env:BENCH_CALLBACK"}}]})"));
  Node batam(batam_cfg);
  batam.start_background();
  app.set_webhook("http://127.0.0.1:" + std::to_string(batam.port()) + "/v1/ingest/apekesah",
                  webhook);

  std::vector<double> up, down;
  std::vector<std::pair<std::int64_t, std::int64_t>> linked;  // aduan id, hub nid
  for (int i = 0; i < latency; ++i) {
    auto t0 = Clock::now();
    auto aid = app.submit(
        R"({"judul": "Jalan berlubang )" + std::to_string(i) +
        R"(", "uraian": "Lubang besar di depan halte", "lokasi": "Batam Kota", "tanggal": "21/11/2026",
                          "waktu": "07:30", "opd_tujuan": "Dinas Pekerjaan Umum", "kategori": "Jalan",
                          "pelapor": {"nama": "Warga", "hp": "0812-7000-1234", "anonim": true}})");
    std::int64_t nid = 0;
    while (nid == 0 && ms_since(t0) < 30'000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      SqliteStore s(StoreOptions{kepri_cfg.store.path, true, 5000, false});
      auto complaint = s.find_by_ref("apekesah", std::to_string(aid));
      if (!complaint) {
        // The apekesah ref travels in the created record; Kepri knows it once the event arrived.
        continue;
      }
      if (auto n = s.ref_of(*complaint, "lapor")) nid = std::atoll(n->c_str());
    }
    if (nid == 0) {
      std::fprintf(stderr, "aduan %lld never got a hub tracking id\n", static_cast<long long>(aid));
      return 1;
    }
    up.push_back(ms_since(t0));
    linked.emplace_back(aid, nid);
  }
  for (const auto& [aid, nid] : linked) {
    const std::string text = "Sudah ditangani, laporan " + std::to_string(nid);
    auto t0 = Clock::now();
    auto r = hc.request("POST", "/admin/stream/" + std::to_string(nid) + "/answer",
                        R"({"agency": "dinas-pu-batam", "text": ")" + text + "\"}", hub_admin);
    if (r.status != 200) {
      std::fprintf(stderr, "hub answer failed: %d\n", r.status);
      return 1;
    }
    bool seen = false;
    while (!seen && ms_since(t0) < 30'000) {
      auto a = json::parse(app.get(aid));
      seen = a && json::get_string(*a, "tanggapan") == text;
      if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!seen) {
      std::fprintf(stderr, "the answer to aduan %lld never reached Ape Kesah\n",
                   static_cast<long long>(aid));
      return 1;
    }
    down.push_back(ms_since(t0));
  }
  // 4. A close at the hub, which sends no notification for it: found in the hub's list of this
  // client's reports changed since the last round (upstream.lapor.activity_poll), however many
  // complaints changed lately, long before the sweep (every 300 s by default); Ape Kesah's
  // status changes.
  std::vector<double> closed;
  for (const auto& [aid, nid] : linked) {
    auto before = json::parse(app.get(aid));
    const std::string was = before ? json::get_string(*before, "status") : "";
    auto t0 = Clock::now();
    auto r = hc.request("POST", "/admin/stream/" + std::to_string(nid) + "/close", "{}", hub_admin);
    if (r.status != 200) {
      std::fprintf(stderr, "hub close failed: %d\n", r.status);
      return 1;
    }
    bool seen = false;
    while (!seen && ms_since(t0) < 60'000) {
      auto a = json::parse(app.get(aid));
      seen = a && json::get_string(*a, "status") != was;
      if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!seen) {
      std::fprintf(stderr, "the close of aduan %lld never reached Ape Kesah\n",
                   static_cast<long long>(aid));
      return 1;
    }
    closed.push_back(ms_since(t0));
  }
  // 5. Reconciliation with the hub: every report of the window compared, then the ones entered
  // on the hub itself pulled in (--repair). What it costs the hub, in requests.
  constexpr int kEnteredOnHub = 20;
  for (int i = 0; i < kEnteredOnHub; ++i) {
    auto r =
        hc.request("POST", "/admin/streams",
                   R"({"client": "provinsi-kepri", "subject": "Lewat web )" + std::to_string(i) +
                       R"(", "content": "Dilaporkan langsung di kanal web nasional.",
                            "agency": "Dinas PU Kota Batam"})",
                   hub_admin);
    if (r.status != 200) {
      std::fprintf(stderr, "hub report failed: %d\n", r.status);
      return 1;
    }
  }
  auto reconcile_once = [&](bool repair, double& seconds) {
    Config unpaced = kepri_cfg;  // the hub's pace is measured in requests, not waited out here
    unpaced.upstream.dialect_section.insert(1, R"("reconcile_requests_per_minute": 6000, )");
    auto store = open_node_store(unpaced, StoreUse::existing);
    Ledger ledger(*store, ledger_rules(unpaced, build_connectors(unpaced)));
    reconcile::Write w = [&](std::function<void(Ledger&)> work) {
      store->begin();
      work(ledger);
      store->commit();
    };
    reconcile::Options o;
    o.with = reconcile::With::hub;
    o.repair = repair;
    o.to = system_now_ms();
    o.from = o.to - 86'400'000;
    auto t0 = Clock::now();
    auto r = reconcile::run(unpaced, *store, w, o, [] { return system_now_ms(); });
    seconds = ms_since(t0) / 1000.0;
    return r;
  };
  double compare_s = 0, repair_s = 0;
  const auto compared = reconcile_once(false, compare_s);
  const auto repaired = reconcile_once(true, repair_s);
  if (!compared.error.empty() || compared.count("missing_here") != kEnteredOnHub ||
      repaired.count("missing_here") != kEnteredOnHub) {
    std::fprintf(stderr, "reconcile found %lld of %d hub reports (%s)\n",
                 static_cast<long long>(compared.count("missing_here")), kEnteredOnHub,
                 compared.error.c_str());
    return 1;
  }
  const lapor::Settings hub_settings = lapor::read_settings(kepri_cfg);
  const double paced_min =
      static_cast<double>(compared.requests) / hub_settings.reconcile_requests_per_minute;

  std::printf("%-46s p50 %7.1f ms   p99 %7.1f ms   (%d aduan)\n",
              "up: Ape Kesah -> hub tracking id", pct(up, 0.5), pct(up, 0.99), latency);
  std::printf("%-46s p50 %7.1f ms   p99 %7.1f ms   (poll every %d ms)\n",
              "down: hub answer -> Ape Kesah tanggapan", pct(down, 0.5), pct(down, 0.99), poll_ms);
  std::printf("%-46s p50 %7.1f ms   p99 %7.1f ms   (no notification; %d changed lately)\n",
              "down: hub close -> Ape Kesah status", pct(closed, 0.5), pct(closed, 0.99),
              complaints + latency);
  std::printf(
      "%-46s %10lld requests (%lld here, %lld at the hub; %.2f s unpaced, %.1f min at "
      "%d/min)\n",
      "reconcile with the hub: compare", static_cast<long long>(compared.requests),
      static_cast<long long>(compared.ours), static_cast<long long>(compared.theirs), compare_s,
      paced_min, hub_settings.reconcile_requests_per_minute);
  std::printf("%-46s %10lld requests (%d pulled with their history, %.2f s unpaced)\n",
              "reconcile with the hub: --repair", static_cast<long long>(repaired.requests),
              kEnteredOnHub, repair_s);
  std::printf(
      "%-46s %10lld (expected %d)\n", "reports at the hub",
      static_cast<long long>(sqlite_scalar(sim_cfg.store_path, "SELECT count(*) FROM reports")),
      complaints + latency + kEnteredOnHub);
  std::printf("%-46s %10lld (expected 0)\n", "reports created more than once",
              static_cast<long long>(sqlite_scalar(
                  sim_cfg.store_path, "SELECT count(*) FROM reports WHERE creates > 1")));
  namespace b = simpul::bench;
  b::record("lapor", "sync to the hub (create + tracking id)", complaints / sync_s, "complaints/s",
            "", 0, "",
            std::to_string(complaints) +
                " stored while the hub was down; one create and one commit per report, in order");
  b::record("lapor", "up: Ape Kesah -> hub tracking id p50", pct(up, 0.5), "ms");
  b::record("lapor", "up: Ape Kesah -> hub tracking id p99", pct(up, 0.99), "ms");
  b::record("lapor", "down: hub answer -> Ape Kesah tanggapan p50", pct(down, 0.5), "ms", "", 0, "",
            "notifications polled every " + std::to_string(poll_ms) + " ms");
  b::record("lapor", "down: hub answer -> Ape Kesah tanggapan p99", pct(down, 0.99), "ms");
  b::record("lapor", "down: hub close -> Ape Kesah status p50", pct(closed, 0.5), "ms", "", 0, "",
            "the hub sends no notification for a close: its list of changed reports, " +
                std::to_string(complaints + latency) + " complaints changed lately");
  b::record("lapor", "down: hub close -> Ape Kesah status p99", pct(closed, 0.99), "ms");
  b::record("lapor", "reconcile with the hub: compare", static_cast<double>(compared.requests),
            "requests", "", 0, "",
            std::to_string(compared.ours) + " complaints here, " + std::to_string(compared.theirs) +
                " reports at the hub, pages of " + std::to_string(hub_settings.list_page));
  b::record("lapor", "reconcile with the hub: --repair", static_cast<double>(repaired.requests),
            "requests", "", 0, "",
            std::to_string(kEnteredOnHub) + " hub reports pulled (detail + claims each)");
  b::record("lapor", "reports created more than once",
            static_cast<double>(sqlite_scalar(sim_cfg.store_path,
                                              "SELECT count(*) FROM reports WHERE creates > 1")),
            "reports", "", 0, "0");
  batam.stop();
  kepri.stop();
  std::filesystem::remove_all(dir);
  return 0;
}
