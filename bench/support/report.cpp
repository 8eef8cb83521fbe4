#include "support/report.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "core/json.hpp"

namespace simpul::bench {

namespace {
std::string g_command;
}

void set_command(int argc, char** argv) {
  g_command.clear();
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (i == 0 && a.rfind("./", 0) != 0 && a.find('/') != std::string::npos) {
      auto at = a.find("/bench/");  // build-dir relative, as `make bench` runs it
      if (at != std::string::npos) a = "./build" + a.substr(at);
    }
    g_command += (i ? " " : "") + a;
  }
}

void record(const std::string& bench, const std::string& figure, double value,
            const std::string& unit, const std::string& reference, double reference_value,
            const std::string& target, const std::string& note) {
  const char* path = std::getenv("SIMPUL_BENCH_REPORT");
  if (!path || !*path) return;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  for (const auto& [key, text] : {std::pair<const char*, const std::string*>{"bench", &bench},
                                  {"figure", &figure},
                                  {"unit", &unit},
                                  {"reference", &reference},
                                  {"target", &target},
                                  {"note", &note},
                                  {"command", &g_command}}) {
    w.Key(key);
    w.String(text->c_str(), static_cast<rapidjson::SizeType>(text->size()));
  }
  w.Key("value");
  w.Double(value);
  w.Key("reference_value");
  w.Double(reference_value);
  w.EndObject();
  std::ofstream(path, std::ios::app) << std::string(buf.GetString(), buf.GetSize()) << "\n";
}

}  // namespace simpul::bench
