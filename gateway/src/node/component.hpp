#pragma once
// One part of a running node, named by its config section: the HTTP API ("http"), the
// federation API for child nodes ("children"), the link to the tier above ("upstream"), the
// connectors ("connectors"); later the SLA engine and the dashboard. The node (node/node.cpp)
// lists its components in one place and drives them all the same way.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace simpul {

namespace http {
class Router;
}

class Component {
 public:
  virtual ~Component() = default;
  virtual std::string_view name() const = 0;  // its config section
  virtual void add_routes(http::Router& router) { (void)router; }
  // Before anything listens (the upstream link recovers this node's past here).
  virtual void start() {}
  // The node is stopping: take nothing new in.
  virtual void stop() {}
  // A group commit finished (on the io thread): new rows to send, parked polls to answer.
  virtual void committed() {}
  // What /readyz shows of it beyond the store: check name -> (state, last error).
  using Check = std::pair<std::string, std::pair<std::string, std::string>>;
  virtual std::vector<Check> checks() const { return {}; }
};

}  // namespace simpul
