// A commit the store refuses for a reason retrying cannot mend, through the real daemon: the
// writer stops for good, the daemon says so (on_fatal, failure(), health), nothing after the
// refusal is acknowledged, and a restart recovers what was.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/faulty_sink.h"

namespace hotline {
namespace {

using testing::Authorize;
using testing::DaemonFixture;
using testing::kPatience;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

// A daemon whose journal writer commits through a FaultySink, with what its on_fatal reports.
class FaultyDaemon {
 public:
  FaultyDaemon() {
    config.grpc_listen = "127.0.0.1:0";
    config.http_listen = "127.0.0.1:0";
    config.database = (dir.path() / "hotline.db").string();
    config.caller_key_file = (dir.path() / "caller.key").string();
    config.policy_file = std::string(HOTLINE_SOURCE_DIR) + "/deploy/policy.toml";
    config.regions_file = std::string(HOTLINE_SOURCE_DIR) + "/deploy/regions.toml";
    config.admin_token = DaemonFixture::kAdminToken;
    config.gateway_token = DaemonFixture::kGatewayToken;
    config.supervisor_token = DaemonFixture::kSupervisorToken;
    Start();
  }

  void Start() {
    auto started = daemon::Daemon::Start(
        config,
        [this](storage::Sink& store) {
          return std::make_unique<testing::FaultySink>(store, faults);
        },
        [this](const absl::Status& why) { fatal.Push(why); });
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    daemon = std::move(*started);
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(daemon->grpc_port()),
                                  grpc::InsecureChannelCredentials());
  }

  grpc::Status CreateCounsellor(const std::string& id) {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kAdminToken);
    ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
    v1::CreateCounsellorRequest req;
    auto* c = req.mutable_counsellor();
    c->set_counsellor_id(id);
    c->set_display_name("Counsellor " + id);
    c->set_home_province("38");
    auto* skill = c->add_skills();
    skill->set_topic(v1::TOPIC_COUNSELLING);
    skill->set_proficiency(4);
    c->add_languages("vi");
    c->set_endpoint("sip:" + id + "@pbx.local");
    v1::CreateCounsellorResponse resp;
    return v1::AdminService::NewStub(channel)->CreateCounsellor(&ctx, req, &resp);
  }

  std::vector<std::string> CounsellorIds() {
    grpc::ClientContext ctx;
    Authorize(ctx, DaemonFixture::kAdminToken);
    ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
    v1::ListCounsellorsResponse resp;
    const grpc::Status s = v1::AdminService::NewStub(channel)->ListCounsellors(
        &ctx, v1::ListCounsellorsRequest(), &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    std::vector<std::string> ids;
    for (const auto& c : resp.counsellors()) {
      ids.push_back(c.counsellor_id());
    }
    return ids;
  }

  grpc::health::v1::HealthCheckResponse::ServingStatus Health() {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
    grpc::health::v1::HealthCheckResponse resp;
    const grpc::Status s = grpc::health::v1::Health::NewStub(channel)->Check(
        &ctx, grpc::health::v1::HealthCheckRequest(), &resp);
    REQUIRE(s.ok());
    return resp.status();
  }

  int HttpStatus(const std::string& path) {
    httplib::Client client("127.0.0.1", daemon->http_port());
    auto res = client.Get(path.c_str());
    return res ? res->status : -1;
  }

  testing::TempDir dir;
  daemon::Config config;
  std::shared_ptr<testing::FaultSwitch> faults = std::make_shared<testing::FaultSwitch>();
  testing::BlockingQueue<absl::Status> fatal;
  std::unique_ptr<daemon::Daemon> daemon;
  std::shared_ptr<grpc::Channel> channel;
};

TEST_CASE("a refused commit stops the daemon acknowledging for good; a restart recovers",
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
  CHECK(d.daemon->failure() == refusal);   // Still there for main's exit status.
  CHECK(d.fatal.Pop(0ms) == std::nullopt);  // Once.

  d.daemon.reset();
  d.Start();
  CHECK(d.CounsellorIds() == std::vector<std::string>{"an"});
  CHECK(d.daemon->failure().ok());
  CHECK(d.CreateCounsellor("binh").ok());
}

}  // namespace
}  // namespace hotline
