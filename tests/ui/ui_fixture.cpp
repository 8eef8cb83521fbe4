// What the dashboard's browser tests run against (tests/ui/dashboard.test.mjs): a real
// two-tier federation on loopback, in this process. The Ape Kesah stand-in; Provinsi Kepri
// (with Kota Batam as its child); Kota Batam below it, taking Ape Kesah's aduan by webhook and
// sending decisions back by callback. Both nodes serve the dashboard. Tokens for the officers
// the tests log in as are made in Batam's store, as `simpul token create` makes them.
//
//   ui_fixture DIR      (DIR: an empty folder the caller made and removes)
//
// Prints one JSON line with the addresses and tokens once everything listens, then serves until
// its standard input closes or it is sent SIGTERM.

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "core/json.hpp"
#include "core/log.hpp"
#include "node/node.hpp"
#include "node/uplinks.hpp"
#include "standin.hpp"
#include "store/sqlite/sqlite_store.hpp"

using namespace simpul;

namespace {

const char* kAdmin = "ui-admin-token-0123456789abcdef";
const char* kWebhook = "ui-apekesah-webhook-secret-0123456789";
const char* kCallback = "ui-apekesah-callback-secret-0123456789";

std::string source(const char* rel) { return std::string(SIMPUL_SOURCE_DIR) + "/" + rel; }

Config node_config(const std::string& dir, const std::string& id, const std::string& tier,
                   const std::string& region, const std::string& extra) {
  std::string text = R"({
    "node": {"id": ")" +
                     id + R"(", "name": "Simpul )" +
                     (tier == "provinsi" ? "Provinsi Kepri" : "Kota Batam") + R"(", "tier": ")" +
                     tier + R"(", "region": ")" + region +
                     R"(", "timezone": "WIB"},
    "store": {"path": ")" +
                     dir + "/" + id + R"(.db"},
    "http": {"listen": "127.0.0.1:0"},
    "auth": {"admin_token": "env:SIMPUL_UI_ADMIN"},
    "sla": {"holidays_file": ")" +
                     source("config/calendars/id.json") + R"("},
    "reference": {"agencies": ")" +
                     source("config/reference/agencies.json") + R"("},
    )" + extra + R"(
    "log": {"level": "info"}
  })";
  std::ofstream(dir + "/" + id + ".json") << text;
  return parse_node_config(text, dir + "/" + id + ".json", dir);
}

std::string token(const std::string& db, const std::string& name, const std::string& scopes,
                  const std::string& node_id, const std::string& agencies) {
  SqliteStore s(StoreOptions{db, true, 5000, false});  // tokens only: no events read
  return s.create_token(name, scopes, node_id, system_now_ms(), agencies).secret;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: ui_fixture DIR\n");
    return 64;
  }
  const std::string dir = argv[1];
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // every thread after this one too
  setenv("SIMPUL_UI_ADMIN", kAdmin, 1);
  setenv("SIMPUL_UI_WEBHOOK", kWebhook, 1);
  setenv("SIMPUL_UI_CALLBACK", kCallback, 1);
  auto log_file = std::make_shared<std::ofstream>(dir + "/nodes.log");
  log::set_sink([log_file](std::string_view line) { *log_file << line << '\n' << std::flush; });

  apekesah::StandIn app({dir + "/apekesah.db", 0, "", kWebhook, kCallback});
  // "verify": the conflict test posts a child's event it makes up, unsigned; Batam's own pushes
  // are signed and verified all the same.
  Node kepri(node_config(dir, "provinsi-kepri", "provinsi", "21",
                         R"("federation": {"signatures": "verify"},
                         "children": [{"id": "kota-batam", "regions": ["21.71"]}],)"));
  kepri.start_background();
  setenv("SIMPUL_UI_UPSTREAM",
         token(kepri.config().store.path, "kota-batam", "node", "kota-batam", "").c_str(), 1);
  const std::string mapping = source("config/mappings/apekesah.json");
  Node batam(node_config(
      dir, "kota-batam", "kabkota", "21.71",
      R"("upstream": {"url": "http://127.0.0.1:)" + std::to_string(kepri.port()) +
          R"(", "node": "provinsi-kepri", "credential": "env:SIMPUL_UI_UPSTREAM", "poll_wait_s": 2},
    "connectors": [
      {"id": "apekesah", "type": "webhook", "mapping": ")" +
          mapping + R"(", "settings": {"secret": "env:SIMPUL_UI_WEBHOOK"}},
      {"id": "apekesah-balik", "type": "callback", "mapping": ")" +
          mapping + R"(", "settings": {"url": "http://127.0.0.1:)" + std::to_string(app.port()) +
          R"(/simpul/callback", "secret": "env:SIMPUL_UI_CALLBACK"}}],)"));
  batam.start_background();
  app.set_webhook("http://127.0.0.1:" + std::to_string(batam.port()) + "/v1/ingest/apekesah",
                  kWebhook);

  const std::string db = batam.config().store.path;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  auto kv = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str());
  };
  kv("batam", "http://127.0.0.1:" + std::to_string(batam.port()));
  kv("kepri", "http://127.0.0.1:" + std::to_string(kepri.port()));
  kv("apekesah", "http://127.0.0.1:" + std::to_string(app.port()));
  kv("admin", kAdmin);
  kv("officer_pu", token(db, "Petugas Dinas PU", "read,act", "", "dinas-pu-batam"));
  kv("officer_dukcapil", token(db, "Petugas Disdukcapil", "read,act", "", "disdukcapil-batam"));
  kv("reader", token(db, "Pemantau", "read", "", ""));
  kv("node_token", std::getenv("SIMPUL_UI_UPSTREAM"));
  kv("log", dir + "/nodes.log");
  w.EndObject();
  std::printf("%s\n", buf.GetString());
  std::fflush(stdout);

  // Until the test closes our standard input, or stops us.
  std::thread stdin_watch([] {
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    kill(getpid(), SIGTERM);
  });
  stdin_watch.detach();
  int sig = 0;
  sigwait(&set, &sig);
  batam.stop();
  kepri.stop();
  return 0;
}
