// Virtual time: a scenario run through the routing engine in this process, on a simulated
// clock, as fast as the CPU allows. The engine is the daemon's own (routing::Engine, pure and
// deterministic); around it an event loop plays the gateway and the counsellors: arrivals,
// callers hanging up when their patience runs out, offers accepted after a drawn delay, calls
// connected at once and ended after their talk time, dispositions after a drawn wrap-up, and
// counsellors signing in and out by their shifts.
//
// The same scenario gives the same report, always. Not thread-safe: runs on the caller's thread.
#pragma once

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "clients/sim/report.h"
#include "clients/sim/scenario.h"

namespace hotline::sim {

struct Progress {
  // Simulated time reached.
  Timestamp now{};
  int64_t arrived = 0;
  int64_t finished = 0;
  // Calls not yet finished (waiting, ringing, talking or in wrap-up).
  int64_t in_progress = 0;
};

struct VirtualResult {
  std::unique_ptr<Report> report;
  int64_t calls = 0;
  // Engine inputs processed (events and timer ticks).
  int64_t inputs = 0;
  // Inputs the engine refused: expected only for races the scenario allows (an accept after the
  // caller hung up, a hang-up at the instant of the answer), counted to show none is lost.
  int64_t refused = 0;
  // When the last call was finished (at least the scenario's end).
  Timestamp finished_at{};
};

// Runs `scenario`. `progress`, if set, is called now and then (every few thousand inputs) and
// once at the end. INVALID_ARGUMENT if the scenario's policy or roster is refused by the engine
// (e.g. two counsellors with one id).
[[nodiscard]] absl::StatusOr<VirtualResult> RunVirtual(
    const Scenario& scenario, const std::function<void(const Progress&)>& progress = {});

}  // namespace hotline::sim
