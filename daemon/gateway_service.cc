// GatewayService: the gateways' streams. The Hello, events and command results are checked here
// (the envelope; the content on the engine thread) and handed to the engine host in order.
#include <spdlog/spdlog.h>

#include "daemon/convert.h"
#include "daemon/services.h"
#include "daemon/status.h"
#include "daemon/streams.h"

namespace hotline::daemon {

namespace {

void ReadGateway(std::shared_ptr<GatewayStream> stream, Services services) {
  stream->Read([services, stream](bool ok) {
    if (!ok) {
      stream->Close(grpc::Status::OK);  // The gateway closed its side.
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
      stream->gateway_id = msg.hello().gateway_id();
      services.host.Post(
          [stream, hello = msg.hello()](EngineHost& h) { h.GatewayHello(stream, hello); });
    } else if (msg.has_event()) {
      if (absl::Status s = ValidateEvent(msg.event()); !s.ok()) {
        v1::HotlineMessage ack;
        ack.mutable_ack()->set_event_id(msg.event().event_id());
        ack.mutable_ack()->set_code(static_cast<int>(s.code()));
        ack.mutable_ack()->set_message(std::string(s.message()));
        services.host.Post([stream, ack = std::move(ack)](EngineHost& h) mutable {
          h.GatewayRefused(stream, std::move(ack));
        });
      } else {
        services.host.Post(
            [stream, event = msg.event()](EngineHost& h) { h.GatewayEvent(stream, event); });
      }
    } else if (msg.has_command_result()) {
      services.host.Post([stream, result = msg.command_result()](EngineHost& h) {
        h.GatewayCommandResult(stream, result);
      });
    } else {
      stream->Close(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 msg.has_hello() ? "hello: sent twice"
                                                 : "message: one of hello, event or "
                                                   "command_result is required"));
      return;
    }
    ReadGateway(stream, services);
  });
}

}  // namespace

void ServeGateway(v1::GatewayService::AsyncService& service, Services services) {
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
                           stream->done.Hold(stream, [services, weak] {
                             if (auto s = weak.lock()) {
                               services.host.Post([s](EngineHost& h) { h.GatewayClosed(s); });
                             }
                           });
                           if (!RoleToken(stream->ctx, services.config.gateway_token)) {
                             stream->Close(kUnauthenticated);
                             return;
                           }
                           ReadGateway(stream, services);
                         }));
}

}  // namespace hotline::daemon
