// The plain answers: fingerprints of (origin, request id), found again for at least as long as
// the cut asks and forgotten by whole hours.
#include "daemon/plain_answers.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <string>

namespace hotline::daemon {
namespace {

constexpr int64_t kHour = PlainAnswers::kBucketMs;

TEST_CASE("only an OK answer with no message and no reply is plain", "[daemon]") {
  CHECK(PlainAnswers::IsPlain({"gateway:gw-1", "ev-1", 5, 0, "", ""}));
  CHECK_FALSE(PlainAnswers::IsPlain({"gateway:gw-1", "ev-1", 5, 6, "", ""}));
  CHECK_FALSE(
      PlainAnswers::IsPlain({"gateway:gw-1", "ev-1", 5, 0, "call 'c' had already ended", ""}));
  CHECK_FALSE(PlainAnswers::IsPlain({"desk:lan", "r-1", 5, 0, "", "\x08\x01"}));
}

TEST_CASE("a plain answer is found by its origin and request id only", "[daemon]") {
  PlainAnswers plain;
  CHECK_FALSE(plain.Contains("gateway:gw-1", "ev-1"));
  plain.Remember("gateway:gw-1", "ev-1", 10);
  plain.Remember("desk:lan", "", 10);  // An empty request id is a key like any other.
  CHECK(plain.Contains("gateway:gw-1", "ev-1"));
  CHECK(plain.Contains("desk:lan", ""));
  CHECK_FALSE(plain.Contains("gateway:gw-2", "ev-1"));
  CHECK_FALSE(plain.Contains("gateway:gw-1", "ev-2"));
  // The origin's length is hashed with it: the same bytes split elsewhere are another key.
  CHECK_FALSE(plain.Contains("gateway:gw-1e", "v-1"));
  CHECK_FALSE(plain.Contains("gateway:gw-", "1ev-1"));
  CHECK_FALSE(plain.Contains("desk:la", "n"));
  // Remembered again: still one.
  plain.Remember("gateway:gw-1", "ev-1", 11);
  CHECK(plain.size() == 2);
  CHECK(plain.hours() == 1);
}

TEST_CASE("a plain answer is kept until the cut passes the end of its hour", "[daemon]") {
  PlainAnswers plain;
  plain.Remember("gateway:gw-1", "early", 10 * kHour);
  plain.Remember("gateway:gw-1", "late", 11 * kHour - 1);
  plain.Remember("gateway:gw-1", "next", 11 * kHour);
  CHECK(plain.hours() == 2);
  plain.ForgetBefore(10 * kHour + 1);  // Past "early", not past its hour: kept.
  plain.ForgetBefore(11 * kHour - 1);
  CHECK(plain.Contains("gateway:gw-1", "early"));
  CHECK(plain.Contains("gateway:gw-1", "late"));
  plain.ForgetBefore(11 * kHour);  // The hour has ended: both go, the next hour stays.
  CHECK_FALSE(plain.Contains("gateway:gw-1", "early"));
  CHECK_FALSE(plain.Contains("gateway:gw-1", "late"));
  CHECK(plain.Contains("gateway:gw-1", "next"));
  CHECK(plain.size() == 1);
  plain.ForgetBefore(100 * kHour);
  CHECK(plain.size() == 0);
  CHECK(plain.hours() == 0);
  CHECK_FALSE(plain.Contains("gateway:gw-1", "next"));
}

TEST_CASE("a plain answer given out of time order joins its own hour", "[daemon]") {
  // A clock stepped back, or rows reloaded: each answer goes to the hour it was given in.
  PlainAnswers plain;
  plain.Remember("o", "five", 5 * kHour + 7);
  plain.Remember("o", "three", 3 * kHour + 7);
  plain.Remember("o", "four", 4 * kHour);
  plain.Remember("o", "three again", 3 * kHour + 8);
  plain.Remember("o", "before 1970", -1);  // Hour -1, not hour 0.
  CHECK(plain.hours() == 4);
  plain.ForgetBefore(0);
  CHECK_FALSE(plain.Contains("o", "before 1970"));
  CHECK(plain.Contains("o", "three"));
  plain.ForgetBefore(4 * kHour);
  CHECK_FALSE(plain.Contains("o", "three"));
  CHECK_FALSE(plain.Contains("o", "three again"));
  CHECK(plain.Contains("o", "four"));
  CHECK(plain.Contains("o", "five"));
  CHECK(plain.hours() == 2);
}

TEST_CASE("fingerprints are keyed: one key gives one fingerprint, another key another",
          "[daemon]") {
  PlainAnswers::Key a{};
  PlainAnswers::Key b{};
  b[0] = 1;
  const PlainAnswers one(a);
  const PlainAnswers same(a);
  const PlainAnswers other(b);
  const PlainAnswers drawn;  // Two memories with keys drawn at random.
  const PlainAnswers drawn_too;
  std::set<uint64_t> distinct;
  int differ_by_key = 0;
  int differ_by_draw = 0;
  for (int i = 0; i < 1'000; ++i) {
    const std::string id = "ev-" + std::to_string(i);
    const uint64_t fingerprint = one.Fingerprint("gateway:gw-1", id);
    REQUIRE(fingerprint == same.Fingerprint("gateway:gw-1", id));
    differ_by_key += fingerprint != other.Fingerprint("gateway:gw-1", id) ? 1 : 0;
    differ_by_draw +=
        drawn.Fingerprint("gateway:gw-1", id) != drawn_too.Fingerprint("gateway:gw-1", id) ? 1 : 0;
    distinct.insert(fingerprint);
  }
  CHECK(differ_by_key == 1'000);
  CHECK(differ_by_draw == 1'000);
  CHECK(distinct.size() == 1'000);
  // Remembered under one key, an answer is found by its fingerprint under that key only.
  PlainAnswers remembered(a);
  remembered.Remember("gateway:gw-1", "ev-1", 0);
  CHECK(remembered.Contains(one.Fingerprint("gateway:gw-1", "ev-1")));
  CHECK_FALSE(remembered.Contains(other.Fingerprint("gateway:gw-1", "ev-1")));
}

TEST_CASE("many plain answers, remembered and forgotten by the hour, agree with a plain model",
          "[daemon]") {
  // The model: each key and the hour it was last answered in. Times mostly move forward and
  // sometimes step back a little; cuts fall anywhere, sometimes past everything.
  std::map<std::pair<std::string, std::string>, int64_t> model;  // Key -> newest hour.
  PlainAnswers plain;
  std::mt19937 random(20261202);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  int64_t now = 0;
  int64_t cut = 0;
  for (int step = 0; step < 30'000; ++step) {
    now += pick(4) == 0 ? pick(static_cast<int>(kHour / 20)) : 0;
    if (pick(300) == 0) {
      cut = std::max(cut, now - kHour * pick(5) - pick(static_cast<int>(kHour)));
      plain.ForgetBefore(cut);
      std::erase_if(model, [&](const auto& kv) { return (kv.second + 1) * kHour <= cut; });
    } else {
      const std::string origin = pick(2) == 0 ? "gateway:gw-" + std::to_string(pick(3))
                                              : "desk:c-" + std::to_string(pick(9));
      const std::string id = "ev-" + std::to_string(pick(4'000));
      // Never before the last cut: the host forgets at each input, before the next answer.
      const int64_t at = std::max(cut, now - (pick(20) == 0 ? pick(static_cast<int>(kHour)) : 0));
      plain.Remember(origin, id, at);
      int64_t& hour = model[{origin, id}];
      hour = std::max(hour, at / kHour);
    }
    if (step % 1'000 == 0 || step == 29'999) {
      REQUIRE(plain.size() >= model.size());  // A key answered in two hours is in both.
      for (const auto& [key, hour] : model) {
        REQUIRE(plain.Contains(key.first, key.second));
      }
      for (int i = 0; i < 200; ++i) {
        const std::string origin = "gateway:gw-" + std::to_string(pick(3));
        const std::string id = "ev-" + std::to_string(pick(4'000));
        REQUIRE(plain.Contains(origin, id) == model.contains({origin, id}));
      }
    }
  }
  plain.ForgetBefore(now + 2 * kHour);
  CHECK(plain.size() == 0);
  CHECK(plain.hours() == 0);
}

}  // namespace
}  // namespace hotline::daemon
