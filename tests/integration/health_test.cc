// grpc.health.v1.Health as hotlined serves it on its own completion queue
// (daemon/health_service.h): the answers gRPC's default health service gave, which load
// balancers and hotlinectl rely on.
#include <catch2/catch.hpp>

#include "tests/testing/faulty_daemon.h"

namespace hotline {
namespace {

namespace health = grpc::health::v1;
using testing::FaultyDaemon;

health::HealthCheckRequest For(const std::string& service) {
  health::HealthCheckRequest request;
  request.set_service(service);
  return request;
}

TEST_CASE("a health check for an unknown service name is NOT_FOUND, the whole server SERVING",
          "[integration]") {
  FaultyDaemon d;
  auto stub = health::Health::NewStub(d.channel);
  grpc::ClientContext ctx;
  health::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&ctx, For("hotline.v1.NoSuchService"), &response);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(d.Health() == health::HealthCheckResponse::SERVING);
}

TEST_CASE("a health watch on an unknown service name hears SERVICE_UNKNOWN", "[integration]") {
  FaultyDaemon d;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto reader = health::Health::NewStub(d.channel)->Watch(&ctx, For("hotline.v1.NoSuchService"));
  health::HealthCheckResponse response;
  REQUIRE(reader->Read(&response));
  CHECK(response.status() == health::HealthCheckResponse::SERVICE_UNKNOWN);
  ctx.TryCancel();
}

TEST_CASE("a health watch hears NOT_SERVING when the daemon shuts down, then the stream ends",
          "[integration]") {
  FaultyDaemon d;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto reader = health::Health::NewStub(d.channel)->Watch(&ctx, health::HealthCheckRequest());
  health::HealthCheckResponse response;
  REQUIRE(reader->Read(&response));
  CHECK(response.status() == health::HealthCheckResponse::SERVING);
  d.daemon->Shutdown();
  REQUIRE(reader->Read(&response));
  CHECK(response.status() == health::HealthCheckResponse::NOT_SERVING);
  CHECK_FALSE(reader->Read(&response));
  CHECK(reader->Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace hotline
