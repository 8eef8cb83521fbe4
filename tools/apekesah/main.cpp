// apekesah-standin: the Ape Kesah stand-in as a process (docs/connectors.md, "Try it").
//   apekesah-standin --db FILE [--port N] [--webhook URL --webhook-secret-env NAME]
//                    [--callback-secret-env NAME]

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "standin.hpp"

namespace {
volatile std::sig_atomic_t g_stop = 0;
}

int main(int argc, char** argv) {
  CLI::App app{"A stand-in for Batam's Ape Kesah complaint app (tests and demos)"};
  simpul::apekesah::StandInOptions opt;
  std::string webhook_env, callback_env;
  int port = 0;
  app.add_option("--db", opt.db_path, "Its own SQLite database")->required();
  app.add_option("--port", port, "Port on 127.0.0.1 (0: any)");
  app.add_option("--webhook", opt.webhook_url,
                 "Simpul's webhook URL, e.g. http://127.0.0.1:7703/v1/ingest/apekesah");
  app.add_option("--webhook-secret-env", webhook_env,
                 "Environment variable holding the webhook HMAC key");
  app.add_option("--callback-secret-env", callback_env,
                 "Environment variable holding the callback HMAC key");
  CLI11_PARSE(app, argc, argv);
  auto env = [](const std::string& name) {
    const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
    return std::string(v ? v : "");
  };
  opt.port = static_cast<std::uint16_t>(port);
  opt.webhook_secret = env(webhook_env);
  opt.callback_secret = env(callback_env);
  simpul::apekesah::StandIn standin(opt);
  std::printf("apekesah-standin listening on 127.0.0.1:%u\n", standin.port());
  std::fflush(stdout);
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}
