// The simulator's report: what happened to the scenario's calls and how busy its counsellors
// were, from the engine's own records (CallFinished, PresenceChanged), with the supervision
// figures defined as in stats/figures.h (service level, abandonment, occupancy) plus what a
// staffing study needs: the share of calls that waited at all, the mean and 90th-percentile
// wait, per priority, per province and per local hour of arrival.
//
// Calls that arrived before `count_from` (the warm-up) are left out, and so is presence time
// before it. Not thread-safe: one owner.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "routing/types.h"
#include "stats/figures.h"

namespace hotline::sim {

using routing::Millis;
using routing::Timestamp;

// The figures of one set of calls.
struct GroupFigures {
  // Every call decided: answered or not.
  int64_t calls = 0;
  int64_t answered = 0;
  // Hung up while waiting (ABANDONED), short ones included; `short_abandoned` of them under 5 s.
  int64_t abandoned = 0;
  int64_t short_abandoned = 0;
  // Past the maximum wait: the gateway offered a callback (TIMED_OUT or CALLBACK_REQUESTED).
  int64_t callbacks = 0;
  // Answered or not, waited more than 0 ms before the answer or before leaving.
  int64_t waited = 0;
  // Service level as stats::Derive defines it; nullopt with no calls.
  std::optional<double> service_level;
  // Over answered calls: the wait from arrival to the answer.
  double mean_wait_s = 0;
  double p90_wait_s = 0;
};

// `text` as a JSON string literal, quotes included.
std::string JsonString(std::string_view text);

class Report final {
 public:
  Report(stats::Targets targets, Timestamp count_from);

  void CallFinished(const routing::CallRecord& record);
  void PresenceChanged(const routing::PresenceChange& change);
  // Closes every counsellor's open presence interval at `end`.
  void Close(Timestamp end);

  GroupFigures Overall() const { return Figures(overall_); }
  std::map<std::string, GroupFigures> ByProvince() const;
  std::map<routing::Priority, GroupFigures> ByPriority() const;
  // By the local (Vietnamese) hour of day the calls arrived in, 0-23.
  std::map<int, GroupFigures> ByHour() const;
  // busy (ON_CALL, WRAP_UP) / staffed (signed in, not on BREAK); nullopt without staffed time.
  std::optional<double> Occupancy() const;

  // Human-readable lines; `header` first (what ran, how fast).
  std::string Text(const std::string& header) const;
  // One JSON object; `run` holds further members ("\"seed\": 1, ...", may be empty).
  std::string Json(const std::string& run) const;

 private:
  struct Group {
    stats::Tally tally;
    int64_t abandoned = 0;
    int64_t callbacks = 0;
    int64_t waited = 0;
    std::vector<int64_t> answer_waits_ms;
  };
  struct Open {
    routing::CounsellorState state = routing::CounsellorState::kOffline;
    Timestamp since{};
  };

  static void Count(Group& g, const routing::CallRecord& record, const stats::Targets& targets);
  static GroupFigures Figures(const Group& g);
  void CloseInterval(const Open& open, Timestamp end);

  const stats::Targets targets_;
  const Timestamp count_from_;
  Group overall_;
  std::map<std::string, Group> by_province_;
  std::map<routing::Priority, Group> by_priority_;
  std::map<int, Group> by_hour_;
  std::map<std::string, Open> open_;
  int64_t busy_ms_ = 0;
  int64_t staffed_ms_ = 0;
};

}  // namespace hotline::sim
