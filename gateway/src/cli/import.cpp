// `simpul import` (an export file through a file_import connector) and `simpul renormalize`
// (a connector's mapping re-run over its raw payloads).

#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>

#include "cli/command.hpp"
#include "node/importer.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_interrupt(int) { g_interrupted = true; }

int terminal_columns() {
  winsize w{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 80;
}

}  // namespace

void add_import(CLI::App& app, Commands& out) {
  struct Options {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    ImportOptions opt;
  };
  auto o = std::make_shared<Options>();
  auto* import = app.add_subcommand(
      "import", "Migrate an export file (CSV or JSON Lines) through a file_import connector");
  config_option(import, o->config);
  import->add_option("--connector", o->opt.connector_id, "The file_import connector's id")
      ->required();
  import->add_option("file", o->opt.file, "The export file")->required();
  import->add_flag("--dry-run", o->opt.dry_run, "Map, check and report everything; store nothing");
  import->add_flag("--restart", o->opt.restart, "Read the whole file again instead of resuming");
  import->add_option("--rejects", o->opt.rejects_file,
                     "Where rejected rows are listed (default FILE.rejects.csv)");
  out.push_back(
      {import, [o] {
         Config cfg = load_node_config(*o->config);
         ImportOptions& opt = o->opt;
         opt.progress_bar = isatty(2);
         opt.progress = [](const std::string& text) { std::fputs(text.c_str(), stderr); };
         opt.columns = terminal_columns;
         // Ctrl-C (or SIGTERM) ends the import after the batch being stored: nothing half-done,
         // and the next run resumes after it.
         struct sigaction sa {};
         sa.sa_handler = on_interrupt;
         sigemptyset(&sa.sa_mask);
         sigaction(SIGINT, &sa, nullptr);
         sigaction(SIGTERM, &sa, nullptr);
         opt.interrupted = [] { return g_interrupted.load(); };
         auto r = run_import(cfg, opt);
         if (r.interrupted_after_line > 0) {
           std::printf(
               "import interrupted: %lld rows read, %lld created, %lld rejected; %s line %lld. "
               "Run the same command again to resume after it.\n",
               static_cast<long long>(r.rows), static_cast<long long>(r.created),
               static_cast<long long>(r.rejected),
               opt.dry_run ? "a dry run stores nothing; it read up to"
                           : "everything is stored up to",
               static_cast<long long>(r.interrupted_after_line));
           return 130;
         }
         std::printf(
             "%s%s: %lld rows, %lld created, %lld updated, %lld unchanged, %lld rejected in %.1f "
             "s\n",
             opt.dry_run ? "dry run (nothing stored) " : "", opt.file.c_str(),
             static_cast<long long>(r.rows), static_cast<long long>(r.created),
             static_cast<long long>(r.updated), static_cast<long long>(r.unchanged),
             static_cast<long long>(r.rejected), r.seconds);
         if (r.resumed_after_line > 0)
           std::printf(
               "resumed after line %lld, where the last committed batch ended (--restart reads it "
               "all again)\n",
               static_cast<long long>(r.resumed_after_line));
         if (r.rejected > 0)
           std::printf(
               "rejected rows, with line numbers and reasons: %s\n",
               (opt.rejects_file.empty() ? opt.file + ".rejects.csv" : opt.rejects_file).c_str());
         return kOk;
       }});
}

void add_renormalize(CLI::App& app, Commands& out) {
  struct Options {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string connector;
    bool dry_run = false;
  };
  auto o = std::make_shared<Options>();
  auto* renormalize = app.add_subcommand(
      "renormalize",
      "Re-run a connector's mapping over its raw payloads; amend what really changed");
  config_option(renormalize, o->config);
  renormalize->add_option("--connector", o->connector, "The connector whose records to recompute")
      ->required();
  renormalize->add_flag("--dry-run", o->dry_run, "Print what would change; store nothing");
  out.push_back({renormalize, [o] {
                   Config cfg = load_node_config(*o->config);
                   auto r = run_renormalize(
                       cfg, o->connector, o->dry_run,
                       [](const std::string& line) { std::printf("%s\n", line.c_str()); });
                   std::printf("%s%lld complaints, %lld changed, %lld failed\n",
                               o->dry_run ? "dry run (nothing stored): " : "",
                               static_cast<long long>(r.complaints),
                               static_cast<long long>(r.changed), static_cast<long long>(r.failed));
                   return r.failed > 0 ? kRuntime : kOk;
                 }});
}

}  // namespace simpul::cli
