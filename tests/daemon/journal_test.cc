// Snapshots and journal records: the engine's state survives the trip through protobuf with every
// field, an absent optional time included.
#include "daemon/journal.h"

#include <catch2/catch.hpp>

#include "tests/testing/engine_harness.h"

namespace hotline::daemon {
namespace {

using routing::BreakReason;
using routing::CounsellorState;
using routing::Millis;
using testing::Call;
using testing::EngineHarness;
using testing::Profile;

routing::EngineState RoundTrip(const routing::EngineState& state) {
  const std::string bytes = ToSnapshot(state).SerializeAsString();
  v1::EngineSnapshot parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  return FromSnapshot(parsed);
}

// An engine holding a call in each live state, a finished one, a repeat contact and a never-route
// pair: most fields of the state have something in them, and every optional time of a live
// call's record is still absent.
void Populate(EngineHarness& h) {
  h.SignIn(Profile("an", "01"));
  h.SignIn(Profile("binh", "01"));
  h.SignIn(Profile("chi", "01"));
  h.Arrive(Call("done", "01"));  // Offered to one of them; answered and finished below.
  const std::string first = h.engine.FindCall("done")->counsellor_id;
  EngineHarness::Expect(h.engine.AnswerOffer(first, "done", true, h.now));
  EngineHarness::Expect(h.engine.CallConnected("done", h.now));
  h.Advance(Millis(60'000));
  EngineHarness::Expect(h.engine.CallEnded("done", h.now));
  EngineHarness::Expect(h.engine.SubmitDisposition(
      first, "done", routing::Disposition{"family_relationships", "counselled", {}, false, ""},
      true, h.now));
  EngineHarness::Expect(h.engine.NeverRoute(first, "done", h.now));
  h.Arrive(Call("offered", "01"));
  h.Arrive(Call("connecting", "01"));
  const std::string second = h.engine.FindCall("connecting")->counsellor_id;
  EngineHarness::Expect(h.engine.AnswerOffer(second, "connecting", true, h.now));
  h.Arrive(Call("talking", "01"));
  const std::string third = h.engine.FindCall("talking")->counsellor_id;
  EngineHarness::Expect(h.engine.AnswerOffer(third, "talking", true, h.now));
  EngineHarness::Expect(h.engine.CallConnected("talking", h.now));
  h.Arrive(Call("waiting", "01"));
  h.Advance(Millis(1'000));
  h.Take();
}

TEST_CASE("a snapshot restores every field, and absent times stay absent", "[daemon]") {
  EngineHarness h;
  Populate(h);
  const routing::EngineState saved = h.engine.SaveState();
  const routing::EngineState restored = RoundTrip(saved);

  // The regression: restoring invented a time 0 for every absent optional time.
  for (const auto& call : restored.calls) {
    INFO(call.info.call_id);
    if (call.info.call_id == "waiting") {
      CHECK_FALSE(call.record.first_offered_at.has_value());
      CHECK_FALSE(call.record.accepted_at.has_value());
    }
    if (call.info.call_id != "talking") {
      CHECK_FALSE(call.record.answered_at.has_value());
    }
    CHECK_FALSE(call.record.wrap_up_done_at.has_value());
  }
  CHECK(restored == saved);
}

TEST_CASE("a restored engine decides as the engine that saved it", "[daemon]") {
  EngineHarness live;
  Populate(live);
  EngineHarness twin;
  twin.engine.RestoreState(RoundTrip(live.engine.SaveState()));
  twin.now = live.now;
  // Both run on: the waiting caller gives up, the ringing offer times out, the connected call
  // ends and its wrap-up runs out.
  for (EngineHarness* h : {&live, &twin}) {
    EngineHarness::Expect(h->engine.CallerHungUp("waiting", h->now));
    EngineHarness::Expect(h->engine.CallEnded("talking", h->now));
    h->Advance(Millis(120'000));
  }
  const auto live_effects = live.Take();
  const auto twin_effects = twin.Take();
  REQUIRE(live_effects.size() == twin_effects.size());
  CHECK(live.engine.SaveState() == twin.engine.SaveState());
  // The caller who hung up while waiting: no negative or invented wait in their row.
  for (const auto& e : twin_effects) {
    if (const auto* f = std::get_if<routing::CallFinished>(&e); f && f->record.call.call_id ==
                                                                        "waiting") {
      CHECK_FALSE(f->record.first_offered_at.has_value());
      CHECK_FALSE(f->record.answered_at.has_value());
    }
  }
}

TEST_CASE("a call's marks for gateway data errors survive a snapshot", "[daemon]") {
  routing::CallInfo call = Call("c", "99");
  call.province_unknown = true;
  call.caller_withheld = true;
  call.caller_key.clear();
  CHECK(FromRecord(ToRecord(call)) == call);
}

}  // namespace
}  // namespace hotline::daemon
