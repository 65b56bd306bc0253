// The gateway fates of finished calls: found by call id, a callback offer kept across the
// call's finish, forgotten by age and when a new call takes the id; against a plain model.
#include "daemon/gateway_fates.h"

#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <random>
#include <string>

namespace hotline::daemon {
namespace {

using routing::Outcome;
using Fate = GatewayFates::Fate;

routing::Timestamp At(int64_t ms) { return routing::Timestamp(routing::Millis(ms)); }

TEST_CASE("a finished call's fate is found by its call id, whatever the ids' lengths", "[daemon]") {
  GatewayFates fates;
  const std::string long_call(100, 'c');
  const std::string long_gateway(64, 'g');
  fates.Finished("c-1", "gw-1", Outcome::kAbandoned, At(10));
  fates.Finished(long_call, long_gateway, Outcome::kCompleted, At(11));
  REQUIRE(fates.Find("c-1").has_value());
  CHECK(fates.Find("c-1")->gateway_id == "gw-1");
  CHECK(fates.Find("c-1")->outcome == Outcome::kAbandoned);
  CHECK(fates.Find("c-1")->finished_at == At(10));
  CHECK_FALSE(fates.Find("c-1")->offer_callback);
  REQUIRE(fates.Find(long_call).has_value());
  CHECK(fates.Find(long_call)->gateway_id == long_gateway);
  CHECK(fates.Find(long_call)->outcome == Outcome::kCompleted);
  CHECK_FALSE(fates.Find("c-2").has_value());
  CHECK_FALSE(fates.Find(long_call.substr(1)).has_value());
  CHECK(fates.size() == 2);
}

TEST_CASE("a callback offered before or after the call finished stays offered", "[daemon]") {
  GatewayFates fates;
  fates.CallbackOffered("before", "gw-1");
  fates.Finished("before", "gw-1", Outcome::kTimedOut, At(10));
  fates.Finished("after", "gw-2", Outcome::kTimedOut, At(11));
  fates.CallbackOffered("after", "gw-2");
  fates.Finished("none", "gw-1", Outcome::kTimedOut, At(12));
  CHECK(fates.Find("before")->offer_callback);
  CHECK(fates.Find("before")->finished_at == At(10));
  CHECK(fates.Find("after")->offer_callback);
  CHECK(fates.Find("after")->gateway_id == "gw-2");
  CHECK_FALSE(fates.Find("none")->offer_callback);
  // The callback offered first left a record without a time: it goes at the first forgetting,
  // and the call's fate stays.
  fates.ForgetBefore(At(1));
  CHECK(fates.Find("before").has_value());
  CHECK(fates.size() == 3);
}

TEST_CASE("fates are forgotten by age, up to the first at or after the cut", "[daemon]") {
  GatewayFates fates;
  fates.Finished("c-1", "gw-1", Outcome::kCompleted, At(10));
  fates.Finished("c-2", "gw-1", Outcome::kCompleted, At(20));
  fates.Finished("c-3", "gw-1", Outcome::kCompleted, At(30));
  fates.ForgetBefore(At(20));
  CHECK_FALSE(fates.Find("c-1").has_value());
  CHECK(fates.Find("c-2").has_value());  // Finished at the cut: kept.
  CHECK(fates.Find("c-3").has_value());
  fates.ForgetBefore(At(31));
  CHECK(fates.size() == 0);
}

TEST_CASE("a new call under a finished call's id forgets the old fate, and only that", "[daemon]") {
  GatewayFates fates;
  fates.Finished("c-1", "gw-1", Outcome::kAbandoned, At(10));
  fates.Forget("c-1");
  CHECK_FALSE(fates.Find("c-1").has_value());
  // The new call finishes; forgetting the old one's age leaves the new one's fate.
  fates.Finished("c-1", "gw-2", Outcome::kCompleted, At(50));
  fates.ForgetBefore(At(20));
  REQUIRE(fates.Find("c-1").has_value());
  CHECK(fates.Find("c-1")->gateway_id == "gw-2");
  CHECK(fates.Find("c-1")->outcome == Outcome::kCompleted);
  // A restored fate replaces the one held.
  fates.Restore("c-1", Fate{"gw-3", Outcome::kTimedOut, At(60), true});
  CHECK(fates.Find("c-1")->gateway_id == "gw-3");
  CHECK(fates.Find("c-1")->offer_callback);
  fates.ForgetBefore(At(55));
  CHECK(fates.Find("c-1").has_value());
  fates.ForgetBefore(At(61));
  CHECK(fates.size() == 0);
}

// The layout this replaced: a map by call id, and (time, id) in the order they finished.
struct Model {
  std::map<std::string, Fate> fates;
  std::map<std::string, std::string> gateways;  // Owns the views in `fates`.
  std::deque<std::pair<routing::Timestamp, std::string>> order;

  void Finished(const std::string& id, const std::string& gw, Outcome outcome,
                routing::Timestamp at) {
    gateways[id] = gw;
    Fate& f = fates[id];
    f.gateway_id = gateways[id];
    f.outcome = outcome;
    f.finished_at = at;
    order.emplace_back(at, id);
  }
  void CallbackOffered(const std::string& id, const std::string& gw) {
    gateways[id] = gw;
    Fate& f = fates[id];
    f.gateway_id = gateways[id];
    f.offer_callback = true;
  }
  void ForgetBefore(routing::Timestamp before) {
    while (!order.empty() && order.front().first < before) {
      auto it = fates.find(order.front().second);
      if (it != fates.end() && it->second.finished_at < before) {
        fates.erase(it);
      }
      order.pop_front();
    }
  }
};

TEST_CASE("many calls finishing, reusing ids and being forgotten agree with a plain model",
          "[daemon]") {
  GatewayFates fates;
  Model model;
  std::mt19937 rng(11);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  int64_t now = 1'000;
  for (int input = 0; input < 5'000; ++input) {
    now += pick(5);
    // Ids repeat (a new call under an old id), some longer than the inline 24 bytes.
    std::string id = "call-" + std::to_string(pick(400));
    if (pick(4) == 0) {
      id += std::string(30, 'x');
    }
    const std::string gw = pick(3) == 0 ? std::string(20, 'g') : "gw-" + std::to_string(pick(3));
    fates.Forget(id);  // Its arrival.
    model.fates.erase(id);
    const auto outcome = static_cast<Outcome>(1 + pick(6));
    switch (pick(3)) {
      case 0:  // A callback offered just before the call finishes.
        fates.CallbackOffered(id, gw);
        model.CallbackOffered(id, gw);
        fates.Finished(id, gw, outcome, At(now));
        model.Finished(id, gw, outcome, At(now));
        break;
      case 1: {  // ... or just after (naming, here, any gateway: the record's is replaced).
        fates.Finished(id, gw, outcome, At(now));
        model.Finished(id, gw, outcome, At(now));
        const std::string other = pick(2) == 0 ? gw : "gw-" + std::to_string(pick(5));
        fates.CallbackOffered(id, other);
        model.CallbackOffered(id, other);
        break;
      }
      default:
        fates.Finished(id, gw, outcome, At(now));
        model.Finished(id, gw, outcome, At(now));
    }
    if (pick(10) == 0) {
      fates.ForgetBefore(At(now - 300));
      model.ForgetBefore(At(now - 300));
    }
    if (input % 100 == 0) {
      INFO("input " << input);
      REQUIRE(fates.size() == model.fates.size());
      for (const auto& [key, want] : model.fates) {
        const auto got = fates.Find(key);
        REQUIRE(got.has_value());
        CHECK(got->gateway_id == want.gateway_id);
        CHECK(got->outcome == want.outcome);
        CHECK(got->finished_at == want.finished_at);
        CHECK(got->offer_callback == want.offer_callback);
      }
    }
  }
  // Every record forgotten, every gateway id let go.
  fates.ForgetBefore(At(now + 1));
  CHECK(fates.size() == 0);
  CHECK(fates.gateway_ids() == 0);
}

TEST_CASE("a gateway id is kept while a record names it and let go with the last", "[daemon]") {
  GatewayFates fates;
  fates.Finished("c-1", "gw-z", Outcome::kCompleted, At(10));
  fates.Finished("c-2", "gw-a", Outcome::kCompleted, At(20));
  fates.Finished("c-3", "gw-b", Outcome::kCompleted, At(30));
  CHECK(fates.gateway_ids() == 3);
  // A callback offered through another gateway moves the record to it.
  fates.CallbackOffered("c-3", "gw-a");
  CHECK(fates.gateway_ids() == 2);
  CHECK(fates.Find("c-3")->gateway_id == "gw-a");
  // A forgotten call's record stays in the order, naming its gateway, until its age comes.
  fates.Forget("c-1");
  CHECK(fates.gateway_ids() == 2);
  fates.ForgetBefore(At(11));
  CHECK(fates.gateway_ids() == 1);
  // A freed number is used again, for another id.
  fates.Finished("c-4", "gw-c", Outcome::kAbandoned, At(40));
  fates.Finished("c-5", "gw-d", Outcome::kAbandoned, At(41));
  CHECK(fates.Find("c-2")->gateway_id == "gw-a");
  CHECK(fates.Find("c-4")->gateway_id == "gw-c");
  CHECK(fates.Find("c-5")->gateway_id == "gw-d");
  CHECK(fates.gateway_ids() == 3);
  fates.ForgetBefore(At(42));
  CHECK(fates.size() == 0);
  CHECK(fates.gateway_ids() == 0);
}

}  // namespace
}  // namespace hotline::daemon
