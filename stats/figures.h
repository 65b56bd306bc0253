// The supervision figures (service level, abandonment, speed of answer, handling time,
// occupancy, answers in the caller's own province and centre) and the counters they come from.
//
// Pure and deterministic, like routing/: no I/O, no clock, no threads. Whoever owns a Tally,
// Timeline or PresenceClock feeds it times it read itself (the daemon: on the engine thread;
// reports: from the database). Not thread-safe: each object has one owner thread.
//
// Definitions (docs/supervision.md repeats them for supervisors):
//   - A call counts in a period when its wait is DECIDED in it: answered (at the answer) or not
//     (when it left the queue: hang-up, time-out, callback chosen, rejection, failure).
//   - offered            = answered + abandoned + short_abandoned + other_unanswered.
//   - answered_in_target = answered with wait <= 20 s (<= 10 s for EMERGENCY priority); the wait
//                          is decided_at - arrived_at. Exactly 20 s (10 s) is in target.
//   - short_abandoned    = hung up while waiting (outcome ABANDONED) after a wait < 5 s; kept
//                          apart and out of the rates. Exactly 5 s is a (normal) abandon.
//   - abandoned          = outcome ABANDONED after a wait >= 5 s.
//   - other_unanswered   = every other unanswered outcome: timed out, callback requested,
//                          rejected, failed (also COMPLETED without an answer, which the engine
//                          never records).
//   - service_level      = answered_in_target / (offered - short_abandoned).
//   - abandonment_rate   = abandoned / (offered - short_abandoned).
//   - ASA (average_speed_of_answer) = answer_wait_ms / answered.
//   - AHT (average_handling_time)   = handle_ms / handled; handling = talk + wrap-up of one call,
//                          counted when its wrap-up ends (in the period the wrap-up ends in).
//   - occupancy          = busy_ms / staffed_ms. Busy: ON_CALL or WRAP_UP. Staffed: signed in
//                          and not on BREAK (AVAILABLE, RESERVED, ON_CALL, WRAP_UP). RESERVED (an
//                          offer ringing) is staffed but NOT busy: the counsellor is not yet
//                          working a call, and counting ringing time would make missed offers
//                          look like work.
//   - answered_in_own_province / _centre: answered by a counsellor who serves the caller's
//                          province / some province of the caller's centre (the own-province
//                          ones are among the own-centre ones).
// A ratio is absent (nullopt) when its denominator is 0; ASA and AHT are 0 then. Means are
// rounded to the nearest millisecond (halves up).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "routing/types.h"

namespace hotline::stats {

using routing::Millis;
using routing::Timestamp;

// The targets of the definitions above; defaults are the helpline's.
struct Targets {
  Millis answer{20'000};
  Millis emergency_answer{10'000};
  Millis short_abandon{5'000};
};

// A call's wait was decided: answered (at the answer) or not (when it left the queue).
struct WaitDecided {
  routing::Priority priority = routing::Priority::kNormal;
  Timestamp arrived_at{};
  // answered_at, or when it left the queue unanswered.
  Timestamp decided_at{};
  bool answered = false;
  // For unanswered calls: kAbandoned counts as an abandon (short under Targets::short_abandon),
  // everything else as other_unanswered. Ignored for answered calls.
  routing::Outcome outcome = routing::Outcome::kCompleted;
  // Answered by a counsellor serving the caller's province.
  bool own_province = false;
  // ... serving some province of the caller's centre (includes own province).
  bool own_centre = false;
};

// Additive counters; every figure is derived from these. Milliseconds are summed exactly.
struct Tally {
  int64_t offered = 0, answered = 0, answered_in_target = 0, abandoned = 0, short_abandoned = 0,
          other_unanswered = 0, answer_wait_ms = 0, handled = 0, handle_ms = 0, busy_ms = 0,
          staffed_ms = 0, answered_in_own_province = 0, answered_in_own_centre = 0;

  Tally& operator+=(const Tally& o);
  bool operator==(const Tally&) const = default;
};

// Counts one decided wait. A negative wait (a clock stepped back) counts as 0.
void CountWait(Tally& t, const WaitDecided& w, const Targets& targets = {});
// Counts one handled call: talk + wrap-up. A negative time counts as 0.
void CountHandled(Tally& t, Millis handle_time);

// The figures of a Tally; mirrors hotline.v1.Figures.
struct Figures {
  int64_t offered = 0, answered = 0, answered_in_target = 0, abandoned = 0, short_abandoned = 0,
          other_unanswered = 0;
  std::optional<double> service_level, abandonment_rate, occupancy;
  Millis average_speed_of_answer{0};
  int64_t handled = 0;
  Millis average_handling_time{0};
  int64_t answered_in_own_province = 0, answered_in_own_centre = 0;

  bool operator==(const Figures&) const = default;
};

Figures Derive(const Tally& t);

// Sets `w.own_province` and `w.own_centre` for a call from `province` answered by a counsellor who
// serves `served` (their home province included); `centre_of` gives a province's centre, empty
// when unknown.
void JudgeOwnership(WaitDecided& w, const std::string& province,
                    const std::vector<std::string>& served,
                    const std::function<std::string(const std::string&)>& centre_of);

// Whether time in `state` counts as busy / staffed for occupancy (see the definitions above).
bool IsBusy(routing::CounsellorState state);
bool IsStaffed(routing::CounsellorState state);

// The start of the minute `t` falls in (floor, also before 1970).
Timestamp MinuteStart(Timestamp t);

// Per-minute buckets of Tally (bucket = floor(unix ms / 60000)); bounded: keeps at most `minutes`
// buckets, those of the `minutes` minutes up to and including the newest minute added. An Add
// for a minute older than that is dropped; memory is fixed at construction.
class Timeline {
 public:
  // REQUIRES: minutes >= 1.
  explicit Timeline(int minutes = 26 * 60);

  // Adds `t` to the bucket of the minute `at` falls in.
  void Add(Timestamp at, const Tally& t);
  // The sum of the buckets whose minute STARTS in [from, to). Rounding: a `from` inside a minute
  // leaves that minute out, a `to` inside a minute takes it in; so Sum(now - 15 min, now) is
  // always exactly 15 buckets, the last one the current, partial minute. Buckets already dropped
  // by the bound or by ForgetBefore count as empty.
  Tally Sum(Timestamp from, Timestamp to) const;
  // Drops the buckets whose minute starts before `t` (so Sum(from >= t, ...) is unchanged).
  void ForgetBefore(Timestamp t);

  int minutes() const { return static_cast<int>(buckets_.size()); }

 private:
  struct Bucket {
    int64_t minute = 0;
    bool used = false;
    Tally tally;
  };
  const Bucket* Find(int64_t minute) const;

  // Ring buffer indexed by minute modulo its size; a slot holding another minute is empty.
  std::vector<Bucket> buckets_;
  // The newest minute added; valid when any_.
  int64_t newest_ = 0;
  bool any_ = false;
};

// Turns presence changes into busy (ON_CALL, WRAP_UP) and staffed (signed in and not on BREAK:
// AVAILABLE, RESERVED, ON_CALL, WRAP_UP) milliseconds, split exactly across minute buckets.
// Each counsellor has at most one open interval: from their last change to now.
class PresenceClock {
 public:
  // Closes the counsellor's open interval at `at` (adding its busy and staffed time to `into`,
  // each part to the bucket of its own minute) and opens one in `state`; OFFLINE opens none.
  // A change earlier than the open interval's start (a clock stepped back) closes it empty and
  // reopens it at its old start, so no time is counted twice.
  void Change(const std::string& counsellor_id, routing::CounsellorState state, Timestamp at,
              Timeline& into);
  // Adds the still-open intervals up to `now` (without closing them) to `t`, for the part inside
  // [from, now) exactly. Timeline::Sum counts whole minutes from the first one starting at or
  // after `from`: pass a minute-aligned `from` (MinuteStart(now) - 14 min, say) so both cover
  // the same span.
  void AddOpen(Timestamp from, Timestamp now, Tally& t) const;
  // Drops the counsellor's open interval without counting it (a counsellor removed).
  void Forget(const std::string& counsellor_id);

 private:
  struct Open {
    routing::CounsellorState state = routing::CounsellorState::kOffline;
    Timestamp since{};
  };
  std::unordered_map<std::string, Open> open_;
};

// Calls `fn(slice_start, part)` for each part of [begin, end) cut where the wall clock, shifted
// by `offset`, crosses a multiple of `slice` (minutes: slice 1 min, offset 0; local hours: slice
// 1 h, offset +7 h), in time order; `slice_start` is the start of the slice the part lies in.
// Nothing for an empty or reversed interval. REQUIRES: slice > 0.
void ForEachSlice(Timestamp begin, Timestamp end, Millis slice, Millis offset,
                  const std::function<void(Timestamp slice_start, Millis part)>& fn);

}  // namespace hotline::stats
