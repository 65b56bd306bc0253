// One small day of the helpline, used by the report tests in memory and through a real SQLite
// file, with every figure computed by hand in the tests.
//
// The period is [T0, T0 + 2 h) with T0 = 2025-07-01 03:00 UTC = 10:00 in Vietnam; the report
// runs at T0 + 3 h. Regions: ha_noi and thanh_hoa are in centre "north", da_nang and hue in
// "central". lan (home ha_noi) serves ha_noi and thanh_hoa; minh (home da_nang) serves da_nang.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "routing/types.h"
#include "stats/report.h"

namespace hotline::stats::testing {

using routing::CallRecord;
using routing::CounsellorState;
using routing::Outcome;
using routing::PresenceChange;
using routing::Priority;
using routing::Topic;

inline const Timestamp kT0 = routing::FromUnixMillis(1'751'338'800'000);
inline const Timestamp kFrom = kT0;
inline const Timestamp kTo = kT0 + std::chrono::hours(2);
inline const Timestamp kNow = kT0 + std::chrono::hours(3);

inline Timestamp At(Millis after_t0) { return kT0 + after_t0; }
inline Millis S(int64_t s) { return Millis(s * 1000); }
inline Millis Min(int64_t m) { return Millis(m * 60'000); }

inline ReportContext Context(Timestamp now = kNow) {
  ReportContext c;
  c.centre_of_province = {
      {"ha_noi", "north"}, {"thanh_hoa", "north"}, {"da_nang", "central"}, {"hue", "central"}};
  c.counsellors["lan"] = CounsellorRegions{"ha_noi", {"ha_noi", "thanh_hoa"}};
  c.counsellors["minh"] = CounsellorRegions{"da_nang", {"da_nang"}};
  c.now = now;
  return c;
}

// A call; `answered`, `wrap_up_done` absent for calls that never had them.
inline CallRecord Call(const std::string& id, const std::string& province, Topic topic,
                       Priority priority, const std::string& counsellor, Timestamp arrived,
                       std::optional<Timestamp> answered, Timestamp ended,
                       std::optional<Timestamp> wrap_up_done, Outcome outcome) {
  CallRecord r;
  r.call.call_id = id;
  r.call.gateway_id = "gw-1";
  r.call.caller_key = "k-" + id;
  r.call.caller_masked = "********00";
  r.call.province = province;
  r.call.language = "vi";
  r.call.topic = topic;
  r.call.priority = priority;
  r.call.arrived_at = arrived;
  r.counsellor_id = counsellor;
  r.accepted_at = answered;
  r.answered_at = answered;
  r.ended_at = ended;
  r.wrap_up_done_at = wrap_up_done;
  r.outcome = outcome;
  if (answered) {
    r.disposition = routing::Disposition{"family_relationships", "counselled", {}, false, ""};
  }
  return r;
}

inline std::vector<CallRecord> Calls() {
  std::vector<CallRecord> calls = {
      // c1: waited 15 s (in target), lan serves ha_noi; handled 10:00:15-10:06:00 = 345 s.
      Call("c1", "ha_noi", Topic::kCounselling, Priority::kNormal, "lan", At(S(0)), At(S(15)),
           At(S(315)), At(Min(6)), Outcome::kCompleted),
      // c2: emergency waited 12 s (over 10 s); minh serves neither thanh_hoa nor the north;
      // handled 10:10:12-10:21:00 = 648 s.
      Call("c2", "thanh_hoa", Topic::kAbuseReport, Priority::kEmergency, "minh", At(Min(10)),
           At(Min(10) + S(12)), At(Min(20)), At(Min(21)), Outcome::kCompleted),
      // c3: waited exactly 20 s (in target); answered 10:59:20, handled until 11:11 = 700 s.
      Call("c3", "da_nang", Topic::kCounselling, Priority::kHigh, "minh", At(Min(59)),
           At(Min(59) + S(20)), At(Min(70)), At(Min(71)), Outcome::kCompleted),
      // c4: hung up after 4 s: a short abandon.
      Call("c4", "ha_noi", Topic::kCounselling, Priority::kNormal, "", At(Min(30)), std::nullopt,
           At(Min(30) + S(4)), std::nullopt, Outcome::kAbandoned),
      // c5: hung up after 45 s.
      Call("c5", "hue", Topic::kInformationLegal, Priority::kLow, "", At(Min(40)), std::nullopt,
           At(Min(40) + S(45)), std::nullopt, Outcome::kAbandoned),
      // c6: an unknown province, timed out at 11:25.
      Call("c6", "xx", Topic::kOther, Priority::kNormal, "", At(Min(80)), std::nullopt, At(Min(85)),
           std::nullopt, Outcome::kTimedOut),
      // c7: answered before the period (waited 60 s), wrap-up ended at 10:00:30: only its
      // handling counts, 09:51-10:00:30 = 570 s.
      Call("c7", "ha_noi", Topic::kCounselling, Priority::kNormal, "lan", At(-Min(10)), At(-Min(9)),
           At(-Min(2)), At(S(30)), Outcome::kCompleted),
      // c8: waited 5 s at 11:58; its handling ends after the period.
      Call("c8", "da_nang", Topic::kCounselling, Priority::kNormal, "minh", At(Min(118)),
           At(Min(118) + S(5)), At(Min(125)), At(Min(126)), Outcome::kCompleted),
      // c9: after the period: counts nowhere.
      Call("c9", "da_nang", Topic::kCounselling, Priority::kNormal, "", At(Min(120) + S(1)),
           std::nullopt, At(Min(121)), std::nullopt, Outcome::kAbandoned),
  };
  calls[5].call.province_unknown = true;
  return calls;
}

inline PresenceChange Presence(const std::string& id, CounsellorState state, Timestamp at) {
  PresenceChange p;
  p.counsellor_id = id;
  p.state = state;
  p.at = at;
  return p;
}

// By counsellor, then time, as storage gives them (the last change before the period first).
// lan:  available from 09:30; on call 10:00:15-10:05:15, wrap-up to 10:06, available to 11:00,
//       break to 11:30, then offline. In the period: staffed 3600 s, busy 345 s.
// minh: available from 10:05; ringing 10:10-10:10:10, on call to 10:20, wrap-up to 10:21,
//       available until now (clamped to the period's end, 12:00). Staffed 6900 s, busy 650 s.
// hoa:  signed out before the period: nothing.
inline std::vector<PresenceChange> PresenceRows() {
  return {
      Presence("hoa", CounsellorState::kOffline, At(-Min(50))),
      Presence("lan", CounsellorState::kAvailable, At(-Min(30))),
      Presence("lan", CounsellorState::kOnCall, At(S(15))),
      Presence("lan", CounsellorState::kWrapUp, At(S(315))),
      Presence("lan", CounsellorState::kAvailable, At(Min(6))),
      Presence("lan", CounsellorState::kBreak, At(Min(60))),
      Presence("lan", CounsellorState::kOffline, At(Min(90))),
      Presence("minh", CounsellorState::kAvailable, At(Min(5))),
      Presence("minh", CounsellorState::kReserved, At(Min(10))),
      Presence("minh", CounsellorState::kOnCall, At(Min(10) + S(10))),
      Presence("minh", CounsellorState::kWrapUp, At(Min(20))),
      Presence("minh", CounsellorState::kAvailable, At(Min(21))),
  };
}

}  // namespace hotline::stats::testing
