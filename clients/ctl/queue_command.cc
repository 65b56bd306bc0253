#include "clients/ctl/queue_command.h"

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "clients/common/queue_model.h"
#include "clients/common/text.h"
#include "clients/ctl/queue_screen.h"
#include "clients/ctl/supervisor_commands.h"
#include "hotline/v1/supervisor.grpc.pb.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kFirstRetry{250};
constexpr std::chrono::milliseconds kLastRetry{5'000};
// How often a terminal is redrawn without an update, so that waits tick.
constexpr absl::Duration kTick = absl::Seconds(1);

// "hotline queue at 10:00:01.234  update 42": the daemon's time of the update plus the time
// elapsed here since.
std::string Title(const QueueModel& model, std::chrono::milliseconds since_update) {
  const auto at = std::chrono::system_clock::time_point(std::chrono::milliseconds(
                      google::protobuf::util::TimeUtil::TimestampToMilliseconds(model.at()))) +
                  since_update;
  return fmt::format("hotline queue at {}  update {}", TimeOfDay(at), model.sequence());
}

// Codes no retry mends: the token, the request, or a daemon without the method.
bool Final(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED ||
         code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::UNIMPLEMENTED;
}

// SIGINT and SIGTERM write a byte here: a handler may do little else (async-signal-safe only).
std::array<int, 2> signal_pipe = {-1, -1};

void OnSignal(int /*signal*/) {
  const int saved_errno = errno;
  const char byte = 's';
  [[maybe_unused]] const ssize_t written = write(signal_pipe[1], &byte, 1);
  errno = saved_errno;
}

// One `queue --watch`: a reader thread applies updates to the model, a signal thread waits for
// Ctrl-C, and the calling thread draws. All three share the state below.
class Watch final {
 public:
  Watch(const Server& server, std::string address)
      : server_(server), address_(std::move(address)), terminal_(isatty(STDOUT_FILENO) == 1) {}
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

  int Run() {
    if (pipe2(signal_pipe.data(), O_CLOEXEC) != 0) {
      PrintErrorLine(fmt::format("error: cannot watch for Ctrl-C: pipe: {}", std::strerror(errno)));
      return 1;
    }
    struct sigaction action {};
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    // Installed over whatever the shell set: a background job's SIGINT is ignored otherwise.
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);

    std::thread reader([this] { Read(); });
    std::thread signals([this] { AwaitSignal(); });
    Draw();
    OnSignal(0);  // Wakes the signal thread when the reader gave up, not a signal.
    signals.join();
    reader.join();

    absl::MutexLock lock(&mu_);
    if (!final_error_.empty()) {
      PrintErrorLine(final_error_);
      return 1;
    }
    return 0;
  }

 private:
  // The calling thread: a frame on every change, and every second on a terminal.
  void Draw() {
    while (true) {
      std::string frame;
      {
        absl::MutexLock lock(&mu_);
        while (!stopping_ && !dirty_) {
          if (terminal_) {
            if (changed_.WaitWithTimeout(&mu_, kTick)) {
              break;  // Timed out: redraw so that the waits tick.
            }
          } else {
            changed_.Wait(&mu_);
          }
        }
        if (stopping_) {
          return;
        }
        dirty_ = false;
        frame = Frame();
      }
      std::fwrite(frame.data(), 1, frame.size(), stdout);
      std::fflush(stdout);
    }
  }

  std::string Frame() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::string> lines;
    if (model_.has_view()) {
      const auto since_update =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - applied_at_);
      lines.push_back(Title(model_, since_update) + "  (Ctrl-C quits)");
      if (!trouble_.empty()) {
        lines.push_back(trouble_);
      }
      std::vector<std::string> screen = QueueScreen(model_, since_update);
      lines.insert(lines.end(), screen.begin(), screen.end());
    } else {
      lines.push_back(trouble_.empty() ? fmt::format("connecting to hotlined at {}…", address_)
                                       : trouble_);
    }
    std::string frame;
    if (terminal_) {
      // Home, each line over the old one (clearing its rest), then clear below: no flicker.
      frame = "\x1b[H";
      for (const std::string& line : lines) {
        frame += line + "\x1b[K\n";
      }
      frame += "\x1b[J";
    } else {
      frame = "\n";
      for (const std::string& line : lines) {
        frame += line + "\n";
      }
    }
    return frame;
  }

  // The reader thread: streams, applies, and reconnects with resume until stopped.
  void Read() {
    const auto stub = v1::SupervisorService::NewStub(server_.channel());
    std::chrono::milliseconds retry = kFirstRetry;
    while (true) {
      grpc::ClientContext context;
      server_.Prepare(context);
      // Wait for the daemon to be back rather than fail at once while the channel is down; Ctrl-C
      // still ends the wait (TryCancel).
      context.set_wait_for_ready(true);
      v1::WatchQueueRequest request;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) {
          return;
        }
        if (!fresh_view_) {
          request.set_epoch(model_.epoch());
          request.set_after(model_.sequence());
        }
        fresh_view_ = false;
        stream_context_ = &context;
      }
      const auto stream = stub->WatchQueue(&context, request);
      v1::QueueUpdate update;
      std::string out_of_step;
      while (stream->Read(&update)) {
        absl::MutexLock lock(&mu_);
        if (const absl::Status applied = model_.Apply(update); !applied.ok()) {
          // The model is as it was: resume after the last update it applied. Should the resumed
          // stream stop at the same place again, ask for a full view instead.
          out_of_step = std::string(applied.message());
          const auto here = std::make_pair(model_.epoch(), model_.sequence());
          fresh_view_ = last_gap_ == here;
          last_gap_ = here;
          context.TryCancel();
          break;
        }
        applied_at_ = Clock::now();
        trouble_.clear();
        dirty_ = true;
        retry = kFirstRetry;
        changed_.Signal();
      }
      const grpc::Status status = stream->Finish();

      absl::MutexLock lock(&mu_);
      stream_context_ = nullptr;
      if (stopping_) {
        return;
      }
      if (out_of_step.empty() && Final(status.error_code())) {
        final_error_ = SupervisorErrorLine(status, address_);
        stopping_ = true;
        changed_.Signal();
        return;
      }
      trouble_ = fmt::format("reconnecting… ({})", out_of_step.empty()
                                                       ? SupervisorErrorText(status, address_)
                                                       : "missed an update: " + out_of_step);
      dirty_ = true;
      changed_.Signal();
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(retry));
      retry = std::min(retry * 2, kLastRetry);
    }
  }

  // The signal thread: the first byte in the pipe stops everything.
  void AwaitSignal() {
    char byte = 0;
    while (read(signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (stream_context_ != nullptr) {
      stream_context_->TryCancel();  // Read() returns false at once.
    }
    changed_.Signal();
  }

  const Server& server_;
  const std::string address_;
  const bool terminal_;

  absl::Mutex mu_;
  absl::CondVar changed_;
  QueueModel model_ ABSL_GUARDED_BY(mu_);
  // When model_'s last update was applied, for the waits to tick.
  Clock::time_point applied_at_ ABSL_GUARDED_BY(mu_);
  // "reconnecting… (why)" while the stream is down; empty while it is up.
  std::string trouble_ ABSL_GUARDED_BY(mu_);
  // Something changed since the last frame.
  bool dirty_ ABSL_GUARDED_BY(mu_) = true;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Where the model stood at the last update that did not follow it, and whether the next stream
  // asks for a full view rather than resuming (the resume stopped there again).
  std::optional<std::pair<std::string, uint64_t>> last_gap_ ABSL_GUARDED_BY(mu_);
  bool fresh_view_ ABSL_GUARDED_BY(mu_) = false;
  // The stream open now, for the signal thread to cancel.
  grpc::ClientContext* stream_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Set when the reader gave up: the error line to print.
  std::string final_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

int ShowQueue(const Server& server, const std::string& address) {
  grpc::ClientContext context;
  server.Prepare(context, kUnaryTimeout);
  const auto stream = v1::SupervisorService::NewStub(server.channel())
                          ->WatchQueue(&context, v1::WatchQueueRequest());
  v1::QueueUpdate update;
  if (!stream->Read(&update)) {
    const grpc::Status status = stream->Finish();
    PrintErrorLine(status.ok() ? "error: hotlined ended the queue stream before sending a view"
                               : SupervisorErrorLine(status, address));
    return 1;
  }
  context.TryCancel();  // One view is all this needs.
  [[maybe_unused]] const grpc::Status cancelled = stream->Finish();

  QueueModel model;
  if (const absl::Status applied = model.Apply(update); !applied.ok()) {
    PrintErrorLine(fmt::format("error: hotlined's first update is not a full view: {}",
                               std::string(applied.message())));
    return 1;
  }
  PrintLine(Title(model, std::chrono::milliseconds::zero()));
  for (const std::string& line : QueueScreen(model, std::chrono::milliseconds::zero())) {
    PrintLine(line);
  }
  return 0;
}

grpc::ChannelArguments WatchChannelArguments() {
  return ReconnectingChannelArguments(kFirstRetry, kLastRetry);
}

int WatchQueue(const Server& server, const std::string& address) {
  Watch watch(server, address);
  return watch.Run();
}

}  // namespace hotline::clients
