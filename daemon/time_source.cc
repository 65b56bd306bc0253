#include "daemon/time_source.h"

#include <asio/steady_timer.hpp>

namespace hotline::daemon {

namespace {

class AsioTimer final : public Timer {
 public:
  explicit AsioTimer(asio::io_context& io) : timer_(io) {}

  void ArmAt(MonotonicTime at, std::function<void()> fire) override {
    timer_.expires_at(at);  // Cancels a pending wait: its handler gets operation_aborted.
    timer_.async_wait([fire = std::move(fire)](const std::error_code& ec) {
      if (!ec) {
        fire();
      }
    });
  }

  void Cancel() override { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

}  // namespace

routing::Timestamp RealTimeSource::SystemTime() const {
  return std::chrono::time_point_cast<routing::Millis>(std::chrono::system_clock::now());
}

MonotonicTime RealTimeSource::MonotonicNow() const { return std::chrono::steady_clock::now(); }

std::unique_ptr<Timer> RealTimeSource::MakeTimer(asio::io_context& io) {
  return std::make_unique<AsioTimer>(io);
}

}  // namespace hotline::daemon
