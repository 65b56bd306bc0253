// grpc.health.v1.Health, served on hotlined's own completion queue in place of gRPC's default
// health service.
//
// Why: gRPC 1.51's default health service runs on the callback API, whose threads sleep 100 ms
// after each idle second, so a load balancer's probe after a quiet spell could wait up to 100 ms
// (docs/performance.md). Our completion-queue thread wakes at once.
//
// Behaviour, as the default service's: the whole server ("") starts SERVING and follows
// SetServing; any other name is unknown: Check fails with NOT_FOUND, Watch sends
// SERVICE_UNKNOWN. Watch sends the current status at once and again whenever it changes.
// After Shutdown everything is NOT_SERVING for good and every Watch is closed.
//
// Thread-safety: SetServing and Shutdown from any thread; the handlers run on the
// completion-queue thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "daemon/streams.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace hotline::daemon {

class HealthService final {
 public:
  using Async = grpc::health::v1::Health::AsyncService;

  HealthService() = default;
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // What to register with the ServerBuilder.
  grpc::Service* service() { return &service_; }

  // Starts answering Check and Watch on `cq`.
  // REQUIRES: the server was built with service() registered and `cq` added.
  void Serve(grpc::ServerCompletionQueue* cq);

  // The whole server's status; sent to every Watch when it changes. Ignored after Shutdown.
  void SetServing(bool serving);

  // NOT_SERVING for good; every Watch is sent that, then closed (UNAVAILABLE).
  void Shutdown();

 private:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;
  using Watch =
      ServerStream<grpc::health::v1::HealthCheckRequest, grpc::health::v1::HealthCheckResponse>;

  // The status of `name`: the whole server's for "", SERVICE_UNKNOWN otherwise.
  Status StatusOf(const std::string& name) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Open(std::shared_ptr<Watch> watch);
  void Forget(const std::shared_ptr<Watch>& watch);
  static grpc::health::v1::HealthCheckResponse Response(Status status);

  Async service_;
  mutable absl::Mutex mu_;
  Status serving_ ABSL_GUARDED_BY(mu_) = grpc::health::v1::HealthCheckResponse::SERVING;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<Watch>> watches_ ABSL_GUARDED_BY(mu_);
};

}  // namespace hotline::daemon
