#include "clients/sim/live_run.h"

#include <absl/synchronization/mutex.h>
#include <absl/time/clock.h>
#include <absl/time/time.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string_view>
#include <thread>

#include "clients/sim/call_generator.h"
#include "clients/sim/report.h"
#include "clients/sim/sim_desks.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds Real(routing::Millis simulated, double scale) {
  return std::chrono::milliseconds(
      std::llround(static_cast<double>(simulated.count()) / scale));
}

routing::Millis Simulated(Clock::duration real, double scale) {
  const double ms = std::chrono::duration<double, std::milli>(real).count();
  return routing::Millis(std::llround(ms * scale));
}

routing::Outcome OutcomeOf(const std::string& outcome) {
  if (outcome == "ended") {
    return routing::Outcome::kCompleted;
  }
  if (outcome == "hung up") {
    return routing::Outcome::kAbandoned;
  }
  if (outcome == "timed out") {
    return routing::Outcome::kTimedOut;
  }
  return outcome == "rejected" ? routing::Outcome::kRejected : routing::Outcome::kFailed;
}

// The call's fate as the engine would have recorded it, in simulated time.
routing::CallRecord Record(const sim::Scenario& scenario, const PlacedCall& placed, double scale) {
  routing::CallRecord record;
  record.call.province = placed.call.province;
  record.call.priority = static_cast<routing::Priority>(static_cast<int>(placed.call.priority));
  record.call.arrived_at = scenario.start + routing::Millis(std::llround(
                                                static_cast<double>(placed.call.at.count()) *
                                                scale));
  if (placed.connected) {
    record.answered_at = record.call.arrived_at + Simulated(*placed.connected - placed.arrived, scale);
  }
  record.ended_at = record.call.arrived_at + Simulated(placed.over - placed.arrived, scale);
  record.outcome = OutcomeOf(placed.outcome);
  return record;
}

// SIGINT and SIGTERM end a live run cleanly: the gateway winds down (callers hang up, calls
// end), the simulated desks record their last calls, sign out and their counsellors are
// removed, and the report covers the calls so far.
// The signals are blocked in every thread (so gRPC's never see them) and taken by sigwait on
// one thread of our own.
class Interrupts final {
 public:
  Interrupts() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    // Before any other thread exists: they all inherit the mask.
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] { Wait(); });
  }
  ~Interrupts() {
    {
      absl::MutexLock lock(&mutex_);
      over_ = true;
    }
    // Wakes the sigwait; with over_ set it is not taken for an interrupt.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  // What to do on a signal (wind the gateway down); run at once if one came already.
  void OnSignal(std::function<void()> stop) {
    absl::MutexLock lock(&mutex_);
    stop_ = std::move(stop);
    if (interrupted_) {
      stop_();
    }
  }
  bool interrupted() {
    absl::MutexLock lock(&mutex_);
    return interrupted_;
  }

 private:
  void Wait() {
    int signal = 0;
    sigwait(&signals_, &signal);
    absl::MutexLock lock(&mutex_);
    if (over_) {
      return;
    }
    interrupted_ = true;
    std::fprintf(stderr, "\ninterrupted: stopping the run\n");
    if (stop_) {
      stop_();
    }
  }

  sigset_t signals_;
  absl::Mutex mutex_;
  std::function<void()> stop_ ABSL_GUARDED_BY(mutex_);
  bool interrupted_ ABSL_GUARDED_BY(mutex_) = false;
  bool over_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

bool HasAdminToken(const LiveOptions& options, std::string_view flag) {
  if (options.admin_token.empty()) {
    std::fprintf(stderr,
                 "error: %s needs the admin token: set HOTLINE_ADMIN_TOKEN or "
                 "--admin-token-file\n",
                 std::string(flag).c_str());
    return false;
  }
  return true;
}

}  // namespace

int RunLive(const sim::Scenario& scenario, const SimOptions& gateway, const LiveOptions& options) {
  Interrupts interrupts;
  sim::Report report(stats::Targets{.answer = scenario.answer_target,
                                    .emergency_answer = std::min(scenario.answer_target,
                                                                 routing::Millis(10'000)),
                                    .short_abandon = routing::Millis(5'000)},
                     scenario.start + scenario.warm_up);
  // The gateway's call fates and the desks' presence both reach the report, from their threads.
  absl::Mutex report_mutex;
  bool report_closed = false;  // Guarded by report_mutex: later sign-outs are not counted.
  // Real time maps to simulated time from here: the gateway starts its plan a round trip later.
  Clock::time_point run_start = Clock::now();
  const auto simulated = [&](Clock::time_point t) {
    return scenario.start + Simulated(t - run_start, options.time_scale);
  };
  std::unique_ptr<SimDesks> desks;
  if (options.desks) {
    if (!HasAdminToken(options, "--desks")) {
      return 2;
    }
    desks = std::make_unique<SimDesks>(
        gateway.server, options.admin_token, scenario, options.time_scale,
        fmt::format("sim{}-", getpid()),
        [&](const std::string& id, routing::CounsellorState state, Clock::time_point at) {
          absl::MutexLock lock(&report_mutex);
          if (report_closed) {
            return;
          }
          report.PresenceChanged(routing::PresenceChange{.counsellor_id = id,
                                                         .state = state,
                                                         .reason = routing::BreakReason::kNone,
                                                         .at = simulated(at),
                                                         .call_id = ""});
        });
    if (absl::Status s = desks->Start(); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    if (interrupts.interrupted()) {
      return 130;  // ~SimDesks removes the counsellors.
    }
  }

  sim::CallGenerator generator(scenario);
  // Distinct per run, so a second run against the same database is not a crowd of repeat
  // callers.
  const std::string first_number = fmt::format("+849{:05}00000", getpid() % 100'000);
  int64_t finished = 0;
  CallPlan plan;
  plan.quiet = true;
  plan.next = [&]() -> std::optional<PlannedCall> {
    std::optional<sim::SimCall> call = generator.Next();
    if (!call) {
      return std::nullopt;
    }
    return PlannedCall{
        .at = Real(call->arrival - scenario.start, options.time_scale),
        .number = CallerNumber(first_number, static_cast<int>(call->n)),
        .province = call->province,
        .language = call->language,
        .topic = static_cast<v1::Topic>(static_cast<int>(call->topic)),
        .priority = static_cast<v1::Priority>(static_cast<int>(call->priority)),
        .gender_preference = v1::GENDER_UNSPECIFIED,
        .talk = Real(call->talk, options.time_scale),
        // 0 means never to the gateway: a patience that rounds to 0 is a hang-up at once.
        .hang_up_after = call->patience ? std::max(std::chrono::milliseconds(1),
                                                   Real(*call->patience, options.time_scale))
                                        : std::chrono::milliseconds(0)};
  };
  plan.on_open = [&interrupts](std::function<void()> wind_down) {
    interrupts.OnSignal(std::move(wind_down));
  };
  plan.finished = [&](const PlacedCall& placed) {
    absl::MutexLock lock(&report_mutex);
    report.CallFinished(Record(scenario, placed, options.time_scale));
    ++finished;
    if (options.progress) {
      std::fprintf(stderr, "\r%s: %lld calls finished   ",
                   sim::ClockText(scenario, simulated(placed.over)).c_str(),
                   static_cast<long long>(finished));
    }
  };
  {
    // The desks signed in meanwhile: their presence so far counts from the run's start.
    absl::MutexLock lock(&report_mutex);
    run_start = Clock::now();
  }
  if (desks) {
    desks->FollowShifts(run_start);
  }
  const int code = RunGatewaySim(gateway, std::move(plan));
  const double wall_s = std::chrono::duration<double>(Clock::now() - run_start).count();
  if (options.progress) {
    std::fprintf(stderr, "\n");
  }
  std::string desk_summary;
  if (desks) {
    {
      // Occupancy covers the run up to its last call, not the sign-out.
      absl::MutexLock lock(&report_mutex);
      report.Close(simulated(Clock::now()));
      report_closed = true;
    }
    desks->Stop();
    desk_summary = desks->Summary();
  }
  const std::string run =
      options.json
          ? fmt::format("\"scenario\": {}, \"seed\": {}, \"time_scale\": {}, "
                        "\"wall_seconds\": {:.3f}",
                        sim::JsonString(scenario.source), scenario.seed, options.time_scale, wall_s)
          : fmt::format("scenario {} (seed {}) live at {}x: {:.1f} s of real time{}{}",
                        scenario.source, scenario.seed, options.time_scale, wall_s,
                        desk_summary.empty() ? "" : "; ", desk_summary);
  std::printf("%s\n", options.json ? report.Json(run).c_str() : report.Text(run).c_str());
  // 128 + SIGINT, as a shell reports a program Ctrl-C stopped.
  return interrupts.interrupted() ? 130 : code;
}

int RunDesksOnly(const sim::Scenario& scenario, const std::string& server,
                 const LiveOptions& options) {
  Interrupts interrupts;
  if (!HasAdminToken(options, "--desks-only")) {
    return 2;
  }
  SimDesks desks(server, options.admin_token, scenario, options.time_scale,
                 fmt::format("sim{}-", getpid()));
  if (absl::Status s = desks.Start(); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const Clock::time_point run_start = Clock::now();
  desks.FollowShifts(run_start);
  std::fprintf(stderr, "desks ready: answering calls for %.1f s of real time\n",
               std::chrono::duration<double>(Real(scenario.duration, options.time_scale)).count());
  // The signal only ends the wait: the desks wind down below, on this thread, as at the end.
  absl::Mutex mutex;
  bool stop = false;
  interrupts.OnSignal([&] {
    absl::MutexLock lock(&mutex);
    stop = true;
  });
  {
    absl::MutexLock lock(&mutex);
    mutex.AwaitWithDeadline(absl::Condition(&stop),
                            absl::Now() + absl::FromChrono(Real(scenario.duration,
                                                                options.time_scale)));
  }
  desks.Stop();
  const double wall_s = std::chrono::duration<double>(Clock::now() - run_start).count();
  std::printf("scenario %s desks only at %gx: %.1f s of real time; %s\n", scenario.source.c_str(),
              options.time_scale, wall_s, desks.Summary().c_str());
  return interrupts.interrupted() ? 130 : 0;
}

}  // namespace hotline::clients
