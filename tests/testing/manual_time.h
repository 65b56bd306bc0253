// A TimeSource moved by hand, for daemon tests: Advance() moves the wall and monotonic clocks
// together and fires the timers that became due (posted to their io_context, as a real timer's
// completion would be), and returns once those completions have run; StepSystemTime() moves only
// the wall clock, as NTP does.
//
// Why Advance waits: a completion that re-arms its timer (the supervisors' summary, say) arms it
// from "now". Had the test moved the clock again before the completion ran, the re-arm would land
// a whole step late and never fire: a race no real clock has, since real time does not jump ten
// seconds between a timer's send and its re-arm.
//
// Thread-safe: tests call Advance from their own thread while the engine thread arms timers.
#pragma once

#include <asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "daemon/time_source.h"

namespace hotline::testing {

class ManualTime final : public daemon::TimeSource {
 public:
  // 2026-01-01T00:00:00Z; the monotonic clock starts at an arbitrary point of its own.
  ManualTime() : wall_(routing::Millis(1'767'225'600'000)), mono_(std::chrono::hours(1000)) {}

  routing::Timestamp SystemTime() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  daemon::MonotonicTime MonotonicNow() const override {
    std::lock_guard lock(mu_);
    return mono_;
  }

  std::unique_ptr<daemon::Timer> MakeTimer(asio::io_context& io) override {
    return std::make_unique<ManualTimer>(*this, io);
  }

  // Both clocks move by `by`; every timer due by then fires (posted to its io_context), and
  // Advance returns once each of those io_contexts has run them. Never call it from a thread that
  // runs one of those io_contexts.
  void Advance(routing::Millis by) {
    AdvanceHoldingTimers(by);
    std::set<asio::io_context*> ran;
    {
      std::lock_guard lock(mu_);
      for (const auto& held : held_) {
        ran.insert(held.first);
      }
    }
    DeliverHeld();
    // One marker per io_context, posted after the completions: posted handlers run in order.
    struct Done {
      std::mutex mu;
      std::condition_variable cv;
      size_t left = 0;
    };
    auto done = std::make_shared<Done>();
    done->left = ran.size();
    for (asio::io_context* io : ran) {
      asio::post(*io, [done] {
        std::lock_guard lock(done->mu);
        --done->left;
        done->cv.notify_all();
      });
    }
    std::unique_lock lock(done->mu);
    if (!done->cv.wait_for(lock, std::chrono::seconds(60), [&] { return done->left == 0; })) {
      throw std::runtime_error("ManualTime::Advance: the fired timers did not run within 60 s");
    }
  }

  // Both clocks move, and the timers that fall due are expired but their completions held back,
  // as when the thread that runs them is busy: re-arming or cancelling the timer now cannot take
  // them back (as with Asio). DeliverHeld() posts them.
  void AdvanceHoldingTimers(routing::Millis by) {
    std::lock_guard lock(mu_);
    wall_ += by;
    mono_ += by;
    for (auto it = armed_.begin(); it != armed_.end();) {
      if (it->second.at <= mono_) {
        held_.emplace_back(&it->first->io_, std::move(it->second.fire));
        it = armed_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void DeliverHeld() {
    std::lock_guard lock(mu_);
    for (auto& [io, fire] : held_) {
      asio::post(*io, std::move(fire));
    }
    held_.clear();
  }

  // When the earliest armed timer falls due (monotonic), if any: for a test whose premise is that
  // no timer runs within a step.
  std::optional<daemon::MonotonicTime> NextDue() const {
    std::lock_guard lock(mu_);
    std::optional<daemon::MonotonicTime> next;
    for (const auto& [timer, armed] : armed_) {
      if (!next || armed.at < *next) {
        next = armed.at;
      }
    }
    return next;
  }

  // Only the wall clock moves (forward or back); timers stay where they are.
  void StepSystemTime(routing::Millis by) {
    std::lock_guard lock(mu_);
    wall_ += by;
  }

 private:
  class ManualTimer final : public daemon::Timer {
   public:
    ManualTimer(ManualTime& time, asio::io_context& io) : time_(time), io_(io) {}
    ~ManualTimer() override {
      std::lock_guard lock(time_.mu_);
      time_.armed_.erase(this);
    }
    void ArmAt(daemon::MonotonicTime at, std::function<void()> fire) override {
      std::lock_guard lock(time_.mu_);
      if (at <= time_.mono_) {
        time_.armed_.erase(this);
        asio::post(io_, std::move(fire));
        return;
      }
      time_.armed_[this] = Armed{at, std::move(fire)};
    }
    void Cancel() override {
      std::lock_guard lock(time_.mu_);
      time_.armed_.erase(this);
    }

   private:
    friend class ManualTime;
    ManualTime& time_;
    asio::io_context& io_;
  };

  struct Armed {
    daemon::MonotonicTime at;
    std::function<void()> fire;
  };

  mutable std::mutex mu_;
  routing::Timestamp wall_;
  daemon::MonotonicTime mono_;
  std::map<ManualTimer*, Armed> armed_;
  std::vector<std::pair<asio::io_context*, std::function<void()>>> held_;
};

}  // namespace hotline::testing
