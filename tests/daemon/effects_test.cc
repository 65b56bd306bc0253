// The translation of engine effects into rows and messages, and of gateway arrivals into calls:
// pure functions, tested without a daemon.
#include "daemon/effects.h"

#include <catch2/catch.hpp>

#include "daemon/convert.h"
#include "tests/testing/engine_harness.h"

namespace hotline::daemon {
namespace {

using routing::Millis;
using testing::Call;
using testing::EngineHarness;
using testing::Profile;

const storage::OfferRow* RowAt(const Translation& t, size_t i) {
  return std::get_if<storage::OfferRow>(&t.offers.at(i));
}
const storage::OfferResult* ResultAt(const Translation& t, size_t i) {
  return std::get_if<storage::OfferResult>(&t.offers.at(i));
}

TEST_CASE("a decline that gives the same offer back keeps the end before the new offer",
          "[daemon]") {
  EngineHarness h;
  h.SignIn(Profile("an", "01"));
  h.Arrive(Call("c-1", "01"));
  h.Take();
  h.Advance(Millis(2'000));
  h.Take();
  EngineHarness::Expect(h.engine.AnswerOffer("an", "c-1", false, h.now));
  // Nobody else can take it: revoked, then offered to her again, in one input.
  const Translation t = Translate(h.engine.TakeEffects(), h.now, h.engine);
  REQUIRE(t.offers.size() == 2);
  REQUIRE(ResultAt(t, 0) != nullptr);
  CHECK(ResultAt(t, 0)->result == "declined");
  CHECK(ResultAt(t, 0)->ended_at_ms == routing::ToUnixMillis(h.now));
  REQUIRE(RowAt(t, 1) != nullptr);
  CHECK(RowAt(t, 1)->counsellor_id == "an");
  CHECK(RowAt(t, 1)->offered_at_ms == routing::ToUnixMillis(h.now));
}

TEST_CASE("rows and messages are stamped with the input's time, not a later clock", "[daemon]") {
  EngineHarness h;
  h.SignIn(Profile("an", "01"));
  h.Take();
  h.engine.CallArrived(Call("c-1", "01"), h.now).IgnoreError();
  const routing::Timestamp decided = h.now;
  const Translation t = Translate(h.engine.TakeEffects(), decided, h.engine);
  REQUIRE(t.offers.size() == 1);
  CHECK(RowAt(t, 0)->offered_at_ms == routing::ToUnixMillis(decided));
  bool offered = false;
  for (const Message& m : t.messages) {
    if (const auto* desk = std::get_if<DeskMessage>(&m); desk && desk->event.has_offer()) {
      offered = true;
      CHECK(FromProto(desk->event.at()) == decided);
      CHECK(desk->counsellor_id == "an");
    }
  }
  CHECK(offered);
  // The presence row and the desk's presence event say RESERVED for the call.
  REQUIRE(t.presence.size() == 1);
  CHECK(t.presence[0].state == routing::CounsellorState::kReserved);
  CHECK(t.presence[0].call_id == "c-1");
}

TEST_CASE("an offer a late tick makes is stamped with the timer's deadline, not the tick's time",
          "[daemon]") {
  EngineHarness h;
  h.SignIn(Profile("binh", "01"));  // Ha Noi: the centre of Cao Bang, not its province.
  h.Arrive(Call("c-1", "04"));
  h.Take();
  const routing::Timestamp step = h.now + Millis(20'000);  // The province step ends.
  const routing::Timestamp late = h.now + Millis(90'000);  // The daemon was down meanwhile.
  h.engine.Tick(late);
  const Translation t = Translate(h.engine.TakeEffects(), late, h.engine);
  REQUIRE_FALSE(t.offers.empty());
  REQUIRE(RowAt(t, 0) != nullptr);
  CHECK(RowAt(t, 0)->offered_at_ms == routing::ToUnixMillis(step));
}

TEST_CASE("messages keep the engine's order across desks and gateways", "[daemon]") {
  EngineHarness h;
  h.SignIn(Profile("an", "01"));
  h.Arrive(Call("c-1", "01"));
  EngineHarness::Expect(h.engine.AnswerOffer("an", "c-1", true, h.now));
  const std::vector<routing::Effect> effects = h.engine.TakeEffects();
  const Translation t = Translate(effects, h.now, h.engine);
  std::vector<std::string> kinds;
  for (const Message& m : t.messages) {
    if (const auto* desk = std::get_if<DeskMessage>(&m)) {
      kinds.push_back(desk->event.has_offer() ? "offer" : "desk");
    } else {
      const auto& cmd = std::get<GatewayCommand>(m);
      kinds.push_back(cmd.command.has_connect() ? "connect" : "command");
      CHECK(cmd.gateway_id == "gw");
      CHECK(cmd.command.command_id().empty());  // Numbered by the host as it sends.
    }
  }
  // One message per effect that sends one, in the effects' order.
  std::vector<std::string> expected;
  for (const routing::Effect& e : effects) {
    if (std::holds_alternative<routing::OfferMade>(e)) {
      expected.push_back("offer");
    } else if (std::holds_alternative<routing::ConnectRequested>(e)) {
      expected.push_back("connect");
    } else if (std::holds_alternative<routing::PositionAnnounced>(e) ||
               std::holds_alternative<routing::CallbackOffered>(e)) {
      expected.push_back("command");
    } else if (!std::holds_alternative<routing::CallFinished>(e)) {
      expected.push_back("desk");
    }
  }
  CHECK(kinds == expected);
  CHECK(std::find(kinds.begin(), kinds.end(), "connect") != kinds.end());
  CHECK(t.offers.size() == 2);  // The offer and its acceptance, in that order.
  CHECK(RowAt(t, 0) != nullptr);
  CHECK(ResultAt(t, 1)->result == "accepted");
}

TEST_CASE("a finished call becomes its row", "[daemon]") {
  EngineHarness h;
  h.Arrive(Call("c-1", "01"));
  h.Take();
  EngineHarness::Expect(h.engine.CallerHungUp("c-1", h.now));
  const Translation t = Translate(h.engine.TakeEffects(), h.now, h.engine);
  REQUIRE(t.calls.size() == 1);
  CHECK(t.calls[0].outcome == routing::Outcome::kAbandoned);
  CHECK_FALSE(t.calls[0].first_offered_at.has_value());
}

v1::CallArrived GoodArrival() {
  v1::CallArrived a;
  a.set_caller_number("+84912345678");
  a.set_province("38");
  a.set_language("hmn");
  a.set_topic(v1::TOPIC_ABUSE_REPORT);
  a.set_priority(v1::PRIORITY_EMERGENCY);
  a.set_gender_preference(v1::GENDER_FEMALE);
  return a;
}

TEST_CASE("an arrival converts field by field", "[daemon]") {
  std::vector<std::string> defaulted;
  const routing::CallInfo info = ParseArrival(GoodArrival(), &defaulted);
  CHECK(defaulted.empty());
  CHECK(info.province == "38");
  CHECK(info.language == "hmn");
  CHECK(info.topic == routing::Topic::kAbuseReport);
  CHECK(info.priority == routing::Priority::kEmergency);
  CHECK(info.gender_preference == routing::Gender::kFemale);
  CHECK_FALSE(info.caller_withheld);
  CHECK_FALSE(info.province_unknown);
}

TEST_CASE("an arrival with the gateway's data errors is taken, marked, never refused",
          "[daemon]") {
  v1::CallArrived a = GoodArrival();
  std::vector<std::string> defaulted;
  SECTION("a withheld number") {
    for (const char* number : {"", "anonymous", "12", "+84 912", "123456789012345678901"}) {
      a.set_caller_number(number);
      const routing::CallInfo info = ParseArrival(a, &defaulted);
      CHECK(info.caller_withheld);
      CHECK(info.caller_masked == "withheld");
      CHECK(info.caller_key.empty());
    }
    CHECK(defaulted.empty());
  }
  SECTION("a malformed province") {
    a.set_province(std::string(1'000'000, 'x'));
    const routing::CallInfo info = ParseArrival(a, &defaulted);
    CHECK(info.province_unknown);
    CHECK(info.province.empty());  // Never the megabyte.
  }
  SECTION("menu fields unset") {
    a.clear_language();
    a.clear_topic();
    a.clear_priority();
    a.set_gender_preference(static_cast<v1::Gender>(42));
    const routing::CallInfo info = ParseArrival(a, &defaulted);
    CHECK(info.language == "vi");
    CHECK(info.topic == routing::Topic::kOther);
    CHECK(info.priority == routing::Priority::kNormal);
    CHECK(info.gender_preference == routing::Gender::kUnspecified);
    CHECK(defaulted == std::vector<std::string>{"arrived.language", "arrived.topic",
                                                "arrived.priority", "arrived.gender_preference"});
  }
}

}  // namespace
}  // namespace hotline::daemon
