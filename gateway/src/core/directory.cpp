#include "core/directory.hpp"

namespace simpul {

bool region_within(const std::string& region, const std::string& prefix) {
  if (prefix.empty() || region.size() < prefix.size()) return false;
  if (region.compare(0, prefix.size(), prefix) != 0) return false;
  return region.size() == prefix.size() || region[prefix.size()] == '.';
}

Directory::Directory(std::vector<ChildNode> children) : children_(std::move(children)) {}

std::string Directory::route(const Complaint& c) const {
  if (!c.agency.empty()) {
    for (const auto& child : children_)
      for (const auto& a : child.agencies)
        if (a == c.agency) return child.id;
  }
  const ChildNode* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& child : children_) {
    for (const auto& r : child.regions) {
      if (r.size() > best_len && region_within(c.region, r)) {
        best = &child;
        best_len = r.size();
      }
    }
  }
  return best ? best->id : std::string();
}

const ChildNode* Directory::find(const std::string& id) const {
  for (const auto& c : children_)
    if (c.id == id) return &c;
  return nullptr;
}

}  // namespace simpul
