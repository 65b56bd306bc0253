// ReportThread: one report at a time, on its own thread, stopped cleanly. Jobs block on promises
// the test keeps, so every interleaving here is forced, never timed.
#include "daemon/report_thread.h"

#include <catch2/catch.hpp>
#include <future>
#include <memory>

#include "storage/store.h"
#include "tests/storage/storage_testing.h"

namespace hotline::daemon {
namespace {

using storage::testing::At;
using storage::testing::TempDb;

absl::Status ReadAll(
    storage::ReportReader& reader, const std::function<void()>& on_call = [] {}) {
  return reader.Read(
      At(-3'600'000), At(3'600'000),
      [&](const routing::CallRecord&) {
        on_call();
        return absl::OkStatus();
      },
      [](const routing::PresenceChange&) { return absl::OkStatus(); });
}

TEST_CASE("a report thread runs one report at a time", "[daemon][report]") {
  TempDb db;
  storage::testing::OpenOrFail(db.path());  // creates the schema
  ReportThread thread(db.path());
  REQUIRE(thread.TryClaim());
  std::promise<void> started;
  std::promise<void> release;
  std::promise<absl::Status> replied;
  bool free_at_reply = false;
  thread.Submit(
      [&](storage::ReportReader& reader) -> ReportThread::Reply {
        started.set_value();
        release.get_future().wait();
        const absl::Status read = ReadAll(reader);
        return [&, read] {
          // The place is free before the reply goes: the client's next report is welcome.
          free_at_reply = thread.TryClaim();
          replied.set_value(read);
        };
      },
      [&](const absl::Status& why) { replied.set_value(why); });
  started.get_future().wait();
  // While it runs, nobody else gets the place.
  CHECK_FALSE(thread.TryClaim());
  CHECK_FALSE(thread.TryClaim());
  release.set_value();
  CHECK(replied.get_future().get().ok());
  CHECK(free_at_reply);  // and the reply claimed it for the next one
  std::promise<bool> second;
  thread.Submit(
      [&](storage::ReportReader&) -> ReportThread::Reply {
        return [&] { second.set_value(true); };
      },
      [&](const absl::Status&) { second.set_value(false); });
  CHECK(second.get_future().get());
}

TEST_CASE("stopping a report thread interrupts the report running", "[daemon][report]") {
  TempDb db;
  {
    std::unique_ptr<storage::Store> store = storage::testing::OpenOrFail(db.path());
    REQUIRE_OK(store->RecordCall(storage::testing::AbandonedCall("a")));
    REQUIRE_OK(store->RecordCall(storage::testing::AbandonedCall("b")));
  }
  ReportThread thread(db.path());
  REQUIRE(thread.TryClaim());
  std::promise<absl::Status> replied;
  int calls = 0;
  thread.Submit(
      [&](storage::ReportReader& reader) -> ReportThread::Reply {
        const absl::Status read = ReadAll(reader, [&] {
          ++calls;
          thread.Stop();  // as the daemon's shutdown would, from another thread
        });
        return [&, read] { replied.set_value(read); };
      },
      [&](const absl::Status& why) { replied.set_value(why); });
  CHECK(replied.get_future().get().code() == absl::StatusCode::kCancelled);
  CHECK(calls == 1);
  thread.Stop();  // joins

  // Stopped: a report is refused at once, and the place is free again.
  REQUIRE(thread.TryClaim());
  absl::Status refused;
  thread.Submit(
      [](storage::ReportReader&) -> ReportThread::Reply {
        FAIL("a stopped thread ran a job");
        return [] {};
      },
      [&](const absl::Status& why) { refused = why; });
  CHECK(refused.code() == absl::StatusCode::kUnavailable);
  CHECK(refused.message() == "hotlined is shutting down");
  CHECK(thread.TryClaim());
}

TEST_CASE("a report thread refuses what it cannot open", "[daemon][report]") {
  TempDb missing;
  const std::string missing_path = missing.path();
  const std::string database = GENERATE_COPY(std::string(":memory:"), missing_path);
  ReportThread thread(database);
  REQUIRE(thread.TryClaim());
  std::promise<absl::Status> replied;
  bool free_at_refusal = false;
  thread.Submit(
      [&](storage::ReportReader&) -> ReportThread::Reply {
        return [&] { replied.set_value(absl::OkStatus()); };
      },
      [&](const absl::Status& why) {
        free_at_refusal = thread.TryClaim();
        replied.set_value(why);
      });
  const absl::Status why = replied.get_future().get();
  INFO(why.ToString());
  CHECK(why.code() == (database == ":memory:" ? absl::StatusCode::kFailedPrecondition
                                              : absl::StatusCode::kUnavailable));
  CHECK(free_at_refusal);
}

}  // namespace
}  // namespace hotline::daemon
