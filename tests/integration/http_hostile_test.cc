// The HTTP port under clients that misbehave on purpose, over raw sockets (cpp-httplib's client
// would not send what they send): bodies the daemon never reads, and headers that never end.
// cpp-httplib 0.11.4 reads a chunked body, or one without a length, into memory without limit,
// and grows a request line or a header line until its end comes (docs/limits.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <optional>
#include <string>

#include "daemon/limits.h"
#include "tests/testing/daemon_fixture.h"

namespace hotline {
namespace {

using testing::DaemonFixture;

// A TCP connection to the daemon's HTTP port; reads wait at most the fixtures' patience.
class RawHttp {
 public:
  explicit RawHttp(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    REQUIRE(fd_ >= 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
    timeval patience{};
    patience.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(testing::kPatience).count();
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &patience, sizeof(patience));
  }
  ~RawHttp() { close(fd_); }
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;

  // False once the daemon has ended the connection (or a write waited past the patience).
  bool Send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // What the daemon sends until it closes the connection; nullopt if it neither sends nor
  // closes within the patience.
  std::optional<std::string> ReadToEnd() {
    std::string got;
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) {
        return got;
      }
      if (n < 0) {
        return std::nullopt;
      }
      got.append(buf, static_cast<size_t>(n));
    }
  }

  // Sends `piece` again and again until the daemon ends the connection; the bytes sent by then,
  // or nullopt when `most` bytes went without that.
  std::optional<size_t> SendUntilCut(const std::string& piece, size_t most) {
    size_t sent = 0;
    while (sent < most) {
      if (!Send(piece)) {
        return sent;
      }
      sent += piece.size();
    }
    return std::nullopt;
  }

 private:
  const int fd_;
};

TEST_CASE("an HTTP request with a body is answered and its connection read no more",
          "[integration][hostile][http]") {
  // A short keep-alive wait: the connection's end comes sooner after the answers.
  DaemonFixture f([](daemon::Config& c) { c.limits.http_io_timeout_ms = 1'000; });
  const std::string piece = "1000\r\n" + std::string(0x1000, 'a') + "\r\n";  // A 4 KiB chunk.
  struct Case {
    std::string head;
    std::string status;
  };
  const Case c = GENERATE(
      Case{"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", " 405 "},
      Case{"POST / HTTP/1.1\r\nHost: x\r\n\r\n", " 405 "},
      Case{"PUT /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n", " 405 "},
      Case{"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", " 413 "},
      Case{"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n", " 413 "});
  CAPTURE(c.head);
  RawHttp http(f.daemon->http_port());
  REQUIRE(http.Send(c.head + piece));
  // Answered first, before the body (which, chunked or without a length, never ends for
  // cpp-httplib); what follows is read as further requests, each answered 400, until the
  // keep-alive limit ends the connection however much more the client sends.
  const std::optional<std::string> response = http.ReadToEnd();
  REQUIRE(response);
  CHECK(response->rfind("HTTP/1.1" + c.status, 0) == 0);
  CHECK(response->find("Connection: close") != std::string::npos);
  CHECK(http.SendUntilCut(piece, size_t{64} << 20));

  // And the port serves on.
  RawHttp next(f.daemon->http_port());
  REQUIRE(next.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::optional<std::string> ok = next.ReadToEnd();
  REQUIRE(ok);
  CHECK(ok->rfind("HTTP/1.1 200 ", 0) == 0);
}

TEST_CASE("HTTP headers that never end are cut off by their size, before their deadline",
          "[integration][hostile][http]") {
  // A deadline no test waits for: only the size can end these.
  DaemonFixture f([](daemon::Config& c) { c.limits.http_header_timeout_ms = 3'600'000; });
  const std::string kb(1024, 'a');
  struct Case {
    std::string start;
    std::string piece;
  };
  const Case c = GENERATE_COPY(Case{"GET /", kb},  // A request line without its end.
                               Case{"GET / HTTP/1.1\r\n", "X-Pad: " + kb + "\r\n"});  // Headers.
  CAPTURE(c.start);
  RawHttp http(f.daemon->http_port());
  REQUIRE(http.Send(c.start));
  // Without the bound the daemon reads all of it into memory; with it, the connection is shut
  // within a scan of the watchdog (twice a second) of passing 64 KiB.
  const std::optional<size_t> sent = http.SendUntilCut(c.piece, size_t{2} << 30);
  REQUIRE(sent);
  CHECK(*sent > daemon::HttpHeaderDeadline::kMaxHeaderBytes);
  CAPTURE(*sent);
}

}  // namespace
}  // namespace hotline
