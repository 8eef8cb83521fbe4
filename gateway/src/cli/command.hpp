#pragma once
// The `simpul` commands, one file each (cli/<command>.cpp). A command adds its subcommands to
// the app with their options, and says what runs when one was given. main() parses, runs the
// one given and maps what it throws to an exit code: 0 ok, 1 runtime failure, 64 usage,
// 78 bad config.

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace simpul::cli {

constexpr int kOk = 0;
constexpr int kRuntime = 1;
constexpr int kUsage = 64;
constexpr int kConfig = 78;

struct Command {
  CLI::App* app = nullptr;  // the subcommand (its parents were given too)
  std::function<int()> run;
};
using Commands = std::vector<Command>;

// Each adds its subcommands (in `simpul --help` order).
void add_serve(CLI::App& app, Commands& out);
void add_init(CLI::App& app, Commands& out);
void add_check(CLI::App& app, Commands& out);
void add_db(CLI::App& app, Commands& out);
void add_token(CLI::App& app, Commands& out);
void add_audit(CLI::App& app, Commands& out);
void add_key(CLI::App& app, Commands& out);
void add_pki(CLI::App& app, Commands& out);
void add_status(CLI::App& app, Commands& out);
void add_dlq(CLI::App& app, Commands& out);
void add_import(CLI::App& app, Commands& out);
void add_renormalize(CLI::App& app, Commands& out);
void add_connector(CLI::App& app, Commands& out);
void add_lapor_sim(CLI::App& app, Commands& out);
void add_link(CLI::App& app, Commands& out);
void add_reconcile(CLI::App& app, Commands& out);
void add_demo(CLI::App& app, Commands& out);
void add_calendar(CLI::App& app, Commands& out);
void add_report(CLI::App& app, Commands& out);
void add_completion(CLI::App& app, Commands& out);

// Where the Debian package and `simpul init` keep a node's config.
constexpr const char* kDefaultConfigPath = "/etc/simpul/simpul.json";

// `--config FILE` on a subcommand (default $SIMPUL_CONFIG, else kDefaultConfigPath); the
// string it fills.
std::string& config_option(CLI::App* sub, const std::shared_ptr<std::string>& path);

// GET `target` from the running node this config describes; "" when it cannot be reached.
std::string ask_own_node(const Config& cfg, const std::string& target);

}  // namespace simpul::cli
