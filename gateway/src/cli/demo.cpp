// `simpul demo`: a whole federation on loopback, in this process. Three nodes from the demo
// configs (nasional <- provinsi-kepri <- kota-batam) on free ports, and a stand-in for Batam's
// Ape Kesah app. Citizens submit to Ape Kesah; the aduan enter Batam by webhook and travel up;
// the national tier answers and closes, and the answers travel back down into Ape Kesah by
// callback. Complaints from other channels enter through Batam's API; the national tier
// verifies, disposes, answers and closes. Prints each journey with its timings and where to look.

#include <pthread.h>

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

#include "cli/commands.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "http/node.hpp"
#include "standin.hpp"
#include "store/store.hpp"

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
double wait_for_app(apekesah::StandIn& app, std::int64_t id, const std::function<bool(const std::string&)>& pred,
                    Clock::time_point since) {
  while (ms_since(since) < 10'000) {
    if (pred(app.get(id))) return ms_since(since);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return -1;
}

int run_demo(const std::string& config_dir, const std::string& samples_path, bool keep_running) {
  for (const char* var : {"SIMPUL_ADMIN_TOKEN", "SIMPUL_DEMO_APEKESAH_WEBHOOK", "SIMPUL_DEMO_APEKESAH_CALLBACK"}) {
    if (std::getenv(var)) continue;
    std::string t = "demo-" + crypto::random_token(16);
    setenv(var, t.c_str(), 1);
  }
  const std::string admin = std::getenv("SIMPUL_ADMIN_TOKEN");
  const std::vector<http::Header> as_admin{{"authorization", "Bearer " + admin}};
  const char* ids[] = {"nasional", "provinsi-kepri", "kota-batam"};
  std::map<std::string, DemoNode> nodes;
  std::string data_dir;
  for (const char* id : ids) {
    Config cfg = load_config(config_dir + "/" + id + ".json");
    cfg.http.port = 0;  // free ports: the demo never collides with a node already running
    nodes[id].cfg = std::move(cfg);
    data_dir = std::filesystem::path(nodes[id].cfg.store.path).parent_path().string();
  }
  std::filesystem::create_directories(data_dir);
  for (const char* id : ids)
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(nodes[id].cfg.store.path + suffix);
  // Ape Kesah first: Batam's callback connector needs its port.
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(data_dir + "/apekesah.db" + suffix);
  apekesah::StandIn app({data_dir + "/apekesah.db", 0, "", "", std::getenv("SIMPUL_DEMO_APEKESAH_CALLBACK")});
  for (auto& c : nodes["kota-batam"].cfg.connectors) {
    auto at = c.settings.find("127.0.0.1:7710");
    if (at != std::string::npos) c.settings.replace(at, 14, "127.0.0.1:" + std::to_string(app.port()));
  }
  std::string log_path = data_dir + "/federation.log";
  auto log_file = std::make_shared<std::ofstream>(log_path, std::ios::trunc);
  log::set_sink([log_file](std::string_view line) { *log_file << line << '\n' << std::flush; });

  std::printf("== Simpul demo: a federation on loopback\n");
  // Parents first: each child's credential is issued by its parent, and its upstream points at
  // the port the parent actually got.
  std::string parent;
  for (const char* id : ids) {
    DemoNode& n = nodes[id];
    if (!parent.empty()) {
      DemoNode& p = nodes[parent];
      Store store(StoreOptions{p.cfg.store.path, true, 5000, true}, {});
      auto token = store.create_token("demo-" + std::string(id), "node", id, system_now_ms()).secret;
      std::string var = n.cfg.upstream.credential_ref.substr(4);
      setenv(var.c_str(), token.c_str(), 1);
      n.cfg.upstream.port = p.node->port();
      n.cfg.upstream.poll_wait_s = 20;
    }
    n.node = std::make_unique<Node>(n.cfg);
    n.node->start_background();
    n.client = std::make_unique<http::Client>("127.0.0.1", n.node->port(), 30'000);
    std::printf("   %-15s %-9s region %-6s http://127.0.0.1:%u%s%s\n", id, n.cfg.node.tier.c_str(),
                n.cfg.node.region.c_str(), n.node->port(), parent.empty() ? "" : "  upstream: ",
                parent.c_str());
    parent = id;
  }
  auto& batam = *nodes["kota-batam"].client;
  auto& kepri = *nodes["provinsi-kepri"].client;
  auto& top = *nodes["nasional"].client;
  app.set_webhook("http://127.0.0.1:" + std::to_string(nodes["kota-batam"].node->port()) + "/v1/ingest/apekesah",
                  std::getenv("SIMPUL_DEMO_APEKESAH_WEBHOOK"));
  std::printf("   %-15s %-9s           http://127.0.0.1:%u/api/aduan  webhook -> kota-batam\n", "ape-kesah", "app",
              app.port());

  // Where a complaint is, found by the app's id at a node.
  auto by_ref = [&](DemoNode& n, std::int64_t aduan) {
    Store store(StoreOptions{n.cfg.store.path, true, 5000, false}, {});
    return store.find_by_ref("apekesah", std::to_string(aduan)).value_or("");
  };
  std::printf("\n-- 1. Citizens submit to Ape Kesah; each aduan travels Ape Kesah -> Batam -> Kepri -> Nasional\n");
  std::vector<std::int64_t> aduan_ids;
  std::string first_aduan_complaint;
  {
    std::ifstream aduan_file(config_dir + "/apekesah-aduan.jsonl");
    std::string aduan;
    while (std::getline(aduan_file, aduan)) {
      if (aduan.empty()) continue;
      auto t0 = Clock::now();
      auto aid = app.submit(aduan);
      std::string cid;
      while (cid.empty() && ms_since(t0) < 10'000) {
        cid = by_ref(nodes["kota-batam"], aid);
        if (cid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      double at_batam = cid.empty() ? -1 : ms_since(t0);
      double at_top = cid.empty() ? -1 : wait_for(top, as_admin, cid, [](const std::string&) { return true; }, t0);
      if (first_aduan_complaint.empty()) first_aduan_complaint = cid;
      aduan_ids.push_back(aid);
      std::printf("   aduan %-3lld %-40.40s Batam %6.1f ms, Nasional %6.1f ms\n", static_cast<long long>(aid),
                  field(app.get(aid), "judul").c_str(), at_batam, at_top);
    }
  }
  if (!first_aduan_complaint.empty()) {
    std::printf("\n-- 2. Nasional answers aduan %lld and closes it; Ape Kesah shows each step to the citizen\n",
                static_cast<long long>(aduan_ids.front()));
    struct AppStep {
      const char* what;
      const char* body;
      const char* app_status;
    };
    const AppStep app_steps[] = {
        {"work starts (progressed)", R"({"kind":"progressed","actor":{"role":"agency","agency":"dinas-pu-batam"}})", "Proses"},
        {"answer (tindak lanjut)", R"({"kind":"responded","actor":{"role":"agency","agency":"dinas-pu-batam"},"payload":{"text":"Lubang sudah ditambal pada 22/11/2026."}})", "Proses"},
        {"close", R"({"kind":"closed","actor":{"role":"admin"},"payload":{"reason":"resolved"}})", "Selesai"},
    };
    for (const auto& s : app_steps) {
      auto t0 = Clock::now();
      auto r = top.request("POST", "/v1/complaints/" + first_aduan_complaint + "/events", s.body, as_admin);
      std::string want = s.app_status;
      std::string want_text = std::string(s.what).rfind("answer", 0) == 0 ? "Lubang sudah ditambal pada 22/11/2026." : "";
      double back = wait_for_app(app, aduan_ids.front(), [&](const std::string& a) {
        return field(a, "status") == want && (want_text.empty() || field(a, "tanggapan") == want_text);
      }, t0);
      std::printf("   %d  %-26s -> Ape Kesah shows \"%s\" after %6.1f ms\n", r.status, s.what, s.app_status, back);
    }
    auto shown = app.get(aduan_ids.front());
    std::printf("   the citizen sees in Ape Kesah: status \"%s\", tanggapan \"%s\"\n", field(shown, "status").c_str(),
                field(shown, "tanggapan").c_str());
  }

  std::ifstream samples(samples_path);
  if (!samples) throw ConfigError(samples_path, "", "cannot read the samples file");
  std::printf("\n-- 3. Other channels (web, WhatsApp desk) enter through Batam's API and travel up\n");
  std::vector<std::string> accepted;
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
    accepted.push_back(id);
    double at_kepri = wait_for(kepri, as_admin, id, [](const std::string&) { return true; }, t0);
    double at_top = wait_for(top, as_admin, id, [](const std::string&) { return true; }, t0);
    std::printf("   %-50.50s stored %5.1f ms, Kepri %6.1f ms, Nasional %6.1f ms\n",
                field(r.body, "title").c_str(), stored, at_kepri, at_top);
  }
  if (accepted.empty()) throw std::runtime_error("no sample complaint was accepted");

  const std::string id = accepted.front();
  std::printf("\n-- 4. The national tier decides on %s; each step travels back to Batam\n", id.c_str());
  struct Step {
    const char* what;
    const char* body;
    const char* status;
  };
  const Step steps[] = {
      {"verify", R"({"kind":"verified","actor":{"role":"admin","name":"Admin Nasional"}})", "verified"},
      {"dispose to Dinas PU Batam", R"({"kind":"disposed","actor":{"role":"admin"},"payload":{"agency":"dinas-pu-batam"}})", "disposed"},
      {"answer (tindak lanjut)", R"({"kind":"responded","actor":{"role":"agency","agency":"dinas-pu-batam"},"payload":{"text":"Perbaikan jalan dijadwalkan minggu depan."}})", "responded"},
      {"close", R"({"kind":"closed","actor":{"role":"admin"},"payload":{"reason":"resolved"}})", "closed"},
  };
  for (const auto& s : steps) {
    auto t0 = Clock::now();
    auto r = top.request("POST", "/v1/complaints/" + id + "/events", s.body, as_admin);
    std::string want = s.status;
    double back = wait_for(batam, as_admin, id, [&](const std::string& b) { return status_of(b) == want; }, t0);
    std::printf("   %d  %-28s -> Batam sees \"%s\" after %6.1f ms\n", r.status, s.what, s.status, back);
  }

  std::printf("\n-- 5. A complaint entered at the national tier for Batam's region reaches Batam\n");
  {
    auto t0 = Clock::now();
    auto r = top.request("POST", "/v1/complaints",
                         R"({"type":"permintaan_informasi","title":"Jadwal layanan KTP-el keliling di Batam","body":"Mohon jadwal.","channel":"lapor","region":"21.71"})",
                         as_admin);
    std::string nid = field(r.body, "id");
    double at_batam = wait_for(batam, as_admin, nid, [](const std::string&) { return true; }, t0);
    std::printf("   %d  entered at Nasional -> at Batam after %6.1f ms\n", r.status, at_batam);
  }

  std::printf("\n-- 6. Privacy: an anonim reporter never leaves Batam\n");
  {
    auto at_batam = batam.request("GET", "/v1/complaints/" + id, "", as_admin);
    auto at_top = top.request("GET", "/v1/complaints/" + id, "", as_admin);
    std::printf("   at Batam   : reporter %s\n", at_batam.body.find("\"reporter\"") != std::string::npos ? "present (pii scope)" : "absent");
    std::printf("   at Nasional: reporter %s\n", at_top.body.find("\"reporter\"") != std::string::npos ? "PRESENT" : "absent (never sent)");
  }

  std::printf("\nWhere to look:\n");
  for (const char* nid : ids)
    std::printf("   %-15s database %s, API http://127.0.0.1:%u/v1/complaints\n", nid,
                nodes[nid].cfg.store.path.c_str(), nodes[nid].node->port());
  std::printf("   %-15s database %s/apekesah.db, API http://127.0.0.1:%u/api/aduan\n", "ape-kesah", data_dir.c_str(),
              app.port());
  std::printf("   logs           %s (one JSON object per line, all three nodes)\n", log_path.c_str());
  std::printf("   try            curl -H 'Authorization: Bearer %s' http://127.0.0.1:%u/v1/complaints/%s\n",
              admin.c_str(), nodes["nasional"].node->port(), id.c_str());
  std::printf("   metrics        http://127.0.0.1:%u/metrics (simpul_upstream_*, simpul_outbox_depth)\n",
              nodes["kota-batam"].node->port());
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

}  // namespace simpul::cli
