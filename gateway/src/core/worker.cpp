#include "core/worker.hpp"

namespace simpul {

bool WorkerThread::submit(std::function<void()> job) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  jobs_.push_back(std::move(job));
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  cv_.notify_one();
  return true;
}

void WorkerThread::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void WorkerThread::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, and nothing left that was given
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();  // the caller's jobs do not throw (ConnectorContext::blocking catches)
  }
}

}  // namespace simpul
