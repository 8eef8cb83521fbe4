#include "core/metrics.hpp"

#include <fmt/format.h>

#include <cmath>

namespace simpul {

Metrics::Metrics()
    : bounds_{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10} {}

void Metrics::describe(const std::string& name, const std::string& type, const std::string& help) {
  std::lock_guard lock(mu_);
  meta_[name] = {type, help};
}

void Metrics::add(const std::string& name, const std::string& labels, double v) {
  std::lock_guard lock(mu_);
  counters_[name][labels] += v;
}

void Metrics::observe(const std::string& name, const std::string& labels, double seconds) {
  std::lock_guard lock(mu_);
  auto& h = histograms_[name][labels];
  if (h.buckets.empty()) h.buckets.assign(bounds_.size(), 0);
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (seconds <= bounds_[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::gauge(const std::string& name, const std::string& help, std::function<double()> fn) {
  std::lock_guard lock(mu_);
  gauges_.push_back({name, help, "gauge", std::move(fn)});
}

void Metrics::sampled_counter(const std::string& name, const std::string& help,
                              std::function<double()> fn) {
  std::lock_guard lock(mu_);
  gauges_.push_back({name, help, "counter", std::move(fn)});
}

std::string Metrics::labels(
    std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
  std::string out = "{";
  for (const auto& [k, v] : kv) {
    if (out.size() > 1) out += ',';
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string Metrics::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto header = [&](const std::string& name, const char* fallback_type) {
    auto it = meta_.find(name);
    if (it != meta_.end()) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, it->second.second, name,
                         it->second.first);
    } else {
      out += fmt::format("# TYPE {} {}\n", name, fallback_type);
    }
  };
  for (const auto& [name, series] : counters_) {
    header(name, "counter");
    for (const auto& [labels, v] : series) out += fmt::format("{}{} {}\n", name, labels, v);
  }

  for (const auto& [name, series] : histograms_) {
    header(name, "histogram");
    for (const auto& [labels, h] : series) {
      // Insert le into the existing label set.
      std::string inner = labels.size() > 2 ? labels.substr(1, labels.size() - 2) + "," : "";
      for (std::size_t i = 0; i < bounds_.size(); ++i)
        out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, inner, bounds_[i], h.buckets[i]);
      out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, inner, h.count);
      out +=
          fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, labels, h.sum, name, labels, h.count);
    }
  }
  // A gauge name may carry labels (name{child="x"}): HELP and TYPE once per family, and the
  // family's samples together, though they were registered apart (two connectors each add a
  // gauge of several families; Prometheus refuses a family that appears twice).
  std::vector<std::string> families;
  std::map<std::string, std::vector<const Sampled*>> by_family;
  for (const auto& g : gauges_) {
    std::string base = g.name.substr(0, g.name.find('{'));
    auto& members = by_family[base];
    if (members.empty()) families.push_back(base);
    members.push_back(&g);
  }
  for (const auto& base : families) {
    const auto& members = by_family[base];
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", base, members.front()->help, base,
                       members.front()->type);
    for (const Sampled* g : members) {
      const double v = g->fn();
      if (!std::isnan(v)) out += fmt::format("{} {}\n", g->name, v);
    }
  }
  return out;
}

}  // namespace simpul
