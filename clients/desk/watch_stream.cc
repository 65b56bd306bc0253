#include "clients/desk/watch_stream.h"

#include <algorithm>
#include <memory>
#include <random>

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using std::chrono::milliseconds;

constexpr milliseconds kFirstBackoff{500};
constexpr milliseconds kMaxBackoff{10'000};

}  // namespace

grpc::ChannelArguments DeskChannelArguments() {
  return ReconnectingChannelArguments(kFirstBackoff, milliseconds(2'000));
}

void WatchStream::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void WatchStream::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    if (context_ != nullptr) {
      context_->TryCancel();
    }
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool WatchStream::Sleep(milliseconds delay) {
  // Back as soon as the channel connects again (AwaitConnection), not after the whole delay.
  AwaitConnection(*server_.channel(), delay, [this] {
    absl::MutexLock lock(&mutex_);
    return stopping_;
  });
  absl::MutexLock lock(&mutex_);
  return !stopping_;
}

void WatchStream::Loop() {
  std::mt19937 jitter(std::random_device{}());
  milliseconds backoff = kFirstBackoff;
  while (true) {
    grpc::ClientContext context;
    server_.Prepare(context);
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) {
        return;
      }
      context_ = &context;
    }
    std::unique_ptr<grpc::ClientReader<v1::DeskEvent>> reader =
        stub_.Watch(&context, v1::WatchDeskRequest());
    v1::DeskEvent event;
    while (reader->Read(&event)) {
      backoff = kFirstBackoff;  // It worked: a later drop starts the backoff afresh.
      callbacks_.on_event(event);
    }
    const grpc::Status status = reader->Finish();
    {
      absl::MutexLock lock(&mutex_);
      context_ = nullptr;
      if (stopping_) {
        return;
      }
    }
    if (status.error_code() == grpc::StatusCode::ABORTED ||
        (callbacks_.is_final && callbacks_.is_final(status))) {
      callbacks_.on_stopped(status);
      return;
    }
    // Jitter spreads the desks of a whole centre after a daemon restart.
    const milliseconds delay =
        backoff / 2 + milliseconds(std::uniform_int_distribution<int64_t>(
                          0, static_cast<int64_t>(backoff.count() / 2))(jitter));
    callbacks_.on_lost(status, delay);
    if (!Sleep(delay)) {
      return;
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace hotline::clients
