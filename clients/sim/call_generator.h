// The calls of a scenario, drawn from its seeded generator: arrival times (a Poisson process
// whose rate is the scenario's rate for each local hour), province, language, topic, priority,
// and each caller's talk time and patience. The same scenario (seed included) gives the same
// calls, in the same order, on every machine: sampling uses only a 64-bit Mersenne Twister and
// formulas of our own, never the standard library's implementation-defined distributions.
//
// Not thread-safe: one owner.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "clients/sim/scenario.h"

namespace hotline::sim {

// A seeded source of the draws the simulator makes.
class Random final {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform on [0, 1).
  double Uniform();
  // Standard normal.
  double Normal();
  // A duration from `d`, rounded to the millisecond; never negative.
  Millis Draw(const Distribution& d);
  // An index of `weights`, each with probability weight / sum. REQUIRES: a positive sum.
  size_t Pick(const std::vector<double>& weights);

 private:
  std::mt19937_64 engine_;
};

struct SimCall {
  // 1, 2, ... in arrival order.
  int64_t n = 0;
  Timestamp arrival{};
  std::string province;
  std::string language;
  routing::Topic topic = routing::Topic::kCounselling;
  routing::Priority priority = routing::Priority::kNormal;
  // How long the call lasts once connected.
  Millis talk{0};
  // How long the caller waits before hanging up; nullopt: never.
  std::optional<Millis> patience;

  bool operator==(const SimCall&) const = default;
};

class CallGenerator final {
 public:
  // REQUIRES: `scenario` outlives the generator.
  explicit CallGenerator(const Scenario& scenario);

  // The next call, or nullopt once the scenario's duration is over.
  std::optional<SimCall> Next();

 private:
  const Scenario& scenario_;
  Random random_;
  // Where the arrival process stands, in (fractional) milliseconds after the start.
  double clock_ms_ = 0;
  int64_t count_ = 0;
};

}  // namespace hotline::sim
