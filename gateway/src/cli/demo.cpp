// `simpul demo`: a whole federation on loopback, in this process: the SP4N-LAPOR! simulator as
// the national hub, three nodes from the demo configs (provinsi-kepri with dialect lapor, and
// kota-batam and kab-bintan below it) on free ports, a stand-in for Batam's Ape Kesah app, and
// a throwaway MariaDB holding Bintan's e-Aduan app (a PHP app with only a database). Citizens
// submit to Ape Kesah; the aduan enter Batam by webhook and travel up to a hub tracking id; hub
// staff dispose, answer and close, and each step travels back down into Ape Kesah by callback.
// e-Aduan's rows are read from its table and the hub's answer is written back into it.
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
#include "db_servers.hpp"
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

std::string json_string(const std::string& v) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  return std::string(buf.GetString(), buf.GetSize());
}

// e-Aduan as a kabupaten's PHP vendor left it: an `aduan` table (naive DATETIME in WIB, status a
// small integer, the reporter's columns), a `tanggapan` table for answers, a user that may only
// read and one that may write what sql_write writes.
void setup_eaduan(connectors::sql::Connection& db) {
  for (const char* var : {"SIMPUL_DEMO_EADUAN_READER", "SIMPUL_DEMO_EADUAN_WRITER"})
    if (!std::getenv(var)) setenv(var, ("demo-" + crypto::random_token(12)).c_str(), 1);
  const std::string reader = std::getenv("SIMPUL_DEMO_EADUAN_READER");
  const std::string writer = std::getenv("SIMPUL_DEMO_EADUAN_WRITER");
  for (const std::string& statement :
       {std::string("CREATE DATABASE eaduan"),
        std::string("CREATE TABLE eaduan.aduan (id INT AUTO_INCREMENT PRIMARY KEY, judul "
                    "VARCHAR(200) NOT NULL, isi TEXT NOT NULL, lokasi VARCHAR(200), "
                    "nama_pelapor VARCHAR(100), telepon VARCHAR(20), status TINYINT NOT NULL "
                    "DEFAULT 0, dibuat DATETIME NOT NULL, diperbarui DATETIME NULL, INDEX "
                    "aduan_dibuat (dibuat, id), INDEX aduan_diperbarui (diperbarui, id))"),
        std::string("CREATE TABLE eaduan.tanggapan (id INT AUTO_INCREMENT PRIMARY KEY, "
                    "aduan_id INT NOT NULL, isi TEXT, dibuat DATETIME, simpul_event "
                    "VARCHAR(64) NOT NULL UNIQUE)"),
        "CREATE USER 'simpul_baca'@'localhost' IDENTIFIED BY '" + reader + "'",
        std::string("GRANT SELECT ON eaduan.aduan TO 'simpul_baca'@'localhost'"),
        "CREATE USER 'simpul_tulis'@'localhost' IDENTIFIED BY '" + writer + "'",
        std::string("GRANT SELECT, UPDATE ON eaduan.aduan TO 'simpul_tulis'@'localhost'"),
        std::string("GRANT INSERT ON eaduan.tanggapan TO 'simpul_tulis'@'localhost'"),
        // The app writes Batam's and Bintan's wall time (WIB) into its DATETIME columns.
        std::string("SET time_zone = '+07:00'")})
    db.execute(statement, {});
}

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
  // Parents before their children.
  std::vector<std::string> ids = {"provinsi-kepri", "kota-batam", "kab-bintan"};
  std::map<std::string, DemoNode> nodes;
  std::string data_dir;
  for (const auto& id : ids) {
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
    for (const auto& id : ids) {
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
  // e-Aduan's MariaDB: a throwaway server (Debian's mariadb-server) in a folder of its own under
  // the temporary directory (the server's user must be able to reach it), gone when the demo
  // ends. Without one, the demo goes on without Bintan.
  struct RemoveDir {  // after the server has stopped (declared first, destroyed last)
    std::string path;
    ~RemoveDir() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
  } eaduan_dir;
  std::unique_ptr<dbserver::DbServer> eaduan_db;
  std::unique_ptr<connectors::sql::Connection> eaduan;
  try {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "simpul-demo-eaduan-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot make a temporary folder");
    eaduan_dir.path = tmpl;
    eaduan_db = dbserver::start_mariadb(tmpl);
    eaduan = eaduan_db->admin();
    setup_eaduan(*eaduan);
    for (auto& c : nodes["kab-bintan"].cfg.connectors) {
      const std::string shipped = R"("socket":"/run/mysqld/mysqld.sock")";
      auto at = c.settings.find(shipped);
      if (at != std::string::npos)
        c.settings.replace(at, shipped.size(), R"("socket":)" + json_string(eaduan_db->socket()));
    }
  } catch (const std::exception& e) {
    std::printf("   (e-Aduan on MariaDB skipped: %s; apt-get install mariadb-server)\n", e.what());
    eaduan.reset();
    eaduan_db.reset();
    ids.pop_back();
    nodes.erase("kab-bintan");
  }
  std::string log_path = data_dir + "/federation.log";
  auto log_file = std::make_shared<std::ofstream>(log_path, std::ios::trunc);
  log::set_sink([log_file](std::string_view line) { *log_file << line << '\n' << std::flush; });

  std::printf(
      "== Simpul demo: Ape Kesah -> Batam and e-Aduan (MariaDB) -> Bintan -> Kepri -> SP4N-LAPOR! "
      "on loopback\n");
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
  for (const auto& id : ids) {
    DemoNode& n = nodes[id];
    const std::string parent = n.cfg.upstream.node == "lapor" ? "" : n.cfg.upstream.node;
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
    std::printf("   %-15s %-9s region %-6s http://127.0.0.1:%u  upstream: %s\n", id.c_str(),
                n.cfg.node.tier.c_str(), n.cfg.node.region.c_str(), n.node->port(),
                parent.empty() ? "SP4N-LAPOR! (dialect lapor)" : parent.c_str());
  }
  auto& batam = *nodes["kota-batam"].client;
  auto& kepri = *nodes["provinsi-kepri"].client;
  app.set_webhook("http://127.0.0.1:" + std::to_string(nodes["kota-batam"].node->port()) +
                      "/v1/ingest/apekesah",
                  std::getenv("SIMPUL_DEMO_APEKESAH_WEBHOOK"));
  std::printf("   %-15s %-9s           http://127.0.0.1:%u/api/aduan  webhook -> kota-batam\n",
              "ape-kesah", "app", app.port());
  if (eaduan_db)
    std::printf("   %-15s %-9s           MariaDB %s  sql_poll/sql_write <-> kab-bintan\n",
                "e-aduan", "app", eaduan_db->socket().c_str());

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

  if (eaduan) {
    std::printf(
        "\n-- 3. Bintan's e-Aduan has only a MariaDB database: Simpul reads its table and writes "
        "the\n      hub's answer back into it (e-Aduan -> Bintan -> Kepri -> SP4N-LAPOR! and "
        "back)\n");
    auto row = [&](const std::string& sql) {
      auto r = eaduan->query(sql, {});
      return r.rows.empty() || !r.rows[0][0] ? std::string() : *r.rows[0][0];
    };
    std::int64_t first_nid = 0;
    std::string first_row;
    const char* aduan[][3] = {{"Jembatan kayu di Desa Berakit lapuk",
                               "Papan jembatan banyak yang patah, berbahaya "
                               "bagi anak sekolah.",
                               "Desa Berakit, Teluk Sebong"},
                              {"Air PDAM tidak mengalir tiga hari",
                               "Sejak Senin air tidak mengalir di Perumahan "
                               "Griya Bintan.",
                               "Kijang, Bintan Timur"}};
    for (const auto& a : aduan) {
      auto t0 = Clock::now();
      eaduan->execute(
          "INSERT INTO eaduan.aduan (judul, isi, lokasi, nama_pelapor, telepon, dibuat) VALUES "
          "(:j, :i, :l, 'Warga Bintan', '081234567890', NOW())",
          {{"j", a[0]}, {"i", a[1]}, {"l", a[2]}});
      const std::string rid = row("SELECT MAX(id) FROM eaduan.aduan");
      std::string cid;
      while (cid.empty() && ms_since(t0) < 15'000) {
        cid = by_ref(nodes["kab-bintan"], "eaduan", rid);
        if (cid.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      const double at_bintan = cid.empty() ? -1 : ms_since(t0);
      const double at_kepri =
          cid.empty() ? -1
                      : wait_for(
                            kepri, as_admin, cid, [](const std::string&) { return true; }, t0);
      double at_hub = -1;
      const std::int64_t nid = cid.empty() ? 0 : tracking_id(cid, t0, at_hub);
      if (first_row.empty()) {
        first_row = rid;
        first_nid = nid;
      }
      std::printf("   row %-4s %-34.34s Bintan %6.1f ms, Kepri %6.1f ms, LAPOR! #%lld %6.1f ms\n",
                  rid.c_str(), a[0], at_bintan, at_kepri, static_cast<long long>(nid), at_hub);
    }
    if (first_nid > 0) {
      // The hub's staff dispose it to Bintan's public works agency, which answers; then LAPOR!
      // closes it. Each decision lands in e-Aduan's own tables.
      struct EStep {
        const char* what;
        const char* action;
        const char* body;
        const char* app_status;
        bool answer;
      };
      const EStep steps[] = {
          {"dispose to Dinas PUPR", "dispose", R"({"agency":"dinas-pupr-bintan"})", "2", false},
          {"answer (tindak lanjut)", "answer",
           R"({"agency":"dinas-pupr-bintan","text":"Papan jembatan diganti minggu ini oleh Dinas PUPR."})",
           "3", true},
          {"close", "close", "{}", "4", false},
      };
      for (const auto& st : steps) {
        auto t0 = Clock::now();
        const int code = hub_act(first_nid, st.action, st.body);
        double back = -1;
        while (ms_since(t0) < 15'000) {
          if (row("SELECT status FROM eaduan.aduan WHERE id = " + first_row) == st.app_status &&
              (!st.answer ||
               row("SELECT COUNT(*) FROM eaduan.tanggapan WHERE aduan_id = " + first_row) == "1")) {
            back = ms_since(t0);
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::printf("   %d  %-26s -> e-Aduan's row: status %s%s after %6.1f ms\n", code, st.what,
                    st.app_status, st.answer ? " and the answer" : "", back);
      }
      std::printf("   e-Aduan's tables now: aduan.status %s, tanggapan \"%s\"\n",
                  row("SELECT status FROM eaduan.aduan WHERE id = " + first_row).c_str(),
                  row("SELECT isi FROM eaduan.tanggapan WHERE aduan_id = " + first_row).c_str());
    }
  }

  std::ifstream samples(samples_path);
  if (!samples) throw ConfigError(samples_path, "", "cannot read the samples file");
  std::printf(
      "\n-- 4. Other channels (web, WhatsApp desk) enter through Batam's API and travel up\n");
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
      "\n-- 5. LAPOR! disposes %s; the province answers it (up to LAPOR! as a claim, down to "
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

  std::printf("\n-- 6. Privacy: an anonim reporter never leaves Batam\n");
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
  for (const auto& nid_name : ids)
    std::printf("   %-15s database %s, API http://127.0.0.1:%u/v1/complaints\n", nid_name.c_str(),
                nodes[nid_name].cfg.store.path.c_str(), nodes[nid_name].node->port());
  if (eaduan_db)
    std::printf("   %-15s MariaDB socket %s (mariadb -S ... -u root eaduan)\n", "e-aduan",
                eaduan_db->socket().c_str());
  std::printf("   %-15s database %s, admin view http://127.0.0.1:%u/admin/streams\n", "SP4N-LAPOR!",
              sim_cfg.store_path.c_str(), sim.port());
  std::printf("   %-15s database %s/apekesah.db, API http://127.0.0.1:%u/api/aduan\n", "ape-kesah",
              data_dir.c_str(), app.port());
  std::printf("   logs           %s (one JSON object per line, every node)\n", log_path.c_str());
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
