#include "connectors/context.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/log.hpp"
#include "core/worker.hpp"

namespace simpul {

namespace asio = boost::asio;

// Shared with every callback in flight: `open` is read and written on the io thread only.
struct NodeConnectorContext::State {
  bool open = true;
  WorkerThread worker;
};

NodeConnectorContext::NodeConnectorContext(asio::io_context& ioc, std::string id, Metrics& metrics,
                                           std::function<TimeMs()> clock, Fetcher fetcher)
    : ioc_(ioc),
      id_(std::move(id)),
      metrics_(metrics),
      clock_(std::move(clock)),
      fetcher_(std::move(fetcher)),
      state_(std::make_shared<State>()) {}

NodeConnectorContext::~NodeConnectorContext() { stop(); }

void NodeConnectorContext::stop() {
  state_->open = false;
  state_->worker.stop();
}

void NodeConnectorContext::after(int ms, std::function<void()> fn) {
  auto t = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(ms));
  t->async_wait([t, state = state_, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec && state->open) fn();
  });
}

void NodeConnectorContext::fetch(FetchRequest req,
                                 std::function<void(Result<FetchResponse>)> done) {
  fetcher_(std::move(req), [state = state_, done = std::move(done)](Result<FetchResponse> r) {
    if (state->open) done(std::move(r));
  });
}

void NodeConnectorContext::log_info(std::string_view event, std::string_view detail) {
  log::info(event, {{"connector", id_}, {"detail", detail}});
}

void NodeConnectorContext::log_warn(std::string_view event, std::string_view detail) {
  log::warn(event, {{"connector", id_}, {"detail", detail}});
}

void NodeConnectorContext::count(std::string_view name, double v) {
  metrics_.add("simpul_connector_" + std::string(name) + "_total",
               Metrics::labels({{"connector", id_}}), v);
}

void NodeConnectorContext::run_blocking(std::function<void()> work, std::function<void()> done) {
  // The job holds the state, not this context: a context that goes away joins the worker first
  // (stop), and a job that finishes afterwards finds the state closed.
  // The io context counts the job as its own work until `done` is posted: a loop that runs it
  // until it has nothing left to do (`simpul connector test`) waits for the job.
  std::weak_ptr<State> weak = state_;
  auto guard = asio::make_work_guard(ioc_);
  state_->worker.submit(
      [weak, guard = std::move(guard), work = std::move(work), done = std::move(done)]() mutable {
        work();
        asio::post(guard.get_executor(), [weak, done = std::move(done)] {
          if (auto state = weak.lock(); state && state->open) done();
        });
        guard.reset();
      });
}

}  // namespace simpul
