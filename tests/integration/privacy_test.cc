// Children's data through the real daemon (docs/privacy.md): a caller's number kept sealed only
// for a call that needs a callback, revealed once with an audit row, deleted when done or past
// its retention; the retention job on the manual clock; the audit of views and exports.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "google/protobuf/util/time_util.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/manual_fixture.h"
#include "tests/testing/manual_time.h"

namespace hotline {
namespace {

using testing::Authorize;
using testing::DaemonFixture;
using testing::GatewayClient;
using testing::ManualFixture;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

constexpr routing::Millis kDay{24LL * 3'600'000};

struct Supervisor {
  explicit Supervisor(DaemonFixture& f) : stub(v1::SupervisorService::NewStub(f.channel)) {}

  grpc::Status Callbacks(v1::ListCallbacksResponse& out, int limit = 0) {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kSupervisorToken);
    v1::ListCallbacksRequest request;
    request.set_limit(limit);
    return stub->ListCallbacks(&ctx, request, &out);
  }
  v1::ListCallbacksResponse Callbacks() {
    v1::ListCallbacksResponse out;
    const grpc::Status s = Callbacks(out);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return out;
  }
  grpc::Status Reveal(int64_t id, v1::RevealCallbackResponse& out) {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kSupervisorToken);
    v1::RevealCallbackRequest request;
    request.set_callback_id(id);
    return stub->RevealCallback(&ctx, request, &out);
  }
  grpc::Status Done(int64_t id) {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kSupervisorToken);
    v1::CallbackDoneRequest request;
    request.set_callback_id(id);
    v1::CallbackDoneResponse out;
    return stub->CallbackDone(&ctx, request, &out);
  }
  v1::ListAuditResponse Audit() {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kSupervisorToken);
    v1::ListAuditResponse out;
    const grpc::Status s = stub->ListAudit(&ctx, v1::ListAuditRequest(), &out);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return out;
  }

  std::unique_ptr<v1::SupervisorService::Stub> stub;
};

int64_t Count(const DaemonFixture& f, const std::string& sql) {
  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  return db.execAndGet(sql).getInt64();
}

bool Audited(const v1::ListAuditResponse& audit, const std::string& action,
             const std::string& subject) {
  for (const auto& e : audit.entries()) {
    if (e.action() == action && e.subject() == subject && e.principal() == "supervisor:config") {
      return true;
    }
  }
  return false;
}

TEST_CASE("a caller's number is kept only for a call that ends needing a callback",
          "[integration][privacy]") {
  ManualFixture m;
  Supervisor sup(m.f);
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-timeout", "38", v1::PRIORITY_NORMAL, "+84912345671");
  REQUIRE(gw.WaitForAck().code() == 0);
  gw.Arrive("c-asks", "38", v1::PRIORITY_NORMAL, "+84912345672");
  REQUIRE(gw.WaitForAck().code() == 0);
  gw.Arrive("c-hangs-up", "38", v1::PRIORITY_NORMAL, "+84912345673");
  REQUIRE(gw.WaitForAck().code() == 0);
  gw.Arrive("c-withheld", "38", v1::PRIORITY_NORMAL, "anonymous");
  REQUIRE(gw.WaitForAck().code() == 0);
  m.Sync();
  // Sealed from arrival, while the calls wait (the withheld caller has no number).
  CHECK(Count(m.f, "SELECT COUNT(*) FROM callbacks WHERE state = 'live'") == 3);
  CHECK(sup.Callbacks().callbacks().empty());

  gw.Event("c-asks", [](v1::CallEvent& e) { e.mutable_callback_requested(); });
  REQUIRE(gw.WaitForAck().code() == 0);
  gw.Event("c-hangs-up", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  REQUIRE(gw.WaitForAck().code() == 0);
  m.time->Advance(301s);  // Past the maximum wait: c-timeout and c-withheld time out.
  gw.WaitForCommand(v1::Command::kOfferCallback);
  m.Sync();

  const v1::ListCallbacksResponse pending = sup.Callbacks();
  REQUIRE(pending.callbacks_size() == 2);
  CHECK(pending.callbacks(0).call_id() == "c-asks");
  CHECK(pending.callbacks(0).outcome() == v1::CALL_OUTCOME_CALLBACK_REQUESTED);
  CHECK(pending.callbacks(0).caller_masked() == "**********72");
  CHECK(pending.callbacks(1).call_id() == "c-timeout");
  CHECK(pending.callbacks(1).outcome() == v1::CALL_OUTCOME_TIMED_OUT);
  CHECK(pending.callbacks(1).caller_masked() == "**********71");
  // The abandoned call's number is gone; the withheld caller never had one kept.
  CHECK(Count(m.f, "SELECT COUNT(*) FROM callbacks") == 2);

  const int64_t id = pending.callbacks(1).callback_id();
  v1::RevealCallbackResponse revealed;
  grpc::Status s = sup.Reveal(id, revealed);
  INFO(s.error_message());
  REQUIRE(s.ok());
  CHECK(revealed.caller_number() == "+84912345671");
  CHECK(revealed.callback().call_id() == "c-timeout");

  REQUIRE(sup.Done(id).ok());
  CHECK(sup.Reveal(id, revealed).error_code() == grpc::StatusCode::NOT_FOUND);
  // A retry after a lost reply is answered as the first was; an id no callback had is not.
  const grpc::Status retry = sup.Done(id);
  INFO(retry.error_message());
  CHECK(retry.ok());
  const grpc::Status unknown = sup.Done(id + 1000);
  CHECK(unknown.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(unknown.error_message(), Catch::Contains("callback_id"));
  REQUIRE(sup.Callbacks().callbacks_size() == 1);
  // The done callback keeps no number, sealed or masked.
  CHECK(Count(m.f,
              "SELECT COUNT(*) FROM callbacks WHERE state = 'done' AND sealed = X'' AND "
              "caller_masked = ''") == 1);

  const v1::ListAuditResponse audit = sup.Audit();
  CHECK(Audited(audit, "list_callbacks", ""));
  CHECK(Audited(audit, "reveal_callback", std::to_string(id)));
  CHECK(Audited(audit, "callback_done", std::to_string(id)));
  CHECK(Audited(audit, "watch_queue_start", ""));  // m.Sync() watches the queue.
  // Reading the audit is audited: the next read shows the first.
  CHECK(Audited(sup.Audit(), "list_audit", "since 0"));
}

TEST_CASE("callback and audit requests with bad fields are refused naming the field",
          "[integration][privacy]") {
  DaemonFixture f;
  Supervisor sup(f);
  v1::RevealCallbackResponse revealed;
  grpc::Status s = sup.Reveal(0, revealed);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().find("callback_id") != std::string::npos);
  CHECK(sup.Done(-3).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListCallbacksResponse list;
  s = sup.Callbacks(list, 5000);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message().find("limit") != std::string::npos);
  CHECK(sup.Reveal(12345, revealed).error_code() == grpc::StatusCode::NOT_FOUND);
  // The desk or gateway token is no supervisor's.
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kGatewayToken);
  v1::ListAuditResponse out;
  CHECK(sup.stub->ListAudit(&ctx, v1::ListAuditRequest(), &out).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
}

TEST_CASE("the audit names the supervisor account that read it",
          "[integration][privacy]") {
  DaemonFixture f;
  grpc::ClientContext issue_ctx;
  Authorize(issue_ctx, DaemonFixture::kAdminToken);
  v1::IssueTokenRequest issue;
  issue.set_name("lan");
  issue.set_role(v1::ACCOUNT_ROLE_SUPERVISOR);
  v1::IssueTokenResponse issued;
  const grpc::Status s = f.admin->IssueToken(&issue_ctx, issue, &issued);
  INFO(s.error_message());
  REQUIRE(s.ok());
  Supervisor sup(f);
  // Lan lists the callbacks with her own token; the shared token reads the audit.
  grpc::ClientContext ctx;
  Authorize(ctx, issued.token());
  v1::ListCallbacksResponse list;
  REQUIRE(sup.stub->ListCallbacks(&ctx, v1::ListCallbacksRequest(), &list).ok());
  const v1::ListAuditResponse audit = sup.Audit();
  int lan = 0;
  for (const auto& e : audit.entries()) {
    if (e.action() == "list_callbacks") {
      CHECK(e.principal() == "supervisor:lan");
      ++lan;
    }
  }
  CHECK(lan == 1);
}

TEST_CASE("a sealed number survives a restart while its call waits and becomes a callback",
          "[integration][privacy]") {
  // Down past the call's maximum wait, or for over a day (the call's arrival then more than a
  // day old): the call times out 10 s after the start (the grace a restart gives the gateways'
  // Hellos), and its sealed number becomes its callback either way.
  const routing::Millis down = GENERATE(routing::Millis(400'000), kDay + routing::Millis(400'000));
  INFO("the daemon is down " << down.count() << " ms");
  ManualFixture m;
  {
    GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.WaitForWelcome();
    gw.Arrive("c-1", "38", v1::PRIORITY_NORMAL, "+84987654321");
    REQUIRE(gw.WaitForAck().code() == 0);
  }
  m.f.daemon->Shutdown();
  m.time->Advance(down);  // The maximum wait passes while no daemon runs.
  m.f.Start();
  m.time->Advance(routing::Millis(10'000));
  m.Sync();
  Supervisor sup(m.f);
  const v1::ListCallbacksResponse pending = sup.Callbacks();
  REQUIRE(pending.callbacks_size() == 1);
  CHECK(pending.callbacks(0).call_id() == "c-1");
  CHECK(pending.callbacks(0).outcome() == v1::CALL_OUTCOME_TIMED_OUT);
  // Ended when it timed out, as its calls row says: 10 s after the start.
  const auto millis = [](const google::protobuf::Timestamp& t) {
    return google::protobuf::util::TimeUtil::TimestampToMilliseconds(t);
  };
  CHECK(millis(pending.callbacks(0).ended_at()) - millis(pending.callbacks(0).arrived_at()) ==
        down.count() + 10'000);
  v1::RevealCallbackResponse revealed;
  REQUIRE(sup.Reveal(pending.callbacks(0).callback_id(), revealed).ok());
  CHECK(revealed.caller_number() == "+84987654321");
}

TEST_CASE("a missing callback key is refused on a database that holds sealed numbers",
          "[integration][privacy]") {
  DaemonFixture f;
  {
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.WaitForWelcome();
    gw.Arrive("c-1", "38", v1::PRIORITY_NORMAL, "+84987654321");
    REQUIRE(gw.WaitForAck().code() == 0);
  }
  f.daemon->Shutdown();
  f.daemon.reset();
  const std::filesystem::path key = f.dir.path() / "keys" / "callback.key";
  REQUIRE(std::filesystem::exists(key));
  const auto private_file = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
  CHECK((std::filesystem::status(key).permissions() & std::filesystem::perms::all) == private_file);
  std::filesystem::rename(key, f.dir.path() / "moved.key");
  auto started = daemon::Daemon::Start(f.config, nullptr, nullptr, nullptr);
  REQUIRE_FALSE(started.ok());
  CHECK(started.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(started.status().message()).find("callback.key") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(key));  // Not silently recreated.
  // Another key is refused too.
  std::filesystem::copy_file(f.dir.path() / "keys" / "caller.key", key);
  started = daemon::Daemon::Start(f.config, nullptr, nullptr, nullptr);
  REQUIRE_FALSE(started.ok());
  CHECK(started.status().code() == absl::StatusCode::kFailedPrecondition);
  std::filesystem::remove(key);
  std::filesystem::rename(f.dir.path() / "moved.key", key);
  f.Start();
}

TEST_CASE("the retention job deletes an old callback and anonymises old calls on the manual clock",
          "[integration][privacy]") {
  ManualFixture m;
  Supervisor sup(m.f);
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "38", v1::PRIORITY_NORMAL, "+84912345671");
  REQUIRE(gw.WaitForAck().code() == 0);
  m.time->Advance(301s);
  gw.WaitForCommand(v1::Command::kOfferCallback);
  m.Sync();
  REQUIRE(sup.Callbacks().callbacks_size() == 1);
  CHECK(Count(m.f, "SELECT COUNT(*) FROM calls WHERE call_id = 'c-1' AND caller_key != '' "
                   "AND caller_masked = '**********71'") == 1);

  // Six days on: the callback (kept 7 days) is still there.
  m.time->Advance(6 * kDay);
  m.Sync();
  CHECK(sup.Callbacks().callbacks_size() == 1);
  // Eight days on: gone, with its sealed number; the call row keeps its caller for 90 days.
  m.time->Advance(2 * kDay);
  m.Sync();
  // The job runs on the writer's thread, before the answer to any request made after it.
  CHECK(sup.Callbacks().callbacks().empty());
  CHECK(Count(m.f, "SELECT COUNT(*) FROM callbacks") == 0);
  CHECK(Count(m.f, "SELECT COUNT(*) FROM calls WHERE caller_key != ''") == 1);

  m.time->Advance(83 * kDay);  // Day 91.
  m.Sync();
  sup.Callbacks();  // As above: everything the job did is written once this is answered.
  CHECK(Count(m.f, "SELECT COUNT(*) FROM calls WHERE call_id = 'c-1'") == 1);
  CHECK(Count(m.f, "SELECT COUNT(*) FROM calls WHERE caller_key != '' OR caller_masked != ''") ==
        0);
}

// A stored answer can hold a masked number (ChangeCallPriority's CallStatus): it is kept a day,
// then deleted by the retention run, whether or not the run takes a snapshot.
TEST_CASE("stored answers are deleted after a day by the retention job, snapshot or not",
          "[integration][privacy]") {
  ManualFixture m;
  GatewayClient gw(m.f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  gw.Arrive("c-1", "38", v1::PRIORITY_NORMAL, "+84912345671");
  REQUIRE(gw.WaitForAck().code() == 0);
  auto stub = v1::SupervisorService::NewStub(m.f.channel);
  grpc::ClientContext ctx;
  Authorize(ctx, DaemonFixture::kSupervisorToken);
  v1::ChangeCallPriorityRequest request;
  request.set_request_id("r-1");
  request.set_call_id("c-1");
  request.set_priority(v1::PRIORITY_HIGH);
  v1::ChangeCallPriorityResponse response;
  REQUIRE(stub->ChangeCallPriority(&ctx, request, &response).ok());
  REQUIRE(response.call().summary().caller_masked() == "**********71");
  const std::string stored = "SELECT COUNT(*) FROM request_results WHERE request_id = 'r-1'";
  CHECK(Count(m.f, stored) == 1);

  // The first retention run (an hour on) takes a snapshot, as inputs were journaled since the
  // start; the answer, an hour old, stays.
  m.time->Advance(61min);
  m.Sync();
  Supervisor(m.f).Callbacks();  // Answered after the job's commit (see above).
  CHECK(Count(m.f, stored) == 1);
  CHECK(Count(m.f, "SELECT COUNT(*) FROM snapshots") == 1);
  // A day later, the run deletes it (with a snapshot or without one, as the engine's timers
  // journaled something since or not).
  m.time->Advance(kDay);
  m.Sync();
  Supervisor(m.f).Callbacks();
  CHECK(Count(m.f, stored) == 0);
}

}  // namespace
}  // namespace hotline
