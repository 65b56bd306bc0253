#include "daemon/web_events.h"

#include <google/protobuf/util/json_util.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "daemon/rpc.h"
#include "daemon/services.h"

namespace hotline::daemon {

constexpr auto kKeepAlive = std::chrono::seconds(10);

// One open page. Send/Close from the engine thread (or the writer's, as deliveries), the
// rest on the HTTP worker that serves the page.
class WebViews::EventStream final : public QueueSink,
                                    public std::enable_shared_from_this<EventStream> {
 public:
  explicit EventStream(EngineHost& host) : host_(host) {}

  void Send(v1::QueueUpdate update) override {
    std::lock_guard lock(mu_);
    if (closed_) {
      return;
    }
    if (needs_view_) {
      // After a gap only a full view may follow.
      if (!update.has_view()) {
        return;
      }
      needs_view_ = false;
      view_asked_ = false;
    } else if (queue_.size() >= kPendingPerWatcher) {
      // Too far behind: drop what it has not read; it gets a full view once it has caught up.
      needs_view_ = true;
      queue_.clear();
      cv_.notify_one();
      return;
    }
    queue_.push_back(std::move(update));
    cv_.notify_one();
  }

  void Close(const grpc::Status&) override {
    std::lock_guard lock(mu_);
    closed_ = true;
    cv_.notify_one();
  }

  // Writes what is queued, or a keep-alive after a quiet while. False once the stream is over.
  bool Pump(httplib::DataSink& sink) {
    std::deque<v1::QueueUpdate> batch;
    bool caught_up = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kKeepAlive,
                   [&] { return closed_ || !queue_.empty() || (needs_view_ && !view_asked_); });
      if (closed_) {
        return false;
      }
      batch.swap(queue_);
      if (needs_view_ && !view_asked_ && batch.empty()) {
        view_asked_ = true;
        caught_up = true;
      }
    }
    if (caught_up) {
      host_.Post([self = shared_from_this()](EngineHost& h) { h.WatchCaughtUp(self); });
      return true;
    }
    if (batch.empty()) {
      static constexpr std::string_view kComment = ": keepalive\n\n";
      return sink.write(kComment.data(), kComment.size());
    }
    google::protobuf::util::JsonPrintOptions options;
    for (const v1::QueueUpdate& update : batch) {
      std::string json;
      if (!google::protobuf::util::MessageToJsonString(update, &json, options).ok()) {
        return false;
      }
      const std::string event = absl::StrCat("id: ", update.epoch(), ":", update.sequence(),
                                             "\nevent: update\ndata: ", json, "\n\n");
      if (!sink.write(event.data(), event.size())) {
        return false;
      }
    }
    return true;
  }

 private:
  EngineHost& host_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::QueueUpdate> queue_;
  // Fell behind: nothing but a full view is queued until one comes; it was asked for.
  bool needs_view_ = false;
  bool view_asked_ = false;
  bool closed_ = false;
};

namespace {

// "epoch:sequence" (an event id) into its parts; nothing when malformed.
void ParseResume(const std::string& id, std::string& epoch, uint64_t& after) {
  const size_t colon = id.rfind(':');
  if (colon == std::string::npos || colon > 64) {
    return;
  }
  uint64_t n = 0;
  if (absl::SimpleAtoi(id.substr(colon + 1), &n)) {
    epoch = id.substr(0, colon);
    after = n;
  }
}

}  // namespace

void WebViews::Register(httplib::Server& http) {
  http.Get("/api/queue/events",
           [this](const httplib::Request& req, httplib::Response& res) { Serve(req, res); });
}

void WebViews::Serve(const httplib::Request& req, httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  const std::string token(rpc::BearerToken(req.get_header_value("Authorization")));
  const std::optional<Principal> principal =
      token.empty() ? std::nullopt : accounts_.Authenticate(token, Role::kSupervisor);
  if (!principal) {
    res.status = 401;
    res.set_content("the live view needs a supervisor token\n", "text/plain");
    return;
  }
  std::string epoch;
  uint64_t after = 0;
  if (req.has_header("Last-Event-ID")) {
    ParseResume(req.get_header_value("Last-Event-ID"), epoch, after);
  } else if (req.has_param("epoch") && req.has_param("after")) {
    ParseResume(absl::StrCat(req.get_param_value("epoch"), ":", req.get_param_value("after")),
                epoch, after);
  }
  auto stream = std::make_shared<EventStream>(host_);
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      res.status = 503;
      res.set_content("shutting down\n", "text/plain");
      return;
    }
    if (open_.size() >= static_cast<size_t>(config_.max_web_views)) {
      res.status = 503;
      res.set_content(absl::StrCat("too many live views open (at most ", config_.max_web_views,
                                   ", [supervision] max_web_views)\n"),
                      "text/plain");
      return;
    }
    open_.insert(stream);
  }
  std::weak_ptr<EventStream> weak = stream;
  accounts_.Track(*principal, weak, [weak](const grpc::Status& why) {
    if (auto s = weak.lock()) {
      s->Close(why);
    }
  });
  // Audited with the account and the browser's address.
  const std::string peer = absl::StrCat(req.remote_addr, ":", req.remote_port);
  const std::string who = PrincipalName(*principal);
  host_.Post([stream, epoch, after, peer, who](EngineHost& h) {
    h.Audit("web", who, "web_live_view_start", peer);
    h.WatchOpened(stream, epoch, after);
  });
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream](size_t, httplib::DataSink& sink) { return stream->Pump(sink); },
      [this, stream, peer, who](bool) {
        host_.Post([stream, peer, who](EngineHost& h) {
          h.Audit("web", who, "web_live_view_end", peer);
          h.WatchClosed(stream);
        });
        std::lock_guard lock(mu_);
        open_.erase(stream);
      });
}

void WebViews::StopAll() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  for (const auto& stream : open_) {
    stream->Close(grpc::Status::CANCELLED);
  }
}

}  // namespace hotline::daemon
