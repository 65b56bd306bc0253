#include "routing/regions.h"

#include <set>

#include "absl/strings/str_cat.h"

namespace hotline::routing {

bool RegionTable::operator==(const RegionTable& o) const {
  auto same_centres = [](const std::vector<Centre>& a, const std::vector<Centre>& b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].id != b[i].id || a[i].name != b[i].name) {
        return false;
      }
    }
    return true;
  };
  if (!same_centres(centres, o.centres) || provinces.size() != o.provinces.size()) {
    return false;
  }
  for (size_t i = 0; i < provinces.size(); ++i) {
    const Province& a = provinces[i];
    const Province& b = o.provinces[i];
    if (a.code != b.code || a.name != b.name || a.centre != b.centre ||
        a.old_codes != b.old_codes) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<Regions> Regions::Create(const RegionTable& table) {
  Regions r;
  std::set<std::string> centres;
  for (const auto& c : table.centres) {
    if (c.id.empty() || !centres.insert(c.id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("centres: '", c.id, "' is empty or listed twice"));
    }
  }
  for (const auto& p : table.provinces) {
    if (p.code.empty() || r.centre_.contains(p.code)) {
      return absl::InvalidArgumentError(
          absl::StrCat("provinces: code '", p.code, "' is empty or listed twice"));
    }
    if (!centres.contains(p.centre)) {
      return absl::InvalidArgumentError(absl::StrCat("provinces.", p.code, ".centre: '", p.centre,
                                                     "' is not one of the centres"));
    }
    r.centre_[p.code] = p.centre;
    r.centre_hashed_[p.code] = p.centre;
    r.name_[p.code] = p.name;
  }
  for (const auto& p : table.provinces) {
    r.canonical_[p.code] = p.code;
  }
  for (const auto& p : table.provinces) {
    for (const auto& old : p.old_codes) {
      auto [it, inserted] = r.canonical_.emplace(old, p.code);
      if (!inserted && it->second != p.code) {
        return absl::InvalidArgumentError(absl::StrCat(
            "provinces.", p.code, ".old: '", old, "' already means province '", it->second, "'"));
      }
    }
  }
  return r;
}

std::optional<std::string> Regions::Canonical(const std::string& code) const {
  auto it = canonical_.find(code);
  if (it == canonical_.end()) {
    return std::nullopt;
  }
  return it->second;
}

const std::string& Regions::CentreOf(const std::string& code) const {
  static const std::string kNone;
  auto it = centre_hashed_.find(code);
  return it == centre_hashed_.end() ? kNone : it->second;
}

const std::string& Regions::NameOf(const std::string& code) const {
  static const std::string kNone;
  auto it = name_.find(code);
  return it == name_.end() ? kNone : it->second;
}

}  // namespace hotline::routing
