// Bad input through the real daemon: a precise status naming the field, and nothing changed.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>

#include "tests/testing/daemon_fixture.h"

namespace hotline {
namespace {

using testing::Authorize;
using testing::DaemonFixture;
using testing::DeskClient;
using testing::GatewayClient;
namespace v1 = ::hotline::v1;

int64_t CallRows(const DaemonFixture& f) {
  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  return db.execAndGet("SELECT count(*) FROM calls").getInt64();
}

TEST_CASE("a call event with a bad field is refused naming the field and changes nothing",
          "[integration]") {
  DaemonFixture f;
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();

  // A child's call is never refused for the gateway's data (reconcile_test.cc shows those);
  // only a broken protocol is.
  v1::GatewayMessage no_id;
  no_id.mutable_event()->set_call_id("c-1");
  no_id.mutable_event()->mutable_caller_hung_up();
  gw.Send(no_id);
  v1::EventAck ack = gw.WaitForAck();
  CHECK(ack.code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(ack.message(), Catch::Contains("event.event_id"));

  gw.Event("ghost", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  ack = gw.WaitForAck();
  CHECK(ack.code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(ack.message(), Catch::Contains("call_id"));

  gw.Arrive("dup", "38");
  CHECK(gw.WaitForAck().code() == 0);
  gw.Arrive("dup", "38");
  CHECK(gw.WaitForAck().code() == grpc::StatusCode::ALREADY_EXISTS);

  CHECK(CallRows(f) == 0);
}

TEST_CASE("a gateway stream that does not start with a hello is closed", "[integration]") {
  DaemonFixture f;
  auto stub = v1::GatewayService::NewStub(f.channel);
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kGatewayToken);
  auto stream = stub->Connect(&ctx);
  v1::GatewayMessage msg;
  msg.mutable_event()->set_event_id("e1");
  stream->Write(msg);
  v1::HotlineMessage in;
  CHECK_FALSE(stream->Read(&in));
  grpc::Status s = stream->Finish();
  CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(s.error_message(), Catch::Contains("hello"));
}

TEST_CASE("every role needs its own token", "[integration]") {
  DaemonFixture f;
  // A gateway with the admin's token.
  auto stub = v1::GatewayService::NewStub(f.channel);
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kAdminToken);
  auto stream = stub->Connect(&ctx);
  v1::HotlineMessage in;
  CHECK_FALSE(stream->Read(&in));
  CHECK(stream->Finish().error_code() == grpc::StatusCode::UNAUTHENTICATED);

  // A desk with a made-up token.
  DeskClient desk(f.channel, "not-a-token");
  desk.WaitForEnd();
  CHECK(desk.final_status.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);

  // The admin service without a token.
  grpc::ClientContext admin_ctx;
  v1::ListCounsellorsResponse list;
  CHECK(f.admin->ListCounsellors(&admin_ctx, v1::ListCounsellorsRequest(), &list).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("a bad counsellor profile is refused naming the field", "[integration]") {
  DaemonFixture f;
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kAdminToken);
  v1::CreateCounsellorRequest req = testing::NewCounsellor("lan", "38");
  auto* skill = req.mutable_counsellor()->mutable_skills(0);
  skill->set_proficiency(9);
  v1::CreateCounsellorResponse resp;
  grpc::Status s = f.admin->CreateCounsellor(&ctx, req, &resp);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(s.error_message(), Catch::Contains("counsellor.skills[0].proficiency"));

  f.AddCounsellor("lan", "38");
  grpc::ClientContext again;
  Authorize(again, DaemonFixture::kAdminToken);
  skill->set_proficiency(3);
  CHECK(f.admin->CreateCounsellor(&again, req, &resp).error_code() ==
        grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE("desk actions out of turn are refused with FAILED_PRECONDITION or NOT_FOUND",
          "[integration]") {
  DaemonFixture f;
  DeskClient desk(f.channel, f.AddCounsellor("lan", "38"));
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  CHECK(desk.Answer("no-such-call", true).error_code() == grpc::StatusCode::NOT_FOUND);
  v1::Disposition d;
  d.set_category(v1::CATEGORY_OTHER);
  d.set_action(v1::ACTION_NONE);
  CHECK(desk.Dispose("no-such-call", d).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  d.clear_category();
  grpc::Status s = desk.Dispose("no-such-call", d);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(s.error_message(), Catch::Contains("disposition.category"));
  CHECK(desk.SetPresence(v1::COUNSELLOR_STATE_ON_CALL).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("counsellors survive a restart of the daemon", "[integration]") {
  DaemonFixture f;
  const std::string token = f.AddCounsellor("lan", "38");
  f.daemon->Shutdown();
  f.daemon.reset();
  f.Start();
  DeskClient desk(f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  CHECK(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
}

}  // namespace
}  // namespace hotline
