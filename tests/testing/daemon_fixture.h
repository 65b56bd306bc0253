// Integration-test plumbing: the real daemon started in-process on 127.0.0.1:0 with a temporary
// database, and gRPC clients for the gateway, desks and the administrator that talk to it only
// over the network: the clients of clients.h with Catch2 checks added. Stream readers run on
// their own threads and hand messages over through BlockingQueue, so tests wait on messages with
// a deadline and never sleep.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "hotline/v1/admin.grpc.pb.h"
#include "hotline/v1/desk.grpc.pb.h"
#include "hotline/v1/gateway.grpc.pb.h"
#include "hotline/v1/supervisor.grpc.pb.h"
#include "tests/testing/blocking_queue.h"
#include "tests/testing/clients.h"

namespace hotline::testing {

namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

// How long a test waits for a message that should come. Generous: a slow CI machine must not
// fail a correct daemon; a missing message still fails the test.
inline constexpr std::chrono::milliseconds kPatience = 10s;

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("hotline-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
    // As mkdtemp makes it: the daemon warns about a data directory others can list.
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A gateway's stream, read on its own thread (clients.h GatewayConnection), with Catch2 checks:
// a write that fails or a message that does not come fails the test.
class GatewayClient : public GatewayConnection {
 public:
  GatewayClient(std::shared_ptr<grpc::Channel> channel, const std::string& token,
                const std::string& gateway_id)
      : GatewayClient(channel, token, HelloFor(gateway_id)) {}

  GatewayClient(std::shared_ptr<grpc::Channel> channel, const std::string& token,
                const v1::Hello& hello_message)
      : GatewayConnection(channel, token, hello_message) {
    REQUIRE(hello_written());
  }

  static v1::Hello HelloFor(const std::string& gateway_id) { return testing::HelloFor(gateway_id); }

  void Send(const v1::GatewayMessage& msg) { REQUIRE(Write(msg)); }

  void Event(const std::string& call_id, const std::function<void(v1::CallEvent&)>& fill) {
    v1::GatewayMessage msg;
    auto* e = msg.mutable_event();
    e->set_event_id("ev-" + std::to_string(++next_event_));
    e->set_call_id(call_id);
    fill(*e);
    Send(msg);
  }

  void Arrive(const std::string& call_id, const std::string& province,
              v1::Priority priority = v1::PRIORITY_NORMAL, std::string caller = "") {
    if (caller.empty()) {
      caller = "+84912345" + std::to_string(100 + next_event_);
    }
    Event(call_id,
          [&](v1::CallEvent& e) { *e.mutable_arrived() = Arrival(province, caller, priority); });
  }

  // The first message, in arrival order, that satisfies `match`; fails the test after
  // kPatience. Messages passed over are kept for later waits: acks and commands interleave.
  v1::HotlineMessage WaitFor(const std::function<bool(const v1::HotlineMessage&)>& match) {
    if (auto msg = GatewayConnection::WaitFor(match, kPatience)) {
      return *msg;
    }
    FAIL("the gateway did not receive the expected message in time");
    return {};
  }

  v1::Welcome WaitForWelcome() { return WaitFor(IsWelcome).welcome(); }

  v1::EventAck WaitForAck() {
    return WaitFor([](const v1::HotlineMessage& m) { return m.has_ack(); }).ack();
  }

  v1::Command WaitForCommand(v1::Command::KindCase kind) {
    return WaitFor([kind](const v1::HotlineMessage& m) {
             return m.has_command() && m.command().kind_case() == kind;
           })
        .command();
  }

  // Answers a command as a real gateway does.
  void Done(const v1::Command& command) {
    v1::GatewayMessage msg;
    msg.mutable_command_result()->set_command_id(command.command_id());
    msg.mutable_command_result()->mutable_done();
    Send(msg);
  }

 private:
  int next_event_ = 0;
};

// A counsellor's desk (clients.h DeskConnection) with Catch2 checks: an event that does not come
// fails the test.
class DeskClient : public DeskConnection {
 public:
  DeskClient(std::shared_ptr<grpc::Channel> channel, const std::string& token,
             std::string request_prefix = "")
      : DeskConnection(channel, token, std::move(request_prefix)) {}

  // Waits until the daemon ends the stream; final_status then holds its status.
  void WaitForEnd() {
    WaitFor([](const v1::DeskEvent& e) { return IsEndOfStream(e); });
    Join();
  }

  // Reads until an event satisfies `match`; fails the test after `patience`.
  v1::DeskEvent WaitFor(const std::function<bool(const v1::DeskEvent&)>& match,
                        std::chrono::milliseconds patience = kPatience) {
    if (auto e = DeskConnection::WaitFor(match, patience)) {
      return *e;
    }
    FAIL("the desk did not receive the expected event in time");
    return {};
  }

  // Waits until the desk shows `state` (the first event of a Watch is the current presence).
  void WaitForState(v1::CounsellorState state) {
    WaitFor([state](const v1::DeskEvent& e) {
      return e.has_presence_changed() && e.presence_changed().status().state() == state;
    });
  }
};

inline constexpr const char* kTestGatewayToken = "test-gateway";
inline constexpr const char* kTestSupervisorToken = "test-supervisor";
inline constexpr const char* kTestAdminToken = "test-admin";

// A daemon's configuration for a test: loopback on ports the OS picks, the database in `dir` and
// the caller key apart from it in `dir`/keys, the shipped policy and regions, and the test tokens.
inline daemon::Config TestConfig(const TempDir& dir) {
  daemon::Config config;
  config.grpc_listen = "127.0.0.1:0";
  config.http_listen = "127.0.0.1:0";
  config.database = (dir.path() / "hotline.db").string();
  config.caller_key_file = (dir.path() / "keys" / "caller.key").string();
  config.policy_file = std::string(HOTLINE_SOURCE_DIR) + "/deploy/policy.toml";
  config.regions_file = std::string(HOTLINE_SOURCE_DIR) + "/deploy/regions.toml";
  config.gateway_token = kTestGatewayToken;
  config.supervisor_token = kTestSupervisorToken;
  config.admin_token = kTestAdminToken;
  return config;
}

// A well-formed CreateCounsellor request: one skill (counselling, 4), Vietnamese, `province` as
// home, endpoint "sip:<id>@pbx.local".
inline v1::CreateCounsellorRequest NewCounsellor(const std::string& id,
                                                 const std::string& province) {
  v1::CreateCounsellorRequest req;
  auto* c = req.mutable_counsellor();
  c->set_counsellor_id(id);
  c->set_display_name("Counsellor " + id);
  c->set_home_province(province);
  auto* skill = c->add_skills();
  skill->set_topic(v1::TOPIC_COUNSELLING);
  skill->set_proficiency(4);
  c->add_languages("vi");
  c->set_endpoint("sip:" + id + "@pbx.local");
  return req;
}

// Commits everything, but drops the snapshots while `drop` is set: a restart after that recovers
// as after a kill -9, from the last snapshot kept and the journal after it. For a
// DaemonFixture's `wrap`.
class SnapshotsUntil final : public storage::Sink {
 public:
  SnapshotsUntil(storage::Sink& store, std::shared_ptr<std::atomic<bool>> drop)
      : store_(store), drop_(std::move(drop)) {}
  absl::Status Commit(const storage::Batch& batch) override {
    if (!drop_->load()) {
      return store_.Commit(batch);
    }
    storage::Batch copy = batch;
    copy.snapshot.reset();
    return store_.Commit(copy);
  }
  absl::StatusOr<bool> CheckpointIfDue(Moment moment) override {
    return store_.CheckpointIfDue(moment);
  }
  void SetLockWaitHook(std::function<void()> hook) override {
    store_.SetLockWaitHook(std::move(hook));
  }

 private:
  storage::Sink& store_;
  const std::shared_ptr<std::atomic<bool>> drop_;
};

// A DaemonFixture's `wrap` through SnapshotsUntil(`drop`).
inline daemon::Daemon::SinkWrapper DropSnapshotsWhile(std::shared_ptr<std::atomic<bool>> drop) {
  return [drop = std::move(drop)](storage::Sink& store) {
    return std::make_unique<SnapshotsUntil>(store, drop);
  };
}

// The database with the writer's quiet moments taken away: it checkpoints only right after
// answers, past 1,000 pages. For a test of that checkpoint, which a quiet moment (any 20 ms
// pause of a loaded machine between two events) would otherwise pre-empt. For a DaemonFixture's
// `wrap`.
class WithoutQuietCheckpoints final : public storage::Sink {
 public:
  explicit WithoutQuietCheckpoints(storage::Sink& store) : store_(store) {}
  absl::Status Commit(const storage::Batch& batch) override { return store_.Commit(batch); }
  absl::StatusOr<bool> CheckpointIfDue(Moment moment) override {
    return moment == Moment::kQuiet ? false : store_.CheckpointIfDue(moment);
  }
  void SetLockWaitHook(std::function<void()> hook) override {
    store_.SetLockWaitHook(std::move(hook));
  }

 private:
  storage::Sink& store_;
};

inline std::unique_ptr<storage::Sink> NoQuietCheckpoints(storage::Sink& store) {
  return std::make_unique<WithoutQuietCheckpoints>(store);
}

// The daemon, running in this process, with a fresh database.
class DaemonFixture {
 public:
  static constexpr const char* kGatewayToken = kTestGatewayToken;
  static constexpr const char* kSupervisorToken = kTestSupervisorToken;
  static constexpr const char* kAdminToken = kTestAdminToken;

  explicit DaemonFixture(const std::function<void(daemon::Config&)>& adjust = {},
                         daemon::Daemon::SinkWrapper wrap = nullptr,
                         std::shared_ptr<daemon::TimeSource> time_source = nullptr)
      : wrap_sink(std::move(wrap)), time(std::move(time_source)) {
    config = TestConfig(dir);
    if (adjust) {
      adjust(config);
    }
    Start();
  }

  void Start() {
    auto started = daemon::Daemon::Start(config, wrap_sink, nullptr, time);
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    daemon = std::move(*started);
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(daemon->grpc_port()),
                                  grpc::InsecureChannelCredentials());
    admin = v1::AdminService::NewStub(channel);
  }

  // Creates a counsellor serving `province` and returns their desk token.
  std::string AddCounsellor(const std::string& id, const std::string& province) {
    grpc::ClientContext ctx;
    Authorize(ctx, kAdminToken);
    v1::CreateCounsellorResponse resp;
    grpc::Status s = admin->CreateCounsellor(&ctx, NewCounsellor(id, province), &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return resp.token();
  }

  // Returns once everything the daemon handled before this call is committed: ListAccounts runs
  // on the journal writer's thread after the commits queued before it (admin_service.cc,
  // ServeAccountCall). For a test that saw a desk event (sent before its commit) and reads the
  // database next.
  void WaitDurable() {
    grpc::ClientContext ctx;
    Authorize(ctx, kAdminToken);
    ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
    v1::ListAccountsResponse resp;
    const grpc::Status s = admin->ListAccounts(&ctx, v1::ListAccountsRequest(), &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }

  // The supervisor's current queue view: the first message of a fresh WatchQueue.
  v1::QueueView View() {
    auto stub = v1::SupervisorService::NewStub(channel);
    grpc::ClientContext ctx;
    Authorize(ctx, kSupervisorToken);
    ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
    auto reader = stub->WatchQueue(&ctx, v1::WatchQueueRequest());
    v1::QueueUpdate update;
    REQUIRE(reader->Read(&update));
    REQUIRE(update.has_view());
    ctx.TryCancel();
    return update.view();
  }

  // Stops the daemon as SIGTERM would and starts it again on the same database.
  void Restart() {
    daemon->Shutdown();
    daemon.reset();
    Start();
  }

  TempDir dir;
  daemon::Config config;
  daemon::Daemon::SinkWrapper wrap_sink;
  // Null: the system's clocks. A ManualTime (tests/testing/manual_time.h) makes time the test's.
  std::shared_ptr<daemon::TimeSource> time;
  std::unique_ptr<daemon::Daemon> daemon;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::AdminService::Stub> admin;
};

// `counsellor_id`'s row in a queue view; fails the test when they have none.
inline v1::CounsellorStatus CounsellorIn(const v1::QueueView& view,
                                         const std::string& counsellor_id) {
  for (const auto& c : view.counsellors()) {
    if (c.counsellor_id() == counsellor_id) {
      return c;
    }
  }
  FAIL("counsellor '" << counsellor_id << "' is not in the queue view");
  return {};
}

// A counsellor created, with their desk open and AVAILABLE.
struct SignedIn {
  SignedIn(DaemonFixture& f, const std::string& id, const std::string& province)
      : token(f.AddCounsellor(id, province)), desk(f.channel, token) {
    desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
    REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
    desk.WaitForState(v1::COUNSELLOR_STATE_AVAILABLE);
  }
  std::string token;
  DeskClient desk;
};

}  // namespace hotline::testing
