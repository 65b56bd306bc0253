#include "daemon/answer_cache.h"

#include "absl/strings/str_cat.h"

namespace hotline::daemon {

std::string AnswerCache::Key(const std::string& origin, const std::string& request_id) {
  return absl::StrCat(origin, "\n", request_id);
}

const storage::RequestResult* AnswerCache::Find(const std::string& origin,
                                                const std::string& request_id) const {
  auto it = answers_.find(Key(origin, request_id));
  return it == answers_.end() ? nullptr : &it->second;
}

void AnswerCache::Remember(storage::RequestResult result) {
  std::string key = Key(result.origin, result.request_id);
  order_.emplace_back(result.at_ms, key);
  answers_[std::move(key)] = std::move(result);
}

void AnswerCache::ForgetBefore(int64_t before_ms) {
  while (!order_.empty() && order_.front().first < before_ms) {
    auto it = answers_.find(order_.front().second);
    // A key answered again later is kept: its newer entry is further down the order.
    if (it != answers_.end() && it->second.at_ms < before_ms) {
      answers_.erase(it);
    }
    order_.pop_front();
  }
}

}  // namespace hotline::daemon
