// GatewayService: the gateways' streams. The Hello, events and command results are checked here
// (the envelope; the content on the engine thread) and handed to the engine host in order.
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "daemon/convert.h"
#include "daemon/metrics.h"
#include "daemon/services.h"
#include "daemon/status.h"
#include "daemon/streams.h"
#include "daemon/tls.h"

namespace hotline::daemon {

namespace {

// hotline_event_ack_seconds for one gateway stream: when each valid event was read, by event id,
// until its ack is handed to the stream. The ack is made on the engine thread and sent from the
// writer's once the event is durable; the stream's on_send hook sees it go, so the time covers
// the engine, the journal commit and the queue before it. A malformed event's refusal is not
// timed: no commit stands behind it, and its id is not to be trusted as a key.
//
// Thread-safety: Read on the completion-queue thread, Sent on whichever thread sends.
class AckTimer {
 public:
  explicit AckTimer(Metrics& metrics) : metrics_(metrics) {}

  // The event `event_id` was read at `at`. A repeat of an event not yet acknowledged keeps the
  // first read's time: the gateway has been waiting since then.
  void Read(const std::string& event_id, std::chrono::steady_clock::time_point at) {
    std::lock_guard lock(mu_);
    if (read_at_.size() < kMostUnacknowledged) {
      read_at_.try_emplace(event_id, at);
    }
  }

  // A message going to the gateway: an ack ends its event's time.
  void Sent(const v1::HotlineMessage& message) {
    if (!message.has_ack()) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point read_at;
    {
      std::lock_guard lock(mu_);
      auto it = read_at_.find(message.ack().event_id());
      if (it == read_at_.end()) {
        return;  // A repeat's second ack, a refusal, or an event past the bound.
      }
      read_at = it->second;
      read_at_.erase(it);
    }
    metrics_.ObserveAck(now - read_at);
  }

 private:
  // While commits fail nothing is acknowledged; a gateway that keeps sending new events must not
  // grow this without bound. Past it, new events go untimed.
  static constexpr size_t kMostUnacknowledged = 4096;

  Metrics& metrics_;
  std::mutex mu_;
  // Guarded by mu_.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> read_at_;
};

void ReadGateway(std::shared_ptr<GatewayStream> stream, Services services,
                 std::shared_ptr<AckTimer> acks, std::shared_ptr<const Principal> principal) {
  stream->ReadNext([services, stream, acks, principal](GatewayStream::Read read) {
    // The real clock, whatever the daemon's time source: the gateway waits in real time.
    const auto read_at = std::chrono::steady_clock::now();
    if (read == GatewayStream::Read::kEnd) {
      // The gateway closed its side, and may still read: what it sent is answered first.
      // Regression: the stream was closed at once, and the Welcome and the acks of events
      // already applied went nowhere.
      if (stream->gateway_id.empty()) {
        stream->Close(grpc::Status::OK);  // No Hello: nothing to answer.
      } else {
        services.host.Post([stream](EngineHost& h) { h.GatewayWritesDone(stream); });
      }
      return;
    }
    if (read == GatewayStream::Read::kMalformed) {
      // Nothing after it can be trusted to be in order: the stream ends at once. Acks not yet
      // made are lost with it, as with any drop; the gateway resends those events.
      stream->Close(ToGrpc(stream->malformed));
      return;
    }
    if (stream->closing()) {
      // Revoked, rotated, replaced by a newer Hello, or cut off: nothing more from it counts,
      // even while its final status waits behind a write the gateway does not read. No more
      // reads either: it gets flow control, not our attention.
      services.metrics.CountAfterClose();
      spdlog::warn("gateway '{}': a message on its closed stream was dropped; no more is read",
                   stream->gateway_id);
      return;
    }
    const v1::GatewayMessage& msg = stream->incoming;
    if (stream->gateway_id.empty()) {
      if (!msg.has_hello()) {
        stream->Close(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                   "the first message must be a hello"));
        return;
      }
      if (absl::Status s = ValidateId(msg.hello().gateway_id(), "hello.gateway_id", 64); !s.ok()) {
        stream->Close(ToGrpc(s));
        return;
      }
      // A client certificate binds its connection to the gateway it names (docs/tls.md).
      const std::shared_ptr<const grpc::AuthContext> auth = stream->ctx.auth_context();
      if (absl::Status s = CheckGatewayCertificate(auth.get(), msg.hello().gateway_id(),
                                                   services.config.tls);
          !s.ok()) {
        spdlog::warn("gateway Hello as '{}' refused: {}", msg.hello().gateway_id(),
                     std::string(s.message()));
        stream->Close(ToGrpc(s));
        return;
      }
      // A gateway account's token says Hello only as its own gateway: another gateway's stream
      // is never replaced, nor its calls reconciled away, by someone else's credential.
      if (!principal->gateway_id.empty() && principal->gateway_id != msg.hello().gateway_id()) {
        spdlog::warn("{} tried to say hello as gateway '{}'; refused", PrincipalName(*principal),
                     msg.hello().gateway_id());
        stream->Close(grpc::Status(
            grpc::StatusCode::PERMISSION_DENIED,
            absl::StrCat("hello.gateway_id: this credential may say hello only as gateway '",
                         principal->gateway_id, "'")));
        return;
      }
      stream->gateway_id = msg.hello().gateway_id();
      services.host.Post(
          [stream, hello = msg.hello()](EngineHost& h) { h.GatewayHello(stream, hello); });
    } else if (msg.has_event()) {
      if (absl::Status s = ValidateEvent(msg.event()); !s.ok()) {
        v1::HotlineMessage ack;
        ack.mutable_ack()->set_event_id(EchoId(msg.event().event_id(), kLongestCallId));
        ack.mutable_ack()->set_code(static_cast<int>(s.code()));
        ack.mutable_ack()->set_message(std::string(s.message()));
        services.host.Post([stream, ack = std::move(ack)](EngineHost& h) mutable {
          h.GatewayRefused(stream, std::move(ack));
        });
      } else {
        acks->Read(msg.event().event_id(), read_at);
        services.host.Post(
            [stream, event = msg.event()](EngineHost& h) { h.GatewayEvent(stream, event); });
      }
    } else if (msg.has_command_result()) {
      // A result gets no answer: one that is malformed is logged (its fault, not its text) and
      // changes nothing, like a result for an unknown command.
      if (absl::Status s = ValidateCommandResult(msg.command_result()); !s.ok()) {
        services.host.Post([gateway_id = stream->gateway_id, why = std::string(s.message())](
                               EngineHost& h) { h.GatewayResultIgnored(gateway_id, why); });
      } else {
        services.host.Post([stream, result = msg.command_result()](EngineHost& h) {
          h.GatewayCommandResult(stream, result);
        });
      }
    } else {
      stream->Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 msg.has_hello() ? "hello: sent twice"
                                                 : "message: one of hello, event or "
                                                   "command_result is required"));
      return;
    }
    ReadGateway(stream, services, acks, principal);
  });
}

}  // namespace

void ServeGateway(GatewayAsyncService& service, Services services) {
  if (rpc::QueueClosed()) {
    return;  // Shutting down: no more calls (rpc.h).
  }
  auto stream = std::make_shared<GatewayStream>();
  auto* raw = stream.get();
  raw->done.Arm(&raw->ctx);
  service.RequestConnect(&raw->ctx, raw->wire(), services.cq, services.cq,
                         rpc::Once([&service, services, stream](bool ok) {
                           if (!ok) {
                             return;
                           }
                           ServeGateway(service, services);
                           std::weak_ptr<GatewayStream> weak = stream;
                           const bool counted = services.peers.Open(stream->ctx.peer());
                           stream->done.Hold(stream, [services, weak, counted] {
                             if (auto s = weak.lock()) {
                               if (counted) {
                                 services.peers.Closed(s->ctx.peer());
                               }
                               services.host.Post([s](EngineHost& h) { h.GatewayClosed(s); });
                             }
                           });
                           auto principal = Authorized(services, stream->ctx, Role::kGateway);
                           if (!principal) {
                             stream->Close(kUnauthenticated);
                             return;
                           }
                           if (!counted) {
                             stream->Close(services.peers.Refusal());
                             return;
                           }
                           // A gateway that stops reading is cut off rather than buffered for
                           // without end; it reconciles with its Hello when it comes back.
                           stream->Cap(static_cast<size_t>(
                                           services.config.limits.gateway_outbox_messages),
                                       [weak, peer = stream->ctx.peer()] {
                                         // The stream may be gone already (its end raced
                                         // this): the peer names it then.
                                         auto s = weak.lock();
                                         spdlog::warn(
                                             "a gateway stopped reading ('{}', from {}): its "
                                             "stream is cut off ([limits] "
                                             "gateway_outbox_messages); it reconciles when it "
                                             "says hello again",
                                             s ? s->gateway_id : std::string(), peer);
                                       });
                           services.accounts.Track(
                               *principal, weak, [weak](const grpc::Status& why) {
                                 if (auto s = weak.lock()) {
                                   s->Close(why);
                                 }
                               });
                           auto acks = std::make_shared<AckTimer>(services.metrics);
                           stream->on_send = [acks](const v1::HotlineMessage& message) {
                             acks->Sent(message);
                           };
                           ReadGateway(stream, services, acks,
                                       std::make_shared<const Principal>(*principal));
                         }));
}

}  // namespace hotline::daemon
