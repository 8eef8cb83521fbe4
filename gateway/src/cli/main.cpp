// simpul: the one binary. Every command lives in its own file (cli/command.hpp lists them);
// this maps what a command throws to an exit code: 0 ok, 1 runtime failure, 64 usage,
// 78 bad config.

#include <cstdio>
#include <string>

#include "cli/command.hpp"
#include "core/log.hpp"
#include "store/store.hpp"

namespace {

// `simpul serve` logs JSON lines on stdout; a fatal start-up error is one of them too (besides
// the plain line on stderr for a person), so a log collector sees why the node did not start.
bool g_serving = false;
void fatal_json(const char* kind, const char* what) {
  if (g_serving) simpul::log::error("node.fatal", {{"kind", kind}, {"error", what}});
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = simpul::cli;
  CLI::App app{"Simpul: federation gateway for SP4N-LAPOR! complaint channels"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "simpul " SIMPUL_VERSION_TEXT);
  cli::Commands commands;
  for (auto add : {cli::add_init,      cli::add_serve,     cli::add_check,  cli::add_db,
                   cli::add_token,     cli::add_key,       cli::add_pki,    cli::add_audit,
                   cli::add_status,    cli::add_dlq,       cli::add_import, cli::add_renormalize,
                   cli::add_connector, cli::add_lapor_sim, cli::add_link,   cli::add_reconcile,
                   cli::add_demo,      cli::add_calendar,  cli::add_report, cli::add_completion})
    add(app, commands);
  // A word that names no command is said as such (CLI11 alone answers "A subcommand is
  // required"), with the commands there are.
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const auto* sub : app.get_subcommands({})) {
      found = found || sub->get_name() == argv[1];
      known += (known.empty() ? "" : ", ") + sub->get_name();
    }
    if (!found) {
      std::fprintf(stderr, "simpul: unknown command '%s'; the commands are: %s (simpul --help)\n",
                   argv[1], known.c_str());
      return cli::kUsage;
    }
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? cli::kOk : cli::kUsage;
  }

  try {
    for (const auto& c : commands) {
      if (!c.app->parsed()) continue;
      g_serving = c.app->get_name() == "serve";
      return c.run();
    }
  } catch (const simpul::ConfigError& e) {
    std::fprintf(stderr, "config error: %s: %s: %s\n", e.file().c_str(),
                 e.pointer().empty() ? "(document)" : e.pointer().c_str(), e.reason().c_str());
    // No config where one was looked for: say how to get one.
    if (e.pointer().empty() && e.reason().rfind("cannot read", 0) == 0)
      std::fprintf(stderr,
                   "hint: `simpul init` writes a first config (default %s); --config FILE or "
                   "SIMPUL_CONFIG names another\n",
                   cli::kDefaultConfigPath);
    fatal_json("config_error", e.what());
    return cli::kConfig;
  } catch (const simpul::StoreError& e) {
    std::fprintf(stderr, "store error: %s\n", e.what());
    fatal_json("store_error", e.what());
    return cli::kRuntime;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    fatal_json("error", e.what());
    return cli::kRuntime;
  }
  return cli::kUsage;
}
