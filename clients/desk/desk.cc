#include "clients/desk/desk.h"

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "clients/common/client.h"
#include "clients/common/enum_names.h"
#include "clients/common/text.h"
#include "clients/common/worker.h"
#include "clients/desk/desk_commands.h"
#include "clients/desk/desk_model.h"
#include "clients/desk/watch_stream.h"
#include "hotline/v1/desk.grpc.pb.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;

// How many recorded calls the desk remembers (Desk::recorded_).
constexpr size_t kRecordedKept = 16;
// Threads for the requests made at once (Desk::at_once_). Each holds its thread until answered,
// for up to kUnaryTimeout (10 s) while the daemon's database is locked, and an --auto-accept,
// --auto-disposition desk makes two a call: 64 are enough for 32 calls in those 10 s, far more
// than a person takes; more wait for a thread.
constexpr int kAtOnceThreads = 64;

// "available", "break (missed_offers)", "on_call call X".
std::string PresenceText(const v1::CounsellorStatus& status) {
  std::string text = EnumName(status.state());
  if (status.state() == v1::COUNSELLOR_STATE_BREAK &&
      status.break_reason() != v1::BREAK_REASON_UNSPECIFIED) {
    text += fmt::format(" ({})", EnumName(status.break_reason()));
  }
  if (!status.call_id().empty()) {
    text += " call " + status.call_id();
  }
  return text;
}

std::string OfferText(const v1::OfferEvent& offer) {
  const v1::CallSummary& call = offer.call();
  std::string text =
      fmt::format("offer call {} from {} province {} language {} topic {} priority {}",
                  call.call_id(), call.caller_masked(), call.province(), call.language(),
                  EnumName(call.topic()), EnumName(call.priority()));
  if (call.repeat_caller()) {
    text += " repeat-caller";
  }
  if (call.gender_preference() != v1::GENDER_UNSPECIFIED) {
    text += " prefers " + EnumName(call.gender_preference());
  }
  text += fmt::format(" expires {} (in {})", TimeOfDay(offer.expires_at()),
                      TimeUntil(offer.expires_at()));
  return text;
}

class Desk final {
 public:
  explicit Desk(const DeskOptions& options);
  ~Desk();

  Desk(const Desk&) = delete;
  Desk& operator=(const Desk&) = delete;

  int Run();

 private:
  // The watch's thread.
  WatchCallbacks Callbacks();
  // Handles the event, then marks the Watch answered: what the event posts (--available's
  // presence) is on a worker before Leave waits for the workers.
  void OnEvent(const v1::DeskEvent& event);
  void HandleEvent(const v1::DeskEvent& event);
  void OnLost(const grpc::Status& status, std::chrono::milliseconds delay);
  void OnStopped(const grpc::Status& status);

  // Main thread: stdin until the desk should exit. Lines become requests on the workers, so that
  // stdin is read on while a request waits for its answer.
  void ReadInput();
  void HandleLine(std::string_view line);
  // `quit` or the end of input: exits 0 once every request made so far has its answer (or its
  // error) printed and the Watch has had its first answer, unless that was its end.
  void Leave();
  // Returns once the Watch has had its first answer: an event, a drop or its end.
  void AwaitWatch();

  // Unary calls; each prints "ok: ..." or "error: <CODE>: <message>". Any thread.
  void SetPresence(v1::CounsellorState state,
                   v1::BreakReason reason = v1::BREAK_REASON_UNSPECIFIED);
  void AnswerOffer(const std::string& call_id, bool accept);
  // The calls a command without a call id is for, as the desk knows them now: the offer ringing;
  // the call in wrap-up, else the newest still owed a disposition; the call in wrap-up, else the
  // last one seen. Empty when there is none.
  std::string OfferCall();
  std::string DispositionCall();
  std::string NeverCall();
  // Each for the call it names (HandleLine fills in a typed command's).
  void SubmitDisposition(const v1::Disposition& disposition, bool ready_for_next,
                         const std::string& call_id);
  void NeverRouteCaller(const std::string& call_id);
  // --auto-disposition's disposition for `call_id`, at once, unless one is on its way already.
  void AutoDisposition(const std::string& call_id);

  // Makes Run return `code` (the first request wins). Any thread.
  void RequestExit(int code);
  // Interrupts ReadInput's poll.
  void Wake();

  const DeskOptions& options_;
  const Server server_;
  const std::unique_ptr<v1::DeskService::Stub> stub_;
  // A self-pipe: a byte written ends the main thread's poll on stdin. Closed by its destructor,
  // after the workers' (declared below), whose jobs may still write to it (RequestExit).
  struct WakePipe {
    std::array<int, 2> fds = {-1, -1};
    WakePipe() = default;
    WakePipe(const WakePipe&) = delete;
    WakePipe& operator=(const WakePipe&) = delete;
    ~WakePipe() {
      for (const int fd : fds) {
        if (fd >= 0) {
          close(fd);
        }
      }
    }
  } wake_pipe_;

  absl::Mutex mutex_;
  // The offer ringing now, the default for accept/decline.
  std::string offer_call_id_ ABSL_GUARDED_BY(mutex_);
  // Offers seen so far: an answer clears only the offer it answered, not the same call offered
  // again at once (after a decline, when nobody else can take it).
  uint64_t offers_seen_ ABSL_GUARDED_BY(mutex_) = 0;
  // A `dispo` sent again after no answer keeps its request id (desk_model.h).
  desk::DispositionIds disposition_ids_ ABSL_GUARDED_BY(mutex_);
  // The call in wrap-up, which dispo records.
  std::string wrap_up_call_id_ ABSL_GUARDED_BY(mutex_);
  // Calls whose wrap-up ended without a disposition, oldest first: `dispo` outside a wrap-up
  // records the newest of them, late.
  std::vector<std::string> owed_ ABSL_GUARDED_BY(mutex_);
  // The call connected or ended since the last offer: `never`'s default when none is in wrap-up
  // or ringing. Never a call only offered, declined or whose connect failed: a child this
  // counsellor did not speak with. Cleared by each offer, so `never` then asks for an id.
  std::string last_call_id_ ABSL_GUARDED_BY(mutex_);
  bool presence_seen_ ABSL_GUARDED_BY(mutex_) = false;
  // A stream was lost since the desk started: --available then no longer ends a break.
  bool reconnected_ ABSL_GUARDED_BY(mutex_) = false;
  // The calls this desk recorded last, newest last (at most kRecordedKept): a disposition_owed
  // the daemon sent before it had the record is not owed.
  std::deque<std::string> recorded_ ABSL_GUARDED_BY(mutex_);
  // The calls whose automatic disposition is sent and not yet answered (AutoDisposition).
  std::vector<std::string> disposing_ ABSL_GUARDED_BY(mutex_);
  int dispositions_ ABSL_GUARDED_BY(mutex_) = 0;
  bool watch_ended_ ABSL_GUARDED_BY(mutex_) = false;
  // The Watch has had its first answer: an event, a drop or its end.
  bool watch_answered_ ABSL_GUARDED_BY(mutex_) = false;
  std::optional<int> exit_code_ ABSL_GUARDED_BY(mutex_);
  // The typed requests but accept and decline, one after the other in the order typed.
  Worker requests_;
  // Accept and decline (typed or --auto-accept), --auto-disposition's dispositions and
  // --available's presence, each at once: the daemon answers a request only once it is written,
  // and while it waits for its database (another process holding a lock) an offer must still be
  // answered, and the watch thread must go on reading, or the offers ring out unanswered and the
  // counsellor goes on break.
  Worker at_once_{kAtOnceThreads};
  // Last: its thread calls into the members above (posting to the workers), and it stops first.
  WatchStream watch_;
};

Desk::Desk(const DeskOptions& options)
    : options_(options),
      server_(options.server, options.token, DeskChannelArguments()),
      stub_(v1::DeskService::NewStub(server_.channel())),
      watch_(server_, *stub_, Callbacks()) {
  if (pipe2(wake_pipe_.fds.data(), O_CLOEXEC) != 0) {
    // Without it the desk could not be woken to exit; nothing sensible runs without it.
    PrintErrorLine(fmt::format("error: pipe2: {}", std::strerror(errno)));
    std::abort();
  }
}

Desk::~Desk() = default;

int Desk::Run() {
  watch_.Start();
  if (isatty(STDIN_FILENO)) {
    PrintLine("type 'help' for commands");
  }
  ReadInput();
  watch_.Stop();

  absl::MutexLock lock(&mutex_);
  if (exit_code_) {
    return *exit_code_;
  }
  return 1;  // OnStopped printed why.
}

WatchCallbacks Desk::Callbacks() {
  return WatchCallbacks{
      .on_event = [this](const v1::DeskEvent& event) { OnEvent(event); },
      .on_lost = [this](const grpc::Status& status,
                        std::chrono::milliseconds delay) { OnLost(status, delay); },
      .on_stopped = [this](const grpc::Status& status) { OnStopped(status); },
      // A token refused will be refused again: a script should hear it, not wait.
      .is_final =
          [](const grpc::Status& status) {
            return status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                   status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
          },
  };
}

void Desk::OnLost(const grpc::Status& status, std::chrono::milliseconds delay) {
  {
    absl::MutexLock lock(&mutex_);
    presence_seen_ = false;  // The next stream starts with the presence again.
    reconnected_ = true;
    watch_answered_ = true;
  }
  // "within": the pause ends early when the connection is back (AwaitConnection).
  PrintErrorLine(fmt::format(
      "{}; reconnecting to {} within {:.1f} s (by {})",
      status.ok() ? std::string("error: the server ended the desk stream") : ErrorLine(status),
      WithDefaultPort(options_.server), static_cast<double>(delay.count()) / 1000.0,
      TimeOfDay(std::chrono::system_clock::now() + delay)));
}

void Desk::OnStopped(const grpc::Status& status) {
  bool leaving = false;
  {
    absl::MutexLock lock(&mutex_);
    watch_ended_ = true;
    watch_answered_ = true;
    leaving = exit_code_.has_value();
  }
  if (!leaving) {
    // Another desk took over (ABORTED), or the token is refused.
    PrintErrorLine(ErrorLine(status));
  }
  Wake();
}

void Desk::OnEvent(const v1::DeskEvent& event) {
  HandleEvent(event);
  absl::MutexLock lock(&mutex_);
  watch_answered_ = true;
}

void Desk::HandleEvent(const v1::DeskEvent& event) {
  const std::string at = TimeOfDay(event.at());
  switch (event.kind_case()) {
    case v1::DeskEvent::kOffer: {
      const std::string& call_id = event.offer().call().call_id();
      {
        absl::MutexLock lock(&mutex_);
        offer_call_id_ = call_id;
        ++offers_seen_;
        last_call_id_.clear();  // Only a call of this offer's that is talked to names it again.
      }
      PrintLine(at + " " + OfferText(event.offer()));
      if (options_.auto_accept) {
        at_once_.Post([this, call_id] { AnswerOffer(call_id, /*accept=*/true); });
      }
      break;
    }
    case v1::DeskEvent::kOfferRevoked: {
      const v1::OfferRevokedEvent& revoked = event.offer_revoked();
      {
        absl::MutexLock lock(&mutex_);
        if (offer_call_id_ == revoked.call_id()) {
          offer_call_id_.clear();
        }
      }
      PrintLine(
          fmt::format("{} revoked call {}: {}", at, revoked.call_id(), EnumName(revoked.reason())));
      break;
    }
    case v1::DeskEvent::kCallConnected: {
      {
        absl::MutexLock lock(&mutex_);
        last_call_id_ = event.call_connected().call_id();
      }
      PrintLine(fmt::format("{} connected call {}", at, event.call_connected().call_id()));
      break;
    }
    case v1::DeskEvent::kCallEnded: {
      {
        absl::MutexLock lock(&mutex_);
        last_call_id_ = event.call_ended().call_id();
      }
      PrintLine(fmt::format("{} ended call {}: {}", at, event.call_ended().call_id(),
                            EnumName(event.call_ended().outcome())));
      break;
    }
    case v1::DeskEvent::kDispositionOwed: {
      const std::string& call_id = event.disposition_owed().call_id();
      {
        absl::MutexLock lock(&mutex_);
        if (std::find(recorded_.begin(), recorded_.end(), call_id) != recorded_.end()) {
          // Recorded meanwhile: a desk opened into a wrap-up whose deadline the daemon had just
          // passed hears of the call twice (its presence, then this).
          break;
        }
        if (std::find(owed_.begin(), owed_.end(), call_id) == owed_.end()) {
          owed_.push_back(call_id);
        }
      }
      PrintLine(fmt::format("{} call {} still needs its disposition: dispo records it, late", at,
                            call_id));
      if (options_.auto_disposition) {
        AutoDisposition(call_id);
      }
      break;
    }
    case v1::DeskEvent::kWrapUpStarted: {
      const v1::WrapUpStartedEvent& wrap_up = event.wrap_up_started();
      {
        absl::MutexLock lock(&mutex_);
        wrap_up_call_id_ = wrap_up.call_id();
      }
      PrintLine(fmt::format("{} wrap-up call {} until {} (in {})", at, wrap_up.call_id(),
                            TimeOfDay(wrap_up.deadline()), TimeUntil(wrap_up.deadline())));
      if (options_.auto_disposition) {
        AutoDisposition(wrap_up.call_id());
      }
      break;
    }
    case v1::DeskEvent::kPresenceChanged: {
      const v1::CounsellorStatus& status = event.presence_changed().status();
      bool first = false;
      bool in_wrap_up = false;
      bool reconnected = false;
      {
        absl::MutexLock lock(&mutex_);
        reconnected = reconnected_;
        first = !presence_seen_;
        presence_seen_ = true;
        // The status names the call held; it corrects what the desk believes, e.g. an offer whose
        // revocation was missed or a desk started during wrap-up.
        if (status.state() == v1::COUNSELLOR_STATE_RESERVED) {
          if (!status.call_id().empty()) {
            offer_call_id_ = status.call_id();
          }
        } else {
          offer_call_id_.clear();
        }
        if (status.state() == v1::COUNSELLOR_STATE_WRAP_UP) {
          if (!status.call_id().empty()) {
            wrap_up_call_id_ = status.call_id();
            in_wrap_up = true;
          }
        } else {
          if (!wrap_up_call_id_.empty()) {
            // The wrap-up ended without a disposition: the daemon still takes it, late.
            owed_.push_back(std::exchange(wrap_up_call_id_, std::string()));
          }
        }
      }
      PrintLine(fmt::format("{} presence {}", at, PresenceText(status)));
      // The first event of each stream proves the Watch is open, which going AVAILABLE
      // requires. After a reconnect the counsellor may have been signed out meanwhile; a break
      // they took, or a supervisor gave them, stands.
      if (first && options_.available &&
          (status.state() == v1::COUNSELLOR_STATE_OFFLINE ||
           (status.state() == v1::COUNSELLOR_STATE_BREAK && !reconnected))) {
        at_once_.Post([this] { SetPresence(v1::COUNSELLOR_STATE_AVAILABLE); });
      }
      // A desk that opens into a wrap-up (started, or reconnected, during it) gets no
      // wrap_up_started: it records the call now.
      if (first && in_wrap_up && options_.auto_disposition) {
        AutoDisposition(status.call_id());
      }
      break;
    }
    case v1::DeskEvent::KIND_NOT_SET:
      // A newer daemon may send kinds this build does not know.
      PrintLine(at + " unknown event ignored");
      break;
  }
}

void Desk::ReadInput() {
  // Unattended desks (scripts, tests) run with stdin at end of file and must keep going.
  const bool unattended = options_.auto_accept || options_.auto_disposition.has_value() ||
                          options_.exit_after_calls > 0;
  bool stdin_open = true;
  std::string pending;
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      if (exit_code_ || watch_ended_) {
        return;
      }
    }
    std::array<pollfd, 2> fds = {
        {{wake_pipe_.fds[0], POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}}};
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      PrintErrorLine(fmt::format("error: poll: {}", std::strerror(errno)));
      RequestExit(1);
      return;
    }
    if (fds[0].revents != 0) {
      continue;  // Woken: the checks at the top decide.
    }
    if (fds[1].revents == 0) {
      continue;
    }
    // Raw reads rather than std::getline: iostream buffering would hide lines from poll.
    std::array<char, 4096> chunk;
    const ssize_t got = read(STDIN_FILENO, chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      stdin_open = false;
      if (!pending.empty()) {
        HandleLine(pending);  // A last line without its newline.
        pending.clear();
      }
      if (!unattended) {
        Leave();
      }
      continue;
    }
    pending.append(chunk.data(), static_cast<size_t>(got));
    for (size_t newline = pending.find('\n'); newline != std::string::npos;
         newline = pending.find('\n')) {
      const std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      HandleLine(line);
    }
  }
}

void Desk::HandleLine(std::string_view line) {
  absl::StatusOr<DeskCommand> command = ParseDeskCommand(line);
  if (!command.ok()) {
    PrintErrorLine("error: " + std::string(command.status().message()));
    return;
  }
  if (command->kind != DeskCommand::Kind::kNothing && command->kind != DeskCommand::Kind::kHelp) {
    // A command typed as the desk starts waits for its Watch: the daemon refuses AVAILABLE to a
    // desk whose Watch is not open yet, and the calls named below are those it has shown.
    AwaitWatch();
  }
  // A command without a call id is for the call the desk shows as it is typed, not for whatever
  // it shows once an earlier command, held by the daemon, is answered.
  if (command->call_id.empty()) {
    const auto take = [&](std::string call_id, std::string_view none) {
      command->call_id = std::move(call_id);
      if (command->call_id.empty()) {
        PrintErrorLine("error: " + std::string(none));
        return false;
      }
      return true;
    };
    if ((command->kind == DeskCommand::Kind::kAnswer &&
         !take(OfferCall(), "no offer is ringing")) ||
        (command->kind == DeskCommand::Kind::kDisposition &&
         !take(DispositionCall(), "no call is in wrap-up or waiting for its disposition")) ||
        (command->kind == DeskCommand::Kind::kNeverRoute &&
         !take(NeverCall(),
               "no call in wrap-up, ringing or talked to since the last offer; give its id: "
               "never CALL"))) {
      return;
    }
  }
  switch (command->kind) {
    case DeskCommand::Kind::kNothing:
      break;
    case DeskCommand::Kind::kPresence:
      requests_.Post([this, state = command->state, reason = command->break_reason] {
        SetPresence(state, reason);
      });
      break;
    case DeskCommand::Kind::kAnswer:
      at_once_.Post([this, call_id = command->call_id, accept = command->accept] {
        AnswerOffer(call_id, accept);
      });
      break;
    case DeskCommand::Kind::kDisposition:
      requests_.Post([this, disposition = command->disposition,
                      ready_for_next = command->ready_for_next, call_id = command->call_id] {
        SubmitDisposition(disposition, ready_for_next, call_id);
      });
      break;
    case DeskCommand::Kind::kNeverRoute:
      requests_.Post([this, call_id = command->call_id] { NeverRouteCaller(call_id); });
      break;
    case DeskCommand::Kind::kHelp:
      PrintLine(DeskHelp());
      break;
    case DeskCommand::Kind::kQuit:
      Leave();
      break;
  }
}

void Desk::Leave() {
  // The Watch has its first answer: a desk run with no input (`< /dev/null`, to check a token)
  // says its token is refused and exits 1, rather than 0 before it heard; and --available's
  // presence, posted on the stream's first event, is sent and answered before the desk exits.
  AwaitWatch();
  // Each line typed gets its answer before the desk exits.
  requests_.WaitIdle();
  at_once_.WaitIdle();
  {
    absl::MutexLock lock(&mutex_);
    if (watch_ended_) {
      return;  // OnStopped said why; Run returns 1.
    }
  }
  RequestExit(0);
}

void Desk::AwaitWatch() {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(&watch_answered_));
}

void Desk::SetPresence(v1::CounsellorState state, v1::BreakReason reason) {
  v1::SetPresenceRequest request;
  request.set_request_id(NewRequestId());
  request.set_state(state);
  request.set_break_reason(reason);
  v1::SetPresenceResponse response;
  // Through Server::Call: text that is not UTF-8 is refused before it is sent.
  const grpc::Status status = server_.Call(&v1::DeskService::Stub::SetPresence, request, &response);
  if (!status.ok()) {
    PrintErrorLine(ErrorLine(status));
    return;
  }
  PrintLine("ok: presence " + PresenceText(response.status()));
}

std::string Desk::OfferCall() {
  absl::MutexLock lock(&mutex_);
  return offer_call_id_;
}

std::string Desk::DispositionCall() {
  absl::MutexLock lock(&mutex_);
  return wrap_up_call_id_.empty() && !owed_.empty() ? owed_.back() : wrap_up_call_id_;
}

std::string Desk::NeverCall() {
  absl::MutexLock lock(&mutex_);
  if (!wrap_up_call_id_.empty()) {
    return wrap_up_call_id_;
  }
  return offer_call_id_.empty() ? last_call_id_ : offer_call_id_;
}

void Desk::AnswerOffer(const std::string& call_id, bool accept) {
  uint64_t offers_before = 0;
  {
    absl::MutexLock lock(&mutex_);
    offers_before = offers_seen_;
  }
  v1::AnswerOfferRequest request;
  request.set_request_id(NewRequestId());
  request.set_call_id(call_id);
  request.set_accept(accept);
  v1::AnswerOfferResponse response;
  // Through Server::Call: text that is not UTF-8 is refused before it is sent.
  const grpc::Status status = server_.Call(&v1::DeskService::Stub::AnswerOffer, request, &response);
  if (!status.ok()) {
    PrintErrorLine(ErrorLine(status));
    return;
  }
  {
    absl::MutexLock lock(&mutex_);
    if (offer_call_id_ == call_id && offers_seen_ == offers_before) {
      offer_call_id_.clear();
    }
  }
  PrintLine(fmt::format("ok: {} call {}", accept ? "accepted" : "declined", call_id));
}

void Desk::SubmitDisposition(const v1::Disposition& disposition, bool ready_for_next,
                             const std::string& call_id) {
  v1::SubmitDispositionRequest request;
  request.set_call_id(call_id);
  *request.mutable_disposition() = disposition;
  request.set_ready_for_next(ready_for_next);
  const std::string sent = request.SerializeAsString();
  {
    absl::MutexLock lock(&mutex_);
    request.set_request_id(disposition_ids_.For(call_id, NewRequestId()));
  }
  v1::SubmitDispositionResponse response;
  // Through Server::Call: text that is not UTF-8 is refused before it is sent.
  const grpc::Status status =
      server_.Call(&v1::DeskService::Stub::SubmitDisposition, request, &response);
  bool earlier_may_stand = false;
  {
    absl::MutexLock lock(&mutex_);
    earlier_may_stand =
        disposition_ids_.Sent(call_id, request.request_id(), sent, status.error_code());
  }
  if (!status.ok()) {
    PrintErrorLine(ErrorLine(status));
    return;
  }
  if (earlier_may_stand) {
    PrintLine(fmt::format(
        "note: call {}: an earlier dispo that got no answer may be what was recorded; if so, "
        "this one's changes are not",
        call_id));
  }
  bool enough = false;
  {
    absl::MutexLock lock(&mutex_);
    if (wrap_up_call_id_ == call_id) {
      wrap_up_call_id_.clear();
    }
    std::erase(owed_, call_id);
    recorded_.push_back(call_id);
    if (recorded_.size() > kRecordedKept) {
      recorded_.pop_front();
    }
    ++dispositions_;
    enough = options_.exit_after_calls > 0 && dispositions_ >= options_.exit_after_calls;
  }
  PrintLine(fmt::format("ok: disposition recorded for call {}{}; now {}", call_id,
                        response.late() ? " (late: after its wrap-up ended)" : "",
                        PresenceText(response.status())));
  if (enough) {
    RequestExit(0);
  }
}

void Desk::AutoDisposition(const std::string& call_id) {
  {
    absl::MutexLock lock(&mutex_);
    if (std::find(disposing_.begin(), disposing_.end(), call_id) != disposing_.end()) {
      // Sent already and not yet answered: a desk opened into a wrap-up whose deadline the
      // daemon had just passed hears of the call twice (its presence, then disposition_owed).
      return;
    }
    disposing_.push_back(call_id);
  }
  at_once_.Post([this, call_id] {
    SubmitDisposition(*options_.auto_disposition, /*ready_for_next=*/true, call_id);
    absl::MutexLock lock(&mutex_);
    std::erase(disposing_, call_id);
  });
}

void Desk::NeverRouteCaller(const std::string& call_id) {
  v1::NeverRouteCallerRequest request;
  request.set_request_id(NewRequestId());
  request.set_call_id(call_id);
  v1::NeverRouteCallerResponse response;
  // Through Server::Call: text that is not UTF-8 is refused before it is sent.
  const grpc::Status status =
      server_.Call(&v1::DeskService::Stub::NeverRouteCaller, request, &response);
  if (!status.ok()) {
    PrintErrorLine(ErrorLine(status));
    return;
  }
  PrintLine(fmt::format("ok: caller of call {} will not be routed to you again", call_id));
}

void Desk::RequestExit(int code) {
  {
    absl::MutexLock lock(&mutex_);
    if (!exit_code_) {
      exit_code_ = code;
    }
  }
  Wake();
}

void Desk::Wake() {
  const char byte = 0;
  // Never drained: every wake ends ReadInput for good, so the pipe only needs to turn readable.
  [[maybe_unused]] const ssize_t written = write(wake_pipe_.fds[1], &byte, 1);
}

}  // namespace

int RunDesk(const DeskOptions& options) {
  Desk desk(options);
  return desk.Run();
}

}  // namespace hotline::clients
