// Health while the daemon starts: a store that fails during recovery, before the gRPC server
// exists, still shows on the health service once it does, and heals. The writer thread reports
// the fault while Start is building the server: run under ThreadSanitizer
// (-DHOTLINE_SANITIZE=thread), this is the test of how the two threads share the health service.
#include <catch2/catch.hpp>

#include "storage/store.h"
#include "tests/testing/faulty_daemon.h"

namespace hotline {
namespace {

using grpc::health::v1::HealthCheckResponse;
using testing::FaultyDaemon;

TEST_CASE("a store failing while the daemon recovers shows NOT_SERVING, then SERVING once healed",
          "[integration][recovery]") {
  FaultyDaemon d(/*start=*/false);
  {
    // A counsellor stored outside the journal: recovery brings them in through it, so the
    // writer's first commit (and its failure) happens while Start is still running.
    auto store = storage::Store::Open(d.config.database);
    REQUIRE(store.ok());
    routing::CounsellorProfile profile;
    profile.id = "direct";
    profile.display_name = "Counsellor direct";
    profile.home_province = "38";
    profile.skills[routing::Topic::kCounselling] = 4;
    profile.languages = {"vi"};
    profile.endpoint = "sip:direct@pbx.local";
    REQUIRE((*store)->InsertCounsellor({profile, "00ff"}).ok());
  }
  d.faults->Fail(absl::UnavailableError("database is locked"));
  d.Start();
  d.WaitForHealth(HealthCheckResponse::NOT_SERVING);
  CHECK_FALSE(d.daemon->healthy());
  CHECK(d.HttpStatus("/healthz") == 503);

  d.faults->Heal();
  d.WaitForHealth(HealthCheckResponse::SERVING);
  CHECK(d.daemon->healthy());
  CHECK(d.CounsellorIds() == std::vector<std::string>{"direct"});
  CHECK(d.daemon->failure().ok());
}

}  // namespace
}  // namespace hotline
