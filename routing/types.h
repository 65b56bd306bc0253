// Domain types of the routing engine: calls, counsellors, states, records.
//
// Plain values, no behaviour beyond names. Proto types never reach this file: daemon/convert.h
// maps between the two. Times are wall-clock instants in milliseconds since the Unix epoch,
// always supplied by the caller (the engine never reads a clock).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hotline::routing {

// A wall-clock instant with millisecond resolution.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;

// Milliseconds since the Unix epoch, the form stored in SQLite.
inline int64_t ToUnixMillis(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromUnixMillis(int64_t ms) { return Timestamp(Millis(ms)); }

// Numbering matches proto/hotline/v1/common.proto so conversion is a checked cast.
enum class Priority { kLow = 1, kNormal = 2, kHigh = 3, kEmergency = 4 };
enum class Topic { kAbuseReport = 1, kCounselling = 2, kInformationLegal = 3, kOther = 4 };
enum class Gender { kUnspecified = 0, kFemale = 1, kMale = 2 };
enum class CounsellorState {
  kOffline = 1,
  kAvailable = 2,
  kReserved = 3,
  kOnCall = 4,
  kWrapUp = 5,
  kBreak = 6,
};
enum class BreakReason {
  kNone = 0,
  kChosen = 1,
  kMissedOffers = 2,
  kUnreachable = 3,
  kCoolDown = 4,
  kSupervisor = 5,
  // Named by the counsellor (kChosen: not named).
  kRest = 6,
  kMeal = 7,
  kTraining = 8,
  kDebrief = 9,
  kFollowUp = 10,
};
enum class Outcome {
  kCompleted = 1,
  kAbandoned = 2,
  kTimedOut = 3,
  kRejected = 4,
  kFailed = 5,
  kCallbackRequested = 6,
};
enum class CallState { kWaiting = 1, kOffered = 2, kConnecting = 3, kConnected = 4, kEnded = 5 };
enum class RevokeReason { kTimedOut = 1, kCallerHungUp = 2, kDeclined = 3, kWithdrawn = 4 };

// Lowercase names used in the database and logs ("abuse_report", "wrap_up", ...).
std::string_view Name(Priority p);
std::string_view Name(Topic t);
std::string_view Name(Gender g);
std::string_view Name(CounsellorState s);
std::string_view Name(BreakReason r);
std::string_view Name(Outcome o);
std::string_view Name(CallState s);

// A counsellor's profile, as the administrator manages it.
struct CounsellorProfile {
  std::string id;
  std::string display_name;
  std::string home_province;
  // Provinces served at province scope, besides the home province.
  std::vector<std::string> provinces;
  // Topic -> proficiency 1..5. A topic absent here is one they do not take.
  std::map<Topic, int> skills;
  std::vector<std::string> languages;
  Gender gender = Gender::kUnspecified;
  // Where the gateway rings them (SIP URI or extension).
  std::string endpoint;

  bool operator==(const CounsellorProfile&) const = default;
};

// A call as the gateway described it on arrival. Holds no raw caller number: `caller_key` is the
// daemon's keyed hash of it and `caller_masked` its masked form.
// Members in the order matching reads them: the topic, priority, gender and language first, then
// the province, so that a waiting call weighed for a counsellor is read from two or three cache
// lines of the engine's Call, which puts its own matching fields just before this (issue 11: a
// busy line's candidate calls were read from four lines, each a cache miss at 100,000 waiting).
struct CallInfo {
  Topic topic = Topic::kOther;
  Priority priority = Priority::kNormal;
  Gender gender_preference = Gender::kUnspecified;
  // Set by the engine: this caller was answered within the repeat window.
  bool repeat_caller = false;
  // Gateway data errors, marked on the row rather than refused (DESIGN §6): the province code is
  // not in the region tree (the call routes at national scope; `province` keeps the code as
  // sent), and the number was withheld or malformed (an unknown caller: no caller key, never a
  // repeat caller).
  bool province_unknown = false;
  bool caller_withheld = false;
  std::string language;
  std::string province;
  Timestamp arrived_at{};
  std::string call_id;
  std::string gateway_id;
  std::string caller_key;
  std::string caller_masked;

  bool operator==(const CallInfo&) const = default;
};

// What a counsellor records after a call. Category, action and flags are the lowercase names of
// the proto enums without their prefix ("sexual_abuse", "referred_police", "silent").
struct Disposition {
  std::string category;
  std::string action;
  std::vector<std::string> flags;
  bool heavy = false;
  std::string note;

  bool operator==(const Disposition&) const = default;
};

// Everything known about a finished call: one row of the `calls` table.
struct CallRecord {
  CallInfo call;
  Outcome outcome = Outcome::kFailed;
  // The counsellor who accepted it, if anyone did.
  std::string counsellor_id;
  std::optional<Timestamp> first_offered_at;
  // When the counsellor accepted the offer.
  std::optional<Timestamp> accepted_at;
  // When caller and counsellor were connected.
  std::optional<Timestamp> answered_at;
  // When the call left the queue or the line: hang-up, end, time-out, failure.
  Timestamp ended_at{};
  // When the wrap-up finished (disposition submitted or deadline passed).
  std::optional<Timestamp> wrap_up_done_at;
  int offers = 0;
  // 0-based ladder step the call was on when it left the queue.
  int final_step = 0;
  std::optional<Disposition> disposition;
  // For FAILED and REJECTED: why.
  std::string reason;
  // A supervisor ended the connected call (Engine::EndCall): the time before it is not a
  // measure of handling, and is left out of the wait estimates.
  bool ended_by_supervisor = false;

  bool operator==(const CallRecord&) const = default;
};

// One counsellor state change: one row of the `presence` table.
struct PresenceChange {
  std::string counsellor_id;
  CounsellorState state = CounsellorState::kOffline;
  BreakReason reason = BreakReason::kNone;
  Timestamp at{};
  // The call they hold in this state, if any.
  std::string call_id;

  bool operator==(const PresenceChange&) const = default;
};

}  // namespace hotline::routing
