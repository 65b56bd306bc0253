// A daemon on the test's clock (ManualTime), and the steps of a call through it that integration
// tests share: answered at a desk after ringing a while, talked a while, ended, disposed.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "tests/testing/daemon_fixture.h"
#include "tests/testing/manual_time.h"

namespace hotline::testing {

// A daemon whose time is the test's.
struct ManualFixture {
  std::shared_ptr<ManualTime> time = std::make_shared<ManualTime>();
  DaemonFixture f{{}, nullptr, time};

  // Returns once the engine thread has handled everything posted before (a queue view is built
  // there), so a timer delivered earlier has run.
  void Sync() { f.View(); }
};

// The offered call `call_id` is accepted at `desk`, bridged, and ended by the caller: the
// counsellor is in wrap-up. With a `time`, the offer rings `ring` before it is accepted and the
// call is connected, and the conversation lasts `talk`. Returns the offer.
inline v1::DeskEvent AnswerAndEnd(GatewayClient& gw, DeskClient& desk, const std::string& call_id,
                                  ManualTime* time = nullptr, routing::Millis ring = {},
                                  routing::Millis talk = {}) {
  const v1::DeskEvent offer = desk.WaitFor(IsOffer);
  REQUIRE(offer.offer().call().call_id() == call_id);
  if (time != nullptr) {
    time->Advance(ring);
  }
  REQUIRE(desk.Answer(call_id, true).ok());
  gw.Done(gw.WaitForCommand(v1::Command::kConnect));
  gw.Event(call_id, [](v1::CallEvent& e) { e.mutable_connected(); });
  REQUIRE(gw.WaitForAck().code() == 0);
  if (time != nullptr) {
    time->Advance(talk);
  }
  gw.Event(call_id, [](v1::CallEvent& e) { e.mutable_ended(); });
  REQUIRE(gw.WaitForAck().code() == 0);
  return offer;
}

// The counsellor records the call and is ready for the next.
inline void Dispose(DeskClient& desk, const std::string& call_id,
                    v1::Category category = v1::CATEGORY_FAMILY_RELATIONSHIPS,
                    v1::Action action = v1::ACTION_COUNSELLED) {
  v1::Disposition d;
  d.set_category(category);
  d.set_action(action);
  REQUIRE(desk.Dispose(call_id, d).ok());
}

}  // namespace hotline::testing
