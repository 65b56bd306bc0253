#include "stats/figures.h"

#include <algorithm>
#include <cstdlib>

#include "routing/check.h"

namespace hotline::stats {
namespace {

constexpr int64_t kMinuteMs = 60'000;

// Floor division: the minute of an instant before 1970 is the one it lies in, not the next.
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t MinuteOf(Timestamp t) { return FloorDiv(routing::ToUnixMillis(t), kMinuteMs); }

// The minute starting at or after `t`.
int64_t FirstMinuteFrom(Timestamp t) { return -FloorDiv(-routing::ToUnixMillis(t), kMinuteMs); }

// Rounded to the nearest millisecond, halves up; 0 without a denominator.
Millis Mean(int64_t total_ms, int64_t count) {
  if (count <= 0) {
    return Millis(0);
  }
  return Millis(FloorDiv(2 * total_ms + count, 2 * count));
}

std::optional<double> Ratio(int64_t numerator, int64_t denominator) {
  if (denominator <= 0) {
    return std::nullopt;
  }
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}

}  // namespace

Tally& Tally::operator+=(const Tally& o) {
  offered += o.offered;
  answered += o.answered;
  answered_in_target += o.answered_in_target;
  abandoned += o.abandoned;
  short_abandoned += o.short_abandoned;
  other_unanswered += o.other_unanswered;
  answer_wait_ms += o.answer_wait_ms;
  handled += o.handled;
  handle_ms += o.handle_ms;
  busy_ms += o.busy_ms;
  staffed_ms += o.staffed_ms;
  answered_in_own_province += o.answered_in_own_province;
  answered_in_own_centre += o.answered_in_own_centre;
  return *this;
}

void CountWait(Tally& t, const WaitDecided& w, const Targets& targets) {
  const Millis wait = std::max(Millis(0), w.decided_at - w.arrived_at);
  ++t.offered;
  if (w.answered) {
    ++t.answered;
    t.answer_wait_ms += wait.count();
    const Millis target =
        w.priority == routing::Priority::kEmergency ? targets.emergency_answer : targets.answer;
    if (wait <= target) {
      ++t.answered_in_target;
    }
    if (w.own_province) {
      ++t.answered_in_own_province;
    }
    // Serving the province means serving a province of its centre, whatever the caller said.
    if (w.own_centre || w.own_province) {
      ++t.answered_in_own_centre;
    }
    return;
  }
  if (w.outcome == routing::Outcome::kAbandoned) {
    ++(wait < targets.short_abandon ? t.short_abandoned : t.abandoned);
  } else {
    ++t.other_unanswered;
  }
}

void CountHandled(Tally& t, Millis handle_time) {
  ++t.handled;
  t.handle_ms += std::max(Millis(0), handle_time).count();
}

void JudgeOwnership(WaitDecided& w, const std::string& province,
                    const std::vector<std::string>& served,
                    const std::function<std::string(const std::string&)>& centre_of) {
  w.own_province = std::find(served.begin(), served.end(), province) != served.end();
  const std::string centre = centre_of(province);
  w.own_centre = !centre.empty() && std::any_of(served.begin(), served.end(), [&](const auto& p) {
    return centre_of(p) == centre;
  });
}

Figures Derive(const Tally& t) {
  Figures f;
  f.offered = t.offered;
  f.answered = t.answered;
  f.answered_in_target = t.answered_in_target;
  f.abandoned = t.abandoned;
  f.short_abandoned = t.short_abandoned;
  f.other_unanswered = t.other_unanswered;
  const int64_t counted = t.offered - t.short_abandoned;
  f.service_level = Ratio(t.answered_in_target, counted);
  f.abandonment_rate = Ratio(t.abandoned, counted);
  f.occupancy = Ratio(t.busy_ms, t.staffed_ms);
  f.average_speed_of_answer = Mean(t.answer_wait_ms, t.answered);
  f.handled = t.handled;
  f.average_handling_time = Mean(t.handle_ms, t.handled);
  f.answered_in_own_province = t.answered_in_own_province;
  f.answered_in_own_centre = t.answered_in_own_centre;
  return f;
}

bool IsBusy(routing::CounsellorState state) {
  return state == routing::CounsellorState::kOnCall || state == routing::CounsellorState::kWrapUp;
}

bool IsStaffed(routing::CounsellorState state) {
  switch (state) {
    case routing::CounsellorState::kAvailable:
    case routing::CounsellorState::kReserved:
    case routing::CounsellorState::kOnCall:
    case routing::CounsellorState::kWrapUp:
      return true;
    case routing::CounsellorState::kOffline:
    case routing::CounsellorState::kBreak:
      return false;
  }
  return false;
}

Timestamp MinuteStart(Timestamp t) { return routing::FromUnixMillis(MinuteOf(t) * kMinuteMs); }

void ForEachSlice(Timestamp begin, Timestamp end, Millis slice, Millis offset,
                  const std::function<void(Timestamp slice_start, Millis part)>& fn) {
  HOTLINE_CHECK(slice > Millis(0));
  const int64_t size = slice.count();
  int64_t at = routing::ToUnixMillis(begin);
  const int64_t stop = routing::ToUnixMillis(end);
  while (at < stop) {
    // Slices start where (time + offset) is a multiple of the size.
    const int64_t start = FloorDiv(at + offset.count(), size) * size - offset.count();
    const int64_t next = std::min(start + size, stop);
    fn(routing::FromUnixMillis(start), Millis(next - at));
    at = next;
  }
}

// --- Timeline ---------------------------------------------------------------------------------

Timeline::Timeline(int minutes) {
  HOTLINE_CHECK(minutes >= 1);
  buckets_.resize(static_cast<std::size_t>(minutes));
}

void Timeline::Add(Timestamp at, const Tally& t) {
  const int64_t minute = MinuteOf(at);
  const int64_t size = static_cast<int64_t>(buckets_.size());
  if (any_ && minute <= newest_ - size) {
    return;  // Older than every minute kept.
  }
  if (!any_ || minute > newest_) {
    newest_ = minute;
    any_ = true;
  }
  // A slot holding another minute holds one at least `size` minutes older: out of the window.
  Bucket& b = buckets_[static_cast<std::size_t>(minute - FloorDiv(minute, size) * size)];
  if (!b.used || b.minute != minute) {
    b = Bucket{minute, true, Tally{}};
  }
  b.tally += t;
}

const Timeline::Bucket* Timeline::Find(int64_t minute) const {
  const int64_t size = static_cast<int64_t>(buckets_.size());
  const Bucket& b = buckets_[static_cast<std::size_t>(minute - FloorDiv(minute, size) * size)];
  return b.used && b.minute == minute ? &b : nullptr;
}

Tally Timeline::Sum(Timestamp from, Timestamp to) const {
  Tally sum;
  if (!any_) {
    return sum;
  }
  const int64_t size = static_cast<int64_t>(buckets_.size());
  // Only the minutes kept can hold anything: never walk a year of empty minutes.
  const int64_t first = std::max(FirstMinuteFrom(from), newest_ - size + 1);
  const int64_t last = std::min(FirstMinuteFrom(to) - 1, newest_);
  for (int64_t minute = first; minute <= last; ++minute) {
    if (const Bucket* b = Find(minute)) {
      sum += b->tally;
    }
  }
  return sum;
}

void Timeline::ForgetBefore(Timestamp t) {
  const int64_t first_kept = FirstMinuteFrom(t);
  for (Bucket& b : buckets_) {
    if (b.used && b.minute < first_kept) {
      b = Bucket{};
    }
  }
}

// --- PresenceClock ----------------------------------------------------------------------------

namespace {

// Adds the busy and staffed parts of [begin, end) in `state` to the buckets of their minutes,
// starting no earlier than the oldest minute `into` keeps (a counsellor signed in for days must
// not walk every minute of them).
void AddInterval(routing::CounsellorState state, Timestamp begin, Timestamp end, Timeline& into) {
  if (!IsStaffed(state)) {
    return;  // Neither staffed nor busy (busy states are staffed).
  }
  begin = std::max(begin, MinuteStart(end) - Millis(int64_t{into.minutes()} * kMinuteMs));
  const bool busy = IsBusy(state);
  ForEachSlice(begin, end, Millis(kMinuteMs), Millis(0), [&](Timestamp minute, Millis part) {
    Tally t;
    t.staffed_ms = part.count();
    t.busy_ms = busy ? part.count() : 0;
    into.Add(minute, t);
  });
}

}  // namespace

void PresenceClock::Change(const std::string& counsellor_id, routing::CounsellorState state,
                           Timestamp at, Timeline& into) {
  Timestamp since = at;
  if (auto it = open_.find(counsellor_id); it != open_.end()) {
    AddInterval(it->second.state, it->second.since, at, into);
    since = std::max(at, it->second.since);
    if (state == routing::CounsellorState::kOffline) {
      open_.erase(it);
      return;
    }
    it->second = Open{state, since};
    return;
  }
  if (state != routing::CounsellorState::kOffline) {
    open_.emplace(counsellor_id, Open{state, since});
  }
}

void PresenceClock::AddOpen(Timestamp from, Timestamp now, Tally& t) const {
  for (const auto& [id, open] : open_) {
    if (!IsStaffed(open.state)) {
      continue;
    }
    const Millis part = now - std::max(from, open.since);
    if (part <= Millis(0)) {
      continue;
    }
    t.staffed_ms += part.count();
    if (IsBusy(open.state)) {
      t.busy_ms += part.count();
    }
  }
}

void PresenceClock::Forget(const std::string& counsellor_id) { open_.erase(counsellor_id); }

}  // namespace hotline::stats
