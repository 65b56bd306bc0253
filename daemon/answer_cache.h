// The idempotency answers: what was answered to each (origin, request id), so a repeat gets the
// original answer and changes nothing. Remembered for a fixed time, across restarts (the engine
// host loads them from storage at start; each new one is written in the same commit as the
// input it answered). The engine host keeps the plain answers (OK, no message, no reply: most
// of them) as fingerprints instead (plain_answers.h); this holds every other one, and any answer
// it is given.
//
// Kept compact (issue 11): every event a gateway sends is answered and remembered for a day, two
// or more per call. Each answer is one record packed into 64 KB blocks in the order given: a
// 24-byte header (time, code, sizes) and then its key (the origin's number, 4 bytes, then the
// request id), message and serialized reply, padded to 8 bytes; a hash set of pointers finds the
// newest record of each key. The origins ("gateway:<id>", "desk:<counsellor>", ...) are few and
// repeat in every record, so each is stored once, in a table of the origins the records name; an
// origin leaves it with the last record naming it. A gateway event's answer (an event id of
// about 20 bytes, no message, an empty reply) takes 48 bytes and its slot in the set, against
// 64 with the origin in the key, 128 as a record of fixed fields (key inline up to 40 bytes, two
// std::strings), and 420 as a std::map of whole RequestResults. Forgetting goes from the oldest
// record and frees each block once all of its records are gone.
//
// Not thread-safe: owned by the engine host, on the engine thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "routing/counted_names.h"
#include "routing/pointer_set.h"
#include "storage/batch.h"

namespace hotline::daemon {

class AnswerCache final {
 public:
  // A block's size; an answer larger than this gets a block of its own.
  static constexpr size_t kBlockBytes = 64 * 1024;

  AnswerCache() = default;
  AnswerCache(const AnswerCache&) = delete;  // The index points into the blocks.
  AnswerCache& operator=(const AnswerCache&) = delete;

  // The stored answer of (origin, request_id), or nullopt.
  std::optional<storage::RequestResult> Find(const std::string& origin,
                                             const std::string& request_id) const;
  // Remembers an answer; a later one for the same key replaces it.
  void Remember(const storage::RequestResult& result);
  // Forgets the answers given before `before_ms` (Unix milliseconds), oldest first, up to the
  // first one given at or after it.
  void ForgetBefore(int64_t before_ms);
  // Keys remembered.
  size_t size() const { return index_.size(); }
  // Distinct origins the records name (for tests).
  size_t origins() const { return origins_.size(); }
  // Blocks held, and the bytes they hold (for tests and benchmarks).
  size_t blocks() const { return blocks_.size(); }
  size_t block_bytes() const;

 private:
  // The header of a record; its key, message and response follow it, in that order.
  struct Record {
    int64_t at_ms = 0;
    int32_t code = 0;
    uint32_t key_size = 0;
    uint32_t message_size = 0;
    uint32_t response_size = 0;

    const char* bytes() const { return reinterpret_cast<const char*>(this + 1); }
    // The origin's number (4 bytes, as stored) and the request id.
    std::string_view key() const { return {bytes(), key_size}; }
    uint32_t origin() const;
    std::string_view message() const { return {bytes() + key_size, message_size}; }
    std::string_view response() const { return {bytes() + key_size + message_size, response_size}; }
    // The record's whole size in its block, header and padding included.
    size_t Footprint() const { return Footprint(key_size, message_size, response_size); }
    static size_t Footprint(size_t key, size_t message, size_t response);
  };
  static_assert(sizeof(Record) == 24 && alignof(Record) == 8);
  static std::string_view KeyOf(const Record& r) { return r.key(); }
  const Record* Lookup(std::string_view origin, std::string_view request_id) const;

  struct Block {
    std::unique_ptr<char[]> bytes;
    size_t capacity = 0;
    size_t used = 0;
  };
  // Records in the order given, from offset `front_` of the first block to the end of the last;
  // a block never moves, so the index's pointers stay valid until their record is forgotten.
  std::deque<Block> blocks_;
  size_t front_ = 0;
  // The newest record of each key.
  routing::PointerSet<Record, &KeyOf> index_;
  // The origins the records name.
  routing::CountedNames origins_;
};

}  // namespace hotline::daemon
