#include "daemon/answer_cache.h"

#include <utility>

namespace hotline::daemon {

AnswerCache::Key AnswerCache::MakeKey(std::string_view origin, std::string_view request_id) {
  // Ids never hold a newline, so "origin\nid" names one pair.
  Key key(origin.begin(), origin.end());
  key.push_back('\n');
  key.insert(key.end(), request_id.begin(), request_id.end());
  return key;
}

const AnswerCache::Record* AnswerCache::Lookup(const std::string& origin,
                                               const std::string& request_id) const {
  const Key key = MakeKey(origin, request_id);
  auto it = index_.find(View(key));
  return it == index_.end() ? nullptr : *it;
}

std::optional<storage::RequestResult> AnswerCache::Find(const std::string& origin,
                                                        const std::string& request_id) const {
  const Record* r = Lookup(origin, request_id);
  if (r == nullptr) {
    return std::nullopt;
  }
  return storage::RequestResult{origin, request_id, r->at_ms, r->code, r->message, r->response};
}

bool AnswerCache::Contains(const std::string& origin, const std::string& request_id) const {
  return Lookup(origin, request_id) != nullptr;
}

void AnswerCache::Remember(storage::RequestResult result) {
  const Record& r = records_.emplace_back(Record{result.at_ms, result.code,
                                                 MakeKey(result.origin, result.request_id),
                                                 std::move(result.message),
                                                 std::move(result.response)});
  auto [it, added] = index_.insert(&r);
  if (!added) {
    // A later answer replaces the earlier: same key, so the slot's hash stays right.
    index_.erase(it);
    index_.insert(&r);
  }
}

void AnswerCache::ForgetBefore(int64_t before_ms) {
  while (!records_.empty() && records_.front().at_ms < before_ms) {
    const Record& r = records_.front();
    // A key answered again later is kept: the index points at its newer record.
    if (auto it = index_.find(View(r.key)); it != index_.end() && *it == &r) {
      index_.erase(it);
    }
    records_.pop_front();
  }
}

}  // namespace hotline::daemon
