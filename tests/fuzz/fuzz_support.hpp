#pragma once
// Shared by the fuzz targets: a node configuration with the connectors the targets drive (built
// once, the way `simpul serve` builds them), and splitting one input into parts.
//
// An input with several parts (a header and a body, a detail and its claims) separates them
// with a line holding only "----": "part1\n----\npart2". Seeds stay readable and the fuzzer
// finds the separator by itself.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "intake/registry.hpp"

namespace simpul::fuzz {

inline std::vector<std::string_view> split_parts(std::string_view in, std::size_t max_parts) {
  std::vector<std::string_view> parts;
  constexpr std::string_view sep = "\n----\n";
  while (parts.size() + 1 < max_parts) {
    auto at = in.find(sep);
    if (at == std::string_view::npos) break;
    parts.push_back(in.substr(0, at));
    in.remove_prefix(at + sep.size());
  }
  parts.push_back(in);
  while (parts.size() < max_parts) parts.push_back({});
  return parts;
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A node (kabkota Batam, WIB, upstream: SP4N-LAPOR! with the default lapor dialect) with:
// "apekesah" webhook + the Ape Kesah mapping, "csv" and "csv-semicolon" and "jsonl" file imports
// with the same mapping. Built on first use.
struct Node {
  Config cfg;
  std::vector<ConnectorSlot> connectors;
  ConnectorSlot& slot(const std::string& id) {
    for (auto& s : connectors)
      if (s.config->id == id) return s;
    __builtin_trap();
  }
};
Node& node();

}  // namespace simpul::fuzz
