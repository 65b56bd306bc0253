// The QueueSummary of supervisor.proto: waiting calls counted by centre, province and priority,
// the alerts, and the hour's chart. Built at most once a second (it walks every live call once),
// never per input.
#pragma once

#include <deque>
#include <string>

#include "hotline/v1/supervisor.pb.h"
#include "routing/engine.h"

namespace hotline::daemon {

// Alert thresholds (docs/supervision.md).
inline constexpr routing::Millis kEmergencyAlertAfter{10'000};
inline constexpr routing::Millis kLongWaitAlertAfter{60'000};
inline constexpr double kServiceLevelTarget = 0.8;
// At most this many alerts of one kind (the longest waits first); more are said in the last one.
inline constexpr int kAlertsPerKind = 10;
// The chart: one point a minute over the last hour.
inline constexpr size_t kHistoryPoints = 60;

struct SummaryInput {
  const routing::Engine& engine;
  routing::Timestamp now;
  // Waiting calls listed in full in the view (the rest are counted only).
  size_t view_calls = 0;
  bool storage_serving = true;
  v1::LiveFigures figures;
  const std::deque<v1::HistoryPoint>& history;
};

v1::QueueSummary BuildSummary(const SummaryInput& in);

// A service level under the target as the alert says it: a whole percent rounded, as the
// supervisor's screens show the figure ("32 %" for 0.3167, where it said "31 %" beside the
// screen's "32%"), or with one decimal cut short when rounding would reach the target ("79.9 %"
// for 0.7996, never "80 %, under the 80 % target").
std::string ServiceLevelPercent(double fraction);

}  // namespace hotline::daemon
