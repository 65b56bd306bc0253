// A hash set of pointers to records that live elsewhere (a deque, or blocks of bytes, that keeps
// them in order), looked up by a string view of each record's key: the key is stored once, in
// the record.
// Used for the finished calls the engine remembers (routing/call_memory.h) and the daemon's
// idempotency answers (daemon/answer_cache.h).
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "routing/string_hash.h"

namespace hotline::routing {

// `KeyOf(record)` views the record's key; it must not change while the record is in the set.
template <typename Record, std::string_view (*KeyOf)(const Record&)>
struct PointerSetTraits {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view key) const { return StringHash()(key); }
    size_t operator()(const Record* r) const { return (*this)(KeyOf(*r)); }
  };
  struct Eq {
    using is_transparent = void;
    static std::string_view Of(std::string_view key) { return key; }
    static std::string_view Of(const Record* r) { return KeyOf(*r); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return Of(a) == Of(b);
    }
  };
};

template <typename Record, std::string_view (*KeyOf)(const Record&)>
using PointerSet =
    absl::flat_hash_set<const Record*, typename PointerSetTraits<Record, KeyOf>::Hash,
                        typename PointerSetTraits<Record, KeyOf>::Eq>;

}  // namespace hotline::routing
