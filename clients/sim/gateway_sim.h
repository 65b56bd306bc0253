// hotline-sim: a telephony gateway in a box. It opens GatewayService.Connect as a real gateway
// would, sends calls at a steady rate, and answers Hotline's commands the way a gateway does
// (connect: the counsellor picks up, the pair talks for a while, the call ends).
//
// One stream at a time, two threads: the calling thread reads Hotline's messages; a timer thread
// sends the arrivals, hang-ups and call ends. Writes are serialised on a mutex because a gRPC
// stream allows one outstanding Write at a time. A stream lost after its first Welcome is
// reconnected as gateway.proto's reconciliation contract says (docs/gateway.md shows how).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "hotline/v1/common.pb.h"

namespace hotline::clients {

struct SimOptions {
  // hotlined's gRPC address.
  std::string server;
  // The gateway bearer token.
  std::string token;
  // Sent in Hello; also the prefix of every event and call id.
  std::string gateway_id = "sim";
  // How many calls to send.
  int calls = 1;
  // Time between two arrivals.
  int interval_ms = 1000;
  // What every call carries in its CallArrived.
  std::string province = "38";
  std::string language = "vi";
  hotline::v1::Topic topic = hotline::v1::TOPIC_COUNSELLING;
  hotline::v1::Priority priority = hotline::v1::PRIORITY_NORMAL;
  hotline::v1::Gender gender_preference = hotline::v1::GENDER_UNSPECIFIED;
  // Caller number of the first call; call n gets this number plus n-1, unless same_caller.
  std::string caller = "+84900000000";
  // Every call comes from `caller`: a repeat caller.
  bool same_caller = false;
  // How long a connected call lasts before the gateway reports it ended.
  int talk_ms = 5000;
  // A caller still waiting (not connected) after this long hangs up; 0 means callers never do.
  int hang_up_after_ms = 0;
  // Answer every connect command with CommandUnreachable, as if no counsellor phone answered.
  bool unreachable = false;
  // Exit once every call sent has finished and every event has been acknowledged.
  bool exit_when_done = true;
};

// One call the simulated gateway places.
struct PlannedCall {
  // When it arrives, after the first call's arrival.
  std::chrono::milliseconds at{0};
  std::string number;
  std::string province;
  std::string language;
  hotline::v1::Topic topic = hotline::v1::TOPIC_COUNSELLING;
  hotline::v1::Priority priority = hotline::v1::PRIORITY_NORMAL;
  hotline::v1::Gender gender_preference = hotline::v1::GENDER_UNSPECIFIED;
  // How long it lasts once connected.
  std::chrono::milliseconds talk{0};
  // The caller hangs up if not connected by then; 0: never.
  std::chrono::milliseconds hang_up_after{0};
};

// How a placed call went, in the gateway's steady clock.
struct PlacedCall {
  PlannedCall call;
  std::chrono::steady_clock::time_point arrived;
  std::optional<std::chrono::steady_clock::time_point> connected;
  std::chrono::steady_clock::time_point over;
  // "ended", "hung up", "timed out", "rejected" or "refused".
  std::string outcome;
};

// Where the calls come from and where their fates go.
struct CallPlan {
  // The next call, in order of `at`; nullopt once there are no more.
  std::function<std::optional<PlannedCall>()> next;
  // Called once per finished call, one call at a time (under the simulator's lock: be quick).
  std::function<void(const PlacedCall&)> finished;
  // No line per message (errors are still printed): for thousands of calls.
  bool quiet = false;
  // Called once the stream is open with a function, callable from any thread, that winds the
  // run down early: no more arrivals, waiting callers hang up, connected calls end, and the run
  // ends as usual once every event is acknowledged. For an owner that stops on a signal.
  std::function<void(std::function<void()> wind_down)> on_open;
};

// Runs the simulator and returns the process exit code: 0 when every call finished (with
// exit_when_done), 1 when the first stream failed before its Welcome, a stream ended in a way
// reconnecting cannot mend (a refused token, another stream for the gateway id), or the daemon
// could not be reached again while the run was winding down. The calls are
// options.calls identical ones, options.interval_ms apart...
int RunGatewaySim(const SimOptions& options);
// ...or those of `plan` (options then give only the server, token, ids and command answers).
int RunGatewaySim(const SimOptions& options, CallPlan plan);

// Call n's caller number (n from 1): the digits of `base` plus n-1, keeping the leading '+' and
// the width. REQUIRES: base is an optional '+' followed by digits.
std::string CallerNumber(const std::string& base, int n);

}  // namespace hotline::clients
