// The plain answers: the (origin, request id) pairs answered OK with no message and no reply (an
// arrival, the hang-up that ended its call, `connected`, a desk's AnswerOffer and
// NeverRouteCaller), kept as 64-bit keyed fingerprints in buckets of an hour. A plain answer is
// only that it was given: a repeat of the request is answered OK and its reply is the default
// message, which is what the answer decodes to. Every other answer keeps its code, message and
// reply in the AnswerCache.
//
// Why (issue 11): a finished call's two answers cost about 110 bytes as AnswerCache records (40
// bytes each and their index slots); as fingerprints, about 30. Each key is hashed with SipHash
// (libsodium's crypto_shorthash) under a key drawn at random for each process: the fingerprints
// are rebuilt from the request_results rows at every start, so they are never stored, and no one
// outside the process can make two keys collide on purpose. By chance, a new request whose
// fingerprint equals a remembered one would be taken for a repeat (answered OK, not done): with
// n answers remembered, each new request has odds of about n / 2^64, about 1 in 10^13 with two
// million remembered (a million calls a day). For an arrival that would mean a call answered OK
// and never queued; at these odds, never.
//
// Forgetting goes by whole hours: an answer given in hour h (Unix milliseconds / 3,600,000) is
// forgotten once the cut passes the end of that hour, so it is kept at least as long as the cut
// asks and less than an hour longer. A lookup that misses probes every hour held (25 with a day
// kept): the engine host fingerprints a request once and looks it up once.
//
// Not thread-safe: owned by the engine host, on the engine thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "storage/batch.h"

namespace hotline::daemon {

class PlainAnswers final {
 public:
  static constexpr int64_t kBucketMs = 3'600'000;
  using Key = std::array<unsigned char, 16>;

  // A random key.
  PlainAnswers();
  // A given key (for tests).
  explicit PlainAnswers(const Key& key);
  PlainAnswers(const PlainAnswers&) = delete;
  PlainAnswers& operator=(const PlainAnswers&) = delete;
  ~PlainAnswers();

  // Whether `result` is plain: kept here rather than in the AnswerCache.
  static bool IsPlain(const storage::RequestResult& result) {
    return result.code == 0 && result.message.empty() && result.response.empty();
  }

  // The fingerprint of (origin, request_id) under this memory's key.
  uint64_t Fingerprint(std::string_view origin, std::string_view request_id) const;
  // Remembers that the request of `fingerprint` was answered plainly at `at_ms` (Unix
  // milliseconds).
  void Remember(uint64_t fingerprint, int64_t at_ms);
  bool Contains(uint64_t fingerprint) const;
  // The same, by (origin, request_id).
  void Remember(std::string_view origin, std::string_view request_id, int64_t at_ms) {
    Remember(Fingerprint(origin, request_id), at_ms);
  }
  bool Contains(std::string_view origin, std::string_view request_id) const {
    return Contains(Fingerprint(origin, request_id));
  }
  // Forgets every hour that ends at or before `before_ms`: each answer given before it, and
  // those given after it in the same hour.
  void ForgetBefore(int64_t before_ms);

  // Fingerprints remembered, and the hours holding them (for tests and benchmarks).
  size_t size() const;
  size_t hours() const { return buckets_.size(); }

 private:
  struct Bucket {
    int64_t hour = 0;
    absl::flat_hash_set<uint64_t> fingerprints;
  };
  // Oldest hour first; an hour appears once.
  std::deque<Bucket> buckets_;
  Key key_;
};

}  // namespace hotline::daemon
