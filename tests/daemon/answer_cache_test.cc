// The idempotency answers: found by origin and request id, forgotten by age.
#include "daemon/answer_cache.h"

#include <catch2/catch.hpp>

namespace hotline::daemon {
namespace {

storage::RequestResult Answer(const std::string& origin, const std::string& id, int64_t at_ms,
                              int code = 0) {
  return storage::RequestResult{origin, id, at_ms, code, "", ""};
}

TEST_CASE("an answer is found by its origin and request id only", "[daemon]") {
  AnswerCache cache;
  cache.Remember(Answer("gateway:gw-1", "ev-1", 10));
  REQUIRE(cache.Find("gateway:gw-1", "ev-1") != nullptr);
  CHECK(cache.Find("gateway:gw-2", "ev-1") == nullptr);  // Another gateway's id space.
  CHECK(cache.Find("gateway:gw-1", "ev-2") == nullptr);
  // The separator cannot be forged by an origin that ends where the id begins.
  CHECK(cache.Find("gateway:gw-1\nev", "1") == nullptr);
}

TEST_CASE("answers are forgotten by age, and a newer answer for the same key is kept",
          "[daemon]") {
  AnswerCache cache;
  cache.Remember(Answer("desk:an", "r-1", 10));
  cache.Remember(Answer("desk:an", "r-2", 20));
  cache.Remember(Answer("desk:an", "r-1", 30, 5));  // Answered again later.
  cache.ForgetBefore(25);
  CHECK(cache.Find("desk:an", "r-2") == nullptr);
  REQUIRE(cache.Find("desk:an", "r-1") != nullptr);
  CHECK(cache.Find("desk:an", "r-1")->code == 5);
  cache.ForgetBefore(31);
  CHECK(cache.size() == 0);
}

}  // namespace
}  // namespace hotline::daemon
