#pragma once
// The sealer: after start, brings every reporter's identity and raw payload in the store under
// the current store key (Store::seal_step): what an older key sealed is sealed again (a key
// rotation), what was written in the clear (a store from before schema 11) is sealed in place.
// One step per commit (500 rows), queued behind the node's other writes, until a step finds
// nothing left; then it is done until the next start (the keys only change with a restart).
// Where it got to is the cursor `store.sealed_through`; `simpul status` shows the rows under
// each key. Runs on the io thread; the writes go through the group commit.

#include <functional>
#include <memory>

#include "core/metrics.hpp"
#include "ledger/commit_queue.hpp"
#include "store/store.hpp"

namespace simpul {

class Sealer {
 public:
  using Post = std::function<void(std::function<void()>)>;  // run on the io thread
  Sealer(CommitQueue& writer, Post post, Metrics& metrics, int batch = 500);
  ~Sealer();
  void start();
  void stop();
  static constexpr const char* kCursor = "store.sealed_through";

 private:
  void step();
  CommitQueue& writer_;
  Post post_;
  Metrics& metrics_;
  int batch_;
  bool stopping_ = false;
  std::int64_t resealed_ = 0, sealed_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace simpul
