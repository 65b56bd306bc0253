// Jobs run on threads of the client's own, so that the thread which posts them (a screen, a
// stream's reader, stdin's) never waits for the network.
#pragma once

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>

#include <deque>
#include <functional>
#include <thread>
#include <vector>

namespace hotline::clients {

// Runs the jobs posted, in the order posted, on `threads` threads: with one, each job after the
// one before has ended; with more, a job starts as soon as a thread is free, so that a request
// whose answer is held (the daemon waiting for its database) does not hold the next. Jobs left
// queued when it is destroyed never run; the running ones are waited for. Thread-safe.
class Worker final {
 public:
  explicit Worker(int threads = 1);
  ~Worker();

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Post(std::function<void()> job);

  // True while a job is queued or running.
  bool Busy();

  // Returns once no job is queued or running. Not from one of the worker's own jobs.
  void WaitIdle();

 private:
  void Loop();

  absl::Mutex mutex_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mutex_);
  int running_ ABSL_GUARDED_BY(mutex_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace hotline::clients
