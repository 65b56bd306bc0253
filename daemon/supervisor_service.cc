// SupervisorService: the supervisors' queue view and their commands (presence, priority,
// never-route, why a call went where it went), for the supervisor token only.
#include "daemon/convert.h"
#include "daemon/services.h"
#include "daemon/streams.h"
#include "daemon/text_checks.h"

namespace hotline::daemon {

using v1::SupervisorService;

namespace {

// A resume's epoch is one the daemon gave out (16 hex digits), or empty.
absl::Status ValidateEpoch(const std::string& epoch) {
  return ValidateOptionalText(epoch, "epoch", 64);
}

}  // namespace

void ServeSupervisor(v1::SupervisorService::AsyncService& service, Services services) {
  ServeServerStream<SupervisorService::AsyncService, v1::WatchQueueRequest, v1::QueueUpdate>(
      &service, &SupervisorService::AsyncService::RequestWatchQueue, services.cq,
      [services](std::shared_ptr<QueueWatch> s) {
        if (!RoleToken(s->ctx, services.config.supervisor_token)) {
          return s->Close(kUnauthenticated);
        }
        if (absl::Status v = ValidateEpoch(s->request.epoch()); !v.ok()) {
          return s->Close(ToGrpc(v));
        }
        if (!services.peers.Open(s->ctx.peer())) {
          return s->Close(services.peers.Refusal());
        }
        s->counted = true;
        // A watcher that stops reading holds at most kPendingPerWatcher updates; once it reads
        // again it gets a full view (supervisor.proto WatchQueue).
        std::weak_ptr<QueueWatch> weak = s;
        s->Bound(
            kPendingPerWatcher,
            [host = &services.host, weak] {
              if (auto stream = weak.lock()) {
                host->Post([stream](EngineHost& h) { h.WatchCaughtUp(stream); });
              }
            },
            [](const v1::QueueUpdate& u) { return u.has_view(); });
        services.host.Post([s](EngineHost& h) {
          h.WatchOpened(s, s->request.epoch(), s->request.after());
        });
      },
      [services](std::shared_ptr<QueueWatch> s) {
        if (s->counted) {
          services.peers.Closed(s->ctx.peer());
        }
        s->Close(grpc::Status::CANCELLED);
        services.host.Post([s](EngineHost& h) { h.WatchClosed(s); });
      });

  using Presence =
      rpc::UnaryCall<v1::SetCounsellorPresenceRequest, v1::SetCounsellorPresenceResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::SetCounsellorPresenceRequest,
                  v1::SetCounsellorPresenceResponse>(
      &service, &SupervisorService::AsyncService::RequestSetCounsellorPresence, services.cq,
      [services](std::shared_ptr<Presence> call) {
        if (!RoleToken(call->ctx, services.config.supervisor_token)) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s =
                FirstError({ValidateId(call->request.request_id(), "request_id", 128),
                            ValidateId(call->request.counsellor_id(), "counsellor_id", 128)});
            !s.ok()) {
          return call->Fail(s);
        }
        auto state = ParsePresence(call->request.state(), "state");
        if (!state.ok()) {
          return call->Fail(state.status());
        }
        services.host.Post([call, state = *state](EngineHost& h) {
          h.SetPresence("supervisor", call->request.request_id(), call->request.counsellor_id(),
                        state, routing::BreakReason::kSupervisor,
                        [call](const absl::StatusOr<v1::CounsellorStatus>& status) {
                          call->Complete(Respond<v1::SetCounsellorPresenceResponse>(
                              status, [](auto& r, const auto& s) { *r.mutable_status() = s; }));
                        });
        });
      });

  using Priority = rpc::UnaryCall<v1::ChangeCallPriorityRequest, v1::ChangeCallPriorityResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::ChangeCallPriorityRequest,
                  v1::ChangeCallPriorityResponse>(
      &service, &SupervisorService::AsyncService::RequestChangeCallPriority, services.cq,
      [services](std::shared_ptr<Priority> call) {
        if (!RoleToken(call->ctx, services.config.supervisor_token)) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s = FirstError({ValidateId(call->request.request_id(), "request_id", 128),
                                         ValidateId(call->request.call_id(), "call_id", 128)});
            !s.ok()) {
          return call->Fail(s);
        }
        auto priority = ParsePriority(call->request.priority(), "priority");
        if (!priority.ok()) {
          return call->Fail(priority.status());
        }
        services.host.Post([call, priority = *priority](EngineHost& h) {
          h.ChangePriority(call->request.request_id(), call->request.call_id(), priority,
                           [call](const absl::StatusOr<v1::CallStatus>& status) {
                             call->Complete(Respond<v1::ChangeCallPriorityResponse>(
                                 status, [](auto& r, const auto& s) { *r.mutable_call() = s; }));
                           });
        });
      });

  using Sup = rpc::UnaryCall<v1::SupervisorNeverRouteRequest, v1::SupervisorNeverRouteResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::SupervisorNeverRouteRequest,
                  v1::SupervisorNeverRouteResponse>(
      &service, &SupervisorService::AsyncService::RequestNeverRouteCaller, services.cq,
      [services](std::shared_ptr<Sup> call) {
        if (!RoleToken(call->ctx, services.config.supervisor_token)) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s = FirstError({ValidateId(call->request.request_id(), "request_id", 128),
                                         ValidateId(call->request.counsellor_id(), "counsellor_id", 128),
                                         ValidateId(call->request.call_id(), "call_id", 128)});
            !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call](EngineHost& h) {
          h.NeverRoute("supervisor", call->request.request_id(), call->request.counsellor_id(),
                       call->request.call_id(),
                       [call](const absl::StatusOr<v1::NeverRouteCallerResponse>& r) {
                         call->Complete(Respond<v1::SupervisorNeverRouteResponse>(
                             r, [](auto&, const auto&) {}));
                       });
        });
      });

  using Explain = rpc::UnaryCall<v1::ExplainCallRequest, v1::ExplainCallResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::ExplainCallRequest, v1::ExplainCallResponse>(
      &service, &SupervisorService::AsyncService::RequestExplainCall, services.cq,
      [services](std::shared_ptr<Explain> call) {
        if (!RoleToken(call->ctx, services.config.supervisor_token)) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s = ValidateId(call->request.call_id(), "call_id", 128); !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call](EngineHost& h) {
          h.ExplainCall(call->request.call_id(), [call](const auto& r) { call->Complete(r); });
        });
      });
}

}  // namespace hotline::daemon
