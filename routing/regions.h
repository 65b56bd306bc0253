// The region tree: national -> centres -> provinces, with the province codes in use before the
// 1 July 2025 merger mapped to today's units. Built from deploy/regions.toml (read by the daemon;
// routing does no I/O) and then only read.
//
// Thread-safe once built (immutable).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "routing/string_hash.h"

namespace hotline::routing {

// The file's content as plain values.
struct RegionTable {
  struct Centre {
    std::string id;
    std::string name;
  };
  struct Province {
    std::string code;
    std::string name;
    std::string centre;
    // Codes used before 1 July 2025 that now mean this province (its own code may be among them).
    std::vector<std::string> old_codes;
  };
  std::vector<Centre> centres;
  std::vector<Province> provinces;

  bool operator==(const RegionTable&) const;
};

class Regions final {
 public:
  // Validates the table. INVALID_ARGUMENT naming the offending centre or province when a code or
  // id is empty or listed twice, a province names an unknown centre, or an old code maps to two
  // provinces.
  static absl::StatusOr<Regions> Create(const RegionTable& table);

  // An empty tree: every code unknown. For engines that do not route by region (tests).
  Regions() = default;

  // Today's code for `code`, which may be today's or a pre-2025 one; nullopt if unknown.
  std::optional<std::string> Canonical(const std::string& code) const;

  // The centre of today's province `code`, or empty if unknown.
  const std::string& CentreOf(const std::string& code) const;
  // The name of today's province `code` ("Tuyên Quang"), or empty if unknown.
  const std::string& NameOf(const std::string& code) const;

  bool empty() const { return centre_.empty(); }

  // Today's province codes and the centre of each.
  const std::map<std::string, std::string>& centres_by_province() const { return centre_; }

 private:
  // Every accepted code (today's and old) -> today's code.
  std::map<std::string, std::string> canonical_;
  // Today's code -> centre id.
  std::map<std::string, std::string> centre_;
  // The same, hashed, for CentreOf: the engine asks it at every eligibility check.
  StringMap<std::string> centre_hashed_;
  // Today's code -> name.
  std::map<std::string, std::string> name_;
};

}  // namespace hotline::routing
