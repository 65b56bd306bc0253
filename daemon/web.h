// The live view's page on hotlined's HTTP port: GET / (web/index.html) and the page's scripts and
// style sheet, from the files embedded at build time (web_assets.h). The page reads its data
// from the queue events endpoint (GET /api/queue/events), which is registered elsewhere.
//
// Thread-safety: ServeWebAssets registers handlers before the server listens; the handlers
// read only immutable data and run on any of cpp-httplib's threads.
#pragma once

namespace httplib {
class Server;
}  // namespace httplib

namespace hotline::daemon {

// Registers GET (and HEAD) for "/" and every embedded file ("/app.js", "/style.css", ...). Each
// answer says `Cache-Control: no-store` (the page must match the daemon serving it, and shows
// live data), a Content-Security-Policy of `default-src 'self'` (no inline script or style, no
// other origin) and `X-Content-Type-Options: nosniff`.
// REQUIRES: called before `server` starts listening.
void ServeWebAssets(httplib::Server& server);

}  // namespace hotline::daemon
