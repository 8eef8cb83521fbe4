// `simpul check`: validate a config file and everything it references, as the node would at
// start, without starting it.

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "cli/command.hpp"
#include "intake/registry.hpp"
#include "node/node.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {
namespace {

// The store's folder must be there and writable by this user (serve creates the file, its WAL
// and its backups' markers there); an existing database must be writable too.
void check_store_folder(const Config& cfg) {
  const std::string& path = cfg.store.path;
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return;
  const std::filesystem::path folder = std::filesystem::absolute(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(folder, ec))
    throw ConfigError(cfg.file, "/store/path",
                      "the folder " + folder.string() +
                          " does not exist: create it, owned by the user the node runs as");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw ConfigError(
        cfg.file, "/store/path",
        "the folder " + folder.string() + " is not writable by this user: " + std::strerror(errno));
  if (std::filesystem::exists(path, ec) && ::access(path.c_str(), R_OK | W_OK) != 0)
    throw ConfigError(cfg.file, "/store/path",
                      path + " cannot be read and written by this user: " + std::strerror(errno));
}

// Whether the listen address can be bound: an address not on this machine or a port this user
// may not open is a config error; one in use now is said (a running node holds its own) and
// left to `serve`.
void check_listen(const Config& cfg) {
  if (cfg.http.port == 0) return;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string where = cfg.http.host + ":" + std::to_string(cfg.http.port);
  if (::getaddrinfo(cfg.http.host.c_str(), std::to_string(cfg.http.port).c_str(), &hints, &found) !=
          0 ||
      !found)
    throw ConfigError(cfg.file, "/http/listen", "cannot resolve " + cfg.http.host);
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const int rc = fd < 0 ? -1 : ::bind(fd, found->ai_addr, found->ai_addrlen);
  const int err = errno;
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(found);
  if (rc == 0) return;
  if (err == EADDRINUSE) {
    std::printf("note: %s is in use now (a node already running?); serve needs it free\n",
                where.c_str());
    return;
  }
  throw ConfigError(cfg.file, "/http/listen",
                    "cannot listen on " + where + ": " + std::strerror(err));
}

}  // namespace

void add_check(CLI::App& app, Commands& out) {
  auto config = std::make_shared<std::string>();
  auto* check = app.add_subcommand("check", "Validate a config file (and what it references)");
  config_option(check, config);
  out.push_back(
      {check, [config] {
         Config cfg = load_node_config(*config);
         resolve_secret(cfg.auth.admin_token_ref, cfg.file, "/auth/admin_token");
         if (cfg.upstream.enabled) upstream_credential(cfg);
         load_seal_keys(cfg, false);  // a store key that is named must be there and be one
         fold_context(cfg);           // the holiday file
         check_tls(cfg);
         check_store_folder(cfg);
         check_listen(cfg);
         auto connectors = build_connectors(cfg);
         std::printf("%s: ok (node %s, tier %s, store %s, listen %s:%u, %zu connector%s)\n",
                     config->c_str(), cfg.node.id.c_str(), cfg.node.tier.c_str(),
                     cfg.store.path.c_str(), cfg.http.host.c_str(), cfg.http.port,
                     connectors.size(), connectors.size() == 1 ? "" : "s");
         for (const auto& c : connectors)
           std::printf("  connector %s (%s)%s%s\n", c.config->id.c_str(), c.config->type.c_str(),
                       c.mapping ? ", mapping " : "", c.mapping ? c.mapping->file().c_str() : "");
         if (cfg.upstream.enabled) return uplink_dialect(cfg).check(cfg, connectors);
         return kOk;
       }});
}

}  // namespace simpul::cli
