// A commit the store refuses for a reason retrying cannot mend, through the real daemon: the
// writer stops for good, the daemon says so (on_fatal, failure(), health), nothing after the
// refusal is acknowledged, and a restart recovers what was.
#include <catch2/catch.hpp>
#include <thread>

#include "tests/testing/faulty_daemon.h"

namespace hotline {
namespace {

using testing::FaultyDaemon;
using testing::kPatience;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

TEST_CASE("a refused commit stops the daemon acknowledging for good, and a restart recovers",
          "[integration][recovery]") {
  FaultyDaemon d;
  REQUIRE(d.CreateCounsellor("an").ok());
  const int committed = d.faults->committed.load();

  // What two writers on one database look like to the second: its next seq is already taken.
  const absl::Status refusal =
      absl::FailedPreconditionError("journal entry 7 is not after the last stored seq 9");
  d.faults->Fail(refusal);
  grpc::Status binh;
  std::jthread create([&] { binh = d.CreateCounsellor("binh"); });
  const std::optional<absl::Status> fatal = d.fatal.Pop(kPatience);
  REQUIRE(fatal.has_value());
  CHECK(*fatal == refusal);
  CHECK(d.daemon->failure() == refusal);
  CHECK_FALSE(d.daemon->healthy());
  CHECK(d.Health() == grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  CHECK(d.HttpStatus("/healthz") == 503);
  CHECK(d.faults->refused.load() == 1);  // Tried once, not retried.

  // Even once the store would take it, the daemon writes nothing more; its shutdown does not
  // wait for a flush that cannot come, and ends the held request without acknowledging it.
  d.faults->Heal();
  d.daemon->Shutdown();
  create.join();
  CHECK_FALSE(binh.ok());
  CHECK(d.faults->committed.load() == committed);
  CHECK(d.daemon->failure() == refusal);    // Still there for main's exit status.
  CHECK(d.fatal.Pop(0ms) == std::nullopt);  // Once.

  d.daemon.reset();
  d.Start();
  CHECK(d.CounsellorIds() == std::vector<std::string>{"an"});
  CHECK(d.daemon->failure().ok());
  CHECK(d.CreateCounsellor("binh").ok());
}

}  // namespace
}  // namespace hotline
