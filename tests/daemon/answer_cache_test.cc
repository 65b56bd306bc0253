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
  REQUIRE(cache.Find("gateway:gw-1", "ev-1").has_value());
  CHECK(cache.Find("gateway:gw-2", "ev-1").has_value() == false);  // Another gateway's id space.
  CHECK(cache.Find("gateway:gw-1", "ev-2").has_value() == false);
  // The separator cannot be forged by an origin that ends where the id begins.
  CHECK(cache.Find("gateway:gw-1\nev", "1").has_value() == false);
  // Nor is it left out: the same characters split elsewhere are another pair.
  CHECK_FALSE(cache.Contains("gateway:gw-1e", "v-1"));
  CHECK_FALSE(cache.Contains("gateway:gw-", "1ev-1"));
}

TEST_CASE("answers are forgotten by age, and a newer answer for the same key is kept",
          "[daemon]") {
  AnswerCache cache;
  cache.Remember(Answer("desk:an", "r-1", 10));
  cache.Remember(Answer("desk:an", "r-2", 20));
  cache.Remember(Answer("desk:an", "r-1", 30, 5));  // Answered again later.
  cache.ForgetBefore(25);
  CHECK(cache.Find("desk:an", "r-2").has_value() == false);
  REQUIRE(cache.Find("desk:an", "r-1").has_value());
  CHECK(cache.Find("desk:an", "r-1")->code == 5);
  cache.ForgetBefore(31);
  CHECK(cache.size() == 0);
}

TEST_CASE("a remembered answer comes back whole, however long its key", "[daemon]") {
  AnswerCache cache;
  const std::string long_id(128, 'r');  // Past the 40 bytes kept inline.
  const storage::RequestResult full{
      "gateway:gw-north-hanoi", long_id, 42, 0, "", std::string("\x08\x01\x12\x00reply", 9)};
  const storage::RequestResult refused{"desk:an", "r-9", 43, 9, "counsellor 'an' is on BREAK", ""};
  cache.Remember(full);
  cache.Remember(refused);
  CHECK(cache.Find(full.origin, long_id) == full);
  CHECK(cache.Find("desk:an", "r-9") == refused);
  CHECK(cache.Contains("desk:an", "r-9"));
  CHECK_FALSE(cache.Contains("desk:an", "r-8"));
  CHECK(cache.size() == 2);
  // Answered again: the newer answer is found, and forgetting the older keeps it.
  storage::RequestResult again = refused;
  again.at_ms = 50;
  again.code = 0;
  again.message.clear();
  cache.Remember(again);
  CHECK(cache.size() == 2);
  cache.ForgetBefore(44);
  CHECK_FALSE(cache.Contains(full.origin, long_id));
  CHECK(cache.Find("desk:an", "r-9") == again);
}

TEST_CASE("forgetting stops at the first answer given at or after the cut", "[daemon]") {
  // Answers are remembered in the order given; one given out of time order holds back those
  // after it until it is old enough itself (never forgotten early).
  AnswerCache cache;
  cache.Remember(Answer("desk:an", "a", 30));
  cache.Remember(Answer("desk:an", "b", 10));
  cache.ForgetBefore(20);
  CHECK(cache.Contains("desk:an", "a"));
  CHECK(cache.Contains("desk:an", "b"));
  cache.ForgetBefore(31);
  CHECK(cache.size() == 0);
}

}  // namespace
}  // namespace hotline::daemon
