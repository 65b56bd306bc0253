// SupervisorService: the supervisors' queue view and their commands (presence, priority,
// never-route, why a call went where it went), for the supervisor token only.
#include "absl/strings/str_cat.h"
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

// A list's limit: 0 means `fallback`; otherwise 1..`most`.
absl::StatusOr<int64_t> Limit(int32_t limit, int64_t fallback, int64_t most) {
  if (limit == 0) {
    return fallback;
  }
  if (limit < 0 || limit > most) {
    return absl::InvalidArgumentError(
        absl::StrCat("limit: must be from 1 to ", most, " (or 0 for ", fallback, ")"));
  }
  return static_cast<int64_t>(limit);
}

absl::Status ValidateCallbackId(int64_t id) {
  if (id <= 0) {
    return absl::InvalidArgumentError("callback_id: is required (a positive id from ListCallbacks)");
  }
  return absl::OkStatus();
}

}  // namespace

void ServeSupervisor(v1::SupervisorService::AsyncService& service, Services services) {
  ServeServerStream<SupervisorService::AsyncService, v1::WatchQueueRequest, v1::QueueUpdate>(
      &service, &SupervisorService::AsyncService::RequestWatchQueue, services.cq,
      [services](std::shared_ptr<QueueWatch> s) {
        auto principal = Authorized(services, s->ctx, Role::kSupervisor);
        if (!principal) {
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
        services.accounts.Track(*principal, weak, [weak](const grpc::Status& why) {
          if (auto stream = weak.lock()) {
            stream->Close(why);
          }
        });
        s->Bound(
            kPendingPerWatcher,
            [host = &services.host, weak] {
              if (auto stream = weak.lock()) {
                host->Post([stream](EngineHost& h) { h.WatchCaughtUp(stream); });
              }
            },
            [](const v1::QueueUpdate& u) { return u.has_view(); });
        services.host.Post([s, who = PrincipalName(*principal)](EngineHost& h) {
          // Kept for the end's record: the token may be revoked or rotated by then (that is
          // what closes the stream), and would name nobody.
          s->principal = who;
          h.Audit("supervisor", who, "watch_queue_start", "");
          h.WatchOpened(s, s->request.epoch(), s->request.after());
        });
      },
      [services](std::shared_ptr<QueueWatch> s) {
        if (s->counted) {
          services.peers.Closed(s->ctx.peer());
        }
        s->Close(grpc::Status::CANCELLED);
        services.host.Post([s](EngineHost& h) {
          h.Audit("supervisor", s->principal, "watch_queue_end", "");
          h.WatchClosed(s);
        });
      });

  using Presence =
      rpc::UnaryCall<v1::SetCounsellorPresenceRequest, v1::SetCounsellorPresenceResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::SetCounsellorPresenceRequest,
                  v1::SetCounsellorPresenceResponse>(
      &service, &SupervisorService::AsyncService::RequestSetCounsellorPresence, services.cq,
      [services](std::shared_ptr<Presence> call) {
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
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
        services.host.Post([call, state = *state,
                            origin = PrincipalName(*principal)](EngineHost& h) {
          h.SetPresence(origin, call->request.request_id(), call->request.counsellor_id(), state,
                        routing::BreakReason::kSupervisor,
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
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
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
        services.host.Post([call, priority = *priority,
                            origin = PrincipalName(*principal)](EngineHost& h) {
          h.ChangePriority(origin, call->request.request_id(), call->request.call_id(), priority,
                           [call](const absl::StatusOr<v1::CallStatus>& status) {
                             call->Complete(Respond<v1::ChangeCallPriorityResponse>(
                                 status, [](auto& r, const auto& s) { *r.mutable_call() = s; }));
                           });
        });
      });

  using End = rpc::UnaryCall<v1::EndCallRequest, v1::EndCallResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::EndCallRequest, v1::EndCallResponse>(
      &service, &SupervisorService::AsyncService::RequestEndCall, services.cq,
      [services](std::shared_ptr<End> call) {
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s =
                FirstError({ValidateId(call->request.request_id(), "request_id", 128),
                            ValidateId(call->request.call_id(), "call_id", 128),
                            ValidateRequiredText(call->request.reason(), "reason", 500)});
            !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call, origin = PrincipalName(*principal)](EngineHost& h) {
          h.EndCall(origin, call->request.request_id(), call->request.call_id(),
                    call->request.reason(),
                    [call](const absl::StatusOr<v1::EndCallResponse>& r) { call->Complete(r); });
        });
      });

  using Sup = rpc::UnaryCall<v1::SupervisorNeverRouteRequest, v1::SupervisorNeverRouteResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::SupervisorNeverRouteRequest,
                  v1::SupervisorNeverRouteResponse>(
      &service, &SupervisorService::AsyncService::RequestNeverRouteCaller, services.cq,
      [services](std::shared_ptr<Sup> call) {
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s = FirstError({ValidateId(call->request.request_id(), "request_id", 128),
                                         ValidateId(call->request.counsellor_id(), "counsellor_id", 128),
                                         ValidateId(call->request.call_id(), "call_id", 128)});
            !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call, origin = PrincipalName(*principal)](EngineHost& h) {
          h.NeverRoute(origin, call->request.request_id(), call->request.counsellor_id(),
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
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s = ValidateId(call->request.call_id(), "call_id", 128); !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call, who = PrincipalName(*principal)](EngineHost& h) {
          h.Audit("supervisor", who, "explain_call",
                  call->request.call_id());
          h.ExplainCall(call->request.call_id(), [call](const auto& r) { call->Complete(r); });
        });
      });

  using ListCb = rpc::UnaryCall<v1::ListCallbacksRequest, v1::ListCallbacksResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::ListCallbacksRequest,
                  v1::ListCallbacksResponse>(
      &service, &SupervisorService::AsyncService::RequestListCallbacks, services.cq,
      [services](std::shared_ptr<ListCb> call) {
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
          return call->Fail(kUnauthenticated);
        }
        const absl::StatusOr<int64_t> limit = Limit(call->request.limit(), 100, 1000);
        if (!limit.ok()) {
          return call->Fail(limit.status());
        }
        services.host.Post([call, limit = *limit, who = PrincipalName(*principal)](EngineHost& h) {
          h.ListCallbacks(who, limit,
                          [call](const auto& r) { call->Complete(r); });
        });
      });

  using Reveal = rpc::UnaryCall<v1::RevealCallbackRequest, v1::RevealCallbackResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::RevealCallbackRequest,
                  v1::RevealCallbackResponse>(
      &service, &SupervisorService::AsyncService::RequestRevealCallback, services.cq,
      [services](std::shared_ptr<Reveal> call) {
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s = ValidateCallbackId(call->request.callback_id()); !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call, who = PrincipalName(*principal)](EngineHost& h) {
          h.RevealCallback(who, call->request.callback_id(),
                           [call](const auto& r) { call->Complete(r); });
        });
      });

  using Done = rpc::UnaryCall<v1::CallbackDoneRequest, v1::CallbackDoneResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::CallbackDoneRequest,
                  v1::CallbackDoneResponse>(
      &service, &SupervisorService::AsyncService::RequestCallbackDone, services.cq,
      [services](std::shared_ptr<Done> call) {
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s = ValidateCallbackId(call->request.callback_id()); !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call, who = PrincipalName(*principal)](EngineHost& h) {
          h.CallbackDone(who, call->request.callback_id(),
                         [call](const auto& r) { call->Complete(r); });
        });
      });

  using AuditList = rpc::UnaryCall<v1::ListAuditRequest, v1::ListAuditResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::ListAuditRequest, v1::ListAuditResponse>(
      &service, &SupervisorService::AsyncService::RequestListAudit, services.cq,
      [services](std::shared_ptr<AuditList> call) {
        const std::optional<Principal> principal =
            Authorized(services, call->ctx, Role::kSupervisor);
        if (!principal) {
          return call->Fail(kUnauthenticated);
        }
        const absl::StatusOr<int64_t> limit = Limit(call->request.limit(), 1000, 10'000);
        if (!limit.ok()) {
          return call->Fail(limit.status());
        }
        routing::Timestamp since{};
        if (call->request.has_since()) {
          if (absl::Status s = ValidateTimestamp(call->request.since(), "since"); !s.ok()) {
            return call->Fail(s);
          }
          since = FromProto(call->request.since());
        }
        services.host.Post(
            [call, since, limit = *limit, who = PrincipalName(*principal)](EngineHost& h) {
              h.ListAudit(who, since, limit, [call](const auto& r) { call->Complete(r); });
            });
      });
}

}  // namespace hotline::daemon
