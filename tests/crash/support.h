// The crash test's plumbing: its constants, timestamped output, seeded choices, a stop flag
// sleeping threads wake up for, where the daemon listens now, and a scheduler thread. Shared by
// the other headers of tests/crash/, which all go into the one crash_test program.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hotline/v1/gateway.pb.h"

namespace hotline::crash {

namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// The development tokens of deploy/hotline.toml.
inline constexpr const char* kGatewayToken = "dev-gateway-token";
inline constexpr const char* kSupervisorToken = "dev-supervisor-token";
inline constexpr const char* kAdminToken = "dev-admin-token";

inline constexpr const char* kGatewayId = "crash-gw";
inline constexpr const char* kProvince = "38";
inline constexpr int kCounsellors = 3;

// How long arrivals keep coming, whatever --calls is: the rate follows from it.
inline constexpr Millis kLoadDuration = 25s;
// How long hotlined may take to print its ready line.
inline constexpr Millis kReadyDeadline = 30s;
// After the last restart: how long every event may take to be acknowledged, and then how long
// every acknowledged call may take to show up recorded or live.
inline constexpr Millis kSettleDeadline = 30s;
// A failing check that has not changed for this long will not change: stop waiting early.
inline constexpr Millis kStableFailure = 5s;
inline constexpr Millis kPollInterval = 200ms;
// A restarted daemon serves at least this long before the next kill, so clients reconnect and
// acknowledged calls pile up in it.
inline constexpr Millis kMinUptime = 1500ms;
// Every unary call and the supervisor's first view get this long.
inline constexpr Millis kRpcDeadline = 3s;
// How long a gateway waits for the Welcome that answers its Hello.
inline constexpr Millis kWelcomeDeadline = 10s;

// --- Output. ---

inline const SteadyClock::time_point kStart = SteadyClock::now();
inline std::mutex output_mutex;
inline bool verbose = false;

inline double SecondsSinceStart() {
  return std::chrono::duration<double>(SteadyClock::now() - kStart).count();
}

// One line on stdout, stamped with the seconds since the start.
template <class... Args>
void Say(const Args&... args) {
  std::ostringstream line;
  line << "[" << std::fixed << std::setprecision(3) << SecondsSinceStart() << "s] ";
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

inline std::string CodeName(int code) {
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

inline const char* CommandName(const v1::Command& c) {
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

inline std::string Describe(const grpc::Status& s) {
  return CodeName(s.error_code()) + ": " + s.error_message();
}

// --- Small plumbing. ---

inline google::protobuf::Timestamp WallNow() {
  const int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  google::protobuf::Timestamp t;
  t.set_seconds(ns / 1'000'000'000);
  t.set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  return t;
}

inline void SetDeadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
}

// Uniform integer in [lo, hi].
inline int Uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

inline bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

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

// "3 what: a, b, c" with at most 20 items.
inline std::string ListOf(const std::vector<std::string>& list) {
  std::ostringstream os;
  for (size_t i = 0; i < list.size() && i < 20; ++i) {
    os << (i ? ", " : "") << list[i];
  }
  if (list.size() > 20) {
    os << ", ... (" << list.size() - 20 << " more)";
  }
  return os.str();
}

}  // namespace hotline::crash
