// Latency of the real daemon at sparse load, where gRPC's callback API would stall (DESIGN.md
// §5): requests with random 0.2-4 s gaps, and the same requests back to back for comparison.
// Two kinds: a unary AdminService.ListCounsellors (through the engine thread, nothing written)
// and a gateway CallEvent answered by its EventAck (journaled and group-committed first).
//
// Run: build/bench/daemon/sparse_latency_bench [--sparse N]   (N sparse requests per kind, 40)
// It prints p50, p90, p99 and max per case. The daemon runs in this process on 127.0.0.1:0 with
// a temporary database, synchronous=NORMAL.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_daemon.h"
#include "hotline/v1/admin.grpc.pb.h"
#include "hotline/v1/gateway.grpc.pb.h"

namespace hotline {
namespace {

namespace v1 = ::hotline::v1;
using Clock = std::chrono::steady_clock;
using Micros = std::chrono::microseconds;

void Print(const char* name, std::vector<Micros> samples) {
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) {
    return samples[std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()))];
  };
  std::printf("%-34s n=%-4zu p50=%7.2f ms  p90=%7.2f ms  p99=%7.2f ms  max=%7.2f ms\n", name,
              samples.size(), at(0.50).count() / 1000.0, at(0.90).count() / 1000.0,
              at(0.99).count() / 1000.0, samples.back().count() / 1000.0);
}

int Main(int argc, char** argv) {
  int sparse = 40;
  if (argc == 3 && std::string(argv[1]) == "--sparse") {
    sparse = std::max(1, std::atoi(argv[2]));
  }
  bench::BenchDaemon hotlined;
  auto channel = grpc::CreateChannel(hotlined.address(), grpc::InsecureChannelCredentials());
  auto admin = v1::AdminService::NewStub(channel);
  auto gateway = v1::GatewayService::NewStub(channel);

  auto list = [&] {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer a");
    v1::ListCounsellorsResponse resp;
    const auto start = Clock::now();
    if (!admin->ListCounsellors(&ctx, v1::ListCounsellorsRequest(), &resp).ok()) {
      std::abort();
    }
    return std::chrono::duration_cast<Micros>(Clock::now() - start);
  };

  grpc::ClientContext stream_ctx;
  stream_ctx.AddMetadata("authorization", "Bearer g");
  auto stream = gateway->Connect(&stream_ctx);
  v1::GatewayMessage hello;
  hello.mutable_hello()->set_gateway_id("bench");
  stream->Write(hello);
  v1::HotlineMessage in;
  stream->Read(&in);  // Welcome.
  int events = 0;
  // A hang-up for a call that does not exist: refused (NOT_FOUND) by the engine, but the answer
  // is still stored for idempotency and group-committed before the ack goes out.
  auto event = [&] {
    v1::GatewayMessage msg;
    msg.mutable_event()->set_event_id("e" + std::to_string(++events));
    msg.mutable_event()->set_call_id("no-such-call");
    msg.mutable_event()->mutable_caller_hung_up();
    const auto start = Clock::now();
    stream->Write(msg);
    do {
      if (!stream->Read(&in)) {
        std::abort();
      }
    } while (!in.has_ack());
    return std::chrono::duration_cast<Micros>(Clock::now() - start);
  };

  std::mt19937 rng(7);
  std::uniform_int_distribution<int> gap_ms(200, 4'000);
  std::vector<Micros> list_dense, list_sparse, event_dense, event_sparse;
  for (int i = 0; i < 2'000; ++i) {
    list_dense.push_back(list());
    event_dense.push_back(event());
  }
  std::printf("sparse phase: %d requests of each kind, 0.2-4 s apart (about %d s)...\n", sparse,
              sparse * 2 * 21 / 10);
  for (int i = 0; i < sparse; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms(rng)));
    list_sparse.push_back(list());
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms(rng)));
    event_sparse.push_back(event());
  }
  Print("ListCounsellors, back to back", list_dense);
  Print("ListCounsellors, 0.2-4 s gaps", list_sparse);
  Print("gateway event -> ack, back to back", event_dense);
  Print("gateway event -> ack, 0.2-4 s gaps", event_sparse);

  stream->WritesDone();
  stream_ctx.TryCancel();
  return 0;
}

}  // namespace
}  // namespace hotline

int main(int argc, char** argv) { return hotline::Main(argc, argv); }
