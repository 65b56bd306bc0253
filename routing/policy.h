// The routing policy: the ladders calls climb while they wait, and how a counsellor is chosen.
// Loaded from deploy/policy.toml by the daemon (routing does no I/O), validated, and replaceable
// at run time (Engine::SetPolicy) without losing or reordering a waiting call.
//
// Plain values; thread-safe to read.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "routing/regions.h"
#include "routing/types.h"

namespace hotline::routing {

// Who may take a call at a step.
enum class Scope { kProvince = 1, kCentre = 2, kNational = 3 };
// Whether a match (language, counsellor gender) is a condition or only a preference.
enum class Need { kRequired = 1, kPreferred = 2 };
// How the eligible counsellor is chosen; ties always go to the lower counsellor id.
enum class Strategy { kLongestIdle = 1, kMostSkilled = 2, kFewestCallsToday = 3, kRoundRobin = 4 };

std::string_view Name(Scope s);
std::string_view Name(Strategy s);

struct LadderStep {
  Scope scope = Scope::kNational;
  // Lowest proficiency (1-5) in the call's topic a counsellor needs.
  int min_proficiency = 1;
  Need language = Need::kRequired;
  Need gender = Need::kPreferred;
  // How long the call stays on this step. The last step lasts until the maximum wait, and its
  // duration is ignored.
  Millis duration_ms{0};

  bool operator==(const LadderStep&) const = default;
};

struct Ladder {
  std::vector<LadderStep> steps;
  bool operator==(const Ladder&) const = default;
};

struct Policy {
  // The region tree (from deploy/regions.toml).
  RegionTable regions;
  // For calls no other ladder names.
  Ladder default_ladder;
  // Per-priority ladders win over per-topic ones.
  std::map<Priority, Ladder> priority_ladders;
  std::map<Topic, Ladder> topic_ladders;
  Strategy strategy = Strategy::kLongestIdle;
  // Wrap-up time per topic; topics not listed use EngineOptions::wrap_up_ms.
  std::map<Topic, Millis> wrap_up_ms;
  // After a call marked heavy: a break this long before the next offer, then available again.
  Millis cool_down_ms{300'000};
  // After this many heavy calls in a row the cool-down does not end by itself: the counsellor
  // (or a supervisor) decides when they are ready again.
  int max_heavy_in_row = 3;
  // A caller who was answered within this window is a repeat caller: offered first to the
  // counsellor who answered them last...
  Millis repeat_window_ms{7 * 24 * 3'600'000};
  // ...who, if signed in but busy, is waited for this long before routing goes on as usual.
  Millis repeat_wait_ms{30'000};

  bool operator==(const Policy&) const = default;

  // The ladder for a call.
  const Ladder& LadderFor(Priority priority, Topic topic) const;

  // The helpline's defaults (DESIGN.md §3): province 20 s, centre 40 s, national until the
  // maximum wait; EMERGENCY starts national. No regions.
  static Policy Default();
};

// Checks a policy: every ladder has at least one step, proficiencies are 1-5, every step but the
// last has a positive duration, and the regions are consistent. INVALID_ARGUMENT naming the
// ladder and step ("ladders.topic.abuse_report[1].min_proficiency: ...").
absl::Status Validate(const Policy& policy);

}  // namespace hotline::routing
