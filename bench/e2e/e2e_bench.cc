// The daemon end to end over loopback beside the ceiling, under the same load in the same run.
//
// The ceiling is a no-op gRPC service (hotline/bench/ceiling.proto) over the messages a
// gateway and hotlined exchange: it answers each CallEvent with its EventAck and does nothing
// else. The daemon runs in this process on 127.0.0.1:0 with a temporary database and journaling
// on. One gateway stream sends arrivals and hang-ups (call k arrives, then hangs up) as fast as
// a bounded window of unacknowledged events allows, as a gateway waiting for acks does; then
// the same stream is paced at 25 %, 50 % and 90 % of the rate just measured, and finally
// calls come one at a time after idle gaps (sparse load: the arrival, then once acknowledged
// its hang-up).
//
// Counsellors are signed in on desks of their own (DeskService.Watch over the same channel), all
// AVAILABLE, so every arrival is offered at once to one of them, and the hang-up that follows
// revokes the offer and frees them again.
//
// Run: build/bench/e2e/e2e_bench [--seconds S] [--window W] [--synchronous NORMAL|FULL]
//                                [--sparse N] [--gap-ms MAX] [--desks D] [--json PATH]
//                                [--phases LIST] [--snapshot-every R] [--watchers V]
//                                [--rate E]
//   S seconds per measurement (2), W events in flight (64), N sparse calls (10) with random
//   gaps of 200 ms to MAX ms (1500), D desks signed in (8; 0: none, every call waits until it
//   hangs up). gRPC's idle stalls need gaps over a second: for the long run use --sparse 30
//   --gap-ms 4000 (about two minutes). LIST: which measurements after the max load, comma
//   separated, of 25,50,90,sparse (all); "none" for the max load alone (for profiling). R: the
//   daemon's storage.snapshot_every_records (its default, 10,000), to tell the snapshots' share
//   of the tails from the rest. V: supervisors' live queues open (WatchQueue, 0), each read and
//   discarded on a thread of its own, as the live page a helpline keeps open. E: one more row
//   after the max load, both paced at E events/s whatever the max was: the same load from run
//   to run and binary to binary, so that CPU per event and latency compare (the percentage rows
//   are shares of each run's own maximum, which moves with the machine).
// Under each daemon row, "inside" is what the daemon says of that run: its own metrics (mean
// event-to-ack time, commits and events per commit, engine time per input) and the CPU time of
// its threads (hl-cq, hl-engine, hl-writer) per event acknowledged.
// Two latencies: an event's write to its EventAck's arrival at the gateway (the daemon acks once
// the event is journaled and group-committed), and an arrival's write to its OfferEvent's arrival
// on a desk (the offer is sent by the engine thread before the arrival is committed; the desks'
// sends count in hl-engine's CPU time, no longer in hl-writer's).
#include <dirent.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_clients.h"
#include "bench/bench_daemon.h"
#include "hotline/bench/ceiling.grpc.pb.h"
#include "hotline/v1/gateway.grpc.pb.h"

namespace hotline {
namespace {

namespace v1 = ::hotline::v1;
using Clock = std::chrono::steady_clock;
using Stream = grpc::ClientReaderWriter<v1::GatewayMessage, v1::HotlineMessage>;

struct Flags {
  double seconds = 2.0;
  int window = 64;
  std::string synchronous = "NORMAL";
  int sparse = 10;
  int gap_ms = 1'500;
  int desks = 8;
  std::string json;
  std::string phases = "25,50,90,sparse";
  int64_t snapshot_every = 0;  // 0: the daemon's default.
  int watchers = 0;
  double rate = 0;  // 0: no fixed-rate row.
  bool Runs(const std::string& phase) const {
    return ("," + phases + ",").find("," + phase + ",") != std::string::npos;
  }
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    const std::string value = argv[i + 1];
    if (name == "--seconds") {
      f.seconds = std::max(0.2, std::atof(value.c_str()));
    } else if (name == "--window") {
      f.window = std::max(1, std::atoi(value.c_str()));
    } else if (name == "--synchronous") {
      f.synchronous = value;
    } else if (name == "--sparse") {
      f.sparse = std::max(1, std::atoi(value.c_str()));
    } else if (name == "--gap-ms") {
      f.gap_ms = std::max(200, std::atoi(value.c_str()));
    } else if (name == "--desks") {
      f.desks = std::max(0, std::atoi(value.c_str()));
    } else if (name == "--json") {
      f.json = value;
    } else if (name == "--phases") {
      f.phases = value;
    } else if (name == "--rate") {
      f.rate = std::max(0.0, std::atof(value.c_str()));
    } else if (name == "--watchers") {
      f.watchers = std::max(0, std::atoi(value.c_str()));
    } else if (name == "--snapshot-every") {
      f.snapshot_every = std::max<int64_t>(1, std::atoll(value.c_str()));
    } else {
      std::fprintf(stderr, "e2e_bench: unknown flag %s\n", name.c_str());
      std::exit(2);
    }
  }
  return f;
}

// The ceiling: nothing but gRPC. Sync API, one thread per stream, which is all a single
// gateway stream needs.
class Ceiling final : public bench::CeilingService::Service {
 public:
  grpc::Status Unary(grpc::ServerContext*, const v1::GatewayMessage*,
                     v1::HotlineMessage*) override {
    return grpc::Status::OK;
  }

  grpc::Status Connect(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::HotlineMessage, v1::GatewayMessage>* stream) override {
    v1::GatewayMessage in;
    v1::HotlineMessage out;
    while (stream->Read(&in)) {
      if (in.has_event()) {
        out.mutable_ack()->set_event_id(in.event().event_id());
        if (!stream->Write(out)) {
          break;
        }
      }
    }
    return grpc::Status::OK;
  }
};

// Event n of a run: call n/2 arrives (even n) or hangs up (odd n). The event id carries n so
// that an ack finds its send time.
v1::GatewayMessage EventNumber(int64_t n) {
  v1::GatewayMessage msg;
  v1::CallEvent* event = msg.mutable_event();
  event->set_event_id("e" + std::to_string(n));
  event->set_call_id("k" + std::to_string(n / 2));
  if (n % 2 == 0) {
    v1::CallArrived* a = event->mutable_arrived();
    a->set_caller_number("09" + std::to_string(10'000'000 + n / 2 % 90'000'000));
    a->set_province("01");
    a->set_language("vi");
    a->set_topic(v1::TOPIC_COUNSELLING);
    a->set_priority(v1::PRIORITY_NORMAL);
  } else {
    event->mutable_caller_hung_up();
  }
  return msg;
}

struct Figures {
  double events_per_second = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  int64_t events = 0;
  // Arrival written -> OfferEvent read on a desk, for the arrivals offered.
  double offer_p50_ms = 0, offer_p99_ms = 0, offer_p999_ms = 0, offer_max_ms = 0;
  int64_t offers = 0;
};

// The quantiles of `samples` (sorted here) into the fields given.
void Quantiles(std::vector<std::chrono::steady_clock::duration> samples, double& p50, double& p99,
               double& p999, double& max) {
  std::sort(samples.begin(), samples.end());
  if (samples.empty()) {
    return;
  }
  auto ms = [&](double q) {
    const auto i = std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
    return std::chrono::duration<double, std::milli>(samples[i]).count();
  };
  p50 = ms(0.50);
  p99 = ms(0.99);
  p999 = ms(0.999);
  max = std::chrono::duration<double, std::milli>(samples.back()).count();
}

// What the daemon says of itself: its metrics' sums and counts (GET /metrics) and the CPU time
// of its named threads (/proc/self/task: the daemon runs in this process).
struct Inside {
  std::map<std::string, double> metric;  // "<name>_sum" and "<name>_count" of three histograms.
  std::map<std::string, double> cpu_s;   // By thread name, hl-* only.
};

Inside ReadInside(int http_port) {
  Inside in;
  httplib::Client client("127.0.0.1", http_port);
  if (auto res = client.Get("/metrics"); res && res->status == 200) {
    std::istringstream lines(res->body);
    std::string line;
    while (std::getline(lines, line)) {
      for (const char* name :
           {"hotline_event_ack_seconds", "hotline_decision_seconds",
            "hotline_journal_commit_seconds", "hotline_wal_checkpoint_seconds"}) {
        for (const char* part : {"_sum ", "_count "}) {
          const std::string key = std::string(name) + part;
          if (line.rfind(key, 0) == 0) {
            in.metric[key.substr(0, key.size() - 1)] = std::atof(line.c_str() + key.size());
          }
        }
      }
    }
  }
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] == '.') {
        continue;
      }
      const std::string task = std::string("/proc/self/task/") + entry->d_name;
      std::string comm;
      std::getline(std::ifstream(task + "/comm"), comm);
      if (comm.rfind("hl-", 0) != 0) {
        continue;
      }
      std::string stat;
      std::getline(std::ifstream(task + "/stat"), stat);
      // Fields after the ")" that ends the name: state is field 3, utime 14, stime 15.
      std::istringstream fields(stat.substr(stat.rfind(')') + 2));
      std::string field;
      double ticks = 0;
      for (int i = 3; i <= 15 && fields >> field; ++i) {
        if (i >= 14) {
          ticks += std::atof(field.c_str());
        }
      }
      in.cpu_s[comm] += ticks / tick;
    }
    closedir(dir);
  }
  return in;
}

// One line on what changed inside the daemon between two readings.
std::string DescribeInside(const Inside& before, const Inside& after) {
  auto delta = [&](const std::string& key) {
    auto at = [&](const Inside& in) {
      auto it = in.metric.find(key);
      return it == in.metric.end() ? 0.0 : it->second;
    };
    return at(after) - at(before);
  };
  const double acks = delta("hotline_event_ack_seconds_count");
  const double commits = delta("hotline_journal_commit_seconds_count");
  const double inputs = delta("hotline_decision_seconds_count");
  const double checkpoints = delta("hotline_wal_checkpoint_seconds_count");
  if (acks <= 0) {
    return "inside: no acks counted";
  }
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "inside: ack mean %.2f ms; %.0f commits, %.1f events and %.2f ms each; %.0f WAL "
      "checkpoints, %.2f ms each; engine %.1f us/input;",
      1e3 * delta("hotline_event_ack_seconds_sum") / acks, commits,
      commits > 0 ? acks / commits : 0.0,
      commits > 0 ? 1e3 * delta("hotline_journal_commit_seconds_sum") / commits : 0.0, checkpoints,
      checkpoints > 0 ? 1e3 * delta("hotline_wal_checkpoint_seconds_sum") / checkpoints : 0.0,
      inputs > 0 ? 1e6 * delta("hotline_decision_seconds_sum") / inputs : 0.0);
  std::string out = buf;
  std::string cpu = " CPU us/event:";
  double all = 0;
  for (const auto& [name, seconds] : after.cpu_s) {
    auto was = before.cpu_s.find(name);
    const double used = seconds - (was == before.cpu_s.end() ? 0.0 : was->second);
    all += used;
    std::snprintf(buf, sizeof buf, " %s %.1f", name.c_str() + 3, 1e6 * used / acks);
    cpu += buf;
  }
  // The kernel counts CPU time in 10 ms ticks: a few ticks say nothing per event.
  if (all < 0.2) {
    return out + " CPU: too little to count per event";
  }
  std::snprintf(buf, sizeof buf, " (all %.1f)", 1e6 * all / acks);
  return out + cpu + buf;
}

// One gateway stream with at most `window` events unacknowledged. A reader thread takes acks
// (ignoring the daemon's commands) and reopens the window.
//
// Thread-safety: Run from one thread at a time; the reader thread is internal.
class WindowedGateway {
 public:
  WindowedGateway(std::unique_ptr<grpc::ClientContext> ctx, std::unique_ptr<Stream> stream,
                  int window)
      : ctx_(std::move(ctx)), stream_(std::move(stream)), window_(window) {
    reader_ = std::thread([this] { ReadAcks(); });
  }
  WindowedGateway(const WindowedGateway&) = delete;
  WindowedGateway& operator=(const WindowedGateway&) = delete;
  ~WindowedGateway() {
    ctx_->TryCancel();
    reader_.join();
  }

  // Sends for `seconds`, paced at `rate` events/s (0: as fast as the window allows), waits for
  // the last ack and returns the rate acknowledged and the write-to-ack latencies.
  Figures Run(double seconds, double rate) {
    const int64_t first = next_;
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration<double>(seconds);
    for (int64_t i = 0; Clock::now() < end; ++i) {
      if (rate > 0) {
        std::this_thread::sleep_until(start + std::chrono::duration<double>(i / rate));
      }
      if (!Send()) {
        break;
      }
    }
    WaitForAcks();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    return Summarise(first, elapsed);
  }

  // One call after another, `gaps` apart: its arrival, then once acknowledged (and offered, when
  // `offered` is set) its hang-up. The latency of each event.
  Figures Sparse(const std::vector<std::chrono::milliseconds>& gaps, bool offered) {
    if (next_ % 2 != 0) {
      Send();  // The hang-up of the last call: sparse calls start with an arrival.
      WaitForAcks();
    }
    const int64_t first = next_;
    for (const auto gap : gaps) {
      std::this_thread::sleep_for(gap);
      const int64_t arrival = next_;
      Send();
      WaitForAcks();
      if (offered) {
        WaitForOffer(arrival);
      }
      Send();
      WaitForAcks();
    }
    return Summarise(first, 0);
  }

  // A desk read the offer of call `call_id` ("k<m>": event 2m's arrival).
  void OfferSeen(const std::string& call_id) {
    const auto now = Clock::now();
    if (call_id.size() < 2 || call_id[0] != 'k') {
      return;
    }
    const auto n = static_cast<size_t>(2 * std::atoll(call_id.c_str() + 1));
    std::lock_guard lock(mu_);
    if (n < sent_at_.size() && offer_latency_[n] < Clock::duration::zero()) {
      offer_latency_[n] = now - sent_at_[n];
      open_.notify_all();
    }
  }

 private:
  void WaitForAcks() {
    std::unique_lock lock(mu_);
    open_.wait(lock, [&] { return in_flight_ == 0 || broken_; });
  }

  void WaitForOffer(int64_t n) {
    std::unique_lock lock(mu_);
    // A second is far beyond any offer; past it the call counts as not offered.
    open_.wait_for(lock, std::chrono::seconds(1), [&] {
      return offer_latency_[static_cast<size_t>(n)] >= Clock::duration::zero() || broken_;
    });
  }

  bool Send() {
    {
      std::unique_lock lock(mu_);
      open_.wait(lock, [&] { return in_flight_ < window_ || broken_; });
      if (broken_) {
        return false;
      }
      ++in_flight_;
      sent_at_.push_back(Clock::now());
      latency_.emplace_back();
      offer_latency_.push_back(Clock::duration(-1));
    }
    return stream_->Write(EventNumber(next_++));
  }

  void ReadAcks() {
    v1::HotlineMessage in;
    while (stream_->Read(&in)) {
      if (!in.has_ack()) {
        continue;  // Announcements for the waiting calls: a gateway would play them.
      }
      const auto now = Clock::now();
      const auto n = static_cast<size_t>(std::atoll(in.ack().event_id().c_str() + 1));
      std::lock_guard lock(mu_);
      latency_[n] = now - sent_at_[n];
      --in_flight_;
      open_.notify_all();
    }
    std::lock_guard lock(mu_);
    broken_ = true;
    open_.notify_all();
  }

  Figures Summarise(int64_t first, double elapsed) {
    std::lock_guard lock(mu_);
    std::vector<Clock::duration> samples(latency_.begin() + first, latency_.end());
    std::vector<Clock::duration> offers;
    for (auto it = offer_latency_.begin() + first; it != offer_latency_.end(); ++it) {
      if (*it >= Clock::duration::zero()) {
        offers.push_back(*it);
      }
    }
    Figures f;
    f.events = static_cast<int64_t>(samples.size());
    f.offers = static_cast<int64_t>(offers.size());
    f.events_per_second = elapsed > 0 ? static_cast<double>(f.events) / elapsed : 0;
    Quantiles(std::move(samples), f.p50_ms, f.p99_ms, f.p999_ms, f.max_ms);
    Quantiles(std::move(offers), f.offer_p50_ms, f.offer_p99_ms, f.offer_p999_ms, f.offer_max_ms);
    return f;
  }

  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<Stream> stream_;
  const int window_;
  int64_t next_ = 0;  // Only the thread calling Run writes it.
  std::mutex mu_;
  std::condition_variable open_;
  int in_flight_ = 0;                       // Guarded by mu_.
  bool broken_ = false;                     // Guarded by mu_.
  std::vector<Clock::time_point> sent_at_;  // Guarded by mu_; indexed by event number.
  std::vector<Clock::duration> latency_;    // Guarded by mu_; indexed by event number.
  // Guarded by mu_; by event number, negative until the arrival's offer is read.
  std::vector<Clock::duration> offer_latency_;
  std::thread reader_;
};

std::unique_ptr<WindowedGateway> OpenDaemonStream(const std::shared_ptr<grpc::Channel>& channel,
                                                  int window) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer g");
  auto stream = v1::GatewayService::NewStub(channel)->Connect(ctx.get());
  v1::GatewayMessage hello;
  hello.mutable_hello()->set_gateway_id("bench");
  v1::HotlineMessage in;
  if (!stream->Write(hello) || !stream->Read(&in) || !in.has_welcome()) {
    std::fprintf(stderr, "e2e_bench: the daemon did not welcome the gateway\n");
    std::exit(1);
  }
  return std::make_unique<WindowedGateway>(std::move(ctx), std::move(stream), window);
}

std::unique_ptr<WindowedGateway> OpenCeilingStream(const std::shared_ptr<grpc::Channel>& channel,
                                                   int window) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  auto stream = bench::CeilingService::NewStub(channel)->Connect(ctx.get());
  return std::make_unique<WindowedGateway>(std::move(ctx), std::move(stream), window);
}

// Unary calls one at a time for `seconds`: calls per second.
double UnaryRate(const std::shared_ptr<grpc::Channel>& channel, double seconds) {
  auto stub = bench::CeilingService::NewStub(channel);
  const v1::GatewayMessage request = EventNumber(0);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  int64_t calls = 0;
  while (Clock::now() < end) {
    grpc::ClientContext ctx;
    v1::HotlineMessage reply;
    if (!stub->Unary(&ctx, request, &reply).ok()) {
      std::abort();
    }
    ++calls;
  }
  return static_cast<double>(calls) / std::chrono::duration<double>(Clock::now() - start).count();
}

std::shared_ptr<grpc::Channel> Loopback(int port) {
  // A channel of its own per server: the two never share a connection.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials(), args);
}

struct Row {
  std::string key;
  std::string label;
  Figures daemon;
  Figures ceiling;
  std::string inside;
};

void PrintRow(const Row& r) {
  std::printf(
      "%-26s daemon %9.0f ev/s p50 %6.2f p99 %6.2f p99.9 %6.2f max %6.2f ms | "
      "ceiling %9.0f ev/s p50 %6.2f p99 %6.2f ms\n",
      r.label.c_str(), r.daemon.events_per_second, r.daemon.p50_ms, r.daemon.p99_ms,
      r.daemon.p999_ms, r.daemon.max_ms, r.ceiling.events_per_second, r.ceiling.p50_ms,
      r.ceiling.p99_ms);
  if (r.daemon.offers > 0) {
    std::printf("%-26s arrival -> offer on a desk (%lld offers): p50 %6.2f p99 %6.2f p99.9 %6.2f "
                "max %6.2f ms\n",
                "", static_cast<long long>(r.daemon.offers), r.daemon.offer_p50_ms,
                r.daemon.offer_p99_ms, r.daemon.offer_p999_ms, r.daemon.offer_max_ms);
  }
  if (!r.inside.empty()) {
    std::printf("%-26s %s\n", "", r.inside.c_str());
  }
}

std::string Json(const Figures& f) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"events_per_second\": %.1f, \"events\": %lld, \"p50_ms\": %.3f, "
                "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, \"offers\": %lld, "
                "\"offer_p50_ms\": %.3f, \"offer_p99_ms\": %.3f, \"offer_p999_ms\": %.3f, "
                "\"offer_max_ms\": %.3f}",
                f.events_per_second, static_cast<long long>(f.events), f.p50_ms, f.p99_ms,
                f.p999_ms, f.max_ms, static_cast<long long>(f.offers), f.offer_p50_ms,
                f.offer_p99_ms, f.offer_p999_ms, f.offer_max_ms);
  return buf;
}

void WriteJson(const Flags& flags, const std::vector<Row>& rows, double unary, double ratio) {
  std::ofstream out(flags.json);
  out << "{\n  \"synchronous\": \"" << flags.synchronous << "\",\n  \"window\": " << flags.window
      << ",\n  \"desks\": " << flags.desks << ",\n  \"watchers\": " << flags.watchers
      << ",\n  \"seconds_per_measurement\": " << flags.seconds
      << ",\n  \"ceiling_unary_calls_per_second\": " << unary
      << ",\n  \"e2e_ratio_to_ceiling\": " << ratio << ",\n  \"rows\": {\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    out << "    \"" << rows[i].key << "\": {\"label\": \"" << rows[i].label
        << "\", \"daemon\": " << Json(rows[i].daemon) << ", \"ceiling\": " << Json(rows[i].ceiling)
        << ", \"inside\": \"" << rows[i].inside << "\"}" << (i + 1 < rows.size() ? ",\n" : "\n");
  }
  out << "  }\n}\n";
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // Lines appear as measured, piped or not.
  bench::BenchDaemon hotlined(flags.synchronous, [&flags](daemon::Config& config) {
    if (flags.snapshot_every > 0) {
      config.snapshot_every_records = flags.snapshot_every;
    }
  });
  const int http_port = hotlined.daemon().http_port();
  // Runs `measure` on the daemon and says what happened inside it meanwhile.
  auto daemon_run = [http_port](std::string& inside, const auto& measure) {
    const Inside before = ReadInside(http_port);
    Figures f = measure();
    inside = DescribeInside(before, ReadInside(http_port));
    return f;
  };

  Ceiling ceiling;
  int ceiling_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &ceiling_port);
  builder.RegisterService(&ceiling);
  auto ceiling_server = builder.BuildAndStart();

  auto daemon_channel = Loopback(hotlined.daemon().grpc_port());
  auto ceiling_channel = Loopback(ceiling_port);
  auto to_daemon = OpenDaemonStream(daemon_channel, flags.window);
  auto to_ceiling = OpenCeilingStream(ceiling_channel, flags.window);
  WindowedGateway* gateway = to_daemon.get();
  auto desks = std::make_unique<bench::Desks>(
      daemon_channel, bench::BenchDaemon::kAdminToken, flags.desks,
      [gateway](const v1::DeskEvent& e) {
        if (e.has_offer()) {
          gateway->OfferSeen(e.offer().call().call_id());
        }
      });
  auto watchers = std::make_unique<bench::Watchers>(
      daemon_channel, bench::BenchDaemon::kSupervisorToken, flags.watchers);
  std::printf(
      "e2e_bench: synchronous=%s, window %d, %.1f s per measurement, %d desks, %d watchers\n",
      flags.synchronous.c_str(), flags.window, flags.seconds, flags.desks, flags.watchers);

  const double unary = UnaryRate(ceiling_channel, flags.seconds);
  std::printf("%-26s ceiling %9.0f calls/s (one at a time)\n", "unary", unary);

  std::vector<Row> rows;
  Row max{"max", "max load (window)", {}, {}, {}};
  max.daemon = daemon_run(max.inside, [&] { return to_daemon->Run(flags.seconds, 0); });
  max.ceiling = to_ceiling->Run(flags.seconds, 0);
  PrintRow(max);
  rows.push_back(max);

  const double ratio = max.daemon.events_per_second / max.ceiling.events_per_second;
  // Both paced at the same share of the daemon's maximum: the same load on each.
  for (const int percent : {25, 50, 90}) {
    if (!flags.Runs(std::to_string(percent))) {
      continue;
    }
    const double rate = max.daemon.events_per_second * percent / 100.0;
    Row r{"load_" + std::to_string(percent), std::to_string(percent) + " % of daemon max", {},
          {}, {}};
    r.daemon = daemon_run(r.inside, [&] { return to_daemon->Run(flags.seconds, rate); });
    r.ceiling = to_ceiling->Run(flags.seconds, rate);
    PrintRow(r);
    rows.push_back(r);
  }
  if (flags.rate > 0) {
    const std::string events = std::to_string(static_cast<int64_t>(flags.rate));
    Row r{"rate_" + events, events + " events/s", {}, {}, {}};
    r.daemon = daemon_run(r.inside, [&] { return to_daemon->Run(flags.seconds, flags.rate); });
    r.ceiling = to_ceiling->Run(flags.seconds, flags.rate);
    PrintRow(r);
    rows.push_back(r);
  }
  if (flags.Runs("sparse")) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> gap_ms(200, flags.gap_ms);
    std::vector<std::chrono::milliseconds> gaps;
    for (int i = 0; i < flags.sparse; ++i) {
      gaps.emplace_back(gap_ms(rng));
    }
    Row sparse{"sparse", "sparse (0.2-" + std::to_string(flags.gap_ms) + " ms gaps)", {}, {}, {}};
    sparse.daemon =
        daemon_run(sparse.inside, [&] { return to_daemon->Sparse(gaps, flags.desks > 0); });
    sparse.ceiling = to_ceiling->Sparse(gaps, false);
    PrintRow(sparse);
    rows.push_back(sparse);
  }
  std::printf("e2e_ratio_to_ceiling %.3f\n", ratio);
  if (!flags.json.empty()) {
    WriteJson(flags, rows, unary, ratio);
  }

  watchers.reset();
  desks.reset();
  to_daemon.reset();
  to_ceiling.reset();
  ceiling_server->Shutdown();
  return 0;
}

}  // namespace
}  // namespace hotline

int main(int argc, char** argv) { return hotline::Main(argc, argv); }
