#include "clients/sim/call_generator.h"

#include <cmath>
#include <numbers>

namespace hotline::sim {

double Random::Uniform() {
  // The top 53 bits: every double in [0, 1) this can give is equally likely.
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

double Random::Normal() {
  // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const double u = 1.0 - Uniform();
  const double v = Uniform();
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
}

Millis Random::Draw(const Distribution& d) {
  double seconds = 0;
  switch (d.kind) {
    case Distribution::Kind::kFixed:
      seconds = d.mean_s;
      break;
    case Distribution::Kind::kExponential:
      seconds = -d.mean_s * std::log(1.0 - Uniform());
      break;
    case Distribution::Kind::kLognormal: {
      // The underlying normal's parameters from the wanted mean and standard deviation.
      const double ratio = d.sd_s / d.mean_s;
      const double sigma2 = std::log1p(ratio * ratio);
      const double mu = std::log(d.mean_s) - sigma2 / 2;
      seconds = std::exp(mu + std::sqrt(sigma2) * Normal());
      break;
    }
    case Distribution::Kind::kUniform:
      seconds = d.min_s + (d.max_s - d.min_s) * Uniform();
      break;
  }
  return Millis(std::max<int64_t>(0, std::llround(seconds * 1000)));
}

size_t Random::Pick(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) {
    total += w;
  }
  double target = Uniform() * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (target < weights[i]) {
      return i;
    }
    target -= weights[i];
  }
  // Rounding left a sliver past the last weight: it belongs to the last positive one.
  size_t last = weights.size() - 1;
  while (last > 0 && weights[last] <= 0) {
    --last;
  }
  return last;
}

CallGenerator::CallGenerator(const Scenario& scenario)
    : scenario_(scenario), random_(scenario.seed) {}

std::optional<SimCall> CallGenerator::Next() {
  constexpr double kHourMs = 3'600'000;
  const double end_ms = static_cast<double>(scenario_.duration.count());
  const double offset_ms =
      static_cast<double>((scenario_.start.time_since_epoch() + kLocalOffset).count());
  while (clock_ms_ < end_ms) {
    // The rate is constant up to the next local hour; the process is memoryless, so a gap that
    // crosses the hour is drawn again from the hour's start at the new rate.
    const double local_hours = std::floor((offset_ms + clock_ms_) / kHourMs);
    const double hour_end = (local_hours + 1) * kHourMs - offset_ms;
    const auto hour = static_cast<size_t>(std::fmod(local_hours, 24.0));
    const double rate = scenario_.calls_per_hour[hour];
    const double gap = rate > 0 ? -std::log(1.0 - random_.Uniform()) * kHourMs / rate : INFINITY;
    if (clock_ms_ + gap >= hour_end) {
      clock_ms_ = hour_end;
      continue;
    }
    clock_ms_ += gap;
    if (clock_ms_ >= end_ms) {
      break;
    }
    SimCall call;
    call.n = ++count_;
    call.arrival = scenario_.start + Millis(std::llround(clock_ms_));
    call.province = scenario_.provinces.values[random_.Pick(scenario_.provinces.weights)];
    call.language = scenario_.languages.values[random_.Pick(scenario_.languages.weights)];
    call.topic = scenario_.topics.values[random_.Pick(scenario_.topics.weights)];
    call.priority = scenario_.priorities.values[random_.Pick(scenario_.priorities.weights)];
    call.talk = random_.Draw(scenario_.talk);
    if (scenario_.patience) {
      call.patience = random_.Draw(*scenario_.patience);
    }
    return call;
  }
  return std::nullopt;
}

}  // namespace hotline::sim
