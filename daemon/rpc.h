// The async completion-queue plumbing under hotlined's gRPC services.
//
// Why the completion-queue API and not the callback API: gRPC 1.51's callback reactions run on a
// shared pool whose threads sleep after about a second of idleness, so the first request after a
// quiet spell waits 20-45 ms (DESIGN.md §5). A helpline's traffic is sparse; our own thread
// blocked in CompletionQueue::Next wakes at once.
//
// Threads: one thread drives the completion queue and runs every tag's Done() (QueueThread).
// Done() must never block: handlers validate, then post work to the engine thread. Replies and
// stream writes may be started from any thread until shutdown (QueueThread::RequestStop).
//
// Shutdown: gRPC aborts the process (`grpc_cq_begin_op` in call.cc) when an operation is started
// on a completion queue after its Shutdown(), and a completion still queued then may well start
// one (a failed write's Finish, the next Read, the next request, a handler's reply). So the
// queue is shut down by a tag on its own thread, after every other thread that starts operations
// on it has ended, and from then on every operation start here, all on that thread, checks
// QueueClosed() and gives up: the server was shut down first, so the RPC is cancelled already
// and nothing is lost that could still reach its client.
//
// Ownership: each RPC is an object held by shared_ptr. Every operation in flight holds a
// reference through its tag, so the object lives until the last operation completes.
#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/support/async_unary_call.h>
#include <pthread.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "daemon/status.h"
#include "daemon/wire_parse.h"

namespace hotline::daemon::rpc {

// Something waiting for one completion-queue operation.
class Tag {
 public:
  virtual ~Tag() = default;
  // Runs on the completion-queue thread; `ok` is the operation's success.
  virtual void Done(bool ok) = 0;
};

// A one-shot tag that runs `f(ok)` and deletes itself.
template <class F>
class OnceTag final : public Tag {
 public:
  explicit OnceTag(F f) : f_(std::move(f)) {}
  void Done(bool ok) override {
    std::unique_ptr<OnceTag> self(this);
    f_(ok);
  }

 private:
  F f_;
};

// The tag pointer to hand to gRPC; owned by the completion queue until it is delivered.
template <class F>
void* Once(F f) {
  return std::make_unique<OnceTag<F>>(std::move(f)).release();
}

// What decides, before a unary call's handler runs, whether the call is served at all (the
// request rate per credential: limits.h). Called on the completion-queue thread; must not block.
class Admission {
 public:
  virtual ~Admission() = default;
  // OK to serve the call; otherwise the status it fails with (RESOURCE_EXHAUSTED).
  virtual grpc::Status Admit(const grpc::ServerContext& ctx) = 0;
};

// What a completion-queue thread knows of its queue; only that thread reads or writes it.
struct DrivenQueue {
  // Admits every unary call served on the queue (ServeUnary); may be null.
  Admission* admission = nullptr;
  // The queue is shut down: no operation may be started on it any more.
  bool closed = false;
};

// The queue this thread drives (QueueThread), or null on any other thread.
inline DrivenQueue*& ThisThreadQueue() {
  thread_local DrivenQueue* queue = nullptr;
  return queue;
}

// The admission of the completion queue this thread drives, or null.
inline Admission* ThreadAdmission() {
  DrivenQueue* queue = ThisThreadQueue();
  return queue != nullptr ? queue->admission : nullptr;
}

// True on a completion-queue thread once its queue is shut down: every operation start in this
// file and in streams.h returns without starting anything then. Always false on other threads,
// which QueueThread::RequestStop requires to have ended.
inline bool QueueClosed() {
  DrivenQueue* queue = ThisThreadQueue();
  return queue != nullptr && queue->closed;
}

// The thread that drives one server completion queue: runs every tag's Done() until the queue is
// shut down and drained, and is the only place the queue is shut down (see Shutdown above).
// Thread-safety: constructed, stopped and destroyed by one owning thread.
class QueueThread final {
 public:
  // Starts the thread. `admission` (may be null) admits every unary call served on `cq`.
  QueueThread(grpc::ServerCompletionQueue* cq, Admission* admission)
      : cq_(cq), close_(cq), thread_([this, admission] {
          pthread_setname_np(pthread_self(), "hl-cq");
          Drive(admission);
        }) {}
  QueueThread(const QueueThread&) = delete;
  QueueThread& operator=(const QueueThread&) = delete;
  ~QueueThread() { Stop(); }

  // Asks the queue's thread to shut the queue down once it gets to it; returns at once.
  // REQUIRES: the server was shut down (grpc::Server::Shutdown returned), and every other thread
  // that starts operations on this queue has ended or will start none: only the queue's own
  // thread checks QueueClosed(). Idempotent.
  void RequestStop() {
    if (!stop_requested_) {
      stop_requested_ = true;
      // An alarm already due: its tag runs on the queue's thread, after nothing in particular.
      alarm_.Set(cq_, gpr_now(GPR_CLOCK_MONOTONIC), &close_);
    }
  }

  // RequestStop, then waits until every operation in flight has completed and the thread ended.
  void Stop() {
    RequestStop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

 private:
  // Runs on the queue's thread: from here on nothing is started on the queue.
  class CloseTag final : public Tag {
   public:
    explicit CloseTag(grpc::ServerCompletionQueue* cq) : cq_(cq) {}
    void Done(bool) override {
      ThisThreadQueue()->closed = true;
      cq_->Shutdown();
    }

   private:
    grpc::ServerCompletionQueue* const cq_;
  };

  void Drive(Admission* admission) {
    DrivenQueue queue{.admission = admission};
    ThisThreadQueue() = &queue;
    void* tag = nullptr;
    bool ok = false;
    while (cq_->Next(&tag, &ok)) {
      static_cast<Tag*>(tag)->Done(ok);
    }
    ThisThreadQueue() = nullptr;
  }

  grpc::ServerCompletionQueue* const cq_;
  CloseTag close_;
  grpc::Alarm alarm_;  // Delivers close_; outlives the thread.
  bool stop_requested_ = false;
  std::thread thread_;  // Last: starts once the rest exists.
};

// The token of an `Authorization` value, or empty: the scheme "Bearer" in any case, then one or
// more spaces (RFC 7235 2.1, RFC 6750 2.1), as HTTP clients and proxies may write it.
inline std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() + 1 || authorization[kScheme.size()] != ' ') {
    return {};
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if ((authorization[i] | 0x20) != kScheme[i]) {  // ASCII letters only: 0x20 is the case bit.
      return {};
    }
  }
  const size_t token = authorization.find_first_not_of(' ', kScheme.size());
  return token == std::string_view::npos ? std::string_view() : authorization.substr(token);
}

// The bearer token of a call, or empty.
inline std::string BearerToken(const grpc::ServerContext& ctx) {
  const auto& md = ctx.client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) {
    return "";
  }
  return std::string(BearerToken(std::string_view(it->second.data(), it->second.size())));
}

// ---------------------------------------------------------------------------------------------
// Unary RPCs.

template <class Request, class Response>
class UnaryCall final : public std::enable_shared_from_this<UnaryCall<Request, Response>> {
 public:
  grpc::ServerContext ctx;
  Request request;  // Parsed by ServeUnary before the handler runs.

  // Sends the reply; call once, from any thread.
  void Reply(const Response& response) { Finish(response, grpc::Status::OK); }
  void Fail(const grpc::Status& status) { Finish(Response(), status); }
  void Fail(const absl::Status& status) { Fail(ToGrpc(status)); }
  // Replies with the response, or fails with the error.
  void Complete(const absl::StatusOr<Response>& result) {
    if (result.ok()) {
      Reply(*result);
    } else {
      Fail(result.status());
    }
  }

  // The request's bytes as they came, and the writer of the reply's (ServeUnary).
  grpc::ByteBuffer* raw_request() { return &raw_request_; }
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* responder() { return &responder_; }

 private:
  void Finish(const Response& response, grpc::Status status) {
    if (QueueClosed()) {
      return;  // Cancelled with the server: no client waits for this reply.
    }
    grpc::ByteBuffer bytes;
    if (status.ok()) {
      bool own = false;
      status = grpc::SerializationTraits<Response>::Serialize(response, &bytes, &own);
    }
    if (!status.ok()) {
      return responder_.FinishWithError(status, Once([self = this->shared_from_this()](bool) {}));
    }
    responder_.Finish(bytes, status, Once([self = this->shared_from_this()](bool) {}));
  }

  grpc::ByteBuffer raw_request_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_{&ctx};
};

// Reaches grpc::Service's protected RequestAsyncUnary, to request a method's calls as raw bytes
// (the generated WithRawMethod_X classes do the same from within).
class ServiceAccess : grpc::Service {
 public:
  static void RequestUnaryBytes(grpc::Service* service, int index, grpc::ServerContext* context,
                                grpc::ByteBuffer* request,
                                grpc::ServerAsyncResponseWriter<grpc::ByteBuffer>* responder,
                                grpc::ServerCompletionQueue* cq, void* tag) {
    constexpr auto request_fn = &ServiceAccess::RequestAsyncUnary<grpc::ByteBuffer>;
    (service->*request_fn)(index, context, request, responder, cq, cq, tag);
  }
  // The same for a server-streaming method: the request as raw bytes, the stream as it is.
  static void RequestServerStreamBytes(grpc::Service* service, int index,
                                       grpc::ServerContext* context, grpc::ByteBuffer* request,
                                       grpc::internal::ServerAsyncStreamingInterface* stream,
                                       grpc::ServerCompletionQueue* cq, void* tag) {
    constexpr auto request_fn = &ServiceAccess::RequestAsyncServerStreaming<grpc::ByteBuffer>;
    (service->*request_fn)(index, context, request, stream, cq, cq, tag);
  }
};

// Serves every call of one unary method with `handler`, which must reply exactly once (now or
// later, from any thread). `request_fn`, the generated AsyncService::RequestX method, names the
// method.
//
// The request is taken as raw bytes and parsed here (ParseMessage), so one that fails to parse
// (a string that is not UTF-8) is answered INVALID_ARGUMENT naming the field, where gRPC's
// generated code answers INTERNAL "Unable to parse request" before the daemon sees it. The
// handler then runs with `call->request` parsed.
template <class Service, class Request, class Response>
void ServeUnary(Service* service,
                [[maybe_unused]] void (Service::*request_fn)(
                    grpc::ServerContext*, Request*, grpc::ServerAsyncResponseWriter<Response>*,
                    grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*),
                grpc::ServerCompletionQueue* cq,
                std::function<void(std::shared_ptr<UnaryCall<Request, Response>>)> handler) {
  if (QueueClosed()) {
    return;  // Shutting down: no more calls.
  }
  static const int index =
      MethodIndex(Request::descriptor(), Response::descriptor(), MethodShape::kUnary);
  auto call = std::make_shared<UnaryCall<Request, Response>>();
  auto* raw = call.get();
  ServiceAccess::RequestUnaryBytes(
      service, index, &raw->ctx, raw->raw_request(), raw->responder(), cq,
      Once([service, request_fn, cq, handler, call](bool ok) {
        if (!ok) {
          return;  // The server is shutting down.
        }
        ServeUnary(service, request_fn, cq, handler);
        if (Admission* admission = ThreadAdmission()) {
          if (grpc::Status s = admission->Admit(call->ctx); !s.ok()) {
            return call->Fail(s);
          }
        }
        const absl::Status parsed = ParseMessage(*call->raw_request(), call->request, "request");
        call->raw_request()->Clear();  // Parsed or refused, the bytes are not needed again.
        if (!parsed.ok()) {
          return call->Fail(parsed);
        }
        handler(call);
      }));
}

// ---------------------------------------------------------------------------------------------
// Outgoing streams.

// The write side of a server or bidirectional stream: queues messages so only one write is in
// flight, and finishes the stream once the queue drains. Send() and Close() may be called from
// any thread. `Stream` is grpc::ServerAsyncWriter<Out> or grpc::ServerAsyncReaderWriter<Out, In>.
template <class Out, class Stream>
class Outbox {
 public:
  // REQUIRES: `owner` keeps the Outbox and `stream` alive while operations are in flight.
  explicit Outbox(Stream* stream) : stream_(stream) {}

  // Bounds the queue to `limit` unsent messages (the one being written included). A Send that
  // finds it full drops everything not yet being written, and from then on every message that
  // is not a `restart` (one that stands for all before it: a full queue view). Once the write in
  // flight completes, `caught_up` runs (on the completion-queue thread), once, for the owner to
  // send a restart; the reader never gets a message after a gap but a restart.
  // REQUIRES: called before the first Send.
  void Bound(size_t limit, std::function<void()> caught_up,
             std::function<bool(const Out&)> restart) {
    absl::MutexLock lock(&mu_);
    limit_ = limit;
    caught_up_ = std::move(caught_up);
    restart_ = std::move(restart);
  }

  // The other policy for a reader that falls behind: past `limit` unsent messages (the one being
  // written included) the stream is cancelled (ctx->TryCancel(): the peer sees CANCELLED, as its
  // HTTP/2 stream is reset; a reader that does not read cannot be told more), everything unsent
  // is dropped, and `overflowed` runs once (on the sending thread, under no lock of ours) to say
  // so. For streams whose peer reconciles when it comes back (a gateway's Hello, a desk's
  // Watch): nothing they would miss is lost to them, only delayed.
  // REQUIRES: called before the first Send; not with Bound.
  void Cap(size_t limit, grpc::ServerContext* ctx, std::function<void()> overflowed) {
    absl::MutexLock lock(&mu_);
    cap_ = limit;
    cap_ctx_ = ctx;
    overflowed_ = std::move(overflowed);
  }

  // Queues a message. Dropped silently once the stream is closing or gone, or (see Bound) while
  // the reader is too far behind.
  void Send(Out message, std::shared_ptr<void> owner) {
    std::function<void()> overflowed;
    {
      absl::MutexLock lock(&mu_);
      if (closing_ || broken_) {
        return;
      }
      if (cap_ > 0 && queue_.size() >= cap_) {
        closing_ = true;
        broken_ = true;
        queue_.resize(busy_ ? 1 : 0);  // The front is being written when busy_.
        cap_ctx_->TryCancel();         // Completes the blocked write with ok=false.
        overflowed = std::move(overflowed_);
        final_status_ = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "the reader fell too far behind");
        Pump(std::move(owner));
      } else {
        SendLocked(std::move(message), std::move(owner));
        return;
      }
    }
    if (overflowed) {
      overflowed();
    }
  }

  // Messages queued and not yet written (the one being written included).
  size_t pending() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

 private:
  void SendLocked(Out message, std::shared_ptr<void> owner) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (needs_restart_) {
      if (!restart_(message)) {
        return;
      }
      needs_restart_ = false;
      restart_asked_ = false;
    } else if (limit_ > 0 && queue_.size() >= limit_) {
      needs_restart_ = true;
      queue_.resize(busy_ ? 1 : 0);  // The front is being written when busy_.
      if (!busy_) {
        CatchUp();
      }
      return;
    }
    queue_.push_back(std::move(message));
    Pump(std::move(owner));
  }

 public:
  // Finishes the stream with `status` after what is already queued is written.
  void Close(const grpc::Status& status, std::shared_ptr<void> owner) {
    absl::MutexLock lock(&mu_);
    if (closing_) {
      return;
    }
    closing_ = true;
    final_status_ = status;
    Pump(std::move(owner));
  }

  bool closing() const {
    absl::MutexLock lock(&mu_);
    return closing_;
  }

 private:
  void Pump(std::shared_ptr<void> owner) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (busy_ || QueueClosed()) {
      return;  // QueueClosed: the stream was cancelled with the server; nothing more is owed.
    }
    if (!queue_.empty() && !broken_) {
      busy_ = true;
      // With more queued behind it, gRPC may hold this message back and send it with the next
      // one (buffer_hint); the last of a queue goes without the hint, which sends what is held.
      grpc::WriteOptions options;
      if (queue_.size() > 1) {
        options.set_buffer_hint();
      }
      stream_->Write(queue_.front(), options,
                     Once([this, owner](bool ok) { WriteDone(ok, owner); }));
      return;
    }
    if (closing_ && !finished_) {
      finished_ = true;
      busy_ = true;
      stream_->Finish(final_status_, Once([this, owner](bool) {
                        absl::MutexLock lock(&mu_);
                        busy_ = false;
                      }));
    }
  }

  void WriteDone(bool ok, std::shared_ptr<void> owner) {
    absl::MutexLock lock(&mu_);
    busy_ = false;
    queue_.pop_front();
    if (!ok) {
      // The client is gone; nothing more can be written, but Finish is still owed.
      broken_ = true;
      queue_.clear();
    }
    if (needs_restart_ && queue_.empty() && !broken_) {
      CatchUp();
    }
    Pump(std::move(owner));
  }

  // The reader has taken everything it was sent before it fell behind: ask for a restart, once.
  void CatchUp() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (restart_asked_ || closing_) {
      return;
    }
    restart_asked_ = true;
    caught_up_();  // Must not call back into this Outbox (it posts elsewhere).
  }

  Stream* const stream_;
  mutable absl::Mutex mu_;
  std::deque<Out> queue_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  size_t limit_ ABSL_GUARDED_BY(mu_) = 0;  // 0: unbounded.
  // Fell behind: only a restart is queued until one comes; the owner was asked for one.
  bool needs_restart_ ABSL_GUARDED_BY(mu_) = false;
  bool restart_asked_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> caught_up_ ABSL_GUARDED_BY(mu_);
  std::function<bool(const Out&)> restart_ ABSL_GUARDED_BY(mu_);
  // Cap: past this many unsent messages the stream is cancelled (0: no cap).
  size_t cap_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::ServerContext* cap_ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::function<void()> overflowed_ ABSL_GUARDED_BY(mu_);
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

// Delivers "the RPC is over" (finished, cancelled, client gone) once, via
// ServerContext::AsyncNotifyWhenDone. A member of the RPC object, not heap-allocated on its own:
// gRPC returns this tag only for RPCs that were matched, so an RPC that never started frees it
// with its owner instead of leaking it.
class DoneTag final : public Tag {
 public:
  // REQUIRES: called before the RPC is requested.
  void Arm(grpc::ServerContext* ctx) { ctx->AsyncNotifyWhenDone(this); }
  // Takes a reference that keeps the RPC alive until Done, and what to run then.
  void Hold(std::shared_ptr<void> owner, std::function<void()> on_done) {
    owner_ = std::move(owner);
    on_done_ = std::move(on_done);
  }
  void Done(bool) override {
    auto keep = std::move(owner_);  // The owner may be freed when this returns.
    auto on_done = std::move(on_done_);
    if (on_done) {
      on_done();
    }
  }

 private:
  std::shared_ptr<void> owner_;
  std::function<void()> on_done_;
};

}  // namespace hotline::daemon::rpc
