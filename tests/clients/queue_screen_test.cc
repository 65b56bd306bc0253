#include "clients/ctl/queue_screen.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/clients/queue_builders.h"

namespace hotline::clients {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the builders read as prose.
using google::protobuf::util::TimeUtil;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The line holding `text`, or "" when none does.
std::string LineWith(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& line : lines) {
    if (line.find(text) != std::string::npos) {
      return line;
    }
  }
  return "";
}

// The index of the first line holding `text`, or -1.
int IndexOf(const std::vector<std::string>& lines, const std::string& text) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find(text) != std::string::npos) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool Contains(const std::string& line, const std::string& text) {
  return line.find(text) != std::string::npos;
}

// The first of `texts` that `line` does not hold, or "" when it holds them all: a failed CHECK
// shows which.
std::string MissingFrom(const std::string& line, const std::vector<std::string>& texts) {
  for (const std::string& text : texts) {
    if (!Contains(line, text)) {
      return text;
    }
  }
  return "";
}

TEST_CASE("an emergency call is listed first and marked, the others unmarked", "[clients]") {
  QueueModel model;
  REQUIRE(model
              .Apply(View("e1", 1, 0,
                          {Call("sim-1-call-1", v1::PRIORITY_NORMAL, 1),
                           Call("sim-1-call-2", v1::PRIORITY_EMERGENCY, 2)}))
              .ok());

  const std::vector<std::string> lines = QueueScreen(model, milliseconds(0));

  const int emergency = IndexOf(lines, "sim-1-call-2");
  const int normal = IndexOf(lines, "sim-1-call-1");
  REQUIRE(emergency >= 0);
  REQUIRE(normal >= 0);
  CHECK(emergency < normal);
  CHECK(lines[emergency].starts_with(kEmergencyMark));
  CHECK(Contains(lines[emergency], "EMERGENCY"));
  CHECK_FALSE(lines[normal].starts_with(kEmergencyMark));
  CHECK(Contains(lines[normal], "normal"));
}

TEST_CASE("a waiting call's row shows its wait, topic, language, province, step and masked number",
          "[clients]") {
  QueueModel model;
  v1::CallStatus call = Call("c-1", v1::PRIORITY_HIGH, 1, v1::CALL_STATE_WAITING, -65);
  call.set_ladder_step(2);
  REQUIRE(model.Apply(View("e1", 1, 0, {call})).ok());

  const std::string row = LineWith(QueueScreen(model, milliseconds(0)), "c-1");

  CHECK(MissingFrom(
            row, {"1m05s", "high", "counselling", " vi ", " 38 ", " 2 ", "**********78", "waiting"})
            .empty());
}

TEST_CASE("waits on the screen tick with the local time elapsed since the update", "[clients]") {
  QueueModel model;
  REQUIRE(model
              .Apply(View("e1", 1, 0,
                          {Call("c-1", v1::PRIORITY_NORMAL, 1, v1::CALL_STATE_WAITING, -10)}))
              .ok());

  CHECK(Contains(LineWith(QueueScreen(model, milliseconds(0)), "c-1"), "10s"));
  CHECK(Contains(LineWith(QueueScreen(model, seconds(5)), "c-1"), "15s"));
}

TEST_CASE("a ringing call names the counsellor it rings for", "[clients]") {
  QueueModel model;
  v1::CallStatus call = Call("c-1", v1::PRIORITY_NORMAL, 1, v1::CALL_STATE_OFFERED);
  call.set_counsellor_id("lan");
  REQUIRE(model.Apply(View("e1", 1, 0, {call})).ok());

  CHECK(Contains(LineWith(QueueScreen(model, milliseconds(0)), "c-1"), "ringing lan"));
}

TEST_CASE("a connected call is listed with its counsellor and time on the call", "[clients]") {
  QueueModel model;
  v1::CallStatus call = Call("c-9", v1::PRIORITY_NORMAL, 1, v1::CALL_STATE_CONNECTED, -100);
  call.set_counsellor_id("lan");
  REQUIRE(model
              .Apply(View("e1", 1, 0, {call},
                          {Counsellor("lan", v1::COUNSELLOR_STATE_ON_CALL, -42, "c-9")}))
              .ok());

  const std::vector<std::string> lines = QueueScreen(model, milliseconds(0));
  const int in_progress = IndexOf(lines, "CALLS IN PROGRESS");
  const int row = IndexOf(lines, "c-9 ");
  REQUIRE(in_progress >= 0);
  CHECK(row > in_progress);
  CHECK(MissingFrom(lines[row], {"connected", "lan", "42s"}).empty());
}

TEST_CASE("the counsellor board shows state, time in state, call, break reason and desk",
          "[clients]") {
  QueueModel model;
  v1::CounsellorStatus on_break = Counsellor("minh", v1::COUNSELLOR_STATE_BREAK, -125);
  on_break.set_break_reason(v1::BREAK_REASON_SUPERVISOR);
  on_break.set_desk_connected(false);
  REQUIRE(model
              .Apply(View("e1", 1, 0, {},
                          {Counsellor("lan", v1::COUNSELLOR_STATE_WRAP_UP, -7, "c-3"), on_break}))
              .ok());

  const std::vector<std::string> lines = QueueScreen(model, milliseconds(0));
  CHECK(MissingFrom(LineWith(lines, "Counsellor lan"), {"wrap_up", "7s", "c-3", "open"}).empty());
  CHECK(MissingFrom(LineWith(lines, "Counsellor minh"), {"break", "2m05s", "supervisor", "closed"})
            .empty());
}

TEST_CASE("the headline counts every waiting call and says how many are not listed", "[clients]") {
  QueueModel model;
  v1::QueueUpdate view = View("e1", 1, 0, {Call("c-1", v1::PRIORITY_NORMAL, 1)});
  v1::QueueSummary& summary = *view.mutable_view()->mutable_summary();
  summary.set_waiting_total(150);
  summary.set_waiting_not_listed(149);
  summary.set_available_counsellors(3);
  *summary.mutable_longest_wait() = TimeUtil::SecondsToDuration(75);
  REQUIRE(model.Apply(view).ok());

  const std::vector<std::string> lines = QueueScreen(model, milliseconds(0));
  CHECK(MissingFrom(lines.at(0), {"waiting 150 (149 not listed)", "longest wait 1m15s",
                                  "available counsellors 3"})
            .empty());
  CHECK_FALSE(LineWith(lines, "149 more waiting").empty());
}

TEST_CASE("a call listed before the summary counts it is counted in the headline", "[clients]") {
  QueueModel model;
  v1::QueueUpdate view =
      View("e1", 1, 0, {Call("c-1", v1::PRIORITY_NORMAL, 1, v1::CALL_STATE_WAITING, -4)});
  view.mutable_view()->mutable_summary()->set_waiting_total(0);  // Built before c-1 arrived.
  REQUIRE(model.Apply(view).ok());

  CHECK(MissingFrom(QueueScreen(model, milliseconds(0)).at(0), {"waiting 1", "longest wait 4s"})
            .empty());
}

TEST_CASE("alerts and the figures of the last 15 minutes and today are shown when sent",
          "[clients]") {
  QueueModel model;
  v1::QueueUpdate view = View("e1", 1, 0, {});
  v1::QueueSummary& summary = *view.mutable_view()->mutable_summary();
  v1::Alert& alert = *summary.add_alerts();
  alert.set_kind(v1::Alert::EMERGENCY_WAITING);
  alert.set_call_id("c-17");
  alert.set_message("emergency call c-17 has waited 14 s");
  v1::Figures& recent = *summary.mutable_figures()->mutable_last_15_minutes();
  recent.set_offered(10);
  recent.set_answered(8);
  recent.set_answered_in_target(7);
  recent.set_service_level(0.875);
  *recent.mutable_average_speed_of_answer() = TimeUtil::SecondsToDuration(12);
  summary.mutable_figures()->mutable_today()->set_offered(120);
  REQUIRE(model.Apply(view).ok());

  const std::vector<std::string> lines = QueueScreen(model, milliseconds(0));
  CHECK(IndexOf(lines, "ALERT: emergency call c-17 has waited 14 s") == 1);
  const std::string last_15 = LineWith(lines, "last 15 minutes:");
  CHECK(MissingFrom(last_15, {"10 offered, 8 answered (7 in target)", "service level 88%",
                              "average answer 12s"})
            .empty());
  CHECK_FALSE(Contains(last_15, "abandonment"));  // Absent: not computed, not 0 %.
  CHECK(Contains(LineWith(lines, "today:"), "120 offered"));
}

TEST_CASE("without figures from the daemon no figures line is drawn", "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("", 1, 0, {})).ok());

  const std::vector<std::string> lines = QueueScreen(model, milliseconds(0));
  CHECK(LineWith(lines, "last 15 minutes").empty());
  CHECK(LineWith(lines, "today").empty());
  CHECK(LineWith(lines, "ALERT").empty());
}

}  // namespace
}  // namespace hotline::clients
