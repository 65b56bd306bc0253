#include "daemon/limits.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "daemon/config.h"

namespace hotline::daemon {
namespace {

using std::chrono::milliseconds;

TEST_CASE("a credential gets its burst then one request per refill and others are apart",
          "[limits]") {
  Limits limits;
  limits.requests_per_second = 2;
  limits.request_burst = 3;
  RateLimiter limiter(limits);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  CHECK(limiter.Take("a", t0));
  CHECK(limiter.Take("a", t0));
  CHECK(limiter.Take("a", t0));
  CHECK_FALSE(limiter.Take("a", t0));
  CHECK(limiter.Take("b", t0));  // Another credential has its own bucket.
  CHECK_FALSE(limiter.Take("a", t0 + milliseconds(400)));
  CHECK(limiter.Take("a", t0 + milliseconds(500)));  // Half a second refills one.
  CHECK_FALSE(limiter.Take("a", t0 + milliseconds(500)));
}

TEST_CASE("a flood of made-up credentials cannot grow the rate limiter", "[limits]") {
  Limits limits;
  limits.requests_per_second = 1;
  limits.request_burst = 2;
  RateLimiter limiter(limits);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  for (size_t i = 0; i < RateLimiter::kMostCredentials; ++i) {
    REQUIRE(limiter.Take("k" + std::to_string(i), t0));  // Each used one of its two.
  }
  CHECK_FALSE(limiter.Take("one-too-many", t0));
  // Once the others have refilled they are forgotten and a new one is taken.
  CHECK(limiter.Take("one-too-many", t0 + std::chrono::seconds(2)));
}

TEST_CASE("streams per peer address are counted without the port", "[limits]") {
  Limits limits;
  limits.max_streams_per_peer = 2;
  PeerStreams peers(limits);
  CHECK(PeerAddress("ipv4:127.0.0.1:5000") == "ipv4:127.0.0.1");
  CHECK(PeerAddress("ipv6:[::1]:5000") == "ipv6:[::1]");
  CHECK(peers.Open("ipv4:10.0.0.1:1"));
  CHECK(peers.Open("ipv4:10.0.0.1:2"));
  CHECK_FALSE(peers.Open("ipv4:10.0.0.1:3"));
  CHECK(peers.Open("ipv4:10.0.0.2:1"));
  peers.Closed("ipv4:10.0.0.1:1");
  CHECK(peers.Open("ipv4:10.0.0.1:4"));
  CHECK(peers.Refusal().error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_CASE("a summary log reports the first occurrence then one count per interval",
          "[limits]") {
  SummaryLog log(std::chrono::seconds(10));
  const auto t0 = routing::Timestamp{} + std::chrono::hours(1);
  CHECK(log.Count(t0) == 1);
  CHECK(log.Count(t0 + std::chrono::seconds(1)) == 0);
  CHECK(log.Count(t0 + std::chrono::seconds(2)) == 0);
  CHECK(log.Count(t0 + std::chrono::seconds(11)) == 3);
}

TEST_CASE("the limits section is read and checked", "[limits]") {
  auto c = ParseConfig("[limits]\nmax_waiting_calls = 7\nhttp_workers = 9\n", "t.toml");
  REQUIRE(c.ok());
  CHECK(c->limits.max_waiting_calls == 7);
  CHECK(c->limits.http_workers == 9);
  auto bad = ParseConfig("[limits]\nmax_message_bytes = 10\n", "t.toml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("limits.max_message_bytes") != std::string::npos);
  CHECK_FALSE(ParseConfig("[limits]\nmax_wait = 1\n", "t.toml").ok());  // A typo is an error.
}

// A loopback TCP socket's port (0 if it has none).
int PortOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  return getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0 ? ntohs(a.sin_port) : 0;
}

// A TCP socket bound to 127.0.0.1 on a port the OS picks.
int BoundSocket() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  return fd;
}

TEST_CASE("the HTTP header watchdog keeps a connection being answered that its scan missed",
          "[limits]") {
  // The race this stands for: a scan lists the open connections, a connection is accepted and
  // its headers read (Started) before the scan takes its lock, and the scan, not having listed
  // it, forgot it. The next scan took it for a new connection without headers and shut it at
  // the deadline: a live page's event stream, answered for as long as the page is open, was
  // cut off. Here Started comes before the connection exists, which a scan misses the same way.
  const int listener = BoundSocket();
  REQUIRE(listen(listener, 4) == 0);
  HttpHeaderDeadline watchdog(PortOf(listener), milliseconds(0),
                              HttpHeaderDeadline::kMaxHeaderBytes, /*scan_thread=*/false);
  const int client = BoundSocket();
  watchdog.Started("127.0.0.1", PortOf(client));
  watchdog.Scan();  // Before the connection: not found.
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(static_cast<uint16_t>(PortOf(listener)));
  REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
  const int accepted = accept(listener, nullptr, nullptr);
  REQUIRE(accepted >= 0);
  watchdog.Scan();
  watchdog.Scan();  // A deadline of 0 has passed for anything not being answered.
  CHECK(watchdog.closed() == 0);
  // Once answered, the same connection is held to the deadline again: the watchdog does see it.
  watchdog.Finished("127.0.0.1", PortOf(client));
  watchdog.Scan();
  CHECK(watchdog.closed() == 1);
  close(accepted);
  close(client);
  close(listener);
}

}  // namespace
}  // namespace hotline::daemon
