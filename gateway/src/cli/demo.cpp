// `simpul demo`: starts one node on loopback with the demo config, feeds it the sample
// complaints, takes a few officer actions, and prints what happened and where to look.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <csignal>
#include <pthread.h>

#include "cli/commands.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "http/node.hpp"
#include "store/store.hpp"

namespace simpul::cli {
namespace {

std::string field(const std::string& body, const char* key) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject()) return "";
  return json::get_string(*doc, key);
}

std::string nested(const std::string& body, const char* obj, const char* key) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject() || !doc->HasMember(obj)) return "";
  return json::get_string((*doc)[obj], key);
}

}  // namespace

int run_demo(const std::string& config_path, const std::string& samples_path, bool keep_running) {
  if (!std::getenv("SIMPUL_ADMIN_TOKEN")) {
    std::string t = "demo-admin-" + crypto::random_token(12);
    setenv("SIMPUL_ADMIN_TOKEN", t.c_str(), 1);
  }
  const std::string admin = std::getenv("SIMPUL_ADMIN_TOKEN");
  Config cfg = load_config(config_path);
  std::filesystem::path db(cfg.store.path);
  std::filesystem::create_directories(db.parent_path());
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(cfg.store.path + suffix);
  std::string log_path = (db.parent_path() / (cfg.node.id + ".log")).string();
  auto log_file = std::make_shared<std::ofstream>(log_path, std::ios::trunc);
  log::set_sink([log_file](std::string_view line) { *log_file << line << '\n' << std::flush; });

  std::printf("== Simpul demo: node %s (%s, region %s, %s)\n", cfg.node.id.c_str(),
              cfg.node.tier.c_str(), cfg.node.region.c_str(), cfg.node.zone.name.c_str());
  std::string reader_token;
  {
    Store store(StoreOptions{cfg.store.path, cfg.store.synchronous_full, cfg.store.busy_timeout_ms, true}, {});
    store.begin();
    reader_token = store.create_token("demo-dashboard", "read", "", system_now_ms()).secret;
    store.commit();
  }
  Node node(cfg);
  node.start_background();
  const auto port = node.port();
  std::printf("   listening on http://%s:%u, store %s\n\n", cfg.http.host.c_str(), port, cfg.store.path.c_str());

  http::Client client(cfg.http.host, port);
  std::vector<http::Header> as_admin{{"authorization", "Bearer " + admin}};
  std::ifstream samples(samples_path);
  if (!samples) throw ConfigError(samples_path, "", "cannot read the samples file");

  std::printf("-- 1. Citizens' complaints arrive (POST /v1/complaints, Idempotency-Key = source id)\n");
  std::vector<std::string> ids;
  std::string line, first_line;
  int n = 0;
  while (std::getline(samples, line)) {
    if (line.empty()) continue;
    ++n;
    if (first_line.empty()) first_line = line;
    auto headers = as_admin;
    headers.push_back({"idempotency-key", "demo-sample-" + std::to_string(n)});
    auto r = client.request("POST", "/v1/complaints", line, headers);
    if (r.status == 201) {
      ids.push_back(field(r.body, "id"));
      std::printf("   %d  %-58.58s -> %s, verify by %s\n", r.status, field(r.body, "title").c_str(),
                  field(r.body, "status").c_str(), nested(r.body, "deadlines", "verify_due").c_str());
    } else {
      std::printf("   %d  rejected: %s (%s)\n", r.status, field(r.body, "detail").c_str(),
                  field(r.body, "pointer").c_str());
    }
  }

  std::printf("\n-- 2. The same complaint sent again (a retry) is answered, not stored twice\n");
  {
    auto headers = as_admin;
    headers.push_back({"idempotency-key", "demo-sample-1"});
    auto r = client.request("POST", "/v1/complaints", first_line, headers);
    std::printf("   %d  same id: %s\n", r.status, field(r.body, "id") == ids.front() ? "yes" : "NO");
  }

  if (ids.empty()) throw std::runtime_error("no sample complaint was accepted");
  const std::string id = ids.front();
  std::printf("\n-- 3. Officers act on %s\n", id.c_str());
  struct Step {
    const char* what;
    const char* body;
  };
  const Step steps[] = {
      {"verify", R"({"kind":"verified","actor":{"role":"admin","name":"Admin Diskominfo"}})"},
      {"dispose to Dinas PU", R"({"kind":"disposed","actor":{"role":"admin"},"payload":{"agency":"dinas-pu-batam"}})"},
      {"close before any answer", R"({"kind":"closed","actor":{"role":"admin"}})"},
      {"answer (tindak lanjut)", R"({"kind":"responded","actor":{"role":"agency","agency":"dinas-pu-batam"},"payload":{"text":"Perbaikan jalan dijadwalkan minggu depan."}})"},
      {"close", R"({"kind":"closed","actor":{"role":"admin"},"payload":{"reason":"resolved"}})"},
  };
  for (const auto& s : steps) {
    auto r = client.request("POST", "/v1/complaints/" + id + "/events", s.body, as_admin);
    if (r.status == 201) {
      auto doc = json::parse(r.body);
      const auto& c = (*doc)["complaint"];
      std::string due = c["deadlines"].HasMember("followup_due") ? "follow-up by " + json::get_string(c["deadlines"], "followup_due")
                      : c["deadlines"].HasMember("autoclose_due") ? "auto-close on " + json::get_string(c["deadlines"], "autoclose_due")
                      : "";
      std::printf("   %d  %-26s -> %s %s\n", r.status, s.what, json::get_string(c, "status").c_str(), due.c_str());
    } else {
      std::printf("   %d  %-26s -> refused: %s\n", r.status, s.what, field(r.body, "detail").c_str());
    }
  }

  std::printf("\n-- 4. Privacy: the reporter is visible only with the pii scope\n");
  {
    auto r1 = client.request("GET", "/v1/complaints/" + ids.front(), "", as_admin);
    auto r2 = client.request("GET", "/v1/complaints/" + ids.front(), "", {{"authorization", "Bearer " + reader_token}});
    std::printf("   admin token (pii): reporter %s\n", r1.body.find("\"reporter\"") != std::string::npos ? "shown" : "absent");
    std::printf("   read-only token  : reporter %s\n", r2.body.find("\"reporter\"") != std::string::npos ? "SHOWN" : "absent");
  }

  auto list = client.request("GET", "/v1/complaints?limit=100", "", as_admin);
  auto listed = json::parse(list.body);
  std::printf("\n-- 5. Stored: %u complaints\n", listed ? (*listed)["items"].Size() : 0u);
  auto metrics = client.request("GET", "/metrics", "");
  std::istringstream ms(metrics.body);
  while (std::getline(ms, line))
    if (line.rfind("simpul_ingest_total", 0) == 0 || line.rfind("simpul_commit_batches", 0) == 0)
      std::printf("   %s\n", line.c_str());

  std::printf("\nWhere to look:\n");
  std::printf("   database : %s  (sqlite3 %s 'select status, count(*) from complaints group by 1')\n",
              cfg.store.path.c_str(), cfg.store.path.c_str());
  std::printf("   logs     : %s (one JSON object per line)\n", log_path.c_str());
  std::printf("   API      : curl -H 'Authorization: Bearer %s' http://%s:%u/v1/complaints/%s\n",
              admin.c_str(), cfg.http.host.c_str(), port, id.c_str());
  std::printf("   metrics  : http://%s:%u/metrics\n", cfg.http.host.c_str(), port);
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
  node.stop();
  std::printf("\nDemo finished.\n");
  return 0;
}

}  // namespace simpul::cli
