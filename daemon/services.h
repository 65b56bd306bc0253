// The four gRPC services of hotlined, one file each (gateway_service.cc, desk_service.cc,
// supervisor_service.cc, admin_service.cc), over the async completion-queue API: each Serve*
// function requests every call of its service's methods on `cq`, authenticates and validates
// what arrives on the completion-queue thread, and posts the work to the engine host. Replies
// are sent from whichever thread completes them (rpc.h).
//
// Thread-safety: Serve* are called once, at start, before the completion-queue thread runs;
// everything they arm runs on that thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <initializer_list>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/accounts.h"
#include "daemon/config.h"
#include "daemon/engine_host.h"
#include "daemon/limits.h"
#include "daemon/metrics.h"
#include "hotline/v1/admin.grpc.pb.h"
#include "hotline/v1/desk.grpc.pb.h"
#include "hotline/v1/gateway.grpc.pb.h"
#include "hotline/v1/supervisor.grpc.pb.h"

namespace hotline::daemon {

// What every service needs; the members outlive the server.
struct Services {
  const Config& config;
  EngineHost& host;
  grpc::ServerCompletionQueue* cq;
  Metrics& metrics;
  Accounts& accounts;
  // Long-lived streams per peer address ([limits] max_streams_per_peer).
  PeerStreams& peers;
};

void ServeGateway(GatewayAsyncService& service, Services services);
void ServeDesk(v1::DeskService::AsyncService& service, Services services);
void ServeSupervisor(v1::SupervisorService::AsyncService& service, Services services);
void ServeAdmin(v1::AdminService::AsyncService& service, Services services);

// --- Shared by the services. ---

extern const grpc::Status kUnauthenticated;

// The principal of the call's bearer token in `role` (accounts.h), or nullopt.
inline std::optional<Principal> Authorized(const Services& services,
                                           const grpc::ServerContext& ctx, Role role) {
  return services.accounts.Authenticate(ctx, role);
}

// A fixed token check; constant-time so a wrong guess learns nothing from timing.
bool RoleToken(const grpc::ServerContext& ctx, const std::string& expected);
// The same comparison for a token that came another way (HTTP).
bool SameToken(const std::string& token, const std::string& expected);

// The first failed check, or OK.
absl::Status FirstError(std::initializer_list<absl::Status> checks);

// The response `fill` makes from a value, or the error.
template <class Response, class T, class Fill>
absl::StatusOr<Response> Respond(const absl::StatusOr<T>& result, Fill fill) {
  if (!result.ok()) {
    return result.status();
  }
  Response response;
  fill(response, *result);
  return response;
}

}  // namespace hotline::daemon
