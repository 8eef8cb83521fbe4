#pragma once
// Helpers for the loops that run on the node's io thread as coroutines. Internal: includes Asio.

#include <boost/asio.hpp>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "relay/relay.hpp"
#include "store/store.hpp"

namespace simpul {

inline std::string what_of(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// A sink's send run as a coroutine (`make(batch)` returns it): an exception in it is a failure
// of the whole batch, which the relay logs and waits out, never the end of the relay.
template <class Make>
void send_as_coroutine(boost::asio::io_context& ioc, std::vector<QueuedEvent> batch,
                       std::function<void(Delivery)> done, Make make) {
  std::vector<std::int64_t> ids;
  for (const auto& q : batch) ids.push_back(q.id);
  boost::asio::co_spawn(
      ioc, make(std::move(batch)),
      [done = std::move(done), ids = std::move(ids)](std::exception_ptr ep, Delivery d) {
        if (!ep) return done(std::move(d));
        Delivery failed;
        failed.failed = ids;
        failed.failure = Failure{"internal error: " + what_of(ep)};
        done(std::move(failed));
      });
}

// A loop's starting state (a feed cursor) read from the store: asked again every second, with a
// log line, until the store answers; never taken as empty, which would start the feed over
// (once a cursor read that failed made the lapor link poll the hub from "0"). False when the
// node stopped first. `read` is a caller's named local (GCC 12 destroys a coroutine's by-value
// parameters of class type twice when the call is the operand of co_await).
template <class Read>
boost::asio::awaitable<bool> read_at_start(boost::asio::io_context& ioc, const char* loop,
                                           const bool& stopping, Read& read) {
  boost::asio::steady_timer t(ioc);
  while (!stopping) {
    bool done = false;
    try {
      read();
      done = true;
    } catch (const StoreError& e) {
      log::error("loop.state_unreadable",
                 {{"loop", loop}, {"error", code_name(e.code())}, {"retry_in_ms", 1000}});
    }
    if (done) co_return true;
    t.expires_after(std::chrono::seconds(1));
    co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  co_return false;
}

}  // namespace simpul
