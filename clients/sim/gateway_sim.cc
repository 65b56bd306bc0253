#include "clients/sim/gateway_sim.h"

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <string_view>
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
  };

  // An event sent and not yet acknowledged.
  struct PendingEvent {
    std::string call_id;
    // A refused arrival ends the call; a refused later event leaves it as it was.
    bool arrival = false;
  };

  void OnMessage(const v1::HotlineMessage& message);
  void OnWelcome(const v1::Welcome& welcome);
  void OnAck(const v1::EventAck& ack);
  void OnCommand(const v1::Command& command);
  // Answers a ConnectCommand; returns true when the call is now connected.
  bool Connect(const v1::Command& command, v1::CommandResult& result);
  // Marks a known call over (it stays in calls_ to answer late commands). Returns false for an
  // unknown call id.
  bool CloseCall(const std::string& call_id, std::string_view outcome);

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
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::GatewayMessage, v1::HotlineMessage>> stream_;

  // gRPC allows one Write in flight per stream; the reader and timer threads both write.
  absl::Mutex write_mutex_;  // Never held together with mutex_.
  bool writes_done_ ABSL_GUARDED_BY(write_mutex_) = false;

  absl::Mutex mutex_;
  std::map<std::string, SimCall> calls_ ABSL_GUARDED_BY(mutex_);
  std::map<std::string, PendingEvent> unacked_ ABSL_GUARDED_BY(mutex_);
  // Finished calls by outcome: "ended", "hung up", "timed out", "rejected", "refused".
  std::map<std::string, int, std::less<>> outcomes_ ABSL_GUARDED_BY(mutex_);
  int next_event_ ABSL_GUARDED_BY(mutex_) = 1;
  int arrived_ ABSL_GUARDED_BY(mutex_) = 0;
  // The plan has no more calls (or the run winds down).
  bool plan_done_ ABSL_GUARDED_BY(mutex_) = false;
  bool winding_down_ ABSL_GUARDED_BY(mutex_) = false;
  // When the first call arrived: plans count from it.
  Clock::time_point start_;
  int open_calls_ ABSL_GUARDED_BY(mutex_) = 0;
  bool welcomed_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;

  // Last, so it is destroyed (and its thread joined) before anything its tasks touch.
  TimerThread timers_;
};

GatewaySim::GatewaySim(const SimOptions& options, CallPlan plan)
    : options_(options),
      plan_(std::move(plan)),
      id_prefix_(fmt::format("{}-{}", options.gateway_id, getpid())),
      server_(options.server, options.token),
      stub_(v1::GatewayService::NewStub(server_.channel())) {}

int GatewaySim::Run() {
  server_.Prepare(context_);
  stream_ = stub_->Connect(&context_);
  if (plan_.on_open) {
    plan_.on_open([this] { timers_.At(Clock::now(), [this] { WindDown(); }); });
  }

  v1::GatewayMessage hello;
  hello.mutable_hello()->set_gateway_id(options_.gateway_id);
  Log("sent hello " + options_.gateway_id);
  Write(hello);

  v1::HotlineMessage message;
  while (stream_->Read(&message)) {
    OnMessage(message);
  }
  // No task may write while Finish runs.
  timers_.Stop();
  const grpc::Status status = stream_->Finish();

  absl::MutexLock lock(&mutex_);
  if (done_) {
    // The stream's own end (even the cancel after kCloseGrace) no longer matters.
    return 0;
  }
  if (!status.ok()) {
    PrintErrorLine(ErrorLine(status));
  } else {
    PrintErrorLine(
        fmt::format("error: the server closed the stream with {} call(s) open", open_calls_));
  }
  return 1;
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
  {
    absl::MutexLock lock(&mutex_);
    if (welcomed_) {
      return;
    }
    welcomed_ = true;
  }
  start_ = Clock::now();
  ScheduleNext(1);
  MaybeDone();
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
    if (ack.code() != 0 && pending->second.arrival) {
      auto call = calls_.find(pending->second.call_id);
      if (call != calls_.end()) {
        FinishLocked(call->second, "refused");
      }
    }
    unacked_.erase(pending);
  }
  MaybeDone();
}

void GatewaySim::OnCommand(const v1::Command& command) {
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
      if (CloseCall(call_id, "timed out")) {
        result.mutable_done();
      } else {
        result.mutable_error()->set_reason("no such call");
      }
      break;
    case v1::Command::kReject:
      Log(fmt::format("reject call {}: {} [{}]", call_id, command.reject().reason(),
                      command.command_id()));
      if (CloseCall(call_id, "rejected")) {
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
      result.mutable_error()->set_reason("the call is already connected");
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
  call->second.placed.connected = Clock::now();
  result.mutable_done();
  return true;
}

bool GatewaySim::CloseCall(const std::string& call_id, std::string_view outcome) {
  absl::MutexLock lock(&mutex_);
  auto call = calls_.find(call_id);
  if (call == calls_.end()) {
    return false;
  }
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
  {
    absl::MutexLock lock(&mutex_);
    if (winding_down_) {
      return;  // The arrival timer set before the wind-down.
    }
    calls_[call_id] = SimCall{
        .phase = Phase::kWaiting,
        .placed = PlacedCall{
            .call = planned, .arrived = Clock::now(), .connected = {}, .over = {}, .outcome = {}}};
    ++arrived_;
    ++open_calls_;
  }

  v1::CallEvent event;
  event.set_call_id(call_id);
  v1::CallArrived& arrived = *event.mutable_arrived();
  arrived.set_caller_number(planned.number);
  arrived.set_province(planned.province);
  arrived.set_language(planned.language);
  arrived.set_topic(planned.topic);
  arrived.set_priority(planned.priority);
  arrived.set_gender_preference(planned.gender_preference);
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
  {
    absl::MutexLock lock(&mutex_);
    auto call = calls_.find(call_id);
    if (call == calls_.end() || call->second.phase != Phase::kWaiting) {
      return;  // Connected or already over: nobody is left waiting to hang up.
    }
    FinishLocked(call->second, "hung up");
  }
  v1::CallEvent event;
  event.set_call_id(call_id);
  event.mutable_caller_hung_up();
  SendEvent(std::move(event), /*arrival=*/false, "hung-up call " + call_id);
}

void GatewaySim::EndCall(const std::string& call_id) {
  {
    absl::MutexLock lock(&mutex_);
    auto call = calls_.find(call_id);
    if (call == calls_.end() || call->second.phase != Phase::kConnected) {
      return;
    }
    FinishLocked(call->second, "ended");
  }
  v1::CallEvent event;
  event.set_call_id(call_id);
  event.mutable_ended();
  SendEvent(std::move(event), /*arrival=*/false, "ended call " + call_id);
}

void GatewaySim::SendEvent(v1::CallEvent event, bool arrival, std::string_view description) {
  {
    absl::MutexLock lock(&mutex_);
    event.set_event_id(fmt::format("{}-{}", id_prefix_, next_event_++));
    unacked_[event.event_id()] = PendingEvent{.call_id = event.call_id(), .arrival = arrival};
  }
  *event.mutable_occurred_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
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
  if (writes_done_) {
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
        "done: {} calls: {} ended, {} hung up, {} timed out, {} rejected, {} refused", arrived_,
        count("ended"), count("hung up"), count("timed out"), count("rejected"), count("refused"));
  }
  Log(summary);
  {
    absl::MutexLock lock(&write_mutex_);
    writes_done_ = true;
    stream_->WritesDone();
  }
  timers_.At(Clock::now() + kCloseGrace, [this] { context_.TryCancel(); });
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
