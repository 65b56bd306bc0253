// The idempotency answers: what was answered to each (origin, request id), so a repeat gets the
// original answer and changes nothing. Remembered for a fixed time, across restarts (the engine
// host loads them from storage at start; each new one is written in the same commit as the
// input it answered).
//
// Kept compact (issue 11): every event a gateway sends is answered and remembered for a day, two
// or more per call. One record per answer in the order given, its key ("origin\nrequest_id",
// inline up to 40 bytes) stored once, and a hash set of pointers to the newest record of each
// key; the code, message and serialized reply as given. About 150 bytes an answer, against 420
// as a std::map of whole RequestResults with a second copy of the key for expiry.
//
// Not thread-safe: owned by the engine host, on the engine thread.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "routing/pointer_set.h"
#include "storage/batch.h"

namespace hotline::daemon {

class AnswerCache final {
 public:
  AnswerCache() = default;
  AnswerCache(const AnswerCache&) = delete;  // The index points into the records.
  AnswerCache& operator=(const AnswerCache&) = delete;

  // The stored answer of (origin, request_id), or nullopt.
  std::optional<storage::RequestResult> Find(const std::string& origin,
                                             const std::string& request_id) const;
  bool Contains(const std::string& origin, const std::string& request_id) const;
  // Remembers an answer; a later one for the same key replaces it.
  void Remember(storage::RequestResult result);
  // Forgets the answers given before `before_ms` (Unix milliseconds), oldest first, up to the
  // first one given at or after it.
  void ForgetBefore(int64_t before_ms);
  // Keys remembered.
  size_t size() const { return index_.size(); }

 private:
  using Key = absl::InlinedVector<char, 40>;
  static Key MakeKey(std::string_view origin, std::string_view request_id);
  static std::string_view View(const Key& key) { return {key.data(), key.size()}; }

  struct Record {
    int64_t at_ms = 0;
    int code = 0;
    Key key;
    std::string message;
    std::string response;
  };
  static std::string_view KeyOf(const Record& r) { return View(r.key); }
  const Record* Lookup(const std::string& origin, const std::string& request_id) const;

  // In the order given; pointers into it stay valid as it grows at the back and shrinks at the
  // front.
  std::deque<Record> records_;
  // The newest record of each key.
  routing::PointerSet<Record, &KeyOf> index_;
};

}  // namespace hotline::daemon
