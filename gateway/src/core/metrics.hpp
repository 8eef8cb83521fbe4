#pragma once
// Prometheus text exposition (format 0.0.4), written by hand (Debian 12's prometheus-cpp 1.0.1
// would do; this is a page of code, checked by `promtool check metrics` in the tests).
// Counters and histograms are keyed by name and a pre-rendered label set; a counter's known
// label sets are registered at 0 (`add(name, labels, 0)`) so a rate is defined from the start.
// Sampled metrics are callbacks evaluated at scrape time: gauges, and counters whose count is
// kept elsewhere (`sampled_counter`). A callback that returns NaN writes no sample (a value
// that does not exist yet, such as the time of a poll that never came). Thread-safe: one mutex,
// held briefly.

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace simpul {

class Metrics {
 public:
  Metrics();
  // help text is registered once per name.
  void describe(const std::string& name, const std::string& type, const std::string& help);
  void add(const std::string& name, const std::string& labels, double v = 1.0);
  void observe(const std::string& name, const std::string& labels, double seconds);
  // `name` may end in a label set (Metrics::labels); register a family's members one after another.
  void gauge(const std::string& name, const std::string& help, std::function<double()> fn);
  // A counter (name ends in _total) whose value `fn` reads from what counts it.
  void sampled_counter(const std::string& name, const std::string& help,
                       std::function<double()> fn);
  std::string render() const;

  // Renders {k="v",...} with escaping.
  static std::string labels(
      std::initializer_list<std::pair<std::string_view, std::string_view>> kv);

 private:
  struct Histogram {
    std::vector<std::uint64_t> buckets;
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::string>> meta_;  // name -> (type, help)
  std::map<std::string, std::map<std::string, double>> counters_;
  std::map<std::string, std::map<std::string, Histogram>> histograms_;
  struct Sampled {
    std::string name, help, type;
    std::function<double()> fn;
  };
  std::vector<Sampled> gauges_;
  std::vector<double> bounds_;
};

}  // namespace simpul
