// The web page's live queue: GET /api/queue/events, server-sent events each carrying one
// QueueUpdate in protobuf's JSON mapping (supervisor.proto WatchQueue, the same feed).
//
//   GET /api/queue/events[?epoch=E&after=N]      Authorization: Bearer <supervisor token>
//
// A resume comes from the query or from the Last-Event-ID header the browser resends (each
// event's id is "<epoch>:<sequence>"). 401 without a supervisor's token, 503 while
// `[supervision] max_web_views` pages are open. A comment line (": keepalive") goes out every
// 10 s, so a page that went away frees its slot within 10 s. Each page holds at most
// kPendingPerWatcher unsent updates, like a WatchQueue stream; an HTTP write that blocks for
// cpp-httplib's write timeout (5 s) ends the stream, and the page reconnects and resumes.
#pragma once

#include <httplib.h>

#include <memory>
#include <mutex>
#include <set>

#include "daemon/accounts.h"
#include "daemon/config.h"
#include "daemon/engine_host.h"

namespace hotline::daemon {

class WebViews final {
 public:
  // `accounts` authenticates the page's bearer token (a supervisor's); a revoked or rotated
  // account's open pages are ended at once.
  WebViews(const Config& config, EngineHost& host, Accounts& accounts)
      : config_(config), host_(host), accounts_(accounts) {}
  WebViews(const WebViews&) = delete;
  WebViews& operator=(const WebViews&) = delete;

  // Registers GET /api/queue/events.
  void Register(httplib::Server& http);
  // Ends every open event stream (before the HTTP server stops: it waits for its workers).
  void StopAll();
  // HTTP worker threads the server needs: one per page, and some for everything else.
  size_t threads() const { return static_cast<size_t>(config_.max_web_views) + 4; }

  class EventStream;

 private:
  void Serve(const httplib::Request& req, httplib::Response& res);

  const Config& config_;
  EngineHost& host_;
  Accounts& accounts_;
  std::mutex mu_;
  std::set<std::shared_ptr<EventStream>> open_;
  bool stopped_ = false;
};

}  // namespace hotline::daemon
