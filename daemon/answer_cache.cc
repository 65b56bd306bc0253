#include "daemon/answer_cache.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "absl/container/inlined_vector.h"

namespace hotline::daemon {

size_t AnswerCache::Record::Footprint(size_t key, size_t message, size_t response) {
  const size_t size = sizeof(Record) + key + message + response;
  return (size + alignof(Record) - 1) & ~(alignof(Record) - 1);
}

uint32_t AnswerCache::Record::origin() const {
  uint32_t origin;
  std::memcpy(&origin, bytes(), sizeof origin);
  return origin;
}

const AnswerCache::Record* AnswerCache::Lookup(std::string_view origin,
                                               std::string_view request_id) const {
  const std::optional<uint32_t> number = origins_.Find(origin);
  if (!number) {
    return nullptr;  // No record names the origin.
  }
  absl::InlinedVector<char, 64> key(sizeof(uint32_t));
  std::memcpy(key.data(), &*number, sizeof(uint32_t));
  key.insert(key.end(), request_id.begin(), request_id.end());
  auto it = index_.find(std::string_view(key.data(), key.size()));
  return it == index_.end() ? nullptr : *it;
}

std::optional<storage::RequestResult> AnswerCache::Find(const std::string& origin,
                                                        const std::string& request_id) const {
  const Record* r = Lookup(origin, request_id);
  if (r == nullptr) {
    return std::nullopt;
  }
  return storage::RequestResult{
      origin, request_id, r->at_ms, r->code, std::string(r->message()), std::string(r->response())};
}

void AnswerCache::Remember(const storage::RequestResult& result) {
  const size_t key_size = sizeof(uint32_t) + result.request_id.size();
  const size_t footprint =
      Record::Footprint(key_size, result.message.size(), result.response.size());
  if (blocks_.empty() || blocks_.back().capacity - blocks_.back().used < footprint) {
    const size_t capacity = std::max(kBlockBytes, footprint);
    blocks_.push_back(Block{std::unique_ptr<char[]>(new char[capacity]), capacity, 0});
  }
  Block& block = blocks_.back();
  char* at = block.bytes.get() + block.used;
  const Record* r = new (at) Record{result.at_ms, result.code, static_cast<uint32_t>(key_size),
                                    static_cast<uint32_t>(result.message.size()),
                                    static_cast<uint32_t>(result.response.size())};
  char* out = at + sizeof(Record);
  const uint32_t origin = origins_.Acquire(result.origin);
  std::memcpy(out, &origin, sizeof origin);
  out += sizeof origin;
  for (std::string_view part :
       {std::string_view(result.request_id), std::string_view(result.message),
        std::string_view(result.response)}) {
    if (!part.empty()) {  // memcpy from an empty string's data() is fine; from nullptr it is not.
      std::memcpy(out, part.data(), part.size());
    }
    out += part.size();
  }
  block.used += footprint;

  auto [it, added] = index_.insert(r);
  if (!added) {
    // A later answer replaces the earlier: same key, so the slot's hash stays right.
    index_.erase(it);
    index_.insert(r);
  }
}

void AnswerCache::ForgetBefore(int64_t before_ms) {
  while (!blocks_.empty()) {
    Block& block = blocks_.front();
    if (front_ == block.used) {
      // Every record of the first block is forgotten (or it is the last block and all are).
      blocks_.pop_front();
      front_ = 0;
      continue;
    }
    const Record* r = std::launder(reinterpret_cast<const Record*>(block.bytes.get() + front_));
    if (r->at_ms >= before_ms) {
      return;
    }
    // A key answered again later is kept: the index points at its newer record.
    if (auto it = index_.find(r->key()); it != index_.end() && *it == r) {
      index_.erase(it);
    }
    origins_.Release(r->origin());
    front_ += r->Footprint();
  }
}

size_t AnswerCache::block_bytes() const {
  size_t bytes = 0;
  for (const Block& b : blocks_) {
    bytes += b.capacity;
  }
  return bytes;
}

}  // namespace hotline::daemon
