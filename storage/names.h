// Reverse lookups of routing::Name(): the lowercase strings stored in the database back to enums.
//
// Each returns nullopt for a string that is not the Name() of any value, so the caller can report
// a corrupt column. BreakReason::kNone has the empty name and is stored as NULL; ParseBreakReason
// does not accept "".
//
// Thread-safety: pure functions, safe from any thread.
#pragma once

#include <optional>
#include <string_view>

#include "routing/types.h"

namespace hotline::storage {

std::optional<routing::Priority> ParsePriority(std::string_view name);
std::optional<routing::Topic> ParseTopic(std::string_view name);
std::optional<routing::Gender> ParseGender(std::string_view name);
std::optional<routing::CounsellorState> ParseCounsellorState(std::string_view name);
std::optional<routing::BreakReason> ParseBreakReason(std::string_view name);
std::optional<routing::Outcome> ParseOutcome(std::string_view name);

}  // namespace hotline::storage
