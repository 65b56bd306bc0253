// ReportThread: one report at a time, on its own thread, stopped cleanly. Jobs block on promises
// the test keeps, so every interleaving here is forced, never timed.
#include "daemon/report_thread.h"

#include <catch2/catch.hpp>
#include <future>
#include <memory>
#include <thread>

#include "storage/store.h"
#include "tests/storage/storage_testing.h"

namespace hotline::daemon {
namespace {

using storage::testing::At;
using storage::testing::TempDb;

// Spins (yielding) until `claim` succeeds; the place is freed right after a job returns.
void ClaimWhenFree(ReportThread& thread) {
  while (!thread.TryClaim()) {
    std::this_thread::yield();
  }
}

TEST_CASE("a report thread runs one report at a time", "[daemon][report]") {
  TempDb db;
  storage::testing::OpenOrFail(db.path());  // creates the schema
  ReportThread thread(db.path());
  REQUIRE(thread.TryClaim());
  std::promise<void> started;
  std::promise<void> release;
  std::promise<absl::Status> done;
  thread.Submit(
      [&](storage::ReportReader& reader) {
        started.set_value();
        release.get_future().wait();
        done.set_value(reader.Read(
            At(0), At(1), [](const routing::CallRecord&) { return absl::OkStatus(); },
            [](const routing::PresenceChange&) { return absl::OkStatus(); }));
      },
      [&](const absl::Status& why) { done.set_value(why); });
  started.get_future().wait();
  // While it runs, nobody else gets the place.
  CHECK_FALSE(thread.TryClaim());
  CHECK_FALSE(thread.TryClaim());
  release.set_value();
  CHECK(done.get_future().get().ok());
  ClaimWhenFree(thread);
  // The next one runs as well.
  std::promise<bool> second;
  thread.Submit([&](storage::ReportReader&) { second.set_value(true); },
                [&](const absl::Status&) { second.set_value(false); });
  CHECK(second.get_future().get());
}

TEST_CASE("stopping a report thread interrupts the report running", "[daemon][report]") {
  TempDb db;
  {
    std::unique_ptr<storage::Store> store = storage::testing::OpenOrFail(db.path());
    REQUIRE_OK(store->RecordCall(storage::testing::AbandonedCall("a")));
    routing::CallRecord b = storage::testing::AbandonedCall("b");
    REQUIRE_OK(store->RecordCall(b));
  }
  ReportThread thread(db.path());
  REQUIRE(thread.TryClaim());
  std::promise<absl::Status> done;
  int calls = 0;
  thread.Submit(
      [&](storage::ReportReader& reader) {
        done.set_value(reader.Read(
            At(-3'600'000), At(3'600'000),
            [&](const routing::CallRecord&) {
              ++calls;
              thread.Stop();  // as the daemon's shutdown would, from another thread
              return absl::OkStatus();
            },
            [](const routing::PresenceChange&) { return absl::OkStatus(); }));
      },
      [&](const absl::Status& why) { done.set_value(why); });
  const absl::Status status = done.get_future().get();
  CHECK(status.code() == absl::StatusCode::kCancelled);
  CHECK(calls == 1);
  thread.Stop();  // joins

  // Stopped: a report is refused at once, and the place is freed.
  REQUIRE(thread.TryClaim());
  absl::Status refused;
  thread.Submit([](storage::ReportReader&) { FAIL("a stopped thread ran a job"); },
                [&](const absl::Status& why) { refused = why; });
  CHECK(refused.code() == absl::StatusCode::kUnavailable);
  CHECK(refused.message() == "hotlined is shutting down");
  CHECK(thread.TryClaim());
}

TEST_CASE("a report thread refuses what it cannot open", "[daemon][report]") {
  SECTION("an in-memory database") {
    ReportThread thread(":memory:");
    REQUIRE(thread.TryClaim());
    std::promise<absl::Status> done;
    thread.Submit([&](storage::ReportReader&) { done.set_value(absl::OkStatus()); },
                  [&](const absl::Status& why) { done.set_value(why); });
    CHECK(done.get_future().get().code() == absl::StatusCode::kFailedPrecondition);
  }
  SECTION("a missing file") {
    TempDb missing;
    ReportThread thread(missing.path());
    REQUIRE(thread.TryClaim());
    std::promise<absl::Status> done;
    thread.Submit([&](storage::ReportReader&) { done.set_value(absl::OkStatus()); },
                  [&](const absl::Status& why) { done.set_value(why); });
    CHECK(done.get_future().get().code() == absl::StatusCode::kUnavailable);
    ClaimWhenFree(thread);  // a refusal frees the place too
  }
}

}  // namespace
}  // namespace hotline::daemon
