// crash_test: the real `hotlined` under load, killed with SIGKILL at random moments and restarted
// on the same database, several times per run. Afterwards every call whose arrival was
// acknowledged must be either recorded in `calls` with one outcome or still live in the queue,
// waiting calls in the order they arrived, and nothing may be duplicated (DESIGN.md §4 "Journal
// first", §6 "A crash, a kill -9 ... loses no acknowledged event").
//
// The pieces, each on its own threads:
//   DaemonProcess  starts hotlined as a child, reads its "hotlined ready:" line, kills it.
//   Gateway        one gateway stream: streams call arrivals, answers commands like a real
//                  gateway, keeps every unacknowledged event and resends it with the same
//                  event_id after each reconnect, and lists the calls it holds in each Hello.
//   Desk           one counsellor's desk: Watch, go AVAILABLE, answer offers, record outcomes.
//   Checker        reads `calls` (read-only SQLite) and the supervisor's QueueView.
// main() runs the killer: it kills and restarts the daemon at seeded moments, then lets the
// load settle and checks. Every random choice comes from std::mt19937 seeded by --seed, which
// is printed at the start and on failure; thread timing still varies from run to run.
//
// Caller numbers are generated here and never printed: output names calls by call id only.
//
// Exit status: 0 when nothing acknowledged was lost, nothing was duplicated and the waiting calls
// are in arrival order; 1 otherwise (or when the run could not be set up); 2 for bad flags.
#include <SQLiteCpp/SQLiteCpp.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hotline/v1/admin.grpc.pb.h"
#include "hotline/v1/desk.grpc.pb.h"
#include "hotline/v1/gateway.grpc.pb.h"
#include "hotline/v1/supervisor.grpc.pb.h"

namespace hotline::crash {
namespace {

namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// The development tokens of deploy/hotline.toml.
constexpr const char* kGatewayToken = "dev-gateway-token";
constexpr const char* kSupervisorToken = "dev-supervisor-token";
constexpr const char* kAdminToken = "dev-admin-token";

constexpr const char* kGatewayId = "crash-gw";
constexpr const char* kProvince = "38";
constexpr int kCounsellors = 3;

// How long arrivals keep coming, whatever --calls is: the rate follows from it.
constexpr Millis kLoadDuration = 25s;
// How long hotlined may take to print its ready line.
constexpr Millis kReadyDeadline = 30s;
// After the last restart: how long every event may take to be acknowledged, and then how long
// every acknowledged call may take to show up recorded or live.
constexpr Millis kSettleDeadline = 30s;
// A failing check that has not changed for this long will not change: stop waiting early.
constexpr Millis kStableFailure = 5s;
constexpr Millis kPollInterval = 200ms;
// A restarted daemon serves at least this long before the next kill, so clients reconnect and
// acknowledged calls pile up in it.
constexpr Millis kMinUptime = 1500ms;
// Every unary call and the supervisor's first view get this long.
constexpr Millis kRpcDeadline = 3s;

// --- Output. ---

const SteadyClock::time_point kStart = SteadyClock::now();
std::mutex output_mutex;
bool verbose = false;

// One line on stdout, stamped with the seconds since the start.
template <class... Args>
void Say(const Args&... args) {
  std::ostringstream line;
  line << "[" << std::fixed << std::setprecision(3)
       << std::chrono::duration<double>(SteadyClock::now() - kStart).count() << "s] ";
  (line << ... << args);
  std::lock_guard lock(output_mutex);
  std::cout << line.str() << std::endl;
}

// Only with --verbose: the expected noise of a run (refused requests after a restart, ...).
template <class... Args>
void Debug(const Args&... args) {
  if (verbose) {
    Say(args...);
  }
}

std::string CodeName(int code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) {
    return kNames[code];
  }
  return "code " + std::to_string(code);
}

const char* CommandName(const v1::Command& c) {
  switch (c.kind_case()) {
    case v1::Command::kConnect:
      return "connect";
    case v1::Command::kAnnounce:
      return "announce";
    case v1::Command::kOfferCallback:
      return "offer callback";
    case v1::Command::kReject:
      return "reject";
    case v1::Command::KIND_NOT_SET:
      break;
  }
  return "unknown";
}

std::string Describe(const grpc::Status& s) {
  return CodeName(s.error_code()) + ": " + s.error_message();
}

// --- Small plumbing. ---

google::protobuf::Timestamp WallNow() {
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  google::protobuf::Timestamp t;
  t.set_seconds(ns / 1'000'000'000);
  t.set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  return t;
}

void Authorize(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", "Bearer " + token);
}

void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
}

// Uniform integer in [lo, hi].
int Uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

// A stop flag that sleeping threads wake up for.
class StopFlag {
 public:
  void Set() {
    {
      std::lock_guard lock(mu_);
      set_ = true;
    }
    cv_.notify_all();
  }
  bool IsSet() const {
    std::lock_guard lock(mu_);
    return set_;
  }
  // Sleeps for `d` or until Set; returns false when set.
  bool SleepFor(Millis d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return set_; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Where the daemon listens now. The killer re-points it after every restart; clients read it
// each time they (re)connect. Thread-safe.
class Target {
 public:
  void Set(std::string address) {
    std::lock_guard lock(mu_);
    address_ = std::move(address);
  }
  std::string address() const {
    std::lock_guard lock(mu_);
    return address_;
  }
  std::shared_ptr<grpc::Channel> NewChannel() const {
    return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  }

 private:
  mutable std::mutex mu_;
  std::string address_;
};

// Runs tasks at given times on its own thread, in time order (ties in the order added). Tasks
// run one at a time. Thread-safe.
class Scheduler {
 public:
  Scheduler() : thread_([this] { Loop(); }) {}
  ~Scheduler() { Stop(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void At(SteadyClock::time_point when, std::function<void()> task) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) {
        return;
      }
      tasks_.emplace(when, std::move(task));
    }
    cv_.notify_all();
  }

  // Drops what is pending and joins the thread. Not from inside a task.
  void Stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      tasks_.clear();
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  void Loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (tasks_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto first = tasks_.begin();
      if (first->first > SteadyClock::now()) {
        // A copy: Stop() may free the task while this waits (ASan caught the reference).
        const SteadyClock::time_point when = first->first;
        cv_.wait_until(lock, when);
        continue;
      }
      std::function<void()> task = std::move(first->second);
      tasks_.erase(first);
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<SteadyClock::time_point, std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // Last: starts once the members it reads exist.
};

// --- The daemon as a child process. ---

// hotlined started with the shipped config on loopback ports chosen by the OS and a database in
// the run's directory. Its stdout and stderr go, through a pipe drained by a thread, to
// DIR/hotlined.log (appended across restarts). Only the main thread calls Start/Kill/Stop: the
// child is told to die with the thread that forked it (PR_SET_PDEATHSIG), so a crash_test that
// is itself killed leaves no daemon behind.
class DaemonProcess {
 public:
  DaemonProcess(std::string hotlined, std::string config, std::filesystem::path dir)
      : hotlined_(std::move(hotlined)), config_(std::move(config)), dir_(std::move(dir)) {}
  ~DaemonProcess() {
    if (pid_ > 0) {
      Kill();
    }
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts hotlined and waits for its ready line. Returns false (and says why) when it could
  // not start or did not become ready within kReadyDeadline.
  bool Start() {
    ++starts_;
    {
      std::ofstream log(log_path(), std::ios::app);
      log << "=== crash_test: start #" << starts_ << "\n";
    }
    const std::vector<std::string> args = {hotlined_,
                                           "--config",
                                           config_,
                                           "--grpc-listen",
                                           "127.0.0.1:0",
                                           "--http-listen",
                                           "127.0.0.1:0",
                                           "--database",
                                           database_path().string(),
                                           "--caller-key-file",
                                           (dir_ / "caller.key").string(),
                                           "--log-level",
                                           "warn"};
    std::vector<char*> argv;
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      Say("cannot create a pipe: ", std::strerror(errno));
      return false;
    }
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      Say("cannot fork: ", std::strerror(errno));
      close(fds[0]);
      close(fds[1]);
      return false;
    }
    if (pid == 0) {
      // The child: async-signal-safe calls only until exec.
      const int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) {
        dup2(devnull, 0);
      }
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) {
        _exit(127);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    pid_ = pid;
    {
      std::lock_guard lock(mu_);
      ready_ = false;
      eof_ = false;
      grpc_address_.clear();
    }
    drain_ = std::thread([this, fd = fds[0]] { Drain(fd); });

    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kReadyDeadline, [&] { return ready_ || eof_; });
    if (ready_) {
      return true;
    }
    const bool exited = eof_;
    lock.unlock();
    Say("hotlined ", exited ? "exited before it was ready" : "was not ready in time",
        "; the last lines of ", log_path().string(), ":");
    Kill();
    PrintLogTail();
    return false;
  }

  // SIGKILL, then reaps the child.
  void Kill() {
    if (pid_ <= 0) {
      return;
    }
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    drain_.join();
  }

  // SIGTERM, then waits up to `patience` for a clean exit. Returns the exit status (0 is clean),
  // or -1 when it had to be killed.
  int Stop(Millis patience) {
    if (pid_ <= 0) {
      return -1;
    }
    kill(pid_, SIGTERM);
    // A blocking waitpid on its own thread, waited for with a deadline.
    const pid_t pid = pid_;
    auto exited = std::async(std::launch::async, [pid] {
      int status = 0;
      waitpid(pid, &status, 0);
      return status;
    });
    if (exited.wait_for(patience) != std::future_status::ready) {
      Say("hotlined did not exit within ", patience.count(), " ms of SIGTERM; killing it");
      kill(pid, SIGKILL);
      exited.wait();
      pid_ = -1;
      drain_.join();
      return -1;
    }
    const int status = exited.get();
    pid_ = -1;
    drain_.join();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  pid_t pid() const { return pid_; }
  std::string grpc_address() const {
    std::lock_guard lock(mu_);
    return grpc_address_;
  }
  std::filesystem::path database_path() const { return dir_ / "hotline.db"; }
  std::filesystem::path log_path() const { return dir_ / "hotlined.log"; }

 private:
  // Copies the child's output to the log and picks out the ready line. Ends at EOF (the child
  // exited), so the pipe never fills and blocks the daemon's logging.
  void Drain(int fd) {
    std::ofstream log(log_path(), std::ios::app);
    std::string pending;
    char buf[4096];
    while (true) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      log.write(buf, n);
      log.flush();
      pending.append(buf, static_cast<size_t>(n));
      size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        OnLine(pending.substr(0, newline));
        pending.erase(0, newline + 1);
      }
    }
    close(fd);
    {
      std::lock_guard lock(mu_);
      eof_ = true;
    }
    cv_.notify_all();
  }

  // "hotlined ready: grpc=HOST:PORT http=HOST:PORT database=PATH"
  void OnLine(const std::string& line) {
    if (line.rfind("hotlined ready:", 0) != 0) {
      return;
    }
    const size_t at = line.find("grpc=");
    if (at == std::string::npos) {
      return;
    }
    const size_t from = at + 5;
    const size_t to = line.find(' ', from);
    {
      std::lock_guard lock(mu_);
      grpc_address_ = line.substr(from, to == std::string::npos ? std::string::npos : to - from);
      ready_ = true;
    }
    cv_.notify_all();
  }

  void PrintLogTail() const {
    std::ifstream log(log_path());
    std::deque<std::string> tail;
    for (std::string line; std::getline(log, line);) {
      tail.push_back(line);
      if (tail.size() > 15) {
        tail.pop_front();
      }
    }
    for (const auto& line : tail) {
      Say("  | ", line);
    }
  }

  const std::string hotlined_;
  const std::string config_;
  const std::filesystem::path dir_;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::thread drain_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool ready_ = false;  // Guarded by mu_, like the two below.
  bool eof_ = false;
  std::string grpc_address_;
};

// --- The gateway. ---

// What the gateway saw, for the report and the checks.
struct GatewayReport {
  // Calls whose arrival was acknowledged, with their arrival sequence number (1, 2, ...: the
  // order the gateway generated them, sent them and had them acknowledged).
  std::map<std::string, int> acknowledged;
  // Calls whose end (hang-up, end, failure) was acknowledged: the daemon must not bring them back.
  std::set<std::string> ended_acknowledged;
  // Calls the daemon sent a command for after their end had been acknowledged.
  std::set<std::string> commanded_after_end;
  // Calls the daemon told the gateway to connect to a second counsellor while the first one was
  // still talking to the caller, e.g. "crash-call-0007 (crash-c1, then crash-c2)".
  std::vector<std::string> connected_twice;
  // Every call the gateway made, by id, with its sequence number.
  std::map<std::string, int> seq_of;
  int arrivals = 0;
  // Arrivals answered with a code other than OK (and not reconciled): the call is over.
  int refused = 0;
  // Arrivals answered ALREADY_EXISTS after the call had been listed in a Hello: the daemon
  // admitted it from the Hello, which acknowledges it as well.
  int reconciled = 0;
  int events_sent = 0;
  int events_resent = 0;
  int unacked = 0;
  int sessions = 0;
  std::map<std::string, int> finished;  // "ended", "hung up", "timed out", "rejected", ...
};

// One telephony gateway, "crash-gw", over one stream at a time. Generates kLoadDuration's worth
// of arrivals on its scheduler thread; its session thread (re)connects, sends the Hello with the
// calls it holds, resends every unacknowledged event in order, and reads acks and commands.
// Every write to the stream and every change to the model happens under mu_, so events go out
// in the order they were made. Thread-safe.
class Gateway {
 public:
  Gateway(const Target& target, int calls, uint32_t seed)
      : target_(target),
        calls_(calls),
        mean_gap_ms_(static_cast<double>(kLoadDuration.count()) / std::max(calls, 1)),
        rng_(seed) {}
  ~Gateway() { Stop(); }
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void Start() {
    session_thread_ = std::thread([this] { SessionLoop(); });
    scheduler_.At(SteadyClock::now(), [this] { Arrive(); });
  }

  void Stop() {
    stop_.Set();
    scheduler_.Stop();
    {
      std::lock_guard lock(mu_);
      if (live_ctx_ != nullptr) {
        live_ctx_->TryCancel();
      }
    }
    if (session_thread_.joinable()) {
      session_thread_.join();
    }
  }

  // Waits until `n` arrivals have been made (or all of them, or the deadline).
  void WaitForArrivals(int n, SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return next_call_ >= std::min(n, calls_); });
  }

  // Waits until the daemon says anything to this gateway, or `timeout` passes.
  void AwaitNews(Millis timeout) const {
    std::unique_lock lock(mu_);
    const uint64_t heard = heard_;
    cv_.wait_for(lock, timeout, [&] { return heard_ != heard; });
  }

  // Waits until every arrival has been made and every event acknowledged. False at the deadline.
  bool WaitUntilSettled(SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return next_call_ >= calls_ && pending_.empty(); });
  }

  GatewayReport Report() const {
    std::lock_guard lock(mu_);
    GatewayReport r = report_;
    r.unacked = static_cast<int>(pending_.size());
    for (const auto& [id, call] : model_) {
      r.seq_of[id] = call.seq;
    }
    return r;
  }

  // Every caller number it used, digits only (for the disk scan; never printed).
  std::vector<std::string> CallerDigits() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, call] : model_) {
      out.push_back(call.arrived.caller_number().substr(1));
    }
    return out;
  }

  // A one-line picture for the killer's log.
  std::string Brief() const {
    std::lock_guard lock(mu_);
    int held = 0;
    for (const auto& [id, call] : model_) {
      held += call.phase != Phase::kOver ? 1 : 0;
    }
    std::ostringstream os;
    os << "arrivals=" << next_call_ << " acknowledged=" << report_.acknowledged.size()
       << " held=" << held << " unacked=" << pending_.size();
    return os.str();
  }

 private:
  enum class Phase { kWaiting, kTalking, kOver };

  struct Call {
    int seq = 0;
    v1::CallArrived arrived;
    google::protobuf::Timestamp arrived_at;
    Phase phase = Phase::kWaiting;
    std::string counsellor_id;  // Who the caller is talking to (kTalking).
    bool listed_in_hello = false;
  };

  struct Pending {
    v1::CallEvent event;
    bool written = false;  // Written on some stream: the next one resends it.
    bool resent = false;
  };

  using Stream = grpc::ClientReaderWriter<v1::GatewayMessage, v1::HotlineMessage>;

  void SessionLoop() {
    std::mt19937 backoff_rng(rng_());
    while (!stop_.IsSet()) {
      RunSession();
      if (!stop_.SleepFor(Millis(Uniform(backoff_rng, 50, 200)))) {
        return;
      }
    }
  }

  void RunSession() {
    auto stub = v1::GatewayService::NewStub(target_.NewChannel());
    grpc::ClientContext ctx;
    Authorize(ctx, kGatewayToken);
    std::unique_ptr<Stream> stream;
    bool opened = false;
    {
      std::lock_guard lock(mu_);
      if (stop_.IsSet()) {
        return;
      }
      stream = stub->Connect(&ctx);
      live_ctx_ = &ctx;
      // The Hello lists every call still held; then every unacknowledged event, oldest first.
      v1::GatewayMessage hello;
      hello.mutable_hello()->set_gateway_id(kGatewayId);
      for (auto& [id, call] : model_) {
        if (call.phase == Phase::kOver) {
          continue;
        }
        auto* held = hello.mutable_hello()->add_held_calls();
        held->set_call_id(id);
        *held->mutable_arrived() = call.arrived;
        *held->mutable_arrived_at() = call.arrived_at;
        call.listed_in_hello = true;
      }
      bool ok = stream->Write(hello);
      for (auto& [seq, pending] : pending_) {
        if (!ok) {
          break;
        }
        v1::GatewayMessage msg;
        *msg.mutable_event() = pending.event;
        ok = stream->Write(msg);
        if (pending.written) {
          pending.resent = true;
          ++report_.events_resent;
        }
        pending.written = true;
      }
      if (ok) {
        opened = true;
        live_stream_ = stream.get();
        ++report_.sessions;
        Debug("gateway: session ", report_.sessions,
              " open, held=", hello.hello().held_calls_size(),
              " unacked events written=", pending_.size());
      }
    }
    v1::HotlineMessage msg;
    while (opened && stream->Read(&msg)) {
      OnMessage(msg);
    }
    {
      std::lock_guard lock(mu_);
      live_stream_ = nullptr;
      live_ctx_ = nullptr;
    }
    if (!opened) {
      ctx.TryCancel();  // A write failed, so the call is dead: Finish must not wait for it.
    }
    const grpc::Status status = stream->Finish();
    Debug("gateway: stream ended: ", Describe(status));
  }

  void OnMessage(const v1::HotlineMessage& msg) {
    std::lock_guard lock(mu_);
    switch (msg.kind_case()) {
      case v1::HotlineMessage::kAck:
        OnAck(msg.ack());
        break;
      case v1::HotlineMessage::kCommand:
        OnCommand(msg.command());
        break;
      case v1::HotlineMessage::kWelcome:
      case v1::HotlineMessage::KIND_NOT_SET:
        break;
    }
    ++heard_;
    cv_.notify_all();
  }

  // REQUIRES: mu_ held.
  void OnAck(const v1::EventAck& ack) {
    auto index = pending_by_id_.find(ack.event_id());
    if (index == pending_by_id_.end()) {
      return;  // A repeated ack: nothing waits for it.
    }
    auto it = pending_.find(index->second);
    const v1::CallEvent event = it->second.event;
    const bool resent = it->second.resent;
    pending_.erase(it);
    pending_by_id_.erase(index);
    Call& call = model_.at(event.call_id());
    const int code = ack.code();
    switch (event.kind_case()) {
      case v1::CallEvent::kArrived:
        if (code == grpc::StatusCode::OK) {
          report_.acknowledged.emplace(event.call_id(), call.seq);
        } else if (code == grpc::StatusCode::ALREADY_EXISTS && call.listed_in_hello) {
          report_.acknowledged.emplace(event.call_id(), call.seq);
          ++report_.reconciled;
        } else {
          Say("gateway: arrival of ", event.call_id(), resent ? " (resent)" : "",
              " refused: ", CodeName(code), ": ", ack.message());
          ++report_.refused;
          Finish(call, "refused");
        }
        break;
      case v1::CallEvent::kCallerHungUp:
      case v1::CallEvent::kEnded:
      case v1::CallEvent::kFailed:
        if (code == grpc::StatusCode::OK) {
          report_.ended_acknowledged.insert(event.call_id());
        } else {
          Debug("gateway: end of ", event.call_id(), resent ? " (resent)" : "", " answered ",
                CodeName(code), ": ", ack.message());
        }
        break;
      default:
        if (code != grpc::StatusCode::OK) {
          Debug("gateway: event for ", event.call_id(), resent ? " (resent)" : "", " answered ",
                CodeName(code), ": ", ack.message());
        }
        break;
    }
  }

  // Answers a command as a real gateway does. REQUIRES: mu_ held.
  void OnCommand(const v1::Command& command) {
    auto it = model_.find(command.call_id());
    if (it == model_.end()) {
      Say("gateway: command for a call it never made: ", command.call_id());
      Result(command, "unknown call");
      return;
    }
    Call& call = it->second;
    if (report_.ended_acknowledged.count(command.call_id()) > 0) {
      // The daemon acknowledged this call's end, yet acts on it again: it came back to life.
      Say("gateway: a command (", CommandName(command), ") for ", command.call_id(),
          " after its end was acknowledged");
      report_.commanded_after_end.insert(command.call_id());
    }
    switch (command.kind_case()) {
      case v1::Command::kConnect:
        if (call.phase == Phase::kWaiting) {
          call.phase = Phase::kTalking;
          call.counsellor_id = command.connect().counsellor_id();
          Result(command, "");
          SendEvent(command.call_id(), [](v1::CallEvent& e) { e.mutable_connected(); });
          const std::string call_id = command.call_id();
          scheduler_.At(SteadyClock::now() + Millis(Uniform(rng_, 100, 600)),
                        [this, call_id] { EndCall(call_id); });
        } else if (call.phase == Phase::kTalking &&
                   call.counsellor_id == command.connect().counsellor_id()) {
          Result(command, "");  // A repeat after a restart: already bridged.
        } else if (call.phase == Phase::kTalking) {
          Say("gateway: ", command.call_id(), " is talking to ", call.counsellor_id,
              " but the daemon connects it to ", command.connect().counsellor_id());
          report_.connected_twice.push_back(command.call_id() + " (" + call.counsellor_id +
                                            ", then " + command.connect().counsellor_id() + ")");
          Result(command, "the caller is already talking to a counsellor");
        } else {
          Result(command, "the caller is gone");
        }
        break;
      case v1::Command::kAnnounce:
        Result(command, "");
        break;
      case v1::Command::kOfferCallback:
        Result(command, "");
        Finish(call, "timed out");
        break;
      case v1::Command::kReject:
        Result(command, "");
        Finish(call, "rejected");
        break;
      case v1::Command::KIND_NOT_SET:
        Result(command, "unknown command");
        break;
    }
  }

  // Scheduler task: the next caller comes through the menu.
  void Arrive() {
    std::lock_guard lock(mu_);
    if (next_call_ >= calls_) {
      return;
    }
    const int seq = ++next_call_;
    std::ostringstream id;
    id << "crash-call-" << std::setw(4) << std::setfill('0') << seq;
    Call& call = model_[id.str()];
    call.seq = seq;
    std::ostringstream number;
    number << "+849" << std::setw(8) << std::setfill('0') << Uniform(rng_, 0, 99'999'999);
    call.arrived.set_caller_number(number.str());
    call.arrived.set_province(kProvince);
    call.arrived.set_language("vi");
    call.arrived.set_topic(v1::TOPIC_COUNSELLING);
    call.arrived.set_priority(v1::PRIORITY_NORMAL);
    call.arrived_at = WallNow();
    ++report_.arrivals;
    SendEvent(id.str(), [&](v1::CallEvent& e) {
      *e.mutable_arrived() = call.arrived;
      *e.mutable_occurred_at() = call.arrived_at;
    });
    if (Chance(rng_, 0.15)) {
      const std::string call_id = id.str();
      scheduler_.At(SteadyClock::now() + Millis(Uniform(rng_, 300, 4000)),
                    [this, call_id] { HangUp(call_id); });
    }
    const double gap = std::exponential_distribution<double>(1.0 / mean_gap_ms_)(rng_);
    scheduler_.At(SteadyClock::now() + Millis(static_cast<int64_t>(gap)), [this] { Arrive(); });
    cv_.notify_all();
  }

  // Scheduler task: a waiting caller gives up.
  void HangUp(const std::string& call_id) {
    std::lock_guard lock(mu_);
    Call& call = model_.at(call_id);
    if (call.phase != Phase::kWaiting) {
      return;
    }
    SendEvent(call_id, [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    Finish(call, "hung up");
  }

  // Scheduler task: the conversation is over.
  void EndCall(const std::string& call_id) {
    std::lock_guard lock(mu_);
    Call& call = model_.at(call_id);
    if (call.phase != Phase::kTalking) {
      return;
    }
    SendEvent(call_id, [](v1::CallEvent& e) { e.mutable_ended(); });
    Finish(call, "ended");
  }

  // REQUIRES: mu_ held.
  void Finish(Call& call, const std::string& how) {
    if (call.phase != Phase::kOver) {
      call.phase = Phase::kOver;
      ++report_.finished[how];
    }
  }

  // Gives the event the next event id, keeps it until acknowledged, and writes it if a stream
  // is open (otherwise the next session resends it). REQUIRES: mu_ held.
  void SendEvent(const std::string& call_id, const std::function<void(v1::CallEvent&)>& fill) {
    const uint64_t seq = ++next_event_;
    Pending& pending = pending_[seq];
    pending.event.set_event_id("crash-ev-" + std::to_string(seq));
    pending.event.set_call_id(call_id);
    *pending.event.mutable_occurred_at() = WallNow();
    fill(pending.event);
    pending_by_id_[pending.event.event_id()] = seq;
    ++report_.events_sent;
    if (live_stream_ != nullptr) {
      v1::GatewayMessage msg;
      *msg.mutable_event() = pending.event;
      pending.written = true;
      if (!live_stream_->Write(msg)) {
        Debug("gateway: write failed; the next session resends");
      }
    }
  }

  // Writes a CommandResult: done when `error` is empty. REQUIRES: mu_ held.
  void Result(const v1::Command& command, const std::string& error) {
    if (live_stream_ == nullptr) {
      return;
    }
    v1::GatewayMessage msg;
    msg.mutable_command_result()->set_command_id(command.command_id());
    if (error.empty()) {
      msg.mutable_command_result()->mutable_done();
    } else {
      msg.mutable_command_result()->mutable_error()->set_reason(error);
    }
    live_stream_->Write(msg);
  }

  const Target& target_;
  const int calls_;
  const double mean_gap_ms_;
  StopFlag stop_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // Signalled on arrivals and on every daemon message.
  uint64_t heard_ = 0;                  // Daemon messages received.
  std::mt19937 rng_;                    // Guarded by mu_, like everything below.
  std::map<std::string, Call> model_;
  std::map<uint64_t, Pending> pending_;  // By event sequence: the resend order.
  std::map<std::string, uint64_t> pending_by_id_;
  uint64_t next_event_ = 0;
  int next_call_ = 0;
  GatewayReport report_;
  Stream* live_stream_ = nullptr;
  grpc::ClientContext* live_ctx_ = nullptr;

  std::thread session_thread_;
  Scheduler scheduler_;  // Last: destroyed (its thread joined) before what its tasks touch.
};

// --- Desks. ---

struct DeskReport {
  int sessions = 0;
  int offers = 0;
  int accepted = 0;
  int declined = 0;
  int ignored = 0;
  int dispositions = 0;
  std::map<std::string, int> refusals;  // By status code name.
};

// One counsellor's desk: keeps a Watch open (reconnecting with backoff), goes AVAILABLE whenever
// it finds itself OFFLINE or on BREAK, answers offers after a short think (mostly accepting,
// sometimes declining or letting them ring out) and records the outcome at wrap-up. Events are
// handled on the Watch's own thread, one at a time, as a person would. Thread-safe.
class Desk {
 public:
  Desk(const Target& target, std::string counsellor_id, std::string token, uint32_t seed)
      : target_(target), id_(std::move(counsellor_id)), token_(std::move(token)), rng_(seed) {}
  ~Desk() { Stop(); }
  Desk(const Desk&) = delete;
  Desk& operator=(const Desk&) = delete;

  void Start() {
    thread_ = std::thread([this] {
      while (!stop_.IsSet()) {
        RunSession();
        if (!stop_.SleepFor(Millis(Uniform(rng_, 50, 200)))) {
          return;
        }
      }
    });
  }

  void Stop() {
    stop_.Set();
    {
      std::lock_guard lock(mu_);
      if (live_ctx_ != nullptr) {
        live_ctx_->TryCancel();
      }
    }
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  DeskReport Report() const {
    std::lock_guard lock(mu_);
    return report_;
  }

 private:
  void RunSession() {
    auto stub = v1::DeskService::NewStub(target_.NewChannel());
    grpc::ClientContext ctx;
    Authorize(ctx, token_);
    {
      std::lock_guard lock(mu_);
      if (stop_.IsSet()) {
        return;
      }
      live_ctx_ = &ctx;
    }
    auto reader = stub->Watch(&ctx, v1::WatchDeskRequest());
    v1::DeskEvent event;
    bool first = true;
    while (reader->Read(&event)) {
      if (first) {
        Count([](DeskReport& r) { ++r.sessions; });
      }
      OnEvent(*stub, event, first);
      first = false;
    }
    {
      std::lock_guard lock(mu_);
      live_ctx_ = nullptr;
    }
    const grpc::Status status = reader->Finish();
    Debug("desk ", id_, ": watch ended: ", Describe(status));
  }

  void OnEvent(v1::DeskService::Stub& stub, const v1::DeskEvent& event, bool first) {
    switch (event.kind_case()) {
      case v1::DeskEvent::kPresenceChanged: {
        const v1::CounsellorStatus& status = event.presence_changed().status();
        switch (status.state()) {
          case v1::COUNSELLOR_STATE_OFFLINE:
          case v1::COUNSELLOR_STATE_BREAK:
            GoAvailable(stub);
            break;
          case v1::COUNSELLOR_STATE_RESERVED:
            // After a reconnect the offer may ring without a new OfferEvent: take it.
            if (first && !status.call_id().empty()) {
              Answer(stub, status.call_id(), true);
            }
            break;
          case v1::COUNSELLOR_STATE_WRAP_UP:
            if (!status.call_id().empty()) {
              Dispose(stub, status.call_id());
            }
            break;
          default:
            break;
        }
        break;
      }
      case v1::DeskEvent::kOffer: {
        Count([](DeskReport& r) { ++r.offers; });
        // An ignored offer holds the call and the counsellor for the whole offer timeout
        // (15 s): rare, or nothing else gets done.
        const int dice = Uniform(rng_, 1, 100);
        if (dice <= 90) {
          Answer(stub, event.offer().call().call_id(), true);
        } else if (dice <= 98) {
          Answer(stub, event.offer().call().call_id(), false);
        } else {
          Count([](DeskReport& r) { ++r.ignored; });  // Let it ring out.
        }
        break;
      }
      case v1::DeskEvent::kWrapUpStarted:
        Dispose(stub, event.wrap_up_started().call_id());
        break;
      default:
        break;
    }
  }

  void GoAvailable(v1::DeskService::Stub& stub) {
    grpc::ClientContext ctx;
    Authorize(ctx, token_);
    SetDeadline(ctx);
    v1::SetPresenceRequest req;
    req.set_request_id(NextRequestId("p"));
    req.set_state(v1::COUNSELLOR_STATE_AVAILABLE);
    v1::SetPresenceResponse resp;
    Check("SetPresence(AVAILABLE)", stub.SetPresence(&ctx, req, &resp));
  }

  void Answer(v1::DeskService::Stub& stub, const std::string& call_id, bool accept) {
    if (!stop_.SleepFor(Millis(Uniform(rng_, 20, 200)))) {
      return;
    }
    grpc::ClientContext ctx;
    Authorize(ctx, token_);
    SetDeadline(ctx);
    v1::AnswerOfferRequest req;
    req.set_request_id(NextRequestId("a"));
    req.set_call_id(call_id);
    req.set_accept(accept);
    v1::AnswerOfferResponse resp;
    if (Check(accept ? "AnswerOffer(accept)" : "AnswerOffer(decline)",
              stub.AnswerOffer(&ctx, req, &resp))) {
      Count([accept](DeskReport& r) { ++(accept ? r.accepted : r.declined); });
    }
  }

  void Dispose(v1::DeskService::Stub& stub, const std::string& call_id) {
    if (!disposed_.insert(call_id).second) {
      return;  // Both the WRAP_UP presence and WrapUpStarted announce it.
    }
    if (!stop_.SleepFor(Millis(Uniform(rng_, 20, 150)))) {
      return;
    }
    grpc::ClientContext ctx;
    Authorize(ctx, token_);
    SetDeadline(ctx);
    v1::SubmitDispositionRequest req;
    req.set_request_id(NextRequestId("d"));
    req.set_call_id(call_id);
    req.mutable_disposition()->set_category(v1::CATEGORY_OTHER);
    req.mutable_disposition()->set_action(v1::ACTION_COUNSELLED);
    req.set_ready_for_next(true);
    v1::SubmitDispositionResponse resp;
    if (Check("SubmitDisposition", stub.SubmitDisposition(&ctx, req, &resp))) {
      Count([](DeskReport& r) { ++r.dispositions; });
    }
  }

  // Refusals are expected around restarts (FAILED_PRECONDITION, NOT_FOUND, UNAVAILABLE): they
  // are counted and, with --verbose, logged; none fails the test.
  bool Check(const char* what, const grpc::Status& s) {
    if (s.ok()) {
      return true;
    }
    Count([&](DeskReport& r) { ++r.refusals[CodeName(s.error_code())]; });
    Debug("desk ", id_, ": ", what, ": ", Describe(s));
    return false;
  }

  std::string NextRequestId(const char* kind) {
    return id_ + "-" + kind + "-" + std::to_string(++next_request_);
  }

  void Count(const std::function<void(DeskReport&)>& f) {
    std::lock_guard lock(mu_);
    f(report_);
  }

  const Target& target_;
  const std::string id_;
  const std::string token_;
  StopFlag stop_;
  // Used only on the desk's thread.
  std::mt19937 rng_;
  std::set<std::string> disposed_;
  uint64_t next_request_ = 0;

  mutable std::mutex mu_;
  DeskReport report_;  // Guarded by mu_, like live_ctx_.
  grpc::ClientContext* live_ctx_ = nullptr;
  std::thread thread_;
};

// Creates the counsellors (once per run: they live in the database across restarts) and
// returns their ids and desk tokens.
std::optional<std::vector<std::pair<std::string, std::string>>> CreateCounsellors(
    const Target& target) {
  auto admin = v1::AdminService::NewStub(target.NewChannel());
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 1; i <= kCounsellors; ++i) {
    const std::string id = "crash-c" + std::to_string(i);
    grpc::ClientContext ctx;
    Authorize(ctx, kAdminToken);
    SetDeadline(ctx);
    v1::CreateCounsellorRequest req;
    auto* c = req.mutable_counsellor();
    c->set_counsellor_id(id);
    c->set_display_name("Crash counsellor " + std::to_string(i));
    c->set_home_province(kProvince);
    auto* skill = c->add_skills();
    skill->set_topic(v1::TOPIC_COUNSELLING);
    skill->set_proficiency(3);
    c->add_languages("vi");
    c->set_endpoint("sip:" + id + "@pbx");
    v1::CreateCounsellorResponse resp;
    const grpc::Status s = admin->CreateCounsellor(&ctx, req, &resp);
    if (!s.ok()) {
      Say("CreateCounsellor ", id, ": ", Describe(s));
      return std::nullopt;
    }
    out.emplace_back(id, resp.token());
  }
  return out;
}

// --- The checker. ---

struct Row {
  int count = 0;
  std::string outcome;
};

struct Verdict {
  int acknowledged = 0;
  int recorded = 0;
  // Acknowledged calls in the queue view, in any state (ENDED: in wrap-up, not yet recorded).
  int still_live = 0;
  int still_waiting = 0;  // ... of which WAITING.
  std::vector<std::string> lost;
  std::vector<std::string> duplicated;  // With the reason, e.g. "crash-call-0007 (2 rows)".
  std::vector<std::string> revived;     // Ended (acknowledged), yet live or commanded again.
  std::vector<std::string> bad_outcome;
  std::string order_violation;  // Empty when the waiting calls are in arrival order.
  bool complete = false;        // False when the database or the view was unreadable.

  bool Passed() const {
    return complete && lost.empty() && duplicated.empty() && revived.empty() &&
           bad_outcome.empty() && order_violation.empty();
  }
  // What must stay the same for a failure to count as settled.
  std::string Signature() const {
    std::ostringstream os;
    for (const auto* list : {&lost, &duplicated, &revived, &bad_outcome}) {
      for (const auto& s : *list) {
        os << s << ",";
      }
      os << "|";
    }
    os << order_violation;
    return os.str();
  }
};

// Reads the daemon's view of the world: `calls` from SQLite (read-only; WAL lets it read while
// the daemon writes) and the first QueueView of a fresh SupervisorService.WatchQueue.
class Checker {
 public:
  Checker(const Target& target, std::filesystem::path database)
      : target_(target), database_(std::move(database)) {}

  // One consistent look: the table, then the view, then the table again. A call recorded in the
  // first read and live in the view really is both; a call in neither the view nor the second
  // read is really missing (a call that finishes between the reads is in the second).
  Verdict Look(const GatewayReport& gateway) const {
    Verdict v;
    v.acknowledged = static_cast<int>(gateway.acknowledged.size());
    auto before = ReadCalls();
    auto view = FirstView();
    auto after = before ? ReadCalls() : std::nullopt;
    if (!before || !view || !after) {
      return v;
    }
    v.complete = true;

    std::map<std::string, v1::CallState> live;
    for (const auto& c : view->calls()) {
      if (!live.emplace(c.summary().call_id(), c.state()).second) {
        v.duplicated.push_back(c.summary().call_id() + " (twice in the queue view)");
      }
    }
    for (const auto& c : gateway.connected_twice) {
      v.duplicated.push_back(c + " (connected twice)");
    }
    for (const auto& [id, row] : *after) {
      if (row.count > 1) {
        v.duplicated.push_back(id + " (" + std::to_string(row.count) + " rows in calls)");
      }
    }
    for (const auto& [id, seq] : gateway.acknowledged) {
      const auto recorded = after->find(id);
      const auto in_view = live.find(id);
      if (in_view != live.end() && before->count(id) > 0) {
        v.duplicated.push_back(id + " (recorded and still live)");
      }
      if (recorded != after->end()) {
        ++v.recorded;
        if (!kOutcomes.count(recorded->second.outcome)) {
          v.bad_outcome.push_back(id + " (outcome '" + recorded->second.outcome + "')");
        }
      } else if (in_view != live.end()) {
        ++v.still_live;
        v.still_waiting += in_view->second == v1::CALL_STATE_WAITING ? 1 : 0;
      } else {
        v.lost.push_back(id);
      }
    }
    // An ended call stays in the view (state ENDED) while its counsellor wraps up; anything
    // else after the gateway's end was acknowledged means the daemon forgot that end.
    for (const auto& id : gateway.ended_acknowledged) {
      const auto in_view = live.find(id);
      if (in_view != live.end() && in_view->second != v1::CALL_STATE_ENDED) {
        v.revived.push_back(id + " (live after its end was acknowledged)");
      }
    }
    for (const auto& id : gateway.commanded_after_end) {
      v.revived.push_back(id + " (commanded after its end was acknowledged)");
    }

    // Same priority for all, so the waiting calls must be in arrival order.
    int last_seq = 0;
    std::string last_id;
    for (const auto& c : view->calls()) {
      if (c.state() != v1::CALL_STATE_WAITING) {
        continue;
      }
      const auto seq = gateway.seq_of.find(c.summary().call_id());
      if (seq == gateway.seq_of.end()) {
        v.duplicated.push_back(c.summary().call_id() +
                               " (in the queue, but the gateway never made it)");
        continue;
      }
      if (seq->second < last_seq && v.order_violation.empty()) {
        v.order_violation = c.summary().call_id() + " waits behind " + last_id;
      }
      if (seq->second > last_seq) {
        last_seq = seq->second;
        last_id = c.summary().call_id();
      }
    }
    return v;
  }

 private:
  inline static const std::set<std::string> kOutcomes = {
      "completed", "abandoned", "timed_out", "rejected", "failed", "callback_requested"};

  std::optional<std::map<std::string, Row>> ReadCalls() const {
    try {
      SQLite::Database db(database_.string(), SQLite::OPEN_READONLY);
      db.setBusyTimeout(2000);
      SQLite::Statement q(db,
                          "SELECT call_id, count(*), group_concat(outcome, '+') FROM calls "
                          "GROUP BY call_id");
      std::map<std::string, Row> rows;
      while (q.executeStep()) {
        Row& r = rows[q.getColumn(0).getString()];
        r.count = q.getColumn(1).getInt();
        r.outcome = q.getColumn(2).getString();
      }
      return rows;
    } catch (const std::exception& e) {
      Say("checker: reading calls: ", e.what());
      return std::nullopt;
    }
  }

  std::optional<v1::QueueView> FirstView() const {
    auto stub = v1::SupervisorService::NewStub(target_.NewChannel());
    grpc::ClientContext ctx;
    Authorize(ctx, kSupervisorToken);
    SetDeadline(ctx);
    auto reader = stub->WatchQueue(&ctx, v1::WatchQueueRequest());
    v1::QueueView view;
    const bool ok = reader->Read(&view);
    ctx.TryCancel();
    const grpc::Status s = reader->Finish();
    if (!ok) {
      Say("checker: WatchQueue gave no view: ", Describe(s));
      return std::nullopt;
    }
    return view;
  }

  const Target& target_;
  const std::filesystem::path database_;
};

// How many of the gateway's caller numbers appear, digits as sent, in any file of `dir` (the
// database, its WAL, the daemon's log). §6: raw numbers never reach disk or logs — and a journal
// of every input is where one would slip in. Counts numbers, never prints them.
int RawNumbersOnDisk(const std::filesystem::path& dir, const std::vector<std::string>& numbers) {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  int found = 0;
  for (const auto& n : numbers) {
    found += all.find(n) != std::string::npos ? 1 : 0;
  }
  return found;
}

// --- main. ---

struct Options {
  std::string hotlined;
  std::string config;
  uint32_t seed = 0;
  bool seed_given = false;
  int kills = 4;
  int calls = 300;
  bool keep = false;
};

void Usage() {
  std::cerr << "usage: crash_test --hotlined PATH --config PATH [--seed N] [--kills N] "
               "[--calls N] [--keep] [--verbose]\n";
}

std::optional<Options> ParseFlags(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::cerr << "crash_test: " << flag << " needs a value\n";
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    auto number = [&](long lo, long hi) -> std::optional<long> {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      char* end = nullptr;
      const long n = std::strtol(v->c_str(), &end, 10);
      if (v->empty() || *end != '\0' || n < lo || n > hi) {
        std::cerr << "crash_test: " << flag << ": '" << *v << "' is not a number from " << lo
                  << " to " << hi << "\n";
        return std::nullopt;
      }
      return n;
    };
    if (flag == "--hotlined" || flag == "--config") {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      (flag == "--hotlined" ? o.hotlined : o.config) = *v;
    } else if (flag == "--seed") {
      auto n = number(0, 4294967295L);
      if (!n) {
        return std::nullopt;
      }
      o.seed = static_cast<uint32_t>(*n);
      o.seed_given = true;
    } else if (flag == "--kills") {
      auto n = number(0, 100);
      if (!n) {
        return std::nullopt;
      }
      o.kills = static_cast<int>(*n);
    } else if (flag == "--calls") {
      auto n = number(1, 100000);
      if (!n) {
        return std::nullopt;
      }
      o.calls = static_cast<int>(*n);
    } else if (flag == "--keep") {
      o.keep = true;
    } else if (flag == "--verbose") {
      verbose = true;
    } else {
      std::cerr << "crash_test: unknown flag '" << flag << "'\n";
      return std::nullopt;
    }
  }
  if (o.hotlined.empty() || o.config.empty()) {
    std::cerr << "crash_test: --hotlined and --config are required\n";
    return std::nullopt;
  }
  if (!o.seed_given) {
    o.seed = std::random_device()();
  }
  return o;
}

// A fresh directory for the database, the caller key and the daemon's log.
std::filesystem::path MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "hotline-crash-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return {};
  }
  return tmpl;
}

// When the daemon is killed: at seeded arrival counts while arrivals are between 10% and 90%
// done, one in each of `kills` equal slices of that span. Half of the kills strike right after
// that arrival was written (likely before its ack), the others a seeded moment later.
struct KillPlan {
  std::vector<int> at_arrival;
  std::vector<Millis> delay;

  KillPlan(int kills, int calls, std::mt19937& rng) {
    const double slice = 0.8 * calls / std::max(kills, 1);
    for (int k = 0; k < kills; ++k) {
      const int from = static_cast<int>(0.1 * calls + k * slice);
      at_arrival.push_back(Uniform(rng, from, std::max(from, static_cast<int>(from + slice) - 1)));
      delay.push_back(Millis(Chance(rng, 0.5) ? 0 : Uniform(rng, 1, 250)));
    }
  }
};

// Kills and restarts the daemon as planned while the load runs. False when a restart failed.
bool KillDuringLoad(const KillPlan& plan, DaemonProcess& daemon, Target& target, Gateway& gateway,
                    SteadyClock::time_point deadline) {
  auto up_since = SteadyClock::now();
  const size_t kills = plan.at_arrival.size();
  for (size_t k = 0; k < kills; ++k) {
    gateway.WaitForArrivals(plan.at_arrival[k], deadline);
    std::this_thread::sleep_until(std::max(up_since + kMinUptime, SteadyClock::now()) +
                                  plan.delay[k]);
    const pid_t pid = daemon.pid();
    daemon.Kill();
    Say("kill ", k + 1, "/", kills, ": SIGKILL to pid ", pid, " (", gateway.Brief(), ")");
    if (!daemon.Start()) {
      return false;
    }
    target.Set(daemon.grpc_address());
    up_since = SteadyClock::now();
    Say("restarted: pid ", daemon.pid(), " at ", daemon.grpc_address());
  }
  return true;
}

// Looks every kPollInterval until the check passes, the deadline passes, or a failure has not
// changed for kStableFailure. Returns the last look and the gateway report it judged.
std::pair<Verdict, GatewayReport> CheckUntilSettled(const Checker& checker,
                                                    const Gateway& gateway) {
  const auto deadline = SteadyClock::now() + kSettleDeadline;
  std::string last_signature;
  auto stable_since = SteadyClock::now();
  while (true) {
    GatewayReport report = gateway.Report();
    Verdict verdict = checker.Look(report);
    if (verdict.Passed() && report.unacked == 0) {
      return {std::move(verdict), std::move(report)};
    }
    const auto now = SteadyClock::now();
    if (verdict.complete && verdict.Signature() != last_signature) {
      Debug("checker: lost=", verdict.lost.size(), " duplicated=", verdict.duplicated.size(),
            " revived=", verdict.revived.size(),
            " order=", verdict.order_violation.empty() ? "ok" : verdict.order_violation);
      last_signature = verdict.Signature();
      stable_since = now;
    }
    if (now > deadline || (verdict.complete && now - stable_since > kStableFailure)) {
      return {std::move(verdict), std::move(report)};
    }
    // Look again when the daemon next says something, or after kPollInterval at the latest
    // (a row may be written without a message to the gateway).
    gateway.AwaitNews(kPollInterval);
  }
}

DeskReport Total(const std::vector<std::unique_ptr<Desk>>& desks) {
  DeskReport total;
  for (const auto& d : desks) {
    const DeskReport r = d->Report();
    total.sessions += r.sessions;
    total.offers += r.offers;
    total.accepted += r.accepted;
    total.declined += r.declined;
    total.ignored += r.ignored;
    total.dispositions += r.dispositions;
    for (const auto& [code, n] : r.refusals) {
      total.refusals[code] += n;
    }
  }
  return total;
}

// "FAIL: 3 what: a, b, c" with at most 20 items; nothing for an empty list.
void PrintFailures(const char* what, const std::vector<std::string>& list) {
  if (list.empty()) {
    return;
  }
  std::ostringstream os;
  for (size_t i = 0; i < list.size() && i < 20; ++i) {
    os << (i ? ", " : "") << list[i];
  }
  if (list.size() > 20) {
    os << ", ... (" << list.size() - 20 << " more)";
  }
  Say("FAIL: ", list.size(), " ", what, ": ", os.str());
}

// Prints what happened and the verdict; returns true when the run passed.
bool PrintResults(const Options& o, const Verdict& v, const GatewayReport& gateway,
                  const DeskReport& desks, int raw_numbers) {
  std::ostringstream finished;
  for (const auto& [how, n] : gateway.finished) {
    finished << " " << how << "=" << n;
  }
  std::ostringstream refusals;
  for (const auto& [code, n] : desks.refusals) {
    refusals << " " << code << "=" << n;
  }
  Say("gateway: arrivals=", gateway.arrivals, " events=", gateway.events_sent,
      " resent=", gateway.events_resent, " sessions=", gateway.sessions,
      " refused=", gateway.refused, " reconciled=", gateway.reconciled,
      " unacked=", gateway.unacked, "; its calls:", finished.str());
  Say("desks: sessions=", desks.sessions, " offers=", desks.offers, " accepted=", desks.accepted,
      " declined=", desks.declined, " ignored=", desks.ignored,
      " dispositions=", desks.dispositions,
      " refused:", refusals.str().empty() ? " none" : refusals.str());

  if (!v.complete) {
    Say("FAIL: the database or the queue view could not be read");
  }
  if (gateway.unacked > 0) {
    Say("FAIL: ", gateway.unacked, " events were never acknowledged");
  }
  PrintFailures("acknowledged calls lost (neither in calls nor in the queue)", v.lost);
  PrintFailures("duplicated", v.duplicated);
  PrintFailures("calls revived after their end was acknowledged", v.revived);
  PrintFailures("recorded calls without exactly one outcome", v.bad_outcome);
  if (!v.order_violation.empty()) {
    Say("FAIL: waiting calls out of arrival order: ", v.order_violation);
  }
  if (raw_numbers > 0) {
    Say("FAIL: ", raw_numbers, " raw caller numbers reached the database or the daemon's log");
  }

  const bool passed = v.Passed() && gateway.unacked == 0 && raw_numbers == 0;
  std::cout << "seed=" << o.seed << " kills=" << o.kills << " acknowledged=" << v.acknowledged
            << " recorded=" << v.recorded << " still_waiting=" << v.still_live
            << " lost=" << v.lost.size() << " duplicated=" << v.duplicated.size() << "\n"
            << "  (still_waiting: " << v.still_waiting << " waiting, "
            << v.still_live - v.still_waiting << " offered, connected or in wrap-up; order="
            << (v.order_violation.empty() ? "ok" : "broken") << " revived=" << v.revived.size()
            << " bad_outcome=" << v.bad_outcome.size() << " raw_numbers_on_disk=" << raw_numbers
            << " elapsed=" << std::fixed << std::setprecision(1)
            << std::chrono::duration<double>(SteadyClock::now() - kStart).count() << "s)"
            << std::endl;
  if (!passed) {
    std::cout << "FAILED with seed=" << o.seed << "; rerun: crash_test --hotlined " << o.hotlined
              << " --config " << o.config << " --seed " << o.seed << " --keep" << std::endl;
  }
  return passed;
}

int Run(const Options& o) {
  Say("crash_test: seed=", o.seed, " kills=", o.kills, " calls=", o.calls, " (rerun with --seed ",
      o.seed, ")");
  if (access(o.hotlined.c_str(), X_OK) != 0 || access(o.config.c_str(), R_OK) != 0) {
    Say("cannot run ", o.hotlined, " with ", o.config, ": ", std::strerror(errno));
    return 1;
  }
  const std::filesystem::path dir = MakeTempDir();
  if (dir.empty()) {
    Say("cannot create a temporary directory: ", std::strerror(errno));
    return 1;
  }
  Say("directory ", dir.string(), o.keep ? " (kept)" : "");
  struct Cleanup {
    const std::filesystem::path& dir;
    bool keep;
    ~Cleanup() {
      if (!keep) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
    }
  } cleanup{dir, o.keep};

  DaemonProcess daemon(o.hotlined, o.config, dir);
  if (!daemon.Start()) {
    return 1;
  }
  Target target;
  target.Set(daemon.grpc_address());
  Say("hotlined pid ", daemon.pid(), " ready at ", daemon.grpc_address());
  auto counsellors = CreateCounsellors(target);
  if (!counsellors) {
    return 1;
  }

  // Every seed comes from the master generator, drawn in a fixed order.
  std::mt19937 master(o.seed);
  std::vector<std::unique_ptr<Desk>> desks;
  for (const auto& [id, token] : *counsellors) {
    desks.push_back(std::make_unique<Desk>(target, id, token, master()));
  }
  Gateway gateway(target, o.calls, master());
  const KillPlan plan(o.kills, o.calls, master);

  for (auto& d : desks) {
    d->Start();
  }
  gateway.Start();
  const auto load_deadline = SteadyClock::now() + 3 * kLoadDuration + 60s;
  if (!KillDuringLoad(plan, daemon, target, gateway, load_deadline)) {
    return 1;
  }
  gateway.WaitForArrivals(o.calls, load_deadline);
  Say("all ", o.calls, " arrivals made (", gateway.Brief(), "); settling");
  if (!gateway.WaitUntilSettled(SteadyClock::now() + kSettleDeadline)) {
    Say("not every event was acknowledged within ", kSettleDeadline.count(), " ms (",
        gateway.Brief(), ")");
  }
  const auto [verdict, report] =
      CheckUntilSettled(Checker(target, daemon.database_path()), gateway);
  Say("checked: ", verdict.Passed() ? "pass" : "fail", "; stopping the load");

  gateway.Stop();
  for (auto& d : desks) {
    d->Stop();
  }
  Say("hotlined exited with status ", daemon.Stop(15s), " after SIGTERM");
  const int raw_numbers = RawNumbersOnDisk(dir, gateway.CallerDigits());
  return PrintResults(o, verdict, report, Total(desks), raw_numbers) ? 0 : 1;
}

}  // namespace
}  // namespace hotline::crash

int main(int argc, char** argv) {
  // A stream write to a daemon that was just killed must fail, not kill us.
  signal(SIGPIPE, SIG_IGN);
  auto options = hotline::crash::ParseFlags(argc, argv);
  if (!options) {
    hotline::crash::Usage();
    return 2;
  }
  return hotline::crash::Run(*options);
}
