// hotline-desk, line by line: a counsellor's desk that prints each DeskEvent on one line and
// reads commands from stdin, for scripts, tests and terminals without a full screen (the full
// screen is desk_app.h; main.cc chooses).
//
// Threads: one reads the Watch stream (watch_stream.h, reopened after a drop) and prints events;
// the calling thread reads stdin; workers make the unary calls: the typed ones in the order typed,
// but accept and decline, which go at once, as do the answers the desk makes by itself
// (--auto-accept, --auto-disposition, --available). So a request whose answer the daemon holds
// (it answers once the request is written, and waits while another process locks its database)
// never stops the desk reading its events or answering the next offer. `quit` and the end of
// input wait for every answer. The gRPC stub is thread-safe; the desk's own state is behind a
// mutex.
#pragma once

#include <optional>
#include <string>

#include "hotline/v1/common.pb.h"

namespace hotline::clients {

struct DeskOptions {
  // hotlined's gRPC address.
  std::string server;
  // The counsellor's bearer token (from `hotlinectl counsellor add`).
  std::string token;
  // Accept every offer as soon as it rings.
  bool auto_accept = false;
  // Record this disposition (and go AVAILABLE) as soon as wrap-up starts, when the desk opens
  // into a wrap-up, and for each call the daemon says still needs one.
  std::optional<hotline::v1::Disposition> auto_disposition;
  // Go AVAILABLE as soon as the Watch is open (again, after a reconnect) while OFFLINE or on
  // BREAK.
  bool available = false;
  // Exit 0 after this many dispositions are recorded; 0 means never.
  int exit_after_calls = 0;
};

// Runs the desk and returns the process exit code: 0 after `quit`, end of input (unless the desk
// runs unattended: auto_accept, auto_disposition or exit_after_calls) or exit_after_calls
// dispositions; 1 when another desk signs in with the token or the token is refused. Any other
// end of the Watch stream (hotlined restarting, the network) is retried with a backoff, each try
// said in a line.
int RunDesk(const DeskOptions& options);

}  // namespace hotline::clients
