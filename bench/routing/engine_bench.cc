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
// Memory and snapshots (one iteration each, figures in the counters):
// - BM_MemoryPerWaitingCall: heap bytes (glibc's mallinfo2) per waiting call, 100,000 of them.
// - BM_MemoryPerFinishedCall: heap bytes per remembered finished call, over 1,000,000 calls on a
//   line running at the defaults (max wait 5 min, announcements every 60 s), after a warm-up that
//   brings the timers of finished calls to their steady state; nothing is forgotten in the run
//   (1,000 s), so every call stays remembered.
// - BM_MemoryFlat: 1,000,000 calls one second apart (11.6 days): heap in use after 700,000,
//   850,000 and 1,000,000 calls, past the 24 h finished-call memory and the 7-day repeat window.
// - BM_Snapshot: SaveState plus its proto encoding (the daemon's snapshot before issue 11), time
//   and bytes, at 100,000 waiting calls and after 1,000,000 finished calls.
// - BM_SnapshotLive: the daemon's snapshot now: SaveLiveState on the engine thread (the time),
//   its encoding on the writer's (encode_ms, bytes), at the same two points.
//
// Run: build/bench/routing/engine_bench (BM_BusyLineFixed: a fixed count of cycles, for profilers)
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <cstdlib>
#include <new>
#include <random>

#include "daemon/journal.h"
#include "routing/engine.h"

// Every operator new in the process, counted: BM_BusyLine's allocs_per_event. One thread runs
// the benchmarks, so a plain counter; the count costs an add, against a malloc's hundred
// instructions. The default operator delete, libstdc++'s, frees with std::free.
namespace {
uint64_t news = 0;
}  // namespace

void* operator new(size_t size) {
  ++news;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}

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

// Heap bytes in use (small and mmapped chunks).
double HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd);
}

class Line {
 public:
  // `step`: time between cycles; `waited`: how long new calls have waited on arrival.
  Line(int counsellors, int waiting, EngineOptions options = Options(), Millis step = 1ms,
       Millis waited = 1h)
      : engine_(options, BenchPolicy()),
        rng_(42),
        counsellors_(counsellors),
        step_(step),
        waited_(waited) {
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
    AddWaiting(waiting);
  }

  void AddWaiting(int waiting) {
    for (int i = 0; i < waiting; ++i) {
      NextCall(Province(static_cast<int>(rng_() % kProvinces)), kTopics[rng_() % 4], waited_);
    }
    engine_.TakeEffects();
  }

  const Engine& engine() const { return engine_; }

  // Realistic production defaults: timers fire within minutes.
  static EngineOptions Defaults() { return EngineOptions{}; }

  // One cycle: six events. Not inlined, so a profiler can count one cycle's instructions
  // (valgrind --toggle-collect='*Line::Cycle*').
  [[gnu::noinline]] void Cycle() {
    now_ += step_;
    // It has waited long enough to be at national scope, like the rest of the queue, so the
    // queue neither drains nor fills with calls nobody may take yet.
    NextCall(Province(static_cast<int>(rng_() % kProvinces)), kTopics[rng_() % 4], waited_);
    auto [counsellor, done] = in_wrap_up_[next_++ % in_wrap_up_.size()];
    Check(engine_.SubmitDisposition(counsellor, done,
                                    Disposition{"other", "counselled", {}, false, ""}, true, now_));
    // The call they were just offered, as the daemon learns it: from the offer among the effects
    // (not FindCounsellor, whose view copies the whole profile).
    engine_.TakeEffects(effects_);
    std::string call;
    for (const Effect& effect : effects_) {
      if (const auto* offer = std::get_if<OfferMade>(&effect);
          offer != nullptr && offer->counsellor_id == counsellor) {
        call = offer->call.call_id;
      }
    }
    Check(engine_.AnswerOffer(counsellor, call, true, now_));
    Check(engine_.CallConnected(call, now_));
    Check(engine_.CallEnded(call, now_));
    in_wrap_up_[(next_ - 1) % in_wrap_up_.size()].second = call;
    engine_.TakeEffects(effects_);  // As the daemon takes them, into a buffer it keeps.
  }

 private:
 public:
  static EngineOptions Options() {
    EngineOptions o;
    // Nothing times out or announces during the run: every event is a routing decision.
    o.max_wait_ms = Millis(30LL * 24 * 3'600'000);
    o.announce_every_ms = Millis(30LL * 24 * 3'600'000);
    o.wrap_up_ms = Millis(30LL * 24 * 3'600'000);
    return o;
  }

 private:
  std::string NextCall(const std::string& province, Topic topic, Millis waited = Millis(0)) {
    CallInfo call;
    // Sizes as in production: a gateway's id of about 20 characters and the daemon's caller key,
    // 64 hex digits.
    call.call_id = "gw1-2026-" + std::to_string(1'000'000'000 + calls_++);
    call.gateway_id = "gw";
    // 64 hex digits from 256 random bits, written by hand: snprintf took 5 % of a cycle.
    call.caller_key.resize(64);
    for (int word = 0; word < 8; ++word) {
      uint32_t bits = static_cast<uint32_t>(rng_());
      for (int digit = 7; digit >= 0; --digit, bits >>= 4) {
        call.caller_key[word * 8 + digit] = "0123456789abcdef"[bits & 15];
      }
    }
    call.caller_masked = "********00";
    call.province = province;
    call.language = "vi";
    call.topic = topic;
    call.priority = rng_() % 50 == 0 ? Priority::kEmergency : Priority::kNormal;
    call.arrived_at = now_ - waited;
    std::string call_id = call.call_id;
    Check(engine_.CallArrived(std::move(call), now_));  // As the daemon does: moved in.
    return call_id;
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
  Millis step_;
  Millis waited_;
  uint64_t calls_ = 0;
  size_t next_ = 0;
  std::vector<std::pair<std::string, std::string>> in_wrap_up_;
  std::vector<Effect> effects_;
};

void BM_BusyLine(benchmark::State& state) {
  Line line(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const uint64_t news_before = news;
  for (auto _ : state) {
    line.Cycle();
  }
  const double events = 6.0 * static_cast<double>(state.iterations());
  // Allocations by the engine and by the cycle's own code: the new call's id and caller key (as
  // the daemon's conversion of an arrival makes them) and the copies of ids it keeps.
  state.counters["allocs_per_event"] = static_cast<double>(news - news_before) / events;
  state.SetItemsProcessed(static_cast<int64_t>(events));
  state.counters["ns_per_event"] =
      benchmark::Counter(events, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["counsellors"] = static_cast<double>(state.range(0));
  state.counters["waiting"] = static_cast<double>(state.range(1));
}

BENCHMARK(BM_BusyLine)
    ->ArgsProduct({{100, 1'000, 10'000}, {100, 1'000, 10'000, 100'000}})
    ->Unit(benchmark::kMicrosecond);

// The same cycles, a fixed number of them: for comparing two builds by their instruction counts,
// which do not move with the machine's load as time does (valgrind --tool=callgrind
// --toggle-collect='*Line::Cycle*' ... --benchmark_filter=BM_BusyLineFixed/10000/100000).
void BM_BusyLineFixed(benchmark::State& state) { BM_BusyLine(state); }
BENCHMARK(BM_BusyLineFixed)
    ->Args({100, 100})
    ->Args({10'000, 100'000})
    ->Iterations(20'000)
    ->Unit(benchmark::kMicrosecond);

void BM_MemoryPerWaitingCall(benchmark::State& state) {
  constexpr int kWaiting = 100'000;
  for (auto _ : state) {
    Line line(100, 0);
    const double before = HeapInUse();
    line.AddWaiting(kWaiting);
    state.counters["bytes_per_waiting_call"] = (HeapInUse() - before) / kWaiting;
  }
}
BENCHMARK(BM_MemoryPerWaitingCall)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_MemoryPerFinishedCall(benchmark::State& state) {
  constexpr int kWarmUp = 300'000;
  constexpr int kCalls = 1'000'000;
  for (auto _ : state) {
    // Calls arrive at national scope (past 60 s) and wait about 100 ms of a 5-minute maximum.
    Line line(100, 100, Line::Defaults(), 1ms, 2min);
    for (int i = 0; i < kWarmUp; ++i) {
      line.Cycle();
    }
    const double before = HeapInUse();
    for (int i = 0; i < kCalls; ++i) {
      line.Cycle();
    }
    state.counters["bytes_per_finished_call"] = (HeapInUse() - before) / kCalls;
  }
}
BENCHMARK(BM_MemoryPerFinishedCall)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_MemoryFlat(benchmark::State& state) {
  for (auto _ : state) {
    // One call a second: a counsellor's wrap-up lasts 20 s (of 45), a call waits about 20 s.
    Line line(20, 20, Line::Defaults(), 1s, 2min);
    for (int i = 1; i <= 1'000'000; ++i) {
      line.Cycle();
      if (i == 700'000 || i == 850'000 || i == 1'000'000) {
        state.counters["mb_after_" + std::to_string(i / 1000) + "k_calls"] = HeapInUse() / 1e6;
      }
    }
  }
}
BENCHMARK(BM_MemoryFlat)->Iterations(1)->Unit(benchmark::kMillisecond);

// Arg: 0 = 100,000 waiting calls; 1 = 100 waiting after 1,000,000 finished calls.
void BM_Snapshot(benchmark::State& state) {
  const bool finished = state.range(0) == 1;
  Line line(100, finished ? 100 : 100'000, Line::Defaults(), 1ms, 2min);
  if (finished) {
    for (int i = 0; i < 1'000'000; ++i) {
      line.Cycle();
    }
  }
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = daemon::ToSnapshot(line.engine().SaveState()).SerializeAsString().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["snapshot_bytes"] = static_cast<double>(bytes);
  state.counters["waiting"] = finished ? 100 : 100'000;
  state.counters["finished"] = finished ? 1'000'000 : 0;
}
BENCHMARK(BM_Snapshot)->Arg(0)->Arg(1)->Iterations(3)->Unit(benchmark::kMillisecond);

// The daemon's snapshot since issue 11: the engine thread copies only the live state
// (SaveLiveState, the time measured); the writer thread encodes it (encode_ms, bytes). Same
// args as BM_Snapshot.
void BM_SnapshotLive(benchmark::State& state) {
  const bool finished = state.range(0) == 1;
  Line line(100, finished ? 100 : 100'000, Line::Defaults(), 1ms, 2min);
  if (finished) {
    for (int i = 0; i < 1'000'000; ++i) {
      line.Cycle();
    }
  }
  EngineState saved;
  for (auto _ : state) {
    saved = line.engine().SaveLiveState();
    benchmark::DoNotOptimize(saved);
  }
  const auto start = std::chrono::steady_clock::now();
  const size_t bytes = daemon::ToSnapshot(saved).SerializeAsString().size();
  state.counters["encode_ms"] =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  state.counters["snapshot_bytes"] = static_cast<double>(bytes);
  // Pending timers (dead ones, of calls that finished or were answered, are left out).
  state.counters["timers"] = static_cast<double>(saved.timers.size());
  state.counters["waiting"] = finished ? 100 : 100'000;
  state.counters["finished"] = finished ? 1'000'000 : 0;
}
BENCHMARK(BM_SnapshotLive)->Arg(0)->Arg(1)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace hotline::routing

BENCHMARK_MAIN();
