// TcpBytesReceived (limits.h), alone in its file: <linux/tcp.h> has tcpi_bytes_received, which
// glibc's <netinet/tcp.h> lacks, and the two cannot be included together.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace hotline::daemon {

std::optional<uint64_t> TcpBytesReceived(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
      len < offsetof(tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received)) {
    return std::nullopt;
  }
  return info.tcpi_bytes_received;
}

}  // namespace hotline::daemon
