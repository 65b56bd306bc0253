// The counsellor's Watch stream, kept open: after a drop it is opened again, with a jittered
// backoff from half a second doubling to ten, each pause ended early when a lost connection is
// back (AwaitConnection; docs/desk.md, "When the connection drops"). Both
// desks use it: the full screen (desk_app.cc) and line mode (desk.cc).
//
// One thread of its own reads the stream and calls the callbacks, in order, on it.
// Thread-safe: Start once, Stop from any thread (not from a callback).
#pragma once

#include <absl/base/thread_annotations.h>
#include <absl/synchronization/mutex.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <thread>

#include "clients/common/client.h"
#include "hotline/v1/desk.grpc.pb.h"

namespace hotline::clients {

struct WatchCallbacks {
  // Each event, in the order the daemon sent it. The first after each (re)open is the
  // counsellor's presence.
  std::function<void(const hotline::v1::DeskEvent&)> on_event;
  // The stream dropped with `status`; it is opened again after `delay`.
  std::function<void(const grpc::Status&, std::chrono::milliseconds delay)> on_lost;
  // The stream ended with a status `is_final` says not to retry; the thread ends.
  std::function<void(const grpc::Status&)> on_stopped;
  // Whether a drop's status ends the watch for good. ABORTED (another desk signed in with this
  // token: reopening would take the desk back from it) always does.
  std::function<bool(const grpc::Status&)> is_final;
};

// The channel arguments a desk's Server is best built with: gRPC tries to reconnect at most 2 s
// apart (not its default of up to 2 minutes), so the stream's own retry finds a daemon that was
// down a long time as soon as it is back.
grpc::ChannelArguments DeskChannelArguments();

class WatchStream final {
 public:
  WatchStream(const Server& server, hotline::v1::DeskService::Stub& stub, WatchCallbacks callbacks)
      : server_(server), stub_(stub), callbacks_(std::move(callbacks)) {}
  ~WatchStream() { Stop(); }

  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  void Start();
  // Ends the stream and the thread; no callback runs after it returns. Idempotent.
  void Stop();

 private:
  void Loop();
  // The pause before the next attempt (AwaitConnection): `delay`, shorter when a lost connection
  // comes back, ended by Stop within 100 ms; false when stopping.
  bool Sleep(std::chrono::milliseconds delay);

  const Server& server_;
  hotline::v1::DeskService::Stub& stub_;
  const WatchCallbacks callbacks_;
  std::thread thread_;
  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // The open stream's context, so that Stop can cancel it.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
};

}  // namespace hotline::clients
