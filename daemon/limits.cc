#include "daemon/limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <vector>
#include <iterator>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/caller_key.h"
#include "daemon/time_source.h"

namespace hotline::daemon {

std::string PeerAddress(const std::string& peer) {
  // "ipv4:1.2.3.4:port", "ipv6:[::1]:port", "unix:/path": drop what follows the last colon
  // for the two IP forms.
  if (peer.rfind("ipv4:", 0) == 0 || peer.rfind("ipv6:", 0) == 0) {
    const size_t colon = peer.rfind(':');
    if (colon > 4) {
      return peer.substr(0, colon);
    }
  }
  return peer;
}

std::string CredentialKey(const grpc::ServerContext& ctx) {
  const std::string token = rpc::BearerToken(ctx);
  if (!token.empty()) {
    return absl::StrCat("token:", TokenHash(token));
  }
  return absl::StrCat("peer:", PeerAddress(ctx.peer()));
}

grpc::Status RateLimiter::Admit(const grpc::ServerContext& ctx) {
  if (Take(CredentialKey(ctx),
           time_ != nullptr ? time_->MonotonicNow() : std::chrono::steady_clock::now())) {
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("too many requests with this credential (at most ",
                                   static_cast<int64_t>(rate_), " a second, bursts of ",
                                   static_cast<int64_t>(burst_),
                                   ": [limits] requests_per_second); retry later"));
}

bool RateLimiter::Take(const std::string& key, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  auto refill = [&](Bucket& b) {
    const double seconds = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, seconds) * rate_);
    b.at = now;
  };
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMostCredentials) {
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        refill(b->second);
        b = b->second.tokens >= burst_ ? buckets_.erase(b) : std::next(b);
      }
      if (buckets_.size() >= kMostCredentials) {
        return false;
      }
    }
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  refill(it->second);
  if (it->second.tokens < 1) {
    return false;
  }
  it->second.tokens -= 1;
  return true;
}

bool PeerStreams::Open(const std::string& peer) {
  std::lock_guard lock(mu_);
  size_t& n = open_[PeerAddress(peer)];
  if (n >= most_) {
    return false;
  }
  ++n;
  return true;
}

void PeerStreams::Closed(const std::string& peer) {
  std::lock_guard lock(mu_);
  auto it = open_.find(PeerAddress(peer));
  if (it != open_.end() && --it->second == 0) {
    open_.erase(it);
  }
}

grpc::Status PeerStreams::Refusal() const {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("too many streams open from this address (at most ", most_,
                                   ": [limits] max_streams_per_peer)"));
}

int64_t SummaryLog::Count(routing::Timestamp now) {
  ++unreported_;
  if (logged_ && now - last_ < interval_) {
    return 0;
  }
  logged_ = true;
  last_ = now;
  return std::exchange(unreported_, 0);
}

}  // namespace hotline::daemon

namespace hotline::daemon {

namespace {

// "addr:port" of a socket address, as cpp-httplib writes Request::remote_addr and remote_port.
std::optional<std::string> Key(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {};
  int port = 0;
  if (a.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    port = ntohs(in6->sin6_port);
  } else {
    return std::nullopt;
  }
  return absl::StrCat(host, ":", port);
}

int LocalPort(int fd) {
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) {
    return -1;
  }
  if (local.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
  }
  if (local.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port);
  }
  return -1;
}

std::optional<std::string> PeerKey(int fd) {
  sockaddr_storage peer{};
  socklen_t len = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) {
    return std::nullopt;  // Not a connected socket (the listener, a file).
  }
  return Key(peer);
}

// The connections to `port` open now, as (fd, "addr:port" of the peer).
std::vector<std::pair<int, std::string>> ConnectionsTo(int port) {
  std::vector<std::pair<int, std::string>> open;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &fd) || LocalPort(fd) != port) {
      continue;
    }
    if (auto key = PeerKey(fd)) {
      open.emplace_back(fd, *key);
    }
  }
  return open;
}

}  // namespace

HttpHeaderDeadline::HttpHeaderDeadline(int port, std::chrono::milliseconds timeout,
                                       int64_t max_header_bytes, bool scan_thread)
    : port_(port), timeout_(timeout), max_header_bytes_(max_header_bytes) {
  if (scan_thread) {
    thread_ = std::thread([this] { Run(); });
  }
}

HttpHeaderDeadline::~HttpHeaderDeadline() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void HttpHeaderDeadline::Started(const std::string& addr, int port) {
  std::lock_guard lock(mu_);
  Connection& c = connections_[absl::StrCat(addr, ":", port)];
  c.answering = true;
}

void HttpHeaderDeadline::Finished(const std::string& addr, int port) {
  std::lock_guard lock(mu_);
  Connection& c = connections_[absl::StrCat(addr, ":", port)];
  c.answering = false;
  c.since = std::chrono::steady_clock::now();
  c.received_since.reset();
}

int64_t HttpHeaderDeadline::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

void HttpHeaderDeadline::Run() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_; })) {
    lock.unlock();
    Scan();
    lock.lock();
  }
}

void HttpHeaderDeadline::Scan() {
  // The HTTP connections open now, by fd, with what each has received (no lock held while
  // reading /proc).
  std::vector<std::pair<int, std::string>> open = ConnectionsTo(port_);
  std::vector<std::optional<uint64_t>> received;
  received.reserve(open.size());
  for (const auto& [fd, key] : open) {
    received.push_back(TcpBytesReceived(fd));
  }
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<int, std::string>> late;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, c] : connections_) {
      c.seen = false;
    }
    for (size_t i = 0; i < open.size(); ++i) {
      const auto& [fd, key] = open[i];
      auto [it, added] = connections_.try_emplace(key);
      Connection& c = it->second;
      if (added) {
        c.since = now;
        c.received_since = 0;  // Accepted since the last scan: all it sent is headers.
      }
      c.seen = true;
      if (c.answering) {
        continue;
      }
      if (!c.received_since) {
        c.received_since = received[i];  // Answered since the last scan.
      }
      const bool too_long = now - c.since > timeout_;
      if (received[i] && c.received_since && *received[i] < *c.received_since) {
        c.received_since = 0;  // Another connection from the same address and port.
      }
      const bool too_big =
          received[i] && c.received_since &&
          *received[i] - *c.received_since > static_cast<uint64_t>(max_header_bytes_);
      if (too_long || too_big) {
        late.emplace_back(fd, key);
      }
    }
    // A connection being answered stays even if this scan did not find it: it may have been
    // accepted, and its headers read, after the listing above. Forgetting it would make the next
    // scan take it for a new connection without headers, and a live page's event stream would be
    // shut at the deadline. Its answer's end (Finished) always comes, and the scan after that
    // forgets it once it is closed.
    std::erase_if(connections_,
                  [](const auto& entry) { return !entry.second.seen && !entry.second.answering; });
  }
  for (const auto& [fd, key] : late) {
    // The fd may have been closed and reused since the scan: only the same peer's is shut.
    if (PeerKey(fd) == key && LocalPort(fd) == port_ && shutdown(fd, SHUT_RDWR) == 0) {
      std::lock_guard lock(mu_);
      ++closed_;
    }
  }
}

}  // namespace hotline::daemon
