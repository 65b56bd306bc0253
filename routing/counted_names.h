// Names stored once for records that repeat them (a gateway's id in each finished call's fate,
// an origin in each idempotency answer), each record holding a number instead: a name is kept
// while a record counts on it and let go with the last (its number used again for the next new
// name), so the table never holds more names than there are records, whoever invents names. Its
// vectors keep the room of their largest size, one slot per name held at once.
//
// Not thread-safe: owned by its records' owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/string_hash.h"

namespace hotline::routing {

class CountedNames final {
 public:
  // The name's number, counting one more record on it; a new name takes a freed number, if any.
  uint32_t Acquire(std::string_view name);
  // One record fewer on the number; the name goes with the last.
  void Release(uint32_t number);
  // The name of a number held. Valid until the table next changes.
  std::string_view Name(uint32_t number) const { return names_[number].name; }
  // The number of a name held, or nullopt.
  std::optional<uint32_t> Find(std::string_view name) const;
  // Names held.
  size_t size() const { return by_name_.size(); }

 private:
  struct Entry {
    std::string name;
    size_t records = 0;
  };
  // By number; an entry with no records is free (on free_).
  std::vector<Entry> names_;
  std::vector<uint32_t> free_;
  StringMap<uint32_t> by_name_;
};

}  // namespace hotline::routing
