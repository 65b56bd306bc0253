#include "clients/sim/virtual_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "clients/sim/call_generator.h"
#include "routing/engine.h"

namespace hotline::sim {
namespace {

using routing::CounsellorState;

// After a missed-offers or unreachable break a simulated counsellor is back this much later.
constexpr Millis kBackFromBreak{60'000};
// Drawing the second and later streams from the scenario's seed keeps them apart from the
// calls' stream, so a roster change alters no call.
constexpr uint64_t kDeskStream = 0x9e3779b97f4a7c15ULL;

enum class Kind { kArrival, kHangUp, kAccept, kConnect, kEnd, kDisposition, kSignIn, kSignOut };

struct Event {
  Timestamp at{};
  uint64_t seq = 0;
  Kind kind = Kind::kArrival;
  std::string call_id;
  std::string counsellor_id;

  // For a min-heap: the earliest first, then the first scheduled.
  bool operator>(const Event& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
};

struct LiveCall {
  Millis talk{0};
};

struct Desk {
  bool on_shift = false;
  bool desk_open = false;
};

class VirtualRun final {
 public:
  VirtualRun(const Scenario& scenario, const std::function<void(const Progress&)>& progress)
      : scenario_(scenario),
        progress_(progress),
        engine_(scenario.engine, scenario.policy),
        calls_(scenario),
        desk_random_(scenario.seed ^ kDeskStream),
        end_(scenario.start + scenario.duration),
        report_(std::make_unique<Report>(Targets(scenario), scenario.start + scenario.warm_up)) {}

  absl::StatusOr<VirtualResult> Run();

 private:
  static stats::Targets Targets(const Scenario& s) {
    return stats::Targets{.answer = s.answer_target,
                          .emergency_answer = std::min(s.answer_target, Millis(10'000))};
  }

  absl::Status AddRoster();
  void ScheduleNextArrival();
  void At(Timestamp at, Kind kind, std::string call_id, std::string counsellor_id = {});
  void Apply(const Event& e);
  void Arrive(const Event& e);
  void TakeEffects(Timestamp now);
  void OnPresence(const routing::PresenceChange& change);
  // Counts a refusal; the engine's answer is the verdict on the simulated actor's timing.
  void Check(const absl::Status& status);
  void ReachTime(Timestamp now);
  void ReportProgress(Timestamp now);

  const Scenario& scenario_;
  const std::function<void(const Progress&)>& progress_;
  routing::Engine engine_;
  CallGenerator calls_;
  Random desk_random_;
  const Timestamp end_;
  std::unique_ptr<Report> report_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  uint64_t next_seq_ = 0;
  // The next call to arrive; its arrival is the one kArrival event queued.
  std::optional<SimCall> pending_arrival_;
  std::map<std::string, LiveCall> live_;
  std::map<std::string, Desk> desks_;
  bool closed_ = false;
  int64_t arrived_ = 0;
  int64_t finished_ = 0;
  int64_t inputs_ = 0;
  int64_t refused_ = 0;
};

absl::StatusOr<VirtualResult> VirtualRun::Run() {
  if (absl::Status s = routing::Validate(scenario_.policy); !s.ok()) {
    return s;
  }
  if (absl::Status s = AddRoster(); !s.ok()) {
    return s;
  }
  ScheduleNextArrival();
  // Past the end only calls still in progress are played out; a bound stops a scenario whose
  // calls never end (a talk time of years) from running for ever.
  const Timestamp hard_stop = end_ + Millis(7LL * 24 * 3'600'000);
  Timestamp now = scenario_.start;
  while (true) {
    const std::optional<Timestamp> deadline = engine_.NextDeadline();
    const bool have_event = !events_.empty();
    if (now >= end_ && live_.empty() && (!have_event || events_.top().at > end_)) {
      break;
    }
    if (!have_event && !deadline) {
      break;
    }
    if (deadline && (!have_event || *deadline <= events_.top().at)) {
      now = std::max(now, *deadline);
      if (now > hard_stop) {
        break;
      }
      ReachTime(now);
      engine_.Tick(now);
    } else {
      const Event e = events_.top();
      events_.pop();
      now = std::max(now, e.at);
      if (now > hard_stop) {
        break;
      }
      ReachTime(now);
      Apply(e);
    }
    ++inputs_;
    TakeEffects(now);
    if (inputs_ % 65536 == 0) {
      ReportProgress(now);
    }
  }
  ReachTime(std::max(now, end_ + Millis(1)));
  ReportProgress(std::max(now, end_));
  return VirtualResult{.report = std::move(report_),
                       .calls = arrived_,
                       .inputs = inputs_,
                       .refused = refused_,
                       .finished_at = std::max(now, end_)};
}

absl::Status VirtualRun::AddRoster() {
  for (const CounsellorGroup& g : scenario_.counsellors) {
    const auto shifts = ShiftIntervals(scenario_, g);
    for (const std::string& id : CounsellorIds(g)) {
      routing::CounsellorProfile profile{.id = id,
                                         .display_name = id,
                                         .home_province = g.home_province,
                                         .provinces = g.provinces,
                                         .skills = g.skills,
                                         .languages = g.languages,
                                         .gender = g.gender,
                                         .endpoint = "sim:" + id};
      if (absl::Status s = engine_.AddCounsellor(profile, scenario_.start); !s.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("{}: counsellor {}: {}", scenario_.source, id, std::string(s.message())));
      }
      desks_[id] = Desk{};
      for (const auto& [on, off] : shifts) {
        At(on, Kind::kSignIn, "", id);
        if (off < end_) {
          At(off, Kind::kSignOut, "", id);
        }
      }
    }
  }
  return absl::OkStatus();
}

void VirtualRun::ScheduleNextArrival() {
  std::optional<SimCall> call = calls_.Next();
  if (!call) {
    return;
  }
  At(call->arrival, Kind::kArrival, "");
  pending_arrival_ = std::move(*call);
}

void VirtualRun::At(Timestamp at, Kind kind, std::string call_id, std::string counsellor_id) {
  events_.push(Event{.at = at,
                     .seq = next_seq_++,
                     .kind = kind,
                     .call_id = std::move(call_id),
                     .counsellor_id = std::move(counsellor_id)});
}

void VirtualRun::Apply(const Event& e) {
  const Timestamp now = e.at;
  switch (e.kind) {
    case Kind::kArrival:
      Arrive(e);
      break;
    case Kind::kHangUp: {
      // Patience runs out only for a caller still waiting (or ringing); once answered, no.
      auto call = engine_.FindCall(e.call_id);
      if (call && (call->state == routing::CallState::kWaiting ||
                   call->state == routing::CallState::kOffered)) {
        Check(engine_.CallerHungUp(e.call_id, now));
      }
      break;
    }
    case Kind::kAccept:
      // The offer may be gone (the caller hung up, it timed out): the engine says NOT_FOUND.
      if (auto call = engine_.FindCall(e.call_id);
          call && call->state == routing::CallState::kOffered &&
          call->counsellor_id == e.counsellor_id) {
        Check(engine_.AnswerOffer(e.counsellor_id, e.call_id, /*accept=*/true, now));
      }
      break;
    case Kind::kConnect:
      // The simulated gateway bridges at once.
      Check(engine_.CallConnected(e.call_id, now));
      At(now + live_[e.call_id].talk, Kind::kEnd, e.call_id);
      break;
    case Kind::kEnd:
      Check(engine_.CallEnded(e.call_id, now));
      break;
    case Kind::kDisposition: {
      // A counsellor whose shift is over goes on a break instead of taking the next call, then
      // signs out (OnPresence).
      const bool ready = desks_[e.counsellor_id].on_shift;
      routing::Disposition disposition;
      disposition.category = "other";
      disposition.action = "counselled";
      if (auto c = engine_.FindCounsellor(e.counsellor_id);
          c && c->state == CounsellorState::kWrapUp && c->call_id == e.call_id) {
        Check(engine_.SubmitDisposition(e.counsellor_id, e.call_id, disposition, ready, now));
      }
      break;
    }
    case Kind::kSignIn: {
      Desk& desk = desks_[e.counsellor_id];
      desk.on_shift = true;
      if (!desk.desk_open) {
        desk.desk_open = true;
        Check(engine_.DeskConnected(e.counsellor_id, now));
      }
      auto c = engine_.FindCounsellor(e.counsellor_id);
      if (c && (c->state == CounsellorState::kOffline || c->state == CounsellorState::kBreak)) {
        Check(engine_.SetPresence(e.counsellor_id, CounsellorState::kAvailable,
                                  routing::BreakReason::kNone, now));
      }
      break;
    }
    case Kind::kSignOut: {
      desks_[e.counsellor_id].on_shift = false;
      auto c = engine_.FindCounsellor(e.counsellor_id);
      // Busy counsellors finish their call first (kDisposition, OnPresence).
      if (c && (c->state == CounsellorState::kAvailable || c->state == CounsellorState::kBreak)) {
        Check(engine_.SetPresence(e.counsellor_id, CounsellorState::kOffline,
                                  routing::BreakReason::kNone, now));
      }
      break;
    }
  }
}

void VirtualRun::Arrive(const Event& e) {
  const SimCall call = std::move(*pending_arrival_);
  pending_arrival_.reset();
  const std::string call_id = fmt::format("sim-{}", call.n);
  routing::CallInfo info;
  info.call_id = call_id;
  info.gateway_id = "sim";
  // Every caller distinct: no repeat-caller holds.
  info.caller_key = fmt::format("caller-{}", call.n);
  info.caller_masked = "**********";
  info.province = call.province;
  info.language = call.language;
  info.topic = call.topic;
  info.priority = call.priority;
  info.arrived_at = e.at;
  // Without a region tree every province is unknown and routes at national scope; say so on
  // the call, as the daemon would.
  info.province_unknown = !engine_.regions().Canonical(call.province).has_value();
  live_[call_id] = LiveCall{.talk = call.talk};
  ++arrived_;
  Check(engine_.CallArrived(info, e.at));
  if (call.patience) {
    At(e.at + *call.patience, Kind::kHangUp, call_id);
  }
  ScheduleNextArrival();
}

void VirtualRun::TakeEffects(Timestamp now) {
  for (routing::Effect& effect : engine_.TakeEffects()) {
    if (auto* offer = std::get_if<routing::OfferMade>(&effect)) {
      At(now + desk_random_.Draw(scenario_.accept_delay), Kind::kAccept, offer->call.call_id,
         offer->counsellor_id);
    } else if (auto* connect = std::get_if<routing::ConnectRequested>(&effect)) {
      At(now, Kind::kConnect, connect->call_id);
    } else if (auto* wrap = std::get_if<routing::WrapUpStarted>(&effect)) {
      const Millis wrap_up = desk_random_.Draw(scenario_.wrap_up);
      // At or past the deadline the engine ends the wrap-up by itself.
      if (now + wrap_up < wrap->deadline) {
        At(now + wrap_up, Kind::kDisposition, wrap->call_id, wrap->counsellor_id);
      }
    } else if (auto* presence = std::get_if<routing::PresenceChanged>(&effect)) {
      OnPresence(presence->change);
    } else if (auto* finished = std::get_if<routing::CallFinished>(&effect)) {
      report_->CallFinished(finished->record);
      live_.erase(finished->record.call.call_id);
      ++finished_;
    }
  }
}

void VirtualRun::OnPresence(const routing::PresenceChange& change) {
  if (!closed_) {
    report_->PresenceChanged(change);
  }
  const Desk& desk = desks_[change.counsellor_id];
  const bool idle = change.state == CounsellorState::kAvailable ||
                    change.state == CounsellorState::kBreak;
  if (!desk.on_shift && idle) {
    At(change.at, Kind::kSignOut, "", change.counsellor_id);
  } else if (desk.on_shift && change.state == CounsellorState::kBreak &&
             (change.reason == routing::BreakReason::kMissedOffers ||
              change.reason == routing::BreakReason::kUnreachable)) {
    At(change.at + kBackFromBreak, Kind::kSignIn, "", change.counsellor_id);
  }
}

void VirtualRun::Check(const absl::Status& status) {
  if (!status.ok()) {
    ++refused_;
  }
}

void VirtualRun::ReachTime(Timestamp now) {
  // Occupancy covers the scenario's span only, not the play-out of the last calls.
  if (!closed_ && now > end_) {
    report_->Close(end_);
    closed_ = true;
  }
}

void VirtualRun::ReportProgress(Timestamp now) {
  if (!progress_) {
    return;
  }
  progress_(Progress{.now = now,
                     .arrived = arrived_,
                     .finished = finished_,
                     .in_progress = static_cast<int64_t>(live_.size())});
}

}  // namespace

absl::StatusOr<VirtualResult> RunVirtual(const Scenario& scenario,
                                         const std::function<void(const Progress&)>& progress) {
  VirtualRun run(scenario, progress);
  return run.Run();
}

}  // namespace hotline::sim
