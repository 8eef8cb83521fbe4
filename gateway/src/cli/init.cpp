// `simpul init`: a first config that `simpul check` passes and `simpul serve` runs. Asks for
// what it was not given (on a terminal, or with --ask), writes the config, the secrets it names
// (mode 0600) and the store folder, and says what it wrote and what comes next. Nothing is
// half-written: the config is checked by the same loader `serve` uses before anything else is
// created, and what init created is removed again when a later step fails.

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/command.hpp"
#include "core/crypto.hpp"
#include "core/files.hpp"
#include "core/seal.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {
namespace {

namespace fs = std::filesystem;

struct InitOptions {
  std::shared_ptr<std::string> config = std::make_shared<std::string>();
  std::string tier, region, node_id, name, zone, listen = "127.0.0.1:8080";
  std::string store_dir = "/var/lib/simpul";
  std::string parent_url, parent_node, parent_token_file, parent_ca;
  std::string calendar;
  std::string user;
  bool force = false;
  bool ask = false;
};

// The shipped national calendar, where the package puts it.
constexpr const char* kPackagedCalendar = "/usr/share/simpul/calendars/id.json";

std::string prompt(const std::string& question, const std::string& fallback, bool secret = false) {
  std::cerr << question << (fallback.empty() ? "" : " [" + fallback + "]") << ": " << std::flush;
  termios saved{};
  bool hide = secret && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (hide) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (hide) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!got) throw std::runtime_error("no answer to \"" + question + "\" (stdin ended)");
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line.empty() ? fallback : line;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

bool is_loopback_listen(const std::string& listen) {
  return listen.rfind("127.", 0) == 0 || listen.rfind("localhost:", 0) == 0 ||
         listen.rfind("[::1]:", 0) == 0;
}

std::string config_text(const InitOptions& o, const std::string& calendar,
                        const std::string& token_dir) {
  std::string t;
  t += "// Written by `simpul init`. Every key and its default: simpul.example.json\n";
  t += "// (/usr/share/doc/simpul/ or config/ in the source). Check with: simpul check\n";
  t += "{\n";
  t += "  \"node\": {\"id\": " + json_string(o.node_id) +
       ", \"name\": " + json_string(o.name.empty() ? o.node_id : o.name) +
       ", \"tier\": " + json_string(o.tier) + ",\n           \"region\": " + json_string(o.region) +
       ", \"timezone\": " + json_string(o.zone) + "},\n";
  t += "  // Reporters' identities are sealed under store-key: keep a copy apart from the "
       "backups.\n";
  t += "  \"store\": {\"path\": " + json_string((fs::path(o.store_dir) / "simpul.db").string()) +
       ",\n            \"encryption_key\": " + json_string("file:" + token_dir + "/store-key") +
       "},\n";
  t += "  // Plain HTTP on loopback: put TLS in front (docs/operations.md, nginx) or set "
       "http.tls.\n";
  t += "  \"http\": {\"listen\": " + json_string(o.listen) + "},\n";
  t +=
      "  \"auth\": {\"admin_token\": " + json_string("file:" + token_dir + "/admin-token") + "},\n";
  if (!calendar.empty())
    t += "  \"sla\": {\"holidays_file\": " + json_string(calendar) + "},\n";
  else
    t += "  // No holiday calendar: deadlines count weekends only. Add sla.holidays_file.\n";
  if (!o.parent_url.empty()) {
    t += "  \"upstream\": {\"url\": " + json_string(o.parent_url) +
         ", \"node\": " + json_string(o.parent_node) + ",\n";
    if (!o.parent_ca.empty())
      t += "               \"ca_file\": " + json_string(o.parent_ca) + ",\n";
    t += "               \"credential\": " + json_string("file:" + token_dir + "/upstream-token") +
         "},\n";
  }
  t += "  \"log\": {\"level\": \"info\"}\n";
  t += "}\n";
  return t;
}

int run_init(InitOptions o) {
  const bool interactive = o.ask || ::isatty(STDIN_FILENO);
  auto need = [&](std::string& value, const std::string& question,
                  const std::string& fallback = "") {
    if (!value.empty()) return;
    if (interactive) value = prompt(question, fallback);
    if (value.empty() && !fallback.empty()) value = fallback;
  };
  need(o.tier, "Tier (kabkota, provinsi, nasional)", "kabkota");
  need(o.region, "Kemendagri region code (21.71 for Kota Batam, 21 for Kepri)");
  need(o.node_id, "Node id (lowercase, digits, dashes; e.g. kota-batam)");
  need(o.zone, "Time zone (WIB, WITA, WIT or Asia/Jakarta ...)", "Asia/Jakarta");
  if (o.tier != "nasional" && o.parent_url.empty() && interactive)
    o.parent_url = prompt("Parent node URL (blank: none yet)", "");
  if (!o.parent_url.empty()) {
    need(o.parent_node, "Parent's node id (e.g. provinsi-kepri)");
    if (o.parent_token_file.empty() && interactive)
      o.parent_token_file = "-";  // asked below, without echo
  }
  std::string missing;
  for (auto [value, flag] : {std::pair{&o.region, "--region"}, std::pair{&o.node_id, "--node-id"},
                             std::pair{&o.tier, "--tier"}, std::pair{&o.zone, "--zone"}})
    if (value->empty()) missing += std::string(missing.empty() ? "" : ", ") + flag;
  if (!o.parent_url.empty() && o.parent_node.empty())
    missing += std::string(missing.empty() ? "" : ", ") + "--parent-node";
  if (!o.parent_url.empty() && o.parent_token_file.empty())
    missing += std::string(missing.empty() ? "" : ", ") + "--parent-token-file";
  if (!missing.empty()) {
    std::fprintf(stderr, "simpul init: missing %s (or run it on a terminal to be asked)\n",
                 missing.c_str());
    return kUsage;
  }
  if (o.tier == "nasional" && !o.parent_url.empty()) {
    std::fprintf(stderr, "simpul init: the nasional tier has no parent (drop --parent-url)\n");
    return kUsage;
  }
  if (!is_loopback_listen(o.listen)) {
    std::fprintf(stderr,
                 "simpul init: %s is not a loopback address; init writes a plain-HTTP node for a "
                 "TLS proxy on the same host (docs/operations.md). Listen on 127.0.0.1 and put "
                 "nginx in front, or add http.tls to the config afterwards.\n",
                 o.listen.c_str());
    return kUsage;
  }

  const fs::path config_path = fs::absolute(*o.config).lexically_normal();
  const fs::path dir = config_path.parent_path();
  const fs::path secrets = dir / "secrets";
  if (fs::exists(config_path) && !o.force) {
    std::fprintf(stderr, "simpul init: %s exists; it is kept (--force writes a new one)\n",
                 config_path.c_str());
    return kUsage;
  }
  std::string calendar = o.calendar;
  if (calendar.empty() && fs::exists(kPackagedCalendar)) calendar = kPackagedCalendar;
  if (calendar == "none") calendar.clear();
  if (!calendar.empty()) calendar = fs::absolute(calendar).lexically_normal().string();
  if (!o.parent_ca.empty()) o.parent_ca = fs::absolute(o.parent_ca).lexically_normal().string();
  o.store_dir = fs::absolute(o.store_dir).lexically_normal().string();

  // Who the service runs as: root writes files the `simpul` system user (the package's) can read.
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  std::string user = o.user;
  if (user.empty() && ::geteuid() == 0 && ::getpwnam("simpul")) user = "simpul";
  if (!user.empty()) {
    const passwd* pw = ::getpwnam(user.c_str());
    if (!pw) {
      std::fprintf(stderr, "simpul init: there is no user %s (--user)\n", user.c_str());
      return kUsage;
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }

  // The config first, checked by the loader `serve` uses, before anything is created.
  std::string text = config_text(o, calendar, secrets.string());
  std::error_code ec;
  bool made_dir = !fs::exists(dir);
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
  const std::string staged = config_path.string() + ".new";
  std::vector<fs::path> created;  // removed again if a later step fails
  auto undo = [&] {
    for (auto it = created.rbegin(); it != created.rend(); ++it) fs::remove(*it, ec);
    fs::remove(staged, ec);
    if (made_dir) fs::remove(dir, ec);
  };
  try {
    write_file_atomically(staged, text, 0640);
    try {
      (void)load_node_config(staged);
    } catch (const ConfigError& e) {
      std::fprintf(stderr, "simpul init: the answers make a config that does not load: %s: %s\n",
                   e.pointer().empty() ? "(document)" : e.pointer().c_str(), e.reason().c_str());
      undo();
      return kConfig;
    }
    std::string parent_token;
    if (o.parent_token_file == "-") {
      parent_token = prompt("Node token the parent issued (simpul token create --node " +
                                o.node_id + " on the parent)",
                            "", true);
      if (parent_token.empty()) throw std::runtime_error("no parent token given");
    } else if (!o.parent_token_file.empty()) {
      std::ifstream in(o.parent_token_file, std::ios::binary);
      if (!in)
        throw std::runtime_error(cannot_read(o.parent_token_file) + " (--parent-token-file)");
      std::getline(in, parent_token);
      while (!parent_token.empty() && (parent_token.back() == '\r' || parent_token.back() == ' '))
        parent_token.pop_back();
      if (parent_token.empty())
        throw std::runtime_error(o.parent_token_file + " is empty (--parent-token-file)");
    }

    if (!fs::exists(secrets)) {
      fs::create_directories(secrets);
      created.push_back(secrets);
    }
    ::chmod(secrets.c_str(), 0700);
    auto secret = [&](const std::string& name, const std::string& value, const char* what) {
      fs::path p = secrets / name;
      // Never replaced: a new store key would leave what the old one sealed unreadable.
      if (fs::exists(p) && (name == "admin-token" || name == "store-key")) {
        std::printf("  %-40s kept (%s)\n", p.c_str(), what);
        return;
      }
      bool existed = fs::exists(p);
      write_file_atomically(p.string(), value + "\n", 0600);
      if (!existed) created.push_back(p);
      if (uid != static_cast<uid_t>(-1) && ::chown(p.c_str(), uid, gid) != 0)
        throw std::runtime_error("cannot give " + p.string() + " to " + user);
      std::printf("  %-40s %s (0600)\n", p.c_str(), what);
    };
    std::printf("simpul init: writing\n");
    secret("admin-token", crypto::random_token(32),
           "the admin token: the dashboard's and the API's first login");
    if (!parent_token.empty()) secret("upstream-token", parent_token, "the parent's node token");
    secret("store-key", crypto::seal_key_text(crypto::generate_seal_key()).substr(0, 64),
           "the store key: reporters' identities are sealed under it");
    if (uid != static_cast<uid_t>(-1) && ::chown(secrets.c_str(), uid, gid) != 0)
      throw std::runtime_error("cannot give " + secrets.string() + " to " + user);

    if (!fs::exists(o.store_dir)) {
      fs::create_directories(o.store_dir);
      created.push_back(o.store_dir);
    }
    ::chmod(o.store_dir.c_str(), 0700);
    if (uid != static_cast<uid_t>(-1) && ::chown(o.store_dir.c_str(), uid, gid) != 0)
      throw std::runtime_error("cannot give " + o.store_dir + " to " + user);
    std::printf("  %-40s the store folder (0700%s)\n", (o.store_dir + "/").c_str(),
                user.empty() ? "" : (", owner " + user).c_str());

    if (uid != static_cast<uid_t>(-1) && ::chown(staged.c_str(), 0, gid) != 0)
      throw std::runtime_error("cannot give " + staged + " to group " + user);
    fs::rename(staged, config_path);
    std::printf("  %-40s the config (%s %s, region %s, %s)\n", config_path.c_str(), o.tier.c_str(),
                o.node_id.c_str(), o.region.c_str(), o.zone.c_str());
  } catch (...) {
    undo();
    throw;
  }
  if (calendar.empty())
    std::printf("note: no holiday calendar (deadlines count weekends only); --calendar FILE\n");
  std::string flag = config_path == fs::path(kDefaultConfigPath)
                         ? std::string()
                         : " --config " + config_path.string();
  std::printf("next:\n  simpul check%s\n  systemctl enable --now simpul   (or: simpul serve%s)\n",
              flag.c_str(), flag.c_str());
  return kOk;
}

}  // namespace

void add_init(CLI::App& app, Commands& out) {
  auto o = std::make_shared<InitOptions>();
  auto* init = app.add_subcommand("init", "Write a first config, its secrets and the store folder");
  config_option(init, o->config);
  init->add_option("--tier", o->tier, "kabkota, provinsi or nasional")
      ->check(CLI::IsMember({"kabkota", "provinsi", "nasional"}));
  init->add_option("--region", o->region, "Kemendagri region code (21.71, 21)");
  init->add_option("--node-id", o->node_id, "This node's id (kota-batam)");
  init->add_option("--name", o->name, "A name people read (default: the id)");
  init->add_option("--zone", o->zone, "WIB, WITA, WIT or Asia/Jakarta ... (default Asia/Jakarta)");
  init->add_option("--listen", o->listen, "host:port (default 127.0.0.1:8080)");
  init->add_option("--store-dir", o->store_dir, "The store folder (default /var/lib/simpul)");
  init->add_option("--parent-url", o->parent_url, "The parent node's https:// URL");
  init->add_option("--parent-node", o->parent_node, "The parent's node id");
  init->add_option("--parent-token-file", o->parent_token_file,
                   "A file holding the node token the parent issued (- asks for it)");
  init->add_option("--parent-ca", o->parent_ca, "CA file the parent's certificate chains to");
  init->add_option("--calendar", o->calendar,
                   std::string("Holiday calendar (default ") + kPackagedCalendar +
                       " when installed; none: weekends only)");
  init->add_option("--user", o->user,
                   "Give the secrets and the store folder to this user (default: simpul, as root)");
  init->add_flag("--force", o->force, "Replace an existing config (secrets there are kept)");
  init->add_flag("--ask", o->ask, "Ask for what is missing even when stdin is not a terminal");
  out.push_back({init, [o] { return run_init(*o); }});
}

}  // namespace simpul::cli
