#include "daemon/counted_names.h"

namespace hotline::daemon {
namespace {

// Abseil's string_view here is its own type, not std::string_view.
absl::string_view Key(std::string_view name) { return {name.data(), name.size()}; }

}  // namespace

uint32_t CountedNames::Acquire(std::string_view name) {
  auto it = by_name_.find(Key(name));
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
    it = by_name_.emplace(std::string(name), number).first;
  }
  ++names_[it->second].records;
  return it->second;
}

void CountedNames::Release(uint32_t number) {
  Entry& e = names_[number];
  if (--e.records == 0) {
    by_name_.erase(e.name);
    e.name = std::string();  // Its storage too.
    free_.push_back(number);
  }
}

std::optional<uint32_t> CountedNames::Find(std::string_view name) const {
  auto it = by_name_.find(Key(name));
  if (it == by_name_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace hotline::daemon
