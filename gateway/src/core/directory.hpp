#pragma once
// Where complaints go below this node: the child nodes from config (`children`), each serving
// some Kemendagri region codes and some agencies. Immutable after construction; thread-safe.

#include <string>
#include <vector>

#include "simpul/model.hpp"

namespace simpul {

struct ChildNode {
  std::string id;
  std::vector<std::string> regions;   // "21.71" serves "21.71" and everything below it
  std::vector<std::string> agencies;  // agency codes disposed to this child
  // How it proves its identity: token, certificate or both (its own `auth`, else
  // federation.child_auth; config.hpp).
  std::string auth = "token";
};

class Directory {
 public:
  Directory() = default;
  explicit Directory(std::vector<ChildNode> children);

  // The child responsible for the complaint now: the one serving its current agency, else the
  // one with the longest region prefix; "" when no child serves it (it stays at this tier).
  std::string route(const Complaint& c) const;
  const ChildNode* find(const std::string& id) const;
  const std::vector<ChildNode>& children() const { return children_; }
  bool empty() const { return children_.empty(); }

 private:
  std::vector<ChildNode> children_;
};

// Whether `region` is `prefix` or lies below it ("21.71.05" is below "21.71").
bool region_within(const std::string& region, const std::string& prefix);

}  // namespace simpul
