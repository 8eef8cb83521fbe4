// `simpul serve`: run the node until SIGINT or SIGTERM.

#include <cstdio>
#include <fstream>

#include "cli/command.hpp"
#include "node/node.hpp"
#include "node/store_setup.hpp"
#include "node/uplinks.hpp"

namespace simpul::cli {

void add_serve(CLI::App& app, Commands& out) {
  struct Options {
    std::shared_ptr<std::string> config = std::make_shared<std::string>();
    std::string ready_file;
    bool new_store = false;
  };
  auto o = std::make_shared<Options>();
  auto* serve = app.add_subcommand("serve", "Run the node");
  config_option(serve, o->config);
  serve->add_option("--ready-file", o->ready_file,
                    "Write the bound port to this file once listening");
  serve->add_flag(
      "--new-store", o->new_store,
      "Begin an empty store even where this node had a database (it was lost and is not restored)");
  out.push_back({serve, [o] {
                   Config cfg = load_node_config(*o->config);
                   cfg.store.new_store = o->new_store;
                   std::string holder;
                   auto lock = StoreLock::try_acquire(cfg.store.path, holder);
                   if (!lock) {
                     std::fprintf(stderr, "simpul serve: %s: %s; stop it first\n",
                                  cfg.store.path.c_str(), holder.c_str());
                     return kRuntime;
                   }
                   Node node(cfg);
                   node.start();
                   if (!o->ready_file.empty()) {
                     std::ofstream(o->ready_file + ".tmp") << node.port() << "\n";
                     std::rename((o->ready_file + ".tmp").c_str(), o->ready_file.c_str());
                   }
                   node.run();
                   return kOk;
                 }});
}

}  // namespace simpul::cli
