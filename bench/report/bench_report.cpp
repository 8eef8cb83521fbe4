// bench_report: turns the figures the benchmarks recorded (JSON Lines, SIMPUL_BENCH_REPORT) into
// BENCHMARKS.md: the machine they ran on, then per benchmark its command and a table of value,
// same-run reference, ratio and target. `make bench` runs it last.
//   bench_report --in build/bench-results.jsonl --out BENCHMARKS.md [--data-dir /tmp] [--minutes M]

#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"

namespace {

struct Figure {
  std::string bench, figure, unit, reference, target, note, command;
  double value = 0, reference_value = 0;
};

std::string read_first(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      auto at = line.find_first_of(":=");
      std::string v = at == std::string::npos ? line : line.substr(at + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '"'))
        v.erase(v.begin());
      while (!v.empty() && (v.back() == '"' || v.back() == ' ')) v.pop_back();
      return v;
    }
  return "";
}

std::string command_output(const std::string& cmd) {
  std::string out;
  if (FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string num(double v) {
  char buf[64];
  const double a = std::fabs(v);
  const bool whole = a >= 100 || (v == std::floor(v) && a < 1e15);
  if (whole)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else if (a >= 10)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  if (!whole || a < 1000) return s;
  // Thousands separators for whole numbers.
  const bool neg = s[0] == '-';
  const std::string digits = neg ? s.substr(1) : s;
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (neg ? "-" : "") + out;
}

std::string cell(std::string s) {
  for (auto& c : s)
    if (c == '|') c = '/';
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string in_path, out_path = "BENCHMARKS.md", data_dir = "/tmp", minutes;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--in")
      in_path = v;
    else if (k == "--out")
      out_path = v;
    else if (k == "--data-dir")
      data_dir = v;
    else if (k == "--minutes")
      minutes = v;
    else {
      std::fprintf(
          stderr,
          "usage: bench_report --in FILE [--out BENCHMARKS.md] [--data-dir DIR] [--minutes M]\n");
      return 64;
    }
  }
  std::ifstream in(in_path);
  if (!in) {
    std::fprintf(stderr, "bench_report: cannot read %s\n", in_path.c_str());
    return 66;
  }
  std::vector<Figure> figures;
  std::vector<std::string> order;
  std::string line;
  while (std::getline(in, line)) {
    auto doc = simpul::json::parse(line);
    if (!doc || !doc->IsObject()) continue;
    Figure f;
    f.bench = simpul::json::get_string(*doc, "bench");
    f.figure = simpul::json::get_string(*doc, "figure");
    f.unit = simpul::json::get_string(*doc, "unit");
    f.reference = simpul::json::get_string(*doc, "reference");
    f.target = simpul::json::get_string(*doc, "target");
    f.note = simpul::json::get_string(*doc, "note");
    f.command = simpul::json::get_string(*doc, "command");
    f.value = (*doc)["value"].GetDouble();
    f.reference_value = (*doc)["reference_value"].GetDouble();
    if (std::find(order.begin(), order.end(), f.bench) == order.end()) order.push_back(f.bench);
    figures.push_back(std::move(f));
  }
  if (figures.empty()) {
    std::fprintf(stderr, "bench_report: no figures in %s\n", in_path.c_str());
    return 65;
  }

  std::ostringstream md;
  std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  const std::string commit = command_output("git rev-parse --short HEAD");
  const std::string dirty = command_output("git status --porcelain --untracked-files=no | head -1");
  md << "# Simpul benchmarks\n\n"
     << "Written by `make bench` on " << date
     << (commit.empty() ? "" : " at commit `" + commit + "`")
     << (dirty.empty() ? "" : " (with uncommitted changes)")
     << (minutes.empty() ? "" : ", a run of " + minutes + " minutes")
     << ". Every figure was measured in that run, and every reference it is compared with was "
        "measured in the same "
        "run on the same machine: a ratio is value / reference. Nothing here is typed in by hand; "
        "run `make bench` to "
        "measure your own machine (it rewrites this file).\n\n";

  // The machine.
  struct utsname u {};
  uname(&u);
  struct statvfs vfs {};
  statvfs(data_dir.c_str(), &vfs);
  const double free_gb =
      static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize) / 1e9;
  const std::string mem_kb = read_first("/proc/meminfo", "MemTotal");
  const double mem_gib = std::atof(mem_kb.c_str()) / 1024.0 / 1024.0;
  const std::string device = command_output("df --output=source " + data_dir + " | tail -1");
  const std::string fstype = command_output("df --output=fstype " + data_dir + " | tail -1");
  std::string block = device.rfind("/dev/", 0) == 0 ? device.substr(5) : "";
  while (!block.empty() && std::isdigit(static_cast<unsigned char>(block.back()))) block.pop_back();
  const std::string rotational =
      block.empty() ? "" : read_first("/sys/block/" + block + "/queue/rotational", "");
  md << "## Machine\n\n"
     << "| | |\n|---|---|\n"
     << "| CPU | " << read_first("/proc/cpuinfo", "model name") << ", "
     << std::thread::hardware_concurrency() << " cores |\n"
     << "| Memory | " << num(mem_gib) << " GiB |\n"
     << "| Disk (benchmark data in `" << data_dir << "`) | " << device << ", " << fstype
     << (rotational == "1"   ? ", reported rotational"
         : rotational == "0" ? ", solid state"
                             : "")
     << ", " << num(free_gb) << " GB free |\n";
  for (const auto& f : figures)
    if (f.figure == "disk fsync limit")
      md << "| Disk fsync limit | " << num(f.value) << " fdatasync/s (4 KiB appends) |\n";
  md << "| OS | " << read_first("/etc/os-release", "PRETTY_NAME") << ", kernel " << u.release
     << " |\n"
     << "| Build | `" << command_output("c++ --version | head -1")
     << "`, CMake RelWithDebInfo |\n\n";

  for (const auto& bench : order) {
    md << "## " << bench << "\n\n";
    std::vector<std::string> commands;
    for (const auto& f : figures)
      if (f.bench == bench &&
          std::find(commands.begin(), commands.end(), f.command) == commands.end())
        commands.push_back(f.command);
    for (const auto& c : commands) md << "Command: `" << c << "`\n\n";
    md << "| figure | value | reference (same run) | reference value | ratio | target | note |\n"
       << "|---|---:|---|---:|---:|---|---|\n";
    for (const auto& f : figures) {
      if (f.bench != bench) continue;
      md << "| " << cell(f.figure) << " | " << num(f.value) << " " << f.unit << " | "
         << cell(f.reference) << " | ";
      if (!f.reference.empty()) md << num(f.reference_value) << " " << f.unit;
      md << " | ";
      if (!f.reference.empty() && f.reference_value != 0) md << num(f.value / f.reference_value);
      md << " | " << cell(f.target) << " | " << cell(f.note) << " |\n";
    }
    md << "\n";
  }
  std::ofstream(out_path) << md.str();
  std::printf("bench_report: %zu figures from %zu benchmarks -> %s\n", figures.size(), order.size(),
              out_path.c_str());
  return 0;
}
