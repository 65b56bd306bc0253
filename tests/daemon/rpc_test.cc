// rpc.h's completion-queue thread at shutdown. gRPC 1.51 aborts the whole process
// (`call.cc: assertion failed: grpc_cq_begin_op(cq_, notify_tag)`) when an operation is started
// on a completion queue after its Shutdown() took effect; a completion still queued then may
// start one (a failed write's owed Finish, the next Read, the next request, a reply). The test
// holds the queue's thread while the server shuts down and the queue's stop is asked for, so the
// completions are handled after that: with the queue shut down from the stopping thread, as
// hotlined did before (rpc::Drive, then cq->Shutdown() in DaemonImpl::Shutdown), it aborted the
// test process every time with that assertion.
#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "daemon/rpc.h"
#include "daemon/streams.h"
#include "hotline/v1/desk.grpc.pb.h"

namespace hotline::daemon {
namespace {

using Desk = v1::DeskService::AsyncService;

// A tag that holds the completion-queue thread from when it runs until Release().
class Hold final : public rpc::Tag {
 public:
  // Runs the tag on `cq`'s thread and returns once that thread is held.
  void On(grpc::ServerCompletionQueue* cq) {
    alarm_.Set(cq, gpr_now(GPR_CLOCK_MONOTONIC), this);
    held_.get_future().wait();
  }
  void Release() { release_.set_value(); }
  void Done(bool) override {
    held_.set_value();
    release_.get_future().wait();
  }

 private:
  grpc::Alarm alarm_;
  std::promise<void> held_;
  std::promise<void> release_;
};

// A server with DeskService on one completion queue driven by a QueueThread, on 127.0.0.1:0.
struct DeskServer {
  DeskServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    cq = builder.AddCompletionQueue();
    server = builder.BuildAndStart();
    REQUIRE(server != nullptr);
    queue = std::make_unique<rpc::QueueThread>(cq.get(), nullptr);
  }
  // What a test left running: both are idempotent.
  ~DeskServer() {
    server->Shutdown(gpr_now(GPR_CLOCK_MONOTONIC));
    queue->Stop();
  }
  std::unique_ptr<v1::DeskService::Stub> Client() const {
    return v1::DeskService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }

  Desk service;  // Outlives the server.
  int port = 0;
  std::unique_ptr<grpc::ServerCompletionQueue> cq;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<rpc::QueueThread> queue;
};

TEST_CASE("a desk stream with writes in flight to a paused reader ends cleanly as the server and "
          "its completion queue shut down",
          "[daemon][rpc]") {
  DeskServer s;
  std::promise<std::shared_ptr<DeskStream>> opened;
  std::atomic<bool> ended = false;
  ServeServerStream<Desk, v1::WatchDeskRequest, v1::DeskEvent>(
      &s.service, &Desk::RequestWatch, s.cq.get(),
      [&opened](std::shared_ptr<DeskStream> stream) { opened.set_value(std::move(stream)); },
      [&ended](std::shared_ptr<DeskStream>) { ended = true; });

  // A desk that opens Watch and never reads.
  auto stub = s.Client();
  grpc::ClientContext client;
  auto reader = stub->Watch(&client, v1::WatchDeskRequest());
  auto opened_future = opened.get_future();
  REQUIRE(opened_future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  std::shared_ptr<DeskStream> stream = opened_future.get();
  std::weak_ptr<DeskStream> weak = stream;
  // 16 MB: far past what HTTP/2 flow control lets through to a reader that does not read.
  for (int i = 0; i < 256; ++i) {
    v1::DeskEvent event;
    event.mutable_offer()->mutable_call()->set_call_id(std::string(64 * 1024, 'x'));
    stream->Send(std::move(event));
  }

  // As hotlined's shutdown closes every stream first: the Finish is owed once the write in
  // flight completes.
  stream->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down"));

  Hold hold;
  hold.On(s.cq.get());
  const size_t pending = stream->pending();  // Fixed while the thread is held.
  // Cancels the stream at once: its write fails, and that completion waits behind the hold.
  s.server->Shutdown(gpr_now(GPR_CLOCK_MONOTONIC));
  s.queue->RequestStop();
  hold.Release();
  s.queue->Stop();  // Returns once the queue is drained.

  CHECK(pending > 1);  // There was a write in flight and more queued behind it.
  CHECK(ended);         // The RPC's end was delivered.
  stream.reset();
  CHECK(weak.expired());  // Nothing in flight holds the stream any more.
  client.TryCancel();
  v1::DeskEvent ignored;
  while (reader->Read(&ignored)) {
  }
  CHECK_FALSE(reader->Finish().ok());
}


// A burst queued behind a write in flight, on a connection that carries nothing else: every
// message reaches the reader. The Outbox writes all but the last of a queue with buffer_hint, so
// gRPC may hold them back; the last one, written without it, must send what was held, with no
// other stream on the connection to flush it.
TEST_CASE("a burst queued behind a write reaches a reader whose connection carries nothing else",
          "[daemon][rpc]") {
  DeskServer s;
  std::promise<std::shared_ptr<DeskStream>> opened;
  ServeServerStream<Desk, v1::WatchDeskRequest, v1::DeskEvent>(
      &s.service, &Desk::RequestWatch, s.cq.get(),
      [&opened](std::shared_ptr<DeskStream> stream) { opened.set_value(std::move(stream)); },
      [](std::shared_ptr<DeskStream>) {});
  auto stub = s.Client();
  grpc::ClientContext client;
  client.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub->Watch(&client, v1::WatchDeskRequest());
  auto opened_future = opened.get_future();
  REQUIRE(opened_future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  std::shared_ptr<DeskStream> stream = opened_future.get();

  constexpr int kBurst = 20;
  for (int i = 0; i < kBurst; ++i) {
    v1::DeskEvent event;
    event.mutable_offer()->mutable_call()->set_call_id("c-" + std::to_string(i));
    stream->Send(std::move(event));
  }
  for (int i = 0; i < kBurst; ++i) {
    v1::DeskEvent event;
    REQUIRE(reader->Read(&event));  // Fails at the deadline if the stream stalled.
    CHECK(event.offer().call().call_id() == "c-" + std::to_string(i));
  }
  stream->Close(grpc::Status::OK);
  v1::DeskEvent ignored;
  CHECK_FALSE(reader->Read(&ignored));
  CHECK(reader->Finish().ok());
}

TEST_CASE("a bearer token is read whatever the scheme's case, after one or more spaces") {
  // RFC 7235 2.1: the scheme is case-insensitive; hotlined read only "Bearer " before.
  CHECK(rpc::BearerToken("Bearer tok-1") == "tok-1");
  CHECK(rpc::BearerToken("bearer tok-1") == "tok-1");
  CHECK(rpc::BearerToken("BEARER tok-1") == "tok-1");
  CHECK(rpc::BearerToken("Bearer   tok-1") == "tok-1");
  CHECK(rpc::BearerToken("Bearer") == "");
  CHECK(rpc::BearerToken("Bearer ") == "");
  CHECK(rpc::BearerToken("Bearer    ") == "");
  CHECK(rpc::BearerToken("Bearertok-1") == "");
  CHECK(rpc::BearerToken("Basic dG9rOjE=") == "");
  CHECK(rpc::BearerToken("tok-1") == "");
  CHECK(rpc::BearerToken("") == "");
}

}  // namespace
}  // namespace hotline::daemon
