// The one place an absl::Status becomes a grpc::Status.
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace hotline::daemon {

// The codes share numbering (both follow google.rpc.Code), so the mapping is a checked cast.
inline grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) {
    return grpc::Status::OK;
  }
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace hotline::daemon
