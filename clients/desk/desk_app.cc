#include "clients/desk/desk_app.h"

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>
#include <fmt/format.h>

#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "clients/common/client.h"
#include "clients/desk/desk_model.h"
#include "clients/desk/desk_screen.h"
#include "clients/desk/terminal.h"
#include "hotline/v1/desk.grpc.pb.h"

namespace hotline::clients::desk {
namespace {

namespace v1 = hotline::v1;
using std::chrono::milliseconds;

// The Watch stream's backoff: from half a second, doubling to ten (docs/desk-api.md).
constexpr milliseconds kFirstBackoff{500};
constexpr milliseconds kMaxBackoff{10'000};
// The figures are not worth waiting long for: they are asked again a minute later.
constexpr milliseconds kFiguresTimeout{3'000};
TimePoint Now() { return std::chrono::system_clock::now(); }

// What the other threads hand to the screen thread: changes to the model, applied in order.
// Thread-safe.
class Inbox final {
 public:
  void Post(std::function<void(DeskModel&)> change) {
    absl::MutexLock lock(&mutex_);
    changes_.push_back(std::move(change));
  }

  // Applies everything posted since the last call, in order. Screen thread only.
  void ApplyTo(DeskModel& model) {
    std::vector<std::function<void(DeskModel&)>> changes;
    {
      absl::MutexLock lock(&mutex_);
      changes.swap(changes_);
    }
    for (const auto& change : changes) {
      change(model);
    }
  }

 private:
  absl::Mutex mutex_;
  std::vector<std::function<void(DeskModel&)>> changes_ ABSL_GUARDED_BY(mutex_);
};

// Runs jobs one at a time, in order, on a thread of its own: the screen never waits for the
// network. Thread-safe.
class Worker final {
 public:
  Worker() : thread_([this] { Loop(); }) {}
  ~Worker() {
    {
      absl::MutexLock lock(&mutex_);
      stopping_ = true;
    }
    thread_.join();
  }

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Post(std::function<void()> job) {
    absl::MutexLock lock(&mutex_);
    jobs_.push_back(std::move(job));
  }

  // True while a job is queued or running.
  bool Busy() {
    absl::MutexLock lock(&mutex_);
    return !jobs_.empty() || running_;
  }

 private:
  void Loop() {
    while (true) {
      std::function<void()> job;
      {
        absl::MutexLock lock(&mutex_);
        running_ = false;
        const auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
          return stopping_ || !jobs_.empty();
        };
        mutex_.Await(absl::Condition(&ready));
        if (stopping_) {
          return;  // What is left unsent was never answered; the model still holds it.
        }
        job = std::move(jobs_.front());
        jobs_.pop_front();
        running_ = true;
      }
      job();
    }
  }

  absl::Mutex mutex_;
  std::deque<std::function<void()>> jobs_ ABSL_GUARDED_BY(mutex_);
  bool running_ ABSL_GUARDED_BY(mutex_) = false;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

// Keeps the counsellor's Watch stream open, reopening it after a drop with a jittered backoff,
// and posts what it receives to the inbox. Thread-safe.
class WatchThread final {
 public:
  WatchThread(const Server& server, v1::DeskService::Stub& stub, Inbox& inbox)
      : server_(server), stub_(stub), inbox_(inbox) {}
  ~WatchThread() { Stop(); }

  WatchThread(const WatchThread&) = delete;
  WatchThread& operator=(const WatchThread&) = delete;

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }

  // Ends the stream and the thread. Idempotent.
  void Stop() {
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

 private:
  void Loop();
  // Waits `delay` unless Stop comes first; false when stopping.
  bool Sleep(milliseconds delay) {
    absl::MutexLock lock(&mutex_);
    mutex_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(delay));
    return !stopping_;
  }

  const Server& server_;
  v1::DeskService::Stub& stub_;
  Inbox& inbox_;
  std::thread thread_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // The open stream's context, so that Stop can cancel it.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
};

void WatchThread::Loop() {
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
      inbox_.Post([event](DeskModel& model) { model.Apply(event); });
    }
    const grpc::Status status = reader->Finish();
    {
      absl::MutexLock lock(&mutex_);
      context_ = nullptr;
      if (stopping_) {
        return;
      }
    }
    if (status.error_code() == grpc::StatusCode::ABORTED) {
      // Another desk signed in with this token: reconnecting would take the desk back from it.
      inbox_.Post([](DeskModel& model) {
        model.OnWatchStopped(
            "Một máy khác đã đăng nhập bằng tài khoản này / another desk signed in as you: "
            "Q để thoát / Q quits");
      });
      return;
    }
    // Jitter spreads the desks of a whole centre after a daemon restart.
    const milliseconds delay =
        backoff / 2 + milliseconds(std::uniform_int_distribution<int64_t>(
                          0, static_cast<int64_t>(backoff.count() / 2))(jitter));
    const std::string why =
        status.ok() ? std::string("error: the server ended the desk stream") : ErrorLine(status);
    const TimePoint retry_at = Now() + delay;
    inbox_.Post([why, retry_at](DeskModel& model) { model.OnWatchLost(why, retry_at); });
    if (!Sleep(delay)) {
      return;
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

// The screen thread: the model, the terminal and the desk's requests.
class ScreenDesk final {
 public:
  explicit ScreenDesk(const ScreenOptions& options)
      : server_(options.server, options.token),
        stub_(v1::DeskService::NewStub(server_.channel())),
        model_(options.taxonomy, options.lang, WithDefaultPort(options.server)),
        watch_(server_, *stub_, inbox_) {}

  int Run();

 private:
  // Sends what a key asked for on the requests' worker; false when the desk should exit.
  bool Perform(const Request& request);
  void SetPresence(const Request& request);
  void AnswerOffer(const Request& request);
  void Submit(const Request& request);
  void NeverRoute(const Request& request);
  void FetchFigures();

  const Server server_;
  const std::unique_ptr<v1::DeskService::Stub> stub_;
  DeskModel model_;
  Inbox inbox_;
  WatchThread watch_;
  // The counsellor's requests, in the order the keys were pressed.
  Worker requests_;
  // The figures apart: an older daemon may leave them unanswered until the deadline, and an
  // accept must never wait behind them.
  Worker figures_;
  int offers_rung_ = 0;
  // Worker thread only: the last disposition that got no answer, with its request id. Sent again
  // unchanged it keeps the id, so that a retry of one the daemon did record is answered as the
  // original instead of refused as a second disposition.
  std::string unanswered_submit_;
  std::string unanswered_submit_id_;
};

int ScreenDesk::Run() {
  Terminal terminal;
  watch_.Start();
  while (true) {
    inbox_.ApplyTo(model_);
    if (model_.offers_rung() > offers_rung_) {
      offers_rung_ = model_.offers_rung();
      terminal.Bell();
    }
    if (model_.connection().open && model_.FiguresDue(Now()) && !figures_.Busy()) {
      FetchFigures();
    }
    terminal.Blit(Render(model_, Now(), terminal.width(), terminal.height()));
    const std::optional<Key> key = terminal.NextKey();
    if (key && !Perform(model_.OnKey(*key))) {
      break;
    }
  }
  watch_.Stop();
  return 0;
}

bool ScreenDesk::Perform(const Request& request) {
  switch (request.kind) {
    case Request::Kind::kNone:
      return true;
    case Request::Kind::kSetPresence:
      requests_.Post([this, request] { SetPresence(request); });
      return true;
    case Request::Kind::kAnswer:
      requests_.Post([this, request] { AnswerOffer(request); });
      return true;
    case Request::Kind::kSubmit:
      requests_.Post([this, request] { Submit(request); });
      return true;
    case Request::Kind::kNeverRoute:
      requests_.Post([this, request] { NeverRoute(request); });
      return true;
    case Request::Kind::kQuit:
      return false;
  }
  return true;
}

void ScreenDesk::SetPresence(const Request& request) {
  v1::SetPresenceRequest call;
  call.set_request_id(NewRequestId());
  call.set_state(request.state);
  call.set_break_reason(request.break_reason);
  v1::SetPresenceResponse response;
  const grpc::Status status = server_.Call(&v1::DeskService::Stub::SetPresence, call, &response);
  if (!status.ok()) {
    inbox_.Post([error = ErrorLine(status)](DeskModel& model) { model.OnRequestFailed(error); });
    return;
  }
  inbox_.Post([response](DeskModel& model) { model.OnPresenceAnswer(response.status()); });
}

void ScreenDesk::AnswerOffer(const Request& request) {
  v1::AnswerOfferRequest call;
  call.set_request_id(NewRequestId());
  call.set_call_id(request.call_id);
  call.set_accept(request.accept);
  v1::AnswerOfferResponse response;
  const grpc::Status status = server_.Call(&v1::DeskService::Stub::AnswerOffer, call, &response);
  inbox_.Post([request, error = status.ok() ? std::string() : ErrorLine(status),
               gone = status.error_code() == grpc::StatusCode::NOT_FOUND](DeskModel& model) {
    model.OnAnswerOffer(request, error, gone);
  });
}

void ScreenDesk::Submit(const Request& request) {
  v1::SubmitDispositionRequest call;
  call.set_call_id(request.call_id);
  *call.mutable_disposition() = request.disposition;
  call.set_ready_for_next(request.ready_for_next);
  const std::string sent = call.SerializeAsString();
  call.set_request_id(sent == unanswered_submit_ ? unanswered_submit_id_ : NewRequestId());
  v1::SubmitDispositionResponse response;
  const grpc::Status status =
      server_.Call(&v1::DeskService::Stub::SubmitDisposition, call, &response);
  if (status.ok()) {
    unanswered_submit_.clear();
    inbox_.Post([request, response](DeskModel& model) { model.OnSubmitted(request, response); });
    return;
  }
  const bool unanswered = status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                          status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  unanswered_submit_ = unanswered ? sent : std::string();
  unanswered_submit_id_ = call.request_id();
  // The form stays open with what was typed: nothing is lost, the counsellor sends it again.
  inbox_.Post([error = ErrorLine(status)](DeskModel& model) { model.OnRequestFailed(error); });
}

void ScreenDesk::NeverRoute(const Request& request) {
  v1::NeverRouteCallerRequest call;
  call.set_request_id(NewRequestId());
  call.set_call_id(request.call_id);
  v1::NeverRouteCallerResponse response;
  const grpc::Status status =
      server_.Call(&v1::DeskService::Stub::NeverRouteCaller, call, &response);
  inbox_.Post([request, error = status.ok() ? std::string() : ErrorLine(status)](DeskModel& model) {
    model.OnNeverRouted(request, error);
  });
}

void ScreenDesk::FetchFigures() {
  model_.OnFiguresAsked(Now());
  figures_.Post([this] {
    v1::ShiftFiguresResponse response;
    grpc::ClientContext context;
    server_.Prepare(context, kFiguresTimeout);
    const grpc::Status status = stub_->ShiftFigures(&context, v1::ShiftFiguresRequest(), &response);
    const TimePoint now = Now();
    inbox_.Post([status, response, now](DeskModel& model) {
      if (status.ok()) {
        model.OnFigures(response, now);
      } else if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
        model.OnFiguresUnavailable(now);  // An older daemon: it refuses the call.
      } else if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        // A slow moment, or an older daemon whose asynchronous server never takes the call.
        model.OnFiguresTimedOut(now);
      } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        model.OnFiguresBusy(now);  // Another desk's are being read: "ask again a second later".
      } else {
        model.OnFiguresFailed(ErrorLine(status), now);
      }
    });
  });
}

}  // namespace

int RunScreen(const ScreenOptions& options) {
  ScreenDesk desk(options);
  return desk.Run();
}

}  // namespace hotline::clients::desk
