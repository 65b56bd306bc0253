// hotlined as an object: the gRPC server, the engine thread, the HTTP side, started from a
// Config and stopped cleanly. main.cc is a thin shell over it; integration tests start it
// in-process on 127.0.0.1:0.
//
// Thread-safety: Start, Shutdown and the port accessors may be called from any one thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "daemon/config.h"
#include "daemon/time_source.h"
#include "storage/batch.h"

namespace hotline::daemon {

class Daemon {
 public:
  // Opens the database, loads counsellors, starts the engine thread, the gRPC server (with the
  // health and reflection services) and the HTTP server. Errors name what failed to start.
  // `wrap_sink`, for tests, wraps the database the journal writer commits to (to inject faults).
  // `on_fatal` is called at most once, on the journal writer's thread, when the writer stopped
  // for good (a commit refused for a reason retrying cannot mend, see writer.h): from then on
  // nothing is written or acknowledged, and the process should shut down and exit non-zero so
  // that a restart recovers from the journal. It must not block and must not call Shutdown.
  // `time`, for tests, replaces the system clocks and timers (tests/testing/manual_time.h).
  // Start also fixes the process's allocator's bar for mapping blocks from the system at this
  // size, which keeps glibc giving free memory back (daemon.cc says how and why).
  static constexpr size_t kMapLargeBlocksFrom = 1024 * 1024;
  using SinkWrapper = std::function<std::unique_ptr<storage::Sink>(storage::Sink& store)>;
  using FatalHandler = std::function<void(const absl::Status& why)>;
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const Config& config,
                                                       SinkWrapper wrap_sink = nullptr,
                                                       FatalHandler on_fatal = nullptr,
                                                       std::shared_ptr<TimeSource> time = nullptr);

  virtual ~Daemon() = default;

  // The ports actually bound (useful when the config asked for port 0).
  virtual int grpc_port() const = 0;
  virtual int http_port() const = 0;

  // Whether the journal is being written (false while commits fail: gRPC health NOT_SERVING).
  virtual bool healthy() const = 0;

  // Digests of the engine's state (journal.h StateDigest): as recovery rebuilt it from the
  // snapshot and journal at start, and as it was at the end of Shutdown() (empty before). A
  // restart after a clean shutdown rebuilds exactly the state it left: the two agree.
  virtual std::string recovered_digest() const = 0;
  virtual std::string shutdown_digest() const = 0;

  // OK, or the refusal that stopped the journal writer for good (the status `on_fatal` got).
  // Still answers after Shutdown.
  virtual absl::Status failure() const = 0;

  // Writes and acknowledges everything handled so far, closes every stream with UNAVAILABLE,
  // lets the engine finish what it has been given (every record written) and joins all
  // threads. Idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace hotline::daemon
