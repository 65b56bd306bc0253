#include "routing/counted_names.h"

#include "routing/check.h"

namespace hotline::routing {
uint32_t CountedNames::Acquire(std::string_view name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    uint32_t number;
    if (!free_.empty()) {
      number = free_.back();
      free_.pop_back();
      names_[number].name.assign(name);
    } else {
      number = static_cast<uint32_t>(names_.size());
      names_.push_back(Entry{std::string(name), 0});
    }
    // From the table's copy: `name` may view a string that push_back just moved.
    it = by_name_.emplace(names_[number].name, number).first;
  }
  ++names_[it->second].records;
  return it->second;
}

void CountedNames::Release(uint32_t number) {
  Entry& e = names_[number];
  HOTLINE_CHECK(e.records > 0);  // Never released more often than acquired.
  if (--e.records == 0) {
    by_name_.erase(e.name);
    std::string().swap(e.name);  // Its storage too (assigning an empty string keeps it).
    free_.push_back(number);
  }
}

std::optional<uint32_t> CountedNames::Find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace hotline::routing
