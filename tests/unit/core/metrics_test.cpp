#include "core/metrics.hpp"

#include <doctest/doctest.h>

using namespace simpul;

TEST_CASE("metrics: Prometheus text format with help - labels - histogram buckets and gauges") {
  Metrics m;
  m.describe("simpul_x_total", "counter", "Things.");
  m.add("simpul_x_total", Metrics::labels({{"route", "/v1/\"q\""}, {"code", "200"}}), 2);
  m.observe("simpul_lat_seconds", Metrics::labels({{"route", "/a"}}), 0.003);
  m.observe("simpul_lat_seconds", Metrics::labels({{"route", "/a"}}), 0.2);
  m.gauge("simpul_depth", "Depth.", [] { return 7.0; });
  auto text = m.render();
  CHECK(text.find("# HELP simpul_x_total Things.\n# TYPE simpul_x_total counter\n") !=
        std::string::npos);
  CHECK(text.find(R"(simpul_x_total{route="/v1/\"q\"",code="200"} 2)") != std::string::npos);
  CHECK(text.find(R"(simpul_lat_seconds_bucket{route="/a",le="0.005"} 1)") != std::string::npos);
  CHECK(text.find(R"(simpul_lat_seconds_bucket{route="/a",le="0.25"} 2)") != std::string::npos);
  CHECK(text.find(R"(simpul_lat_seconds_bucket{route="/a",le="+Inf"} 2)") != std::string::npos);
  CHECK(text.find(R"(simpul_lat_seconds_count{route="/a"} 2)") != std::string::npos);
  CHECK(text.find("# TYPE simpul_depth gauge\nsimpul_depth 7\n") != std::string::npos);
}
