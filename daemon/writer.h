// The journal writer: group commit on its own thread.
//
// The engine thread hands over one Unit per handled input: the rows to write (journal record,
// call and presence rows, idempotency answers, counsellor changes), the messages its decisions
// send (offers, commands, queue views) and the answers it owes (event acknowledgements, replies).
// The writer takes every unit queued since its last commit and writes them in ONE transaction, so
// durability costs one commit per batch, not per event; then it runs the units' sends, then their
// answers, each in order.
//
// When a commit fails (disk full, database locked, I/O error) the writer keeps the batch, reports
// the fault once through `on_health(false)`, and retries with a growing pause, merging what
// arrives meanwhile. Routing goes on from memory: sends run at once while commits fail. Answers
// wait: nothing is acknowledged until it is written. When a retry succeeds it reports
// `on_health(true)` and carries on.
//
// Thread-safe: Submit from any thread (in practice the engine thread); the rest runs on the
// writer's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/store.h"

namespace hotline::daemon {

class Writer final {
 public:
  struct Unit {
    storage::Batch batch;
    // Messages the decisions send: once durable, or at once while the store fails.
    std::vector<std::function<void()>> sends;
    // Acknowledgements and replies: only once durable.
    std::vector<std::function<void()>> answers;
    bool empty() const { return batch.empty() && sends.empty() && answers.empty(); }
  };

  // `sink` must outlive the Writer. `on_health` runs on the writer thread.
  Writer(storage::Sink& sink, std::function<void(bool healthy)> on_health);
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer();

  void Submit(Unit unit);

  // False while commits are failing.
  bool healthy() const { return healthy_.load(); }

  // Writes what is queued (retrying a failing store until `patience` runs out), then stops the
  // thread. Units that could not be written are dropped, with an error logged: they were never
  // acknowledged. Idempotent.
  void Stop(std::chrono::milliseconds patience);

 private:
  void Run();
  // Appends `from` to `into`.
  static void Merge(Unit& into, Unit&& from);

  storage::Sink& sink_;
  const std::function<void(bool)> on_health_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Unit> queue_;                            // Guarded by mu_.
  bool stopping_ = false;                             // Guarded by mu_.
  std::chrono::steady_clock::time_point give_up_at_;  // Guarded by mu_.
  std::atomic<bool> healthy_ = true;
  std::thread thread_;
};

}  // namespace hotline::daemon
