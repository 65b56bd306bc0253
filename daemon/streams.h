// The long-lived streams hotlined holds open: desks (DeskService.Watch), supervisors
// (SupervisorService.WatchQueue) and gateways (GatewayService.Connect).
//
// Send() and Close() may be called from any thread; `principal` (who the stream belongs to) is
// set and read only on the engine thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "daemon/rpc.h"
#include "hotline/v1/desk.grpc.pb.h"
#include "hotline/v1/gateway.grpc.pb.h"
#include "hotline/v1/supervisor.grpc.pb.h"

namespace hotline::daemon {

namespace v1 = ::hotline::v1;

// Where a stream of `Out` goes, whatever carries it (a gRPC stream, an HTTP event stream).
template <class Out>
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Send(Out message) = 0;
  virtual void Close(const grpc::Status& status) = 0;
};

// A supervisor's live queue: a WatchQueue stream or a web page's event stream.
using QueueSink = Sink<v1::QueueUpdate>;

// A server-streaming RPC: one request in, a stream of `Out` back.
template <class Request, class Out>
class ServerStream final : public Sink<Out>,
                           public std::enable_shared_from_this<ServerStream<Request, Out>> {
 public:
  void Send(Out message) override { outbox_.Send(std::move(message), this->shared_from_this()); }
  void Close(const grpc::Status& status) override {
    outbox_.Close(status, this->shared_from_this());
  }
  // See rpc::Outbox::Bound.
  void Bound(size_t limit, std::function<void()> caught_up,
             std::function<bool(const Out&)> restart) {
    outbox_.Bound(limit, std::move(caught_up), std::move(restart));
  }
  // See rpc::Outbox::Cap.
  void Cap(size_t limit, std::function<void()> overflowed) {
    outbox_.Cap(limit, &ctx, std::move(overflowed));
  }
  // Messages queued and not yet written (the one being written included).
  size_t pending() const { return outbox_.pending(); }

  grpc::ServerContext ctx;
  Request request;
  rpc::DoneTag done;
  std::string principal;
  // Counted in Services::peers (completion-queue thread only).
  bool counted = false;
  grpc::ServerAsyncWriter<Out>* writer() { return &writer_; }
  // The request's bytes as they came, until ServeServerStream parses them into `request`.
  grpc::ByteBuffer raw_request;

 private:
  grpc::ServerAsyncWriter<Out> writer_{&ctx};
  rpc::Outbox<Out, grpc::ServerAsyncWriter<Out>> outbox_{&writer_};
};

using DeskStream = ServerStream<v1::WatchDeskRequest, v1::DeskEvent>;
using QueueWatch = ServerStream<v1::WatchQueueRequest, v1::QueueUpdate>;

// Serves every call of one server-streaming method: `on_open` when a call starts, `on_done`
// once when it is over for any reason (both on the completion-queue thread). `request_fn`, the
// generated AsyncService::RequestX method, names the method.
//
// As ServeUnary does, the request is taken as raw bytes and parsed here: one that fails to parse
// (a string that is not UTF-8) ends the stream INVALID_ARGUMENT naming the field, before
// `on_open`, where gRPC's generated code answers INTERNAL "Unable to parse request"; `on_done`
// does not run for it.
template <class Service, class Request, class Out>
void ServeServerStream(Service* service,
                       [[maybe_unused]] void (Service::*request_fn)(
                           grpc::ServerContext*, Request*, grpc::ServerAsyncWriter<Out>*,
                           grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*),
                       grpc::ServerCompletionQueue* cq,
                       std::function<void(std::shared_ptr<ServerStream<Request, Out>>)> on_open,
                       std::function<void(std::shared_ptr<ServerStream<Request, Out>>)> on_done) {
  if (rpc::QueueClosed()) {
    return;  // Shutting down: no more calls.
  }
  static const int index =
      MethodIndex(Request::descriptor(), Out::descriptor(), MethodShape::kServerStream);
  auto stream = std::make_shared<ServerStream<Request, Out>>();
  auto* raw = stream.get();
  raw->done.Arm(&raw->ctx);
  rpc::ServiceAccess::RequestServerStreamBytes(
      service, index, &raw->ctx, &raw->raw_request, raw->writer(), cq,
      rpc::Once([service, request_fn, cq, on_open, on_done, stream](bool ok) {
        if (!ok) {
          return;  // The server is shutting down.
        }
        ServeServerStream(service, request_fn, cq, on_open, on_done);
        const absl::Status parsed = ParseMessage(stream->raw_request, stream->request, "request");
        stream->raw_request.Clear();
        if (!parsed.ok()) {
          stream->done.Hold(stream, {});  // Alive until gRPC is done with it; nothing to undo.
          return stream->Close(ToGrpc(parsed));
        }
        std::weak_ptr<ServerStream<Request, Out>> weak = stream;
        stream->done.Hold(stream, [weak, on_done] {
          if (auto s = weak.lock()) {
            on_done(s);
          }
        });
        on_open(stream);
      }));
}

// GatewayService.Connect served with raw messages: the daemon parses each GatewayMessage itself.
// Why: with the generated types gRPC 1.51 reports a message that fails to parse as a failed Read,
// exactly as it reports the gateway half-closing, so the stream could only end with OK. Parsing
// here tells the two apart, and a malformed message ends the stream with INVALID_ARGUMENT.
using GatewayAsyncService =
    v1::GatewayService::WithRawMethod_Connect<v1::GatewayService::Service>;

// A gateway's bidirectional stream. Reads one message at a time on the completion-queue thread.
class GatewayStream final : public std::enable_shared_from_this<GatewayStream> {
 public:
  using Wire = grpc::ServerAsyncReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;

  // What a Read found.
  enum class Read { kMessage, kEnd, kMalformed };

  void Send(const v1::HotlineMessage& message) {
    if (on_send) {
      on_send(message);
    }
    grpc::ByteBuffer bytes;
    bool own = false;
    // Fails only for a message over 2 GB, which nothing Hotline sends comes near.
    if (!grpc::SerializationTraits<v1::HotlineMessage>::Serialize(message, &bytes, &own).ok()) {
      return;
    }
    outbox_.Send(std::move(bytes), shared_from_this());
  }
  void Close(const grpc::Status& status) { outbox_.Close(status, shared_from_this()); }
  // Close was called (or the stream was cut off): its final status waits only for the write in
  // flight, which a gateway that does not read may hold up for good.
  bool closing() const { return outbox_.closing(); }
  // See rpc::Outbox::Cap.
  void Cap(size_t limit, std::function<void()> overflowed) {
    outbox_.Cap(limit, &ctx, std::move(overflowed));
  }

  // Reads the next message into `incoming` and runs `then`: kMessage, kEnd when the gateway
  // half-closed or went away, kMalformed when the bytes are not a GatewayMessage (`incoming` is
  // then unspecified). Neither once the completion queue is shut down (rpc::QueueClosed).
  void ReadNext(std::function<void(Read)> then) {
    if (rpc::QueueClosed()) {
      return;  // Cancelled with the server: nothing more to read.
    }
    wire_.Read(&bytes_, rpc::Once([self = shared_from_this(), then](bool ok) {
                 if (!ok) {
                   return then(Read::kEnd);
                 }
                 self->malformed = ParseMessage(self->bytes_, self->incoming, "message");
                 self->bytes_.Clear();
                 then(self->malformed.ok() ? Read::kMessage : Read::kMalformed);
               }));
  }

  grpc::ServerContext ctx;
  rpc::DoneTag done;
  v1::GatewayMessage incoming;
  // Why the last Read was kMalformed: INVALID_ARGUMENT naming the field (ParseMessage).
  absl::Status malformed;
  // Set once the Hello is read (completion-queue thread; read by the engine thread after a post).
  std::string gateway_id;
  // Runs in Send, on the sending thread, as each message is handed to the stream: the gateway
  // service times acknowledgements with it (metrics.h). Set before the first Read, then fixed.
  std::function<void(const v1::HotlineMessage&)> on_send;
  Wire* wire() { return &wire_; }

 private:
  Wire wire_{&ctx};
  grpc::ByteBuffer bytes_;  // The message being read.
  rpc::Outbox<grpc::ByteBuffer, Wire> outbox_{&wire_};
};

}  // namespace hotline::daemon
