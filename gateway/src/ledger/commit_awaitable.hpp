#pragma once
// Awaiting a group commit from a coroutine on an io_context. Internal: includes Asio.

#include <boost/asio.hpp>
#include <memory>

#include "ledger/commit_queue.hpp"

namespace simpul {

// Runs `work` through the group commit and resumes the awaiting coroutine on `ioc` with the
// commit's result. A plain function returning Asio's awaitable, not a coroutine: GCC 12 destroys
// by-value coroutine parameters twice when the call is the operand of co_await (seen under ASan).
inline auto commit_awaitable(boost::asio::io_context& ioc, CommitQueue& writer,
                             std::shared_ptr<CommitQueue::Work> work) {
  namespace asio = boost::asio;
  return asio::async_initiate<decltype(asio::use_awaitable), void(errc)>(
      [&ioc, &writer, work](auto handler) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        writer.submit([work](Ledger& l) { (*work)(l); },
                      [h, &ioc](errc e) { asio::post(ioc, [h, e] { (*h)(e); }); });
      },
      asio::use_awaitable);
}

}  // namespace simpul
