// The virtual-time simulator, and through it the routing engine, against queueing theory: an
// M/M/c pool must wait as Erlang C says, an M/M/c+M one abandon as Erlang A says. Each check
// pools several independent replicas (seeds) and prints the formula's value, the measured one,
// the tolerance and the replicas' standard error, which shows how far inside the tolerance the
// statistical noise is.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "clients/sim/scenario.h"
#include "clients/sim/virtual_run.h"
#include "tests/sim/queueing.h"

namespace hotline::sim {
namespace {

struct Pool {
  int counsellors = 10;
  double calls_per_hour = 0;
  double mean_talk_s = 0;
  // Absent: callers never hang up.
  std::optional<double> mean_patience_s;
  double days = 0;
  double warm_up_hours = 6;
};

// The model's assumptions as a scenario: one national step (no ladder widening scope), callers
// all distinct (no repeat-caller holds), offers accepted at once (no offer time-outs or
// missed-offer breaks), no wrap-up, a maximum wait never reached (no callbacks).
std::string PoolScenario(const Pool& pool, uint64_t seed) {
  std::string text = fmt::format(R"(
seed = {}
duration_days = {}
warm_up_hours = {}
[arrivals]
per_hour = {}
[talk_time]
distribution = "exponential"
mean_s = {}
[engine]
ladder = "national"
max_wait_s = 1e9
announce_every_s = 1e9
wrap_up_s = 3600
[[counsellors]]
id = "pool"
count = {}
)",
                                 seed, pool.days, pool.warm_up_hours, pool.calls_per_hour,
                                 pool.mean_talk_s, pool.counsellors);
  if (pool.mean_patience_s) {
    text += fmt::format("[patience]\ndistribution = \"exponential\"\nmean_s = {}\n",
                        *pool.mean_patience_s);
  }
  return text;
}

struct Estimate {
  double value = 0;
  double standard_error = 0;
  int64_t calls = 0;
};

// The overall figures of `replicas` independent runs of `pool` (seeds first_seed, +1, ...).
std::vector<GroupFigures> Replicate(const Pool& pool, int replicas, uint64_t first_seed) {
  std::vector<GroupFigures> runs;
  for (int r = 0; r < replicas; ++r) {
    const uint64_t seed = first_seed + static_cast<uint64_t>(r);
    INFO("seed " << seed);
    absl::StatusOr<Scenario> scenario = ParseScenario(PoolScenario(pool, seed), "pool.toml");
    REQUIRE(scenario.ok());
    absl::StatusOr<VirtualResult> result = RunVirtual(*scenario);
    REQUIRE(result.ok());
    REQUIRE(result->refused == 0);
    runs.push_back(result->report->Overall());
    REQUIRE(runs.back().calls > 0);
  }
  return runs;
}

// `measure` (a per-call mean) over all runs, weighted by their calls, with the standard error
// of the runs' values.
template <class Measure>
Estimate Pooled(const std::vector<GroupFigures>& runs, Measure measure) {
  Estimate e;
  double sum = 0;
  for (const GroupFigures& run : runs) {
    sum += measure(run) * static_cast<double>(run.calls);
    e.calls += run.calls;
  }
  e.value = sum / static_cast<double>(e.calls);
  double spread = 0;
  for (const GroupFigures& run : runs) {
    spread += (measure(run) - e.value) * (measure(run) - e.value);
  }
  const auto n = static_cast<double>(runs.size());
  e.standard_error = std::sqrt(spread / (n - 1) / n);
  return e;
}

double ShareWaited(const GroupFigures& g) {
  return static_cast<double>(g.waited) / static_cast<double>(g.calls);
}

// Prints the formula's value, the measured one, the tolerance and the standard error; true when
// they agree within the tolerance (relative).
bool Agrees(const char* what, double formula, const Estimate& measured, double tolerance) {
  std::printf(
      "%s: formula %.5f, measured %.5f (%lld calls), relative difference %+.2f%%, tolerance "
      "%.1f%%, standard error %.2f%%\n",
      what, formula, measured.value, static_cast<long long>(measured.calls),
      100 * (measured.value - formula) / formula, 100 * tolerance,
      100 * measured.standard_error / formula);
  return measured.calls >= 1'000'000 && std::abs(measured.value - formula) <= tolerance * formula;
}

TEST_CASE("an M/M/c pool waits as the Erlang C formula says", "[sim][slow]") {
  // Small and half loaded: the waits of a larger or busier pool are so correlated from one
  // caller to the next that millions more calls would be needed for the same precision. Here
  // 8 x 250,000 calls leave a standard error of about 0.5 % on the mean wait (printed).
  const Pool pool{.counsellors = 3,
                  .calls_per_hour = 18,
                  .mean_talk_s = 300,
                  .mean_patience_s = std::nullopt,
                  .days = 580,
                  .warm_up_hours = 6};
  const testing::QueueFigures formula =
      testing::ErlangC(pool.counsellors, pool.calls_per_hour / 3600, pool.mean_talk_s);
  constexpr double kTolerance = 0.02;
  constexpr int kReplicas = 8;
  const std::vector<GroupFigures> runs = Replicate(pool, kReplicas, 1000);
  const Estimate waited = Pooled(runs, ShareWaited);
  const Estimate mean_wait = Pooled(runs, [](const GroupFigures& g) { return g.mean_wait_s; });
  CHECK(Agrees("Erlang C share waited", formula.waited, waited, kTolerance));
  CHECK(Agrees("Erlang C mean wait (s)", formula.mean_wait, mean_wait, kTolerance));
}

TEST_CASE("an M/M/c+M pool abandons as the Erlang A model says", "[sim][slow]") {
  // Overloaded (offered 108 % of the pool's capacity) with impatient callers: about one in four
  // hangs up, so a million calls measure the abandonment share to about 0.3 %.
  const Pool pool{.counsellors = 3,
                  .calls_per_hour = 32.4,
                  .mean_talk_s = 300,
                  .mean_patience_s = 120,
                  .days = 165,
                  .warm_up_hours = 6};
  const testing::QueueFigures formula = testing::ErlangA(
      pool.counsellors, pool.calls_per_hour / 3600, pool.mean_talk_s, *pool.mean_patience_s);
  constexpr double kTolerance = 0.03;
  const std::vector<GroupFigures> runs = Replicate(pool, 8, 2000);
  const Estimate abandoned = Pooled(runs, [](const GroupFigures& g) {
    return static_cast<double>(g.abandoned) / static_cast<double>(g.calls);
  });
  const Estimate waited = Pooled(runs, ShareWaited);
  CHECK(Agrees("Erlang A share abandoned", formula.abandoned, abandoned, kTolerance));
  CHECK(Agrees("Erlang A share waited", formula.waited, waited, kTolerance));
}

TEST_CASE("the Erlang formulas give the textbook values", "[sim]") {
  // Erlang C, 10 servers offered 8 erlangs: P(wait) 0.4092 (published tables), mean wait
  // 0.4092 / (10 - 8) service times.
  const testing::QueueFigures c = testing::ErlangC(10, 8, 1);
  CHECK(c.waited == Approx(0.40918).epsilon(1e-4));
  CHECK(c.mean_wait == Approx(0.40918 / 2).epsilon(1e-4));
  // Erlang A with patience as long as the service: every caller leaves at the same rate
  // whether served or not, so the chain is M/M/infinity, Poisson(a); P(wait) = P(n >= c) and
  // abandonment = theta E[(n - c)+] / lambda.
  const testing::QueueFigures a = testing::ErlangA(2, 1, 1, 1);
  double tail = 1 - std::exp(-1.0) * (1 + 1);  // P(Poisson(1) >= 2)
  CHECK(a.waited == Approx(tail).epsilon(1e-9));
  // E[(N - 2)+] for Poisson(1): E[N] - 2 + 2 P(0) + 1 P(1) = 1 - 2 + 3/e.
  CHECK(a.abandoned == Approx(1 - 2 + 3 * std::exp(-1.0)).epsilon(1e-9));
}

}  // namespace
}  // namespace hotline::sim
