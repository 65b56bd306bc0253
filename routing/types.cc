#include "routing/types.h"

namespace hotline::routing {

std::string_view Name(Priority p) {
  switch (p) {
    case Priority::kLow:
      return "low";
    case Priority::kNormal:
      return "normal";
    case Priority::kHigh:
      return "high";
    case Priority::kEmergency:
      return "emergency";
  }
  return "?";
}

std::string_view Name(Topic t) {
  switch (t) {
    case Topic::kAbuseReport:
      return "abuse_report";
    case Topic::kCounselling:
      return "counselling";
    case Topic::kInformationLegal:
      return "information_legal";
    case Topic::kOther:
      return "other";
  }
  return "?";
}

std::string_view Name(Gender g) {
  switch (g) {
    case Gender::kUnspecified:
      return "unspecified";
    case Gender::kFemale:
      return "female";
    case Gender::kMale:
      return "male";
  }
  return "?";
}

std::string_view Name(CounsellorState s) {
  switch (s) {
    case CounsellorState::kOffline:
      return "offline";
    case CounsellorState::kAvailable:
      return "available";
    case CounsellorState::kReserved:
      return "reserved";
    case CounsellorState::kOnCall:
      return "on_call";
    case CounsellorState::kWrapUp:
      return "wrap_up";
    case CounsellorState::kBreak:
      return "break";
  }
  return "?";
}

std::string_view Name(BreakReason r) {
  switch (r) {
    case BreakReason::kNone:
      return "";
    case BreakReason::kChosen:
      return "chosen";
    case BreakReason::kMissedOffers:
      return "missed_offers";
    case BreakReason::kUnreachable:
      return "unreachable";
    case BreakReason::kCoolDown:
      return "cool_down";
    case BreakReason::kSupervisor:
      return "supervisor";
    case BreakReason::kRest:
      return "rest";
    case BreakReason::kMeal:
      return "meal";
    case BreakReason::kTraining:
      return "training";
    case BreakReason::kDebrief:
      return "debrief";
    case BreakReason::kFollowUp:
      return "follow_up";
  }
  return "?";
}

std::string_view Name(Outcome o) {
  switch (o) {
    case Outcome::kCompleted:
      return "completed";
    case Outcome::kAbandoned:
      return "abandoned";
    case Outcome::kTimedOut:
      return "timed_out";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kCallbackRequested:
      return "callback_requested";
  }
  return "?";
}

std::string_view Name(CallState s) {
  switch (s) {
    case CallState::kWaiting:
      return "waiting";
    case CallState::kOffered:
      return "offered";
    case CallState::kConnecting:
      return "connecting";
    case CallState::kConnected:
      return "connected";
    case CallState::kEnded:
      return "ended";
  }
  return "?";
}

}  // namespace hotline::routing
