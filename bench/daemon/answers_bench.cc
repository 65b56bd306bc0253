// The idempotency answers' lookup, per request: fingerprinting a request and looking it up among
// the plain answers of 1 or 25 hours (a day is 25 hours held), against finding it among the same
// number of whole answers (AnswerCache, as every answer was kept before the ninth session). A new
// request misses (every hour probed); a repeat hits the newest hour.
//
// Run: build/bench/daemon/answers_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "daemon/answer_cache.h"
#include "daemon/plain_answers.h"

namespace hotline::daemon {
namespace {

constexpr char kOrigin[] = "gateway:gw-hanoi-1";

std::string EventId(int64_t i) { return "ev-20261202-" + std::to_string(i); }

// The ids looked up: for a repeat, ones of the newest hour's answers (answer i of hour h is
// EventId(h * per_hour + i)); for a new request, ones never answered.
std::vector<std::string> Requests(int64_t per_hour, int64_t hours, bool repeat) {
  std::vector<std::string> ids;
  for (int64_t i = 0; i < 1'024; ++i) {
    ids.push_back(
        EventId(repeat ? (hours - 1) * per_hour + (i * 7919) % per_hour : hours * per_hour + i));
  }
  return ids;
}

// Every repeat found and no new request: the lookups did what is timed.
void Check(benchmark::State& state, int64_t found, bool repeat, size_t answers) {
  if (found != (repeat ? static_cast<int64_t>(state.iterations()) : 0)) {
    state.SkipWithError("a lookup gave the wrong answer");
  }
  state.counters["answers"] = static_cast<double>(answers);
}

// Answers per hour, hours: arguments 0 and 1; argument 2: 1 for a repeat, 0 for a new request.
void BM_PlainAnswers(benchmark::State& state) {
  const int64_t per_hour = state.range(0);
  const int64_t hours = state.range(1);
  const bool repeat = state.range(2) == 1;
  PlainAnswers plain;
  for (int64_t h = 0; h < hours; ++h) {
    for (int64_t i = 0; i < per_hour; ++i) {
      plain.Remember(kOrigin, EventId(h * per_hour + i), h * PlainAnswers::kBucketMs);
    }
  }
  const std::vector<std::string> ids = Requests(per_hour, hours, repeat);
  size_t k = 0;
  int64_t found = 0;
  for (auto _ : state) {
    const std::string& id = ids[k++ & 1'023];
    found += plain.Contains(plain.Fingerprint(kOrigin, id)) ? 1 : 0;
  }
  Check(state, found, repeat, plain.size());
}
BENCHMARK(BM_PlainAnswers)
    ->ArgNames({"per_hour", "hours", "repeat"})
    ->ArgsProduct({{1'000, 80'000}, {1, 25}, {0, 1}});

void BM_AnswerCache(benchmark::State& state) {
  const int64_t per_hour = state.range(0);
  const int64_t hours = state.range(1);
  const bool repeat = state.range(2) == 1;
  AnswerCache cache;
  for (int64_t i = 0; i < hours * per_hour; ++i) {
    cache.Remember(storage::RequestResult{kOrigin, EventId(i), i, 0, "", ""});
  }
  const std::vector<std::string> ids = Requests(per_hour, hours, repeat);
  const std::string origin = kOrigin;
  size_t k = 0;
  int64_t found = 0;
  for (auto _ : state) {
    found += cache.Find(origin, ids[k++ & 1'023]).has_value() ? 1 : 0;
  }
  Check(state, found, repeat, cache.size());
}
BENCHMARK(BM_AnswerCache)
    ->ArgNames({"per_hour", "hours", "repeat"})
    ->ArgsProduct({{1'000, 80'000}, {1, 25}, {0, 1}});

}  // namespace
}  // namespace hotline::daemon

BENCHMARK_MAIN();
