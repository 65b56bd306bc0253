// Property tests: thousands of random event sequences through the engine, checking after every
// step that its invariants hold, and at the end that every call ended in exactly one outcome and
// that the same sequence (or a snapshot restored midway) gives the same decisions. Seeded: a
// failure prints its seed; rerun one with HOTLINE_PROPERTY_SEED=<seed>.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "routing/engine.h"
#include "tests/testing/engine_harness.h"

namespace hotline::routing {
namespace {

using namespace std::chrono_literals;

// One input, as the test applies it: replayable on another engine.
struct Step {
  enum Kind {
    kArrive,
    kHangUp,
    kAnswer,
    kConnected,
    kEnded,
    kFailed,
    kConnectFailed,
    kDispose,
    kPresence,
    kDeskUp,
    kDeskDown,
    kPriority,
    kNeverRoute,
    kAdvance,
  } kind;
  std::string a;
  std::string b;
  int n = 0;
};

struct Run {
  std::vector<std::string> trace;       // Every effect, in order, as text.
  std::map<std::string, int> outcomes;  // Call id -> how many records.
  std::set<std::string> admitted;
  // Calls still live after the wind-down, with their state: should be none.
  std::map<std::string, std::string> leftover;
};

std::string Describe(const Effect& e) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, OfferMade>) {
          return "offer " + x.call.call_id + ">" + x.counsellor_id + " " + x.rule;
        } else if constexpr (std::is_same_v<T, OfferRevoked>) {
          return "revoke " + x.call_id;
        } else if constexpr (std::is_same_v<T, ConnectRequested>) {
          return "connect " + x.call_id + ">" + x.counsellor_id;
        } else if constexpr (std::is_same_v<T, PresenceChanged>) {
          return "presence " + x.change.counsellor_id + " " + std::string(Name(x.change.state)) +
                 " " + std::to_string(ToUnixMillis(x.change.at));
        } else if constexpr (std::is_same_v<T, CallFinished>) {
          return "finished " + x.record.call.call_id + " " + std::string(Name(x.record.outcome));
        } else if constexpr (std::is_same_v<T, CallbackOffered>) {
          return "callback " + x.call_id;
        } else {
          return "other";
        }
      },
      e);
}

// Applies one step; a refusal is fine (random inputs are often out of turn) but must change
// nothing, which CheckInvariants and the replay comparison catch.
void Apply(Engine& engine, const Step& s, Timestamp& now) {
  absl::Status ignored;
  switch (s.kind) {
    case Step::kArrive: {
      CallInfo call = testing::Call(s.a, s.b,
                                    s.n % 7 == 0   ? Priority::kEmergency
                                    : s.n % 3 == 0 ? Priority::kHigh
                                                   : Priority::kNormal,
                                    s.n % 2 ? Topic::kCounselling : Topic::kAbuseReport);
      call.arrived_at = now;
      call.caller_key = "caller-" + std::to_string(s.n % 12);  // Many repeat callers.
      ignored = engine.CallArrived(call, now);
      break;
    }
    case Step::kHangUp:
      ignored = engine.CallerHungUp(s.a, now);
      break;
    case Step::kAnswer:
      ignored = engine.AnswerOffer(s.b, s.a, s.n % 4 != 0, now);
      break;
    case Step::kConnected:
      ignored = engine.CallConnected(s.a, now);
      break;
    case Step::kEnded:
      ignored = engine.CallEnded(s.a, now);
      break;
    case Step::kFailed:
      ignored = engine.CallFailed(s.a, "line dropped", now);
      break;
    case Step::kConnectFailed:
      ignored = engine.ConnectFailed(s.a, "480", now);
      break;
    case Step::kDispose:
      ignored = engine.SubmitDisposition(
          s.b, s.a, Disposition{"other", "counselled", {}, s.n % 5 == 0, ""}, s.n % 6 != 0, now);
      break;
    case Step::kPresence:
      ignored = engine.SetPresence(s.b,
                                   s.n % 3 == 0   ? CounsellorState::kBreak
                                   : s.n % 3 == 1 ? CounsellorState::kAvailable
                                                  : CounsellorState::kOffline,
                                   BreakReason::kNone, now);
      break;
    case Step::kDeskUp:
      ignored = engine.DeskConnected(s.b, now);
      break;
    case Step::kDeskDown:
      ignored = engine.DeskDisconnected(s.b, now);
      break;
    case Step::kPriority:
      ignored = engine.ChangePriority(s.a, s.n % 2 ? Priority::kEmergency : Priority::kLow, now);
      break;
    case Step::kNeverRoute:
      ignored = engine.NeverRoute(s.b, s.a, now);
      break;
    case Step::kAdvance:
      now += Millis(s.n);
      engine.Tick(now);
      break;
  }
}

// A random but plausible sequence: mostly what a gateway and desks would do next, sometimes
// something out of turn.
std::vector<Step> Generate(uint32_t seed, int length) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const std::vector<std::string> provinces = {"01", "38", "79"};
  const std::vector<std::string> counsellors = {"an", "binh", "chi", "dung"};
  std::vector<Step> steps;
  int calls = 0;
  for (int i = 0; i < length; ++i) {
    const std::string call = "c" + std::to_string(calls == 0 ? 0 : pick(calls));
    const std::string who = counsellors[pick(4)];
    switch (pick(17)) {
      case 0:
      case 1:
      case 2:
        steps.push_back(
            {Step::kArrive, "c" + std::to_string(calls++), provinces[pick(3)], pick(100)});
        break;
      case 3:
        steps.push_back({Step::kHangUp, call, "", 0});
        break;
      case 4:
      case 5:
        steps.push_back({Step::kAnswer, call, who, pick(100)});
        break;
      case 6:
        steps.push_back({Step::kConnected, call, "", 0});
        break;
      case 7:
        steps.push_back({Step::kEnded, call, "", 0});
        break;
      case 8:
        steps.push_back({Step::kDispose, call, who, pick(100)});
        break;
      case 9:
        steps.push_back({Step::kPresence, "", who, pick(100)});
        break;
      case 10:
        steps.push_back({Step::kDeskUp, "", who, 0});
        break;
      case 11:
        steps.push_back({pick(3) == 0 ? Step::kDeskDown : Step::kConnectFailed, call, who, 0});
        break;
      case 12:
        steps.push_back({pick(4) == 0 ? Step::kFailed : Step::kPriority, call, "", pick(100)});
        break;
      case 13:
        steps.push_back({Step::kNeverRoute, call, who, 0});
        break;
      default:
        steps.push_back({Step::kAdvance, "", "", pick(40'000)});
        break;
    }
  }
  return steps;
}

// Varies with the seed: every strategy, with and without a region tree.
Policy PolicyFor(uint32_t seed) {
  Policy policy = Policy::Default();
  policy.strategy = static_cast<Strategy>(1 + seed % 4);
  if (seed % 2 == 0) {
    policy.regions.centres = {{"north", "North"}, {"south", "South"}};
    policy.regions.provinces = {{"01", "Ha Noi", "north", {"01"}},
                                {"38", "Thanh Hoa", "north", {"38"}},
                                {"79", "Ho Chi Minh", "south", {"79", "74"}}};
  }
  return policy;
}

std::unique_ptr<Engine> NewEngine(Timestamp now, uint32_t seed) {
  auto engine = std::make_unique<Engine>(EngineOptions{}, PolicyFor(seed));
  const std::vector<std::pair<std::string, std::string>> staff = {
      {"an", "38"}, {"binh", "01"}, {"chi", "38"}, {"dung", "79"}};
  for (const auto& [id, province] : staff) {
    auto profile = testing::Profile(id, province);
    if (id == "dung") {
      profile.skills.erase(Topic::kAbuseReport);
    }
    REQUIRE(engine->AddCounsellor(profile, now).ok());
  }
  return engine;
}

// Runs the sequence, checking invariants after every step; then lets every call finish.
// If `restore_at` is set, the engine is replaced midway by one restored from a snapshot.
Run Execute(const std::vector<Step>& steps, uint32_t seed, std::optional<size_t> restore_at) {
  Run run;
  Timestamp now = testing::kStart;
  auto engine = NewEngine(now, seed);
  auto collect = [&] {
    for (const auto& e : engine->TakeEffects()) {
      run.trace.push_back(Describe(e));
      if (auto* f = std::get_if<CallFinished>(&e)) {
        ++run.outcomes[f->record.call.call_id];
      }
    }
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    if (restore_at && i == *restore_at) {
      collect();
      auto copy = std::make_unique<Engine>(EngineOptions{}, PolicyFor(seed));
      copy->RestoreState(engine->SaveState());
      engine = std::move(copy);
    }
    Apply(*engine, steps[i], now);
    if (steps[i].kind == Step::kArrive && engine->FindCall(steps[i].a)) {
      run.admitted.insert(steps[i].a);
    }
    collect();
    const absl::Status invariants = engine->CheckInvariants();
    if (!invariants.ok()) {
      FAIL("seed " << seed << ", step " << i << ": " << invariants.ToString());
    }
  }
  // Wind down: every held call ends, every wrap-up is recorded, the rest time out.
  for (const auto& call : engine->Calls()) {
    if (call.state == CallState::kConnecting) {
      (void)engine->CallConnected(call.info.call_id, now);
    }
  }
  for (const auto& call : engine->Calls()) {
    if (call.state == CallState::kConnected) {
      (void)engine->CallEnded(call.info.call_id, now);
    }
  }
  for (const auto& call : engine->Calls()) {
    if (call.state == CallState::kOffered) {
      (void)engine->CallerHungUp(call.info.call_id, now);
    }
  }
  now += 2h;
  engine->Tick(now);
  collect();
  for (const auto& call : engine->Calls()) {
    auto c = engine->FindCounsellor(call.counsellor_id);
    run.leftover[call.info.call_id] = std::string(Name(call.state)) + " with '" +
                                      call.counsellor_id + "' (" +
                                      (c ? std::string(Name(c->state)) : "-") + ")";
  }
  const absl::Status invariants = engine->CheckInvariants();
  if (!invariants.ok()) {
    FAIL("seed " << seed << ", wind-down: " << invariants.ToString());
  }
  return run;
}

uint32_t BaseSeed() {
  if (const char* s = std::getenv("HOTLINE_PROPERTY_SEED")) {
    return static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  }
  return std::random_device()();
}

TEST_CASE("random event sequences keep every invariant and end every call exactly once",
          "[routing][property]") {
  const uint32_t base = BaseSeed();
  const int runs = std::getenv("HOTLINE_PROPERTY_SEED") ? 1 : 2'000;
  for (int r = 0; r < runs; ++r) {
    const uint32_t seed = base + static_cast<uint32_t>(r);
    INFO("seed " << seed << " (rerun with HOTLINE_PROPERTY_SEED=" << seed << ")");
    const auto steps = Generate(seed, 120);
    const Run run = Execute(steps, seed, std::nullopt);
    for (const auto& id : run.admitted) {
      const auto it = run.outcomes.find(id);
      const int records = it == run.outcomes.end() ? 0 : it->second;
      if (records != 1) {
        FAIL("seed " << seed << ": call " << id << " ended with " << records << " records; "
                     << (run.leftover.contains(id) ? run.leftover.at(id) : "not live"));
      }
    }
    if (run.outcomes.size() != run.admitted.size()) {
      FAIL("seed " << seed << ": " << run.outcomes.size() << " records for " << run.admitted.size()
                   << " admitted calls");
    }
  }
  SUCCEED("ran " << runs << " sequences from seed " << base);
}

TEST_CASE("the same sequence gives the same decisions, with or without a snapshot midway",
          "[routing][property]") {
  const uint32_t base = BaseSeed();
  for (int r = 0; r < 300; ++r) {
    const uint32_t seed = base + static_cast<uint32_t>(r);
    INFO("seed " << seed << " (rerun with HOTLINE_PROPERTY_SEED=" << seed << ")");
    const auto steps = Generate(seed, 120);
    const Run first = Execute(steps, seed, std::nullopt);
    const Run again = Execute(steps, seed, std::nullopt);
    const Run restored = Execute(steps, seed, steps.size() / 2);
    if (first.trace != again.trace || first.trace != restored.trace) {
      FAIL("seed " << seed << ": decisions differ between runs");
    }
  }
}

}  // namespace
}  // namespace hotline::routing
