#pragma once
// Every loop the node spawns on its io thread (the relays, the links' pull loops, the connectors'
// poll loops) runs under the supervisor, so none dies silently: a loop that ends by an exception
// is logged (`loop.failed`, with the error), counted (`simpul_loop_failures_total{loop}`), shown
// in /readyz's checks (`loop:<name>`) and in `simpul status`, and started again after a wait
// (1 s, doubled per failure in a row, at most a minute). A loop that returns while the node is
// not stopping is logged (`loop.ended`) and shown as stopped. Internal: includes Asio's
// awaitable.

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace simpul {
class Metrics;

class Supervisor {
 public:
  Supervisor(boost::asio::io_context& ioc, Metrics& metrics);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Runs the coroutine `make` returns, and a new one from `make` after each failure. `name` is
  // stable (a metric label): "upstream.push", "connector.apekesah.relay", ... A `task` is
  // done when it returns (start-up recovery); a loop that returns has stopped.
  enum class Kind { loop, task };
  void spawn(std::string name, std::function<boost::asio::awaitable<void>()> make,
             Kind kind = Kind::loop);
  // The node is stopping: loops that end now are not restarted or reported.
  void stop();
  // Loops that failed and have not run a minute since, or stopped: name -> state and error.
  struct Trouble {
    std::string loop, state, error;  // state: "restarting" or "stopped"
  };
  std::vector<Trouble> troubles() const;
  std::vector<std::string> names() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace simpul
