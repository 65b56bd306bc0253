// Live time: a scenario played against a running hotlined. The simulator is the gateway
// (GatewayService, as in --calls mode) placing the scenario's calls, and with `desks` also the
// roster's counsellors (DeskService, see SimDesks). `time_scale` simulated seconds pass per real
// second: arrivals, talk times, patience, accept delays and wrap-ups are divided by it, and the
// report's waits multiplied back. The daemon's own timers (offer timeout, wrap-up deadline,
// maximum wait, ladder steps) run in real time: docs/simulator.md says how to pair them.
#pragma once

#include <string>

#include "clients/sim/gateway_sim.h"
#include "clients/sim/scenario.h"

namespace hotline::clients {

struct LiveOptions {
  double time_scale = 1;
  bool desks = false;
  // For desks: the admin token that creates and removes the counsellors.
  std::string admin_token;
  bool json = false;
  bool progress = false;
};

// Runs the scenario; prints the report on stdout. Returns the process exit code: 0 when every
// call finished, 1 when the daemon failed the run (a stream, the roster), 2 for bad options.
int RunLive(const sim::Scenario& scenario, const SimOptions& gateway, const LiveOptions& options);

// --desks-only: the roster's counsellors alone (as with `desks`), answering the calls some other
// gateway sends to the daemon at `server`, for the scenario's duration divided by the time scale
// or until SIGINT/SIGTERM; then they sign out and are removed, and a line says what they did.
// Returns the process exit code: 0 at the end of the duration, 130 when interrupted, 1 when the
// daemon refused the roster, 2 without the admin token.
int RunDesksOnly(const sim::Scenario& scenario, const std::string& server,
                 const LiveOptions& options);

}  // namespace hotline::clients
