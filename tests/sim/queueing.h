// Queueing formulas the simulator is checked against: Erlang C (M/M/c) in closed form, and
// Erlang A (M/M/c+M, exponential patience) from its birth-death chain solved numerically with
// the states truncated far out (the tail there is below double precision).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace hotline::sim::testing {

struct QueueFigures {
  // The share of callers who find every counsellor busy (and so wait, or leave).
  double waited = 0;
  // The mean wait of all callers (Erlang C; zeros included).
  double mean_wait = 0;
  // The share of callers who hang up before being answered (Erlang A).
  double abandoned = 0;
};

// Erlang B by its stable recurrence; a = offered load in erlangs.
inline double ErlangB(int c, double a) {
  double b = 1;
  for (int k = 1; k <= c; ++k) {
    b = a * b / (k + a * b);
  }
  return b;
}

// M/M/c: arrival rate `lambda`, mean service time `mean_service` (same time unit as the result).
// REQUIRES: lambda * mean_service < c.
inline QueueFigures ErlangC(int c, double lambda, double mean_service) {
  const double a = lambda * mean_service;
  const double rho = a / c;
  const double b = ErlangB(c, a);
  const double waited = b / (1 - rho * (1 - b));
  return {.waited = waited, .mean_wait = waited * mean_service / (c - a), .abandoned = 0};
}

// M/M/c+M: as ErlangC, with exponential patience of mean `mean_patience`.
inline QueueFigures ErlangA(int c, double lambda, double mean_service, double mean_patience) {
  const double mu = 1 / mean_service;
  const double theta = 1 / mean_patience;
  // Unnormalised stationary probabilities p[n] of n callers in the system; far enough out that
  // the queue's death rate dwarfs lambda and the remaining mass vanishes.
  std::vector<double> p = {1};
  double total = 1;
  for (int n = 1; n < c + 100'000; ++n) {
    const double death = std::min(n, c) * mu + std::max(n - c, 0) * theta;
    p.push_back(p.back() * lambda / death);
    total += p.back();
    if (n > c && p.back() < 1e-18 * total) {
      break;
    }
  }
  double busy = 0;
  double queued = 0;
  for (size_t n = 0; n < p.size(); ++n) {
    if (static_cast<int>(n) >= c) {
      busy += p[n];
      queued += (static_cast<double>(n) - c) * p[n];
    }
  }
  // Arrivals see time averages (PASTA); abandonments happen at rate theta per queued caller.
  return {.waited = busy / total,
          .mean_wait = 0,
          .abandoned = theta * (queued / total) / lambda};
}

}  // namespace hotline::sim::testing
