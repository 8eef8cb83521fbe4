#pragma once
// The node's ConnectorContext (simpul/connector.hpp) for one connector instance: timers on the
// io thread, HTTP through the runtime's pooled connections, log lines and counters tagged with
// the instance's id, and one worker thread for the instance's blocking work. stop() (the node
// drains) lets what the connector started finish: the running blocking job, fetches in flight,
// its timers; blocking jobs not started are answered "the node is stopping" without running.
// Once the context is gone nothing calls back into the connector.

#include <functional>
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "simpul/connector.hpp"

namespace boost::asio {
class io_context;
}

namespace simpul {

class NodeConnectorContext final : public ConnectorContext {
 public:
  using Fetcher =
      std::function<void(FetchRequest, std::function<void(Result<FetchResponse>)> done)>;
  NodeConnectorContext(boost::asio::io_context& ioc, std::string id, Metrics& metrics,
                       std::function<TimeMs()> clock, Fetcher fetcher);
  ~NodeConnectorContext() override;

  const std::string& connector_id() const override { return id_; }
  TimeMs now() const override { return clock_(); }
  void after(int ms, std::function<void()> fn) override;
  void fetch(FetchRequest req, std::function<void(Result<FetchResponse>)> done) override;
  void log_info(std::string_view event, std::string_view detail) override;
  void log_warn(std::string_view event, std::string_view detail) override;
  void count(std::string_view name, double v = 1) override;

  // The running blocking job ends; the ones not started are answered without running.
  void stop();

 protected:
  void run_blocking(std::function<void()> work, std::function<void()> done) override;

 private:
  struct State;
  boost::asio::io_context& ioc_;
  std::string id_;
  Metrics& metrics_;
  std::function<TimeMs()> clock_;
  Fetcher fetcher_;
  std::shared_ptr<State> state_;
};

}  // namespace simpul
