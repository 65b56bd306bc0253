#include "daemon/services.h"

namespace hotline::daemon {

const grpc::Status kUnauthenticated(grpc::StatusCode::UNAUTHENTICATED,
                                    "authorization: missing or unknown bearer token");

bool RoleToken(const grpc::ServerContext& ctx, const std::string& expected) {
  return SameToken(rpc::BearerToken(ctx), expected);
}

bool SameToken(const std::string& token, const std::string& expected) {
  if (expected.empty() || token.size() != expected.size()) {
    return false;
  }
  unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>(token[i] ^ expected[i]);
  }
  return diff == 0;
}

absl::Status FirstError(std::initializer_list<absl::Status> checks) {
  for (const absl::Status& s : checks) {
    if (!s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace hotline::daemon
