// Clients of hotlined for the benchmarks: counsellors created through AdminService and their
// desks signed in over DeskService, each desk's Watch stream read on a thread of its own.
//
// Thread-safety: SignIn and the destructor on one thread; `on_event` runs on each desk's
// reader thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "hotline/v1/admin.grpc.pb.h"
#include "hotline/v1/desk.grpc.pb.h"
#include "hotline/v1/supervisor.grpc.pb.h"

namespace hotline::bench {

// `count` counsellors "bench-c<i>" (counselling, proficiency 4, Vietnamese, home province 01),
// each with a desk whose Watch stays open, signed in AVAILABLE (or `state`). Exits the process
// if the daemon refuses any step: a benchmark has nothing to measure then.
class Desks final {
 public:
  using OnEvent = std::function<void(const ::hotline::v1::DeskEvent&)>;

  Desks(const std::shared_ptr<grpc::Channel>& channel, const std::string& admin_token, int count,
        OnEvent on_event,
        ::hotline::v1::CounsellorState state = ::hotline::v1::COUNSELLOR_STATE_AVAILABLE)
      : on_event_(std::move(on_event)) {
    namespace v1 = ::hotline::v1;
    auto admin = v1::AdminService::NewStub(channel);
    for (int i = 0; i < count; ++i) {
      const std::string id = "bench-c" + std::to_string(i);
      v1::CreateCounsellorRequest req;
      auto* c = req.mutable_counsellor();
      c->set_counsellor_id(id);
      c->set_display_name("Counsellor " + id);
      c->set_home_province("01");
      auto* skill = c->add_skills();
      skill->set_topic(v1::TOPIC_COUNSELLING);
      skill->set_proficiency(4);
      c->add_languages("vi");
      c->set_endpoint("sip:" + id + "@pbx.local");
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + admin_token);
      v1::CreateCounsellorResponse resp;
      Check(admin->CreateCounsellor(&ctx, req, &resp), "CreateCounsellor");
      desks_.push_back(std::make_unique<Desk>(channel, resp.token(), on_event_));
    }
    for (auto& desk : desks_) {
      desk->SetPresence(state);
    }
  }
  Desks(const Desks&) = delete;
  Desks& operator=(const Desks&) = delete;

  // Every desk's presence, one request each.
  void SetPresence(::hotline::v1::CounsellorState state) {
    for (auto& desk : desks_) {
      desk->SetPresence(state);
    }
  }

 private:
  static void Check(const grpc::Status& s, const char* what) {
    if (!s.ok()) {
      std::fprintf(stderr, "bench: %s refused: %s\n", what, s.error_message().c_str());
      std::exit(1);
    }
  }

  class Desk {
   public:
    Desk(const std::shared_ptr<grpc::Channel>& channel, std::string token, const OnEvent& on_event)
        : stub_(::hotline::v1::DeskService::NewStub(channel)), token_(std::move(token)) {
      ctx_.AddMetadata("authorization", "Bearer " + token_);
      stream_ = stub_->Watch(&ctx_, ::hotline::v1::WatchDeskRequest());
      reader_ = std::thread([this, &on_event] {
        ::hotline::v1::DeskEvent e;
        while (stream_->Read(&e)) {
          if (!opened_.test_and_set()) {
            opened_.notify_all();
          }
          if (on_event) {
            on_event(e);
          }
        }
        stream_->Finish();
        opened_.test_and_set();
        opened_.notify_all();
      });
      // The daemon's first event (the counsellor's presence) says the desk is connected.
      opened_.wait(false);
    }
    ~Desk() {
      ctx_.TryCancel();
      reader_.join();
    }
    void SetPresence(::hotline::v1::CounsellorState state) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + token_);
      ::hotline::v1::SetPresenceRequest req;
      req.set_request_id("p" + std::to_string(next_request_++));
      req.set_state(state);
      ::hotline::v1::SetPresenceResponse resp;
      Check(stub_->SetPresence(&ctx, req, &resp), "SetPresence");
    }

   private:
    std::unique_ptr<::hotline::v1::DeskService::Stub> stub_;
    std::string token_;
    grpc::ClientContext ctx_;
    std::unique_ptr<grpc::ClientReader<::hotline::v1::DeskEvent>> stream_;
    std::thread reader_;
    int next_request_ = 0;
    std::atomic_flag opened_;
  };

  OnEvent on_event_;  // Before desks_: their threads use it.
  std::vector<std::unique_ptr<Desk>> desks_;
};

// `count` supervisors' live queues (SupervisorService.WatchQueue), each read on a thread of its
// own and discarded, as the live page a helpline keeps open all day.
class Watchers final {
 public:
  Watchers(const std::shared_ptr<grpc::Channel>& channel, const std::string& supervisor_token,
           int count) {
    for (int i = 0; i < count; ++i) {
      watchers_.push_back(std::make_unique<Watcher>(channel, supervisor_token));
    }
  }
  Watchers(const Watchers&) = delete;
  Watchers& operator=(const Watchers&) = delete;

 private:
  class Watcher {
   public:
    Watcher(const std::shared_ptr<grpc::Channel>& channel, const std::string& token)
        : stub_(::hotline::v1::SupervisorService::NewStub(channel)) {
      ctx_.AddMetadata("authorization", "Bearer " + token);
      stream_ = stub_->WatchQueue(&ctx_, ::hotline::v1::WatchQueueRequest());
      reader_ = std::thread([this] {
        ::hotline::v1::QueueUpdate u;
        while (stream_->Read(&u)) {
          if (!opened_.test_and_set()) {
            opened_.notify_all();
          }
        }
        stream_->Finish();
        opened_.test_and_set();
        opened_.notify_all();
      });
      opened_.wait(false);  // The first full view: the watch is open.
    }
    ~Watcher() {
      ctx_.TryCancel();
      reader_.join();
    }

   private:
    std::unique_ptr<::hotline::v1::SupervisorService::Stub> stub_;
    grpc::ClientContext ctx_;
    std::unique_ptr<grpc::ClientReader<::hotline::v1::QueueUpdate>> stream_;
    std::thread reader_;
    std::atomic_flag opened_;
  };

  std::vector<std::unique_ptr<Watcher>> watchers_;
};

}  // namespace hotline::bench
