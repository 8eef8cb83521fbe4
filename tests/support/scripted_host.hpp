#pragma once
// A connector host for unit tests of connector types: each fetch is answered with the next
// scripted response, timers run at once and move the clock, and what the connector asked for
// (URLs, delays) is recorded. Shared by every connector test that needs a host.

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "simpul/connector.hpp"

namespace simpul::test {

class ScriptedHost final : public ConnectorHost {
 public:
  std::deque<FetchResponse> answers;
  std::vector<std::string> urls;
  std::vector<int> delays;
  TimeMs clock = 1'763'600'000'000;

  void fetch(FetchRequest req, std::function<void(FetchResponse)> done) override {
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
  void log_warn(std::string_view, std::string_view) override {}
  void count(const std::string&, std::string_view, double) override {}
};

}  // namespace simpul::test
