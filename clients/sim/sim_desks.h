// The scenario's roster as real desks of a running hotlined, for live scenarios (--desks): the
// counsellors are created through AdminService under an id prefix, each opens DeskService.Watch
// with its own token, goes AVAILABLE while on shift, accepts every offer after the scenario's
// accept delay and records every call after its wrap-up time (all divided by the time scale);
// at the end of a shift a counsellor finishes the call in hand and signs out. At the end of the
// run they all sign out and are removed.
//
// Thread-safe: one reader thread per desk, one timer thread for the delayed answers; Start and
// Stop from the owner's thread.
#pragma once

#include <absl/status/status.h>
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clients/sim/call_generator.h"
#include "clients/sim/scenario.h"
#include "clients/sim/timer_thread.h"
#include "hotline/v1/common.pb.h"

namespace hotline::clients {

class SimDesks final {
 public:
  // Every state change a desk is told of: the counsellor's id (prefix included), the new state,
  // when the desk heard of it. Called on the desks' reader threads.
  using PresenceHook = std::function<void(const std::string& counsellor_id,
                                          routing::CounsellorState state,
                                          std::chrono::steady_clock::time_point at)>;

  // `prefix` starts every counsellor id (lowercase letters, digits, '-', '_').
  SimDesks(std::string server, std::string admin_token, const sim::Scenario& scenario,
           double time_scale, std::string prefix, PresenceHook on_presence = {});
  // Stops (see Stop).
  ~SimDesks();

  SimDesks(const SimDesks&) = delete;
  SimDesks& operator=(const SimDesks&) = delete;

  // Creates the roster, opens every desk and signs in those on shift at the scenario's start;
  // returns once they are AVAILABLE. The daemon's refusal (a bad token, an id already taken)
  // comes back with the counsellor's id; the counsellors created so far are removed by Stop.
  [[nodiscard]] absl::Status Start();
  // Signs desks in and out by their shifts from now on, `run_start` being the scenario's start.
  void FollowShifts(std::chrono::steady_clock::time_point run_start);
  // Signs every desk out, closes them and removes the counsellors. Idempotent.
  void Stop();

  // How many offers came and were accepted, dispositions submitted, and answers refused.
  std::string Summary() const;

 private:
  struct Desk;

  absl::Status Create(Desk& desk);
  void WatchLoop(Desk& desk);
  void Accept(Desk& desk, const std::string& call_id);
  void Dispose(Desk& desk, const std::string& call_id);
  grpc::Status SetPresence(Desk& desk, hotline::v1::CounsellorState state);
  void SetAvailable(Desk& desk);
  void ShiftStarts(Desk& desk);
  void ShiftEnds(Desk& desk);
  bool OnShift(Desk& desk);
  // Records the desk's last call if it is in wrap-up, then signs it out.
  void SignOut(Desk& desk);
  std::chrono::milliseconds Scaled(const sim::Distribution& d);

  const std::string server_;
  const std::string admin_token_;
  const sim::Scenario& scenario_;
  const double time_scale_;
  const std::string prefix_;
  const PresenceHook on_presence_;
  std::vector<std::unique_ptr<Desk>> desks_;
  std::atomic<bool> stopped_ = false;

  mutable absl::Mutex mutex_;
  sim::Random random_ ABSL_GUARDED_BY(mutex_);
  int offers_ ABSL_GUARDED_BY(mutex_) = 0;
  int accepted_ ABSL_GUARDED_BY(mutex_) = 0;
  int disposed_ ABSL_GUARDED_BY(mutex_) = 0;
  int refused_ ABSL_GUARDED_BY(mutex_) = 0;
  int available_ ABSL_GUARDED_BY(mutex_) = 0;
  // Desks whose Watch is open (its first event came).
  int open_ ABSL_GUARDED_BY(mutex_) = 0;

  // Last: destroyed (its thread joined) before anything its tasks touch.
  TimerThread timers_;
};

}  // namespace hotline::clients
