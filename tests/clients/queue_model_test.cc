#include "clients/common/queue_model.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "tests/clients/queue_builders.h"

namespace hotline::clients {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the builders read as prose.
using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<std::string> Ids(const std::vector<const v1::CallStatus*>& calls) {
  std::vector<std::string> ids;
  ids.reserve(calls.size());
  for (const v1::CallStatus* call : calls) {
    ids.push_back(call->summary().call_id());
  }
  return ids;
}

std::vector<std::string> Ids(const std::vector<const v1::CounsellorStatus*>& counsellors) {
  std::vector<std::string> ids;
  ids.reserve(counsellors.size());
  for (const v1::CounsellorStatus* counsellor : counsellors) {
    ids.push_back(counsellor->counsellor_id());
  }
  return ids;
}

TEST_CASE("a full view replaces everything the watcher held", "[clients]") {
  QueueModel model;
  REQUIRE(model
              .Apply(View("e1", 1, 0, {Call("a", v1::PRIORITY_NORMAL, 1)},
                          {Counsellor("lan", v1::COUNSELLOR_STATE_AVAILABLE)}))
              .ok());
  REQUIRE(model
              .Apply(View("e1", 2, 1, {Call("b", v1::PRIORITY_LOW, 2)},
                          {Counsellor("minh", v1::COUNSELLOR_STATE_BREAK)}))
              .ok());

  CHECK(Ids(model.WaitingCalls()) == std::vector<std::string>{"b"});
  CHECK(Ids(model.Counsellors()) == std::vector<std::string>{"minh"});
  CHECK(model.summary().waiting_total() == 1);
}

TEST_CASE("a change adds, replaces and removes calls and counsellors by id", "[clients]") {
  QueueModel model;
  REQUIRE(model
              .Apply(View("e1", 1, 0,
                          {Call("a", v1::PRIORITY_NORMAL, 1), Call("b", v1::PRIORITY_NORMAL, 2)},
                          {Counsellor("lan", v1::COUNSELLOR_STATE_AVAILABLE),
                           Counsellor("minh", v1::COUNSELLOR_STATE_AVAILABLE)}))
              .ok());

  v1::QueueUpdate update = Change("e1", 2, 1);
  v1::QueueChange& change = *update.mutable_change();
  *change.add_calls() = Call("a", v1::PRIORITY_NORMAL, 1, v1::CALL_STATE_CONNECTED);
  change.mutable_calls(0)->set_counsellor_id("lan");
  *change.add_calls() = Call("c", v1::PRIORITY_HIGH, 3);
  change.add_removed_calls("b");
  *change.add_counsellors() = Counsellor("lan", v1::COUNSELLOR_STATE_ON_CALL, 1, "a");
  change.add_removed_counsellors("minh");
  REQUIRE(model.Apply(update).ok());

  CHECK(Ids(model.WaitingCalls()) == std::vector<std::string>{"c"});
  CHECK(Ids(model.HeldCalls()) == std::vector<std::string>{"a"});
  CHECK(Ids(model.Counsellors()) == std::vector<std::string>{"lan"});
  REQUIRE(model.FindCounsellor("lan") != nullptr);
  CHECK(model.FindCounsellor("lan")->call_id() == "a");
  CHECK(model.FindCounsellor("minh") == nullptr);
}

TEST_CASE("a change replaces the summary only when it carries one", "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("e1", 1, 0, {Call("a", v1::PRIORITY_NORMAL, 1)})).ok());
  REQUIRE(model.summary().waiting_total() == 1);

  v1::QueueUpdate without = Change("e1", 2, 1);
  *without.mutable_change()->add_calls() = Call("b", v1::PRIORITY_NORMAL, 2);
  REQUIRE(model.Apply(without).ok());
  CHECK(model.summary().waiting_total() == 1);

  v1::QueueUpdate with = Change("e1", 3, 2);
  with.mutable_change()->mutable_summary()->set_waiting_total(2);
  with.mutable_change()->mutable_summary()->set_available_counsellors(4);
  REQUIRE(model.Apply(with).ok());
  CHECK(model.summary().waiting_total() == 2);
  CHECK(model.summary().available_counsellors() == 4);
}

TEST_CASE("waiting calls come by priority with emergencies first, then by admission", "[clients]") {
  QueueModel model;
  REQUIRE(model
              .Apply(View(
                  "e1", 1, 0,
                  {Call("low", v1::PRIORITY_LOW, 1), Call("normal-late", v1::PRIORITY_NORMAL, 7),
                   Call("emergency", v1::PRIORITY_EMERGENCY, 9),
                   Call("normal-early", v1::PRIORITY_NORMAL, 2, v1::CALL_STATE_OFFERED),
                   Call("high", v1::PRIORITY_HIGH, 8),
                   Call("talking", v1::PRIORITY_EMERGENCY, 0, v1::CALL_STATE_CONNECTED)}))
              .ok());

  CHECK(Ids(model.WaitingCalls()) ==
        std::vector<std::string>{"emergency", "high", "normal-early", "normal-late", "low"});
}

TEST_CASE("a raised priority moves a waiting call ahead at the next change", "[clients]") {
  QueueModel model;
  REQUIRE(model
              .Apply(View(
                  "e1", 1, 0,
                  {Call("first", v1::PRIORITY_NORMAL, 1), Call("second", v1::PRIORITY_NORMAL, 2)}))
              .ok());
  v1::QueueUpdate update = Change("e1", 2, 1);
  *update.mutable_change()->add_calls() = Call("second", v1::PRIORITY_HIGH, 2);
  REQUIRE(model.Apply(update).ok());

  CHECK(Ids(model.WaitingCalls()) == std::vector<std::string>{"second", "first"});
}

TEST_CASE("held calls are the connecting and connected ones, by counsellor", "[clients]") {
  QueueModel model;
  v1::CallStatus to_minh = Call("x", v1::PRIORITY_NORMAL, 1, v1::CALL_STATE_CONNECTED);
  to_minh.set_counsellor_id("minh");
  v1::CallStatus to_lan = Call("y", v1::PRIORITY_NORMAL, 2, v1::CALL_STATE_CONNECTING);
  to_lan.set_counsellor_id("lan");
  REQUIRE(model
              .Apply(View("e1", 1, 0,
                          {to_minh, to_lan, Call("z", v1::PRIORITY_NORMAL, 3),
                           Call("ended", v1::PRIORITY_NORMAL, 4, v1::CALL_STATE_ENDED)}))
              .ok());

  CHECK(Ids(model.HeldCalls()) == std::vector<std::string>{"y", "x"});
}

TEST_CASE("a change that skips a sequence number is refused and leaves the model as it was",
          "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("e1", 5, 0, {Call("a", v1::PRIORITY_NORMAL, 1)})).ok());

  v1::QueueUpdate skipping = Change("e1", 7, 1);
  skipping.mutable_change()->add_removed_calls("a");
  const absl::Status status = model.Apply(skipping);

  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Ids(model.WaitingCalls()) == std::vector<std::string>{"a"});
  CHECK(model.epoch() == "e1");
  CHECK(model.sequence() == 5);
}

TEST_CASE("a repeated change is refused", "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("e1", 1, 0, {})).ok());
  v1::QueueUpdate change = Change("e1", 2, 1);
  *change.mutable_change()->add_calls() = Call("a", v1::PRIORITY_NORMAL, 1);
  REQUIRE(model.Apply(change).ok());

  CHECK(model.Apply(change).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(model.sequence() == 2);
}

TEST_CASE("a change from another epoch is refused", "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("e1", 1, 0, {Call("a", v1::PRIORITY_NORMAL, 1)})).ok());

  v1::QueueUpdate other = Change("e2", 2, 1);
  other.mutable_change()->add_removed_calls("a");

  CHECK(model.Apply(other).code() == absl::StatusCode::kFailedPrecondition);
  CHECK(Ids(model.WaitingCalls()) == std::vector<std::string>{"a"});
  CHECK(model.epoch() == "e1");
}

TEST_CASE("a change before any view is refused", "[clients]") {
  QueueModel model;
  CHECK(model.Apply(Change("", 1, 0)).code() == absl::StatusCode::kFailedPrecondition);
  CHECK_FALSE(model.has_view());
  CHECK(model.epoch().empty());
  CHECK(model.sequence() == 0);
}

TEST_CASE("an update with neither a view nor a change is refused", "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("e1", 1, 0, {})).ok());
  v1::QueueUpdate empty;
  empty.set_epoch("e1");
  empty.set_sequence(2);

  CHECK(model.Apply(empty).code() == absl::StatusCode::kInvalidArgument);
  CHECK(model.sequence() == 1);
}

TEST_CASE("a view is taken whatever its epoch and sequence, as after a daemon restart",
          "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("e1", 40, 0, {Call("a", v1::PRIORITY_NORMAL, 1)})).ok());
  REQUIRE(model.Apply(View("e2", 1, 5, {Call("b", v1::PRIORITY_NORMAL, 1)})).ok());

  CHECK(model.epoch() == "e2");
  CHECK(model.sequence() == 1);
  CHECK(Ids(model.WaitingCalls()) == std::vector<std::string>{"b"});

  // The next change follows the new view.
  REQUIRE(model.Apply(Change("e2", 2, 6)).ok());
  CHECK(model.sequence() == 2);
}

TEST_CASE("views without an epoch, as today's daemon sends them, are each applied", "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("", 1, 0, {Call("a", v1::PRIORITY_NORMAL, 1)})).ok());
  REQUIRE(model.Apply(View("", 2, 1, {})).ok());

  CHECK(model.WaitingCalls().empty());
  CHECK(model.epoch().empty());
  CHECK(model.sequence() == 2);
}

TEST_CASE("the epoch and sequence of the last update applied are kept for resuming", "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("boot-7", 10, 0, {})).ok());
  REQUIRE(model.Apply(Change("boot-7", 11, 1)).ok());
  REQUIRE(model.Apply(Change("boot-7", 12, 2)).ok());

  CHECK(model.epoch() == "boot-7");
  CHECK(model.sequence() == 12);
  CHECK(model.at().seconds() == kBaseSeconds + 2);
}

TEST_CASE("a waiting call's wait ticks from its arrival by the update's time plus local time",
          "[clients]") {
  QueueModel model;
  v1::CallStatus call = Call("a", v1::PRIORITY_NORMAL, 1, v1::CALL_STATE_WAITING,
                             /*arrived_second=*/-30);
  *call.mutable_waited() = google::protobuf::util::TimeUtil::SecondsToDuration(29);
  REQUIRE(model.Apply(View("e1", 1, 0, {call})).ok());

  const v1::CallStatus& listed = *model.WaitingCalls().at(0);
  CHECK(model.Waited(listed, milliseconds(0)) == seconds(30));
  CHECK(model.Waited(listed, milliseconds(2'500)) == milliseconds(32'500));

  // A later update moves the reference time on; its own `at` counts, not the local clock's.
  REQUIRE(model.Apply(Change("e1", 2, 10)).ok());
  CHECK(model.Waited(*model.WaitingCalls().at(0), milliseconds(0)) == seconds(40));
}

TEST_CASE("a connected call shows the wait it had, without ticking", "[clients]") {
  QueueModel model;
  v1::CallStatus call = Call("a", v1::PRIORITY_NORMAL, 1, v1::CALL_STATE_CONNECTED, -300);
  *call.mutable_waited() = google::protobuf::util::TimeUtil::SecondsToDuration(12);
  REQUIRE(model.Apply(View("e1", 1, 0, {call})).ok());

  CHECK(model.Waited(*model.HeldCalls().at(0), seconds(5)) == seconds(12));
}

TEST_CASE("the longest wait ticks from the update that brought the summary", "[clients]") {
  QueueModel model;
  v1::QueueUpdate view = View("e1", 1, 0, {Call("a", v1::PRIORITY_NORMAL, 1)});
  *view.mutable_view()->mutable_summary()->mutable_longest_wait() =
      google::protobuf::util::TimeUtil::SecondsToDuration(20);
  REQUIRE(model.Apply(view).ok());
  // A change without a summary: the summary is older than this update by 3 s.
  REQUIRE(model.Apply(Change("e1", 2, 3)).ok());

  CHECK(model.LongestWait(milliseconds(0)) == seconds(23));
  CHECK(model.LongestWait(seconds(1)) == seconds(24));
}

TEST_CASE("a time after the update's own time counts as no time at all", "[clients]") {
  QueueModel model;
  REQUIRE(model.Apply(View("e1", 1, 0, {})).ok());

  CHECK(model.Age(At(5), milliseconds(0)) == milliseconds(0));
  CHECK(model.Age(google::protobuf::Timestamp(), seconds(3)) == milliseconds(0));
}

}  // namespace
}  // namespace hotline::clients
