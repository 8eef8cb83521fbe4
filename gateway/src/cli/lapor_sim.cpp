#include <boost/asio.hpp>
#include <cstdio>
#include <fstream>

#include "cli/command.hpp"
#include "lapor/simulator.hpp"

namespace simpul::cli {

namespace {

int run_lapor_sim(const std::string& config_path, const std::string& ready_file) {
  auto cfg = lapor::load_sim_config(config_path);  // ConfigError -> exit 78 in main
  boost::asio::io_context ioc{1};
  lapor::Simulator sim(ioc, cfg);
  sim.start();
  std::printf("lapor-sim listening on http://%s:%u (store %s)\n", cfg.host.c_str(), sim.port(),
              cfg.store_path.c_str());
  std::fflush(stdout);
  if (!ready_file.empty()) {
    std::ofstream(ready_file + ".tmp") << sim.port() << "\n";
    std::rename((ready_file + ".tmp").c_str(), ready_file.c_str());
  }
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
  ioc.run();
  return 0;
}

}  // namespace

void add_lapor_sim(CLI::App& app, Commands& out) {
  auto config = std::make_shared<std::string>();
  auto ready = std::make_shared<std::string>();
  auto* sim = app.add_subcommand(
      "lapor-sim", "Run the SP4N-LAPOR! simulator (tests and demos; not the real hub)");
  sim->add_option("--config", *config, "Simulator config (config/lapor-sim.example.json)")
      ->required();
  sim->add_option("--ready-file", *ready, "Write the bound port to this file once listening");
  out.push_back({sim, [config, ready] { return run_lapor_sim(*config, *ready); }});
}

}  // namespace simpul::cli
