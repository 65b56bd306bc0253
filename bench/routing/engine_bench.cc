// How fast the routing engine decides, and whether the cost of an event grows with the queue:
// events per second and nanoseconds per event with 100 to 10,000 counsellors and 100 to
// 100,000 waiting calls.
//
// The steady state of a busy line: every counsellor is on a call or in wrap-up and the queue
// holds `waiting` calls, all past the province and centre steps. Each iteration is one cycle of six
// events: a new call arrives (and finds nobody free), one counsellor records the outcome of their
// last call and becomes available (and is offered the oldest call they can take, from the whole
// queue), accepts it, is connected, and the call ends (wrap-up). The region tree is 34 provinces in
// 3 centres; each counsellor serves their home province and takes two or three of the four topics.
//
// Run: build/bench/routing/engine_bench
#include <benchmark/benchmark.h>

#include <random>

#include "routing/engine.h"

namespace hotline::routing {
namespace {

using namespace std::chrono_literals;

constexpr Timestamp kStart{Millis(1'767'225'600'000)};
constexpr int kProvinces = 34;
const Topic kTopics[] = {Topic::kAbuseReport, Topic::kCounselling, Topic::kInformationLegal,
                         Topic::kOther};

std::string Province(int i) { return std::to_string(10 + i % kProvinces); }

Policy BenchPolicy() {
  Policy policy = Policy::Default();
  for (const char* centre : {"north", "central", "south"}) {
    policy.regions.centres.push_back({centre, centre});
  }
  for (int i = 0; i < kProvinces; ++i) {
    policy.regions.provinces.push_back(
        {Province(i), "Province " + Province(i), policy.regions.centres[i % 3].id, {Province(i)}});
  }
  return policy;
}

class Line {
 public:
  Line(int counsellors, int waiting)
      : engine_(Options(), BenchPolicy()), rng_(42), counsellors_(counsellors) {
    for (int i = 0; i < counsellors; ++i) {
      CounsellorProfile p;
      p.id = "c" + std::to_string(i);
      p.display_name = p.id;
      p.home_province = Province(i);
      for (int t = 0; t < 4; ++t) {
        if (t == i % 4 && i % 3 != 0) {
          continue;  // Most take three topics, some all four.
        }
        p.skills[kTopics[t]] = 1 + (i + t) % 5;
      }
      p.languages = {"vi"};
      p.endpoint = "sip:" + p.id;
      Check(engine_.AddCounsellor(p, now_));
      Check(engine_.DeskConnected(p.id, now_));
      Check(engine_.SetPresence(p.id, CounsellorState::kAvailable, BreakReason::kNone, now_));
      // Give them a call of their own and end it: everyone starts in wrap-up.
      const std::string call = NextCall(Province(i), kTopics[(i + 1) % 4]);
      Check(engine_.AnswerOffer(p.id, call, true, now_));
      Check(engine_.CallConnected(call, now_));
      Check(engine_.CallEnded(call, now_));
      in_wrap_up_.push_back({p.id, call});
    }
    // The queue: calls that have waited long enough to be at national scope.
    for (int i = 0; i < waiting; ++i) {
      NextCall(Province(static_cast<int>(rng_() % kProvinces)), kTopics[rng_() % 4], 1h);
    }
    engine_.TakeEffects();
  }

  // One cycle: six events.
  void Cycle() {
    now_ += 1ms;
    // It has waited long enough to be at national scope, like the rest of the queue, so the
    // queue neither drains nor fills with calls nobody may take yet.
    NextCall(Province(static_cast<int>(rng_() % kProvinces)), kTopics[rng_() % 4], 1h);
    auto [counsellor, done] = in_wrap_up_[next_++ % in_wrap_up_.size()];
    Check(engine_.SubmitDisposition(counsellor, done,
                                    Disposition{"other", "counselled", {}, false, ""}, true, now_));
    auto view = engine_.FindCounsellor(counsellor);
    const std::string call = view->call_id;  // The call they were just offered.
    Check(engine_.AnswerOffer(counsellor, call, true, now_));
    Check(engine_.CallConnected(call, now_));
    Check(engine_.CallEnded(call, now_));
    in_wrap_up_[(next_ - 1) % in_wrap_up_.size()].second = call;
    engine_.TakeEffects();
  }

 private:
  static EngineOptions Options() {
    EngineOptions o;
    // Nothing times out or announces during the run: every event is a routing decision.
    o.max_wait_ms = Millis(30LL * 24 * 3'600'000);
    o.announce_every_ms = Millis(30LL * 24 * 3'600'000);
    o.wrap_up_ms = Millis(30LL * 24 * 3'600'000);
    return o;
  }

  std::string NextCall(const std::string& province, Topic topic, Millis waited = Millis(0)) {
    CallInfo call;
    call.call_id = "k" + std::to_string(calls_++);
    call.gateway_id = "gw";
    call.caller_key = "caller-" + std::to_string(rng_());
    call.caller_masked = "********00";
    call.province = province;
    call.language = "vi";
    call.topic = topic;
    call.priority = rng_() % 50 == 0 ? Priority::kEmergency : Priority::kNormal;
    call.arrived_at = now_ - waited;
    Check(engine_.CallArrived(call, now_));
    return call.call_id;
  }

  static void Check(const absl::Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", s.ToString().c_str());
      std::abort();
    }
  }

  Engine engine_;
  std::mt19937 rng_;
  Timestamp now_ = kStart;
  int counsellors_;
  uint64_t calls_ = 0;
  size_t next_ = 0;
  std::vector<std::pair<std::string, std::string>> in_wrap_up_;
};

void BM_BusyLine(benchmark::State& state) {
  Line line(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    line.Cycle();
  }
  const double events = 6.0 * static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["ns_per_event"] =
      benchmark::Counter(events, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["counsellors"] = static_cast<double>(state.range(0));
  state.counters["waiting"] = static_cast<double>(state.range(1));
}

BENCHMARK(BM_BusyLine)
    ->ArgsProduct({{100, 1'000, 10'000}, {100, 1'000, 10'000, 100'000}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hotline::routing

BENCHMARK_MAIN();
