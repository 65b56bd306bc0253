// The simulator's report: which calls count, the waits, the percentile, occupancy and JSON.
#include "clients/sim/report.h"

#include <catch2/catch.hpp>
#include <string>

namespace hotline::sim {
namespace {

using routing::CounsellorState;
using routing::Outcome;

const Timestamp kStart = routing::FromUnixMillis(1'700'000'000'000);

routing::CallRecord Answered(Millis arrived, Millis wait, const std::string& province = "01") {
  routing::CallRecord r;
  r.call.province = province;
  r.call.arrived_at = kStart + arrived;
  r.answered_at = r.call.arrived_at + wait;
  r.ended_at = *r.answered_at + Millis(60'000);
  r.outcome = Outcome::kCompleted;
  return r;
}

routing::CallRecord Unanswered(Millis arrived, Millis wait, Outcome outcome) {
  routing::CallRecord r;
  r.call.province = "79";
  r.call.arrived_at = kStart + arrived;
  r.ended_at = r.call.arrived_at + wait;
  r.outcome = outcome;
  return r;
}

TEST_CASE("the report counts calls after the warm-up with their waits and outcomes", "[sim]") {
  Report report(stats::Targets{}, kStart + Millis(1'000));
  // Before the warm-up's end: left out.
  report.CallFinished(Answered(Millis(0), Millis(500'000)));
  // Ten answered calls waiting 0, 1, ..., 9 s, and one waiting 30 s.
  for (int i = 0; i < 10; ++i) {
    report.CallFinished(Answered(Millis(2'000), Millis(i * 1'000)));
  }
  report.CallFinished(Answered(Millis(2'000), Millis(30'000), "79"));
  report.CallFinished(Unanswered(Millis(2'000), Millis(3'000), Outcome::kAbandoned));
  report.CallFinished(Unanswered(Millis(2'000), Millis(40'000), Outcome::kAbandoned));
  report.CallFinished(Unanswered(Millis(2'000), Millis(300'000), Outcome::kTimedOut));

  const GroupFigures all = report.Overall();
  CHECK(all.calls == 14);
  CHECK(all.answered == 11);
  CHECK(all.abandoned == 2);
  CHECK(all.short_abandoned == 1);
  CHECK(all.callbacks == 1);
  // Every call but the one answered at once waited.
  CHECK(all.waited == 13);
  // Within 20 s: the ten quick answers, over 14 calls less the short abandon.
  REQUIRE(all.service_level.has_value());
  CHECK(*all.service_level == Approx(10.0 / 13));
  CHECK(all.mean_wait_s == Approx((45.0 + 30) / 11));
  // Nearest rank: the 10th of 11 sorted waits (ceil(0.9 * 11) = 10) is 9 s.
  CHECK(all.p90_wait_s == Approx(9));
  CHECK(report.ByProvince().at("01").calls == 10);
  CHECK(report.ByProvince().at("79").calls == 4);
  CHECK(report.ByPriority().at(routing::Priority::kNormal).calls == 14);
  // 1,700,000,000 s after the epoch is 22:13 UTC, 05:13 in Vietnam.
  REQUIRE(report.ByHour().size() == 1);
  CHECK(report.ByHour().at(5).calls == 14);
}

TEST_CASE("occupancy is busy time over staffed time after the warm-up", "[sim]") {
  Report report(stats::Targets{}, kStart + Millis(10'000));
  const auto change = [&](CounsellorState state, int64_t at_ms) {
    report.PresenceChanged(routing::PresenceChange{.counsellor_id = "a",
                                                   .state = state,
                                                   .reason = routing::BreakReason::kNone,
                                                   .at = kStart + Millis(at_ms),
                                                   .call_id = ""});
  };
  change(CounsellorState::kAvailable, 0);
  change(CounsellorState::kOnCall, 20'000);   // 10 s available after the warm-up
  change(CounsellorState::kWrapUp, 50'000);   // 30 s on a call
  change(CounsellorState::kBreak, 60'000);    // 10 s wrap-up
  change(CounsellorState::kAvailable, 90'000);  // a break: not staffed
  report.Close(kStart + Millis(110'000));      // 20 s available
  REQUIRE(report.Occupancy().has_value());
  CHECK(*report.Occupancy() == Approx(40.0 / 70));
}

TEST_CASE("the JSON report quotes what came from the scenario", "[sim]") {
  Report report(stats::Targets{}, kStart);
  report.CallFinished(Answered(Millis(0), Millis(0), "0\"1"));
  const std::string json = report.Json("\"scenario\": " + JsonString("a\\b.toml"));
  CHECK(json.starts_with("{\"scenario\": \"a\\\\b.toml\", \"answer_target_s\": 20, "));
  CHECK(json.find("\"0\\\"1\": {\"calls\": 1,") != std::string::npos);
}

}  // namespace
}  // namespace hotline::sim
