// SupervisorService.Report and ExportDispositions through the real daemon on a manual clock:
// calls played to the end with known waits, then the figures computed by hand.
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "daemon/convert.h"
#include "tests/testing/daemon_fixture.h"
#include "tests/testing/manual_fixture.h"

namespace hotline {
namespace {

using testing::AnswerAndEnd;
using testing::DaemonFixture;
using testing::Dispose;
using testing::GatewayClient;
using testing::ManualFixture;
using testing::SignedIn;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

// One call of SupervisorService `method` (&Stub::Report, ...) with `token`.
template <class Request, class Response>
grpc::Status Call(const DaemonFixture& f,
                  grpc::Status (v1::SupervisorService::Stub::*method)(grpc::ClientContext*,
                                                                      const Request&, Response*),
                  const Request& request, Response& response, const std::string& token) {
  auto stub = v1::SupervisorService::NewStub(f.channel);
  grpc::ClientContext ctx;
  testing::Authorize(ctx, token);
  ctx.set_deadline(std::chrono::system_clock::now() + testing::kPatience);
  return ((*stub).*method)(&ctx, request, &response);
}

grpc::Status Report(const DaemonFixture& f, const v1::ReportRequest& request,
                    v1::ReportResponse& response,
                    const std::string& token = DaemonFixture::kSupervisorToken) {
  return Call(f, &v1::SupervisorService::Stub::Report, request, response, token);
}

grpc::Status Export(const DaemonFixture& f, const v1::ExportDispositionsRequest& request,
                    v1::ExportDispositionsResponse& response,
                    const std::string& token = DaemonFixture::kSupervisorToken) {
  return Call(f, &v1::SupervisorService::Stub::ExportDispositions, request, response, token);
}

template <class Request>
Request Period(routing::Timestamp from, routing::Timestamp to) {
  Request request;
  *request.mutable_from() = daemon::ToProto(from);
  *request.mutable_to() = daemon::ToProto(to);
  return request;
}

v1::ReportRequest ReportOf(routing::Timestamp from, routing::Timestamp to,
                           v1::ReportRequest::GroupBy by) {
  auto request = Period<v1::ReportRequest>(from, to);
  request.set_by(by);
  return request;
}

std::map<std::string, v1::Figures> Rows(const v1::ReportResponse& response) {
  std::map<std::string, v1::Figures> rows;
  for (const v1::ReportRow& row : response.rows()) {
    rows[row.key()] = row.figures();
  }
  return rows;
}

int64_t Ms(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1'000'000;
}

// lan (home 01, Hà Nội, north) signs in at t0 (07:00 in Vietnam) and takes every call:
//   c-1 from 01, rings 12 s, talks 60 s, wrap-up 40 s;
//   c-2 from 01 waits 30 s while lan is in wrap-up and hangs up;
//   c-3 from 01 hangs up after 2 s (a short abandon);
//   c-4, an emergency from 38 (Thanh Hóa, central), rings 11 s, talks 30 s, wrap-up 10 s.
// lan: staffed t0..t0+163 s, busy 60 + 40 + 30 + 10 = 140 s.
struct PlayedDay {
  ManualFixture m;
  routing::Timestamp t0 = m.time->SystemTime();
  SignedIn lan{m.f, "lan", "01"};
  GatewayClient gw{m.f.channel, DaemonFixture::kGatewayToken, "gw-1"};

  PlayedDay() {
    gw.WaitForWelcome();
    gw.Arrive("c-1", "01");
    REQUIRE(gw.WaitForAck().code() == 0);
    AnswerAndEnd(gw, lan.desk, "c-1", m.time.get(), 12s, 60s);  // t0 + 72 s
    m.time->Advance(1s);
    gw.Arrive("c-2", "01");
    REQUIRE(gw.WaitForAck().code() == 0);
    m.time->Advance(30s);
    gw.Event("c-2", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    REQUIRE(gw.WaitForAck().code() == 0);
    m.time->Advance(1s);
    gw.Arrive("c-3", "01");
    REQUIRE(gw.WaitForAck().code() == 0);
    m.time->Advance(2s);
    gw.Event("c-3", [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
    REQUIRE(gw.WaitForAck().code() == 0);
    m.time->Advance(6s);  // t0 + 112 s
    Dispose(lan.desk, "c-1");
    gw.Arrive("c-4", "38", v1::PRIORITY_EMERGENCY);
    REQUIRE(gw.WaitForAck().code() == 0);
    AnswerAndEnd(gw, lan.desk, "c-4", m.time.get(), 11s, 30s);  // t0 + 153 s
    m.time->Advance(10s);                                       // t0 + 163 s
    Dispose(lan.desk, "c-4", v1::CATEGORY_SEXUAL_ABUSE, v1::ACTION_REFERRED_CHILD_PROTECTION);
  }

  v1::ReportResponse ReportBy(v1::ReportRequest::GroupBy by) {
    v1::ReportResponse response;
    const grpc::Status s = Report(m.f, ReportOf(t0 - 1h, t0 + 1h, by), response);
    INFO(s.error_message());
    REQUIRE(s.ok());
    return response;
  }
};

TEST_CASE("a report gives the figures of the calls played through the daemon",
          "[integration][report]") {
  PlayedDay day;
  const v1::ReportResponse by_centre = day.ReportBy(v1::ReportRequest::CENTRE);
  const v1::Figures& total = by_centre.total();
  CHECK(total.offered() == 4);
  CHECK(total.answered() == 2);
  CHECK(total.answered_in_target() == 1);  // c-1 in 12 s; not c-4 (emergency, 11 s)
  CHECK(total.abandoned() == 1);           // c-2 after 30 s
  CHECK(total.short_abandoned() == 1);     // c-3 after 2 s
  CHECK(total.other_unanswered() == 0);
  REQUIRE(total.has_service_level());
  CHECK(total.service_level() == Approx(1.0 / 3.0));  // 1 / (4 - 1)
  CHECK(total.abandonment_rate() == Approx(1.0 / 3.0));
  CHECK(Ms(total.average_speed_of_answer()) == 11'500);  // (12 + 11) / 2
  CHECK(total.handled() == 2);
  CHECK(Ms(total.average_handling_time()) == 70'000);  // (100 + 40) / 2
  REQUIRE(total.has_occupancy());
  CHECK(total.occupancy() == Approx(140.0 / 163.0));
  CHECK(total.answered_in_own_province() == 1);  // c-1; c-4 came from the central centre
  CHECK(total.answered_in_own_centre() == 1);

  std::map<std::string, v1::Figures> rows = Rows(by_centre);
  REQUIRE(rows.size() == 2);
  const v1::Figures& north = rows["north"];
  CHECK(north.offered() == 3);
  CHECK(north.service_level() == Approx(0.5));  // 1 / (3 - 1)
  CHECK(north.abandonment_rate() == Approx(0.5));
  CHECK(Ms(north.average_speed_of_answer()) == 12'000);
  CHECK(Ms(north.average_handling_time()) == 100'000);
  CHECK(north.occupancy() == Approx(140.0 / 163.0));  // lan's home is in the north
  const v1::Figures& central = rows["central"];
  CHECK(central.offered() == 1);
  CHECK(central.answered_in_target() == 0);
  CHECK(central.service_level() == Approx(0.0));
  CHECK_FALSE(central.has_abandonment_rate() == false);  // 0 / 1: present, zero
  CHECK(central.abandonment_rate() == Approx(0.0));
  CHECK_FALSE(central.has_occupancy());  // no counsellor's home is there

  // 00:00 UTC is 07:00 in Vietnam: every call of the day was in that hour.
  const v1::ReportResponse by_hour = day.ReportBy(v1::ReportRequest::HOUR);
  REQUIRE(by_hour.rows_size() == 1);
  CHECK(by_hour.rows(0).key() == "07");
  CHECK(by_hour.rows(0).figures().offered() == 4);

  const v1::ReportResponse by_counsellor = day.ReportBy(v1::ReportRequest::COUNSELLOR);
  rows = Rows(by_counsellor);
  REQUIRE(rows.size() == 2);
  CHECK(rows["(none)"].offered() == 2);  // c-2, c-3
  CHECK(rows["lan"].offered() == 2);
  CHECK(rows["lan"].handled() == 2);

  const v1::ReportResponse by_priority = day.ReportBy(v1::ReportRequest::PRIORITY);
  REQUIRE(by_priority.rows_size() == 2);
  CHECK(by_priority.rows(0).key() == "emergency");
  CHECK(by_priority.rows(1).key() == "normal");

  // A period with nothing in it: zeros, and no ratios.
  v1::ReportResponse empty;
  REQUIRE(
      Report(day.m.f, ReportOf(day.t0 - 48h, day.t0 - 24h, v1::ReportRequest::TOPIC), empty).ok());
  CHECK(empty.rows_size() == 0);
  CHECK(empty.total().offered() == 0);
  CHECK_FALSE(empty.total().has_service_level());
  CHECK_FALSE(empty.total().has_occupancy());
}

TEST_CASE("ExportDispositions reports the day's dispositions with CHI labels",
          "[integration][report]") {
  PlayedDay day;
  v1::ExportDispositionsResponse response;
  const grpc::Status s =
      Export(day.m.f, Period<v1::ExportDispositionsRequest>(day.t0 - 1h, day.t0 + 1h), response);
  INFO(s.error_message());
  REQUIRE(s.ok());
  REQUIRE(response.counts_size() == 2);
  CHECK(response.counts(0).category() == "Family relationships");
  CHECK(response.counts(0).sub_category() == "Not specified");
  CHECK(response.counts(0).action() == "Counselling");
  CHECK(response.counts(0).count() == 1);
  CHECK(response.counts(1).category() == "Violence");
  CHECK(response.counts(1).sub_category() == "Sexual violence");
  CHECK(response.counts(1).action() == "Referral: child protection services");
  CHECK(response.counts(1).count() == 1);
}

TEST_CASE("reports refuse a wrong token and a bad period, naming the field",
          "[integration][report]") {
  DaemonFixture f;
  const routing::Timestamp t = routing::FromUnixMillis(1'767'225'600'000);
  v1::ReportResponse report;
  v1::ExportDispositionsResponse exported;

  CHECK(Report(f, ReportOf(t, t + 1h, v1::ReportRequest::CENTRE), report, "wrong").error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(
      Report(f, ReportOf(t, t + 1h, v1::ReportRequest::CENTRE), report, DaemonFixture::kAdminToken)
          .error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(Export(f, Period<v1::ExportDispositionsRequest>(t, t + 1h), exported, "").error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);

  const auto refused = [&](const v1::ReportRequest& request, const std::string& message) {
    const grpc::Status s = Report(f, request, report);
    INFO(s.error_message());
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(s.error_message(), Catch::StartsWith(message));
  };
  v1::ReportRequest no_from = ReportOf(t, t + 1h, v1::ReportRequest::CENTRE);
  no_from.clear_from();
  refused(no_from, "from: is required");
  v1::ReportRequest no_to = ReportOf(t, t + 1h, v1::ReportRequest::CENTRE);
  no_to.clear_to();
  refused(no_to, "to: is required");
  refused(ReportOf(t, t, v1::ReportRequest::CENTRE), "to: must be after from");
  refused(ReportOf(t, t - 1h, v1::ReportRequest::CENTRE), "to: must be after from");
  refused(ReportOf(t, t + 24h * 366 + 1ms, v1::ReportRequest::CENTRE),
          "to: the period from `from` to `to` is longer than 366 days");
  refused(ReportOf(t, t + 1h, v1::ReportRequest::GROUP_BY_UNSPECIFIED), "by: is required");
  v1::ReportRequest unknown_by = ReportOf(t, t + 1h, v1::ReportRequest::CENTRE);
  unknown_by.set_by(static_cast<v1::ReportRequest::GroupBy>(42));
  refused(unknown_by, "by: is required");
  v1::ReportRequest bad_nanos = ReportOf(t, t + 1h, v1::ReportRequest::CENTRE);
  bad_nanos.mutable_from()->set_nanos(-1);
  refused(bad_nanos, "from: is not a valid timestamp");

  // 366 days exactly is allowed.
  CHECK(Report(f, ReportOf(t, t + 24h * 366, v1::ReportRequest::HOUR), report).ok());

  auto no_period = Period<v1::ExportDispositionsRequest>(t, t + 1h);
  no_period.clear_from();
  const grpc::Status s = Export(f, no_period, exported);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == "from: is required");
}

}  // namespace
}  // namespace hotline
