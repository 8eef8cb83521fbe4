#include "relay/relay.hpp"

#include <algorithm>
#include <boost/asio.hpp>

#include "core/log.hpp"
#include "ledger/commit_awaitable.hpp"
#include "relay/supervisor.hpp"

namespace simpul {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

namespace {
constexpr int kIdleWaitMs = 1000;        // an empty outbox is read again at least this often
constexpr int kUnreadableWaitMs = 1000;  // the store could not be read
constexpr int kLostCommitWaitMs = 500;   // the settling commit failed
}  // namespace

struct Relay::Impl : std::enable_shared_from_this<Relay::Impl> {
  Impl(asio::io_context& ioc, Store& reader, CommitQueue& writer, std::function<TimeMs()> clock,
       std::string destination, std::string scope, RelaySink& sink, LinkHealth& health)
      : ioc(ioc),
        reader(reader),
        writer(writer),
        clock(std::move(clock)),
        destination(std::move(destination)),
        scope(std::move(scope)),
        sink(sink),
        health(health),
        wake_timer(ioc),
        wait_timer(ioc) {}

  asio::io_context& ioc;
  Store& reader;
  CommitQueue& writer;
  std::function<TimeMs()> clock;
  const std::string destination, scope;
  RelaySink& sink;
  LinkHealth& health;
  asio::steady_timer wake_timer;  // the idle wait, cut short by wake()
  asio::steady_timer wait_timer;  // a failure's wait, cut short only by stop()
  bool stopping = false;

  awaitable<void> wait(asio::steady_timer& t, std::int64_t ms) {
    t.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(ms, 0)));
    co_await t.async_wait(asio::as_tuple(use_awaitable));
  }

  auto send(std::vector<QueuedEvent> batch) {
    return asio::async_initiate<decltype(use_awaitable), void(Delivery)>(
        [this, batch = std::move(batch)](auto handler) mutable {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          auto io = &ioc;
          sink.send(std::move(batch), [h, io](Delivery d) {
            asio::post(*io, [h, d = std::move(d)]() mutable { (*h)(std::move(d)); });
          });
        },
        use_awaitable);
  }

  awaitable<void> loop() {
    auto self = shared_from_this();
    while (!stopping) {
      std::vector<QueuedEvent> batch;
      bool readable = true;
      try {
        batch = reader.due_outbox(destination, clock(), std::max(1, sink.batch_limit()));
      } catch (const StoreError& e) {
        log::error(scope + ".outbox_read_failed",
                   {{"destination", destination}, {"error", code_name(e.code())}});
        readable = false;
      }
      if (!readable) {
        co_await wait(wait_timer, kUnreadableWaitMs);
        continue;
      }
      if (batch.empty()) {
        co_await wait(wake_timer, kIdleWaitMs);
        continue;
      }
      Delivery d = co_await send(batch);
      if (stopping) break;  // what was not settled stays pending, and is sent again next time
      if (d.done.empty() && d.dead.empty() && d.later.empty() && d.failed.empty() && !d.failure &&
          !d.also)
        continue;  // the sink took nothing (it will send less): read again at once
      std::int64_t delay = 0;
      if (d.failure) {
        delay = health.failed(LinkHealth::pushing, *d.failure);
        log::warn(scope + ".push_failed", {{"destination", destination},
                                           {"error", d.failure->what},
                                           {"events", d.failed.size()},
                                           {"retry_in_ms", delay}});
      }
      const TimeMs now = clock();
      const std::string dest = destination;
      const std::string why = d.failure ? d.failure->what : std::string();
      auto settled = std::make_shared<Delivery>(std::move(d));
      auto work = std::make_shared<CommitQueue::Work>([settled, dest, why, now, delay](Ledger& l) {
        Store& s = l.store();
        for (auto id : settled->later)
          s.outbox_failed(id, "the peer asked to be sent it again (it was not ready for it yet)",
                          now + kAgainMs);
        for (auto id : settled->failed) s.outbox_failed(id, why, now + delay);
        for (const auto& [id, reason] : settled->dead) s.outbox_dead(id, dest, reason, now);
        for (auto id : settled->done) s.outbox_done(id);
        if (settled->also) settled->also(l);
      });
      if (co_await commit_awaitable(ioc, writer, work) != errc::ok) {
        sink.settle_lost(batch);
        co_await wait(wait_timer, std::max<std::int64_t>(delay, kLostCommitWaitMs));
        continue;
      }
      sink.settled(*settled);
      for (const auto& [id, reason] : settled->dead)
        log::warn(scope + ".rejected",
                  {{"destination", destination}, {"outbox_id", id}, {"reason", reason}});
      if (!settled->failure) health.succeeded(LinkHealth::pushing);
      if (delay > 0) co_await wait(wait_timer, delay);
    }
  }
};

Relay::Relay(asio::io_context& ioc, Store& reader, CommitQueue& writer,
             std::function<TimeMs()> clock, Destination destination, std::string scope,
             RelaySink& sink, LinkHealth& health)
    : impl_(std::make_shared<Impl>(ioc, reader, writer, std::move(clock), destination.name(),
                                   std::move(scope), sink, health)) {}

Relay::~Relay() { stop(); }

void Relay::start(Supervisor& supervisor, const std::string& name) {
  auto impl = impl_;
  supervisor.spawn(name, [impl] { return impl->loop(); });
}

void Relay::stop() {
  impl_->stopping = true;
  impl_->wake_timer.cancel();
  impl_->wait_timer.cancel();
}

void Relay::wake() { impl_->wake_timer.cancel(); }

}  // namespace simpul
