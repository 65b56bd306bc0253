// Reading deploy/policy.toml and deploy/regions.toml into routing's Policy. Errors name the
// file, the line and the key. Stateless; thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "routing/policy.h"
#include "routing/regions.h"

namespace hotline::daemon {

// Parses a regions file's text; `source` names it in errors.
absl::StatusOr<routing::RegionTable> ParseRegions(const std::string& text,
                                                  const std::string& source);

// Parses a policy file's text (ladders and strategy), with `regions` as its region tree, and
// validates the result.
absl::StatusOr<routing::Policy> ParsePolicy(const std::string& text, const std::string& source,
                                            routing::RegionTable regions);

// Reads both files. NOT_FOUND when one cannot be read.
absl::StatusOr<routing::Policy> LoadPolicy(const std::string& policy_path,
                                           const std::string& regions_path);

// One line for an operator: "strategy longest_idle; default ladder province 20s > centre 40s >
// national; 2 more ladders; 34 provinces in 3 centres".
std::string Summary(const routing::Policy& policy);

}  // namespace hotline::daemon
