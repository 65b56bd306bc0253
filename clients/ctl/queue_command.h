// `hotlinectl queue`: SupervisorService.WatchQueue read into a QueueModel and drawn with
// QueueScreen, once or until Ctrl-C.
//
// Both are called on the main thread; WatchQueue starts a stream reader and a signal thread of
// its own and joins them before it returns.
#pragma once

#include <string>

#include "clients/common/client.h"

namespace hotline::clients {

// Prints the queue as of the stream's first update (a full view) and returns 0; 1, with the
// error on stderr, when the stream fails or ends before a view. `server` carries the supervisor
// token; `address` is named in errors.
int ShowQueue(const Server& server, const std::string& address);

// The channel arguments WatchQueue's `server` is best built with: gRPC tries to reconnect at
// most 5 s apart (not its default 2 minutes), so a watch resumes soon after a daemon restart.
grpc::ChannelArguments WatchChannelArguments();

// Draws the queue and redraws it on every update, and once a second on a terminal so waits tick
// (to a file or pipe: on updates only, one block of lines each, not clearing a screen). When the
// stream drops it says "reconnecting…" and resumes from the last update applied (epoch and
// sequence) as soon as the channel is up again, 250 ms to 5 s after the last attempt; an update
// that does not follow the last one (QueueModel::Apply) makes it resume the same way, or ask for
// a full view when a resume stopped at the same place before. Returns 0 on SIGINT (Ctrl-C) or
// SIGTERM; 1 when the daemon refuses the token or the request, which no retry mends.
int WatchQueue(const Server& server, const std::string& address);

}  // namespace hotline::clients
