// /metrics as Prometheus reads it (and the routes as schema/openapi.yaml describes them): `promtool
// check metrics` (Debian's, fetched into .tools/ by scripts/setup.sh) on a node with a parent, a
// child and connectors, before and after traffic.

#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>

#include "core/json.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

const std::string kPromtool = std::string(SIMPUL_SOURCE_DIR) + "/.tools/promtool";

// promtool's verdict on `text`: its exit status, and what it said in `said`.
int run_promtool(const std::string& args, std::string& said) {
  FILE* p = popen(("'" + kPromtool + "' " + args + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  said.clear();
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) said.append(buf, n);
  return pclose(p);
}

int promtool_check(const test::TempDir& dir, const std::string& text, std::string& said) {
  std::ofstream(dir.file("metrics.txt"), std::ios::trunc) << text;
  return run_promtool("check metrics < '" + dir.file("metrics.txt") + "'", said);
}

// kota-batam with a parent, a child, a webhook and a callback connector: every family of
// metrics a node can have.
Config full_node(const test::TempDir& dir) {
  std::ofstream(dir.file("ak.json")) << R"({"version": 1, "system": "ak", "id": "/id",
    "fields": {"title": {"from": "/judul"}, "body": {"from": "/uraian"}},
    "defaults": {"type": "pengaduan", "channel": "app", "region": "21.71", "privacy": "anonim"}})";
  setenv("SIMPUL_TEST_HOOK", "webhook-secret-0123456789abcdef", 1);
  setenv("SIMPUL_TEST_UP", "no-parent-listens-here-0123456789", 1);
  return test::node_config(
      dir, "kota-batam",
      R"("upstream": {"url": "http://127.0.0.1:9", "node": "provinsi-kepri", "credential": "env:SIMPUL_TEST_UP"},
      "children": [{"id": "kel-x", "regions": ["21.71.01"]}],
      "connectors": [{"id": "ak", "type": "webhook", "mapping": ")" +
          dir.file("ak.json") + R"(", "settings": {"secret": "env:SIMPUL_TEST_HOOK"}},
        {"id": "ak-back", "type": "callback", "mapping": ")" +
          dir.file("ak.json") +
          R"(", "settings": {"url": "http://127.0.0.1:9/cb", "secret": "env:SIMPUL_TEST_HOOK"}}],)");
}

}  // namespace

TEST_CASE(
    "metrics: promtool check metrics passes - counters are counters from 0 - no made-up "
    "values - build info and process figures are there") {
  const std::string missing = "no " + kPromtool + ": run scripts/setup.sh (make test does)";
  REQUIRE_MESSAGE(std::filesystem::exists(kPromtool), missing);
  test::TempDir dir;
  test::TestNode node(full_node(dir));
  auto c = node.client();
  std::string said;
  const std::string before = c.request("GET", "/metrics").body;
  CHECK(promtool_check(dir, before, said) == 0);
  CHECK_MESSAGE(said.empty(), said);
  // Known counters from the start, at 0.
  for (const char* series :
       {"simpul_ingest_total{result=\"created\"} 0",
        "simpul_sla_events_total{kind=\"sla_breached\"} 0",
        "simpul_connector_records_total{connector=\"ak\",outcome=\"rejected\"} 0",
        "simpul_connector_bad_signatures_total{connector=\"ak\"} 0",
        "# TYPE simpul_commit_batches_total counter", "# TYPE simpul_upstream_pushed_total counter",
        "# TYPE simpul_http_connections_refused_total counter", "simpul_build_info{version=\"",
        "process_resident_memory_bytes ", "process_cpu_seconds_total ", "process_open_fds "})
    CHECK_MESSAGE(before.find(series) != std::string::npos, series);
  // A child that never polled has no sample, not -1.
  CHECK(before.find("simpul_child_last_poll_seconds{") == std::string::npos);
  CHECK(before.find(" -1\n") == std::string::npos);
  // After traffic (a complaint, a refused request) it still passes.
  auto r = c.request(
      "POST", "/v1/complaints",
      R"({"type":"pengaduan","title":"Lampu padam","body":"Di depan sekolah.","channel":"web","region":"21.71"})",
      test::TestNode::auth());
  CHECK(r.status == 201);
  CHECK(c.request("POST", "/v1/complaints", "not json", test::TestNode::auth()).status == 400);
  const std::string after = c.request("GET", "/metrics").body;
  CHECK(promtool_check(dir, after, said) == 0);
  CHECK_MESSAGE(said.empty(), said);
  CHECK(after.find("simpul_ingest_total{result=\"created\"} 1") != std::string::npos);
}

TEST_CASE(
    "metrics: the shipped alert rules pass promtool check rules and their own rule tests - every "
    "metric they and the Grafana dashboard read is one a node exposes") {
  REQUIRE(std::filesystem::exists(kPromtool));
  const std::string mon = std::string(SIMPUL_SOURCE_DIR) + "/config/monitoring/";
  std::string said;
  CHECK_MESSAGE(run_promtool("check rules '" + mon + "simpul-alerts.yml'", said) == 0, said);
  // The rule tests: each alert fires on the series that should raise it, not before.
  CHECK_MESSAGE(run_promtool("test rules '" + mon + "simpul-alerts.test.yml'", said) == 0, said);

  test::TempDir dir;
  test::TestNode node(full_node(dir));
  auto c = node.client();
  c.request("GET", "/livez");  // a first latency observation: the histogram's buckets exist
  const std::string exposed = c.request("GET", "/metrics").body;
  auto slurp = [](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string grafana = slurp(mon + "simpul-grafana.json");
  auto doc = json::parse(grafana);
  REQUIRE_MESSAGE(doc.has_value(), "simpul-grafana.json is not JSON");
  CHECK((*doc)["panels"].GetArray().Size() >= 8);
  int names = 0;
  for (const std::string& text : {slurp(mon + "simpul-alerts.yml"), grafana}) {
    static const std::regex metric(R"(\b((simpul|process)_[a-z_]+)\b)");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), metric);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1];
      ++names;
      const bool found = exposed.find("\n" + name + "{") != std::string::npos ||
                         exposed.find("\n" + name + " ") != std::string::npos;
      const std::string why = name + " is read by a rule or panel but no node exposes it";
      CHECK_MESSAGE(found, why);
    }
  }
  CHECK(names >= 15);
}

TEST_CASE(
    "openapi: every route the node serves is in schema/openapi.yaml and every operation there is "
    "served - each has an operationId - each that needs a credential documents 401 - each that "
    "uses the store documents 503 - each POST documents 413 - each that checks a credential "
    "documents 429") {
  test::TempDir dir;
  test::TestNode node(full_node(dir));
  std::set<std::string> served;
  for (const auto& [method, pattern] : node.routes()) {
    std::string m = method;
    for (char& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    served.insert(m + " " + pattern);
  }
  // The spec, read line by line: a path is "  /x:" under `paths:`, an operation "    get:".
  std::ifstream in(std::string(SIMPUL_SOURCE_DIR) + "/schema/openapi.yaml");
  std::string line, path, op;
  bool in_paths = false;
  std::map<std::string, std::string> ops;  // "get /x" -> its text
  static const std::regex path_line(R"(^  (/[^:]*):\s*$)");
  static const std::regex op_line(R"(^    (get|post|put|delete|patch|head):\s*$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ' && line[0] != '#') break;  // the next top-level key
    if (std::regex_match(line, m, path_line)) {
      path = m[1];
      op.clear();
    } else if (std::regex_match(line, m, op_line)) {
      op = std::string(m[1]) + " " + path;
      ops[op];
    } else if (!op.empty()) {
      ops[op] += line + "\n";
    }
  }
  REQUIRE(ops.size() >= 20);
  for (const auto& s : served) {
    const std::string missing = s + " is served but not in the spec";
    CHECK_MESSAGE(ops.count(s) == 1, missing);
  }
  for (const auto& [o, text] : ops) {
    const std::string unserved = o + " is in the spec but no route serves it";
    CHECK_MESSAGE(served.count(o) == 1, unserved);
    const std::string unnamed = o + " has no operationId";
    CHECK_MESSAGE(text.find("operationId:") != std::string::npos, unnamed);
    const bool open = text.find("security: []") != std::string::npos;
    const std::string no_401 = o + " needs a credential: document 401";
    if (!open) CHECK_MESSAGE(text.find("'401'") != std::string::npos, no_401);
    // A client whose credentials failed too often is answered 429 wherever one is checked.
    const std::string no_429 = o + " checks a credential: document 429";
    if (text.find("'401'") != std::string::npos)
      CHECK_MESSAGE(text.find("'429'") != std::string::npos, no_429);
    // A body larger than http.max_body_bytes is refused before any route: every POST says so.
    const std::string no_413 = o + " takes a body: document 413";
    if (o.rfind("post ", 0) == 0) CHECK_MESSAGE(text.find("'413'") != std::string::npos, no_413);
    // What reads or writes the store answers 503 when it cannot (docs/operations.md).
    const std::string no_503 = o + " uses the store: document 503";
    const bool config_only = o.find("/reference/") != std::string::npos;  // answered from config
    if (!config_only &&
        (o.find(" /v1/") != std::string::npos || o.find(" /fed/") != std::string::npos))
      CHECK_MESSAGE(text.find("'503'") != std::string::npos, no_503);
  }
}
