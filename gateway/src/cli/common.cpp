#include "cli/command.hpp"
#include "http/client.hpp"

namespace simpul::cli {

std::string& config_option(CLI::App* sub, const std::shared_ptr<std::string>& path) {
  // The node's config: --config, else $SIMPUL_CONFIG, else where the package and `simpul init`
  // put it.
  sub->add_option(
         "--config", *path,
         "Config file (default $SIMPUL_CONFIG, else " + std::string(kDefaultConfigPath) + ")")
      ->envname("SIMPUL_CONFIG")
      ->default_val(kDefaultConfigPath);
  return *path;
}

// Our own node: /metrics and /readyz need no credential and none is sent, so on a TLS listener
// the probe skips certificate checks (the certificate may name a public host, not 127.0.0.1).
std::string ask_own_node(const Config& cfg, const std::string& target) {
  if (cfg.http.port == 0) return "";
  try {
    http::TlsClientConfig probe_tls;
    probe_tls.enabled = cfg.http.tls.enabled();
    probe_tls.verify = false;
    http::Client c(cfg.http.host == "0.0.0.0" ? "127.0.0.1" : cfg.http.host, cfg.http.port, 2000,
                   probe_tls);
    return c.request("GET", target).body;
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace simpul::cli
