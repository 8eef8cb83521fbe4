#pragma once
// Prometheus text exposition (format 0.0.4), written by hand: Debian 12 has no client library.
// Counters and histograms are keyed by name and a pre-rendered label set. Gauges are callbacks
// evaluated at scrape time. Thread-safe: one mutex, held briefly.

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
  std::vector<std::pair<std::string, std::pair<std::string, std::function<double()>>>> gauges_;
  std::vector<double> bounds_;
};

}  // namespace simpul
