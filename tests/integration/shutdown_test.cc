// The daemon shutting down while readers that stopped reading have writes in flight and more
// queued. Their writes fail as the server cancels the streams, and each failed write's
// completion starts the stream's Finish on the completion-queue thread: done after the queue was
// shut down, gRPC 1.51 aborted the process (`call.cc: assertion failed: grpc_cq_begin_op`), in
// about 2 of 3 sanitized runs of the suite. tests/daemon/rpc_test.cc holds that race open, so it
// failed every time before the fix; this is the whole daemon's path, for repeated runs.
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "tests/testing/daemon_fixture.h"

namespace hotline::testing {
namespace {

// A channel whose streams a reader that never reads fills after a few kilobytes.
std::shared_ptr<grpc::Channel> SlowChannel(const DaemonFixture& f) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 4096);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(f.daemon->grpc_port()),
                                   grpc::InsecureChannelCredentials(), args);
}

// A server stream nobody reads until the end: then it is read through to its status.
template <class Out>
struct Paused {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<Out>> reader;

  // Reads what is left and returns how the stream ended.
  grpc::Status Drain() {
    Out ignored;
    while (reader->Read(&ignored)) {
    }
    return reader->Finish();
  }
};

TEST_CASE("a daemon shuts down cleanly while paused desk and queue readers have writes in flight",
          "[integration][shutdown]") {
  DaemonFixture f;
  const std::string token = f.AddCounsellor("cs-1", "01");
  auto slow = SlowChannel(f);

  auto desk_stub = v1::DeskService::NewStub(slow);
  Paused<v1::DeskEvent> desk;
  Authorize(desk.ctx, token);
  desk.reader = desk_stub->Watch(&desk.ctx, v1::WatchDeskRequest());
  // The desk's first event (the counsellor's presence) says the desk is open: a break needs it.
  v1::DeskEvent first;
  REQUIRE(desk.reader->Read(&first));

  auto supervisor_stub = v1::SupervisorService::NewStub(slow);
  Paused<v1::QueueUpdate> queue;
  Authorize(queue.ctx, DaemonFixture::kSupervisorToken);
  queue.reader = supervisor_stub->WatchQueue(&queue.ctx, v1::WatchQueueRequest());

  // Every presence change is an event on the paused desk's stream and a change on the paused
  // queue view; each call's arrival is another change.
  auto presence = v1::DeskService::NewStub(f.channel);
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();
  for (int i = 0; i < 300; ++i) {
    grpc::ClientContext ctx;
    Authorize(ctx, token);
    v1::SetPresenceRequest request;
    request.set_request_id("p-" + std::to_string(i));
    request.set_state(i % 2 == 0 ? v1::COUNSELLOR_STATE_BREAK : v1::COUNSELLOR_STATE_OFFLINE);
    v1::SetPresenceResponse response;
    const grpc::Status s = presence->SetPresence(&ctx, request, &response);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  for (int i = 0; i < 100; ++i) {
    gw.Arrive("c-" + std::to_string(i), "01");
    REQUIRE(gw.WaitForAck().code() == 0);
  }

  f.daemon->Shutdown();
  CHECK_FALSE(f.daemon->shutdown_digest().empty());
  // The streams were ended by the daemon, not left open: their readers see a status.
  CHECK_FALSE(desk.Drain().ok());
  CHECK_FALSE(queue.Drain().ok());
}

}  // namespace
}  // namespace hotline::testing
