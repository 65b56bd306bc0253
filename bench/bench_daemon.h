// The real daemon for the benchmarks: started in the benchmark's process on 127.0.0.1:0, with a
// database and caller key in a private temporary directory removed when the BenchDaemon goes.
//
// Not thread-safe: made and destroyed on one thread; daemon() may be used from any.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "storage/store.h"

namespace hotline::bench {

class BenchDaemon final {
 public:
  // Exits the process if the daemon cannot start: a benchmark has nothing to measure then.
  // `adjust` (may be null) changes the config last, for a benchmark's own flags.
  explicit BenchDaemon(const std::string& synchronous = "NORMAL",
                       const std::function<void(daemon::Config&)>& adjust = nullptr)
      : dir_(std::filesystem::temp_directory_path() /
             ("hotline-bench-" + std::to_string(std::random_device()()))) {
    spdlog::set_level(spdlog::level::warn);
    // As hotlined's main does first; a benchmark that opened SQLite before keeps its statistics.
    storage::ConfigureSqliteForProcess();
    // Private, with the key in a directory of its own, as hotlined expects of children's data.
    std::filesystem::create_directories(dir_ / "keys");
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all);
    std::filesystem::permissions(dir_ / "keys", std::filesystem::perms::owner_all);
    daemon::Config config;
    config.grpc_listen = "127.0.0.1:0";
    config.http_listen = "127.0.0.1:0";
    config.database = (dir_ / "hotline.db").string();
    config.caller_key_file = (dir_ / "keys" / "caller.key").string();
    config.policy_file = std::string(HOTLINE_SOURCE_DIR) + "/deploy/policy.toml";
    config.regions_file = std::string(HOTLINE_SOURCE_DIR) + "/deploy/regions.toml";
    config.gateway_token = kGatewayToken;
    config.admin_token = kAdminToken;
    config.supervisor_token = kSupervisorToken;
    config.synchronous = synchronous;
    // A benchmark is the one well-behaved peer that asks as fast as it can: the bounds on what
    // a stranger may ask (docs/limits.md) are lifted, not measured.
    config.limits.max_waiting_calls = 1'000'000;
    config.limits.requests_per_second = 1'000'000;
    config.limits.request_burst = 10'000'000;
    config.limits.gateway_outbox_messages = 10'000'000;
    // memory_bench signs 500 desks in over one connection (with the defaults, 100 streams per
    // connection and 200 per address: its 101st desk waited for a stream slot for ever).
    config.limits.max_streams_per_connection = 100'000;
    config.limits.max_streams_per_peer = 100'000;
    if (adjust) {
      adjust(config);
    }
    auto started = daemon::Daemon::Start(config);
    if (!started.ok()) {
      std::fprintf(stderr, "cannot start hotlined: %s\n", started.status().ToString().c_str());
      std::exit(1);
    }
    daemon_ = std::move(*started);
  }
  BenchDaemon(const BenchDaemon&) = delete;
  BenchDaemon& operator=(const BenchDaemon&) = delete;
  ~BenchDaemon() {
    daemon_->Shutdown();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static constexpr const char* kGatewayToken = "g";
  static constexpr const char* kAdminToken = "a";
  static constexpr const char* kSupervisorToken = "s";

  daemon::Daemon& daemon() { return *daemon_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(daemon_->grpc_port()); }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<daemon::Daemon> daemon_;
};

}  // namespace hotline::bench
