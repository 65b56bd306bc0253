#include "daemon/limits.h"

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

}  // namespace
}  // namespace hotline::daemon
