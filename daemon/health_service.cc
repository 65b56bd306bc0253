#include "daemon/health_service.h"

#include <algorithm>
#include <utility>

#include "daemon/rpc.h"

namespace hotline::daemon {

namespace health = grpc::health::v1;

void HealthService::Serve(grpc::ServerCompletionQueue* cq) {
  using Check = rpc::UnaryCall<health::HealthCheckRequest, health::HealthCheckResponse>;
  rpc::ServeUnary<Async, health::HealthCheckRequest, health::HealthCheckResponse>(
      &service_, &Async::RequestCheck, cq, [this](std::shared_ptr<Check> call) {
        Status status;
        {
          absl::MutexLock lock(&mu_);
          status = StatusOf(call->request.service());
        }
        if (status == health::HealthCheckResponse::SERVICE_UNKNOWN) {
          // The default service's answer, word for word.
          call->Fail(grpc::Status(grpc::StatusCode::NOT_FOUND, "service name unknown"));
        } else {
          call->Reply(Response(status));
        }
      });
  ServeServerStream<Async, health::HealthCheckRequest, health::HealthCheckResponse>(
      &service_, &Async::RequestWatch, cq,
      [this](std::shared_ptr<Watch> watch) { Open(std::move(watch)); },
      [this](std::shared_ptr<Watch> watch) { Forget(watch); });
}

void HealthService::SetServing(bool serving) {
  absl::MutexLock lock(&mu_);
  const Status status =
      serving ? health::HealthCheckResponse::SERVING : health::HealthCheckResponse::NOT_SERVING;
  if (shut_down_ || status == serving_) {
    return;
  }
  serving_ = status;
  for (const auto& watch : watches_) {
    if (watch->request.service().empty()) {
      watch->Send(Response(serving_));
    }
  }
}

void HealthService::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  const bool changed = serving_ != health::HealthCheckResponse::NOT_SERVING;
  serving_ = health::HealthCheckResponse::NOT_SERVING;
  for (const auto& watch : watches_) {
    if (changed && watch->request.service().empty()) {
      watch->Send(Response(serving_));
    }
    // Otherwise the server's shutdown would wait its whole deadline for the watch to end.
    watch->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "hotlined is shutting down"));
  }
  watches_.clear();
}

HealthService::Status HealthService::StatusOf(const std::string& name) const {
  return name.empty() ? serving_ : health::HealthCheckResponse::SERVICE_UNKNOWN;
}

void HealthService::Open(std::shared_ptr<Watch> watch) {
  absl::MutexLock lock(&mu_);
  watch->Send(Response(StatusOf(watch->request.service())));
  if (shut_down_) {
    watch->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "hotlined is shutting down"));
    return;
  }
  watches_.push_back(std::move(watch));
}

void HealthService::Forget(const std::shared_ptr<Watch>& watch) {
  absl::MutexLock lock(&mu_);
  watches_.erase(std::remove(watches_.begin(), watches_.end(), watch), watches_.end());
}

health::HealthCheckResponse HealthService::Response(Status status) {
  health::HealthCheckResponse response;
  response.set_status(status);
  return response;
}

}  // namespace hotline::daemon
