// One call's whole path through the real daemon, over gRPC only: gateway stream, two desks,
// the calls row read back from SQLite.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <thread>

#include "storage/batch.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/manual_time.h"

namespace hotline {
namespace {

using testing::DaemonFixture;
using testing::DeskClient;
using testing::GatewayClient;
using testing::IsOffer;
namespace v1 = ::hotline::v1;

void FastTimers(daemon::Config& c) {
  c.engine.offer_timeout_ms = routing::Millis(400);
  c.engine.wrap_up_ms = routing::Millis(5'000);
}

// The daemon on a manual clock: no timer runs unless the test moves time.
struct ManualDaemon {
  std::shared_ptr<testing::ManualTime> time = std::make_shared<testing::ManualTime>();
  DaemonFixture f{FastTimers, nullptr, time};
};

// Two counsellors of Thanh Hóa (38), signed in and available; `an` became available first.
struct TwoDesks {
  explicit TwoDesks(DaemonFixture& f)
      : an(f.channel, f.AddCounsellor("an", "38")), binh(f.channel, f.AddCounsellor("binh", "38")) {
    an.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
    binh.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
    REQUIRE(an.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
    an.WaitForState(v1::COUNSELLOR_STATE_AVAILABLE);
    REQUIRE(binh.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
    binh.WaitForState(v1::COUNSELLOR_STATE_AVAILABLE);
  }
  DeskClient an;
  DeskClient binh;
};

// A 5 s connect time-out, and offers that ring until answered (60 s): the connect tests' settings.
void ShortConnectLongOffers(daemon::Config& c) {
  c.engine.connect_timeout_ms = routing::Millis(5'000);
  c.engine.offer_timeout_ms = routing::Millis(60'000);
}

// call-1 arrives, `an` accepts it and the gateway is told to connect it: the call is CONNECTING.
// Returns that connect.
v1::Command ConnectingToAn(TwoDesks& desks, GatewayClient& gw) {
  gw.WaitForWelcome();
  gw.Arrive("call-1", "38");
  CHECK(gw.WaitForAck().code() == 0);
  desks.an.WaitFor(IsOffer);
  REQUIRE(desks.an.Answer("call-1", true).ok());
  return gw.WaitForCommand(v1::Command::kConnect);
}

TEST_CASE("a call goes from arrival to a recorded outcome through the real daemon",
          "[integration]") {
  ManualDaemon md;
  DaemonFixture& f = md.f;
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();

  gw.Arrive("call-1", "38");
  CHECK(gw.WaitForAck().code() == 0);
  // `an` has been idle longest.
  const v1::DeskEvent offer = desks.an.WaitFor(IsOffer);
  CHECK(offer.offer().call().call_id() == "call-1");
  CHECK(offer.offer().call().province() == "38");
  CHECK(offer.offer().call().caller_masked().substr(0, 8) == "********");
  md.time->Advance(routing::Millis(200));  // The offer rings for 200 ms of its 400.
  REQUIRE(desks.an.Answer("call-1", true).ok());

  const v1::Command connect = gw.WaitForCommand(v1::Command::kConnect);
  CHECK(connect.call_id() == "call-1");
  CHECK(connect.connect().counsellor_id() == "an");
  CHECK(connect.connect().endpoint() == "sip:an@pbx.local");
  gw.Done(connect);
  gw.Event("call-1", [](v1::CallEvent& e) { e.mutable_connected(); });
  CHECK(gw.WaitForAck().code() == 0);
  desks.an.WaitFor([](const v1::DeskEvent& e) { return e.has_call_connected(); });

  md.time->Advance(routing::Millis(60'000));  // A minute's talk.
  gw.Event("call-1", [](v1::CallEvent& e) { e.mutable_ended(); });
  CHECK(gw.WaitForAck().code() == 0);
  desks.an.WaitFor([](const v1::DeskEvent& e) { return e.has_call_ended(); });
  const v1::DeskEvent wrap =
      desks.an.WaitFor([](const v1::DeskEvent& e) { return e.has_wrap_up_started(); });
  CHECK(wrap.wrap_up_started().call_id() == "call-1");

  v1::Disposition d;
  d.set_category(v1::CATEGORY_FAMILY_RELATIONSHIPS);
  d.set_action(v1::ACTION_COUNSELLED);
  d.add_flags(v1::DISPOSITION_FLAG_REPEAT);
  d.set_heavy(true);
  md.time->Advance(routing::Millis(1'000));  // Within the 5 s wrap-up.
  REQUIRE(desks.an.Dispose("call-1", d).ok());
  // A heavy call: a cool-down break before the next offer.
  const v1::DeskEvent cool = desks.an.WaitFor([](const v1::DeskEvent& e) {
    return e.has_presence_changed() &&
           e.presence_changed().status().state() == v1::COUNSELLOR_STATE_BREAK;
  });
  CHECK(cool.presence_changed().status().break_reason() == v1::BREAK_REASON_COOL_DOWN);

  // The row was written before the disposition was answered.
  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  SQLite::Statement row(db,
                        "SELECT outcome, counsellor_id, arrived_at, first_offered_at, accepted_at,"
                        " answered_at, ended_at, wrap_up_done_at, wait_ms, talk_ms, category,"
                        " action, flags, heavy, offers, caller_key, caller_masked, province"
                        " FROM calls WHERE call_id = 'call-1'");
  REQUIRE(row.executeStep());
  CHECK(row.getColumn(0).getString() == "completed");
  CHECK(row.getColumn(1).getString() == "an");
  const int64_t arrived = row.getColumn(2).getInt64();
  const int64_t offered = row.getColumn(3).getInt64();
  const int64_t accepted = row.getColumn(4).getInt64();
  const int64_t answered = row.getColumn(5).getInt64();
  const int64_t ended = row.getColumn(6).getInt64();
  const int64_t done = row.getColumn(7).getInt64();
  CHECK(arrived > 1'700'000'000'000);  // A real wall-clock time in ms.
  // The manual clock makes every interval exact.
  CHECK(offered == arrived);
  CHECK(accepted == offered + 200);
  CHECK(answered == accepted);
  CHECK(ended == answered + 60'000);
  CHECK(done == ended + 1'000);
  CHECK(row.getColumn(8).getInt64() == answered - arrived);
  CHECK(row.getColumn(9).getInt64() == ended - answered);
  CHECK(row.getColumn(10).getString() == "family_relationships");
  CHECK(row.getColumn(11).getString() == "counselled");
  CHECK(row.getColumn(12).getString() == "repeat");
  CHECK(row.getColumn(13).getInt() == 1);
  CHECK(row.getColumn(14).getInt() == 1);
  // Never the raw number: a 64-hex-digit keyed hash and the masked form.
  const std::string key = row.getColumn(15).getString();
  CHECK(key.size() == 64);
  CHECK(key.find("912345") == std::string::npos);
  CHECK(row.getColumn(16).getString().find("912345") == std::string::npos);
  CHECK(row.getColumn(17).getString() == "38");
  CHECK_FALSE(row.executeStep());

  // Presence history: an went available, reserved, on call, wrap-up, cool-down break.
  SQLite::Statement presence(db,
                             "SELECT state FROM presence WHERE counsellor_id = 'an' ORDER BY id");
  std::vector<std::string> states;
  while (presence.executeStep()) {
    states.push_back(presence.getColumn(0).getString());
  }
  CHECK(states == std::vector<std::string>{"available", "reserved", "on_call", "wrap_up", "break"});
}

TEST_CASE("a caller who hangs up while waiting is recorded as abandoned", "[integration]") {
  DaemonFixture f(FastTimers);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("call-2", "38");
  CHECK(gw.WaitForAck().code() == 0);
  const v1::Command announce = gw.WaitForCommand(v1::Command::kAnnounce);
  CHECK(announce.announce().position() == 1);
  gw.Event("call-2", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  CHECK(gw.WaitForAck().code() == 0);

  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  SQLite::Statement row(db,
                        "SELECT outcome, counsellor_id IS NULL, answered_at IS NULL, wait_ms"
                        " FROM calls WHERE call_id = 'call-2'");
  REQUIRE(row.executeStep());
  CHECK(row.getColumn(0).getString() == "abandoned");
  CHECK(row.getColumn(1).getInt() == 1);
  CHECK(row.getColumn(2).getInt() == 1);
  CHECK(row.getColumn(3).getInt64() >= 0);
}

TEST_CASE("an offer left unanswered goes to the other counsellor", "[integration]") {
  ManualDaemon md;
  DaemonFixture& f = md.f;
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("call-3", "38");
  CHECK(desks.an.WaitFor(IsOffer).offer().call().call_id() == "call-3");
  md.time->Advance(routing::Millis(400));
  // an does nothing; after the 400 ms offer timeout it is revoked and binh is offered the call.
  const v1::DeskEvent revoked =
      desks.an.WaitFor([](const v1::DeskEvent& e) { return e.has_offer_revoked(); });
  CHECK(revoked.offer_revoked().reason() == v1::OfferRevokedEvent::REASON_TIMED_OUT);
  CHECK(desks.binh.WaitFor(IsOffer).offer().call().call_id() == "call-3");
  // The call is binh's now: an cannot take it any more.
  CHECK(desks.an.Answer("call-3", true).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(desks.binh.Answer("call-3", true).ok());
  gw.WaitForCommand(v1::Command::kConnect);
}

TEST_CASE("a never-route mark withdraws the offer of that caller ringing on that desk",
          "[integration]") {
  // Defect (a black-box check): `hotlinectl never CALL an` while the call rang on an's desk left
  // the offer there; an accepted it and the gateway was told to connect the caller to an.
  ManualDaemon md;
  DaemonFixture& f = md.f;
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("call-5", "38");
  CHECK(desks.an.WaitFor(IsOffer).offer().call().call_id() == "call-5");
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kSupervisorToken);
  v1::SupervisorNeverRouteRequest never;
  never.set_request_id("never-1");
  never.set_counsellor_id("an");
  never.set_call_id("call-5");
  v1::SupervisorNeverRouteResponse response;
  REQUIRE(v1::SupervisorService::NewStub(f.channel)->NeverRouteCaller(&ctx, never, &response).ok());
  const v1::DeskEvent revoked =
      desks.an.WaitFor([](const v1::DeskEvent& e) { return e.has_offer_revoked(); });
  CHECK(revoked.offer_revoked().call_id() == "call-5");
  CHECK(revoked.offer_revoked().reason() == v1::OfferRevokedEvent::REASON_WITHDRAWN);
  CHECK(desks.binh.WaitFor(IsOffer).offer().call().call_id() == "call-5");
  CHECK(desks.an.Answer("call-5", true).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(desks.binh.Answer("call-5", true).ok());
  CHECK(gw.WaitForCommand(v1::Command::kConnect).connect().counsellor_id() == "binh");
}

TEST_CASE(
    "while another process holds the database's lock, the gateway's connect goes out and the "
    "acknowledgements wait for the commit",
    "[integration]") {
  // A black-box check held the database with a script's `BEGIN EXCLUSIVE` for 20-40 s: each
  // commit waited up to 5 s for the lock before the connect it carried went out, and a short
  // connect time-out took bridged calls back. (writer_test has the regression check.)
  ManualDaemon md;
  DaemonFixture& f = md.f;
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  SQLite::Database other(f.config.database, SQLite::OPEN_READWRITE);
  other.exec("BEGIN EXCLUSIVE");
  gw.Arrive("call-1", "38");
  CHECK(desks.an.WaitFor(IsOffer).offer().call().call_id() == "call-1");
  grpc::Status accepted(grpc::StatusCode::UNKNOWN, "not answered");
  std::jthread accept([&] { accepted = desks.an.Answer("call-1", true); });
  CHECK(gw.WaitForCommand(v1::Command::kConnect).connect().counsellor_id() == "an");
  // The arrival is not written yet, so it is not acknowledged, nor is the accept.
  const auto is_ack = [](const v1::HotlineMessage& m) { return m.has_ack(); };
  CHECK_FALSE(gw.GatewayConnection::WaitFor(is_ack, std::chrono::milliseconds(0)).has_value());

  other.exec("COMMIT");
  CHECK(gw.WaitForAck().code() == 0);
  accept.join();
  CHECK(accepted.ok());
  const v1::CounsellorStatus an = testing::CounsellorIn(f.View(), "an");
  CHECK(an.state() == v1::COUNSELLOR_STATE_ON_CALL);
  CHECK(an.call_id() == "call-1");
}

TEST_CASE("a connect the gateway never answers fails after routing.connect_timeout_ms",
          "[integration]") {
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f(ShortConnectLongOffers, nullptr, time);
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  const v1::Command first = ConnectingToAn(desks, gw);
  CHECK(first.connect().counsellor_id() == "an");

  // The gateway says nothing more about it: no result, no connected event.
  time->Advance(routing::Millis(5'000));
  // Regression: an stayed ON_CALL, and the caller waited on a connect nobody was making, for as
  // long as the gateway stayed silent.
  // an is free again, and not on break: the silence is the gateway's.
  desks.an.WaitFor([](const v1::DeskEvent& e) {
    return e.has_presence_changed() &&
           e.presence_changed().status().state() == v1::COUNSELLOR_STATE_AVAILABLE;
  });
  const v1::DeskEvent offer = desks.binh.WaitFor(IsOffer);  // Back in its place, offered on.
  CHECK(offer.offer().call().call_id() == "call-1");
  REQUIRE(desks.binh.Answer("call-1", true).ok());
  const v1::Command second = gw.WaitForCommand(v1::Command::kConnect);
  CHECK(second.connect().counsellor_id() == "binh");
  CHECK(second.command_id() != first.command_id());

  // The first connect's result comes late: it is not the call's connect any more and changes
  // nothing, so binh's connect goes through.
  v1::GatewayMessage late;
  late.mutable_command_result()->set_command_id(first.command_id());
  late.mutable_command_result()->mutable_unreachable()->set_reason("SIP 408");
  gw.Send(late);
  gw.Done(second);
  gw.Event("call-1", [](v1::CallEvent& e) { e.mutable_connected(); });
  CHECK(gw.WaitForAck().code() == 0);
  desks.binh.WaitFor([](const v1::DeskEvent& e) { return e.has_call_connected(); });

  // Journaled: a restart brings back the call connected to binh, and an without a call (their
  // desk is not back yet: AVAILABLE in the grace period).
  f.Restart();
  const v1::QueueView view = f.View();
  const v1::CounsellorStatus an = testing::CounsellorIn(view, "an");
  CHECK(an.state() == v1::COUNSELLOR_STATE_AVAILABLE);
  CHECK(an.call_id().empty());
  const v1::CounsellorStatus binh = testing::CounsellorIn(view, "binh");
  CHECK(binh.state() == v1::COUNSELLOR_STATE_ON_CALL);
  CHECK(binh.call_id() == "call-1");
}

TEST_CASE("a clean restart under other routing settings replays nothing already handled",
          "[integration]") {
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f(ShortConnectLongOffers, nullptr, time);
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  ConnectingToAn(desks, gw);
  time->Advance(routing::Millis(5'000));  // an's connect is taken back; binh gets the call.
  desks.binh.WaitFor(IsOffer);
  REQUIRE(desks.binh.Answer("call-1", true).ok());
  gw.Done(gw.WaitForCommand(v1::Command::kConnect));
  gw.Event("call-1", [](v1::CallEvent& e) { e.mutable_connected(); });
  CHECK(gw.WaitForAck().code() == 0);
  desks.binh.WaitFor([](const v1::DeskEvent& e) { return e.has_call_connected(); });

  // The operator lengthens the connect time-out and restarts hotlined. Regression: the start
  // replayed the journal since the last snapshot under the new 60 s, so an's connect never
  // timed out, binh's acceptance was refused ("replayed with a different answer"), and the call
  // came back connected to an.
  f.config.engine.connect_timeout_ms = routing::Millis(60'000);
  f.Restart();
  const v1::QueueView view = f.View();
  const v1::CounsellorStatus binh = testing::CounsellorIn(view, "binh");
  CHECK(binh.state() == v1::COUNSELLOR_STATE_ON_CALL);
  CHECK(binh.call_id() == "call-1");
  CHECK(testing::CounsellorIn(view, "an").call_id().empty());
}

TEST_CASE("after a crash, each journal record replays under the routing settings that decided it",
          "[integration]") {
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f(ShortConnectLongOffers,
                  testing::DropSnapshotsWhile(std::make_shared<std::atomic<bool>>(true)), time);
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  ConnectingToAn(desks, gw);
  time->Advance(routing::Millis(5'000));
  desks.binh.WaitFor(IsOffer);
  REQUIRE(desks.binh.Answer("call-1", true).ok());
  gw.WaitForCommand(v1::Command::kConnect);
  f.WaitDurable();

  // No snapshot, as after a kill -9: the next start replays the whole journal, now under a 60 s
  // time-out. Regression: it replayed under the new settings, an's connect never timed out and
  // the call came back with an.
  f.config.engine.connect_timeout_ms = routing::Millis(60'000);
  f.Restart();
  const v1::QueueView view = f.View();
  CHECK(testing::CounsellorIn(view, "binh").call_id() == "call-1");
  CHECK(testing::CounsellorIn(view, "an").call_id().empty());
}

TEST_CASE("routing settings changed at a restart time what the restart times", "[integration]") {
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f([](daemon::Config& c) { c.engine.connect_timeout_ms = routing::Millis(5'000); },
                  nullptr, time);
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  ConnectingToAn(desks, gw);

  // Still connecting at the stop. The restart counts the connect time-out again, and under the
  // new 60 s: 5 s later the connect still stands.
  f.config.engine.connect_timeout_ms = routing::Millis(60'000);
  f.Restart();
  time->Advance(routing::Millis(5'000));
  CHECK(testing::CounsellorIn(f.View(), "an").call_id() == "call-1");
}

TEST_CASE("a desk that drops while an offer rings sends the call to the other counsellor",
          "[integration]") {
  DaemonFixture f([](daemon::Config& c) { c.engine.offer_timeout_ms = routing::Millis(60'000); });
  TwoDesks desks(f);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("call-4", "38");
  desks.an.WaitFor(IsOffer);
  desks.an.Close();
  // Long before the 60 s offer timeout: the drop itself sends the call on.
  CHECK(desks.binh.WaitFor(IsOffer).offer().call().call_id() == "call-4");
}

}  // namespace
}  // namespace hotline
