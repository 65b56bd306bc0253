// The idempotency answers: found by origin and request id, forgotten by age.
#include "daemon/answer_cache.h"

#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <random>

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
  // An origin that ends where the id begins is another origin.
  CHECK(cache.Find("gateway:gw-1\nev", "1").has_value() == false);
  // The same characters split elsewhere are another pair.
  CHECK_FALSE(cache.Find("gateway:gw-1e", "v-1").has_value());
  CHECK_FALSE(cache.Find("gateway:gw-", "1ev-1").has_value());
  // Two origins, both held, with the same request id: each has its own answer.
  cache.Remember(Answer("gateway:gw-2", "ev-1", 11, 6));
  cache.Remember(Answer("gateway:gw-2", "ev-9", 12, 3));
  REQUIRE(cache.Find("gateway:gw-1", "ev-1").has_value());
  CHECK(cache.Find("gateway:gw-1", "ev-1")->code == 0);
  CHECK(cache.Find("gateway:gw-2", "ev-1")->code == 6);
  CHECK(cache.Find("gateway:gw-2", "ev-9")->code == 3);
  CHECK_FALSE(cache.Find("gateway:gw-1", "ev-9").has_value());
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
  CHECK(cache.Find("desk:an", "r-9").has_value());
  CHECK_FALSE(cache.Find("desk:an", "r-8").has_value());
  CHECK(cache.size() == 2);
  // Answered again: the newer answer is found, and forgetting the older keeps it.
  storage::RequestResult again = refused;
  again.at_ms = 50;
  again.code = 0;
  again.message.clear();
  cache.Remember(again);
  CHECK(cache.size() == 2);
  cache.ForgetBefore(44);
  CHECK_FALSE(cache.Find(full.origin, long_id).has_value());
  CHECK(cache.Find("desk:an", "r-9") == again);
}

TEST_CASE("forgetting stops at the first answer given at or after the cut", "[daemon]") {
  // Answers are remembered in the order given; one given out of time order holds back those
  // after it until it is old enough itself (never forgotten early).
  AnswerCache cache;
  cache.Remember(Answer("desk:an", "a", 30));
  cache.Remember(Answer("desk:an", "b", 10));
  cache.ForgetBefore(20);
  CHECK(cache.Find("desk:an", "a").has_value());
  CHECK(cache.Find("desk:an", "b").has_value());
  cache.ForgetBefore(31);
  CHECK(cache.size() == 0);
}

TEST_CASE("many answers over many blocks, answered again and forgotten, agree with a plain model",
          "[daemon]") {
  // The model: the answers in the order given, and the newest of each key. Sizes range from
  // none to past a whole block, so records fill blocks unevenly and some need a block of their
  // own; forgetting cuts at random points, sometimes everything.
  std::deque<storage::RequestResult> given;
  std::map<std::pair<std::string, std::string>, storage::RequestResult> newest;
  AnswerCache cache;
  std::mt19937 random(20261201);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  int64_t now = 0;
  for (int step = 0; step < 40'000; ++step) {
    now += pick(3);
    if (pick(500) == 0) {
      const int64_t cut = now - pick(400);
      cache.ForgetBefore(cut);
      while (!given.empty() && given.front().at_ms < cut) {
        const storage::RequestResult& old = given.front();
        auto it = newest.find({old.origin, old.request_id});
        if (it != newest.end() && it->second.at_ms == old.at_ms && it->second == old) {
          newest.erase(it);
        }
        given.pop_front();
      }
    } else {
      storage::RequestResult r;
      r.origin = pick(2) == 0 ? "gateway:gw-1" : "desk:counsellor-" + std::to_string(pick(5));
      r.request_id = "ev-" + std::to_string(pick(3'000));  // Repeats: answered again.
      r.at_ms = now;
      r.code = pick(17);
      r.message = std::string(static_cast<size_t>(pick(4) == 0 ? pick(200) : 0), 'm');
      const int big = pick(2'000) == 0 ? static_cast<int>(AnswerCache::kBlockBytes) : 0;
      r.response = std::string(static_cast<size_t>(big + (pick(3) == 0 ? pick(300) : 0)),
                               static_cast<char>('a' + pick(26)));
      cache.Remember(r);
      newest[{r.origin, r.request_id}] = r;
      given.push_back(r);
    }
    if (step % 1'000 == 0 || step == 39'999) {
      REQUIRE(cache.size() == newest.size());
      for (const auto& [key, answer] : newest) {
        REQUIRE(cache.Find(key.first, key.second) == answer);
      }
    }
  }
  // Everything forgotten: no block is kept, no origin named.
  cache.ForgetBefore(now + 1);
  CHECK(cache.size() == 0);
  CHECK(cache.blocks() == 0);
  CHECK(cache.origins() == 0);
}

TEST_CASE("each origin is stored once, and let go with the last answer naming it", "[daemon]") {
  AnswerCache cache;
  cache.Remember(Answer("gateway:gw-1", "ev-1", 10));
  cache.Remember(Answer("desk:an", "r-1", 11));
  cache.Remember(Answer("gateway:gw-1", "ev-2", 12));
  CHECK(cache.origins() == 2);
  // Answered again: the newer answer stays when the older is forgotten.
  cache.Remember(Answer("desk:an", "r-1", 13));
  cache.ForgetBefore(12);
  CHECK(cache.origins() == 2);
  CHECK(cache.Find("desk:an", "r-1").has_value());
  CHECK_FALSE(cache.Find("gateway:gw-1", "ev-1").has_value());
  CHECK(cache.Find("gateway:gw-1", "ev-2").has_value());
  // Every answer of gateway:gw-1 forgotten: its number is free, and another origin taking it
  // does not inherit its request ids.
  cache.ForgetBefore(13);
  CHECK(cache.origins() == 1);
  cache.Remember(Answer("gateway:gw-9", "ev-2", 20));
  cache.Remember(Answer("gateway:gw-9", "ev-5", 21));
  CHECK(cache.origins() == 2);
  CHECK(cache.Find("gateway:gw-9", "ev-2").has_value());
  CHECK_FALSE(cache.Find("gateway:gw-1", "ev-2").has_value());
  CHECK_FALSE(cache.Find("gateway:gw-1", "ev-5").has_value());
  CHECK(cache.Find("desk:an", "r-1").has_value());
  cache.ForgetBefore(22);
  CHECK(cache.origins() == 0);
  CHECK(cache.size() == 0);
}

TEST_CASE("after every block is emptied, new answers start a block of their own", "[daemon]") {
  AnswerCache cache;
  cache.Remember(Answer("desk:an", "r-1", 10));
  cache.Remember(Answer("desk:an", "r-2", 11));
  cache.ForgetBefore(12);
  REQUIRE(cache.blocks() == 0);
  REQUIRE(cache.size() == 0);
  cache.Remember(Answer("desk:an", "r-3", 13));
  cache.Remember(Answer("desk:an", "r-1", 14));  // The key of a forgotten answer, anew.
  CHECK(cache.blocks() == 1);
  CHECK(cache.size() == 2);
  CHECK(cache.Find("desk:an", "r-1")->at_ms == 14);
  CHECK_FALSE(cache.Find("desk:an", "r-2").has_value());
  cache.ForgetBefore(14);
  CHECK_FALSE(cache.Find("desk:an", "r-3").has_value());
  CHECK(cache.Find("desk:an", "r-1").has_value());
}

TEST_CASE("an answer given out of time order holds back the blocks after it", "[daemon]") {
  // Forgetting follows the order given: a late record with an early time is forgotten only
  // when the walk reaches it, and one with a late time stops the walk, whole blocks behind it
  // included.
  AnswerCache cache;
  // 40 bytes each, as in the next test.
  const int per_block = static_cast<int>(AnswerCache::kBlockBytes / 40);
  cache.Remember(Answer("gateway:gw-1", "ev-00000", 1'000'000));  // Late time, given first.
  for (int i = 1; i < 3 * per_block; ++i) {
    cache.Remember(Answer("gateway:gw-1", "ev-" + std::to_string(10'000 + i), i));
  }
  const size_t blocks = cache.blocks();
  REQUIRE(blocks >= 3);
  cache.ForgetBefore(999'999);  // Everything after the first is older, but the first is not.
  CHECK(cache.blocks() == blocks);
  CHECK(cache.size() == static_cast<size_t>(3 * per_block));
  cache.ForgetBefore(1'000'001);
  CHECK(cache.size() == 0);
  CHECK(cache.blocks() == 0);
}

TEST_CASE("a block is freed once every answer in it is forgotten", "[daemon]") {
  AnswerCache cache;
  // 40 bytes each: the 24-byte header and a 12-byte key (the origin's number, "ev-NNNNN"),
  // padded to 8.
  const int per_block = static_cast<int>(AnswerCache::kBlockBytes / 40);
  for (int i = 0; i < 3 * per_block; ++i) {
    cache.Remember(Answer("gateway:gw-1", "ev-" + std::to_string(10'000 + i), i));
  }
  const size_t blocks = cache.blocks();
  REQUIRE(blocks >= 2);
  CHECK(cache.block_bytes() == blocks * AnswerCache::kBlockBytes);
  // Forget the first half: the blocks wholly before the cut go, the rest stay.
  cache.ForgetBefore(3 * per_block / 2);
  CHECK(cache.blocks() < blocks);
  CHECK(cache.size() == static_cast<size_t>(3 * per_block - 3 * per_block / 2));
  CHECK(cache.Find("gateway:gw-1", "ev-" + std::to_string(10'000 + 3 * per_block - 1)).has_value());
  CHECK_FALSE(cache.Find("gateway:gw-1", "ev-10000").has_value());
  // An answer bigger than a block takes one of its own, and is found whole.
  const storage::RequestResult big{
      "supervisor", "r-1", 1'000'000, 0, "", std::string(AnswerCache::kBlockBytes + 1, 'x')};
  cache.Remember(big);
  CHECK(cache.Find("supervisor", "r-1") == big);
  cache.ForgetBefore(1'000'001);
  CHECK(cache.blocks() == 0);
}

}  // namespace
}  // namespace hotline::daemon
