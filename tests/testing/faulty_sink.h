// A Sink that fails on command: how tests inject storage faults (disk full, database locked,
// I/O error) between the journal writer and the real database.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "storage/batch.h"

namespace hotline::testing {

// Shared between the test, which sets faults, and the sink, which the writer thread calls.
class FaultSwitch {
 public:
  // Every commit fails with `status` until Heal().
  void Fail(absl::Status status) {
    std::lock_guard lock(mu_);
    fault_ = std::move(status);
  }
  void Heal() { Fail(absl::OkStatus()); }
  absl::Status fault() const {
    std::lock_guard lock(mu_);
    return fault_;
  }
  // Every commit waits until Release(), as on a disk that stalls: what goes out before a commit
  // is durable can be told from what waits for it.
  void Hold() {
    std::lock_guard lock(mu_);
    held_ = true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      held_ = false;
    }
    released_.notify_all();
  }
  // Called by the sink: returns once no hold is in force.
  void WaitWhileHeld() {
    std::unique_lock lock(mu_);
    if (held_) {
      ++waiting;
      released_.wait(lock, [this] { return !held_; });
    }
  }
  std::atomic<int> refused{0};
  std::atomic<int> committed{0};
  std::atomic<int> waiting{0};  // Commits that waited for a Release().

 private:
  mutable std::mutex mu_;
  std::condition_variable released_;
  absl::Status fault_;
  bool held_ = false;
};

class FaultySink final : public storage::Sink {
 public:
  FaultySink(storage::Sink& inner, std::shared_ptr<FaultSwitch> faults)
      : inner_(inner), faults_(std::move(faults)) {}

  absl::Status Commit(const storage::Batch& batch) override {
    faults_->WaitWhileHeld();
    if (absl::Status fault = faults_->fault(); !fault.ok()) {
      ++faults_->refused;
      return fault;
    }
    absl::Status s = inner_.Commit(batch);
    if (s.ok()) {
      ++faults_->committed;
    }
    return s;
  }
  absl::StatusOr<bool> CheckpointIfDue(Moment moment) override {
    return inner_.CheckpointIfDue(moment);
  }
  void SetLockWaitHook(std::function<void()> hook) override {
    inner_.SetLockWaitHook(std::move(hook));
  }

 private:
  storage::Sink& inner_;
  std::shared_ptr<FaultSwitch> faults_;
};

}  // namespace hotline::testing
