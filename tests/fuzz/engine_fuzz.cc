// Fuzz target: routing::Engine fed a sequence of inputs decoded from the fuzzer's bytes, on a
// manual clock, with its invariants checked after every step.
//
// The bytes choose the engine's options, then one input after another: gateway events, desk and
// supervisor commands, administrator changes, policy reloads (some invalid on purpose), the
// passage of time and snapshot round trips. Ids come from small pools so that inputs meet the
// calls and counsellors earlier inputs made. After each input:
//   - Engine::CheckInvariants() holds;
//   - after Tick(now) no timer is left due at or before now;
//   - a snapshot restored into a fresh engine saves the same state (on a restore step);
//   - every CallFinished is for a call admitted and not yet finished, once;
//   - the live calls the engine shows are exactly those admitted and not yet finished.
// A broken one aborts with a message (libFuzzer then saves the input as a crash).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "routing/engine.h"
#include "routing/policy.h"

namespace hotline::routing {
namespace {

const std::vector<std::string> kCounsellors = {"an", "binh", "chi", "dung"};
const std::vector<std::string> kProvinces = {"01", "38", "79", "40", "74", "99", ""};
constexpr int kCallIds = 12;
// A fixed, arbitrary start: 2026-01-01T00:00:00Z.
constexpr Timestamp kStart{Millis(1'767'225'600'000)};
constexpr Millis kDay{24 * 3'600'000};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "engine_fuzz: %s\n", what.c_str());
  std::abort();
}

template <class T>
T Pick(FuzzedDataProvider& in, const std::vector<T>& from) {
  return from[in.ConsumeIntegralInRange<size_t>(0, from.size() - 1)];
}

std::string CallId(FuzzedDataProvider& in) {
  return "c" + std::to_string(in.ConsumeIntegralInRange<int>(0, kCallIds - 1));
}

Millis Ms(FuzzedDataProvider& in, int64_t lo, int64_t hi) {
  return Millis(in.ConsumeIntegralInRange<int64_t>(lo, hi));
}

EngineOptions Options(FuzzedDataProvider& in) {
  EngineOptions o;
  // Periodic timers (announcements) at least a second apart, as any real setting is: at 1 ms, a
  // day's jump of the clock would fire millions of them, which is slow, not wrong.
  o.max_wait_ms = Ms(in, 1, 600'000);
  o.offer_timeout_ms = Ms(in, 1, 60'000);
  o.wrap_up_ms = Ms(in, 1, 120'000);
  o.missed_offers_before_break = in.ConsumeIntegralInRange<int>(1, 3);
  o.desk_grace_ms = Ms(in, 1, 60'000);
  o.announce_every_ms = Ms(in, 1'000, 120'000);
  o.handling_sample_size = in.ConsumeIntegralInRange<int>(1, 20);
  o.finished_call_memory_ms = Ms(in, 1, kDay.count());
  o.late_disposition_ms = Ms(in, 1, kDay.count());
  return o;
}

RegionTable Regions() {
  RegionTable t;
  t.centres = {{"north", "North"}, {"central", "Central"}, {"south", "South"}};
  t.provinces = {{"01", "Ha Noi", "north", {"01"}},
                 {"38", "Thanh Hoa", "central", {"38"}},
                 {"40", "Nghe An", "central", {"40"}},
                 {"79", "Ho Chi Minh", "south", {"79", "74"}}};
  return t;
}

Ladder AnyLadder(FuzzedDataProvider& in) {
  Ladder ladder;
  const int steps = in.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < steps; ++i) {
    LadderStep s;
    s.scope = static_cast<Scope>(in.ConsumeIntegralInRange<int>(1, 3));
    s.min_proficiency = in.ConsumeIntegralInRange<int>(0, 6);
    s.language = static_cast<Need>(in.ConsumeIntegralInRange<int>(1, 2));
    s.gender = static_cast<Need>(in.ConsumeIntegralInRange<int>(1, 2));
    s.duration_ms = Ms(in, -1, 90'000);
    ladder.steps.push_back(s);
  }
  return ladder;
}

// A policy from the bytes: often valid, sometimes not (SetPolicy must then change nothing).
Policy AnyPolicy(FuzzedDataProvider& in) {
  Policy p = Policy::Default();
  if (in.ConsumeBool()) {
    p.regions = Regions();
  }
  p.strategy = static_cast<Strategy>(in.ConsumeIntegralInRange<int>(1, 4));
  if (in.ConsumeBool()) {
    p.default_ladder = AnyLadder(in);
  }
  if (in.ConsumeBool()) {
    p.topic_ladders[static_cast<Topic>(in.ConsumeIntegralInRange<int>(1, 4))] = AnyLadder(in);
  }
  if (in.ConsumeBool()) {
    p.priority_ladders[static_cast<Priority>(in.ConsumeIntegralInRange<int>(1, 4))] =
        AnyLadder(in);
  }
  p.cool_down_ms = Ms(in, 0, 600'000);
  p.max_heavy_in_row = in.ConsumeIntegralInRange<int>(0, 4);
  p.repeat_window_ms = Ms(in, 0, 7 * kDay.count());
  p.repeat_wait_ms = Ms(in, 0, 60'000);
  return p;
}

CounsellorProfile AnyProfile(FuzzedDataProvider& in, const std::string& id) {
  CounsellorProfile p;
  p.id = id;
  p.display_name = "Counsellor " + id;
  p.home_province = Pick(in, kProvinces);
  if (p.home_province.empty()) {
    p.home_province = "01";
  }
  if (in.ConsumeBool()) {
    p.provinces = {Pick(in, kProvinces)};
  }
  for (int t = 1; t <= 4; ++t) {
    if (int level = in.ConsumeIntegralInRange<int>(0, 5); level > 0) {
      p.skills[static_cast<Topic>(t)] = level;
    }
  }
  if (p.skills.empty()) {
    p.skills[Topic::kCounselling] = 1;
  }
  p.languages = Pick(in, std::vector<std::vector<std::string>>{{"vi"}, {"vi", "hmn"}, {"hmn"}});
  p.gender = static_cast<Gender>(in.ConsumeIntegralInRange<int>(0, 2));
  p.endpoint = "sip:" + id + "@pbx";
  return p;
}

CallInfo AnyCall(FuzzedDataProvider& in, const std::string& id, Timestamp now) {
  CallInfo c;
  c.call_id = id;
  c.gateway_id = in.ConsumeBool() ? "gw1" : "gw2";
  c.province = Pick(in, kProvinces);
  c.province_unknown = c.province == "99" || c.province.empty();
  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) {
    c.caller_withheld = true;
    c.caller_masked = "withheld";
  } else {
    c.caller_key = "caller-" + std::to_string(in.ConsumeIntegralInRange<int>(0, 3));
    c.caller_masked = "*******42";
  }
  c.language = in.ConsumeBool() ? "vi" : "hmn";
  c.topic = static_cast<Topic>(in.ConsumeIntegralInRange<int>(1, 4));
  c.priority = static_cast<Priority>(in.ConsumeIntegralInRange<int>(1, 4));
  c.gender_preference = static_cast<Gender>(in.ConsumeIntegralInRange<int>(0, 2));
  // The daemon clamps a gateway's arrival time to [now - 1 day, now].
  c.arrived_at = now - Ms(in, 0, in.ConsumeBool() ? 0 : kDay.count());
  return c;
}

Disposition AnyDisposition(FuzzedDataProvider& in) {
  Disposition d;
  d.category = in.ConsumeBool() ? "other" : "sexual_abuse";
  d.action = "counselled";
  if (in.ConsumeBool()) {
    d.flags = {"silent"};
  }
  d.heavy = in.ConsumeBool();
  return d;
}

class Run {
 public:
  explicit Run(FuzzedDataProvider& in) : in_(in), options_(Options(in)) {
    Policy policy = Policy::Default();
    if (in.ConsumeBool()) {
      policy.regions = Regions();
    }
    engine_ = std::make_unique<Engine>(options_, std::move(policy));
  }

  void Step() {
    Engine& e = *engine_;
    const std::string who = Pick(in_, kCounsellors);
    absl::Status s;
    switch (in_.ConsumeIntegralInRange<int>(0, 22)) {
      case 0:
      case 1: {
        const std::string id = CallId(in_);
        s = e.CallArrived(AnyCall(in_, id, now_), now_);
        if (s.ok()) {
          if (!live_.insert(id).second) {
            Fail("CallArrived accepted " + id + ", which is live");
          }
        }
        break;
      }
      case 2:
        s = e.CallerHungUp(CallId(in_), now_);
        break;
      case 3:
        s = e.CallbackRequested(CallId(in_), now_);
        break;
      case 4:
        s = e.CallConnected(CallId(in_), now_);
        break;
      case 5:
        s = e.CallEnded(CallId(in_), now_);
        break;
      case 6:
        s = e.CallFailed(CallId(in_), "line dropped", now_);
        break;
      case 7:
        s = e.ConnectFailed(CallId(in_), "480", now_);
        break;
      case 8:
      case 9:
        s = e.AnswerOffer(who, CallId(in_), in_.ConsumeIntegralInRange<int>(0, 3) != 0, now_);
        break;
      case 10:
        s = e.SubmitDisposition(who, CallId(in_), AnyDisposition(in_), in_.ConsumeBool(), now_);
        break;
      case 11: {
        const auto state = Pick(in_, std::vector<CounsellorState>{CounsellorState::kAvailable,
                                                                  CounsellorState::kBreak,
                                                                  CounsellorState::kOffline,
                                                                  CounsellorState::kOnCall});
        const auto reason = static_cast<BreakReason>(in_.ConsumeIntegralInRange<int>(0, 10));
        s = e.SetPresence(who, state, reason, now_);
        break;
      }
      case 12:
        s = e.DeskConnected(who, now_);
        break;
      case 13:
        s = e.DeskDisconnected(who, now_);
        break;
      case 14:
        s = e.ChangePriority(CallId(in_),
                             static_cast<Priority>(in_.ConsumeIntegralInRange<int>(1, 4)), now_);
        break;
      case 15:
        s = e.NeverRoute(who, CallId(in_), now_);
        break;
      case 16:
        s = e.SetPolicy(AnyPolicy(in_), now_);
        break;
      case 17:
        s = e.AddCounsellor(AnyProfile(in_, who), now_);
        break;
      case 18:
        s = e.UpdateCounsellor(AnyProfile(in_, who), now_);
        break;
      case 19:
        s = e.RemoveCounsellor(who, now_);
        break;
      case 20:
        Restore();
        break;
      case 21:
        s = e.EndCall(CallId(in_), "ended by supervisor:s: gateway gone", now_);
        break;
      default: {
        // The passage of time, as the daemon delivers it: up to the next deadline or beyond.
        const auto next = e.NextDeadline();
        if (next && in_.ConsumeBool()) {
          now_ = std::max(now_, *next);
        } else {
          now_ += Ms(in_, 0, in_.ConsumeBool() ? 20'000 : 2 * kDay.count());
        }
        e.Tick(now_);
        if (auto after = e.NextDeadline(); after && *after <= now_) {
          Fail("after Tick(now) a timer is still due at or before now");
        }
        break;
      }
    }
    (void)s;  // Refusals are fine; only what they leave behind is checked.
    Check();
  }

 private:
  void Restore() {
    for (auto& effect : engine_->TakeEffects()) {
      Account(effect);
    }
    EngineState saved = engine_->SaveState();
    auto fresh = std::make_unique<Engine>(options_, Policy::Default());
    fresh->RestoreState(saved);
    if (!(fresh->SaveState() == saved)) {
      Fail("a restored engine saves a different state");
    }
    engine_ = std::move(fresh);
  }

  void Account(const Effect& effect) {
    if (const auto* finished = std::get_if<CallFinished>(&effect)) {
      const std::string& id = finished->record.call.call_id;
      if (live_.erase(id) != 1) {
        Fail("CallFinished for " + id + ", which is not live (finished twice?)");
      }
    }
  }

  void Check() {
    for (auto& effect : engine_->TakeEffects()) {
      Account(effect);
    }
    if (absl::Status s = engine_->CheckInvariants(); !s.ok()) {
      Fail(s.ToString());
    }
    std::set<std::string> shown;
    for (const CallView& c : engine_->Calls()) {
      shown.insert(c.info.call_id);
    }
    if (shown != live_) {
      Fail("the engine shows " + std::to_string(shown.size()) + " live calls, " +
           std::to_string(live_.size()) + " were admitted and not finished");
    }
  }

  FuzzedDataProvider& in_;
  const EngineOptions options_;
  std::unique_ptr<Engine> engine_;
  Timestamp now_ = kStart;
  // Calls admitted and not yet finished (CallFinished), by id.
  std::set<std::string> live_;
};

}  // namespace
}  // namespace hotline::routing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  hotline::routing::Run run(in);
  // Bounded, so that one input stays fast whatever its length.
  for (int steps = 0; steps < 400 && in.remaining_bytes() > 0; ++steps) {
    run.Step();
  }
  return 0;
}
