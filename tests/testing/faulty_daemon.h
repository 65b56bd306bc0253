// A daemon started in-process whose journal writer commits through a FaultySink, with what its
// on_fatal reports: how integration tests inject storage faults at start-up and watch the daemon
// give up on a refusal. DaemonFixture is the plain case; this one also starts on demand, so a
// test can prepare the database (or the faults) before the daemon opens it.
#pragma once

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/testing/blocking_queue.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/faulty_sink.h"

namespace hotline::testing {

// Waits until the daemon's health service (Health.Watch, no polling) reports `status`; fails the
// test after kPatience.
inline void WaitForHealth(const std::shared_ptr<grpc::Channel>& channel,
                          grpc::health::v1::HealthCheckResponse::ServingStatus status) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kPatience);
  auto reader = grpc::health::v1::Health::NewStub(channel)->Watch(
      &ctx, grpc::health::v1::HealthCheckRequest());
  grpc::health::v1::HealthCheckResponse resp;
  while (reader->Read(&resp)) {
    if (resp.status() == status) {
      ctx.TryCancel();
      return;
    }
  }
  FAIL("the health service did not report " +
       grpc::health::v1::HealthCheckResponse::ServingStatus_Name(status) + " in time");
}

// A daemon whose journal writer commits through a FaultySink, with what its on_fatal reports.
class FaultyDaemon {
 public:
  // Starts the daemon unless `start` is false (then the test calls Start()).
  explicit FaultyDaemon(bool start = true) {
    config = TestConfig(dir);
    if (start) {
      Start();
    }
  }

  void Start() {
    auto started = daemon::Daemon::Start(
        config,
        [this](storage::Sink& store) { return std::make_unique<FaultySink>(store, faults); },
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

  void WaitForHealth(grpc::health::v1::HealthCheckResponse::ServingStatus status) {
    testing::WaitForHealth(channel, status);
  }

  int HttpStatus(const std::string& path) {
    httplib::Client client("127.0.0.1", daemon->http_port());
    auto res = client.Get(path.c_str());
    return res ? res->status : -1;
  }

  TempDir dir;
  daemon::Config config;
  std::shared_ptr<FaultSwitch> faults = std::make_shared<FaultSwitch>();
  BlockingQueue<absl::Status> fatal;
  std::unique_ptr<daemon::Daemon> daemon;
  std::shared_ptr<grpc::Channel> channel;
};

}  // namespace hotline::testing
