#include "clients/sim/gateway_sim.h"

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "clients/common/client.h"
#include "clients/common/enum_names.h"
#include "clients/common/text.h"
#include "clients/sim/timer_thread.h"
#include "hotline/v1/gateway.grpc.pb.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using Clock = TimerThread::Clock;

// After its last event is acknowledged the simulator half-closes the stream and expects the
// daemon to end it; past this grace it cancels the stream itself rather than hang.
constexpr std::chrono::seconds kCloseGrace{1};
// Between two attempts to reconnect: the first pause, doubled after each failed attempt up to the
// last, each drawn between half and all of it so that gateways cut off together do not all come
// back at the same instant.
constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::milliseconds kMaxBackoff{10'000};

// A stream that ended with one of these will not be mended by reconnecting: a wrong token or
// gateway id, a Hello the daemon refused, or another stream for the same gateway id that replaced
// this one (reconnecting would take the calls back from it).
bool Permanent(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return true;
    default:
      return false;
  }
}

// The simulator's outcome words for a call Hotline finished while the gateway was away.
std::string_view OutcomeWord(v1::CallOutcome outcome) {
  switch (outcome) {
    case v1::CALL_OUTCOME_COMPLETED:
      return "ended";
    case v1::CALL_OUTCOME_ABANDONED:
      return "hung up";
    case v1::CALL_OUTCOME_TIMED_OUT:
      return "timed out";
    case v1::CALL_OUTCOME_REJECTED:
      return "rejected";
    default:
      return "failed";
  }
}

// The gateway's channel retries a lost connection at most a second apart, so a restarted daemon
// is found by the next reconnect attempt rather than after gRPC's default backoff of up to 2 min.
// A connection attempt keeps gRPC's 20 s to complete (it was cut to 250 ms, and an attempt made
// while a restarted daemon was busy starting failed with "tcp handshaker shutdown").
grpc::ChannelArguments ChannelArgs() {
  return ReconnectingChannelArguments(std::chrono::milliseconds(250),
                                      std::chrono::milliseconds(1'000));
}

// For tests only (tests/integration/sim_order_test.sh): how long HangUp holds a hang-up it has
// decided before writing it, from HOTLINE_SIM_TEST_HOLD_HANG_UP_MS; 0 when unset, as in use.
// Widens the moment in which a connect command can arrive for a call already hung up.
std::chrono::milliseconds HangUpHold() {
  static const std::chrono::milliseconds hold = [] {
    const char* ms = std::getenv("HOTLINE_SIM_TEST_HOLD_HANG_UP_MS");
    return std::chrono::milliseconds(ms == nullptr ? 0 : std::max(0, std::atoi(ms)));
  }();
  return hold;
}

// The time now, as finely as the system clock gives it. Not protobuf's TimeUtil::GetCurrentTime,
// which keeps whole seconds only: every arrival was dated up to a second early, and its wait in
// Hotline overstated by as much.
google::protobuf::Timestamp TimestampNow() {
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::string Stamp(std::string_view text) {
  return fmt::format("{} {}", TimeOfDay(std::chrono::system_clock::now()), text);
}

// Set once before the stream opens: a plan of thousands of calls logs only errors.
bool quiet_log = false;

void Log(std::string_view text) {
  if (!quiet_log) {
    PrintLine(Stamp(text));
  }
}

class GatewaySim final {
 public:
  GatewaySim(const SimOptions& options, CallPlan plan);

  GatewaySim(const GatewaySim&) = delete;
  GatewaySim& operator=(const GatewaySim&) = delete;

  int Run();

 private:
  enum class Phase { kWaiting, kConnected, kFinished };

  struct SimCall {
    Phase phase = Phase::kWaiting;
    PlacedCall placed;
    // The arrival as first sent, and when: a Hello lists the call with both.
    v1::CallArrived arrived;
    google::protobuf::Timestamp arrived_at;
    // Whom it was connected to: a repeated connect to them is done, not an error.
    std::string counsellor_id;
    // It ended by a final command (offer_callback, reject): no Hello lists it again.
    bool by_command = false;
  };

  // An event sent and not yet acknowledged, kept whole to be resent after a reconnect.
  struct PendingEvent {
    // Send order: resends keep it.
    int64_t seq = 0;
    v1::CallEvent event;
    // A refused arrival ends the call; a refused later event leaves it as it was.
    bool arrival = false;
    // Sent again after a reconnect.
    bool resent = false;
  };

  // How one stream ended.
  struct SessionEnd {
    grpc::Status status;
    bool welcomed = false;
  };

  // Whether writes go out: not while the stream is down, and only the Hello until its Welcome.
  enum class Link { kDown, kHello, kOpen };

  // One stream: Hello, then Hotline's messages until the stream ends.
  SessionEnd Session();
  // The Hello of every (re)connect: the calls still held (the reconciliation contract).
  v1::GatewayMessage Hello();
  // Acts on one HeldCallResult of a Welcome.
  void OnHeldCall(const v1::HeldCallResult& result);
  // Sends again, in their first order and with their ids, the events not yet acknowledged.
  void Resend();

  void OnMessage(const v1::HotlineMessage& message);
  void OnWelcome(const v1::Welcome& welcome);
  void OnAck(const v1::EventAck& ack);
  void OnCommand(const v1::Command& command);
  // Answers a ConnectCommand; returns true when the call is now connected.
  bool Connect(const v1::Command& command, v1::CommandResult& result);
  // Marks a known call over (it stays in calls_ to answer late commands). Returns false for an
  // unknown call id.
  bool CloseCall(const std::string& call_id, std::string_view outcome, bool by_command = false);

  // Timer tasks.
  void SendArrival(int n, const PlannedCall& planned);
  // Takes the plan's next call and sets the timer for its arrival, or notes the plan is over.
  void ScheduleNext(int n);
  // Ends the run early (CallPlan::on_open). On the timer thread.
  void WindDown();
  void HangUp(const std::string& call_id);
  void EndCall(const std::string& call_id);

  // Gives `event` the next event id, records it as awaiting its ack, logs
  // "sent <event id> <description>" and writes it.
  void SendEvent(v1::CallEvent event, bool arrival, std::string_view description);
  // SendEvent in two parts. KeepLocked dates the event (if it has no time), gives it its id and
  // keeps it until acknowledged (resent after a reconnect); WriteEvent logs and writes it. A
  // call's last event is kept in the same locked step that counts the call finished, so the
  // run is never "done" between the two with that event not yet sent.
  void KeepLocked(v1::CallEvent& event, bool arrival) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void WriteEvent(v1::CallEvent event, std::string_view description);
  void SendResult(const v1::CommandResult& result);
  void Write(const v1::GatewayMessage& message);

  void FinishLocked(SimCall& call, std::string_view outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Half-closes the stream once every call is over and every event acknowledged.
  void MaybeDone();

  const SimOptions& options_;
  CallPlan plan_;
  // "<gateway>-<pid>": unique per run, so event and call ids never collide with an earlier run.
  const std::string id_prefix_;
  const Server server_;
  const std::unique_ptr<v1::GatewayService::Stub> stub_;

  // Held from a decision on a call's phase to the write that tells Hotline of it (HangUp,
  // EndCall, OnCommand; Resend too), so those go out in the order they were decided. Without it a
  // connect's "the call is over" (decided after the hang-up was) could be written before the
  // hang-up event itself, and Hotline, reading the failed connect first, put a counsellor who
  // was never called on an unreachable break. Taken before mutex_ and write_mutex_.
  absl::Mutex order_mutex_;
  // gRPC allows one Write in flight per stream; the reader and timer threads both write.
  absl::Mutex write_mutex_;  // Never held together with mutex_.
  // The current stream's; replaced on each reconnect by the reader thread.
  std::unique_ptr<grpc::ClientContext> context_ ABSL_GUARDED_BY(write_mutex_);
  std::unique_ptr<grpc::ClientReaderWriter<v1::GatewayMessage, v1::HotlineMessage>> stream_
      ABSL_GUARDED_BY(write_mutex_);
  Link link_ ABSL_GUARDED_BY(write_mutex_) = Link::kDown;
  bool writes_done_ ABSL_GUARDED_BY(write_mutex_) = false;

  absl::Mutex mutex_;
  std::map<std::string, SimCall> calls_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, PendingEvent> unacked_ ABSL_GUARDED_BY(mutex_);
  // Finished calls by outcome: "ended", "hung up", "timed out", "rejected", "refused".
  std::map<std::string, int, std::less<>> outcomes_ ABSL_GUARDED_BY(mutex_);
  int64_t next_event_ ABSL_GUARDED_BY(mutex_) = 1;
  int arrived_ ABSL_GUARDED_BY(mutex_) = 0;
  // The plan has no more calls (or the run winds down).
  bool plan_done_ ABSL_GUARDED_BY(mutex_) = false;
  bool winding_down_ ABSL_GUARDED_BY(mutex_) = false;
  // When the first call arrived: plans count from it.
  Clock::time_point start_;
  int open_calls_ ABSL_GUARDED_BY(mutex_) = 0;
  // The first Welcome came: from then on a lost stream is reconnected.
  bool welcomed_ ABSL_GUARDED_BY(mutex_) = false;
  // The current stream's Welcome came. Reader thread only.
  bool session_welcomed_ = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;

  // Last, so it is destroyed (and its thread joined) before anything its tasks touch.
  TimerThread timers_;
};

GatewaySim::GatewaySim(const SimOptions& options, CallPlan plan)
    : options_(options),
      plan_(std::move(plan)),
      id_prefix_(fmt::format("{}-{}", options.gateway_id, getpid())),
      server_(options.server, options.token, ChannelArgs()),
      stub_(v1::GatewayService::NewStub(server_.channel())) {}

int GatewaySim::Run() {
  if (plan_.on_open) {
    plan_.on_open([this] { timers_.At(Clock::now(), [this] { WindDown(); }); });
  }
  // Jitter only: seeded from the clock, as no run is replayed from it.
  std::minstd_rand random(static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  std::chrono::milliseconds backoff = kFirstBackoff;
  while (true) {
    const SessionEnd end = Session();
    bool ever_welcomed = false;
    bool winding_down = false;
    int open_calls = 0;
    {
      absl::MutexLock lock(&mutex_);
      if (done_) {
        timers_.Stop();
        // The stream's own end (even the cancel after kCloseGrace) no longer matters.
        return 0;
      }
      ever_welcomed = welcomed_;
      winding_down = winding_down_;
      open_calls = open_calls_;
    }
    // Before any Welcome the address, token or daemon is wrong: say so rather than retry, as
    // for a stream refused for good. Winding down, a daemon that cannot be reached again ends
    // the run rather than hold it open.
    if (!ever_welcomed || Permanent(end.status) || (winding_down && !end.welcomed)) {
      timers_.Stop();
      if (!end.status.ok()) {
        PrintErrorLine(ErrorLine(end.status));
      } else {
        PrintErrorLine(
            fmt::format("error: the server closed the stream with {} call(s) open", open_calls));
      }
      return 1;
    }
    if (end.welcomed) {
      backoff = kFirstBackoff;
    }
    const auto pause = std::chrono::milliseconds(
        std::uniform_int_distribution<int64_t>(backoff.count() / 2, backoff.count())(random));
    PrintErrorLine(Stamp(fmt::format("stream lost ({}): reconnecting in {} ms",
                                     end.status.ok() ? std::string("closed by the server")
                                                     : ErrorLine(end.status),
                                     pause.count())));
    AwaitConnection(*server_.channel(), pause);  // Back at once when the daemon is.
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

GatewaySim::SessionEnd GatewaySim::Session() {
  auto context = std::make_unique<grpc::ClientContext>();
  server_.Prepare(*context);
  auto stream = stub_->Connect(context.get());
  auto* reader = stream.get();
  const v1::GatewayMessage hello = Hello();
  {
    absl::MutexLock lock(&write_mutex_);
    context_ = std::move(context);
    stream_ = std::move(stream);
    // Nothing but the Hello until the Welcome: the events wait to be resent after it.
    link_ = Link::kHello;
    stream_->Write(hello);
  }
  session_welcomed_ = false;
  v1::HotlineMessage message;
  while (reader->Read(&message)) {
    OnMessage(message);
  }
  {
    // No task may write while Finish runs.
    absl::MutexLock lock(&write_mutex_);
    link_ = Link::kDown;
  }
  const SessionEnd end{.status = reader->Finish(), .welcomed = session_welcomed_};
  absl::MutexLock lock(&write_mutex_);
  stream_.reset();
  context_.reset();
  return end;
}

v1::GatewayMessage GatewaySim::Hello() {
  v1::GatewayMessage message;
  v1::Hello& hello = *message.mutable_hello();
  hello.set_gateway_id(options_.gateway_id);
  {
    absl::MutexLock lock(&mutex_);
    std::set<std::string> unacked_calls;
    for (const auto& [event_id, pending] : unacked_) {
      unacked_calls.insert(pending.event.call_id());
    }
    for (const auto& [call_id, call] : calls_) {
      // Still on a line, or over with its final event unacknowledged (not by a final command).
      const bool held = call.phase != Phase::kFinished ||
                        (!call.by_command && unacked_calls.contains(call_id));
      if (held) {
        v1::HeldCall& entry = *hello.add_held_calls();
        entry.set_call_id(call_id);
        *entry.mutable_arrived() = call.arrived;
        *entry.mutable_arrived_at() = call.arrived_at;
      }
    }
  }
  Log(fmt::format("sent hello {} holding {} call(s)", options_.gateway_id,
                  hello.held_calls_size()));
  return message;
}

void GatewaySim::OnMessage(const v1::HotlineMessage& message) {
  switch (message.kind_case()) {
    case v1::HotlineMessage::kWelcome:
      OnWelcome(message.welcome());
      break;
    case v1::HotlineMessage::kAck:
      OnAck(message.ack());
      break;
    case v1::HotlineMessage::kCommand:
      OnCommand(message.command());
      break;
    case v1::HotlineMessage::KIND_NOT_SET:
      // A newer daemon may send kinds this build does not know; a gateway ignores them.
      Log("unknown message ignored");
      break;
  }
}

void GatewaySim::OnWelcome(const v1::Welcome& welcome) {
  Log("welcome " + welcome.gateway_id());
  if (session_welcomed_) {
    return;
  }
  session_welcomed_ = true;
  {
    // Before the held calls: a FINISHED one's command is answered on this stream.
    absl::MutexLock lock(&write_mutex_);
    link_ = Link::kOpen;
  }
  for (const v1::HeldCallResult& result : welcome.held_calls()) {
    OnHeldCall(result);
  }
  bool first = false;
  {
    absl::MutexLock lock(&mutex_);
    first = !welcomed_;
    welcomed_ = true;
  }
  if (first) {
    start_ = Clock::now();
    ScheduleNext(1);
  } else {
    // After the link opened: an event sent meanwhile is written by its sender, found here, or
    // both (a repeated event id is answered with its original result).
    Resend();
  }
  MaybeDone();
}

void GatewaySim::OnHeldCall(const v1::HeldCallResult& result) {
  const std::string& call_id = result.call_id();
  switch (result.fate()) {
    case v1::HeldCallResult::FATE_LIVE:
      Log(fmt::format("held call {} live {}", call_id, EnumName(result.state())));
      break;
    case v1::HeldCallResult::FATE_ADMITTED:
      Log(fmt::format("held call {} admitted {}", call_id, EnumName(result.state())));
      break;
    case v1::HeldCallResult::FATE_FINISHED:
      Log(fmt::format("held call {} finished {}", call_id, EnumName(result.outcome())));
      if (result.has_command()) {
        OnCommand(result.command());
      }
      // Hotline is done with it, so the gateway is (nothing changes if the command closed it).
      CloseCall(call_id, OutcomeWord(result.outcome()));
      break;
    default:
      PrintErrorLine(Stamp(fmt::format("held call {} refused: {}: {}", call_id,
                                       CodeName(result.code()), result.message())));
      CloseCall(call_id, "refused");
      break;
  }
}

void GatewaySim::Resend() {
  absl::MutexLock order(&order_mutex_);  // Before any event decided after these.
  std::vector<v1::CallEvent> events;
  {
    absl::MutexLock lock(&mutex_);
    std::vector<PendingEvent*> pending;
    for (auto& [event_id, event] : unacked_) {
      pending.push_back(&event);
    }
    std::sort(pending.begin(), pending.end(),
              [](const PendingEvent* a, const PendingEvent* b) { return a->seq < b->seq; });
    for (PendingEvent* event : pending) {
      event->resent = true;
      events.push_back(event->event);
    }
  }
  for (v1::CallEvent& event : events) {
    Log(fmt::format("resent {} for call {}", event.event_id(), event.call_id()));
    v1::GatewayMessage message;
    *message.mutable_event() = std::move(event);
    Write(message);
  }
}

void GatewaySim::OnAck(const v1::EventAck& ack) {
  if (ack.code() == 0) {
    Log(fmt::format("ack {} OK", ack.event_id()));
  } else {
    PrintErrorLine(
        Stamp(fmt::format("ack {} {}: {}", ack.event_id(), CodeName(ack.code()), ack.message())));
  }
  {
    absl::MutexLock lock(&mutex_);
    auto pending = unacked_.find(ack.event_id());
    if (pending == unacked_.end()) {
      return;  // A repeated ack, or one for an earlier run: nothing waits for it.
    }
    // ALREADY_EXISTS for a resent arrival: the Hello listed the call and Hotline has it (LIVE
    // or ADMITTED), which is no refusal.
    const bool held = pending->second.resent && ack.code() == grpc::StatusCode::ALREADY_EXISTS;
    if (ack.code() != 0 && pending->second.arrival && !held) {
      auto call = calls_.find(pending->second.event.call_id());
      if (call != calls_.end()) {
        FinishLocked(call->second, "refused");
      }
    }
    unacked_.erase(pending);
  }
  MaybeDone();
}

void GatewaySim::OnCommand(const v1::Command& command) {
  absl::MutexLock order(&order_mutex_);  // The result, and the connected event, in turn.
  const std::string& call_id = command.call_id();
  v1::CommandResult result;
  result.set_command_id(command.command_id());
  bool connected = false;
  switch (command.kind_case()) {
    case v1::Command::kConnect:
      Log(fmt::format("connect call {} -> counsellor {} at {} [{}]", call_id,
                      command.connect().counsellor_id(), command.connect().endpoint(),
                      command.command_id()));
      connected = Connect(command, result);
      break;
    case v1::Command::kAnnounce: {
      const v1::AnnounceCommand& announce = command.announce();
      Log(fmt::format("announce call {} position {} wait {} [{}]", call_id, announce.position(),
                      announce.has_estimated_wait() ? HumanDuration(announce.estimated_wait())
                                                    : std::string("unknown"),
                      command.command_id()));
      bool known = false;
      {
        absl::MutexLock lock(&mutex_);
        known = calls_.contains(call_id);
      }
      if (known) {
        result.mutable_done();
      } else {
        result.mutable_error()->set_reason("no such call");
      }
      break;
    }
    case v1::Command::kOfferCallback:
      Log(fmt::format("offer-callback call {} [{}]", call_id, command.command_id()));
      if (CloseCall(call_id, "timed out", /*by_command=*/true)) {
        result.mutable_done();
      } else {
        result.mutable_error()->set_reason("no such call");
      }
      break;
    case v1::Command::kReject:
      Log(fmt::format("reject call {}: {} [{}]", call_id, command.reject().reason(),
                      command.command_id()));
      if (CloseCall(call_id, "rejected", /*by_command=*/true)) {
        result.mutable_done();
      } else {
        result.mutable_error()->set_reason("no such call");
      }
      break;
    case v1::Command::KIND_NOT_SET:
      Log(fmt::format("unknown command for call {} [{}]", call_id, command.command_id()));
      result.mutable_error()->set_reason("unsupported command");
      break;
  }
  SendResult(result);

  if (connected) {
    v1::CallEvent event;
    event.set_call_id(call_id);
    event.mutable_connected();
    SendEvent(std::move(event), /*arrival=*/false, "connected call " + call_id);
    std::chrono::milliseconds talk{0};
    {
      absl::MutexLock lock(&mutex_);
      talk = calls_[call_id].placed.call.talk;
    }
    timers_.At(Clock::now() + talk, [this, call_id] { EndCall(call_id); });
  }
  MaybeDone();
}

bool GatewaySim::Connect(const v1::Command& command, v1::CommandResult& result) {
  absl::MutexLock lock(&mutex_);
  auto call = calls_.find(command.call_id());
  if (call == calls_.end()) {
    result.mutable_error()->set_reason("no such call");
    return false;
  }
  switch (call->second.phase) {
    case Phase::kFinished:
      result.mutable_error()->set_reason("the call is over");
      return false;
    case Phase::kConnected:
      // The connect again after a reconnect (its result was lost): done, as ConnectCommand says;
      // the connected event is among those resent.
      if (call->second.counsellor_id == command.connect().counsellor_id()) {
        result.mutable_done();
      } else {
        result.mutable_error()->set_reason("the call is already connected");
      }
      return false;
    case Phase::kWaiting:
      break;
  }
  if (options_.unreachable) {
    result.mutable_unreachable()->set_reason(
        fmt::format("no answer from {} (hotline-sim --unreachable)", command.connect().endpoint()));
    return false;
  }
  // Connected before the result is even sent, so a hang-up timer firing now finds it connected.
  call->second.phase = Phase::kConnected;
  call->second.counsellor_id = command.connect().counsellor_id();
  call->second.placed.connected = Clock::now();
  result.mutable_done();
  return true;
}

bool GatewaySim::CloseCall(const std::string& call_id, std::string_view outcome,
                           bool by_command) {
  absl::MutexLock lock(&mutex_);
  auto call = calls_.find(call_id);
  if (call == calls_.end()) {
    return false;
  }
  call->second.by_command = call->second.by_command || by_command;
  FinishLocked(call->second, outcome);
  return true;
}

void GatewaySim::ScheduleNext(int n) {
  std::optional<PlannedCall> next = plan_.next();
  if (!next) {
    {
      absl::MutexLock lock(&mutex_);
      plan_done_ = true;
    }
    // The last call may have finished already (a refused arrival): nothing else would notice.
    MaybeDone();
    return;
  }
  // Due from the first arrival, not from now, so a slow write does not drift the rate.
  timers_.At(start_ + next->at, [this, n, call = std::move(*next)] { SendArrival(n, call); });
}

void GatewaySim::WindDown() {
  std::vector<std::string> waiting;
  std::vector<std::string> connected;
  {
    absl::MutexLock lock(&mutex_);
    winding_down_ = true;
    plan_done_ = true;
    for (const auto& [call_id, call] : calls_) {
      if (call.phase == Phase::kWaiting) {
        waiting.push_back(call_id);
      } else if (call.phase == Phase::kConnected) {
        connected.push_back(call_id);
      }
    }
  }
  for (const std::string& call_id : waiting) {
    HangUp(call_id);
  }
  for (const std::string& call_id : connected) {
    EndCall(call_id);
  }
  MaybeDone();
}

void GatewaySim::SendArrival(int n, const PlannedCall& planned) {
  const std::string call_id = fmt::format("{}-call-{}", id_prefix_, n);
  v1::CallEvent event;
  event.set_call_id(call_id);
  // Kept with the call: a Hello after a reconnect lists it with this arrival time.
  *event.mutable_occurred_at() = TimestampNow();
  v1::CallArrived& arrived = *event.mutable_arrived();
  arrived.set_caller_number(planned.number);
  arrived.set_province(planned.province);
  arrived.set_language(planned.language);
  arrived.set_topic(planned.topic);
  arrived.set_priority(planned.priority);
  arrived.set_gender_preference(planned.gender_preference);
  {
    absl::MutexLock lock(&mutex_);
    if (winding_down_) {
      return;  // The arrival timer set before the wind-down.
    }
    calls_[call_id] = SimCall{
        .phase = Phase::kWaiting,
        .placed = PlacedCall{
            .call = planned, .arrived = Clock::now(), .connected = {}, .over = {}, .outcome = {}},
        .arrived = arrived,
        .arrived_at = event.occurred_at(),
        .counsellor_id = {},
        .by_command = false};
    ++arrived_;
    ++open_calls_;
  }

  std::string description =
      fmt::format("arrived call {} from {} province {} language {} topic {} priority {}", call_id,
                  MaskNumber(planned.number), planned.province, planned.language,
                  EnumName(planned.topic), EnumName(planned.priority));
  if (planned.gender_preference != v1::GENDER_UNSPECIFIED) {
    description += " prefers " + EnumName(planned.gender_preference);
  }
  SendEvent(std::move(event), /*arrival=*/true, description);

  if (planned.hang_up_after > std::chrono::milliseconds::zero()) {
    timers_.At(Clock::now() + planned.hang_up_after, [this, call_id] { HangUp(call_id); });
  }
  ScheduleNext(n + 1);
}

void GatewaySim::HangUp(const std::string& call_id) {
  absl::MutexLock order(&order_mutex_);  // Written before any result that finds the call over.
  v1::CallEvent event;
  event.set_call_id(call_id);
  event.mutable_caller_hung_up();
  {
    absl::MutexLock lock(&mutex_);
    auto call = calls_.find(call_id);
    if (call == calls_.end() || call->second.phase != Phase::kWaiting) {
      return;  // Connected or already over: nobody is left waiting to hang up.
    }
    FinishLocked(call->second, "hung up");
    KeepLocked(event, /*arrival=*/false);
  }
  if (const std::chrono::milliseconds hold = HangUpHold(); hold.count() > 0) {
    Log(fmt::format("holding the hang-up of call {} for {} ms (test hook)", call_id, hold.count()));
    std::this_thread::sleep_for(hold);
  }
  WriteEvent(std::move(event), "hung-up call " + call_id);
}

void GatewaySim::EndCall(const std::string& call_id) {
  absl::MutexLock order(&order_mutex_);  // Written before any result that finds the call over.
  v1::CallEvent event;
  event.set_call_id(call_id);
  event.mutable_ended();
  {
    absl::MutexLock lock(&mutex_);
    auto call = calls_.find(call_id);
    if (call == calls_.end() || call->second.phase != Phase::kConnected) {
      return;
    }
    FinishLocked(call->second, "ended");
    KeepLocked(event, /*arrival=*/false);
  }
  WriteEvent(std::move(event), "ended call " + call_id);
}

void GatewaySim::SendEvent(v1::CallEvent event, bool arrival, std::string_view description) {
  {
    absl::MutexLock lock(&mutex_);
    KeepLocked(event, arrival);
  }
  WriteEvent(std::move(event), description);
}

void GatewaySim::KeepLocked(v1::CallEvent& event, bool arrival) {
  if (!event.has_occurred_at()) {
    *event.mutable_occurred_at() = TimestampNow();
  }
  const int64_t seq = next_event_++;
  event.set_event_id(fmt::format("{}-{}", id_prefix_, seq));
  unacked_[event.event_id()] =
      PendingEvent{.seq = seq, .event = event, .arrival = arrival, .resent = false};
}

void GatewaySim::WriteEvent(v1::CallEvent event, std::string_view description) {
  // Logged before the write so the ack can never be printed above it.
  Log(fmt::format("sent {} {}", event.event_id(), description));
  v1::GatewayMessage message;
  *message.mutable_event() = std::move(event);
  Write(message);
}

void GatewaySim::SendResult(const v1::CommandResult& result) {
  std::string outcome;
  switch (result.result_case()) {
    case v1::CommandResult::kDone:
      outcome = "done";
      break;
    case v1::CommandResult::kUnreachable:
      outcome = "unreachable: " + result.unreachable().reason();
      break;
    case v1::CommandResult::kError:
      outcome = "error: " + result.error().reason();
      break;
    case v1::CommandResult::RESULT_NOT_SET:
      break;
  }
  Log(fmt::format("sent result {} {}", result.command_id(), outcome));
  v1::GatewayMessage message;
  *message.mutable_command_result() = result;
  Write(message);
}

void GatewaySim::Write(const v1::GatewayMessage& message) {
  absl::MutexLock lock(&write_mutex_);
  // While the stream is down an event waits in unacked_ to be resent; a command result is lost,
  // and Hotline sends a connect that matters again after the reconnect.
  if (writes_done_ || link_ != Link::kOpen) {
    return;
  }
  // A failed write means the stream is broken; the reader sees that and reports its status.
  stream_->Write(message);
}

void GatewaySim::FinishLocked(SimCall& call, std::string_view outcome) {
  if (call.phase == Phase::kFinished) {
    return;
  }
  call.phase = Phase::kFinished;
  --open_calls_;
  ++outcomes_[std::string(outcome)];
  if (plan_.finished) {
    call.placed.over = Clock::now();
    call.placed.outcome = std::string(outcome);
    plan_.finished(call.placed);
  }
}

void GatewaySim::MaybeDone() {
  std::string summary;
  {
    absl::MutexLock lock(&mutex_);
    if (!options_.exit_when_done || done_ || !welcomed_ || !plan_done_ || open_calls_ > 0 ||
        !unacked_.empty()) {
      return;
    }
    done_ = true;
    const auto count = [outcomes = outcomes_](std::string_view outcome) {
      auto found = outcomes.find(outcome);
      return found == outcomes.end() ? 0 : found->second;
    };
    summary = fmt::format(
        "done: {} calls: {} ended, {} hung up, {} timed out, {} rejected, {} refused, {} failed",
        arrived_, count("ended"), count("hung up"), count("timed out"), count("rejected"),
        count("refused"), count("failed"));
  }
  Log(summary);
  {
    absl::MutexLock lock(&write_mutex_);
    writes_done_ = true;
    if (link_ == Link::kOpen) {
      stream_->WritesDone();
    }
  }
  timers_.At(Clock::now() + kCloseGrace, [this] {
    absl::MutexLock lock(&write_mutex_);
    if (context_ != nullptr) {
      context_->TryCancel();
    }
  });
}

}  // namespace

int RunGatewaySim(const SimOptions& options, CallPlan plan) {
  quiet_log = plan.quiet;
  GatewaySim sim(options, std::move(plan));
  return sim.Run();
}

int RunGatewaySim(const SimOptions& options) {
  CallPlan plan;
  plan.next = [&options, n = 0]() mutable -> std::optional<PlannedCall> {
    if (n >= options.calls) {
      return std::nullopt;
    }
    ++n;
    return PlannedCall{
        .at = std::chrono::milliseconds(static_cast<int64_t>(options.interval_ms) * (n - 1)),
        .number = options.same_caller ? options.caller : CallerNumber(options.caller, n),
        .province = options.province,
        .language = options.language,
        .topic = options.topic,
        .priority = options.priority,
        .gender_preference = options.gender_preference,
        .talk = std::chrono::milliseconds(options.talk_ms),
        .hang_up_after = std::chrono::milliseconds(options.hang_up_after_ms)};
  };
  return RunGatewaySim(options, std::move(plan));
}

std::string CallerNumber(const std::string& base, int n) {
  std::string number = base;
  // Decimal addition on the string: numbers can exceed 64 bits and keep their leading zeros.
  int carry = n - 1;
  for (size_t i = number.size(); i-- > 0 && carry > 0;) {
    if (number[i] < '0' || number[i] > '9') {
      break;
    }
    const int digit = number[i] - '0' + carry % 10;
    carry = carry / 10 + digit / 10;
    number[i] = static_cast<char>('0' + digit % 10);
  }
  if (carry > 0) {
    // Ran out of digits: widen after the '+' rather than wrap to a number already used.
    const size_t digits_start = (!number.empty() && number[0] == '+') ? 1 : 0;
    number.insert(digits_start, std::to_string(carry));
  }
  return number;
}

}  // namespace hotline::clients
