// Nothing acknowledged is lost: restarts, repeated ids, reconciliation, desk drops and storage
// faults, through the real daemon.
#include <SQLiteCpp/SQLiteCpp.h>
#include <httplib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "storage/store.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/faulty_daemon.h"
#include "tests/testing/faulty_sink.h"
#include "tests/testing/manual_time.h"
#include "tests/testing/metrics_text.h"

namespace hotline {
namespace {

using testing::DaemonFixture;
using testing::DeskClient;
using testing::GatewayClient;
using testing::IsOffer;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

std::vector<std::string> WaitingIds(const v1::QueueView& view) {
  std::vector<std::string> ids;
  for (const auto& call : view.calls()) {
    if (call.state() == v1::CALL_STATE_WAITING) {
      ids.push_back(call.summary().call_id());
    }
  }
  return ids;
}

std::string Outcome(const DaemonFixture& f, const std::string& call_id) {
  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT outcome FROM calls WHERE call_id = ?");
  q.bind(1, call_id);
  return q.executeStep() ? q.getColumn(0).getString() : "";
}

int HttpStatus(const DaemonFixture& f, const std::string& path) {
  httplib::Client client("127.0.0.1", f.daemon->http_port());
  auto res = client.Get(path.c_str());
  return res ? res->status : -1;
}

TEST_CASE("waiting calls survive a restart in their order and on their ladder step",
          "[integration][recovery]") {
  DaemonFixture f;
  const std::string token = f.AddCounsellor("lan", "38");
  {
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.Arrive("first", "38");
    CHECK(gw.WaitForAck().code() == 0);
    gw.Arrive("urgent", "79", v1::PRIORITY_EMERGENCY);
    CHECK(gw.WaitForAck().code() == 0);
    gw.Arrive("second", "38");
    CHECK(gw.WaitForAck().code() == 0);
  }
  const v1::QueueView before = f.View();
  f.Restart();
  const v1::QueueView after = f.View();
  CHECK(WaitingIds(after) == std::vector<std::string>{"urgent", "first", "second"});
  CHECK(WaitingIds(after) == WaitingIds(before));
  REQUIRE(after.calls_size() == 3);
  CHECK(after.calls(0).ladder_step() == 0);  // The emergency ladder: one step, national.
  CHECK(after.calls(1).ladder_step() == before.calls(1).ladder_step());
  CHECK(after.calls(1).summary().arrived_at().seconds() ==
        before.calls(1).summary().arrived_at().seconds());

  // The counsellor signs in to the restarted daemon and takes the oldest call they can.
  DeskClient desk(f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  CHECK(desk.WaitFor(IsOffer).offer().call().call_id() == "urgent");
}

TEST_CASE("a repeated event id gets the original answer and changes nothing, across a restart",
          "[integration][recovery]") {
  DaemonFixture f;
  auto send = [](GatewayClient& gw, const std::string& event_id, const std::string& call_id,
                 const std::string& province) {
    v1::GatewayMessage msg;
    auto* e = msg.mutable_event();
    e->set_event_id(event_id);
    e->set_call_id(call_id);
    auto* a = e->mutable_arrived();
    a->set_caller_number("+84912000001");
    a->set_province(province);
    a->set_language("vi");
    a->set_topic(v1::TOPIC_COUNSELLING);
    a->set_priority(v1::PRIORITY_NORMAL);
    gw.Send(msg);
    return gw.WaitForAck();
  };
  {
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    CHECK(send(gw, "ev-1", "call-1", "38").code() == 0);
    CHECK(send(gw, "ev-1", "call-1", "38").code() == 0);
    // The same id with other content is still the same event: the original answer.
    CHECK(send(gw, "ev-1", "call-2", "38").code() == 0);
    // A refused event is refused the same way again.
    const v1::EventAck refused = send(gw, "ev-2", "call-1", "38");
    CHECK(refused.code() == grpc::StatusCode::ALREADY_EXISTS);
    CHECK(send(gw, "ev-2", "call-9", "38").code() == grpc::StatusCode::ALREADY_EXISTS);
  }
  f.Restart();
  // The gateway comes back still holding call-1, and resends ev-1 (it missed the ack, say).
  v1::Hello hello = GatewayClient::HelloFor("gw-1");
  auto* held = hello.add_held_calls();
  held->set_call_id("call-1");
  held->mutable_arrived()->set_caller_number("+84912000001");
  held->mutable_arrived()->set_province("38");
  held->mutable_arrived()->set_language("vi");
  held->mutable_arrived()->set_topic(v1::TOPIC_COUNSELLING);
  held->mutable_arrived()->set_priority(v1::PRIORITY_NORMAL);
  held->mutable_arrived_at()->set_seconds(1);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, hello);
  CHECK(send(gw, "ev-1", "call-1", "38").code() == 0);
  CHECK(WaitingIds(f.View()) == std::vector<std::string>{"call-1"});
  // Event ids belong to their gateway: another gateway's ev-1 is a new event.
  GatewayClient other(f.channel, DaemonFixture::kGatewayToken, "gw-2");
  CHECK(send(other, "ev-1", "call-3", "38").code() == 0);
  CHECK(WaitingIds(f.View()) == std::vector<std::string>{"call-1", "call-3"});
}

TEST_CASE("a plain answer is the original answer for a day, across a restart, whatever the queue",
          "[integration][recovery]") {
  // An arrival, and the hang-up that ended its call, are answered OK with no message: the answers
  // a daemon gives most. A repeat gets exactly that for a day, even after a restart, with the
  // queue full, or with other content under the same id; and changes nothing. After a day (and
  // the hour the memory may round up to), the id is a new event.
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f([](daemon::Config& c) { c.limits.max_waiting_calls = 1; }, nullptr, time);
  auto send = [](GatewayClient& gw, const std::string& event_id, const std::string& call_id,
                 bool arrival) {
    v1::GatewayMessage msg;
    auto* e = msg.mutable_event();
    e->set_event_id(event_id);
    e->set_call_id(call_id);
    if (arrival) {
      *e->mutable_arrived() = testing::Arrival("38", "+84912000001");
    } else {
      e->mutable_caller_hung_up();
    }
    gw.Send(msg);
    return gw.WaitForAck();
  };
  auto plain = [](const v1::EventAck& ack) { return ack.code() == 0 && ack.message().empty(); };
  auto changes = [&f] {
    f.WaitDurable();
    SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
    return std::pair(db.execAndGet("SELECT COALESCE(MAX(seq), 0) FROM journal").getInt64(),
                     db.execAndGet("SELECT COUNT(*) FROM calls").getInt64());
  };
  {
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    CHECK(plain(send(gw, "ev-a", "call-1", true)));
    CHECK(plain(send(gw, "ev-h", "call-1", false)));
  }
  // Two hours later the daemon restarts: the answers come back with the times they were given.
  time->Advance(std::chrono::hours(2));
  f.Restart();
  time->Advance(std::chrono::hours(21) + std::chrono::minutes(59));
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  CHECK(plain(send(gw, "ev-c", "call-3", true)));  // The queue (of one) is now full.
  const auto before = changes();
  CHECK(plain(send(gw, "ev-a", "call-1", true)));
  CHECK(plain(send(gw, "ev-a", "call-2", true)));   // Other content: still the same event.
  CHECK(plain(send(gw, "ev-h", "call-1", false)));  // Not "had already finished".
  CHECK(plain(send(gw, "ev-h", "call-3", false)));  // Does not end the call now waiting.
  CHECK(plain(send(gw, "ev-c", "call-3", true)));
  CHECK(WaitingIds(f.View()) == std::vector<std::string>{"call-3"});
  CHECK(changes() == before);

  // A day and an hour after: new events. call-1 is forgotten, so its hang-up finds no call, and
  // its arrival is a new call.
  CHECK(plain(send(gw, "ev-h3", "call-3", false)));
  time->Advance(std::chrono::minutes(62));
  const v1::EventAck late_hang_up = send(gw, "ev-h", "call-1", false);
  CHECK(late_hang_up.code() == grpc::StatusCode::NOT_FOUND);
  CHECK(plain(send(gw, "ev-a", "call-1", true)));
  CHECK(WaitingIds(f.View()) == std::vector<std::string>{"call-1"});
}

TEST_CASE("an answer older than its memory is not given to the first request after a quiet spell",
          "[integration][recovery]") {
  // Answers were forgotten after an input was handled, so the first request after a quiet
  // spell could get an answer older than a day. No timer may fall due between the answer and
  // the request (a timer's input would forget it first): the retention job runs once a week
  // here, no call waits, and a finished call is forgotten when asked about, not by a timer.
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f([](daemon::Config& c) { c.retention.run_every_minutes = 7 * 24 * 60; }, nullptr,
                  time);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("call-1", "38");
  REQUIRE(gw.WaitForAck().code() == 0);
  gw.Event("call-1", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  REQUIRE(gw.WaitForAck().code() == 0);
  time->Advance(std::chrono::minutes(30));
  v1::GatewayMessage late;  // A final event for a finished call: OK with a message.
  late.mutable_event()->set_event_id("ev-late");
  late.mutable_event()->set_call_id("call-1");
  late.mutable_event()->mutable_caller_hung_up();
  gw.Send(late);
  REQUIRE(gw.WaitForAck().message() == "call 'call-1' had already finished: abandoned");
  const auto quiet = std::chrono::hours(24) + std::chrono::milliseconds(1);
  const std::optional<daemon::MonotonicTime> due = time->NextDue();
  REQUIRE((!due || *due > time->MonotonicNow() + quiet));  // The premise: a quiet spell.
  time->Advance(quiet);
  // A day and a millisecond after its answer, ev-late is a new event, and call-1 is forgotten.
  gw.Send(late);
  const v1::EventAck again = gw.WaitForAck();
  CHECK(again.code() == grpc::StatusCode::NOT_FOUND);
  CHECK(again.message() == "call_id: no live call 'call-1'");
}

TEST_CASE("a repeated desk request id gets the original answer", "[integration][recovery]") {
  DaemonFixture f;
  const std::string token = f.AddCounsellor("lan", "38");
  DeskClient desk(f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  auto stub = v1::DeskService::NewStub(f.channel);
  auto set = [&](v1::CounsellorState state) {
    grpc::ClientContext ctx;
    testing::Authorize(ctx, token);
    v1::SetPresenceRequest req;
    req.set_request_id("same-request");
    req.set_state(state);
    v1::SetPresenceResponse resp;
    grpc::Status s = stub->SetPresence(&ctx, req, &resp);
    REQUIRE(s.ok());
    return resp.status().state();
  };
  CHECK(set(v1::COUNSELLOR_STATE_AVAILABLE) == v1::COUNSELLOR_STATE_AVAILABLE);
  // The repeat is not applied again, whatever it now asks.
  CHECK(set(v1::COUNSELLOR_STATE_BREAK) == v1::COUNSELLOR_STATE_AVAILABLE);
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kAdminToken);
  v1::ListCounsellorsResponse list;
  REQUIRE(f.admin->ListCounsellors(&ctx, v1::ListCounsellorsRequest(), &list).ok());
  CHECK(list.statuses(0).state() == v1::COUNSELLOR_STATE_AVAILABLE);

  // The same id for another kind of request is that request, not a repeat. Before, it got the
  // presence's stored answer read as a disposition's: OK and empty, for a disposition never
  // recorded (lan has no call to dispose of).
  grpc::ClientContext dispose_ctx;
  testing::Authorize(dispose_ctx, token);
  v1::SubmitDispositionRequest dispose;
  dispose.set_request_id("same-request");
  dispose.set_call_id("no-such-call");
  dispose.mutable_disposition()->set_category(v1::CATEGORY_NEGLECT);
  dispose.mutable_disposition()->set_action(v1::ACTION_COUNSELLED);
  v1::SubmitDispositionResponse disposed;
  const grpc::Status s = stub->SubmitDisposition(&dispose_ctx, dispose, &disposed);
  INFO(s.error_message());
  CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  // And the presence's own repeat still gets its answer.
  CHECK(set(v1::COUNSELLOR_STATE_BREAK) == v1::COUNSELLOR_STATE_AVAILABLE);
}

TEST_CASE("a reconnecting gateway reconciles the calls it holds", "[integration][recovery]") {
  auto time = std::make_shared<testing::ManualTime>();
  DaemonFixture f({}, nullptr, time);
  {
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.Arrive("kept", "38");
    CHECK(gw.WaitForAck().code() == 0);
    gw.Arrive("lost", "38");
    CHECK(gw.WaitForAck().code() == 0);
  }
  // The gateway comes back holding `kept` and `unknown`, a call it never told us about.
  const int64_t arrived_seconds = routing::ToUnixMillis(time->SystemTime()) / 1000 - 42;
  v1::Hello hello;
  hello.set_gateway_id("gw-1");
  for (const char* id : {"kept", "unknown"}) {
    auto* held = hello.add_held_calls();
    held->set_call_id(id);
    auto* a = held->mutable_arrived();
    a->set_caller_number("+84912000002");
    a->set_province("38");
    a->set_language("vi");
    a->set_topic(v1::TOPIC_COUNSELLING);
    a->set_priority(v1::PRIORITY_NORMAL);
    held->mutable_arrived_at()->set_seconds(arrived_seconds);
  }
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, hello);
  gw.WaitForWelcome();

  const v1::QueueView view = f.View();
  CHECK(WaitingIds(view) == std::vector<std::string>{"kept", "unknown"});
  CHECK(view.calls(1).summary().arrived_at().seconds() == arrived_seconds);
  CHECK(Outcome(f, "lost") == "failed");
  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  CHECK_THAT(db.execAndGet("SELECT reason FROM calls WHERE call_id = 'lost'").getString(),
             Catch::Contains("no longer holds"));
}

TEST_CASE("a desk that drops during a call can come back and finish the wrap-up",
          "[integration][recovery]") {
  DaemonFixture f;
  const std::string token = f.AddCounsellor("lan", "38");
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  {
    DeskClient desk(f.channel, token);
    desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
    REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
    gw.Arrive("call-1", "38");
    desk.WaitFor(IsOffer);
    REQUIRE(desk.Answer("call-1", true).ok());
    gw.Done(gw.WaitForCommand(v1::Command::kConnect));
    gw.Event("call-1", [](v1::CallEvent& e) { e.mutable_connected(); });
    desk.WaitFor([](const v1::DeskEvent& e) { return e.has_call_connected(); });
  }  // The desk drops mid-call; the phone call goes on.
  gw.Event("call-1", [](v1::CallEvent& e) { e.mutable_ended(); });
  gw.WaitFor([](const v1::HotlineMessage& m) {
    return m.has_ack() && m.ack().code() == 0 && m.ack().event_id() == "ev-3";
  });
  DeskClient desk(f.channel, token);
  const v1::DeskEvent first =
      desk.WaitFor([](const v1::DeskEvent& e) { return e.has_presence_changed(); });
  CHECK(first.presence_changed().status().state() == v1::COUNSELLOR_STATE_WRAP_UP);
  CHECK(first.presence_changed().status().call_id() == "call-1");
  v1::Disposition d;
  d.set_category(v1::CATEGORY_OTHER);
  d.set_action(v1::ACTION_COUNSELLED);
  REQUIRE(desk.Dispose("call-1", d).ok());
  CHECK(Outcome(f, "call-1") == "completed");
}

// A daemon whose commits go through a FaultySink, with Lan AVAILABLE on her desk for province 38
// and a gateway connected.
struct FaultyLine {
  std::shared_ptr<testing::FaultSwitch> faults = std::make_shared<testing::FaultSwitch>();
  DaemonFixture f{{}, [faults = faults](storage::Sink& store) {
                    return std::make_unique<testing::FaultySink>(store, faults);
                  }};
  DeskClient desk{f.channel, f.AddCounsellor("lan", "38")};
  GatewayClient gw{f.channel, DaemonFixture::kGatewayToken, "gw-1"};

  FaultyLine() {
    desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
    REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
    gw.WaitForWelcome();
  }
};

TEST_CASE("while the store fails, routing goes on but nothing is acknowledged until it heals",
          "[integration][recovery]") {
  FaultyLine line;
  auto& [faults, f, desk, gw] = line;
  CHECK(HttpStatus(f, "/healthz") == 200);

  faults->Fail(absl::ResourceExhaustedError("database or disk is full"));
  gw.Arrive("call-1", "38");
  // Routing goes on from memory: the counsellor is offered the call...
  CHECK(desk.WaitFor(IsOffer).offer().call().call_id() == "call-1");
  // ...but the arrival is not acknowledged, and the daemon says it is unhealthy once its writer
  // has tried the commit (the offer went out before it).
  testing::WaitForHealth(f.channel, grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  CHECK_FALSE(gw.inbox.Pop(300ms).has_value());
  CHECK_FALSE(f.daemon->healthy());
  CHECK(HttpStatus(f, "/healthz") == 503);
  CHECK(faults->refused.load() > 0);
  CHECK(Outcome(f, "call-1").empty());

  faults->Heal();
  CHECK(gw.WaitForAck().code() == 0);
  CHECK(f.daemon->healthy());
  CHECK(HttpStatus(f, "/healthz") == 200);
}

TEST_CASE("a desk is offered a call before its arrival is durable; the acks wait for the disk",
          "[integration][recovery]") {
  FaultyLine line;
  auto& [faults, f, desk, gw] = line;
  const int committed = faults->committed.load();

  // The disk stalls: the arrival's commit waits for Release(). Released however the test ends,
  // before the acceptance's thread is joined.
  std::atomic<bool> answered = false;
  grpc::Status accepted;
  std::optional<std::jthread> accept;
  faults->Hold();
  const std::shared_ptr<void> release(nullptr, [&](void*) { faults->Release(); });
  gw.Arrive("call-1", "38");
  CHECK(desk.WaitFor(IsOffer).offer().call().call_id() == "call-1");
  CHECK(faults->committed.load() == committed);  // The offer did not wait for the disk.

  // The counsellor accepts at once. The daemon acts on it (the desk is told it is on the call)
  // but answers nobody until the arrival and the acceptance are durable: no reply to the desk,
  // no ack and no connect command to the gateway.
  accept.emplace([&] {
    accepted = desk.Answer("call-1", true);
    answered = true;
  });
  desk.WaitForState(v1::COUNSELLOR_STATE_ON_CALL);
  CHECK(faults->committed.load() == committed);
  CHECK_FALSE(answered.load());
  CHECK_FALSE(gw.inbox.Pop(0ms).has_value());

  faults->Release();
  accept->join();
  CHECK(accepted.ok());
  CHECK(gw.WaitForAck().code() == 0);
  CHECK(gw.WaitForCommand(v1::Command::kConnect).connect().counsellor_id() == "lan");
  CHECK(faults->waiting.load() > 0);  // The arrival's commit did wait.
  CHECK(faults->committed.load() > committed);
}

TEST_CASE("once a refused commit stopped the writer, desks are offered nothing more",
          "[integration][recovery]") {
  testing::FaultyDaemon d;
  auto sign_in = [&](const std::string& id, const std::string& province) {
    grpc::ClientContext ctx;
    testing::Authorize(ctx, DaemonFixture::kAdminToken);
    v1::CreateCounsellorResponse created;
    REQUIRE(v1::AdminService::NewStub(d.channel)
                ->CreateCounsellor(&ctx, testing::NewCounsellor(id, province), &created)
                .ok());
    auto desk = std::make_unique<DeskClient>(d.channel, created.token());
    desk->WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
    REQUIRE(desk->SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
    desk->WaitForState(v1::COUNSELLOR_STATE_AVAILABLE);
    return desk;
  };
  auto lan = sign_in("lan", "38");
  auto binh = sign_in("binh", "79");
  GatewayClient gw(d.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();

  // The arrival's own offer goes out before its commit is refused...
  d.faults->Fail(
      absl::FailedPreconditionError("journal entry 7 is not after the last stored seq 9"));
  gw.Arrive("call-1", "38");
  CHECK(lan->WaitFor(IsOffer).offer().call().call_id() == "call-1");
  REQUIRE(d.fatal.Pop(testing::kPatience).has_value());
  // ...but once the writer has stopped for good, the engine still decides (it routes from
  // memory) and nothing it decides goes out, to desks included.
  gw.Arrive("call-2", "79");
  CHECK_FALSE(binh->inbox.Pop(300ms).has_value());
  CHECK_FALSE(gw.inbox.Pop(0ms).has_value());
}

TEST_CASE("shutdown acknowledges what it accepted and closes streams with UNAVAILABLE",
          "[integration][recovery]") {
  DaemonFixture f;
  const std::string token = f.AddCounsellor("lan", "38");
  DeskClient desk(f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("call-1", "38");
  // The daemon has taken the arrival (its offer rings, before the arrival is written): shut down
  // now, and the ack still comes.
  CHECK(desk.WaitFor(IsOffer).offer().call().call_id() == "call-1");
  f.daemon->Shutdown();
  CHECK(gw.WaitForAck().code() == 0);
  desk.WaitForEnd();
  CHECK(desk.final_status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(desk.final_status.error_message(), Catch::Contains("shutting down"));
}

// A daemon on a manual clock whose commits go through a FaultySink, restarted either as SIGTERM
// stops it (it signs the desks off itself) or as by a crash (nothing it writes after the faults
// start reaches the disk, and recovery signs the desks off at the journal's last time).
struct RestartedLine {
  std::shared_ptr<testing::ManualTime> time = std::make_shared<testing::ManualTime>();
  std::shared_ptr<testing::FaultSwitch> faults = std::make_shared<testing::FaultSwitch>();
  DaemonFixture f{{},
                  [faults = faults](storage::Sink& store) {
                    return std::make_unique<testing::FaultySink>(store, faults);
                  },
                  time};

  // Stops the daemon (as by a crash if `crash`), lets `down` pass, and starts it again.
  void Restart(bool crash, std::chrono::milliseconds down = std::chrono::milliseconds(0)) {
    if (crash) {
      faults->Fail(absl::UnavailableError("the process is gone"));
    }
    f.daemon->Shutdown();
    f.daemon.reset();
    faults->Heal();
    if (down.count() > 0) {
      time->Advance(down);
    }
    f.Start();
  }
};

// Recovery signs off the desks that died with the process. Signing off the counsellor an offer
// rang for returns the call to the queue: it must not be offered, at the journal's last time, to
// another desk that died too and is signed off only after it (an offer that never rang, counted
// and remembered as tried, and routing that differs with and without a restart).
TEST_CASE("a restart offers no call to a desk that died with the process",
          "[integration][recovery]") {
  RestartedLine line;
  DaemonFixture& f = line.f;
  // A crash loses everything after the offer.
  const bool crash = GENERATE(false, true);
  CAPTURE(crash);
  {
    testing::SignedIn a(f, "a", "38");
    line.time->Advance(1s);  // "a" has been idle longest: the call rings there.
    testing::SignedIn b(f, "b", "38");
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.WaitForWelcome();
    gw.Arrive("x", "38");
    REQUIRE(gw.WaitForAck().code() == 0);
    REQUIRE(a.desk.WaitFor(IsOffer).offer().call().call_id() == "x");
    line.Restart(crash);
  }
  auto stub = v1::SupervisorService::NewStub(f.channel);
  grpc::ClientContext ctx;
  testing::Authorize(ctx, DaemonFixture::kSupervisorToken);
  v1::ExplainCallRequest request;
  request.set_call_id("x");
  v1::ExplainCallResponse explained;
  const grpc::Status s = stub->ExplainCall(&ctx, request, &explained);
  INFO(s.error_message());
  REQUIRE(s.ok());
  std::vector<std::string> offered;
  for (const auto& o : explained.offers()) {
    offered.push_back(o.counsellor_id() + ":" + o.result());
  }
  CHECK(offered == std::vector<std::string>{"a:withdrawn"});
}

// The counsellor's state in the supervisors' view.
v1::CounsellorState StateInView(DaemonFixture& f, const std::string& id) {
  const v1::QueueView view = f.View();
  for (const v1::CounsellorStatus& c : view.counsellors()) {
    if (c.counsellor_id() == id) {
      return c.state();
    }
  }
  FAIL("no counsellor " << id << " in the view");
  return v1::COUNSELLOR_STATE_UNSPECIFIED;
}

TEST_CASE("desks have their whole grace period after a restart that follows a quiet spell",
          "[integration][recovery]") {
  RestartedLine line;
  DaemonFixture& f = line.f;
  auto& time = line.time;
  // Stopped cleanly or crashed, the desks' grace counts from the restart.
  const bool crash = GENERATE(false, true);
  CAPTURE(crash);
  std::string lan_token;
  {
    testing::SignedIn lan(f, "lan", "38");
    testing::SignedIn binh(f, "binh", "38");
    lan_token = lan.token;
    time->Advance(std::chrono::minutes(5));        // Quiet: nothing happens, nothing is journaled.
    line.Restart(crash, std::chrono::minutes(1));  // Down for longer than the 30 s grace.
  }
  // Regression: both were signed out as the daemon started, their grace counted from the
  // journal's last time; lan's desk came back to OFFLINE.
  CHECK(StateInView(f, "lan") == v1::COUNSELLOR_STATE_AVAILABLE);
  testing::DeskClient lan(f.channel, lan_token);
  lan.WaitForState(v1::COUNSELLOR_STATE_AVAILABLE);  // Back within the grace: as it was.
  // Binh's desk does not come back: signed out once the grace from the restart is over.
  time->Advance(std::chrono::seconds(29));
  f.View();  // The engine thread has handled what the clock delivered.
  CHECK(StateInView(f, "binh") == v1::COUNSELLOR_STATE_AVAILABLE);
  time->Advance(std::chrono::seconds(2));
  f.View();
  CHECK(StateInView(f, "binh") == v1::COUNSELLOR_STATE_OFFLINE);
  CHECK(StateInView(f, "lan") == v1::COUNSELLOR_STATE_AVAILABLE);
}

TEST_CASE("the daemon's writer checkpoints the WAL after the batches it answers",
          "[integration][recovery]") {
  // Commits no longer checkpoint (SQLite's auto-checkpoint ran inside the COMMIT, and the
  // batch's acknowledgements waited for it); the writer does, once a batch is answered. Without
  // it the WAL would grow for as long as the daemon runs. Quiet moments are taken away here: a
  // 20 ms pause of a loaded machine between two calls would checkpoint a WAL of 100 pages and
  // keep the file from ever reaching 1,000 (the next test has them).
  DaemonFixture f({}, testing::NoQuietCheckpoints);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  const std::string wal = f.config.database + "-wal";
  const int64_t frame = SQLite::Database(f.config.database, SQLite::OPEN_READONLY)
                            .execAndGet("PRAGMA page_size")
                            .getInt64() +
                        24;
  const auto wal_frames = [&] {
    std::error_code ignored;
    return static_cast<int64_t>(std::filesystem::file_size(wal, ignored)) / frame;
  };
  int calls = 0;
  // One call at a time, each event answered (so committed) before the next: every event is a
  // commit of its own, and each writes two pages or more.
  const auto call = [&] {
    const std::string id = "call-" + std::to_string(++calls);
    gw.Arrive(id, "38");
    REQUIRE(gw.WaitForAck().code() == 0);
    gw.Event(id, [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    REQUIRE(gw.WaitForAck().code() == 0);
  };
  while (wal_frames() < storage::Store::kCheckpointFrames && calls < 5'000) {
    call();
  }
  INFO(calls << " calls took the WAL to " << wal_frames() << " frames");
  REQUIRE(wal_frames() >= storage::Store::kCheckpointFrames);
  // 500 calls more are 1,000 commits, over 2,000 frames if nothing checkpointed (about 11,000
  // here, 22 a call, as the run without the writer's checkpoint showed). A checkpoint
  // lets the next commit start the WAL over, so its file stays as large as it once grew.
  for (int i = 0; i < 500; ++i) {
    call();
  }
  INFO("then " << calls << " calls: " << wal_frames() << " frames");
  CHECK(wal_frames() < storage::Store::kCheckpointFrames + 100);
  // Everything committed reached the calls table.
  CHECK(SQLite::Database(f.config.database, SQLite::OPEN_READONLY)
            .execAndGet("SELECT COUNT(*) FROM calls")
            .getInt64() == calls);
  // And the checkpoints are timed for the operator.
  httplib::Client http("127.0.0.1", f.daemon->http_port());
  const auto metrics = http.Get("/metrics");
  REQUIRE(metrics);
  const std::optional<double> checkpoints =
      testing::SampleValue(metrics->body, "hotline_wal_checkpoint_seconds_count");
  REQUIRE(checkpoints.has_value());
  CHECK(*checkpoints >= 4);  // Over 11,000 frames written in all.
}

TEST_CASE("between calls the daemon's writer empties a small WAL in a quiet moment",
          "[integration][recovery]") {
  // Under sparse load the only checkpoint used to come right after an answer, once the WAL held
  // 1,000 pages, and the gateway's next event waited for it. Now, 20 ms after the last answer
  // with nothing more to write, the writer checkpoints a WAL of 100 pages or more.
  DaemonFixture f;
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  httplib::Client http("127.0.0.1", f.daemon->http_port());
  const auto checkpoints = [&] {
    const auto metrics = http.Get("/metrics");
    REQUIRE(metrics);
    const std::optional<double> count =
        testing::SampleValue(metrics->body, "hotline_wal_checkpoint_seconds_count");
    REQUIRE(count.has_value());
    return *count;
  };
  // The schema's pages may already have had a quiet moment of their own, after the Hello.
  const double before = checkpoints();
  // Ten calls: about 220 pages, over the quiet bar and far under the 1,000 of the other.
  for (int i = 1; i <= 10; ++i) {
    const std::string id = "call-" + std::to_string(i);
    gw.Arrive(id, "38");
    REQUIRE(gw.WaitForAck().code() == 0);
    gw.Event(id, [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    REQUIRE(gw.WaitForAck().code() == 0);
  }
  // Nothing more comes: the quiet moment does. Polled until a deadline, never timed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (checkpoints() <= before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(checkpoints() > before);
  // Every call is in the calls table, whether read from the file or still from the WAL.
  CHECK(SQLite::Database(f.config.database, SQLite::OPEN_READONLY)
            .execAndGet("SELECT COUNT(*) FROM calls")
            .getInt64() == 10);
}

}  // namespace
}  // namespace hotline
