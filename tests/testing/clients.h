// Test clients of hotlined that talk to it only over a gRPC channel, whether the daemon runs in
// this process (tests/testing/daemon_fixture.h) or as a child process (tests/crash/): one
// gateway stream, one desk, and the small predicates and builders tests share.
//
// Nothing here uses Catch2, so a plain program (the crash test) can use it: what can fail
// returns a bool, an optional or a grpc::Status, and the caller decides whether that fails a
// test. daemon_fixture.h wraps these classes with Catch2 checks.
//
// Each stream is read on its own thread, which hands messages over through a BlockingQueue; an
// empty message (KIND_NOT_SET) in the queue marks the end of the stream. Thread-safety is said
// per class.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "hotline/v1/desk.grpc.pb.h"
#include "hotline/v1/gateway.grpc.pb.h"
#include "tests/testing/blocking_queue.h"

namespace hotline::testing {

namespace v1 = ::hotline::v1;

inline void Authorize(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", "Bearer " + token);
}

// --- Predicates for WaitFor. ---

inline bool IsOffer(const v1::DeskEvent& e) { return e.has_offer(); }
inline bool IsWelcome(const v1::HotlineMessage& m) { return m.has_welcome(); }
// The marker a reader thread queues when its stream ends.
inline bool IsEndOfStream(const v1::HotlineMessage& m) {
  return m.kind_case() == v1::HotlineMessage::KIND_NOT_SET;
}
inline bool IsEndOfStream(const v1::DeskEvent& e) {
  return e.kind_case() == v1::DeskEvent::KIND_NOT_SET;
}

// --- Builders. ---

// A Hello listing no held calls.
inline v1::Hello HelloFor(const std::string& gateway_id) {
  v1::Hello hello;
  hello.set_gateway_id(gateway_id);
  return hello;
}

// A well-formed arrival: Vietnamese, counselling, normal priority unless told otherwise.
inline v1::CallArrived Arrival(const std::string& province,
                               const std::string& caller_number = "0912345678",
                               v1::Priority priority = v1::PRIORITY_NORMAL) {
  v1::CallArrived a;
  a.set_caller_number(caller_number);
  a.set_province(province);
  a.set_language("vi");
  a.set_topic(v1::TOPIC_COUNSELLING);
  a.set_priority(priority);
  return a;
}

// --- One gateway stream. ---

// One GatewayService.Connect stream: opened and sent `hello` at construction (hello_written()
// says whether that write went through), read on its own thread into `inbox`. A reconnecting
// gateway makes a new GatewayConnection per session.
//
// Thread-safety: Write and WaitFor from one thread at a time (the owner serialises them);
// Cancel from any thread; the destructor cancels the stream and joins the reader.
class GatewayConnection {
 public:
  GatewayConnection(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                    const v1::Hello& hello)
      : stub_(v1::GatewayService::NewStub(channel)) {
    Authorize(ctx_, token);
    stream_ = stub_->Connect(&ctx_);
    reader_ = std::thread([this] {
      v1::HotlineMessage msg;
      while (stream_->Read(&msg)) {
        inbox.Push(msg);
      }
      inbox.Push(v1::HotlineMessage());  // The end of the stream.
    });
    v1::GatewayMessage first;
    *first.mutable_hello() = hello;
    hello_written_ = stream_->Write(first);
  }
  ~GatewayConnection() {
    Cancel();
    reader_.join();
  }
  GatewayConnection(const GatewayConnection&) = delete;
  GatewayConnection& operator=(const GatewayConnection&) = delete;

  bool hello_written() const { return hello_written_; }

  // False when the stream is broken (the daemon went away or the stream was cancelled).
  bool Write(const v1::GatewayMessage& msg) { return stream_->Write(msg); }

  // Ends the stream from this side; the reader then queues the end marker.
  void Cancel() { ctx_.TryCancel(); }
  // Half-closes the stream: nothing more is written, and the reader goes on.
  bool WritesDone() { return stream_->WritesDone(); }

  // The stream's status. REQUIRES: the end marker has been taken from `inbox` and nothing
  // writes any more.
  grpc::Status Finish() { return stream_->Finish(); }

  // The first message, in arrival order, that satisfies `match`, or nullopt after `patience`.
  // Messages passed over are kept for later waits: acks and commands interleave.
  std::optional<v1::HotlineMessage> WaitFor(
      const std::function<bool(const v1::HotlineMessage&)>& match,
      std::chrono::milliseconds patience) {
    for (auto it = passed_over_.begin(); it != passed_over_.end(); ++it) {
      if (match(*it)) {
        v1::HotlineMessage msg = *it;
        passed_over_.erase(it);
        return msg;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
      auto msg = inbox.Pop(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!msg) {
        break;
      }
      if (match(*msg)) {
        return msg;
      }
      passed_over_.push_back(*msg);
    }
    return std::nullopt;
  }

  BlockingQueue<v1::HotlineMessage> inbox;

 private:
  std::unique_ptr<v1::GatewayService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::GatewayMessage, v1::HotlineMessage>> stream_;
  std::thread reader_;
  bool hello_written_ = false;
  std::deque<v1::HotlineMessage> passed_over_;
};

// --- One desk. ---

// A counsellor's desk: the Watch stream, opened at construction and read on its own thread into
// `inbox` (the end marker follows `final_status`), and the unary requests.
//
// Request ids are `request_prefix` + "p-"/"a-"/"d-" + a counter starting at 1. The daemon
// answers a repeated id with its original answer, so a desk that reconnects with a new
// DeskConnection must give each one its own prefix. `rpc_deadline`, when set, bounds each unary
// request (a daemon that is killed mid-request must not hang the caller).
//
// Thread-safety: the requests and WaitFor from one thread at a time; Cancel from any thread;
// Close and the destructor from the owning thread.
class DeskConnection {
 public:
  DeskConnection(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                 std::string request_prefix = "",
                 std::optional<std::chrono::milliseconds> rpc_deadline = std::nullopt)
      : stub_(v1::DeskService::NewStub(channel)),
        token_(token),
        request_prefix_(std::move(request_prefix)),
        rpc_deadline_(rpc_deadline) {
    Authorize(ctx_, token);
    reader_stream_ = stub_->Watch(&ctx_, v1::WatchDeskRequest());
    reader_ = std::thread([this] {
      v1::DeskEvent e;
      while (reader_stream_->Read(&e)) {
        inbox.Push(e);
      }
      final_status = reader_stream_->Finish();
      inbox.Push(v1::DeskEvent());  // The end of the stream.
    });
  }
  ~DeskConnection() { Close(); }
  DeskConnection(const DeskConnection&) = delete;
  DeskConnection& operator=(const DeskConnection&) = delete;

  // Drops the desk's stream, as a crashed or disconnected desk would, and joins the reader.
  void Close() {
    if (reader_.joinable()) {
      ctx_.TryCancel();
      reader_.join();
    }
  }

  // Ends the Watch from any thread; the reader then queues final_status and the end marker.
  void Cancel() { ctx_.TryCancel(); }

  // Joins the reader. REQUIRES: the end marker has been taken from `inbox`.
  void Join() {
    if (reader_.joinable()) {
      reader_.join();
    }
  }

  grpc::Status SetPresence(v1::CounsellorState state) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::SetPresenceRequest req;
    req.set_request_id(NextRequestId("p-"));
    req.set_state(state);
    v1::SetPresenceResponse resp;
    return stub_->SetPresence(&ctx, req, &resp);
  }

  grpc::Status Answer(const std::string& call_id, bool accept) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::AnswerOfferRequest req;
    req.set_request_id(NextRequestId("a-"));
    req.set_call_id(call_id);
    req.set_accept(accept);
    v1::AnswerOfferResponse resp;
    return stub_->AnswerOffer(&ctx, req, &resp);
  }

  grpc::Status Dispose(const std::string& call_id, const v1::Disposition& d, bool ready = true,
                       v1::SubmitDispositionResponse* response = nullptr) {
    grpc::ClientContext ctx;
    Prepare(ctx);
    v1::SubmitDispositionRequest req;
    req.set_request_id(NextRequestId("d-"));
    req.set_call_id(call_id);
    *req.mutable_disposition() = d;
    req.set_ready_for_next(ready);
    v1::SubmitDispositionResponse resp;
    return stub_->SubmitDisposition(&ctx, req, response != nullptr ? response : &resp);
  }

  // Reads until an event satisfies `match`, dropping the others; nullopt after `patience`.
  std::optional<v1::DeskEvent> WaitFor(const std::function<bool(const v1::DeskEvent&)>& match,
                                       std::chrono::milliseconds patience) {
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (std::chrono::steady_clock::now() < deadline) {
      auto e = inbox.Pop(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
      if (!e) {
        break;
      }
      if (match(*e)) {
        return e;
      }
    }
    return std::nullopt;
  }

  BlockingQueue<v1::DeskEvent> inbox;
  // The Watch's status, set by the reader before it queues the end marker.
  grpc::Status final_status;

 private:
  void Prepare(grpc::ClientContext& ctx) const {
    Authorize(ctx, token_);
    if (rpc_deadline_) {
      ctx.set_deadline(std::chrono::system_clock::now() + *rpc_deadline_);
    }
  }
  std::string NextRequestId(const char* kind) {
    return request_prefix_ + kind + std::to_string(++next_request_);
  }

  std::unique_ptr<v1::DeskService::Stub> stub_;
  const std::string token_;
  const std::string request_prefix_;
  const std::optional<std::chrono::milliseconds> rpc_deadline_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::DeskEvent>> reader_stream_;
  std::thread reader_;
  uint64_t next_request_ = 0;
};

}  // namespace hotline::testing
