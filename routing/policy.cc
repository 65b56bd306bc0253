#include "routing/policy.h"

#include "absl/strings/str_cat.h"

namespace hotline::routing {

std::string_view Name(Scope s) {
  switch (s) {
    case Scope::kProvince:
      return "province";
    case Scope::kCentre:
      return "centre";
    case Scope::kNational:
      return "national";
  }
  return "?";
}

std::string_view Name(Strategy s) {
  switch (s) {
    case Strategy::kLongestIdle:
      return "longest_idle";
    case Strategy::kMostSkilled:
      return "most_skilled";
    case Strategy::kFewestCallsToday:
      return "fewest_calls_today";
    case Strategy::kRoundRobin:
      return "round_robin";
  }
  return "?";
}

const Ladder& Policy::LadderFor(Priority priority, Topic topic) const {
  if (auto it = priority_ladders.find(priority); it != priority_ladders.end()) {
    return it->second;
  }
  if (auto it = topic_ladders.find(topic); it != topic_ladders.end()) {
    return it->second;
  }
  return default_ladder;
}

Policy Policy::Default() {
  Policy p;
  p.default_ladder.steps = {
      LadderStep{Scope::kProvince, 1, Need::kRequired, Need::kPreferred, Millis(20'000)},
      LadderStep{Scope::kCentre, 1, Need::kRequired, Need::kPreferred, Millis(40'000)},
      LadderStep{Scope::kNational, 1, Need::kRequired, Need::kPreferred, Millis(0)},
  };
  p.priority_ladders[Priority::kEmergency].steps = {
      LadderStep{Scope::kNational, 1, Need::kPreferred, Need::kPreferred, Millis(0)},
  };
  return p;
}

namespace {

absl::Status ValidateLadder(const Ladder& ladder, const std::string& name) {
  if (ladder.steps.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": a ladder needs at least one step"));
  }
  for (size_t i = 0; i < ladder.steps.size(); ++i) {
    const LadderStep& step = ladder.steps[i];
    const std::string field = absl::StrCat(name, "[", i, "]");
    if (step.min_proficiency < 1 || step.min_proficiency > 5) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".min_proficiency: must be 1 to 5"));
    }
    if (i + 1 < ladder.steps.size() && step.duration_ms <= Millis(0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field,
                       ".duration_ms: must be positive (only the last step lasts until the maximum "
                       "wait)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(const Policy& policy) {
  for (const auto& [topic, wrap_up] : policy.wrap_up_ms) {
    if (wrap_up <= Millis(0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("wrap_up_ms.", std::string(Name(topic)), ": must be positive"));
    }
  }
  if (policy.cool_down_ms < Millis(0)) {
    return absl::InvalidArgumentError("wellbeing.cool_down_ms: must not be negative");
  }
  if (policy.repeat_window_ms < Millis(0) || policy.repeat_wait_ms < Millis(0)) {
    return absl::InvalidArgumentError("repeat_callers: windows must not be negative");
  }
  if (policy.max_heavy_in_row < 1) {
    return absl::InvalidArgumentError("wellbeing.max_heavy_in_row: must be at least 1");
  }
  if (absl::Status s = ValidateLadder(policy.default_ladder, "ladders.default"); !s.ok()) {
    return s;
  }
  for (const auto& [priority, ladder] : policy.priority_ladders) {
    if (absl::Status s =
            ValidateLadder(ladder, absl::StrCat("ladders.priority.", std::string(Name(priority))));
        !s.ok()) {
      return s;
    }
  }
  for (const auto& [topic, ladder] : policy.topic_ladders) {
    if (absl::Status s =
            ValidateLadder(ladder, absl::StrCat("ladders.topic.", std::string(Name(topic))));
        !s.ok()) {
      return s;
    }
  }
  return Regions::Create(policy.regions).status();
}

}  // namespace hotline::routing
