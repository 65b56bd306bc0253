// A routing engine driven by a manual clock, with helpers to read its effects. For unit tests.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <variant>
#include <vector>

#include "routing/engine.h"

namespace hotline::testing {

using routing::Millis;
using routing::Timestamp;

// A fixed, arbitrary start: 2026-01-01T00:00:00Z.
inline constexpr Timestamp kStart{Millis(1'767'225'600'000)};

inline routing::CounsellorProfile Profile(const std::string& id, const std::string& province,
                                          std::vector<routing::Topic> topics = {
                                              routing::Topic::kCounselling,
                                              routing::Topic::kAbuseReport}) {
  routing::CounsellorProfile p;
  p.id = id;
  p.display_name = "Counsellor " + id;
  p.home_province = province;
  for (auto t : topics) {
    p.skills[t] = 3;
  }
  p.languages = {"vi"};
  p.endpoint = "sip:" + id + "@pbx";
  return p;
}

inline routing::CallInfo Call(const std::string& id, const std::string& province,
                              routing::Priority priority = routing::Priority::kNormal,
                              routing::Topic topic = routing::Topic::kCounselling) {
  routing::CallInfo c;
  c.call_id = id;
  c.gateway_id = "gw";
  c.caller_key = "key-" + id;
  c.caller_masked = "********42";
  c.province = province;
  c.language = "vi";
  c.topic = topic;
  c.priority = priority;
  return c;
}

// The engine plus a manual clock. Every helper REQUIREs success so a test reads as a story.
class EngineHarness {
 public:
  explicit EngineHarness(routing::EngineOptions options = {},
                         routing::Policy policy = routing::Policy::Default())
      : engine(options, std::move(policy)) {}

  // Advance the clock, then deliver the timers that became due.
  void Advance(Millis by) {
    now += by;
    engine.Tick(now);
  }

  // Adds a counsellor with an open desk and makes them AVAILABLE.
  void SignIn(const routing::CounsellorProfile& p) {
    Expect(engine.AddCounsellor(p, now));
    Expect(engine.DeskConnected(p.id, now));
    Expect(engine.SetPresence(p.id, routing::CounsellorState::kAvailable,
                              routing::BreakReason::kNone, now));
  }

  void Arrive(routing::CallInfo call) {
    call.arrived_at = now;
    Expect(engine.CallArrived(call, now));
  }

  // Effects since the last Take, all of them.
  std::vector<routing::Effect> Take() {
    auto effects = engine.TakeEffects();
    log.insert(log.end(), effects.begin(), effects.end());
    return effects;
  }

  // Effects of one kind since the last Take.
  template <class T>
  std::vector<T> TakeOf() {
    std::vector<T> out;
    for (auto& e : Take()) {
      if (auto* t = std::get_if<T>(&e)) {
        out.push_back(*t);
      }
    }
    return out;
  }

  routing::CounsellorState StateOf(const std::string& id) const {
    return engine.FindCounsellor(id)->state;
  }

  static void Expect(const absl::Status& s) {
    INFO(s.ToString());
    REQUIRE(s.ok());
  }

  routing::Engine engine;
  Timestamp now = kStart;
  std::vector<routing::Effect> log;
};

}  // namespace hotline::testing
