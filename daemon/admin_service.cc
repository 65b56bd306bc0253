// AdminService: counsellors and the routing policy, for the administrator's token only.
#include "daemon/convert.h"
#include "daemon/services.h"

namespace hotline::daemon {

namespace {

using AdminAsync = v1::AdminService::AsyncService;

// Create and update take the same profile, checked the same way; only the host's action
// differs.
template <class Service, class Request, class Response>
void ServeProfile(AdminAsync& service, Services services,
                  void (Service::*request_fn)(grpc::ServerContext*, Request*,
                                              grpc::ServerAsyncResponseWriter<Response>*,
                                              grpc::CompletionQueue*, grpc::ServerCompletionQueue*,
                                              void*),
                  void (EngineHost::*action)(routing::CounsellorProfile, Reply<Response>)) {
  rpc::ServeUnary<Service, Request, Response>(
      &service, request_fn, services.cq,
      [services, action](std::shared_ptr<rpc::UnaryCall<Request, Response>> call) {
        if (!RoleToken(call->ctx, services.config.admin_token)) {
          return call->Fail(kUnauthenticated);
        }
        auto profile = ParseCounsellor(call->request.counsellor());
        if (!profile.ok()) {
          return call->Fail(profile.status());
        }
        services.host.Post([call, action, profile = *profile](EngineHost& h) {
          (h.*action)(profile, [call](const auto& r) { call->Complete(r); });
        });
      });
}

}  // namespace

void ServeAdmin(v1::AdminService::AsyncService& service, Services services) {
  ServeProfile(service, services, &AdminAsync::RequestCreateCounsellor,
               &EngineHost::CreateCounsellor);
  ServeProfile(service, services, &AdminAsync::RequestUpdateCounsellor,
               &EngineHost::UpdateCounsellor);

  using List = rpc::UnaryCall<v1::ListCounsellorsRequest, v1::ListCounsellorsResponse>;
  rpc::ServeUnary<AdminAsync, v1::ListCounsellorsRequest, v1::ListCounsellorsResponse>(
      &service, &AdminAsync::RequestListCounsellors, services.cq,
      [services](std::shared_ptr<List> call) {
        if (!RoleToken(call->ctx, services.config.admin_token)) {
          return call->Fail(kUnauthenticated);
        }
        services.host.Post([call](EngineHost& h) { call->Reply(h.ListCounsellors()); });
      });

  using Remove = rpc::UnaryCall<v1::RemoveCounsellorRequest, v1::RemoveCounsellorResponse>;
  rpc::ServeUnary<AdminAsync, v1::RemoveCounsellorRequest, v1::RemoveCounsellorResponse>(
      &service, &AdminAsync::RequestRemoveCounsellor, services.cq,
      [services](std::shared_ptr<Remove> call) {
        if (!RoleToken(call->ctx, services.config.admin_token)) {
          return call->Fail(kUnauthenticated);
        }
        // Checked before the engine's "not found" could echo it back, whatever its size.
        if (absl::Status s = ValidateId(call->request.counsellor_id(), "counsellor_id", 64);
            !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call](EngineHost& h) {
          h.RemoveCounsellor(call->request.counsellor_id(),
                             [call](const auto& r) { call->Complete(r); });
        });
      });

  using Reload = rpc::UnaryCall<v1::ReloadPolicyRequest, v1::ReloadPolicyResponse>;
  rpc::ServeUnary<AdminAsync, v1::ReloadPolicyRequest, v1::ReloadPolicyResponse>(
      &service, &AdminAsync::RequestReloadPolicy, services.cq,
      [services](std::shared_ptr<Reload> call) {
        if (!RoleToken(call->ctx, services.config.admin_token)) {
          return call->Fail(kUnauthenticated);
        }
        services.host.Post([call](EngineHost& h) {
          h.ReloadPolicy([call](const auto& r) { call->Complete(r); });
        });
      });
}

}  // namespace hotline::daemon
