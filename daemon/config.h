// hotlined's configuration: what deploy/hotline.toml says, with command-line overrides applied by
// main. A plain value, built once at start-up and then only read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "routing/engine.h"

namespace hotline::daemon {

// The [tls] section: TLS on both listeners (gRPC and HTTP) and client certificates for gateways
// (docs/tls.md). TLS is on when cert_file is set; then key_file is required too.
struct TlsConfig {
  // The daemon's certificate chain (PEM, leaf first) and its private key (PEM). Re-read while
  // the daemon runs: a change is served within reload_interval_s.
  std::string cert_file;
  std::string key_file;
  // CAs (PEM) that sign gateways' client certificates. Set: a client may present a certificate,
  // which must verify against these (else the handshake fails), and a gateway that presents one
  // may say Hello only as the gateway id its certificate names (CN or a DNS SAN). Empty: no
  // client certificates are asked for.
  std::string client_ca_file;
  // Every gateway must present a client certificate naming its gateway id; a Hello over a
  // connection without one is refused (UNAUTHENTICATED). Needs client_ca_file. Desks,
  // supervisors and administrators never need one (they present tokens).
  bool require_client_certificate = false;
  // The gateways that must present a client certificate naming them, when not every gateway
  // must (mutual TLS per gateway): a Hello as one of these over a connection without a
  // certificate is refused (UNAUTHENTICATED), so that gateway's token alone, if it leaks, is not
  // enough. Needs client_ca_file. Each entry is a gateway id.
  std::vector<std::string> require_client_certificate_for;
  // How often the certificate, key and client CA files are checked for a change, in seconds.
  int64_t reload_interval_s = 60;
  // Without TLS, both listeners must be on loopback (127.0.0.0/8, ::1, localhost) unless this is
  // true: tokens and children's data would cross the network in clear text.
  bool allow_plaintext_public = false;

  bool enabled() const { return !cert_file.empty(); }
};

// What a peer can make hotlined hold, and how fast it may ask ([limits]; docs/limits.md says
// what a peer sees at each bound).
struct Limits {
  // Calls waiting in the queue (not yet offered); an arrival past it is acknowledged
  // RESOURCE_EXHAUSTED and not queued: the gateway plays its overflow message.
  int64_t max_waiting_calls = 20'000;
  // Unsent messages a gateway's / a desk's stream may hold; past it the stream is cancelled
  // and the peer reconciles when it comes back (Hello; Watch within desk grace).
  int64_t gateway_outbox_messages = 20'000;
  int64_t desk_outbox_messages = 1'000;
  // The largest gRPC message hotlined reads (a Hello with its held calls is the largest).
  int64_t max_message_bytes = 4 * 1024 * 1024;
  // gRPC streams (calls) open at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).
  int64_t max_streams_per_connection = 100;
  // Long-lived streams (Connect, Watch, WatchQueue) open at once from one peer address.
  int64_t max_streams_per_peer = 200;
  // Unary requests per second per credential (bearer token; per address without one), with a
  // burst of `request_burst`.
  int64_t requests_per_second = 200;
  int64_t request_burst = 400;
  // A connection must finish its HTTP/2 handshake within this (gRPC's handshake timeout) ...
  int64_t handshake_timeout_ms = 10'000;
  // ... and is closed after this long without a call in flight (GOAWAY; clients reconnect).
  int64_t idle_connection_ms = 120'000;
  // A connection with a call open is pinged after this long without a byte from its peer, and
  // closed when the ping is not answered within keepalive_timeout_ms (gRPC also makes that the
  // socket's TCP_USER_TIMEOUT): a desk whose network went silent (a laptop asleep, Wi-Fi lost)
  // is taken as gone within their sum, under the offer time-out (15 s), so its ringing offer is
  // withdrawn, not missed.
  int64_t keepalive_ms = 4'000;
  int64_t keepalive_timeout_ms = 8'000;
  // Memory gRPC may use for its connections' buffers (grpc::ResourceQuota).
  int64_t grpc_memory_bytes = 512 * 1024 * 1024;
  // HTTP: worker threads (live pages, /metrics, the page's files) ...
  int64_t http_workers = 64;
  // ... a request's headers must all arrive within this, and each read or write of a
  // connection must progress within http_io_timeout_ms.
  int64_t http_header_timeout_ms = 10'000;
  int64_t http_io_timeout_ms = 5'000;
  // Commands kept for a gateway that is away, per gateway, and for how long.
  int64_t undelivered_commands = 10'000;
  int64_t undelivered_command_ms = 600'000;
};

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
  // 32-byte key sealing callers' numbers for callbacks (daemon/callback_key.h), beside the caller
  // key and like it: created 0600 with a new database, its fingerprint recorded and checked.
  // Empty: "callback.key" in the caller key's directory (CallbackKeyFile()).
  std::string callback_key_file;
  // How long children's data is kept (docs/privacy.md). A periodic job on the engine thread
  // applies it; each period counts back from the engine's time.
  struct Retention {
    // Calls' caller hash and masked number cleared (the row stays for statistics).
    int64_t callers_days = 90;
    // Counsellors' free-text notes cleared (category, action and flags stay).
    int64_t notes_days = 365;
    // A callback not done by then is deleted, its sealed number with it.
    int64_t callback_days = 7;
    // Who viewed or exported what.
    int64_t audit_days = 730;
    // Offer and presence rows (counsellors' work, linked to call ids).
    int64_t history_days = 730;
    // How often the job runs.
    int64_t run_every_minutes = 60;
  } retention;
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
  TlsConfig tls;
  Limits limits;
};

// config.callback_key_file, or "callback.key" beside the caller key when that is empty.
std::string CallbackKeyFile(const Config& config);

// A listening address, split.
struct HostPort {
  std::string host;
  int port = 0;  // 0 to 65535; 0 lets the OS pick.
};
// "host:port" with a port of 0 to 65535 written in decimal digits only; INVALID_ARGUMENT naming
// `key` otherwise ("server.http_listen: port '99999' is not a number from 0 to 65535"). Why:
// a larger port was silently truncated to 16 bits by the HTTP server and bound elsewhere.
absl::StatusOr<HostPort> ParseHostPort(const std::string& value, std::string_view key);

// The [tls] settings agree with each other (cert and key together, a client CA only with TLS,
// require_client_certificate only with a client CA); INVALID_ARGUMENT naming the keys otherwise.
// Files are not read here: Daemon::Start loads them and names the one it cannot use.
absl::Status CheckTlsConfig(const TlsConfig& tls);

// Reads a TOML config file. INVALID_ARGUMENT naming the file, line and key for a malformed file,
// an unknown key or a value of the wrong type or range; NOT_FOUND when the file is missing.
absl::StatusOr<Config> LoadConfig(const std::string& path);

// Parses TOML text (for tests); `source` names it in errors.
absl::StatusOr<Config> ParseConfig(const std::string& text, const std::string& source);

}  // namespace hotline::daemon
