// Bounds on what peers can make hotlined do that gRPC itself does not offer (docs/limits.md):
// the request rate per credential, and long-lived streams per peer address. gRPC's own bounds
// (message size, streams per connection, handshake and idle timeouts, memory) are channel
// arguments set where the server is built (daemon.cc).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "daemon/config.h"
#include "daemon/rpc.h"

namespace hotline::daemon {

// The credential a call is counted under: the bearer token's hash, or the peer's address
// (without its port) for a call that carries none.
std::string CredentialKey(const grpc::ServerContext& ctx);
// "ipv4:127.0.0.1:5000" -> "ipv4:127.0.0.1" (gRPC's peer string without its port).
std::string PeerAddress(const std::string& peer);

// A token bucket per credential: `requests_per_second` refill, `request_burst` capacity. The map
// holds at most kMostCredentials buckets; when full, buckets that have refilled completely
// (credentials that went quiet) are forgotten, and if none has, the call is refused too: a flood
// of made-up tokens cannot grow it.
class TimeSource;

class RateLimiter final : public rpc::Admission {
 public:
  static constexpr size_t kMostCredentials = 10'000;

  // Refills by `time`'s monotonic clock (the daemon's, so tests drive it by hand); null: the
  // steady clock.
  explicit RateLimiter(const Limits& limits, const TimeSource* time = nullptr)
      : rate_(static_cast<double>(limits.requests_per_second)),
        burst_(static_cast<double>(limits.request_burst)),
        time_(time) {}

  // OK, or RESOURCE_EXHAUSTED naming the limit.
  grpc::Status Admit(const grpc::ServerContext& ctx) override;
  // The same for a key, at a time (for tests).
  bool Take(const std::string& key, std::chrono::steady_clock::time_point now);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at;
  };
  const double rate_;
  const double burst_;
  const TimeSource* const time_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;  // Guarded by mu_.
};

// Long-lived streams open per peer address.
class PeerStreams final {
 public:
  explicit PeerStreams(const Limits& limits)
      : most_(static_cast<size_t>(limits.max_streams_per_peer)) {}
  // Counts a stream from `peer` (ServerContext::peer()); false, counting nothing, when the peer
  // already has the most it may.
  bool Open(const std::string& peer);
  void Closed(const std::string& peer);
  // RESOURCE_EXHAUSTED for a stream refused by Open.
  grpc::Status Refusal() const;

 private:
  const size_t most_;
  std::mutex mu_;
  std::map<std::string, size_t> open_;  // Guarded by mu_.
};

// One log line per interval for something a peer may cause many times a second (commands for a
// gateway that is away, arrivals refused for a full queue, events refused, command results
// ignored): the first occurrence is logged at once, the rest are counted and summed up in one
// line when the next occurs after the interval. Times are the daemon's clock (EngineHost::Now),
// so tests drive it. Not thread-safe (one owner thread).
class SummaryLog final {
 public:
  explicit SummaryLog(routing::Millis interval = std::chrono::seconds(10)) : interval_(interval) {}
  // Counts one occurrence; returns how many to report (this one included) when a line is due
  // now, else 0.
  int64_t Count(routing::Timestamp now);

 private:
  const routing::Millis interval_;
  routing::Timestamp last_{};
  bool logged_ = false;
  int64_t unreported_ = 0;
};

}  // namespace hotline::daemon

namespace hotline::daemon {

// Bytes the kernel has received on TCP socket `fd` since it was opened, read or not
// (TCP_INFO's tcpi_bytes_received); nullopt if it cannot tell. In tcp_received.cc, which
// includes <linux/tcp.h> (it conflicts with <netinet/tcp.h>, which Asio includes).
std::optional<uint64_t> TcpBytesReceived(int fd);

// The HTTP server's header deadline: cpp-httplib 0.11.4 times out each read, not a request, so
// a client that sends a header byte every few seconds holds a worker for ever, and a few dozen
// such clients starve /healthz. This watchdog closes (shutdown(2)) every connection to the HTTP
// port that has not sent complete request headers within `timeout` of being accepted or of
// its last response; a connection being answered (a live page's event stream included) is
// never touched. It finds the connections by scanning /proc/self/fd twice a second, since
// cpp-httplib does not show its accepted sockets, and tells them apart by their peer address,
// which the pre-routing handler and the logger report. Started() and Finished() may be called
// from any thread.
//
// It bounds the headers' size as well as their time: cpp-httplib grows a request line or a
// header line without limit until its end comes, and takes any number of headers. A
// connection that has received more than `max_header_bytes` (the kernel's count, TCP_INFO)
// since it was accepted or last answered, without complete headers, is shut down at the next
// scan.
class HttpHeaderDeadline final {
 public:
  static constexpr int64_t kMaxHeaderBytes = 64 * 1024;

  // `scan_thread` false starts no watchdog thread: the caller scans (tests).
  HttpHeaderDeadline(int port, std::chrono::milliseconds timeout,
                     int64_t max_header_bytes = kMaxHeaderBytes, bool scan_thread = true);
  ~HttpHeaderDeadline();  // Stops the watchdog thread.
  HttpHeaderDeadline(const HttpHeaderDeadline&) = delete;
  HttpHeaderDeadline& operator=(const HttpHeaderDeadline&) = delete;

  // A request from `addr`:`port` has its headers (pre-routing) / has been answered (logger).
  void Started(const std::string& addr, int port);
  void Finished(const std::string& addr, int port);
  // Connections closed so far for missing their deadline or sending headers past the bound.
  int64_t closed() const;
  // One look at the open connections, closing the late ones; the watchdog thread's step.
  void Scan();

 private:
  struct Connection {
    std::chrono::steady_clock::time_point since;  // Accepted, or last answered.
    // The kernel's count of bytes received at `since` (as the first scan after it read it).
    std::optional<uint64_t> received_since;
    bool answering = false;
    bool seen = false;  // Found by the current scan.
  };
  void Run();

  const int port_;
  const std::chrono::milliseconds timeout_;
  const int64_t max_header_bytes_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;                              // Guarded by mu_.
  std::map<std::string, Connection> connections_;  // By "addr:port"; guarded by mu_.
  int64_t closed_ = 0;                             // Guarded by mu_.
  std::thread thread_;
};

}  // namespace hotline::daemon
