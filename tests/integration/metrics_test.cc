// GET /metrics through the real daemon, over HTTP with no token: gateway events acknowledged
// move the ack histogram and the journal commits behind them the commit histogram; a failing
// store shows as hotline_storage_serving 0 and its held acks are timed only once written.
#include "daemon/metrics.h"

#include <SQLiteCpp/Database.h>
#include <httplib.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/testing/daemon_fixture.h"
#include "tests/testing/faulty_daemon.h"
#include "tests/testing/metrics_text.h"

namespace hotline {
namespace {

using testing::DaemonFixture;
using testing::GatewayClient;

// GET /metrics without a token; fails the test unless it answers 200 in the text format 0.0.4.
std::string FetchMetrics(int http_port) {
  httplib::Client client("127.0.0.1", http_port);
  auto res = client.Get("/metrics");
  REQUIRE(res);
  REQUIRE(res->status == 200);
  CHECK(res->get_header_value("Content-Type") == daemon::prometheus::kContentType);
  return res->body;
}

// The value of one sample; fails the test if the text has none.
double Sample(const std::string& text, const std::string& series) {
  const std::optional<double> value = testing::SampleValue(text, series);
  INFO(series);
  REQUIRE(value.has_value());
  return *value;
}

TEST_CASE("GET /metrics times each acknowledged gateway event and the journal commits behind it",
          "[integration][metrics]") {
  DaemonFixture f;
  GatewayClient gateway(f.channel, DaemonFixture::kGatewayToken, "gw-metrics");
  gateway.WaitForWelcome();
  const std::string before = FetchMetrics(f.daemon->http_port());

  gateway.Arrive("call-1", "38");
  gateway.Arrive("call-2", "38", v1::PRIORITY_HIGH);
  gateway.Event("call-1", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  for (int i = 0; i < 3; ++i) {
    CHECK(gateway.WaitForAck().code() == 0);
  }
  // A malformed event is refused before the engine, with no commit behind it: not timed.
  v1::GatewayMessage malformed;
  malformed.mutable_event()->set_event_id("ev-malformed");
  malformed.mutable_event()->set_call_id("call-3");
  gateway.Send(malformed);
  CHECK(gateway.WaitForAck().code() == grpc::StatusCode::INVALID_ARGUMENT);

  // Each ack is timed before it is handed to the stream, so before the gateway can read it.
  const std::string after = FetchMetrics(f.daemon->http_port());
  const double acks = Sample(before, "hotline_event_ack_seconds_count") + 3;
  CHECK(Sample(after, "hotline_event_ack_seconds_count") == acks);
  CHECK(Sample(after, "hotline_event_ack_seconds_bucket{le=\"+Inf\"}") == acks);
  CHECK(Sample(after, "hotline_event_ack_seconds_sum") > 0);
  // At least one commit wrote those events (group commit may have joined them).
  CHECK(Sample(after, "hotline_journal_commit_seconds_count") >
        Sample(before, "hotline_journal_commit_seconds_count"));
  CHECK(Sample(after, "hotline_storage_serving") == 1);

  // The engine's own series: call-2 waits (high), call-1 ended abandoned, and every input took
  // a decision.
  CHECK(Sample(after, "hotline_waiting_calls{priority=\"high\"}") == 1);
  CHECK(Sample(after, "hotline_waiting_calls{priority=\"normal\"}") == 0);
  CHECK(Sample(after, "hotline_calls_finished_total{outcome=\"abandoned\"}") ==
        Sample(before, "hotline_calls_finished_total{outcome=\"abandoned\"}") + 1);
  CHECK(Sample(after, "hotline_decision_seconds_count") >=
        Sample(before, "hotline_decision_seconds_count") + 3);
  testing::SignedIn alice(f, "alice", "01");
  const std::string signed_in = FetchMetrics(f.daemon->http_port());
  CHECK(Sample(signed_in, "hotline_counsellors{state=\"available\"}") +
            Sample(signed_in, "hotline_counsellors{state=\"reserved\"}") ==
        1);
}

TEST_CASE("hotline_storage_serving reads 0 while commits fail, and a held ack is timed once written",
          "[integration][metrics]") {
  testing::FaultyDaemon d;
  GatewayClient gateway(d.channel, DaemonFixture::kGatewayToken, "gw-faulty");
  gateway.WaitForWelcome();
  const double acks =
      Sample(FetchMetrics(d.daemon->http_port()), "hotline_event_ack_seconds_count");

  d.faults->Fail(absl::UnavailableError("disk I/O error"));
  gateway.Arrive("call-1", "38");
  d.WaitForHealth(grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  const std::string failing = FetchMetrics(d.daemon->http_port());
  CHECK(Sample(failing, "hotline_storage_serving") == 0);
  CHECK(Sample(failing, "hotline_event_ack_seconds_count") == acks);  // Held, not yet sent.

  d.faults->Heal();
  CHECK(gateway.WaitForAck().code() == 0);
  const std::string healed = FetchMetrics(d.daemon->http_port());
  CHECK(Sample(healed, "hotline_storage_serving") == 1);
  CHECK(Sample(healed, "hotline_event_ack_seconds_count") == acks + 1);
}

TEST_CASE(
    "hotline_storage_lock_waits_total counts the journal writer's waits for another "
    "connection's lock",
    "[integration][metrics]") {
  DaemonFixture f;
  GatewayClient gateway(f.channel, DaemonFixture::kGatewayToken, "gw-locked");
  gateway.WaitForWelcome();
  const int port = f.daemon->http_port();
  const double before = Sample(FetchMetrics(port), "hotline_storage_lock_waits_total");

  // Another writer on the file (sqlite3, a backup tool writing): the journal writer's next
  // commit waits for it, up to 5 s.
  SQLite::Database other(f.config.database, SQLite::OPEN_READWRITE, 5'000);
  other.exec("BEGIN IMMEDIATE");
  gateway.Arrive("call-1", "38");
  double waits = before;
  for (int scrape = 0; scrape < 10'000 && waits == before; ++scrape) {
    waits = Sample(FetchMetrics(port), "hotline_storage_lock_waits_total");
  }
  other.exec("COMMIT");
  CHECK(waits >= before + 1);
  CHECK(gateway.WaitForAck().code() == 0);  // Journaled once the lock was let go.
  CHECK(Sample(FetchMetrics(port), "hotline_storage_lock_waits_total") >= waits);
}

}  // namespace
}  // namespace hotline
