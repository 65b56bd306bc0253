// The daemon's memory per signed-in counsellor, per finished call it remembers and per waiting
// call, as deltas of its resident set (VmRSS).
//
// The daemon runs in a child process (forked before anything touches gRPC) so that the clients'
// memory is not counted; the parent drives it over loopback and reads /proc/<child>/status:
//   1. `counsellors` counsellors created and signed in on desks of their own (DeskService.Watch
//      open, AVAILABLE), then put on BREAK so that the calls below wait;
//   2. `calls` calls that arrive and hang up at once: finished, and remembered as the daemon
//      remembers them (the engine's finished ids with how they ended, the callers, the
//      idempotency answers of their events, kept 24 h);
//   3. `calls` calls that arrive and stay waiting.
// Each figure is the growth of the resident set over that step divided by its count. Freed memory
// that the allocator keeps is reused by the next step, so the steps go from the smallest to the
// largest kind of growth; transient buffers (a commit's batch, a snapshot) are in the deltas.
//
// Run: build/bench/daemon/memory_bench [--counsellors N] [--calls N] [--json PATH]
//   N counsellors (500) and N calls per step (20000).
#include <grpcpp/grpcpp.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "bench/bench_clients.h"
#include "bench/bench_daemon.h"
#include "hotline/v1/gateway.grpc.pb.h"

namespace hotline {
namespace {

namespace v1 = ::hotline::v1;

struct Flags {
  int counsellors = 500;
  int calls = 20'000;
  std::string json;
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--counsellors") {
      f.counsellors = std::max(1, std::atoi(value.c_str()));
    } else if (name == "--calls") {
      f.calls = std::max(1, std::atoi(value.c_str()));
    } else if (name == "--json") {
      f.json = value;
    } else {
      std::fprintf(stderr, "memory_bench: unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  return f;
}

// The child: the daemon, until the parent closes `control`. Writes its gRPC port to `port_out`.
[[noreturn]] void RunDaemon(int port_out, int control) {
  {
    bench::BenchDaemon hotlined;
    const int port = hotlined.daemon().grpc_port();
    if (write(port_out, &port, sizeof port) != sizeof port) {
      std::_Exit(1);
    }
    char byte;
    while (read(control, &byte, 1) > 0) {
    }
  }
  std::_Exit(0);
}

// VmRSS of `pid`, in bytes.
int64_t ResidentBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream in(line.substr(6));
      int64_t kb = 0;
      in >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

// One gateway stream sending events with at most `window` unacknowledged.
class Gateway {
 public:
  explicit Gateway(const std::shared_ptr<grpc::Channel>& channel)
      : stream_(Open(channel, ctx_)) {
    v1::GatewayMessage hello;
    hello.mutable_hello()->set_gateway_id("bench");
    v1::HotlineMessage in;
    if (!stream_->Write(hello) || !stream_->Read(&in) || !in.has_welcome()) {
      std::fprintf(stderr, "memory_bench: the daemon did not welcome the gateway\n");
      std::exit(1);
    }
    reader_ = std::thread([this] {
      v1::HotlineMessage m;
      while (stream_->Read(&m)) {
        if (m.has_ack()) {
          if (m.ack().code() != 0) {
            std::fprintf(stderr, "memory_bench: event refused: %s\n", m.ack().message().c_str());
            std::exit(1);
          }
          std::lock_guard lock(mu_);
          --in_flight_;
          cv_.notify_all();
        }
      }
    });
  }
  ~Gateway() {
    ctx_.TryCancel();
    reader_.join();
  }

  // Call `call`'s arrival (with a caller number of its own), or its hang-up.
  void Send(int64_t call, bool arrival) {
    v1::GatewayMessage msg;
    v1::CallEvent* event = msg.mutable_event();
    event->set_event_id("e" + std::to_string(next_event_++));
    event->set_call_id("k" + std::to_string(call));
    if (arrival) {
      v1::CallArrived* a = event->mutable_arrived();
      a->set_caller_number("09" + std::to_string(10'000'000 + call));
      a->set_province("01");
      a->set_language("vi");
      a->set_topic(v1::TOPIC_COUNSELLING);
      a->set_priority(v1::PRIORITY_NORMAL);
    } else {
      event->mutable_caller_hung_up();
    }
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return in_flight_ < kWindow; });
      ++in_flight_;
    }
    if (!stream_->Write(msg)) {
      std::fprintf(stderr, "memory_bench: the gateway stream broke\n");
      std::exit(1);
    }
  }

  void WaitForAcks() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
  }

 private:
  static std::unique_ptr<grpc::ClientReaderWriter<v1::GatewayMessage, v1::HotlineMessage>> Open(
      const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& ctx) {
    ctx.AddMetadata("authorization", std::string("Bearer ") + bench::BenchDaemon::kGatewayToken);
    return v1::GatewayService::NewStub(channel)->Connect(&ctx);
  }

  static constexpr int kWindow = 256;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::GatewayMessage, v1::HotlineMessage>> stream_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;  // Guarded by mu_.
  int64_t next_event_ = 0;
  std::thread reader_;
};

// The resident set once the daemon has settled: its last commit's buffers, and a snapshot's
// copies (one every 10,000 journal records, encoded by the writer after the acks it covers may
// have gone), returned. Read every 100 ms from half a second after the last ack until two reads
// agree within 1 MB, for at most 10 s: one read at half a second caught a snapshot in flight in
// about one run in four at 80,000 waiting calls (2,608 bytes a call instead of 967).
int64_t Settled(pid_t pid) {
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int64_t last = ResidentBytes(pid);
  for (int i = 0; i < 95; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int64_t now = ResidentBytes(pid);
    if (std::abs(now - last) < 1'000'000) {
      return now;
    }
    last = now;
  }
  return last;
}

// The largest resident set while it runs, read every 20 ms: what a step costs at its peak
// (snapshots of the live calls included), which the settled figures do not show.
class PeakWatch {
 public:
  explicit PeakWatch(pid_t pid)
      : thread_([this, pid] {
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, std::chrono::milliseconds(20), [this] { return done_; })) {
            peak_ = std::max(peak_, ResidentBytes(pid));
          }
        }) {}
  // Stops watching; the peak seen.
  int64_t Stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    thread_.join();
    return peak_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  int64_t peak_ = 0;
  std::thread thread_;
};

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int port_pipe[2];
  int control_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(control_pipe) != 0) {
    std::perror("memory_bench: pipe");
    return 1;
  }
  const pid_t child = fork();
  if (child < 0) {
    std::perror("memory_bench: fork");
    return 1;
  }
  if (child == 0) {
    close(port_pipe[0]);
    close(control_pipe[1]);
    RunDaemon(port_pipe[1], control_pipe[0]);
  }
  close(port_pipe[1]);
  close(control_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) {
    std::fprintf(stderr, "memory_bench: the daemon did not start\n");
    return 1;
  }
  double per_counsellor = 0, per_finished = 0, per_waiting = 0, peak_per_waiting = 0;
  int64_t start = 0, end = 0, peak = 0;
  {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    Gateway gateway(channel);
    start = Settled(child);

    bench::Desks desks(channel, bench::BenchDaemon::kAdminToken, flags.counsellors, nullptr);
    const int64_t signed_in = Settled(child);
    per_counsellor = static_cast<double>(signed_in - start) / flags.counsellors;
    desks.SetPresence(v1::COUNSELLOR_STATE_BREAK);
    const int64_t on_break = Settled(child);

    for (int64_t k = 0; k < flags.calls; ++k) {
      gateway.Send(k, true);
      gateway.Send(k, false);
    }
    gateway.WaitForAcks();
    const int64_t finished = Settled(child);
    per_finished = static_cast<double>(finished - on_break) / flags.calls;

    PeakWatch watch(child);
    for (int64_t k = flags.calls; k < 2 * flags.calls; ++k) {
      gateway.Send(k, true);
    }
    gateway.WaitForAcks();
    end = Settled(child);
    peak = watch.Stop();
    per_waiting = static_cast<double>(end - finished) / flags.calls;
    peak_per_waiting = static_cast<double>(peak - finished) / flags.calls;
  }
  close(control_pipe[1]);
  int status = 0;
  waitpid(child, &status, 0);

  std::printf("memory_bench: daemon resident set %.1f MB at start, %.1f MB at the end\n",
              static_cast<double>(start) / 1e6, static_cast<double>(end) / 1e6);
  std::printf("  per signed-in counsellor (%d, desk stream open): %.0f bytes\n", flags.counsellors,
              per_counsellor);
  std::printf("  per finished call remembered (%d):            %.0f bytes\n", flags.calls,
              per_finished);
  std::printf("  per waiting call (%d):                         %.0f bytes\n", flags.calls,
              per_waiting);
  std::printf(
      "  at the peak while they arrived:                %.0f bytes a call (%.1f MB; "
      "snapshots copy the live calls)\n",
      peak_per_waiting, static_cast<double>(peak) / 1e6);
  if (!flags.json.empty()) {
    std::ofstream out(flags.json);
    out << "{\"counsellors\": " << flags.counsellors << ", \"calls\": " << flags.calls
        << ", \"rss_start_bytes\": " << start << ", \"rss_end_bytes\": " << end
        << ", \"bytes_per_counsellor\": " << per_counsellor
        << ", \"bytes_per_finished_call\": " << per_finished
        << ", \"bytes_per_waiting_call\": " << per_waiting
        << ", \"rss_peak_waiting_bytes\": " << peak
        << ", \"peak_bytes_per_waiting_call\": " << peak_per_waiting << "}\n";
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

}  // namespace
}  // namespace hotline

int main(int argc, char** argv) { return hotline::Main(argc, argv); }
