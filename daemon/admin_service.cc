// AdminService: counsellors, the routing policy and accounts, for an administrator's token only.
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
        if (!Authorized(services, call->ctx, Role::kAdmin)) {
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

v1::Account AccountProto(const storage::StoredAccount& a) {
  v1::Account out;
  out.set_name(a.name);
  out.set_role(a.role == "gateway"      ? v1::ACCOUNT_ROLE_GATEWAY
               : a.role == "supervisor" ? v1::ACCOUNT_ROLE_SUPERVISOR
               : a.role == "admin"      ? v1::ACCOUNT_ROLE_ADMIN
                                        : v1::ACCOUNT_ROLE_UNSPECIFIED);
  out.set_gateway_id(a.gateway_id);
  *out.mutable_issued_at() = daemon::ToProto(routing::FromUnixMillis(a.issued_at_ms));
  if (a.revoked_at_ms != 0) {
    *out.mutable_revoked_at() = daemon::ToProto(routing::FromUnixMillis(a.revoked_at_ms));
  }
  return out;
}

// An admin's unary call that runs `fn(accounts, store, now_ms)` on the writer thread (account
// changes are written there, after everything before them is durable) and replies with its
// result.
template <class Request, class Response, class Fn>
void ServeAccountCall(AdminAsync& service, Services services,
                      void (AdminAsync::*request_fn)(grpc::ServerContext*, Request*,
                                                     grpc::ServerAsyncResponseWriter<Response>*,
                                                     grpc::CompletionQueue*,
                                                     grpc::ServerCompletionQueue*, void*),
                      Fn fn) {
  rpc::ServeUnary<AdminAsync, Request, Response>(
      &service, request_fn, services.cq,
      [services, fn](std::shared_ptr<rpc::UnaryCall<Request, Response>> call) {
        if (!Authorized(services, call->ctx, Role::kAdmin)) {
          return call->Fail(kUnauthenticated);
        }
        Accounts* accounts = &services.accounts;
        services.host.Post([call, fn, accounts](EngineHost& h) {
          const int64_t now_ms = routing::ToUnixMillis(h.Now());
          h.RunOnStore([call, fn, accounts, now_ms](storage::Store& store) {
            call->Complete(fn(*accounts, store, call->request, now_ms));
          });
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
        if (!Authorized(services, call->ctx, Role::kAdmin)) {
          return call->Fail(kUnauthenticated);
        }
        services.host.Post([call](EngineHost& h) { call->Reply(h.ListCounsellors()); });
      });

  using Remove = rpc::UnaryCall<v1::RemoveCounsellorRequest, v1::RemoveCounsellorResponse>;
  rpc::ServeUnary<AdminAsync, v1::RemoveCounsellorRequest, v1::RemoveCounsellorResponse>(
      &service, &AdminAsync::RequestRemoveCounsellor, services.cq,
      [services](std::shared_ptr<Remove> call) {
        if (!Authorized(services, call->ctx, Role::kAdmin)) {
          return call->Fail(kUnauthenticated);
        }
        // Checked before the engine's "not found" could echo it back, whatever its size.
        if (absl::Status s = ValidateId(call->request.counsellor_id(), "counsellor_id", 64);
            !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call](EngineHost& h) {
          h.RemoveCounsellor(call->request.counsellor_id(), call->request.sign_out(),
                             [call](const auto& r) { call->Complete(r); });
        });
      });

  ServeAccountCall<v1::IssueTokenRequest, v1::IssueTokenResponse>(
      service, services, &AdminAsync::RequestIssueToken,
      [](Accounts& accounts, storage::Store& store, const v1::IssueTokenRequest& request,
         int64_t now_ms) -> absl::StatusOr<v1::IssueTokenResponse> {
        Role role = Role::kDesk;  // Refused by Issue: no account of that role.
        switch (request.role()) {
          case v1::ACCOUNT_ROLE_GATEWAY:
            role = Role::kGateway;
            break;
          case v1::ACCOUNT_ROLE_SUPERVISOR:
            role = Role::kSupervisor;
            break;
          case v1::ACCOUNT_ROLE_ADMIN:
            role = Role::kAdmin;
            break;
          default:
            return absl::InvalidArgumentError("role: one of gateway, supervisor or admin");
        }
        auto issued = accounts.Issue(store, request.name(), role, request.gateway_id(), now_ms);
        if (!issued.ok()) {
          return issued.status();
        }
        v1::IssueTokenResponse response;
        *response.mutable_account() = AccountProto(issued->account);
        response.set_token(issued->token);
        return response;
      });
  ServeAccountCall<v1::RotateTokenRequest, v1::RotateTokenResponse>(
      service, services, &AdminAsync::RequestRotateToken,
      [](Accounts& accounts, storage::Store& store, const v1::RotateTokenRequest& request,
         int64_t now_ms) -> absl::StatusOr<v1::RotateTokenResponse> {
        auto issued = accounts.Rotate(store, request.name(), now_ms);
        if (!issued.ok()) {
          return issued.status();
        }
        v1::RotateTokenResponse response;
        *response.mutable_account() = AccountProto(issued->account);
        response.set_token(issued->token);
        return response;
      });
  ServeAccountCall<v1::RevokeTokenRequest, v1::RevokeTokenResponse>(
      service, services, &AdminAsync::RequestRevokeToken,
      [](Accounts& accounts, storage::Store& store, const v1::RevokeTokenRequest& request,
         int64_t now_ms) -> absl::StatusOr<v1::RevokeTokenResponse> {
        auto revoked = accounts.Revoke(store, request.name(), now_ms);
        if (!revoked.ok()) {
          return revoked.status();
        }
        v1::RevokeTokenResponse response;
        *response.mutable_account() = AccountProto(*revoked);
        return response;
      });
  ServeAccountCall<v1::ListAccountsRequest, v1::ListAccountsResponse>(
      service, services, &AdminAsync::RequestListAccounts,
      [](Accounts& accounts, storage::Store&, const v1::ListAccountsRequest&,
         int64_t) -> absl::StatusOr<v1::ListAccountsResponse> {
        v1::ListAccountsResponse response;
        for (const storage::StoredAccount& a : accounts.List()) {
          *response.add_accounts() = AccountProto(a);
        }
        return response;
      });

  using RotateDesk =
      rpc::UnaryCall<v1::RotateCounsellorTokenRequest, v1::RotateCounsellorTokenResponse>;
  rpc::ServeUnary<AdminAsync, v1::RotateCounsellorTokenRequest, v1::RotateCounsellorTokenResponse>(
      &service, &AdminAsync::RequestRotateCounsellorToken, services.cq,
      [services](std::shared_ptr<RotateDesk> call) {
        if (!Authorized(services, call->ctx, Role::kAdmin)) {
          return call->Fail(kUnauthenticated);
        }
        if (absl::Status s = ValidateId(call->request.counsellor_id(), "counsellor_id", 64);
            !s.ok()) {
          return call->Fail(s);
        }
        services.host.Post([call](EngineHost& h) {
          h.RotateCounsellorToken(call->request.counsellor_id(),
                                  [call](const auto& r) { call->Complete(r); });
        });
      });

  using Reload = rpc::UnaryCall<v1::ReloadPolicyRequest, v1::ReloadPolicyResponse>;
  rpc::ServeUnary<AdminAsync, v1::ReloadPolicyRequest, v1::ReloadPolicyResponse>(
      &service, &AdminAsync::RequestReloadPolicy, services.cq,
      [services](std::shared_ptr<Reload> call) {
        if (!Authorized(services, call->ctx, Role::kAdmin)) {
          return call->Fail(kUnauthenticated);
        }
        services.host.Post([call](EngineHost& h) {
          h.ReloadPolicy([call](const auto& r) { call->Complete(r); });
        });
      });
}

}  // namespace hotline::daemon
