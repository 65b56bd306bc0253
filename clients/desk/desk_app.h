// hotline-desk's full screen: a terminal (ncurses) around the desk model and its renderer.
// Threads: a reader keeps the Watch stream open, reopening it with a backoff when it drops;
// workers make the counsellor's requests (in order; accept and decline at once, apart) and fetch
// the shift's figures, so the screen never waits for the network; each hands what it got to the
// screen thread, which owns the model, draws it five times a second (the countdowns move), and
// reads keys.
#pragma once

#include <string>

#include "clients/desk/lang.h"
#include "clients/desk/taxonomy.h"

namespace hotline::clients::desk {

struct ScreenOptions {
  // hotlined's gRPC address.
  std::string server;
  // The counsellor's bearer token.
  std::string token;
  Lang lang = Lang::kVi;
  // The wrap-up form's lists.
  Taxonomy taxonomy;
};

// Runs the full-screen desk until the counsellor quits; returns the exit code (0).
// REQUIRES: stdin and stdout are a terminal.
int RunScreen(const ScreenOptions& options);

}  // namespace hotline::clients::desk
