#include "clients/common/client.h"

#include <absl/status/status.h>
#include <fmt/format.h>

#include <cstdint>
#include <random>
#include <utility>

namespace hotline::clients {

Server::Server(const std::string& address, std::string token)
    : channel_(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
      authorization_(token.empty() ? std::string() : "Bearer " + std::move(token)) {}

Server::Server(const std::string& address, std::string token,
               const grpc::ChannelArguments& arguments)
    : channel_(grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), arguments)),
      authorization_(token.empty() ? std::string() : "Bearer " + std::move(token)) {}

void Server::Prepare(grpc::ClientContext& context, std::chrono::milliseconds timeout) const {
  if (!authorization_.empty()) {
    context.AddMetadata("authorization", authorization_);
  }
  if (timeout > std::chrono::milliseconds::zero()) {
    context.set_deadline(std::chrono::system_clock::now() + timeout);
  }
}

void AddServerFlags(CLI::App& app, std::string& server, std::string& token,
                    const std::string& token_env, bool token_required) {
  server = kDefaultServer;
  app.add_option("--server", server, "hotlined's gRPC address, host:port")->capture_default_str();
  CLI::Option* option =
      app.add_option("--token", token, "Bearer token; better set " + token_env + " instead")
          ->envname(token_env);
  if (token_required) {
    option->required();
  }
}

std::string CodeName(int code) {
  // gRPC status codes are the google.rpc.Code values, which Abseil names.
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    return fmt::format("CODE_{}", code);
  }
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string ErrorLine(const grpc::Status& status) {
  if (status.error_message().empty()) {
    return "error: " + CodeName(status.error_code());
  }
  return fmt::format("error: {}: {}", CodeName(status.error_code()), status.error_message());
}

std::string NewRequestId() {
  // Not the seeded generator the simulator uses for load: these ids must differ across runs.
  thread_local std::random_device device;
  const uint64_t high = (uint64_t{device()} << 32) | device();
  const uint64_t low = (uint64_t{device()} << 32) | device();
  return fmt::format("{:016x}{:016x}", high, low);
}

}  // namespace hotline::clients
