// hotline-sim: a telephony gateway in a box. It opens GatewayService.Connect as a real gateway
// would, sends calls at a steady rate, and answers Hotline's commands the way a gateway does
// (connect: the counsellor picks up, the pair talks for a while, the call ends).
//
// One stream, two threads: the calling thread reads Hotline's messages; a timer thread sends the
// arrivals, hang-ups and call ends. Writes are serialised on a mutex because a gRPC stream allows
// one outstanding Write at a time.
#pragma once

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

// Runs the simulator and returns the process exit code: 0 when every call finished (with
// exit_when_done), 1 when the stream failed or the server closed it first.
int RunGatewaySim(const SimOptions& options);

// Call n's caller number (n from 1): the digits of `base` plus n-1, keeping the leading '+' and
// the width. REQUIRES: base is an optional '+' followed by digits.
std::string CallerNumber(const std::string& base, int n);

}  // namespace hotline::clients
