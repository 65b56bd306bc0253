// The live figures of the queue summary, against hand-computed values, through the real daemon on
// a manual clock (definitions: stats/figures.h and docs/supervision.md).
#include <catch2/catch.hpp>

#include "tests/testing/daemon_fixture.h"
#include "tests/testing/manual_time.h"

namespace hotline {
namespace {

using testing::DaemonFixture;
using testing::GatewayClient;
using testing::IsOffer;
using testing::ManualTime;
using testing::SignedIn;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

// The summary the daemon publishes after the clock's next move: a WatchQueue read up to it.
v1::QueueSummary SummaryAfter(DaemonFixture& f, ManualTime& time, routing::Millis by) {
  auto stub = v1::SupervisorService::NewStub(f.channel);
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kSupervisorToken);
  auto reader = stub->WatchQueue(&ctx, v1::WatchQueueRequest());
  v1::QueueUpdate u;
  REQUIRE(reader->Read(&u));
  REQUIRE(u.has_view());
  time.Advance(by);  // The summary comes with the second's tick.
  do {
    REQUIRE(reader->Read(&u));
  } while (!(u.has_change() && u.change().has_summary()));
  ctx.TryCancel();
  return u.change().summary();
}

double Seconds(const google::protobuf::Duration& d) {
  return static_cast<double>(d.seconds()) + d.nanos() / 1e9;
}

TEST_CASE("the live figures of a fixed set of calls are the hand-computed ones") {
  auto time = std::make_shared<ManualTime>();  // 2026-01-01 00:00:00Z, on a minute.
  DaemonFixture f({}, nullptr, time);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  // t = 0: Alice (Hà Nội) signs in.
  SignedIn alice(f, "alice", "01");

  // c-1 from Hà Nội: offered at once, answered at 12 s, ended at 72 s, wrapped up at 102 s.
  gw.Arrive("c-1", "01");
  CHECK(gw.WaitForAck().code() == 0);
  CHECK(alice.desk.WaitFor(IsOffer).offer().call().call_id() == "c-1");
  time->Advance(12s);
  REQUIRE(alice.desk.Answer("c-1", true).ok());
  gw.Done(gw.WaitForCommand(v1::Command::kConnect));
  gw.Event("c-1", [](v1::CallEvent& e) { e.mutable_connected(); });
  CHECK(gw.WaitForAck().code() == 0);
  time->Advance(60s);
  gw.Event("c-1", [](v1::CallEvent& e) { e.mutable_ended(); });
  CHECK(gw.WaitForAck().code() == 0);
  time->Advance(30s);
  v1::Disposition d;
  d.set_category(v1::CATEGORY_FAMILY_RELATIONSHIPS);
  d.set_action(v1::ACTION_COUNSELLED);
  REQUIRE(alice.desk.Dispose("c-1", d, /*ready=*/false).ok());  // A break from 102 s.

  // c-2 hangs up after 3 s (a short abandon), c-3 after 8 s (an abandon).
  gw.Arrive("c-2", "01");
  CHECK(gw.WaitForAck().code() == 0);
  time->Advance(3s);
  gw.Event("c-2", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  CHECK(gw.WaitForAck().code() == 0);
  gw.Arrive("c-3", "79");
  CHECK(gw.WaitForAck().code() == 0);
  time->Advance(8s);
  gw.Event("c-3", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  CHECK(gw.WaitForAck().code() == 0);

  // Read at 120 s; or after a restart at 120 s, from the database.
  bool restarted = false;
  SECTION("as counted live") {}
  SECTION("after a restart, from the database") {
    f.Restart();
    restarted = true;
  }
  INFO("restarted: " << restarted);
  const v1::QueueSummary s = SummaryAfter(f, *time, 7s);
  for (const v1::Figures& fig : {s.figures().last_15_minutes(), s.figures().today()}) {
    CHECK(fig.offered() == 3);
    CHECK(fig.answered() == 1);
    CHECK(fig.answered_in_target() == 1);  // 12 s <= 20 s.
    CHECK(fig.abandoned() == 1);           // c-3, 8 s.
    CHECK(fig.short_abandoned() == 1);     // c-2, 3 s: out of the rates.
    CHECK(fig.other_unanswered() == 0);
    // Service level 1 / (3 - 1); abandonment 1 / (3 - 1).
    CHECK(fig.service_level() == Approx(0.5));
    CHECK(fig.abandonment_rate() == Approx(0.5));
    CHECK(Seconds(fig.average_speed_of_answer()) == Approx(12.0));
    // Handling: talk 60 s + wrap-up 30 s.
    CHECK(fig.handled() == 1);
    CHECK(Seconds(fig.average_handling_time()) == Approx(90.0));
    // Busy 90 s (on the call, then wrap-up) of 102 s staffed (the break after is not staffed).
    CHECK(fig.occupancy() == Approx(90.0 / 102.0));
    CHECK(fig.answered_in_own_province() == 1);
    CHECK(fig.answered_in_own_centre() == 1);
  }
  bool low = false;
  for (const v1::Alert& a : s.alerts()) {
    low |= a.kind() == v1::Alert::SERVICE_LEVEL_LOW;
  }
  CHECK(low);  // 50 % is under the 80 % target.

  SECTION("fifteen minutes later the window is empty and today still counts them") {
    const v1::QueueSummary later = SummaryAfter(f, *time, 16min);
    CHECK(later.figures().last_15_minutes().offered() == 0);
    CHECK_FALSE(later.figures().last_15_minutes().has_service_level());
    CHECK(later.figures().today().offered() == 3);
    CHECK(later.figures().today().service_level() == Approx(0.5));
  }
}

}  // namespace
}  // namespace hotline
