#include "connectors/context.hpp"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/log.hpp"
#include "core/worker.hpp"

namespace simpul {

namespace asio = boost::asio;

// Owned by the context; callbacks in flight hold it weakly (a context gone calls nothing back).
// `stopping` is shared with the worker's jobs, which never hold the state itself (its end joins
// the worker thread).
struct NodeConnectorContext::State {
  std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
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
  *state_->stopping = true;
  state_->worker.stop();
}

void NodeConnectorContext::after(int ms, std::function<void()> fn) {
  auto t = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(ms));
  std::weak_ptr<State> weak = state_;
  t->async_wait([t, weak, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec && weak.lock()) fn();
  });
}

void NodeConnectorContext::fetch(FetchRequest req,
                                 std::function<void(Result<FetchResponse>)> done) {
  std::weak_ptr<State> weak = state_;
  fetcher_(std::move(req), [weak, done = std::move(done)](Result<FetchResponse> r) {
    if (weak.lock()) done(std::move(r));
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
  // The job holds the state weakly and its stopping flag: a context that goes away stops and
  // joins the worker first, and an answer posted after that calls nothing. The io context counts
  // the job as its own work until `done` is posted: a loop that runs it until it has nothing left
  // to do (`simpul connector test`) waits for the job.
  std::weak_ptr<State> weak = state_;
  if (*state_->stopping) {  // stopped already: answered without running
    asio::post(ioc_, [weak, done = std::move(done)] {
      if (weak.lock()) done();
    });
    return;
  }
  auto guard = asio::make_work_guard(ioc_);
  state_->worker.submit([weak, stopping = state_->stopping, guard = std::move(guard),
                         work = std::move(work), done = std::move(done)]() mutable {
    if (!*stopping) work();
    asio::post(guard.get_executor(), [weak, done = std::move(done)] {
      if (weak.lock()) done();
    });
    guard.reset();
  });
}

}  // namespace simpul
