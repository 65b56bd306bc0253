// A simulation scenario: when calls arrive and what they are like, how long callers talk and how
// long they are willing to wait, who staffs the line and when, and the engine settings the run
// uses. Read from a TOML file (docs/simulator.md describes every key); an error names the file,
// the line and the key.
//
// Plain values once loaded; thread-safe to read. No I/O but LoadScenario's one file read.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "routing/engine.h"
#include "routing/policy.h"
#include "routing/types.h"

namespace hotline::sim {

using routing::Millis;
using routing::Timestamp;

// Vietnam's offset from UTC: local hours of arrivals and shifts are Vietnamese hours.
constexpr Millis kLocalOffset{7 * 3'600'000};

// A distribution of durations, in seconds.
struct Distribution {
  enum class Kind { kFixed, kExponential, kLognormal, kUniform };
  Kind kind = Kind::kFixed;
  // kFixed: the value; kExponential and kLognormal: the mean.
  double mean_s = 0;
  // kLognormal: the standard deviation.
  double sd_s = 0;
  // kUniform: the bounds.
  double min_s = 0;
  double max_s = 0;
};

// Values drawn with the given relative weights (any positive scale).
template <class T>
struct Weighted {
  std::vector<T> values;
  std::vector<double> weights;
};

// One roster entry: one named counsellor (count 1) or `count` identical ones named
// "<id>-001", "<id>-002", ...
struct CounsellorGroup {
  std::string id;
  int count = 1;
  std::string home_province;
  std::vector<std::string> provinces;
  std::map<routing::Topic, int> skills;
  std::vector<std::string> languages;
  routing::Gender gender = routing::Gender::kUnspecified;
  // Local hours [start, end) every day; end <= start crosses midnight; {0, 24} is all day.
  std::vector<std::pair<int, int>> shifts;
};

struct Scenario {
  // The file it came from, for messages.
  std::string source;
  uint64_t seed = 1;
  // The first instant simulated: `start_hour` (local) of `start_date`.
  Timestamp start{};
  Millis duration{24 * 3'600'000};
  // Calls arriving before start + warm_up run but are left out of the report.
  Millis warm_up{0};
  // Mean arrivals per local hour of day (a Poisson process, piecewise constant).
  std::array<double, 24> calls_per_hour{};
  Weighted<std::string> provinces;
  Weighted<std::string> languages;
  Weighted<routing::Topic> topics;
  Weighted<routing::Priority> priorities;
  // From connected to ended.
  Distribution talk;
  // How long a caller waits before hanging up; absent: callers never hang up.
  std::optional<Distribution> patience;
  // From an offer ringing to the counsellor accepting it.
  Distribution accept_delay;
  // From the call's end to the disposition. Past the engine's wrap-up deadline the engine ends
  // the wrap-up itself.
  Distribution wrap_up;
  // The service-level target: answered within this wait.
  Millis answer_target{20'000};
  // Routing::Policy::Default() and EngineOptions{} with the scenario's [engine] overrides, and
  // its [regions] (none: every province unknown, every call routed at national scope).
  routing::EngineOptions engine;
  routing::Policy policy = routing::Policy::Default();
  std::vector<CounsellorGroup> counsellors;
};

// Parses a scenario's text; `source` names it in errors ("<source>:<line>: <key>: <what>").
// INVALID_ARGUMENT for a syntax error, an unknown key, a value of the wrong type or out of range.
[[nodiscard]] absl::StatusOr<Scenario> ParseScenario(const std::string& text,
                                                    const std::string& source);

// Reads and parses a scenario file. NOT_FOUND if it cannot be read; else as ParseScenario.
[[nodiscard]] absl::StatusOr<Scenario> LoadScenario(const std::string& path);

// The stretches `group` is on duty within the scenario's span, in order: each shift of each
// day, clipped to the span, with back-to-back or overlapping shifts merged into one.
std::vector<std::pair<Timestamp, Timestamp>> ShiftIntervals(const Scenario& scenario,
                                                            const CounsellorGroup& group);

// "day 3 14:05": `t` as the scenario's day (from 1) and local time, for progress lines.
std::string ClockText(const Scenario& scenario, Timestamp t);

// The ids of the roster, in roster order: a group of count n gives n ids.
std::vector<std::string> CounsellorIds(const CounsellorGroup& group);

}  // namespace hotline::sim
