#pragma once
// One thread that runs jobs in the order given: where a connector's blocking calls (a database
// driver, a file) go so that the io thread never waits for them. Started at the first job;
// stop() takes no new job, runs the ones already given (a caller that wants them skipped says
// so to its own jobs first), and joins.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace simpul {

class WorkerThread {
 public:
  WorkerThread() = default;
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;
  ~WorkerThread() { stop(); }

  // False once stopped (the job is not taken).
  bool submit(std::function<void()> job);
  void stop();

 private:
  void run();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace simpul
