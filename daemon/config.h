// hotlined's configuration: what deploy/hotline.toml says, with command-line overrides applied by
// main. A plain value, built once at start-up and then only read.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "routing/engine.h"

namespace hotline::daemon {

struct Config {
  // host:port for gRPC; port 0 lets the OS pick (tests).
  std::string grpc_listen = "127.0.0.1:50051";
  // host:port for HTTP (/healthz); port 0 lets the OS pick.
  std::string http_listen = "127.0.0.1:8080";
  // SQLite database file; created with its directory's parent existing.
  std::string database = "var/hotline.db";
  // SQLite's synchronous setting: "NORMAL" (a commit survives a crash of hotlined; a power
  // loss may lose the last commits) or "FULL" (a commit survives a power loss too).
  std::string synchronous = "NORMAL";
  // A snapshot of the engine is written after this many journal records, so a restart replays
  // at most this many.
  int64_t snapshot_every_records = 10'000;
  // 32-byte key for the keyed hash of caller numbers, kept apart from the database (a copy of
  // both would give callers' numbers back). Created (mode 0600, in a 0700 directory) with a new
  // database; the database records its fingerprint and refuses another key, or none.
  std::string caller_key_file = "var/keys/caller.key";
  // The routing policy and the region tree it routes by (docs/routing.md).
  std::string policy_file = "deploy/policy.toml";
  std::string regions_file = "deploy/regions.toml";
  // Bearer tokens of the fixed roles. Empty disables the role.
  std::string gateway_token;
  std::string supervisor_token;
  std::string admin_token;
  routing::EngineOptions engine;
  // The supervisors' queue view lists this many waiting calls in full (the rest are counted).
  int64_t view_calls = 100;
  // Live web pages (GET /api/queue/events) open at once; each holds one HTTP worker thread.
  int64_t max_web_views = 8;
};

// A listening address, split.
struct HostPort {
  std::string host;
  int port = 0;  // 0 to 65535; 0 lets the OS pick.
};
// "host:port" with a port of 0 to 65535 written in decimal digits only; INVALID_ARGUMENT naming
// `key` otherwise ("server.http_listen: port '99999' is not a number from 0 to 65535"). Why:
// a larger port was silently truncated to 16 bits by the HTTP server and bound elsewhere.
absl::StatusOr<HostPort> ParseHostPort(const std::string& value, std::string_view key);

// Reads a TOML config file. INVALID_ARGUMENT naming the file, line and key for a malformed file,
// an unknown key or a value of the wrong type or range; NOT_FOUND when the file is missing.
absl::StatusOr<Config> LoadConfig(const std::string& path);

// Parses TOML text (for tests); `source` names it in errors.
absl::StatusOr<Config> ParseConfig(const std::string& text, const std::string& source);

}  // namespace hotline::daemon
