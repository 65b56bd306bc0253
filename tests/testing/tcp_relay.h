// A TCP relay for tests: listens on 127.0.0.1 (a port the OS picks) and carries each connection's
// bytes to and from a target port on 127.0.0.1, on one thread. Freeze() stops it moving bytes
// either way while every socket stays open, as a network that went silent does (a laptop asleep,
// Wi-Fi lost, a NAT entry dropped): neither end is told anything.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <utility>
#include <vector>

namespace hotline::testing {

class TcpRelay {
 public:
  explicit TcpRelay(int target_port) : target_port_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in address = Loopback(0);
    REQUIRE(bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(listen(listen_fd_, 16) == 0);
    socklen_t size = sizeof(address);
    REQUIRE(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &size) == 0);
    port_ = ntohs(address.sin_port);
    REQUIRE(pipe(wake_.data()) == 0);
    thread_ = std::thread([this] { Run(); });
  }
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;
  ~TcpRelay() {
    stop_ = true;
    Wake();
    thread_.join();
    for (const auto& [a, b] : pairs_) {
      close(a);
      close(b);
    }
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }

  int port() const { return port_; }
  // From now on no byte moves, and no new connection is accepted.
  void Freeze() {
    frozen_ = true;
    Wake();
  }

 private:
  static sockaddr_in Loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    return address;
  }
  void Wake() { (void)!write(wake_[1], "x", 1); }

  void Run() {
    while (!stop_) {
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}};
      if (!frozen_) {
        fds.push_back({listen_fd_, POLLIN, 0});
        for (const auto& [a, b] : pairs_) {
          fds.push_back({a, POLLIN, 0});
          fds.push_back({b, POLLIN, 0});
        }
      }
      if (poll(fds.data(), fds.size(), -1) < 0) {
        continue;
      }
      if (fds[0].revents != 0) {
        char drained[64];
        (void)!read(wake_[0], drained, sizeof(drained));
        continue;  // Frozen or stopping: look again.
      }
      if (fds.size() > 1 && fds[1].revents != 0) {
        Accept();
      }
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0 && !Carry(fds[i].fd)) {
          break;  // A pair closed: pairs_ changed under the loop.
        }
      }
    }
  }

  void Accept() {
    const int client = accept(listen_fd_, nullptr, nullptr);
    if (client < 0) {
      return;
    }
    const int server = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in target = Loopback(target_port_);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
      close(client);
      if (server >= 0) {
        close(server);
      }
      return;
    }
    pairs_.emplace_back(client, server);
  }

  // Moves what `fd` has to its peer; false when the pair closed.
  bool Carry(int fd) {
    for (size_t i = 0; i < pairs_.size(); ++i) {
      auto [a, b] = pairs_[i];
      if (fd != a && fd != b) {
        continue;
      }
      const int to = fd == a ? b : a;
      std::array<char, 65536> buffer;
      const ssize_t got = read(fd, buffer.data(), buffer.size());
      ssize_t sent = 0;
      while (got > 0 && sent < got) {
        const ssize_t n = write(to, buffer.data() + sent, static_cast<size_t>(got - sent));
        if (n <= 0) {
          break;
        }
        sent += n;
      }
      if (got <= 0 || sent < got) {
        close(a);
        close(b);
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(i));
        return false;
      }
      return true;
    }
    return true;
  }

  const int target_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::array<int, 2> wake_ = {-1, -1};
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stop_{false};
  std::vector<std::pair<int, int>> pairs_;  // (accepted, to the target); the thread's own.
  std::thread thread_;
};

}  // namespace hotline::testing
