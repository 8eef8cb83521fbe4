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

void record(const std::string& bench, const std::string& figure, double value, const std::string& unit,
            const std::string& reference, double reference_value, const std::string& target, const std::string& note) {
  const char* path = std::getenv("SIMPUL_BENCH_REPORT");
  if (!path || !*path) return;
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("bench");
  w.String(bench.c_str());
  w.Key("figure");
  w.String(figure.c_str());
  w.Key("value");
  w.Double(value);
  w.Key("unit");
  w.String(unit.c_str());
  w.Key("reference");
  w.String(reference.c_str());
  w.Key("reference_value");
  w.Double(reference_value);
  w.Key("target");
  w.String(target.c_str());
  w.Key("note");
  w.String(note.c_str());
  w.Key("command");
  w.String(g_command.c_str());
  w.EndObject();
  std::ofstream(path, std::ios::app) << std::string(buf.GetString(), buf.GetSize()) << "\n";
}

}  // namespace simpul::bench
