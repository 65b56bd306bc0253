// DeskService: the counsellors' desks. Every request is checked here and carried out on the
// engine thread for the counsellor the bearer token belongs to: a desk acts only on its own.
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "daemon/convert.h"
#include "daemon/services.h"
#include "daemon/streams.h"

namespace hotline::daemon {

namespace {

using v1::DeskService;

// Runs `fn(host, counsellor_id)` on the engine thread for an authenticated desk request, or
// fails the call with UNAUTHENTICATED. The token comes first: the request is checked in `fn`.
template <class Call, class Fn>
void AsCounsellor(EngineHost& host, std::shared_ptr<Call> call, Fn fn) {
  host.Post([call, fn, token = rpc::BearerToken(call->ctx)](EngineHost& h) {
    auto id = h.CounsellorFor(token);
    if (!id.ok()) {
      call->Fail(id.status());
      return;
    }
    fn(h, *id);
  });
}

// The request_id and call_id every call-bound desk request carries. Checked after the token, so
// a caller without one learns nothing about what a valid request looks like.
template <class Request>
absl::Status RequestAndCall(const Request& request) {
  return FirstError({ValidateId(request.request_id(), "request_id", 128),
                     ValidateId(request.call_id(), "call_id", 128)});
}

}  // namespace

void ServeDesk(v1::DeskService::AsyncService& service, Services services) {
  ServeServerStream<DeskService::AsyncService, v1::WatchDeskRequest, v1::DeskEvent>(
      &service, &DeskService::AsyncService::RequestWatch, services.cq,
      [services](std::shared_ptr<DeskStream> s) {
        if (!services.peers.Open(s->ctx.peer())) {
          return s->Close(services.peers.Refusal());
        }
        s->counted = true;
        // A desk that stops reading is cut off; it comes back within desk grace and gets its
        // state afresh (DeskOpened).
        // The counsellor is known on the engine thread only: the peer names the desk.
        s->Cap(static_cast<size_t>(services.config.limits.desk_outbox_messages),
               [peer = s->ctx.peer()] {
                 spdlog::warn("a desk stopped reading (from {}): its stream is cut off "
                              "([limits] desk_outbox_messages)",
                              peer);
               });
        services.host.Post(
            [s, token = rpc::BearerToken(s->ctx)](EngineHost& h) { h.DeskOpened(s, token); });
      },
      [services](std::shared_ptr<DeskStream> s) {
        if (s->counted) {
          services.peers.Closed(s->ctx.peer());
        }
        s->Close(grpc::Status::CANCELLED);  // A no-op when it already finished.
        services.host.Post([s](EngineHost& h) { h.DeskClosed(s); });
      });

  using Presence = rpc::UnaryCall<v1::SetPresenceRequest, v1::SetPresenceResponse>;
  rpc::ServeUnary<DeskService::AsyncService, v1::SetPresenceRequest, v1::SetPresenceResponse>(
      &service, &DeskService::AsyncService::RequestSetPresence, services.cq,
      [services](std::shared_ptr<Presence> call) {
        AsCounsellor(
            services.host, call, [call](EngineHost& h, const std::string& id) {
              if (absl::Status s = ValidateId(call->request.request_id(), "request_id", 128);
                  !s.ok()) {
                return call->Fail(s);
              }
              auto state = ParsePresence(call->request.state(), "state");
              if (!state.ok()) {
                return call->Fail(state.status());
              }
              auto reason =
                  ParseDeskBreakReason(call->request.break_reason(), *state, "break_reason");
              if (!reason.ok()) {
                return call->Fail(reason.status());
              }
              h.SetPresence(absl::StrCat("desk:", id), call->request.request_id(), id, *state,
                            *reason,
                            [call](const absl::StatusOr<v1::CounsellorStatus>& status) {
                              call->Complete(Respond<v1::SetPresenceResponse>(
                                  status, [](auto& r, const auto& s) { *r.mutable_status() = s; }));
                            });
            });
      });

  using Answer = rpc::UnaryCall<v1::AnswerOfferRequest, v1::AnswerOfferResponse>;
  rpc::ServeUnary<DeskService::AsyncService, v1::AnswerOfferRequest, v1::AnswerOfferResponse>(
      &service, &DeskService::AsyncService::RequestAnswerOffer, services.cq,
      [services](std::shared_ptr<Answer> call) {
        AsCounsellor(services.host, call, [call](EngineHost& h, const std::string& id) {
          if (absl::Status s = RequestAndCall(call->request); !s.ok()) {
            return call->Fail(s);
          }
          h.AnswerOffer(
              id, call->request.request_id(), call->request.call_id(), call->request.accept(),
              [call](const absl::StatusOr<v1::AnswerOfferResponse>& r) { call->Complete(r); });
        });
      });

  using Dispo = rpc::UnaryCall<v1::SubmitDispositionRequest, v1::SubmitDispositionResponse>;
  rpc::ServeUnary<DeskService::AsyncService, v1::SubmitDispositionRequest,
                  v1::SubmitDispositionResponse>(
      &service, &DeskService::AsyncService::RequestSubmitDisposition, services.cq,
      [services](std::shared_ptr<Dispo> call) {
        AsCounsellor(services.host, call, [call](EngineHost& h, const std::string& id) {
          if (absl::Status s = RequestAndCall(call->request); !s.ok()) {
            return call->Fail(s);
          }
          auto d = ParseDisposition(call->request.disposition());
          if (!d.ok()) {
            return call->Fail(d.status());
          }
          h.SubmitDisposition(
              id, call->request.request_id(), call->request.call_id(), *d,
              call->request.ready_for_next(),
              [call](const absl::StatusOr<v1::SubmitDispositionResponse>& r) {
                call->Complete(r);
              });
        });
      });

  using Desk = rpc::UnaryCall<v1::NeverRouteCallerRequest, v1::NeverRouteCallerResponse>;
  rpc::ServeUnary<DeskService::AsyncService, v1::NeverRouteCallerRequest,
                  v1::NeverRouteCallerResponse>(
      &service, &DeskService::AsyncService::RequestNeverRouteCaller, services.cq,
      [services](std::shared_ptr<Desk> call) {
        AsCounsellor(services.host, call, [call](EngineHost& h, const std::string& id) {
          if (absl::Status s = RequestAndCall(call->request); !s.ok()) {
            return call->Fail(s);
          }
          h.NeverRoute(absl::StrCat("desk:", id), call->request.request_id(), id,
                       call->request.call_id(), [call](const auto& r) { call->Complete(r); });
        });
      });
}

}  // namespace hotline::daemon
