#include "daemon/plain_answers.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "absl/container/inlined_vector.h"
#include "daemon/sodium_init.h"

namespace hotline::daemon {

namespace {

// The hour holding `at_ms`, rounding down for times before 1970 too.
int64_t HourOf(int64_t at_ms) {
  return at_ms >= 0 ? at_ms / PlainAnswers::kBucketMs
                    : -((-at_ms + PlainAnswers::kBucketMs - 1) / PlainAnswers::kBucketMs);
}

}  // namespace

PlainAnswers::PlainAnswers() {
  InitSodium();
  randombytes_buf(key_.data(), key_.size());
}

PlainAnswers::PlainAnswers(const Key& key) : key_(key) { InitSodium(); }

PlainAnswers::~PlainAnswers() { sodium_memzero(key_.data(), key_.size()); }

uint64_t PlainAnswers::Fingerprint(std::string_view origin, std::string_view request_id) const {
  static_assert(crypto_shorthash_BYTES == sizeof(uint64_t));
  static_assert(crypto_shorthash_KEYBYTES == std::tuple_size_v<Key>);
  // The origin's length first, so ("ab", "c") and ("a", "bc") differ.
  absl::InlinedVector<unsigned char, 128> input(sizeof(uint32_t) + origin.size() +
                                                request_id.size());
  const auto origin_size = static_cast<uint32_t>(origin.size());
  std::memcpy(input.data(), &origin_size, sizeof origin_size);
  std::copy(origin.begin(), origin.end(), input.begin() + sizeof origin_size);
  std::copy(request_id.begin(), request_id.end(),
            input.begin() + static_cast<ptrdiff_t>(sizeof origin_size + origin.size()));
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, input.data(), input.size(), key_.data());
  uint64_t fingerprint;
  std::memcpy(&fingerprint, out, sizeof fingerprint);
  return fingerprint;
}

void PlainAnswers::Remember(uint64_t fingerprint, int64_t at_ms) {
  const int64_t hour = HourOf(at_ms);
  // Answers come in time order but for a clock stepped back: the newest hour first.
  auto it = buckets_.end();
  while (it != buckets_.begin() && std::prev(it)->hour > hour) {
    --it;
  }
  if (it == buckets_.begin() || std::prev(it)->hour != hour) {
    it = buckets_.insert(it, Bucket{hour, {}});
  } else {
    --it;
  }
  it->fingerprints.insert(fingerprint);
}

bool PlainAnswers::Contains(uint64_t fingerprint) const {
  // A repeat is most often of a recent request: the newest hour first.
  return std::any_of(buckets_.rbegin(), buckets_.rend(),
                     [&](const Bucket& b) { return b.fingerprints.contains(fingerprint); });
}

void PlainAnswers::ForgetBefore(int64_t before_ms) {
  // Hour h ends at (h + 1) * kBucketMs; it goes once that is at or before the cut.
  const int64_t first_kept = HourOf(before_ms);
  while (!buckets_.empty() && buckets_.front().hour < first_kept) {
    buckets_.pop_front();
  }
}

size_t PlainAnswers::size() const {
  size_t n = 0;
  for (const Bucket& b : buckets_) {
    n += b.fingerprints.size();
  }
  return n;
}

}  // namespace hotline::daemon
