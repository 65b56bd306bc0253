// The scenario's roster as real desks of a running hotlined, for live scenarios (--desks): the
// counsellors are created through AdminService under an id prefix, each opens DeskService.Watch
// with its own token and goes AVAILABLE, accepts every offer after the scenario's accept delay
// and records every call after its wrap-up time (both divided by the time scale); at the end
// they sign out and are removed.
//
// Shifts are not followed live: every counsellor of the roster is signed in for the whole run.
//
// Thread-safe: one reader thread per desk, one timer thread for the delayed answers; Start and
// Stop from the owner's thread.
#pragma once

#include <absl/status/status.h>
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
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
  // `prefix` starts every counsellor id (lowercase letters, digits, '-', '_').
  SimDesks(std::string server, std::string admin_token, const sim::Scenario& scenario,
           double time_scale, std::string prefix);
  // Stops (see Stop).
  ~SimDesks();

  SimDesks(const SimDesks&) = delete;
  SimDesks& operator=(const SimDesks&) = delete;

  // Creates the roster and signs every desk in; returns once all are AVAILABLE. The daemon's
  // refusal (a bad token, an id already taken) comes back with the counsellor's id; the
  // counsellors created so far are removed by Stop.
  [[nodiscard]] absl::Status Start();
  // Signs every desk out, closes them and removes the counsellors. Idempotent.
  void Stop();

  // How many offers were accepted and dispositions submitted, and answers refused.
  std::string Summary() const;

 private:
  struct Desk;

  absl::Status Create(Desk& desk);
  void WatchLoop(Desk& desk);
  void Accept(Desk& desk, const std::string& call_id);
  void Dispose(Desk& desk, const std::string& call_id);
  grpc::Status SetPresence(Desk& desk, hotline::v1::CounsellorState state);
  void SetAvailable(Desk& desk);
  // Records the desk's last call if it is in wrap-up, then signs it out.
  void SignOut(Desk& desk);
  std::chrono::milliseconds Scaled(const sim::Distribution& d);

  const std::string server_;
  const std::string admin_token_;
  const sim::Scenario& scenario_;
  const double time_scale_;
  const std::string prefix_;
  std::vector<std::unique_ptr<Desk>> desks_;
  std::atomic<bool> stopped_ = false;

  mutable absl::Mutex mutex_;
  sim::Random random_ ABSL_GUARDED_BY(mutex_);
  int accepted_ ABSL_GUARDED_BY(mutex_) = 0;
  int disposed_ ABSL_GUARDED_BY(mutex_) = 0;
  int refused_ ABSL_GUARDED_BY(mutex_) = 0;
  int available_ ABSL_GUARDED_BY(mutex_) = 0;

  // Last: destroyed (its thread joined) before anything its tasks touch.
  TimerThread timers_;
};

}  // namespace hotline::clients
