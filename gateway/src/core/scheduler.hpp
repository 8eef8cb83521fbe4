#pragma once
// Delayed callbacks on the io thread, lent by the Node (keeps Asio out of the headers that use
// it: the federation API's long polls, the SLA engine's scans).

#include <functional>

namespace simpul {

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual void after(int ms, std::function<void()> fn) = 0;
};

}  // namespace simpul
