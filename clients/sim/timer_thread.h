// A thread that runs tasks at given times: the simulator's arrivals, hang-ups and call ends.
//
// Tasks due at the same instant run in the order they were added. Tasks run one at a time on the
// timer thread, so a slow task delays the ones behind it.
//
// Thread-safe: At and Stop may be called from any thread, including from inside a task.
#pragma once

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>

#include <chrono>
#include <functional>
#include <map>
#include <thread>

namespace hotline::clients {

class TimerThread final {
 public:
  using Clock = std::chrono::steady_clock;

  TimerThread();
  // Stops (see Stop) and joins the thread.
  ~TimerThread();

  TimerThread(const TimerThread&) = delete;
  TimerThread& operator=(const TimerThread&) = delete;

  // Runs `task` on the timer thread at `when` (at once if it is past). Ignored after Stop.
  void At(Clock::time_point when, std::function<void()> task);

  // Drops every pending task and ends the thread; a task already running finishes first unless
  // Stop is called from inside it. Idempotent.
  void Stop();

 private:
  void Loop();

  absl::Mutex mutex_;
  absl::CondVar wake_;  // Signalled when a task is added or on Stop.
  std::multimap<Clock::time_point, std::function<void()>> tasks_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;  // Last: starts once the members it reads exist.
};

}  // namespace hotline::clients
