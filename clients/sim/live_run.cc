#include "clients/sim/live_run.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

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

}  // namespace

int RunLive(const sim::Scenario& scenario, const SimOptions& gateway, const LiveOptions& options) {
  std::unique_ptr<SimDesks> desks;
  if (options.desks) {
    if (options.admin_token.empty()) {
      std::fprintf(stderr,
                   "error: --desks needs the admin token: set HOTLINE_ADMIN_TOKEN or "
                   "--admin-token-file\n");
      return 2;
    }
    desks = std::make_unique<SimDesks>(gateway.server, options.admin_token, scenario,
                                       options.time_scale, fmt::format("sim{}-", getpid()));
    if (absl::Status s = desks->Start(); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
      return 1;
    }
  }

  sim::CallGenerator generator(scenario);
  sim::Report report(stats::Targets{.answer = scenario.answer_target,
                                    .emergency_answer = std::min(scenario.answer_target,
                                                                 routing::Millis(10'000)),
                                    .short_abandon = routing::Millis(5'000)},
                     scenario.start + scenario.warm_up);
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
  plan.finished = [&](const PlacedCall& placed) {
    report.CallFinished(Record(scenario, placed, options.time_scale));
    ++finished;
    if (options.progress) {
      std::fprintf(stderr, "\r%lld calls finished   ", static_cast<long long>(finished));
    }
  };
  const auto started = Clock::now();
  const int code = RunGatewaySim(gateway, std::move(plan));
  const double wall_s = std::chrono::duration<double>(Clock::now() - started).count();
  if (options.progress) {
    std::fprintf(stderr, "\n");
  }
  std::string desk_summary;
  if (desks) {
    desks->Stop();
    desk_summary = desks->Summary();
  }
  const std::string run =
      options.json
          ? fmt::format("\"scenario\": \"{}\", \"seed\": {}, \"time_scale\": {}, "
                        "\"wall_seconds\": {:.3f}",
                        scenario.source, scenario.seed, options.time_scale, wall_s)
          : fmt::format("scenario {} (seed {}) live at {}x: {:.1f} s of real time{}{}",
                        scenario.source, scenario.seed, options.time_scale, wall_s,
                        desk_summary.empty() ? "" : "; ", desk_summary);
  std::printf("%s\n", options.json ? report.Json(run).c_str() : report.Text(run).c_str());
  return code;
}

}  // namespace hotline::clients
