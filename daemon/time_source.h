// The daemon's one source of time, as Envoy's TimeSource: a wall part (what is recorded) and a
// monotonic part (what timers are scheduled on), and the timers themselves. The real one reads
// the system clocks and arms Asio steady timers; tests substitute a manual one
// (tests/testing/manual_time.h) and move both parts by hand, so no daemon test waits for a real
// timer.
//
// Thread-safety: SystemTime and MonotonicTime may be called from any thread. A Timer belongs to
// the io_context it was made for: arm and cancel it on that context's thread; `fire` runs there.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "routing/types.h"

namespace hotline::daemon {

using MonotonicTime = std::chrono::steady_clock::time_point;

// A one-shot wake-up on an io_context.
class Timer {
 public:
  virtual ~Timer() = default;
  // Runs `fire` on the context's thread once the monotonic clock reaches `at`, replacing any
  // earlier arming. A replaced or cancelled arming may still run its `fire` if it was already
  // due: callers compare the deadline they armed for (see EngineHost::ArmTimer).
  virtual void ArmAt(MonotonicTime at, std::function<void()> fire) = 0;
  virtual void Cancel() = 0;
};

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  // The wall clock: may step (NTP, an operator). Only ever recorded, never waited on.
  virtual routing::Timestamp SystemTime() const = 0;
  // Never goes back, never steps.
  virtual MonotonicTime MonotonicNow() const = 0;
  virtual std::unique_ptr<Timer> MakeTimer(asio::io_context& io) = 0;
};

// The system's clocks and Asio steady timers.
class RealTimeSource final : public TimeSource {
 public:
  routing::Timestamp SystemTime() const override;
  MonotonicTime MonotonicNow() const override;
  std::unique_ptr<Timer> MakeTimer(asio::io_context& io) override;
};

}  // namespace hotline::daemon
