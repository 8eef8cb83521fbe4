#pragma once
// A connector context for unit tests of connector types: each fetch is answered with the next
// scripted answer (a response, or a transport problem), timers run at once and move the clock,
// blocking work runs inline, and what the connector asked for (URLs, delays, counters, log
// lines) is recorded. Shared by every connector test that needs a context.

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "simpul/connector.hpp"

namespace simpul::test {

class ScriptedContext final : public ConnectorContext {
 public:
  explicit ScriptedContext(std::string id = "scripted") : id_(std::move(id)) {}

  std::deque<Result<FetchResponse>> answers;
  std::vector<std::string> urls;
  std::vector<int> delays;
  std::map<std::string, double> counters;
  std::vector<std::string> warnings;
  TimeMs clock = 1'763'600'000'000;

  const std::string& connector_id() const override { return id_; }
  void fetch(FetchRequest req, std::function<void(Result<FetchResponse>)> done) override {
    urls.push_back(req.url);
    REQUIRE_FALSE(answers.empty());
    auto r = answers.front();
    answers.pop_front();
    done(r);
  }
  void after(int ms, std::function<void()> fn) override {
    delays.push_back(ms);
    clock += ms;
    fn();
  }
  TimeMs now() const override { return clock; }
  void log_info(std::string_view, std::string_view) override {}
  void log_warn(std::string_view event, std::string_view) override { warnings.emplace_back(event); }
  void count(std::string_view name, double v) override { counters[std::string(name)] += v; }

 protected:
  void run_blocking(std::function<void()> work, std::function<void()> done) override {
    work();
    done();
  }

 private:
  std::string id_;
};

}  // namespace simpul::test
