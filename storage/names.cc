#include "storage/names.h"

#include <array>

namespace hotline::storage {
namespace {

using routing::BreakReason;
using routing::CounsellorState;
using routing::Gender;
using routing::Outcome;
using routing::Priority;
using routing::Topic;

// Searching the enumerators through routing::Name() keeps one source of truth for the strings.
// These lists need a new entry when routing grows an enumerator; until then a stored new name
// reads back as a corrupt value rather than as a wrong one.
template <typename E, std::size_t N>
std::optional<E> Lookup(std::string_view name, const std::array<E, N>& all) {
  for (E value : all) {
    if (routing::Name(value) == name) {
      return value;
    }
  }
  return std::nullopt;
}

constexpr std::array kPriorities = {Priority::kLow, Priority::kNormal, Priority::kHigh,
                                    Priority::kEmergency};
constexpr std::array kTopics = {Topic::kAbuseReport, Topic::kCounselling, Topic::kInformationLegal,
                                Topic::kOther};
constexpr std::array kGenders = {Gender::kUnspecified, Gender::kFemale, Gender::kMale};
constexpr std::array kCounsellorStates = {CounsellorState::kOffline,  CounsellorState::kAvailable,
                                          CounsellorState::kReserved, CounsellorState::kOnCall,
                                          CounsellorState::kWrapUp,   CounsellorState::kBreak};
// kNone is left out: it is stored as NULL, never as its empty name.
constexpr std::array kBreakReasons = {
    BreakReason::kChosen, BreakReason::kMissedOffers, BreakReason::kUnreachable,
    BreakReason::kCoolDown, BreakReason::kSupervisor, BreakReason::kRest,
    BreakReason::kMeal, BreakReason::kTraining, BreakReason::kDebrief,
    BreakReason::kFollowUp};
constexpr std::array kOutcomes = {Outcome::kCompleted, Outcome::kAbandoned,
                                  Outcome::kTimedOut,  Outcome::kRejected,
                                  Outcome::kFailed,    Outcome::kCallbackRequested};

}  // namespace

std::optional<Priority> ParsePriority(std::string_view name) { return Lookup(name, kPriorities); }
std::optional<Topic> ParseTopic(std::string_view name) { return Lookup(name, kTopics); }
std::optional<Gender> ParseGender(std::string_view name) { return Lookup(name, kGenders); }
std::optional<CounsellorState> ParseCounsellorState(std::string_view name) {
  return Lookup(name, kCounsellorStates);
}
std::optional<BreakReason> ParseBreakReason(std::string_view name) {
  return Lookup(name, kBreakReasons);
}
std::optional<Outcome> ParseOutcome(std::string_view name) { return Lookup(name, kOutcomes); }

}  // namespace hotline::storage
