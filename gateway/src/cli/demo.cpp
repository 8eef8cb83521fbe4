// `simpul demo`: a whole federation on loopback, in this process: the SP4N-LAPOR! simulator as
// the national hub, two nodes from the demo configs (provinsi-kepri with dialect lapor, and
// kota-batam below it) on free ports, and a stand-in for Batam's Ape Kesah app. Citizens submit
// to Ape Kesah; the aduan enter Batam by webhook and travel up to a hub tracking id; hub staff
// dispose, answer and close, and each step travels back down into Ape Kesah by callback.
// Complaints from other channels enter through Batam's API; the province answers one (a claim
// at the hub). Prints each journey with its timings and where to look.

#include <pthread.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/command.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "lapor/simulator.hpp"
#include "node/node.hpp"
#include "node/uplinks.hpp"
#include "standin.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace simpul::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct DemoNode {
  Config cfg;
  std::unique_ptr<Node> node;
  std::unique_ptr<http::Client> client;
};

std::string field(const std::string& body, const char* key) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject()) return "";
  return json::get_string(*doc, key);
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Polls `c` until the complaint satisfies `pred` (10 s at most); returns the elapsed ms or -1.
double wait_for(http::Client& c, const std::vector<http::Header>& auth, const std::string& id,
                const std::function<bool(const std::string&)>& pred, Clock::time_point since) {
  while (ms_since(since) < 10'000) {
    auto r = c.request("GET", "/v1/complaints/" + id, "", auth);
    if (r.status == 200 && pred(r.body)) return ms_since(since);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return -1;
}

std::string status_of(const std::string& body) { return field(body, "status"); }

}  // namespace

// Polls Ape Kesah until aduan `id` satisfies `pred` (10 s at most); returns the elapsed ms or -1.
double wait_for_app(apekesah::StandIn& app, std::int64_t id,
                    const std::function<bool(const std::string&)>& pred, Clock::time_point since) {
  while (ms_since(since) < 10'000) {
    if (pred(app.get(id))) return ms_since(since);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return -1;
}

// The hub's view of a report: a member of its entry in the simulator's /admin/streams.
std::string hub_field(http::Client& hub, const std::vector<http::Header>& admin, std::int64_t nid,
                      const char* key, bool received = false) {
  auto r = hub.request("GET", "/admin/streams", "", admin);
  auto doc = json::parse(r.body);
  if (!doc || !doc->IsArray()) return "";
  for (const auto& rep : doc->GetArray()) {
    if (json::get_string(rep, "nid") != std::to_string(nid)) continue;
    if (!received) {
      auto it = rep.FindMember(key);
      if (it != rep.MemberEnd() && it->value.IsInt64()) return std::to_string(it->value.GetInt64());
      return json::get_string(rep, key);
    }
    return rep.HasMember("received") ? json::get_string(rep["received"], key, "(absent)") : "";
  }
  return "";
}

static int run_demo(const std::string& config_dir, const std::string& samples_path,
                    bool keep_running) {
  for (const char* var :
       {"SIMPUL_ADMIN_TOKEN", "SIMPUL_DEMO_APEKESAH_WEBHOOK", "SIMPUL_DEMO_APEKESAH_CALLBACK",
        "SIMPUL_DEMO_LAPOR_SECRET", "SIMPUL_DEMO_LAPOR_ADMIN"}) {
    if (std::getenv(var)) continue;
    std::string t = "demo-" + crypto::random_token(16);
    setenv(var, t.c_str(), 1);
  }
  const std::string admin = std::getenv("SIMPUL_ADMIN_TOKEN");
  const std::vector<http::Header> as_admin{{"authorization", "Bearer " + admin}};
  const std::vector<http::Header> hub_admin{
      {"authorization", std::string("Bearer ") + std::getenv("SIMPUL_DEMO_LAPOR_ADMIN")}};
  const char* ids[] = {"provinsi-kepri", "kota-batam"};
  std::map<std::string, DemoNode> nodes;
  std::string data_dir;
  for (const char* id : ids) {
    Config cfg = load_node_config(config_dir + "/" + id + ".json");
    cfg.http.port = 0;  // free ports: the demo never collides with a node already running
    nodes[id].cfg = std::move(cfg);
    data_dir = std::filesystem::path(nodes[id].cfg.store.path).parent_path().string();
  }
  lapor::SimConfig sim_cfg = lapor::load_sim_config(config_dir + "/lapor-sim.json");
  sim_cfg.port = 0;
  std::filesystem::create_directories(data_dir);
  // Every demo begins with empty stores (their `.expected` markers go too: told to begin anew).
  for (const char* suffix : {"", "-wal", "-shm"}) {
    for (const char* id : ids) {
      std::filesystem::remove(nodes[id].cfg.store.path + suffix);
      std::filesystem::remove(SqliteStore::expected_marker(nodes[id].cfg.store.path));
    }
    std::filesystem::remove(sim_cfg.store_path + suffix);
    std::filesystem::remove(data_dir + "/apekesah.db" + suffix);
  }
  // Ape Kesah first: Batam's callback connector needs its port.
  apekesah::StandIn app(
      {data_dir + "/apekesah.db", 0, "", "", std::getenv("SIMPUL_DEMO_APEKESAH_CALLBACK")});
  for (auto& c : nodes["kota-batam"].cfg.connectors) {
    auto at = c.settings.find("127.0.0.1:7710");
    if (at != std::string::npos)
      c.settings.replace(at, 14, "127.0.0.1:" + std::to_string(app.port()));
  }
  std::string log_path = data_dir + "/federation.log";
  auto log_file = std::make_shared<std::ofstream>(log_path, std::ios::trunc);
  log::set_sink([log_file](std::string_view line) { *log_file << line << '\n' << std::flush; });

  std::printf("== Simpul demo: Ape Kesah -> Batam -> Kepri -> SP4N-LAPOR! on loopback\n");
  // The hub first (its simulator, on its own thread), then each node below its parent: a
  // child's credential is issued by its parent, and its upstream points at the parent's port.
  boost::asio::io_context hub_ioc;
  lapor::Simulator sim(hub_ioc, sim_cfg);
  sim.start();
  std::thread hub_thread([&hub_ioc] { hub_ioc.run(); });
  struct StopHub {
    boost::asio::io_context& ioc;
    std::thread& t;
    ~StopHub() {
      ioc.stop();
      t.join();
    }
  } stop_hub{hub_ioc, hub_thread};
  http::Client hub("127.0.0.1", sim.port(), 30'000);
  std::printf("   %-15s %-9s           http://127.0.0.1:%u  (simulator: simpul lapor-sim)\n",
              "SP4N-LAPOR!", "hub", sim.port());
  std::string parent;
  for (const char* id : ids) {
    DemoNode& n = nodes[id];
    if (parent.empty()) {
      n.cfg.upstream.port = sim.port();
    } else {
      DemoNode& p = nodes[parent];
      SqliteStore store(StoreOptions{p.cfg.store.path, true, 5000, true});
      auto token =
          store.create_token("demo-" + std::string(id), "node", id, system_now_ms()).secret;
      std::string var = n.cfg.upstream.credential_ref.substr(4);
      setenv(var.c_str(), token.c_str(), 1);
      n.cfg.upstream.port = p.node->port();
      n.cfg.upstream.poll_wait_s = 20;
    }
    n.node = std::make_unique<Node>(n.cfg);
    n.node->start_background();
    n.client = std::make_unique<http::Client>("127.0.0.1", n.node->port(), 30'000);
    std::printf("   %-15s %-9s region %-6s http://127.0.0.1:%u  upstream: %s\n", id,
                n.cfg.node.tier.c_str(), n.cfg.node.region.c_str(), n.node->port(),
                parent.empty() ? "SP4N-LAPOR! (dialect lapor)" : parent.c_str());
    parent = id;
  }
  auto& batam = *nodes["kota-batam"].client;
  auto& kepri = *nodes["provinsi-kepri"].client;
  app.set_webhook("http://127.0.0.1:" + std::to_string(nodes["kota-batam"].node->port()) +
                      "/v1/ingest/apekesah",
                  std::getenv("SIMPUL_DEMO_APEKESAH_WEBHOOK"));
  std::printf("   %-15s %-9s           http://127.0.0.1:%u/api/aduan  webhook -> kota-batam\n",
              "ape-kesah", "app", app.port());

  // Where a complaint is, found by a system's id at a node; and its hub tracking id at Kepri.
  auto by_ref = [&](DemoNode& n, const char* system, const std::string& ext) {
    SqliteStore store(StoreOptions{n.cfg.store.path, true, 5000, false});
    return store.find_by_ref(system, ext).value_or("");
  };
  auto tracking_id = [&](const std::string& complaint, Clock::time_point t0,
                         double& ms) -> std::int64_t {
    ms = -1;
    while (ms_since(t0) < 10'000) {
      SqliteStore store(StoreOptions{nodes["provinsi-kepri"].cfg.store.path, true, 5000, false});
      if (auto nid = store.ref_of(complaint, "lapor")) {
        ms = ms_since(t0);
        return std::atoll(nid->c_str());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return 0;
  };
  auto hub_act = [&](std::int64_t nid, const char* action, const std::string& body) {
    return hub
        .request("POST", "/admin/stream/" + std::to_string(nid) + "/" + action, body, hub_admin)
        .status;
  };

  std::printf(
      "\n-- 1. Citizens submit to Ape Kesah; each aduan travels Ape Kesah -> Batam -> Kepri -> "
      "SP4N-LAPOR!\n");
  std::vector<std::int64_t> aduan_ids;
  std::int64_t first_aduan_nid = 0;
  {
    std::ifstream aduan_file(config_dir + "/apekesah-aduan.jsonl");
    std::string aduan;
    while (std::getline(aduan_file, aduan)) {
      if (aduan.empty()) continue;
      auto t0 = Clock::now();
      auto aid = app.submit(aduan);
      std::string cid;
      while (cid.empty() && ms_since(t0) < 10'000) {
        cid = by_ref(nodes["kota-batam"], "apekesah", std::to_string(aid));
        if (cid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      double at_batam = cid.empty() ? -1 : ms_since(t0);
      double at_kepri =
          cid.empty() ? -1
                      : wait_for(
                            kepri, as_admin, cid, [](const std::string&) { return true; }, t0);
      double at_hub = -1;
      std::int64_t nid = cid.empty() ? 0 : tracking_id(cid, t0, at_hub);
      if (aduan_ids.empty()) first_aduan_nid = nid;
      aduan_ids.push_back(aid);
      std::printf(
          "   aduan %-3lld %-34.34s Batam %6.1f ms, Kepri %6.1f ms, LAPOR! #%lld %6.1f ms\n",
          static_cast<long long>(aid), field(app.get(aid), "judul").c_str(), at_batam, at_kepri,
          static_cast<long long>(nid), at_hub);
    }
  }
  if (first_aduan_nid > 0) {
    std::printf(
        "\n-- 2. On SP4N-LAPOR!, Dinas PU answers report #%lld and LAPOR! closes it;\n"
        "      Ape Kesah shows each step to the citizen (the aduan was with Dinas PU from the "
        "start)\n",
        static_cast<long long>(first_aduan_nid));
    struct HubStep {
      const char* what;
      const char* action;
      const char* body;
      const char* app_status;
      const char* tanggapan;
    };
    const HubStep hub_steps[] = {
        {"answer (tindak lanjut)", "answer",
         R"({"agency":"dinas-pu-batam","text":"Lubang sudah ditambal pada 22/11/2026."})", "Proses",
         "Lubang sudah ditambal pada 22/11/2026."},
        {"close", "close", "{}", "Selesai", ""},
    };
    for (const auto& s : hub_steps) {
      auto t0 = Clock::now();
      int status = hub_act(first_aduan_nid, s.action, s.body);
      std::string want = s.app_status, want_text = s.tanggapan;
      double back = wait_for_app(
          app, aduan_ids.front(),
          [&](const std::string& a) {
            return field(a, "status") == want &&
                   (want_text.empty() || field(a, "tanggapan") == want_text);
          },
          t0);
      std::printf("   %d  %-26s -> Ape Kesah shows \"%s\" after %6.1f ms\n", status, s.what,
                  s.app_status, back);
    }
    auto shown = app.get(aduan_ids.front());
    std::printf("   the citizen sees in Ape Kesah: status \"%s\", tanggapan \"%s\"\n",
                field(shown, "status").c_str(), field(shown, "tanggapan").c_str());
  }

  std::ifstream samples(samples_path);
  if (!samples) throw ConfigError(samples_path, "", "cannot read the samples file");
  std::printf(
      "\n-- 3. Other channels (web, WhatsApp desk) enter through Batam's API and travel up\n");
  std::vector<std::string> accepted;
  std::vector<std::int64_t> accepted_nids;
  std::string line;
  int n = 0;
  while (std::getline(samples, line)) {
    if (line.empty()) continue;
    auto headers = as_admin;
    headers.push_back({"idempotency-key", "demo-sample-" + std::to_string(++n)});
    auto t0 = Clock::now();
    auto r = batam.request("POST", "/v1/complaints", line, headers);
    double stored = ms_since(t0);
    if (r.status != 201) {
      std::printf("   %d  rejected at Batam: %s (%s)\n", r.status, field(r.body, "detail").c_str(),
                  field(r.body, "pointer").c_str());
      continue;
    }
    std::string id = field(r.body, "id");
    double at_kepri = wait_for(
        kepri, as_admin, id, [](const std::string&) { return true; }, t0);
    double at_hub = -1;
    std::int64_t nid = tracking_id(id, t0, at_hub);
    accepted.push_back(id);
    accepted_nids.push_back(nid);
    std::printf("   %-42.42s stored %5.1f ms, Kepri %6.1f ms, LAPOR! #%lld %6.1f ms\n",
                field(r.body, "title").c_str(), stored, at_kepri, static_cast<long long>(nid),
                at_hub);
  }
  if (accepted.empty()) throw std::runtime_error("no sample complaint was accepted");

  const std::string id = accepted.front();
  const std::int64_t nid = accepted_nids.front();
  std::printf(
      "\n-- 4. LAPOR! disposes %s; the province answers it (up to LAPOR! as a claim, down to "
      "Batam);\n"
      "      LAPOR! closes it\n",
      id.c_str());
  struct Step {
    const char* what;
    std::function<int()> act;
    const char* status;
  };
  const Step steps[] = {
      {"LAPOR! disposes to Dinas PU Batam",
       [&] { return hub_act(nid, "dispose", R"({"agency":"dinas-pu-batam"})"); }, "disposed"},
      {"Kepri answers (tindak lanjut)",
       [&] {
         return kepri
             .request(
                 "POST", "/v1/complaints/" + id + "/events",
                 R"({"kind":"responded","actor":{"role":"agency","agency":"dinas-pu-batam"},"payload":{"text":"Perbaikan jalan dijadwalkan minggu depan."}})",
                 as_admin)
             .status;
       },
       "responded"},
      {"LAPOR! closes", [&] { return hub_act(nid, "close", "{}"); }, "closed"},
  };
  for (const auto& s : steps) {
    auto t0 = Clock::now();
    int status = s.act();
    std::string want = s.status;
    double back = wait_for(
        batam, as_admin, id, [&](const std::string& b) { return status_of(b) == want; }, t0);
    std::printf("   %d  %-34s -> Batam sees \"%s\" after %6.1f ms\n", status, s.what, s.status,
                back);
  }
  {
    std::printf(
        "   at LAPOR!: report #%lld status %s (9 = done); the province's answer is a claim there\n",
        static_cast<long long>(nid), hub_field(hub, hub_admin, nid, "status").c_str());
  }

  std::printf("\n-- 5. Privacy: an anonim reporter never leaves Batam\n");
  {
    auto at_batam = batam.request("GET", "/v1/complaints/" + id, "", as_admin);
    auto at_kepri = kepri.request("GET", "/v1/complaints/" + id, "", as_admin);
    std::printf(
        "   at Batam   : reporter %s\n",
        at_batam.body.find("\"reporter\"") != std::string::npos ? "present (pii scope)" : "absent");
    std::printf("   at Kepri   : reporter %s\n",
                at_kepri.body.find("\"reporter\"") != std::string::npos ? "PRESENT"
                                                                        : "absent (never sent)");
    std::printf("   at LAPOR!  : reporter %s, is_anonim %s, report_type %s\n",
                hub_field(hub, hub_admin, nid, "reporter_name", true) == "(absent)"
                    ? "absent (never sent)"
                    : "PRESENT",
                hub_field(hub, hub_admin, nid, "is_anonim", true).c_str(),
                hub_field(hub, hub_admin, nid, "report_type", true).c_str());
  }

  std::printf("\nWhere to look:\n");
  for (const char* nid_name : ids)
    std::printf("   %-15s database %s, API http://127.0.0.1:%u/v1/complaints\n", nid_name,
                nodes[nid_name].cfg.store.path.c_str(), nodes[nid_name].node->port());
  std::printf("   %-15s database %s, admin view http://127.0.0.1:%u/admin/streams\n", "SP4N-LAPOR!",
              sim_cfg.store_path.c_str(), sim.port());
  std::printf("   %-15s database %s/apekesah.db, API http://127.0.0.1:%u/api/aduan\n", "ape-kesah",
              data_dir.c_str(), app.port());
  std::printf("   logs           %s (one JSON object per line, both nodes)\n", log_path.c_str());
  std::printf(
      "   try            curl -H 'Authorization: Bearer %s' http://127.0.0.1:%u/v1/complaints/%s\n",
      admin.c_str(), nodes["provinsi-kepri"].node->port(), id.c_str());
  std::printf(
      "   metrics        http://127.0.0.1:%u/metrics (simpul_upstream_*, simpul_outbox_depth)\n",
      nodes["provinsi-kepri"].node->port());
  {
    // An officer of Dinas PU Batam, to see the dashboard as an agency sees it.
    SqliteStore store(StoreOptions{nodes["kota-batam"].cfg.store.path, true, 5000, false});
    const std::string officer = store
                                    .create_token("Petugas Dinas PU (demo)", "read,act", "",
                                                  system_now_ms(), "dinas-pu-batam")
                                    .secret;
    std::printf("\nDashboard (Bahasa Indonesia), in a browser on this machine:\n");
    std::printf("   Kota Batam     http://127.0.0.1:%u/ui/\n", nodes["kota-batam"].node->port());
    std::printf("   Provinsi Kepri http://127.0.0.1:%u/ui/\n",
                nodes["provinsi-kepri"].node->port());
    std::printf("   log in as admin with the token     %s\n", admin.c_str());
    std::printf("   or as Dinas PU Batam's officer     %s\n", officer.c_str());
    if (!keep_running)
      std::printf(
          "   (the demo stops now; `make demo KEEP=1` keeps it up until Ctrl-C to look around)\n");
  }
  if (keep_running) {
    std::printf("\nServing until Ctrl-C.\n");
    std::fflush(stdout);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
  }
  for (auto it = std::rbegin(ids); it != std::rend(ids); ++it) nodes[*it].node->stop();
  std::printf("\nDemo finished.\n");
  return 0;
}

void add_demo(CLI::App& app, Commands& out) {
  struct Options {
    std::string dir = "config/demo", samples;
    bool keep_running = false;
  };
  auto o = std::make_shared<Options>();
  auto* demo = app.add_subcommand(
      "demo", "Run a three-tier federation on loopback and feed it sample complaints");
  demo->add_option("--config-dir", o->dir,
                   "Directory with nasional.json, provinsi-kepri.json, kota-batam.json");
  demo->add_option("--samples", o->samples, "JSON Lines of sample complaints")->required();
  demo->add_flag("--keep-running", o->keep_running, "Keep serving after the demo until Ctrl-C");
  out.push_back({demo, [o] { return run_demo(o->dir, o->samples, o->keep_running); }});
}

}  // namespace simpul::cli
