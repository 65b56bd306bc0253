// The idempotency answers: what was answered to each (origin, request id), so a repeat gets the
// original answer and changes nothing. Remembered for a fixed time, across restarts (the engine
// host loads them from storage at start; each new one is written in the same commit as the
// input it answered).
//
// Not thread-safe: owned by the engine host, on the engine thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>

#include "storage/batch.h"

namespace hotline::daemon {

class AnswerCache final {
 public:
  // The stored answer of (origin, request_id), or null.
  const storage::RequestResult* Find(const std::string& origin,
                                     const std::string& request_id) const;
  // Remembers an answer; a later one for the same key replaces it.
  void Remember(storage::RequestResult result);
  // Forgets the answers given before `before_ms` (Unix milliseconds).
  void ForgetBefore(int64_t before_ms);
  size_t size() const { return answers_.size(); }

 private:
  static std::string Key(const std::string& origin, const std::string& request_id);

  // Answers by "origin\nrequest_id" (ids never hold a newline), and the same keys in the order
  // they were given, for forgetting.
  std::map<std::string, storage::RequestResult> answers_;
  std::deque<std::pair<int64_t, std::string>> order_;
};

}  // namespace hotline::daemon
