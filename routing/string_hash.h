// A string hash for the engine's maps keyed by ids and caller keys.
//
// Debian's Abseil is built with its own `absl::string_view` (not std's), so `absl::Hash` of a
// `std::string_view` falls back to `std::hash` (libstdc++'s `_Hash_bytes`, out of line: 5.5 % of
// an engine_bench cycle at 10,000 counsellors / 100,000 waiting), and Abseil's own string hash is
// no cheaper (an out-of-line LowLevelHash, then a mix). The engine's keys are short (a gateway's
// call id of about 20 bytes, a caller key packed to 32), so this hash reads them 16 bytes at a
// time, inline, folding each pair of words with one 64 x 64 -> 128-bit multiply (the folded
// multiply of wyhash and Abseil's LowLevelHash). Its seed differs from process to process (the
// address of a static, moved by ASLR) and enters both sides of every multiply that reads the
// key, so which keys collide is not the same from run to run. So does the order of a walk over
// such a map: what walks one where the order could reach a decision, a saved state or a test
// sorts first (as with Abseil's own hash, also seeded per process; a supervisor's queue
// summary, which walks the calls, may list one of two calls tied on their wait before the
// other in either order).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"

namespace hotline::routing {

namespace string_hash_internal {

inline uint64_t Fold(uint64_t a, uint64_t b) {
  const absl::uint128 product = absl::uint128(a) * b;
  return absl::Uint128Low64(product) ^ absl::Uint128High64(product);
}

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The address of a static, moved by ASLR from run to run: read at each call (a constant address,
// no initialisation to order against other statics).
inline uint64_t ProcessSeed() {
  static constexpr char kAnchor = 0;
  return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&kAnchor)) * 0x9e3779b97f4a7c15ULL;
}

}  // namespace string_hash_internal

inline uint64_t HashString(std::string_view s) {
  using namespace string_hash_internal;
  constexpr uint64_t k0 = 0xa0761d6478bd642fULL;
  constexpr uint64_t k1 = 0xe7037ed1a0b428dbULL;
  constexpr uint64_t k2 = 0x8ebc6af09c88c6e3ULL;
  const char* p = s.data();
  size_t n = s.size();
  const uint64_t seed = ProcessSeed();
  uint64_t state = seed ^ k0 ^ n;
  uint64_t a = 0;
  uint64_t b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = Load64(p);
      b = Load64(p + n - 8);
    } else if (n >= 4) {
      a = Load32(p);
      b = Load32(p + n - 4);
    } else if (n > 0) {
      a = (uint64_t{static_cast<unsigned char>(p[0])} << 16) |
          (uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
          uint64_t{static_cast<unsigned char>(p[n - 1])};
    }
  } else {
    // Whole 16-byte blocks while more than 16 bytes remain, then the last 16 (overlapping).
    while (n > 16) {
      state = Fold(Load64(p) ^ k1 ^ seed, Load64(p + 8) ^ state);
      p += 16;
      n -= 16;
    }
    a = Load64(p + n - 16);
    b = Load64(p + n - 8);
  }
  return Fold(k1 ^ s.size(), Fold(a ^ k1 ^ seed, b ^ state) ^ k2);
}

// For Abseil's hash containers keyed by (or looked up with) a string view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return HashString(s); }
};

// A hash map from strings, found by any string or string view without a copy.
template <typename Value>
using StringMap = absl::flat_hash_map<std::string, Value, StringHash, std::equal_to<>>;

// A view of a string kept elsewhere, with its hash, computed once. A table keyed by it rehashes
// (when it grows, or when Abseil clears the slots its erasures left) from the slots alone: keyed
// by the bare view, a rehash of the engine's 100,000 live calls read each call's id from the
// heap, a cache miss each, 11 % of an engine_bench cycle's misses at 10,000 counsellors /
// 100,000 waiting (docs/performance.md, "Call ids hashed once").
struct HashedView {
  explicit HashedView(std::string_view v) : view(v), hash(HashString(v)) {}

  std::string_view view;
  uint64_t hash;

  friend bool operator<(const HashedView& a, const HashedView& b) { return a.view < b.view; }

  // Found by any string or string view: its hash is computed for the lookup, the stored one is
  // read from the slot.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return HashString(s); }
    size_t operator()(const HashedView& h) const { return h.hash; }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(const HashedView& a, const HashedView& b) const {
      return a.hash == b.hash && a.view == b.view;
    }
    bool operator()(const HashedView& a, std::string_view b) const { return a.view == b; }
    bool operator()(std::string_view a, const HashedView& b) const { return a == b.view; }
  };
};

// A hash map keyed by views of strings its values own (the view must live as long as its
// entry), found by any string or string view without a copy. Insert with emplace of a
// HashedView of the owned string; never try_emplace or operator[] with a temporary string,
// whose view would dangle.
template <typename Value>
using ViewMap = absl::flat_hash_map<HashedView, Value, HashedView::Hash, HashedView::Eq>;

}  // namespace hotline::routing
