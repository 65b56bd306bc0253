// The live figures of the supervisors' queue summary (supervisor.proto LiveFigures): the last 15
// minutes and today (since local midnight, Vietnam time), by the definitions of stats/figures.h.
//
// Fed on the engine thread from the engine's effects: a call's wait counts when it is answered
// (DeskCallConnected) or leaves the queue unanswered (CallFinished without an answer), its
// handling when its wrap-up ends (CallFinished), and every presence change moves the occupancy
// clock. At start-up, Load() adds what the database holds for today, so the figures survive
// a restart. Memory is fixed: 26 hours of one-minute buckets, one open interval per counsellor.
#pragma once

#include <optional>
#include <vector>

#include "hotline/v1/supervisor.pb.h"
#include "routing/engine.h"
#include "stats/figures.h"

namespace hotline::daemon {

class LiveFigures final {
 public:
  // Counts the effects of one input, decided at `at`. `engine` is the state after them.
  void Count(const std::vector<routing::Effect>& effects, routing::Timestamp at,
             const routing::Engine& engine);
  // A call answered at `at` by `counsellor` (null when no longer known).
  void CountAnswer(const routing::CallInfo& call, routing::Timestamp at,
                   const routing::CounsellorProfile* counsellor, const routing::Regions& regions);
  // A finished call: its handling when it was answered, else its unanswered wait.
  void CountFinished(const routing::CallRecord& record);
  void CountPresence(const std::string& counsellor_id, routing::CounsellorState state,
                     routing::Timestamp at);

  v1::LiveFigures Figures(routing::Timestamp now) const;
  // The service level over the 15 minutes ending at `end` (for the chart); absent with no call.
  std::optional<double> ServiceLevel(routing::Timestamp end) const;


 private:
  stats::Tally Window(routing::Timestamp from, routing::Timestamp now) const;

  stats::Timeline timeline_;
  stats::PresenceClock presence_;
};

// Local midnight (Vietnam, UTC+7 all year) at or before `t`.
routing::Timestamp LocalMidnight(routing::Timestamp t);

}  // namespace hotline::daemon
