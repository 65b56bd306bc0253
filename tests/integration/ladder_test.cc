// The routing policy through the real daemon: the ladder to the millisecond on a manual clock,
// emergencies first, province codes old and new, and reloading the policy while calls wait.
#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <optional>

#include "tests/testing/daemon_fixture.h"
#include "tests/testing/manual_time.h"

namespace hotline {
namespace {

using testing::Authorize;
using testing::DaemonFixture;
using testing::DeskClient;
using testing::GatewayClient;
using testing::IsOffer;
using testing::ManualTime;
using testing::SignedIn;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

// A short ladder.
constexpr const char* kFastLadder = R"(
strategy = "longest_idle"
[[ladders.default]]
scope = "province"
duration_ms = 400
[[ladders.default]]
scope = "centre"
duration_ms = 400
[[ladders.default]]
scope = "national"
[[ladders.priority.emergency]]
scope = "national"
)";

// A fixture whose policy file is a temporary copy the test may rewrite.
struct PolicyFixture {
  explicit PolicyFixture(const std::string& policy)
      : f(
            [this, policy](daemon::Config& c) {
              c.policy_file = (dir.path() / "policy.toml").string();
              std::ofstream(c.policy_file) << policy;
            },
            nullptr, time) {}
  // Moves the daemon's clock and returns once the engine has handled what fell due.
  void Advance(routing::Millis by) {
    time->Advance(by);
    f.View();
  }
  void Rewrite(const std::string& policy) { std::ofstream(f.config.policy_file) << policy; }
  grpc::Status Reload(v1::ReloadPolicyResponse* response) {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kAdminToken);
    return f.admin->ReloadPolicy(&ctx, v1::ReloadPolicyRequest(), response);
  }
  std::shared_ptr<ManualTime> time = std::make_shared<ManualTime>();
  testing::TempDir dir;
  DaemonFixture f;
};

// No offer has reached the desk so far.
void NoOfferYet(DeskClient& desk) {
  while (auto e = desk.inbox.Pop(0ms)) {
    CHECK_FALSE(e->has_offer());
  }
}

TEST_CASE("a call from Thanh Hoa climbs province, centre, national to the millisecond",
          "[integration][routing]") {
  PolicyFixture p(kFastLadder);
  // Nobody serves Thanh Hóa (38); Hà Nội (01) is in the northern centre, not Thanh Hóa's.
  SignedIn hanoi(p.f, "hanoi", "01");
  GatewayClient gw(p.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("call-1", "38");
  CHECK(gw.WaitForAck().code() == 0);
  CHECK(p.f.View().calls(0).ladder_step() == 0);
  // Neither the province step (400 ms) nor the centre step (400 ms) lets Hà Nội take it.
  p.Advance(400ms);
  CHECK(p.f.View().calls(0).ladder_step() == 1);
  p.Advance(399ms);
  NoOfferYet(hanoi.desk);
  p.Advance(1ms);
  const v1::DeskEvent offer = hanoi.desk.WaitFor(IsOffer);
  CHECK(offer.offer().call().call_id() == "call-1");
  const v1::QueueView view = p.f.View();
  CHECK(view.calls(0).ladder_step() == 2);
  CHECK(view.calls(0).state() == v1::CALL_STATE_OFFERED);
}

// The engine's timer stays armed for an earlier deadline whose call has gone (it is not re-armed
// for every input): the early wake finds nothing due, and the next call's steps still come to the
// millisecond.
TEST_CASE("a call climbs its ladder to the millisecond after an earlier call's timers died",
          "[integration][routing]") {
  PolicyFixture p(kFastLadder);
  SignedIn hanoi(p.f, "hanoi", "01");
  GatewayClient gw(p.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("call-0", "38");  // Its first step ends at 400 ms.
  CHECK(gw.WaitForAck().code() == 0);
  p.Advance(100ms);
  gw.Event("call-0", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  CHECK(gw.WaitForAck().code() == 0);
  p.Advance(100ms);
  gw.Arrive("call-1", "38");  // At 200 ms: its steps end at 600 and 1,000 ms.
  CHECK(gw.WaitForAck().code() == 0);
  p.Advance(200ms);  // 400 ms: call-0's step would have ended.
  CHECK(p.f.View().calls(0).ladder_step() == 0);
  p.Advance(199ms);
  CHECK(p.f.View().calls(0).ladder_step() == 0);
  p.Advance(1ms);  // 600 ms.
  CHECK(p.f.View().calls(0).ladder_step() == 1);
  p.Advance(399ms);
  NoOfferYet(hanoi.desk);
  p.Advance(1ms);  // 1,000 ms: national, where Ha Noi takes it.
  const v1::DeskEvent offer = hanoi.desk.WaitFor(IsOffer);
  CHECK(offer.offer().call().call_id() == "call-1");
  CHECK(p.f.View().calls(0).ladder_step() == 2);
}

TEST_CASE("a call from Thanh Hoa goes to its own centre before the rest of the country",
          "[integration][routing]") {
  PolicyFixture p(kFastLadder);
  SignedIn hanoi(p.f, "hanoi", "01");     // Northern centre.
  SignedIn nghe_an(p.f, "nghean", "40");  // Nghệ An: Thanh Hóa's centre, not its province.
  GatewayClient gw(p.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("call-1", "38");
  CHECK(gw.WaitForAck().code() == 0);
  p.Advance(399ms);
  NoOfferYet(nghe_an.desk);
  p.Advance(1ms);
  const v1::DeskEvent offer = nghe_an.desk.WaitFor(IsOffer);
  CHECK(offer.offer().call().call_id() == "call-1");
  CHECK(p.f.View().calls(0).ladder_step() == 1);
  NoOfferYet(hanoi.desk);
}

TEST_CASE("an emergency call is offered before calls that waited longer",
          "[integration][routing]") {
  PolicyFixture p(kFastLadder);
  const std::string token = p.f.AddCounsellor("lan", "38");
  GatewayClient gw(p.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("early", "38");
  CHECK(gw.WaitForAck().code() == 0);
  gw.Arrive("later", "38");
  CHECK(gw.WaitForAck().code() == 0);
  gw.Arrive("danger", "79", v1::PRIORITY_EMERGENCY);  // Another province, another centre.
  CHECK(gw.WaitForAck().code() == 0);
  DeskClient desk(p.f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  CHECK(desk.WaitFor(IsOffer).offer().call().call_id() == "danger");
}

TEST_CASE("province codes from before 2025 mean today's province, and an unknown code still routes",
          "[integration][routing]") {
  DaemonFixture f;
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("nam-dinh", "36");  // Nam Định, merged into Ninh Bình (37).
  CHECK(gw.WaitForAck().code() == 0);
  CHECK(f.View().calls(0).summary().province() == "37");
  gw.Arrive("nowhere", "63");  // A child's call is never refused for the gateway's data.
  const v1::EventAck ack = gw.WaitForAck();
  CHECK(ack.code() == 0);
  // Counsellors' provinces are the administrator's data: an unknown one is refused.

  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kAdminToken);
  v1::CreateCounsellorRequest req;
  auto* c = req.mutable_counsellor();
  c->set_counsellor_id("lan");
  c->set_display_name("Lan");
  c->set_home_province("99");
  c->add_languages("vi");
  c->set_endpoint("sip:lan@pbx");
  auto* skill = c->add_skills();
  skill->set_topic(v1::TOPIC_COUNSELLING);
  skill->set_proficiency(3);
  v1::CreateCounsellorResponse resp;
  grpc::Status s = f.admin->CreateCounsellor(&ctx, req, &resp);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(s.error_message(), Catch::Contains("counsellor.home_province"));
}

TEST_CASE("reloading the policy keeps every waiting call in place, and a bad file changes nothing",
          "[integration][routing]") {
  // A ladder that would keep the call at province scope for an hour.
  PolicyFixture p(R"(
[[ladders.default]]
scope = "province"
duration_ms = 3600000
[[ladders.default]]
scope = "national"
)");
  SignedIn hanoi(p.f, "hanoi", "01");
  GatewayClient gw(p.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("first", "38");
  CHECK(gw.WaitForAck().code() == 0);
  gw.Arrive("second", "38");
  CHECK(gw.WaitForAck().code() == 0);

  p.Rewrite("[[ladders.default]]\nscope = \"provinec\"\n");
  v1::ReloadPolicyResponse response;
  grpc::Status bad = p.Reload(&response);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad.error_message(),
             Catch::Contains("policy.toml:2") && Catch::Contains("ladders.default[0].scope"));
  CHECK(p.f.View().calls_size() == 2);

  // Now straight to national: hanoi takes the first call at once, the second keeps its place.
  p.Rewrite("[[ladders.default]]\nscope = \"national\"\n");
  REQUIRE(p.Reload(&response).ok());
  CHECK_THAT(response.summary(), Catch::Contains("default ladder national"));
  CHECK(hanoi.desk.WaitFor(IsOffer).offer().call().call_id() == "first");
  const v1::QueueView view = p.f.View();
  REQUIRE(view.calls_size() == 2);
  CHECK(view.calls(0).summary().call_id() == "second");
  CHECK(view.calls(0).position() == 1);
}

// Takes the call ringing on `desk` through to a recorded, not heavy, outcome.
void Complete(DeskClient& desk, GatewayClient& gw, const std::string& call_id) {
  REQUIRE(desk.Answer(call_id, true).ok());
  gw.Done(gw.WaitForCommand(v1::Command::kConnect));
  gw.Event(call_id, [](v1::CallEvent& e) { e.mutable_connected(); });
  gw.Event(call_id, [](v1::CallEvent& e) { e.mutable_ended(); });
  desk.WaitFor([](const v1::DeskEvent& e) { return e.has_wrap_up_started(); });
  v1::Disposition d;
  d.set_category(v1::CATEGORY_FAMILY_RELATIONSHIPS);
  d.set_action(v1::ACTION_COUNSELLED);
  REQUIRE(desk.Dispose(call_id, d).ok());
  desk.WaitForState(v1::COUNSELLOR_STATE_AVAILABLE);
}

// A counsellor's NeverRouteCaller for `call_id`, from their desk's token.
grpc::Status NeverRoute(DaemonFixture& f, const std::string& token, const std::string& call_id) {
  auto stub = v1::DeskService::NewStub(f.channel);
  grpc::ClientContext ctx;
  Authorize(ctx, token);
  v1::NeverRouteCallerRequest req;
  req.set_request_id("never-" + call_id);
  req.set_call_id(call_id);
  v1::NeverRouteCallerResponse resp;
  return stub->NeverRouteCaller(&ctx, req, &resp);
}

TEST_CASE("a repeat caller goes back to their counsellor, unless she asked never to get them",
          "[integration][routing]") {
  DaemonFixture f;
  SignedIn an(f, "an", "38");
  SignedIn binh(f, "binh", "38");
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  const std::string child = "+84987654321";
  gw.Arrive("first", "38", v1::PRIORITY_NORMAL, child);
  CHECK_FALSE(an.desk.WaitFor(IsOffer).offer().call().repeat_caller());
  Complete(an.desk, gw, "first");

  // binh has now been idle longer, but the child goes back to an.
  gw.Arrive("second", "38", v1::PRIORITY_NORMAL, child);
  const v1::DeskEvent again = an.desk.WaitFor(IsOffer);
  CHECK(again.offer().call().call_id() == "second");
  CHECK(again.offer().call().repeat_caller());
  Complete(an.desk, gw, "second");

  // an asks never to be given this caller again.
  REQUIRE(NeverRoute(f, an.token, "second").ok());
  gw.Arrive("third", "38", v1::PRIORITY_NORMAL, child);
  CHECK(binh.desk.WaitFor(IsOffer).offer().call().call_id() == "third");
}

TEST_CASE(
    "never-route for a call that ended over a day ago is NOT_FOUND on a line with no input since",
    "[integration][routing]") {
  auto time = std::make_shared<ManualTime>();
  DaemonFixture f({}, nullptr, time);
  SignedIn an(f, "an", "38");
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("first", "38", v1::PRIORITY_NORMAL, "+84987654321");
  an.desk.WaitFor(IsOffer);
  Complete(an.desk, gw, "first");
  time->Advance(25h);  // Nothing comes in meanwhile.
  const grpc::Status s = NeverRoute(f, an.token, "first");
  CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(s.error_message(), Catch::Contains("call_id"));
}

TEST_CASE("a never-route rule survives a crash after retention cleared its caller from the rows",
          "[integration][routing]") {
  // callers_days = 1, a snapshot at every commit until the rule is asked for, then none (not
  // even the retention runs' own): the replay after the crash decides the rule again, when the
  // call's row no longer holds the caller. In service, a rule made after the run that cleared
  // the row (a call that ended long after it was answered) replays so. Regression: the replay could
  // not find the caller, so the rule was lost and the child's next call went to the counsellor who
  // asked never to get them.
  auto time = std::make_shared<ManualTime>();
  auto drop = std::make_shared<std::atomic<bool>>(false);
  DaemonFixture f(
      [](daemon::Config& c) {
        c.retention.callers_days = 1;
        c.snapshot_every_records = 1;
      },
      testing::DropSnapshotsWhile(drop), time);
  std::optional<SignedIn> an(std::in_place, f, "an", "38");
  time->Advance(1s);
  std::optional<SignedIn> binh(std::in_place, f, "binh", "38");
  std::optional<GatewayClient> gw(std::in_place, f.channel, DaemonFixture::kGatewayToken, "gw-1");
  const std::string child = "+84987654321";
  gw->Arrive("first", "38", v1::PRIORITY_NORMAL, child);
  an->desk.WaitFor(IsOffer);  // The longest idle.
  Complete(an->desk, *gw, "first");
  f.WaitDurable();

  drop->store(true);
  time->Advance(23h);  // Within the day the daemon remembers a finished call.
  f.View();
  {
    const grpc::Status s = NeverRoute(f, an->token, "first");
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  time->Advance(2h);  // The hourly retention runs clear the call's caller from its row.
  f.View();
  f.WaitDurable();
  {
    SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
    CHECK(
        db.execAndGet("SELECT caller_key FROM calls WHERE call_id = 'first'").getString().empty());
  }

  const std::string an_token = an->token;
  const std::string binh_token = binh->token;
  an.reset();
  binh.reset();
  gw.reset();
  f.Restart();  // Its stop's snapshot is dropped: the replay starts before the rule.
  DeskClient an_again(f.channel, an_token, "again-");
  an_again.WaitFor([](const v1::DeskEvent& e) { return e.has_presence_changed(); });
  REQUIRE(an_again.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  time->Advance(1s);  // an is the longest idle again.
  DeskClient binh_again(f.channel, binh_token, "again-");
  binh_again.WaitFor([](const v1::DeskEvent& e) { return e.has_presence_changed(); });
  REQUIRE(binh_again.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  GatewayClient gw2(f.channel, DaemonFixture::kGatewayToken, "gw-2");
  gw2.Arrive("second", "38", v1::PRIORITY_NORMAL, child);
  CHECK(binh_again.WaitFor(IsOffer).offer().call().call_id() == "second");
}

TEST_CASE(
    "a repeat caller's call replays to the same counsellor after retention cleared the "
    "first call's caller",
    "[integration][routing]") {
  // callers_days = 1: the first call's caller leaves its row a day after it was answered, when
  // the router has forgotten them too. A call that came before that, and went to the same
  // counsellor as a repeat caller, must replay the same way after a crash. Regression: the
  // replay started at the last snapshot, before the retention run, rebuilt the repeat callers
  // from the rows the run had cleared, and sent the second call to another counsellor (the
  // counsellor's answer, then the gateway's events, "replayed with a different answer").
  auto time = std::make_shared<ManualTime>();
  auto drop = std::make_shared<std::atomic<bool>>(false);
  DaemonFixture f([](daemon::Config& c) { c.retention.callers_days = 1; },
                  testing::DropSnapshotsWhile(drop), time);
  const std::string child = "+84987654321";
  std::string an_token;
  std::string binh_token;
  {
    SignedIn an(f, "an", "38");
    time->Advance(1s);
    SignedIn binh(f, "binh", "38");
    an_token = an.token;
    binh_token = binh.token;
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.Arrive("first", "38", v1::PRIORITY_NORMAL, child);
    an.desk.WaitFor(IsOffer);  // The longest idle.
    Complete(an.desk, gw, "first");
  }
  f.Restart();  // A snapshot: the first call is in the rows only.

  // binh is now the longest idle (an takes a break and comes back), but the child goes back to
  // an.
  DeskClient binh(f.channel, binh_token, "b-");
  binh.WaitFor([](const v1::DeskEvent& e) { return e.has_presence_changed(); });
  REQUIRE(binh.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  DeskClient an(f.channel, an_token, "a-");
  an.WaitFor([](const v1::DeskEvent& e) { return e.has_presence_changed(); });
  REQUIRE(an.SetPresence(v1::COUNSELLOR_STATE_BREAK).ok());
  time->Advance(1s);
  REQUIRE(an.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  time->Advance(23h + 50min);
  f.View();
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-2");
  gw.Arrive("second", "38", v1::PRIORITY_NORMAL, child);
  const v1::DeskEvent offer = an.WaitFor(IsOffer);
  REQUIRE(offer.offer().call().call_id() == "second");
  CHECK(offer.offer().call().repeat_caller());
  REQUIRE(an.Answer("second", true).ok());
  gw.Done(gw.WaitForCommand(v1::Command::kConnect));
  gw.Event("second", [](v1::CallEvent& e) { e.mutable_connected(); });
  an.WaitFor([](const v1::DeskEvent& e) { return e.has_call_connected(); });

  time->Advance(1h);  // The next hourly retention run clears the first call's caller.
  f.View();
  f.WaitDurable();
  {
    SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
    CHECK(
        db.execAndGet("SELECT caller_key FROM calls WHERE call_id = 'first'").getString().empty());
  }

  drop->store(true);
  f.Restart();  // Its stop's snapshot is dropped: recovered as after a kill -9.
  CHECK(testing::CounsellorIn(f.View(), "an").call_id() == "second");
}

TEST_CASE("a supervisor can ask why a call went where it went", "[integration][routing]") {
  auto time = std::make_shared<ManualTime>();
  DaemonFixture f([](daemon::Config& c) { c.engine.offer_timeout_ms = routing::Millis(300); },
                  nullptr, time);
  SignedIn an(f, "an", "38");
  SignedIn binh(f, "binh", "38");
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.Arrive("call-1", "38");
  an.desk.WaitFor(IsOffer);  // an lets it ring out...
  time->Advance(300ms);
  binh.desk.WaitFor(IsOffer);
  REQUIRE(binh.desk.Answer("call-1", true).ok());  // ...and binh takes it.
  gw.WaitForCommand(v1::Command::kConnect);

  auto stub = v1::SupervisorService::NewStub(f.channel);
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kSupervisorToken);
  v1::ExplainCallRequest req;
  req.set_call_id("call-1");
  v1::ExplainCallResponse resp;
  grpc::Status s = stub->ExplainCall(&ctx, req, &resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
  REQUIRE(resp.offers_size() == 2);
  CHECK(resp.offers(0).counsellor_id() == "an");
  CHECK(resp.offers(0).result() == "timed_out");
  CHECK(resp.offers(0).scope() == "province");
  CHECK(resp.offers(0).eligible() == 2);
  CHECK_THAT(resp.offers(0).rule(), Catch::Contains("longest idle"));
  CHECK(resp.offers(1).counsellor_id() == "binh");
  CHECK(resp.offers(1).result() == "accepted");

  grpc::ClientContext unknown;
  Authorize(unknown, DaemonFixture::kSupervisorToken);
  req.set_call_id("never-was");
  CHECK(stub->ExplainCall(&unknown, req, &resp).error_code() == grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace hotline
