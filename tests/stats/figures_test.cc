// The figures of stats/figures.h against values computed by hand.
#include "stats/figures.h"

#include <catch2/catch.hpp>
#include <vector>

namespace hotline::stats {
namespace {

using routing::CounsellorState;
using routing::Outcome;
using routing::Priority;

// 2025-07-01 03:00:00 UTC (10:00 in Vietnam): a minute boundary.
const Timestamp kT0 = routing::FromUnixMillis(1'751'338'800'000);

Millis Ms(int64_t ms) { return Millis(ms); }
Millis S(int64_t s) { return Millis(s * 1000); }
Millis Min(int64_t m) { return Millis(m * 60'000); }

WaitDecided Answered(Priority p, Millis wait, bool own_province = false, bool own_centre = false) {
  WaitDecided w;
  w.priority = p;
  w.arrived_at = kT0;
  w.decided_at = kT0 + wait;
  w.answered = true;
  w.own_province = own_province;
  w.own_centre = own_centre;
  return w;
}

WaitDecided Unanswered(Outcome outcome, Millis wait) {
  WaitDecided w;
  w.arrived_at = kT0;
  w.decided_at = kT0 + wait;
  w.outcome = outcome;
  return w;
}

// The fixed set of calls the figures are computed from by hand below.
Tally TwelveCalls() {
  Tally t;
  CountWait(t, Answered(Priority::kNormal, S(12), true, true));   // 1: in target, own both
  CountWait(t, Answered(Priority::kNormal, S(20), false, true));  // 2: exactly 20 s: in
  CountWait(t, Answered(Priority::kNormal, Ms(20'001)));          // 3: 20.001 s: out
  CountWait(t, Answered(Priority::kEmergency, S(10)));            // 4: exactly 10 s: in
  CountWait(t, Answered(Priority::kEmergency, Ms(10'001)));       // 5: 10.001 s: out
  CountWait(t, Unanswered(Outcome::kAbandoned, Ms(4'999)));       // 6: short abandon
  CountWait(t, Unanswered(Outcome::kAbandoned, S(5)));            // 7: exactly 5 s: abandon
  CountWait(t, Unanswered(Outcome::kAbandoned, S(30)));           // 8: abandon
  CountWait(t, Unanswered(Outcome::kTimedOut, S(300)));           // 9: other
  CountWait(t, Unanswered(Outcome::kCallbackRequested, S(40)));   // 10: other
  CountWait(t, Unanswered(Outcome::kFailed, S(2)));               // 11: other, never short
  CountWait(t, Unanswered(Outcome::kRejected, S(0)));             // 12: other
  return t;
}

TEST_CASE("every figure of a fixed set of calls matches the hand computation", "[stats]") {
  Tally t = TwelveCalls();
  // Handled: 20 s talk + 45 s wrap-up, 55 s + 45 s, 33 s + 0 s.
  CountHandled(t, S(65));
  CountHandled(t, S(100));
  CountHandled(t, S(33));
  t.busy_ms = Min(30).count();
  t.staffed_ms = Min(40).count();

  const Figures f = Derive(t);
  CHECK(f.offered == 12);
  CHECK(f.answered == 5);            // calls 1-5
  CHECK(f.answered_in_target == 3);  // calls 1, 2, 4
  CHECK(f.abandoned == 2);           // calls 7, 8
  CHECK(f.short_abandoned == 1);     // call 6
  CHECK(f.other_unanswered == 4);    // calls 9-12
  CHECK(f.offered == f.answered + f.abandoned + f.short_abandoned + f.other_unanswered);
  // 3 / (12 - 1) and 2 / (12 - 1).
  REQUIRE(f.service_level.has_value());
  CHECK(*f.service_level == Approx(3.0 / 11.0));
  REQUIRE(f.abandonment_rate.has_value());
  CHECK(*f.abandonment_rate == Approx(2.0 / 11.0));
  // (12000 + 20000 + 20001 + 10000 + 10001) / 5 = 72002 / 5 = 14400.4 -> 14400 ms.
  CHECK(t.answer_wait_ms == 72'002);
  CHECK(f.average_speed_of_answer == Ms(14'400));
  // (65000 + 100000 + 33000) / 3 = 66000 ms.
  CHECK(f.handled == 3);
  CHECK(f.average_handling_time == Ms(66'000));
  // 30 min / 40 min.
  REQUIRE(f.occupancy.has_value());
  CHECK(*f.occupancy == Approx(0.75));
  CHECK(f.answered_in_own_province == 1);  // call 1
  CHECK(f.answered_in_own_centre == 2);    // calls 1, 2
}

TEST_CASE("the answer target is 20 s inclusive, 10 s for emergencies", "[stats]") {
  const auto in_target = [](Priority p, Millis wait) {
    Tally t;
    CountWait(t, Answered(p, wait));
    return t.answered_in_target == 1;
  };
  CHECK(in_target(Priority::kNormal, S(20)));
  CHECK_FALSE(in_target(Priority::kNormal, Ms(20'001)));
  CHECK(in_target(Priority::kLow, S(20)));
  CHECK(in_target(Priority::kHigh, S(20)));
  CHECK(in_target(Priority::kEmergency, S(10)));
  CHECK_FALSE(in_target(Priority::kEmergency, Ms(10'001)));
  // Other targets come from Targets.
  Tally t;
  CountWait(t, Answered(Priority::kNormal, S(25)), Targets{.answer = S(30)});
  CHECK(t.answered_in_target == 1);
}

TEST_CASE("an abandon under 5 s is short, at 5 s it is an abandon", "[stats]") {
  Tally t;
  CountWait(t, Unanswered(Outcome::kAbandoned, Ms(4'999)));
  CHECK(t.short_abandoned == 1);
  CHECK(t.abandoned == 0);
  CountWait(t, Unanswered(Outcome::kAbandoned, S(5)));
  CHECK(t.short_abandoned == 1);
  CHECK(t.abandoned == 1);
}

TEST_CASE("short abandons stay out of the rates' denominator", "[stats]") {
  Tally t;
  CountWait(t, Answered(Priority::kNormal, S(3)));
  CountWait(t, Unanswered(Outcome::kAbandoned, S(1)));
  CountWait(t, Unanswered(Outcome::kAbandoned, S(2)));
  const Figures f = Derive(t);
  CHECK(f.offered == 3);
  // 1 / (3 - 2): the one counted call was answered in target.
  CHECK(*f.service_level == Approx(1.0));
  CHECK(*f.abandonment_rate == Approx(0.0));
}

TEST_CASE("ratios are absent and means zero without a denominator", "[stats]") {
  const Figures none = Derive(Tally{});
  CHECK_FALSE(none.service_level.has_value());
  CHECK_FALSE(none.abandonment_rate.has_value());
  CHECK_FALSE(none.occupancy.has_value());
  CHECK(none.average_speed_of_answer == Ms(0));
  CHECK(none.average_handling_time == Ms(0));

  // Only short abandons: offered 2, but nothing counts for the rates.
  Tally shorts;
  CountWait(shorts, Unanswered(Outcome::kAbandoned, S(1)));
  CountWait(shorts, Unanswered(Outcome::kAbandoned, S(4)));
  const Figures f = Derive(shorts);
  CHECK(f.offered == 2);
  CHECK_FALSE(f.service_level.has_value());
  CHECK_FALSE(f.abandonment_rate.has_value());
}

TEST_CASE("means round to the nearest millisecond, halves up", "[stats]") {
  Tally t;
  CountHandled(t, Ms(1));
  CountHandled(t, Ms(2));  // 3 / 2 = 1.5 -> 2
  CHECK(Derive(t).average_handling_time == Ms(2));
  CountHandled(t, Ms(0));  // 3 / 3 = 1
  CHECK(Derive(t).average_handling_time == Ms(1));
  CountHandled(t, Ms(0));  // 3 / 4 = 0.75 -> 1
  CHECK(Derive(t).average_handling_time == Ms(1));
  CountHandled(t, Ms(0));  // 3 / 5 = 0.6 -> 1
  CountHandled(t, Ms(0));  // 3 / 6 = 0.5 -> 1
  CountHandled(t, Ms(0));  // 3 / 7 = 0.43 -> 0
  CHECK(Derive(t).average_handling_time == Ms(0));
}

TEST_CASE("a negative wait or handling time counts as zero", "[stats]") {
  Tally t;
  WaitDecided w = Answered(Priority::kNormal, S(-3));
  CountWait(t, w);
  CountHandled(t, S(-1));
  CHECK(t.answer_wait_ms == 0);
  CHECK(t.answered_in_target == 1);
  CHECK(t.handle_ms == 0);
  CHECK(t.handled == 1);
}

TEST_CASE("own province counts in own centre too", "[stats]") {
  Tally t;
  CountWait(t, Answered(Priority::kNormal, S(1), true, false));
  CHECK(t.answered_in_own_province == 1);
  CHECK(t.answered_in_own_centre == 1);
  // An unanswered call is never answered in its own province, whatever the flags say.
  WaitDecided u = Unanswered(Outcome::kAbandoned, S(9));
  u.own_province = u.own_centre = true;
  CountWait(t, u);
  CHECK(t.answered_in_own_province == 1);
  CHECK(t.answered_in_own_centre == 1);
}

TEST_CASE("tallies add field by field", "[stats]") {
  Tally a = TwelveCalls();
  Tally b;
  CountHandled(b, S(10));
  b.busy_ms = 5;
  b.staffed_ms = 7;
  Tally sum = a;
  sum += b;
  CHECK(sum.offered == 12);
  CHECK(sum.handled == 1);
  CHECK(sum.handle_ms == 10'000);
  CHECK(sum.busy_ms == 5);
  CHECK(sum.staffed_ms == 7);
  CHECK(sum.answer_wait_ms == a.answer_wait_ms);
  Tally twice = a;
  twice += a;
  CHECK(twice.answered_in_own_centre == 2 * a.answered_in_own_centre);
  CHECK(twice.short_abandoned == 2 * a.short_abandoned);
}

// --- Timeline ---------------------------------------------------------------------------------

Tally Offered(int64_t n) {
  Tally t;
  t.offered = n;
  return t;
}

TEST_CASE("a timeline sums the buckets whose minute starts in the window", "[stats]") {
  Timeline line;
  line.Add(kT0, Offered(1));                   // minute 0
  line.Add(kT0 + Ms(59'999), Offered(2));      // still minute 0
  line.Add(kT0 + Min(1), Offered(4));          // minute 1
  line.Add(kT0 + Min(2) + S(30), Offered(8));  // minute 2
  CHECK(line.Sum(kT0, kT0 + Min(3)).offered == 15);
  CHECK(line.Sum(kT0, kT0 + Min(1)).offered == 3);
  // A `from` inside minute 0 leaves it out; a `to` inside minute 2 takes it in.
  CHECK(line.Sum(kT0 + Ms(1), kT0 + Min(2) + Ms(1)).offered == 12);
  // `to` exactly at a minute's start leaves that minute out.
  CHECK(line.Sum(kT0, kT0 + Min(2)).offered == 7);
  CHECK(line.Sum(kT0 + Min(2), kT0 + Min(2)).offered == 0);
  CHECK(line.Sum(kT0 + Min(3), kT0).offered == 0);
  CHECK(line.Sum(kT0 - Min(100), kT0 + Min(100)).offered == 15);
}

TEST_CASE("a fifteen-minute window is always fifteen buckets", "[stats]") {
  Timeline line;
  for (int m = 0; m < 30; ++m) {
    line.Add(kT0 + Min(m), Offered(1));
  }
  const Timestamp now = kT0 + Min(20) + S(17);
  // Minutes 6..20: 15 buckets, the last the current partial one.
  CHECK(line.Sum(now - Min(15), now).offered == 15);
  CHECK(line.Sum(kT0 + Min(20) - Min(15), kT0 + Min(20)).offered == 15);
}

TEST_CASE("a timeline keeps only its latest minutes", "[stats]") {
  Timeline line(3);
  CHECK(line.minutes() == 3);
  for (int m = 0; m < 4; ++m) {
    line.Add(kT0 + Min(m), Offered(int64_t{1} << m));  // 1, 2, 4, 8
  }
  // Minute 0 fell out when minute 3 came.
  CHECK(line.Sum(kT0 - Min(10), kT0 + Min(10)).offered == 2 + 4 + 8);
  // An Add older than the kept minutes is dropped, and does not disturb the slot's minute 3.
  line.Add(kT0, Offered(100));
  CHECK(line.Sum(kT0 - Min(10), kT0 + Min(10)).offered == 14);
  // A jump far ahead leaves only the new minute.
  line.Add(kT0 + Min(1000), Offered(16));
  CHECK(line.Sum(kT0 - Min(10), kT0 + Min(2000)).offered == 16);
  // An Add inside the window but into a slot last used long ago replaces the stale bucket.
  line.Add(kT0 + Min(999), Offered(32));
  CHECK(line.Sum(kT0 + Min(998), kT0 + Min(1001)).offered == 48);
  CHECK(line.Sum(kT0 + Min(999), kT0 + Min(1000)).offered == 32);
}

TEST_CASE("ForgetBefore drops the minutes starting before the time", "[stats]") {
  Timeline line;
  line.Add(kT0, Offered(1));
  line.Add(kT0 + Min(1), Offered(2));
  line.Add(kT0 + Min(2), Offered(4));
  line.ForgetBefore(kT0 + Min(1) + Ms(1));  // minute 1 starts before it: dropped
  CHECK(line.Sum(kT0 - Min(5), kT0 + Min(5)).offered == 4);
  line.Add(kT0 + Min(2), Offered(8));
  CHECK(line.Sum(kT0 + Min(2), kT0 + Min(3)).offered == 12);
}

TEST_CASE("minutes before 1970 round down", "[stats]") {
  CHECK(routing::ToUnixMillis(MinuteStart(routing::FromUnixMillis(-1))) == -60'000);
  CHECK(routing::ToUnixMillis(MinuteStart(routing::FromUnixMillis(0))) == 0);
  CHECK(routing::ToUnixMillis(MinuteStart(routing::FromUnixMillis(59'999))) == 0);
  Timeline line;
  line.Add(routing::FromUnixMillis(-1), Offered(1));
  CHECK(line.Sum(routing::FromUnixMillis(-60'000), routing::FromUnixMillis(0)).offered == 1);
}

TEST_CASE("slices cut at shifted multiples", "[stats]") {
  std::vector<std::pair<int64_t, int64_t>> parts;
  const auto collect = [&](Timestamp start, Millis part) {
    parts.emplace_back(routing::ToUnixMillis(start), part.count());
  };
  // Hours shifted by +7 h: local hours start at 17:00 UTC, 18:00 UTC, ...; with a 90-minute
  // offset they start at hh:30.
  const Timestamp at = routing::FromUnixMillis(0) + Min(50);
  ForEachSlice(at, at + Min(70), Min(60), Min(90), collect);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == std::pair<int64_t, int64_t>{30 * 60'000, 40 * 60'000});  // 00:50-01:30
  CHECK(parts[1] == std::pair<int64_t, int64_t>{90 * 60'000, 30 * 60'000});  // 01:30-02:00
  parts.clear();
  ForEachSlice(at, at, Min(1), Millis(0), collect);
  ForEachSlice(at, at - Ms(1), Min(1), Millis(0), collect);
  CHECK(parts.empty());
}

// --- PresenceClock ----------------------------------------------------------------------------

TEST_CASE("presence splits busy and staffed time exactly across minutes", "[stats]") {
  Timeline line;
  PresenceClock clock;
  clock.Change("lan", CounsellorState::kAvailable, kT0 + S(30), line);   // 10:00:30
  clock.Change("lan", CounsellorState::kOnCall, kT0 + S(75), line);      // 10:01:15
  clock.Change("lan", CounsellorState::kWrapUp, kT0 + S(165), line);     // 10:02:45
  clock.Change("lan", CounsellorState::kAvailable, kT0 + S(185), line);  // 10:03:05
  clock.Change("lan", CounsellorState::kBreak, kT0 + S(190), line);      // 10:03:10
  clock.Change("lan", CounsellorState::kOffline, kT0 + S(240), line);    // 10:04:00
  const auto at = [&](int minute) { return line.Sum(kT0 + Min(minute), kT0 + Min(minute + 1)); };
  // 10:00: available 30 s.
  CHECK(at(0).staffed_ms == 30'000);
  CHECK(at(0).busy_ms == 0);
  // 10:01: available 15 s, on call 45 s.
  CHECK(at(1).staffed_ms == 60'000);
  CHECK(at(1).busy_ms == 45'000);
  // 10:02: on call 45 s, wrap-up 15 s.
  CHECK(at(2).staffed_ms == 60'000);
  CHECK(at(2).busy_ms == 60'000);
  // 10:03: wrap-up 5 s, available 5 s, then break (not staffed).
  CHECK(at(3).staffed_ms == 10'000);
  CHECK(at(3).busy_ms == 5'000);
  CHECK(at(4) == Tally{});
  // 160 s staffed, 110 s busy: occupancy 11 / 16.
  const Tally all = line.Sum(kT0, kT0 + Min(10));
  CHECK(all.staffed_ms == 160'000);
  CHECK(all.busy_ms == 110'000);
  CHECK(*Derive(all).occupancy == Approx(110.0 / 160.0));
  // Closed: nothing open any more.
  Tally open;
  clock.AddOpen(kT0, kT0 + Min(10), open);
  CHECK(open == Tally{});
}

TEST_CASE("a ringing offer is staffed time but not busy time", "[stats]") {
  Timeline line;
  PresenceClock clock;
  clock.Change("lan", CounsellorState::kAvailable, kT0, line);
  clock.Change("lan", CounsellorState::kReserved, kT0 + S(10), line);
  clock.Change("lan", CounsellorState::kAvailable, kT0 + S(25), line);
  clock.Change("lan", CounsellorState::kOffline, kT0 + S(40), line);
  const Tally t = line.Sum(kT0, kT0 + Min(1));
  CHECK(t.staffed_ms == 40'000);
  CHECK(t.busy_ms == 0);
}

TEST_CASE("open intervals count up to now without closing", "[stats]") {
  Timeline line;
  PresenceClock clock;
  clock.Change("lan", CounsellorState::kOnCall, kT0 + S(30), line);
  clock.Change("minh", CounsellorState::kAvailable, kT0 + Min(1), line);
  clock.Change("hoa", CounsellorState::kBreak, kT0, line);
  Tally t;
  // lan: 10:00:30-10:02:00 = 90 s busy; minh: 10:01-10:02 = 60 s staffed; hoa: nothing.
  clock.AddOpen(kT0, kT0 + Min(2), t);
  CHECK(t.busy_ms == 90'000);
  CHECK(t.staffed_ms == 150'000);
  Tally later;
  clock.AddOpen(kT0 + Min(1) + S(30), kT0 + Min(2), later);  // 30 s each
  CHECK(later.busy_ms == 30'000);
  CHECK(later.staffed_ms == 60'000);
  Tally before;
  clock.AddOpen(kT0, kT0 + S(10), before);  // before either opened
  CHECK(before == Tally{});
  CHECK(line.Sum(kT0, kT0 + Min(10)) == Tally{});
  // Closing counts the same time into the timeline.
  clock.Change("lan", CounsellorState::kOffline, kT0 + Min(2), line);
  CHECK(line.Sum(kT0, kT0 + Min(10)).busy_ms == 90'000);
}

TEST_CASE("a presence change back in time counts no time twice", "[stats]") {
  Timeline line;
  PresenceClock clock;
  clock.Change("lan", CounsellorState::kOnCall, kT0 + S(30), line);
  clock.Change("lan", CounsellorState::kWrapUp, kT0 + S(10), line);  // the clock stepped back
  clock.Change("lan", CounsellorState::kOffline, kT0 + S(50), line);
  const Tally t = line.Sum(kT0, kT0 + Min(1));
  CHECK(t.busy_ms == 20'000);  // wrap-up from 10:00:30 (the old start) to 10:00:50
  CHECK(t.staffed_ms == 20'000);
}

TEST_CASE("a forgotten counsellor's open time is not counted", "[stats]") {
  Timeline line;
  PresenceClock clock;
  clock.Change("lan", CounsellorState::kAvailable, kT0, line);
  clock.Forget("lan");
  Tally t;
  clock.AddOpen(kT0, kT0 + Min(5), t);
  CHECK(t == Tally{});
  clock.Change("lan", CounsellorState::kOffline, kT0 + Min(5), line);
  CHECK(line.Sum(kT0, kT0 + Min(10)) == Tally{});
}

TEST_CASE("a counsellor signed in for days fills only the kept minutes", "[stats]") {
  Timeline line(60);
  PresenceClock clock;
  clock.Change("lan", CounsellorState::kAvailable, kT0, line);
  clock.Change("lan", CounsellorState::kOffline, kT0 + Min(3 * 24 * 60) + S(30), line);
  // The last 60 minutes: 59 whole ones and the 30 s of the newest.
  CHECK(line.Sum(kT0, kT0 + Min(4 * 24 * 60)).staffed_ms == 59 * 60'000 + 30'000);
}

}  // namespace
}  // namespace hotline::stats
