// Integration-test plumbing: the real daemon started in-process on 127.0.0.1:0 with a temporary
// database, and gRPC clients for the gateway, desks and the administrator that talk to it only
// over the network. Stream readers run on their own threads and hand messages over through
// BlockingQueue, so tests wait on messages with a deadline and never sleep.
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
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void Authorize(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", "Bearer " + token);
}

// A gateway's stream, read on its own thread.
class GatewayClient {
 public:
  GatewayClient(std::shared_ptr<grpc::Channel> channel, const std::string& token,
                const std::string& gateway_id)
      : GatewayClient(channel, token, HelloFor(gateway_id)) {}

  GatewayClient(std::shared_ptr<grpc::Channel> channel, const std::string& token,
                const v1::Hello& hello_message)
      : stub_(v1::GatewayService::NewStub(channel)) {
    Authorize(ctx_, token);
    stream_ = stub_->Connect(&ctx_);
    reader_ = std::thread([this] {
      v1::HotlineMessage msg;
      while (stream_->Read(&msg)) {
        inbox.Push(msg);
      }
      closed_ = true;
      inbox.Push(v1::HotlineMessage());  // An empty message marks the end of the stream.
    });
    v1::GatewayMessage hello;
    *hello.mutable_hello() = hello_message;
    REQUIRE(stream_->Write(hello));
  }

  static v1::Hello HelloFor(const std::string& gateway_id) {
    v1::Hello hello;
    hello.set_gateway_id(gateway_id);
    return hello;
  }

  ~GatewayClient() {
    ctx_.TryCancel();
    reader_.join();
  }

  void Send(const v1::GatewayMessage& msg) { REQUIRE(stream_->Write(msg)); }

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
    Event(call_id, [&](v1::CallEvent& e) {
      auto* a = e.mutable_arrived();
      a->set_caller_number(caller);
      a->set_province(province);
      a->set_language("vi");
      a->set_topic(v1::TOPIC_COUNSELLING);
      a->set_priority(priority);
    });
  }

  // The first message, in arrival order, that satisfies `match`; fails the test after
  // kPatience. Messages passed over are kept for later waits: acks and commands interleave.
  v1::HotlineMessage WaitFor(const std::function<bool(const v1::HotlineMessage&)>& match) {
    for (auto it = passed_over_.begin(); it != passed_over_.end(); ++it) {
      if (match(*it)) {
        v1::HotlineMessage msg = *it;
        passed_over_.erase(it);
        return msg;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < deadline) {
      auto msg = inbox.Pop(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!msg) {
        break;
      }
      if (match(*msg)) {
        return *msg;
      }
      passed_over_.push_back(*msg);
    }
    FAIL("the gateway did not receive the expected message in time");
    return {};
  }

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

  BlockingQueue<v1::HotlineMessage> inbox;

 private:
  std::unique_ptr<v1::GatewayService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::GatewayMessage, v1::HotlineMessage>> stream_;
  std::thread reader_;
  std::atomic<bool> closed_ = false;
  std::deque<v1::HotlineMessage> passed_over_;
  int next_event_ = 0;
};

// A counsellor's desk: the Watch stream, read on its own thread, and the unary calls.
class DeskClient {
 public:
  DeskClient(std::shared_ptr<grpc::Channel> channel, const std::string& token)
      : stub_(v1::DeskService::NewStub(channel)), token_(token) {
    Authorize(ctx_, token);
    reader_stream_ = stub_->Watch(&ctx_, v1::WatchDeskRequest());
    reader_ = std::thread([this] {
      v1::DeskEvent e;
      while (reader_stream_->Read(&e)) {
        inbox.Push(e);
      }
      final_status = reader_stream_->Finish();
      inbox.Push(v1::DeskEvent());
    });
  }

  ~DeskClient() { Close(); }

  // Waits until the daemon ends the stream; final_status then holds its status.
  void WaitForEnd() {
    WaitFor([](const v1::DeskEvent& e) { return e.kind_case() == v1::DeskEvent::KIND_NOT_SET; });
    reader_.join();
  }

  // Drops the desk's stream, as a crashed or disconnected desk would.
  void Close() {
    if (reader_.joinable()) {
      ctx_.TryCancel();
      reader_.join();
    }
  }

  grpc::Status SetPresence(v1::CounsellorState state) {
    grpc::ClientContext ctx;
    Authorize(ctx, token_);
    v1::SetPresenceRequest req;
    req.set_request_id("p-" + std::to_string(++next_request_));
    req.set_state(state);
    v1::SetPresenceResponse resp;
    return stub_->SetPresence(&ctx, req, &resp);
  }

  grpc::Status Answer(const std::string& call_id, bool accept) {
    grpc::ClientContext ctx;
    Authorize(ctx, token_);
    v1::AnswerOfferRequest req;
    req.set_request_id("a-" + std::to_string(++next_request_));
    req.set_call_id(call_id);
    req.set_accept(accept);
    v1::AnswerOfferResponse resp;
    return stub_->AnswerOffer(&ctx, req, &resp);
  }

  grpc::Status Dispose(const std::string& call_id, const v1::Disposition& d, bool ready = true) {
    grpc::ClientContext ctx;
    Authorize(ctx, token_);
    v1::SubmitDispositionRequest req;
    req.set_request_id("d-" + std::to_string(++next_request_));
    req.set_call_id(call_id);
    *req.mutable_disposition() = d;
    req.set_ready_for_next(ready);
    v1::SubmitDispositionResponse resp;
    return stub_->SubmitDisposition(&ctx, req, &resp);
  }

  // Reads until an event satisfies `match`; fails the test after `patience`.
  v1::DeskEvent WaitFor(const std::function<bool(const v1::DeskEvent&)>& match,
                        std::chrono::milliseconds patience = kPatience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
      auto e = inbox.Pop(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!e) {
        break;
      }
      if (match(*e)) {
        return *e;
      }
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

  BlockingQueue<v1::DeskEvent> inbox;
  grpc::Status final_status;

 private:
  std::unique_ptr<v1::DeskService::Stub> stub_;
  std::string token_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::DeskEvent>> reader_stream_;
  std::thread reader_;
  int next_request_ = 0;
};

// The daemon, running in this process, with a fresh database.
class DaemonFixture {
 public:
  static constexpr const char* kGatewayToken = "test-gateway";
  static constexpr const char* kSupervisorToken = "test-supervisor";
  static constexpr const char* kAdminToken = "test-admin";

  explicit DaemonFixture(const std::function<void(daemon::Config&)>& adjust = {},
                         daemon::Daemon::SinkWrapper wrap = nullptr,
                         std::shared_ptr<daemon::TimeSource> time_source = nullptr)
      : wrap_sink(std::move(wrap)), time(std::move(time_source)) {
    config.grpc_listen = "127.0.0.1:0";
    config.http_listen = "127.0.0.1:0";
    config.database = (dir.path() / "hotline.db").string();
    config.caller_key_file = (dir.path() / "caller.key").string();
    config.policy_file = std::string(HOTLINE_SOURCE_DIR) + "/deploy/policy.toml";
    config.regions_file = std::string(HOTLINE_SOURCE_DIR) + "/deploy/regions.toml";
    config.gateway_token = kGatewayToken;
    config.supervisor_token = kSupervisorToken;
    config.admin_token = kAdminToken;
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
    v1::CreateCounsellorResponse resp;
    grpc::Status s = admin->CreateCounsellor(&ctx, req, &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return resp.token();
  }

  // The supervisor's current queue view: the first message of a fresh WatchQueue.
  v1::QueueView View() {
    auto stub = v1::SupervisorService::NewStub(channel);
    grpc::ClientContext ctx;
    Authorize(ctx, kSupervisorToken);
    ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
    auto reader = stub->WatchQueue(&ctx, v1::WatchQueueRequest());
    v1::QueueView view;
    REQUIRE(reader->Read(&view));
    ctx.TryCancel();
    return view;
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

}  // namespace hotline::testing
