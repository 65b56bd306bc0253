// How long a grpc.health.v1.Health Check takes after an idle gap: hotlined's own health service
// (daemon/health_service.h, on its completion queue) beside gRPC's default health service on a
// bare server in the same process, the one hotlined used before. gRPC 1.51's default service
// runs on the callback API, whose threads sleep 100 ms after each idle second: its stall shows
// only with gaps over a second.
//
// Run: build/bench/daemon/health_latency_bench [--checks N] [--gap-ms G]
//   N checks per server (20), each after G ms of idleness (300): a quick run for CI.
//   The stall: --checks 30 --gap-ms 1500 (about 90 s).
// It prints p50, p99 and max per server. Both on 127.0.0.1:0; the daemon with a temporary
// database.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_daemon.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace hotline {
namespace {

using Clock = std::chrono::steady_clock;
namespace health = grpc::health::v1;

// One Check on a fresh context: its round trip.
Clock::duration Check(health::Health::Stub& stub) {
  grpc::ClientContext ctx;
  health::HealthCheckResponse response;
  const auto start = Clock::now();
  if (!stub.Check(&ctx, health::HealthCheckRequest(), &response).ok()) {
    std::abort();
  }
  return Clock::now() - start;
}

void Print(const char* name, std::vector<Clock::duration> samples) {
  std::sort(samples.begin(), samples.end());
  auto ms = [&](double q) {
    const auto i = std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
    return std::chrono::duration<double, std::milli>(samples[i]).count();
  };
  std::printf("%-44s n=%-3zu p50=%7.2f ms  p99=%7.2f ms  max=%7.2f ms\n", name, samples.size(),
              ms(0.5), ms(0.99), std::chrono::duration<double, std::milli>(samples.back()).count());
}

int Main(int argc, char** argv) {
  int checks = 20;
  int gap_ms = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--checks") {
      checks = std::max(1, std::atoi(argv[i + 1]));
    } else if (flag == "--gap-ms") {
      gap_ms = std::max(0, std::atoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "health_latency_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bench::BenchDaemon hotlined;

  // The bare server: nothing but gRPC's default health service.
  grpc::EnableDefaultHealthCheckService(true);
  int bare_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &bare_port);
  auto bare = builder.BuildAndStart();

  auto stub_for = [](int port) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // A connection of its own each.
    return health::Health::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials(), args));
  };
  auto ours = stub_for(hotlined.daemon().grpc_port());
  auto theirs = stub_for(bare_port);
  Check(*ours);  // Connected before the first gap.
  Check(*theirs);
  std::printf("health_latency_bench: %d checks per server, each after %d ms idle (about %d s)\n",
              checks, gap_ms, checks * gap_ms * 2 / 1000);
  std::vector<Clock::duration> ours_ms, theirs_ms;
  for (int i = 0; i < checks; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    ours_ms.push_back(Check(*ours));
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    theirs_ms.push_back(Check(*theirs));
  }
  Print("hotlined's health service (completion queue)", ours_ms);
  Print("gRPC's default health service (bare server)", theirs_ms);

  bare->Shutdown();
  return 0;
}

}  // namespace
}  // namespace hotline

int main(int argc, char** argv) { return hotline::Main(argc, argv); }
