#include "clients/desk/desk_app.h"

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <absl/time/time.h>
#include <fmt/format.h>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "clients/common/client.h"
#include "clients/common/worker.h"
#include "clients/desk/desk_model.h"
#include "clients/desk/desk_screen.h"
#include "clients/desk/terminal.h"
#include "clients/desk/watch_stream.h"
#include "hotline/v1/desk.grpc.pb.h"

namespace hotline::clients::desk {
namespace {

namespace v1 = hotline::v1;
using std::chrono::milliseconds;

// The figures are not worth waiting long for: they are asked again a minute later.
constexpr milliseconds kFiguresTimeout{3'000};
// Answers to offers at once, each on a thread until answered, for up to kUnaryTimeout (10 s)
// while the daemon's database is locked: enough for 8 offers in those 10 s, one ringing at a time.
constexpr int kAnswerThreads = 8;
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

// The Watch stream's callbacks for the screen: what it receives goes to the inbox.
WatchCallbacks ScreenWatch(Inbox& inbox) {
  return WatchCallbacks{
      .on_event =
          [&inbox](const v1::DeskEvent& event) {
            inbox.Post([event](DeskModel& model) { model.Apply(event); });
          },
      .on_lost =
          [&inbox](const grpc::Status& status, milliseconds delay) {
            const std::string why = status.ok()
                                        ? std::string("error: the server ended the desk stream")
                                        : ErrorLine(status);
            const TimePoint retry_at = Now() + delay;
            inbox.Post([why, retry_at](DeskModel& model) { model.OnWatchLost(why, retry_at); });
          },
      .on_stopped =
          [&inbox](const grpc::Status&) {
            // Another desk signed in with this token (ABORTED, the only final status here).
            inbox.Post([](DeskModel& model) {
              model.OnWatchStopped(
                  "Một máy khác đã đăng nhập bằng tài khoản này / another desk signed in as you: "
                  "Q để thoát / Q quits");
            });
          },
      .is_final = nullptr,
  };
}

// The screen thread: the model, the terminal and the desk's requests.
class ScreenDesk final {
 public:
  explicit ScreenDesk(const ScreenOptions& options)
      : server_(options.server, options.token, DeskChannelArguments()),
        stub_(v1::DeskService::NewStub(server_.channel())),
        model_(options.taxonomy, options.lang, WithDefaultPort(options.server)),
        watch_(server_, *stub_, ScreenWatch(inbox_)) {}

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
  WatchStream watch_;
  // The counsellor's requests, in the order the keys were pressed, but for the answers to offers.
  Worker requests_;
  // Accept and decline, each at once on a thread of its own: an offer's answer never waits
  // behind a request whose answer is held (the daemon waits for its database before it answers).
  Worker answers_{kAnswerThreads};
  // The figures apart: an older daemon may leave them unanswered until the deadline, and an
  // accept must never wait behind them.
  Worker figures_;
  int offers_rung_ = 0;
  // Worker thread only: the ids of dispositions that got no answer, by call.
  DispositionIds disposition_ids_;
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
      answers_.Post([this, request] { AnswerOffer(request); });
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
  call.set_request_id(disposition_ids_.For(request.call_id, NewRequestId()));
  v1::SubmitDispositionResponse response;
  const grpc::Status status =
      server_.Call(&v1::DeskService::Stub::SubmitDisposition, call, &response);
  const bool earlier_may_stand =
      disposition_ids_.Sent(request.call_id, call.request_id(), sent, status.error_code());
  if (status.ok()) {
    inbox_.Post([request, response, earlier_may_stand](DeskModel& model) {
      model.OnSubmitted(request, response);
      if (earlier_may_stand) {
        model.OnEarlierVersionMayStand(request.call_id);
      }
    });
    return;
  }
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
