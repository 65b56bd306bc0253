#include "clients/common/worker.h"

#include <utility>

namespace hotline::clients {

Worker::Worker(int threads) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { Loop(); });
  }
}

Worker::~Worker() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) {
    thread.join();
  }
}

void Worker::Post(std::function<void()> job) {
  absl::MutexLock lock(&mutex_);
  jobs_.push_back(std::move(job));
}

bool Worker::Busy() {
  absl::MutexLock lock(&mutex_);
  return !jobs_.empty() || running_ > 0;
}

void Worker::WaitIdle() {
  absl::MutexLock lock(&mutex_);
  const auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return jobs_.empty() && running_ == 0;
  };
  mutex_.Await(absl::Condition(&idle));
}

void Worker::Loop() {
  bool ran = false;
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mutex_);
      if (ran) {
        --running_;
      }
      const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
        return stopping_ || !jobs_.empty();
      };
      mutex_.Await(absl::Condition(&ready));
      if (stopping_) {
        return;  // What is left unsent was never answered; the caller still holds it.
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
      ran = true;
    }
    job();
  }
}

}  // namespace hotline::clients
