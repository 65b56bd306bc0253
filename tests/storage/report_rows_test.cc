// storage::ReportReader against real SQLite files written by a Store: which calls and presence
// rows a period reads, in what order, and its errors.
#include "storage/report_rows.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "storage/migrations.h"
#include "storage/store.h"
#include "tests/storage/storage_testing.h"

namespace hotline::storage {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the helpers of this directory.
using routing::CounsellorState;
using routing::PresenceChange;

const Timestamp kFrom = At(0);
const Timestamp kTo = At(3'600'000);

std::unique_ptr<ReportReader> OpenReaderOrFail(const std::string& path) {
  absl::StatusOr<std::unique_ptr<ReportReader>> reader = ReportReader::Open(path);
  INFO(reader.status().ToString());
  REQUIRE(reader.ok());
  return *std::move(reader);
}

struct Rows {
  std::map<std::string, CallRecord> calls;
  std::vector<PresenceChange> presence;
};

Rows ReadOrFail(ReportReader& reader, Timestamp from = kFrom, Timestamp to = kTo) {
  Rows rows;
  REQUIRE_OK(reader.Read(
      from, to,
      [&](const CallRecord& call) {
        rows.calls[call.call.call_id] = call;
        return absl::OkStatus();
      },
      [&](const PresenceChange& change) {
        rows.presence.push_back(change);
        return absl::OkStatus();
      }));
  return rows;
}

// An answered call: answered `answered` ms after T0, ended 60 s later, wrap-up done `wrap_up`
// ms after T0 (none when negative).
CallRecord Answered(const std::string& id, int64_t answered, int64_t wrap_up) {
  CallRecord r = CompletedCall(id);
  r.call.arrived_at = At(answered - 10'000);
  r.first_offered_at = r.accepted_at = At(answered - 5'000);
  r.answered_at = At(answered);
  r.ended_at = At(answered + 60'000);
  r.wrap_up_done_at = wrap_up < 0 ? std::nullopt : std::optional<Timestamp>(At(wrap_up));
  return r;
}

CallRecord Unanswered(const std::string& id, int64_t ended) {
  CallRecord r = AbandonedCall(id);
  r.call.arrived_at = At(ended - 20'000);
  r.first_offered_at = At(ended - 10'000);
  r.ended_at = At(ended);
  return r;
}

TEST_CASE("a report reads the calls decided or handled in the period and no other",
          "[storage][report]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const int64_t hour = 3'600'000;
  for (const CallRecord& r : {
           Answered("decided-at-from", 0, 100'000),
           Answered("decided-just-before-to", hour - 1, hour + 100'000),
           Answered("decided-at-to", hour, hour + 100'000),
           Unanswered("ended-just-before-from", -1),
           Unanswered("ended-at-from", 0),
           Unanswered("ended-at-to", hour),
           Answered("handled-at-from", -200'000, 0),
           Answered("handled-just-before-from", -200'000, -1),
           Answered("handled-at-to", -200'000, hour),
           Answered("handled-without-wrap-up", -30'000, -1),  // ended at +30 s: handled then
           Answered("across-the-period", -200'000, hour + 1),
       }) {
    REQUIRE_OK(store->RecordCall(r));
  }
  std::unique_ptr<ReportReader> reader = OpenReaderOrFail(db.path());
  const Rows rows = ReadOrFail(*reader);
  std::vector<std::string> ids;
  for (const auto& [id, call] : rows.calls) {
    ids.push_back(id);
  }
  CHECK(ids == std::vector<std::string>{"decided-at-from", "decided-just-before-to",
                                        "ended-at-from", "handled-at-from",
                                        "handled-without-wrap-up"});

  // What a report needs is filled; the caller's key, number and the note never are.
  const CallRecord& got = rows.calls.at("decided-at-from");
  const CallRecord want = Answered("decided-at-from", 0, 100'000);
  CHECK(got.call.province == want.call.province);
  CHECK(got.call.topic == want.call.topic);
  CHECK(got.call.priority == want.call.priority);
  CHECK(got.counsellor_id == want.counsellor_id);
  CHECK(got.outcome == want.outcome);
  CHECK(ToUnixMillis(got.call.arrived_at) == ToUnixMillis(want.call.arrived_at));
  CHECK(Millis(got.answered_at) == Millis(want.answered_at));
  CHECK(ToUnixMillis(got.ended_at) == ToUnixMillis(want.ended_at));
  CHECK(Millis(got.wrap_up_done_at) == Millis(want.wrap_up_done_at));
  REQUIRE(got.disposition.has_value());
  CHECK(got.disposition->category == "sexual_abuse");
  CHECK(got.disposition->action == "referred_child_protection");
  CHECK(got.disposition->flags == std::vector<std::string>{"repeat", "silent"});
  CHECK(got.disposition->note.empty());
  CHECK(got.call.caller_key.empty());
  CHECK(got.call.caller_masked.empty());
  CHECK_FALSE(rows.calls.at("ended-at-from").disposition.has_value());
  CHECK(rows.calls.at("ended-at-from").counsellor_id.empty());
}

TEST_CASE("a report reads each counsellor's state at the start and their changes in the period",
          "[storage][report]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const auto change = [&](const std::string& id, CounsellorState state, int64_t at) {
    PresenceChange p;
    p.counsellor_id = id;
    p.state = state;
    p.at = At(at);
    REQUIRE_OK(store->RecordPresence(p));
  };
  // Written out of order: the reader orders them.
  change("minh", CounsellorState::kAvailable, 10);
  change("lan", CounsellorState::kAvailable, -50'000);
  change("lan", CounsellorState::kBreak, -20'000);  // lan's state at the start
  change("lan", CounsellorState::kAvailable, 0);
  change("lan", CounsellorState::kReserved, 500);
  change("lan", CounsellorState::kOnCall, 500);           // same time: insertion order
  change("lan", CounsellorState::kOffline, 3'600'000);    // at `to`: not read
  change("hoa", CounsellorState::kAvailable, 3'600'001);  // only after the period
  change("an", CounsellorState::kOffline, -1);
  std::unique_ptr<ReportReader> reader = OpenReaderOrFail(db.path());
  const Rows rows = ReadOrFail(*reader);
  std::vector<std::string> got;
  for (const PresenceChange& p : rows.presence) {
    got.push_back(p.counsellor_id + " " + std::string(routing::Name(p.state)) + " " +
                  std::to_string(ToUnixMillis(p.at) - ToUnixMillis(kT0)));
  }
  CHECK(got == std::vector<std::string>{"an offline -1", "lan break -20000", "lan available 0",
                                        "lan reserved 500", "lan on_call 500",
                                        "minh available 10"});
}

TEST_CASE("a report reads while the store writes, one consistent state", "[storage][report]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  REQUIRE_OK(store->RecordCall(Unanswered("first", 1'000)));
  std::unique_ptr<ReportReader> reader = OpenReaderOrFail(db.path());
  int seen = 0;
  const absl::Status read = reader->Read(
      kFrom, kTo,
      [&](const CallRecord&) {
        // A commit in the middle of the read is not seen by it.
        REQUIRE_OK(store->RecordCall(Unanswered("second", 2'000)));
        ++seen;
        return absl::OkStatus();
      },
      [](const PresenceChange&) { return absl::OkStatus(); });
  REQUIRE_OK(read);
  CHECK(seen == 1);
  CHECK(ReadOrFail(*reader).calls.size() == 2);  // the next read sees it
}

// A database with two calls in the period, and a reader over it.
std::unique_ptr<ReportReader> ReaderOverTwoCalls(const TempDb& db) {
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  REQUIRE_OK(store->RecordCall(Unanswered("a", 1'000)));
  REQUIRE_OK(store->RecordCall(Unanswered("b", 2'000)));
  return OpenReaderOrFail(db.path());
}

// Reads the period's calls with `on_call`, presence ignored.
absl::Status ReadCalls(ReportReader& reader, const ReportReader::CallFn& on_call) {
  return reader.Read(kFrom, kTo, on_call, [](const PresenceChange&) { return absl::OkStatus(); });
}

TEST_CASE("a report stops at a callback's error and returns it", "[storage][report]") {
  TempDb db;
  std::unique_ptr<ReportReader> reader = ReaderOverTwoCalls(db);
  int calls = 0;
  const absl::Status status = ReadCalls(*reader, [&](const CallRecord&) {
    ++calls;
    return absl::ResourceExhaustedError("too many");
  });
  CHECK(calls == 1);
  CHECK(status == absl::ResourceExhaustedError("too many"));
}

TEST_CASE("an interrupted report stops with CANCELLED", "[storage][report]") {
  TempDb db;
  std::unique_ptr<ReportReader> reader = ReaderOverTwoCalls(db);
  int calls = 0;
  const absl::Status status = ReadCalls(*reader, [&](const CallRecord&) {
    ++calls;
    reader->Interrupt();  // as another thread would
    return absl::OkStatus();
  });
  CHECK(calls == 1);
  CHECK(status.code() == absl::StatusCode::kCancelled);
  // Interrupted for good: the next read stops too.
  CHECK(ReadCalls(*reader, [](const CallRecord&) { return absl::OkStatus(); }).code() ==
        absl::StatusCode::kCancelled);
}

TEST_CASE("a report cannot open a missing file, a non-database or an old schema",
          "[storage][report]") {
  TempDb missing;
  absl::StatusOr<std::unique_ptr<ReportReader>> none = ReportReader::Open(missing.path());
  CHECK(none.status().code() == absl::StatusCode::kUnavailable);
  CHECK_FALSE(std::filesystem::exists(missing.path()));  // nothing created

  TempDb text;
  std::ofstream(text.path()) << "not a database, but long enough to have a header page......\n";
  CHECK(ReportReader::Open(text.path()).status().code() == absl::StatusCode::kFailedPrecondition);

  TempDb old;
  CreateAtVersion(old.path(), 3);
  const absl::StatusOr<std::unique_ptr<ReportReader>> three = ReportReader::Open(old.path());
  CHECK(three.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(three.status().message()).find("schema version 3") != std::string::npos);
}

TEST_CASE("migration 5 upgrades a version-4 database with calls and reports read them",
          "[storage][report]") {
  TempDb db;
  CreateWithAbandonedCall(db.path(), 4);
  // A version-4 database is readable already (the indexes only make it quick).
  CHECK(ReadOrFail(*OpenReaderOrFail(db.path())).calls.size() == 1);

  std::unique_ptr<Store> store = OpenOrFail(db.path());
  CHECK(store->schema_version() == static_cast<int>(Migrations().size()));
  {
    SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
    SQLite::Statement plan(raw, R"sql(EXPLAIN QUERY PLAN SELECT call_id FROM calls
WHERE (COALESCE(answered_at, ended_at) >= 1 AND COALESCE(answered_at, ended_at) < 2)
   OR (COALESCE(wrap_up_done_at, ended_at) >= 1 AND COALESCE(wrap_up_done_at, ended_at) < 2))sql");
    std::string details;
    while (plan.executeStep()) {
      details += plan.getColumn(3).getString() + "\n";
    }
    INFO(details);
    CHECK(details.find("USING INDEX calls_by_decision") != std::string::npos);
    CHECK(details.find("USING INDEX calls_by_handling_end") != std::string::npos);
  }
  const Rows rows = ReadOrFail(*OpenReaderOrFail(db.path()));
  REQUIRE(rows.calls.count("call-2") == 1);
  CHECK(ToUnixMillis(rows.calls.at("call-2").ended_at) == 1'760'000'012'000);
}

}  // namespace
}  // namespace hotline::storage
