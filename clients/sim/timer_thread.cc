#include "clients/sim/timer_thread.h"

#include <absl/time/time.h>

#include <utility>

namespace hotline::clients {

TimerThread::TimerThread() : thread_([this] { Loop(); }) {}

TimerThread::~TimerThread() { Stop(); }

void TimerThread::At(Clock::time_point when, std::function<void()> task) {
  absl::MutexLock lock(&mutex_);
  if (!stopping_) {
    tasks_.emplace(when, std::move(task));
    wake_.Signal();
  }
}

void TimerThread::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    tasks_.clear();
    wake_.Signal();
  }
  // A task may stop the timer (the simulator ends from a timer); joining itself would deadlock.
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

void TimerThread::Loop() {
  absl::MutexLock lock(&mutex_);
  while (!stopping_) {
    if (tasks_.empty()) {
      wake_.Wait(&mutex_);
      continue;
    }
    const Clock::duration wait = tasks_.begin()->first - Clock::now();
    if (wait > Clock::duration::zero()) {
      // Woken early by a new task or Stop; the loop then re-examines the queue.
      wake_.WaitWithTimeout(&mutex_, absl::FromChrono(wait));
      continue;
    }
    std::function<void()> task = std::move(tasks_.begin()->second);
    tasks_.erase(tasks_.begin());
    // Tasks take other locks and write to the stream; never hold ours while they run.
    mutex_.Unlock();
    task();
    mutex_.Lock();
  }
}

}  // namespace hotline::clients
