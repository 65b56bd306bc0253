// Tests of Store::Commit, the one transaction per group commit, and of what reads it back: the
// journal, the snapshot, the request results.
#include "storage/batch.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "routing/types.h"
#include "storage/store.h"
#include "tests/storage/storage_testing.h"

namespace hotline::storage {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the helpers of this directory.
using routing::BreakReason;
using routing::CounsellorState;
using routing::PresenceChange;

// A journal record of about the size the daemon writes, with bytes text would not survive.
JournalEntry Entry(int64_t seq) {
  std::string record = "input-" + std::to_string(seq);
  record += std::string("\0\x01\xff", 3);
  record.resize(200, 'x');
  return JournalEntry{seq, 1'760'000'000'000 + seq, record};
}

std::vector<JournalEntry> Entries(int64_t first, int64_t last) {
  std::vector<JournalEntry> entries;
  for (int64_t seq = first; seq <= last; ++seq) {
    entries.push_back(Entry(seq));
  }
  return entries;
}

RequestResult Result(const std::string& request_id, int64_t at_ms, int code = 0) {
  return RequestResult{"gateway:gw-hanoi-1",
                       request_id,
                       at_ms,
                       code,
                       code == 0 ? "" : "call 'call-9' is not waiting",
                       code == 0 ? std::string("\x08\x01\x00", 3) : ""};
}

OfferRow Offer(const std::string& call_id, const std::string& counsellor_id, int64_t at_ms,
               int step) {
  return OfferRow{call_id,
                  counsellor_id,
                  at_ms,
                  step,
                  step == 0 ? "province" : "national",
                  4 - step,
                  "longest idle (" + std::to_string(at_ms / 1000) + " s)",
                  "",
                  0};
}

std::vector<OfferRow> OffersOf(Store& store, const std::string& call_id) {
  absl::StatusOr<std::vector<OfferRow>> offers = store.ListOffers(call_id);
  INFO(offers.status().ToString());
  REQUIRE(offers.ok());
  return *std::move(offers);
}

OfferRow Ended(OfferRow offer, const std::string& result, int64_t ended_at_ms) {
  offer.result = result;
  offer.ended_at_ms = ended_at_ms;
  return offer;
}

std::vector<JournalEntry> ReadAll(Store& store, int64_t after_seq = 0) {
  std::vector<JournalEntry> entries;
  REQUIRE_OK(store.ReadJournal(after_seq, [&](const JournalEntry& entry) {
    entries.push_back(entry);
    return absl::OkStatus();
  }));
  return entries;
}

int64_t LastSeq(Store& store) {
  absl::StatusOr<int64_t> last = store.LastJournalSeq();
  INFO(last.status().ToString());
  REQUIRE(last.ok());
  return *last;
}

std::optional<Snapshot> SnapshotOf(Store& store) {
  absl::StatusOr<std::optional<Snapshot>> snapshot = store.LoadSnapshot();
  INFO(snapshot.status().ToString());
  REQUIRE(snapshot.ok());
  return *snapshot;
}

std::vector<RequestResult> ResultsSince(Store& store, int64_t since_ms) {
  absl::StatusOr<std::vector<RequestResult>> results = store.LoadRequestResults(since_ms);
  INFO(results.status().ToString());
  REQUIRE(results.ok());
  return *std::move(results);
}

// Every row of every table, read through a second connection, to show a failed batch changed
// nothing anywhere.
std::map<std::string, std::vector<std::string>> Dump(const std::string& path) {
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  std::map<std::string, std::vector<std::string>> tables;
  for (const char* table :
       {"journal", "snapshots", "request_results", "calls", "presence", "counsellors", "offers"}) {
    SQLite::Statement rows(raw, std::string("SELECT * FROM ") + table + " ORDER BY rowid");
    std::vector<std::string>& dump = tables[table];
    while (rows.executeStep()) {
      std::string row;
      for (int i = 0; i < rows.getColumnCount(); ++i) {
        const SQLite::Column column = rows.getColumn(i);
        row += column.isNull() ? "NULL" : column.getString();
        row += '|';
      }
      dump.push_back(row);
    }
  }
  return tables;
}

TEST_CASE("a batch writes journal, calls, presence, results and counsellor ops together",
          "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const StoredCounsellor lan = Counsellor("c-lan", "aa01");
  StoredCounsellor lan_changed = lan;
  lan_changed.profile.display_name = "Lan (senior)";
  lan_changed.token_hash = "ffff";  // An update keeps the stored hash: this one is ignored.

  Batch batch;
  batch.journal = Entries(1, 3);
  batch.calls = {CompletedCall("call-1"), AbandonedCall("call-2")};
  batch.presence = {
      {"c-lan", CounsellorState::kAvailable, BreakReason::kNone, At(0), ""},
      {"c-lan", CounsellorState::kBreak, BreakReason::kMissedOffers, At(30'000), ""},
  };
  batch.results = {Result("ev-1", 1'000), Result("ev-2", 2'000, 9)};
  batch.counsellors = {
      {CounsellorOp::Kind::kInsert, lan},
      {CounsellorOp::Kind::kInsert, Counsellor("c-minh", "bb02")},
      {CounsellorOp::Kind::kUpdate, lan_changed},
      {CounsellorOp::Kind::kRemove, Counsellor("c-minh", "")},
  };
  REQUIRE_FALSE(batch.empty());
  Sink& sink = *store;
  REQUIRE_OK(sink.Commit(batch));

  CHECK(ReadAll(*store) == batch.journal);
  CHECK(ReadAll(*store, 1) == Entries(2, 3));
  CHECK(ReadAll(*store, 3).empty());
  CHECK(LastSeq(*store) == 3);
  CHECK_FALSE(SnapshotOf(*store).has_value());
  CHECK(ResultsSince(*store, 0) == batch.results);
  CHECK(ResultsSince(*store, 1'001) == std::vector<RequestResult>{batch.results[1]});
  CheckSameRecord(FindOrFail(*store, "call-1"), CompletedCall("call-1"));
  CheckSameRecord(FindOrFail(*store, "call-2"), AbandonedCall("call-2"));
  absl::StatusOr<std::vector<PresenceChange>> presence = store->PresenceHistory("c-lan");
  REQUIRE(presence.ok());
  REQUIRE(presence->size() == 2);
  CHECK((*presence)[1].reason == BreakReason::kMissedOffers);
  CHECK(LoadOrFail(*store) == std::vector<StoredCounsellor>{{lan_changed.profile, "aa01"}});

  // All of it is on disk, not only in the connection's cache.
  store.reset();
  store = OpenOrFail(db.path());
  CHECK(ReadAll(*store) == batch.journal);
  CHECK(ResultsSince(*store, 0) == batch.results);
}

TEST_CASE("an empty batch succeeds and writes nothing", "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const auto before = Dump(db.path());
  REQUIRE(Batch{}.empty());
  REQUIRE_OK(store->Commit(Batch{}));
  CHECK(Dump(db.path()) == before);
  CHECK(LastSeq(*store) == 0);
}

TEST_CASE("a batch that fails part-way stores nothing", "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  Batch first;
  first.journal = Entries(1, 2);
  first.calls = {CompletedCall("call-1")};
  first.presence = {{"c-lan", CounsellorState::kAvailable, BreakReason::kNone, At(0), ""}};
  first.results = {Result("ev-1", 1'000)};
  first.counsellors = {{CounsellorOp::Kind::kInsert, Counsellor("c-lan", "aa01")}};
  REQUIRE_OK(store->Commit(first));

  // Calls, presence, results and counsellor ops are written before the journal, so each failure
  // below comes after rows of the batch are already in the transaction.
  Batch bad;
  bad.calls = {AbandonedCall("call-2"), CompletedCall("call-1")};
  bad.presence = {{"c-minh", CounsellorState::kAvailable, BreakReason::kNone, At(5), ""}};
  bad.results = {Result("ev-2", 2'000), Result("ev-1", 3'000, 5)};  // ev-1 would be replaced.
  bad.counsellors = {{CounsellorOp::Kind::kInsert, Counsellor("c-minh", "bb02")},
                     {CounsellorOp::Kind::kUpdate, Counsellor("c-lan", "")}};
  bad.journal = Entries(3, 4);
  bad.forget_results_before_ms = 10'000;

  absl::StatusCode want = absl::StatusCode::kOk;
  std::string mentions;
  SECTION("a journal seq that is already stored") {
    bad.journal = Entries(2, 4);
    want = absl::StatusCode::kFailedPrecondition;
    mentions = "journal entry 2 is not after the last stored seq 2";
  }
  SECTION("a journal seq below a stored snapshot") {
    Batch snapshot;
    snapshot.journal = Entries(3, 5);
    snapshot.snapshot = Snapshot{5, 1'000, "state after 5"};
    REQUIRE_OK(store->Commit(snapshot));
    REQUIRE(ReadAll(*store).empty());
    want = absl::StatusCode::kFailedPrecondition;
    mentions = "journal entry 3 is not after the last stored seq 5";
  }
  SECTION("a counsellor update for a counsellor not stored, placed last") {
    bad.counsellors.push_back({CounsellorOp::Kind::kUpdate, Counsellor("c-ghost", "")});
    want = absl::StatusCode::kNotFound;
    mentions = "no counsellor 'c-ghost'";
  }
  SECTION("a counsellor insert whose token hash is taken, placed last") {
    bad.counsellors.push_back({CounsellorOp::Kind::kInsert, Counsellor("c-other", "aa01")});
    want = absl::StatusCode::kAlreadyExists;
    mentions = "inserting counsellor 'c-other'";
  }
  SECTION("a snapshot older than the stored one") {
    Batch snapshot;
    snapshot.snapshot = Snapshot{2, 1'000, "state after 2"};
    REQUIRE_OK(store->Commit(snapshot));
    bad.snapshot = Snapshot{1, 2'000, "state after 1"};
    want = absl::StatusCode::kFailedPrecondition;
    mentions = "older than the stored one";
  }
  SECTION("a snapshot after the end of the journal") {
    bad.snapshot = Snapshot{5, 2'000, "state after 5"};
    want = absl::StatusCode::kFailedPrecondition;
    mentions = "the journal ends at 4";
  }
  SECTION("an invalid counsellor op, placed last, is refused before anything is written") {
    StoredCounsellor no_id = Counsellor("", "cc03");
    bad.counsellors.push_back({CounsellorOp::Kind::kInsert, no_id});
    want = absl::StatusCode::kInvalidArgument;
    mentions = "empty id";
  }
  SECTION("journal seqs that do not increase are refused before anything is written") {
    bad.journal = {Entry(4), Entry(3)};
    want = absl::StatusCode::kInvalidArgument;
    mentions = "journal seq 3 follows seq 4";
  }
  SECTION("offers and offer results, then a journal seq that is already stored") {
    bad.offers = {Offer("call-2", "c-lan", 100, 0),
                  OfferResult{"call-2", "c-lan", "declined", 200}};
    bad.journal = Entries(2, 4);
    want = absl::StatusCode::kFailedPrecondition;
    mentions = "journal entry 2 is not after the last stored seq 2";
  }
  SECTION("an offer with an empty counsellor_id is refused before anything is written") {
    bad.offers = {Offer("call-2", "c-lan", 100, 0), Offer("call-2", "", 200, 1)};
    want = absl::StatusCode::kInvalidArgument;
    mentions = "offer needs a call_id and a counsellor_id";
  }
  SECTION("an offer result with an empty call_id is refused before anything is written") {
    bad.offers = {OfferResult{"", "c-lan", "declined", 200}};
    want = absl::StatusCode::kInvalidArgument;
    mentions = "offer result needs a call_id and a counsellor_id";
  }
  SECTION("a request result with a code that is not a google.rpc.Code") {
    bad.results.push_back(Result("ev-3", 3'000, 17));
    want = absl::StatusCode::kInvalidArgument;
    mentions = "code 17";
  }

  const auto before = Dump(db.path());
  const absl::Status status = store->Commit(bad);
  INFO(status.ToString());
  CHECK(status.code() == want);
  CHECK_THAT(std::string(status.message()), Catch::Contains(mentions));
  CHECK(Dump(db.path()) == before);

  // The store and its reused statements still work after the rollback.
  const int64_t next = LastSeq(*store) + 1;
  Batch good;
  good.journal = {Entry(next)};
  good.calls = {AbandonedCall("call-2")};
  REQUIRE_OK(store->Commit(good));
  CHECK(LastSeq(*store) == next);
  CHECK(store->CountCalls("call-2").value_or(-1) == 1);
}

TEST_CASE("a snapshot replaces the previous one and deletes the journal entries it covers",
          "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  CHECK(LastSeq(*store) == 0);
  Batch batch;
  batch.journal = Entries(1, 5);
  REQUIRE_OK(store->Commit(batch));
  CHECK(LastSeq(*store) == 5);

  batch.journal = {Entry(6)};
  batch.snapshot = Snapshot{4, 1'000, std::string("state\0after 4", 13)};
  REQUIRE_OK(store->Commit(batch));
  CHECK(SnapshotOf(*store) == batch.snapshot);
  CHECK(ReadAll(*store) == Entries(5, 6));
  CHECK(LastSeq(*store) == 6);

  // A snapshot covering this batch's own entries leaves the journal empty; the snapshot still
  // says where the journal ended.
  batch.journal = Entries(7, 8);
  batch.snapshot = Snapshot{8, 2'000, "state after 8"};
  REQUIRE_OK(store->Commit(batch));
  CHECK(SnapshotOf(*store) == batch.snapshot);
  CHECK(ReadAll(*store).empty());
  CHECK(LastSeq(*store) == 8);
  {
    SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
    CHECK(raw.execAndGet("SELECT COUNT(*) FROM snapshots").getInt() == 1);
  }

  batch = Batch{};
  batch.journal = {Entry(8)};
  CHECK(store->Commit(batch).code() == absl::StatusCode::kFailedPrecondition);
  batch.journal = {Entry(9)};
  REQUIRE_OK(store->Commit(batch));

  // A snapshot at the stored seq replaces it.
  batch = Batch{};
  batch.snapshot = Snapshot{8, 3'000, "state after 8, again"};
  REQUIRE_OK(store->Commit(batch));
  CHECK(ReadAll(*store) == std::vector<JournalEntry>{Entry(9)});

  store.reset();
  store = OpenOrFail(db.path());
  CHECK(SnapshotOf(*store) == batch.snapshot);
  CHECK(ReadAll(*store, SnapshotOf(*store)->seq) == std::vector<JournalEntry>{Entry(9)});
  CHECK(LastSeq(*store) == 9);
}

TEST_CASE("forgetting results before a time deletes only older ones, and a repeated id replaces",
          "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  Batch batch;
  batch.results = {Result("ev-1", 100), Result("ev-2", 200), Result("ev-3", 300)};
  REQUIRE_OK(store->Commit(batch));

  // A repeat of (origin, request_id) replaces the stored answer.
  batch.results = {Result("ev-1", 150, 6)};
  REQUIRE_OK(store->Commit(batch));
  std::vector<RequestResult> all = ResultsSince(*store, 0);
  REQUIRE(all.size() == 3);
  CHECK(all[0] == Result("ev-1", 150, 6));

  // The same request id from another origin is another request.
  RequestResult desk = Result("ev-1", 120);
  desk.origin = "desk:c-lan";
  batch.results = {desk};
  REQUIRE_OK(store->Commit(batch));
  CHECK(ResultsSince(*store, 0).size() == 4);

  CHECK(ResultsSince(*store, 200) ==
        std::vector<RequestResult>{Result("ev-2", 200), Result("ev-3", 300)});

  batch = Batch{};
  batch.forget_results_before_ms = 200;
  REQUIRE_FALSE(batch.empty());
  REQUIRE_OK(store->Commit(batch));
  CHECK(ResultsSince(*store, 0) ==
        std::vector<RequestResult>{Result("ev-2", 200), Result("ev-3", 300)});
}

TEST_CASE("reading the journal stops at the first error the callback returns", "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  Batch batch;
  batch.journal = Entries(1, 5);
  REQUIRE_OK(store->Commit(batch));

  std::vector<int64_t> seen;
  const absl::Status status = store->ReadJournal(1, [&](const JournalEntry& entry) {
    seen.push_back(entry.seq);
    if (entry.seq == 3) {
      return absl::DataLossError("record 3 does not parse");
    }
    return absl::OkStatus();
  });
  CHECK(status == absl::DataLossError("record 3 does not parse"));
  CHECK(seen == std::vector<int64_t>{2, 3});
}

TEST_CASE("synchronous FULL is applied, NORMAL is the default, and other values are refused",
          "[storage]") {
  TempDb db;
  {
    std::unique_ptr<Store> store = OpenOrFail(db.path());
    CHECK(store->SynchronousLevel().value_or(-1) == 1);
  }
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db.path(), {.synchronous = "FULL"});
    REQUIRE(store.ok());
    CHECK((*store)->SynchronousLevel().value_or(-1) == 2);
  }

  TempDb never_created;
  for (const char* value : {"OFF", "EXTRA", "full", ""}) {
    INFO(value);
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(never_created.path(), {.synchronous = value});
    CHECK(store.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(store.status().message()), Catch::Contains("synchronous"));
  }
  CHECK_FALSE(std::filesystem::exists(never_created.path()));
}

}  // namespace
}  // namespace hotline::storage

namespace hotline::storage {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the helpers of this directory.

TEST_CASE("offers and their results round-trip within one batch and across batches", "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  const OfferRow lan = Offer("call-1", "c-lan", 1'000, 0);
  const OfferRow minh = Offer("call-1", "c-minh", 16'000, 1);
  const OfferRow other = Offer("call-2", "c-lan", 2'000, 0);

  Batch first;
  first.journal = Entries(1, 1);
  first.offers = {lan, other, OfferResult{"call-1", "c-lan", "timed_out", 16'000}};  // Same batch.
  REQUIRE_FALSE(first.empty());
  REQUIRE_OK(store->Commit(first));
  CHECK(OffersOf(*store, "call-1") == std::vector<OfferRow>{Ended(lan, "timed_out", 16'000)});
  CHECK(OffersOf(*store, "call-2") == std::vector<OfferRow>{other});

  Batch second;
  second.offers = {minh};
  REQUIRE_OK(store->Commit(second));
  // Ringing: no result yet.
  CHECK(OffersOf(*store, "call-1") == std::vector<OfferRow>{Ended(lan, "timed_out", 16'000), minh});

  Batch third;  // Only offer results: not empty, ends the offer of an earlier batch.
  third.offers = {OfferResult{"call-1", "c-minh", "accepted", 19'000},
                  OfferResult{"call-2", "c-lan", "caller_hung_up", 5'000}};
  REQUIRE_FALSE(third.empty());
  REQUIRE_OK(store->Commit(third));
  CHECK(OffersOf(*store, "call-1") ==
        std::vector<OfferRow>{Ended(lan, "timed_out", 16'000), Ended(minh, "accepted", 19'000)});
  CHECK(OffersOf(*store, "call-2") == std::vector<OfferRow>{Ended(other, "caller_hung_up", 5'000)});
  CHECK(OffersOf(*store, "call-unknown").empty());

  // An offer stored already ended keeps its result.
  Batch ended;
  const OfferRow withdrawn = Ended(Offer("call-3", "c-lan", 3'000, 2), "withdrawn", 4'000);
  ended.offers = {withdrawn};
  REQUIRE_OK(store->Commit(ended));
  CHECK(OffersOf(*store, "call-3") == std::vector<OfferRow>{withdrawn});
}

TEST_CASE("a result ends only the newest open offer of the call to that counsellor", "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  // Offered to Lan twice (the first timed out), and the second is still ringing.
  const OfferRow first = Ended(Offer("call-1", "c-lan", 1'000, 0), "timed_out", 16'000);
  const OfferRow second = Offer("call-1", "c-lan", 40'000, 2);
  Batch batch;
  batch.offers = {first, second, OfferResult{"call-1", "c-lan", "declined", 41'000},
                  OfferResult{"call-1", "c-lan", "accepted", 42'000}};  // No open offer left.
  REQUIRE_OK(store->Commit(batch));
  CHECK(OffersOf(*store, "call-1") ==
        std::vector<OfferRow>{first, Ended(second, "declined", 41'000)});
}

TEST_CASE(
    "an offer ended and made again to the same counsellor in one batch lands on the right rows",
    "[storage]") {
  // The engine revokes a declined offer and, with nobody else eligible, offers the call to the
  // same counsellor again within one input. The end belongs to the old row; the new row rings.
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  const OfferRow first = Offer("call-1", "c-lan", 1'000, 0);
  Batch ringing;
  ringing.offers = {first};
  REQUIRE_OK(store->Commit(ringing));
  const OfferRow again = Offer("call-1", "c-lan", 5'000, 0);
  Batch declined;
  declined.offers = {OfferResult{"call-1", "c-lan", "declined", 5'000}, again};
  REQUIRE_OK(store->Commit(declined));
  CHECK(OffersOf(*store, "call-1") ==
        std::vector<OfferRow>{Ended(first, "declined", 5'000), again});
  Batch accepted;
  accepted.offers = {OfferResult{"call-1", "c-lan", "accepted", 6'000}};
  REQUIRE_OK(store->Commit(accepted));
  CHECK(OffersOf(*store, "call-1") ==
        std::vector<OfferRow>{Ended(first, "declined", 5'000), Ended(again, "accepted", 6'000)});
}

TEST_CASE("a result without an open offer changes nothing and is not an error", "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  Batch offers;
  offers.offers = {Ended(Offer("call-1", "c-lan", 1'000, 0), "declined", 2'000),
                   Offer("call-1", "c-minh", 3'000, 1)};
  REQUIRE_OK(store->Commit(offers));
  const auto before = Dump(db.path());

  Batch orphans;
  orphans.offers = {OfferResult{"call-1", "c-lan", "accepted", 5'000},     // Already ended.
                    OfferResult{"call-1", "c-ghost", "declined", 5'000},   // Never offered to.
                    OfferResult{"call-9", "c-minh", "timed_out", 5'000}};  // Unknown call.
  REQUIRE_OK(store->Commit(orphans));
  CHECK(Dump(db.path()) == before);

  Batch refused;
  refused.offers = {OfferResult{"call-1", "c-minh", "", 5'000}};
  const absl::Status status = store->Commit(refused);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Dump(db.path()) == before);
}

}  // namespace
}  // namespace hotline::storage

namespace hotline::storage {
namespace {

TEST_CASE("absorbing a later batch keeps every part of both", "[storage]") {
  Batch a;
  a.journal.push_back({1, 10, "one"});
  a.results.push_back({"gateway:gw", "e1", 10, 0, "", ""});
  a.offers.push_back(OfferRow{"c1", "lan", 10, 0, "province", 1, "longest idle (1 s)", "", 0});
  a.forget_results_before_ms = 5;
  Batch b;
  b.journal.push_back({2, 20, "two"});
  b.presence.push_back(routing::PresenceChange{"lan", routing::CounsellorState::kAvailable,
                                               routing::BreakReason::kNone,
                                               routing::FromUnixMillis(20), ""});
  b.counsellors.push_back({CounsellorOp::Kind::kRemove, {}});
  b.offers.push_back(OfferResult{"c1", "lan", "accepted", 20});
  b.snapshot = Snapshot{2, 20, "state"};
  b.forget_results_before_ms = 3;
  routing::CallRecord record;
  record.call.call_id = "c0";
  b.calls.push_back(record);
  a.callbacks.push_back(CallbackHeld{"c2", "gw", "**67", "sealed", 10});
  b.callbacks.push_back(CallbackEnded{"c2", "timed_out", 20});
  a.Absorb(std::move(b));
  REQUIRE(a.callbacks.size() == 2);  // In order: held, then ended.
  CHECK(std::holds_alternative<CallbackEnded>(a.callbacks[1]));
  CHECK(a.journal.size() == 2);
  CHECK(a.journal[1].record == "two");
  CHECK(a.calls.size() == 1);
  CHECK(a.presence.size() == 1);
  CHECK(a.results.size() == 1);
  CHECK(a.counsellors.size() == 1);
  REQUIRE(a.offers.size() == 2);
  CHECK(std::holds_alternative<OfferRow>(a.offers[0]));
  CHECK(std::holds_alternative<OfferResult>(a.offers[1]));
  REQUIRE(a.snapshot.has_value());
  CHECK(a.snapshot->seq == 2);
  CHECK(a.forget_results_before_ms == 5);
}

}  // namespace
}  // namespace hotline::storage

namespace hotline::storage {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the helpers of this directory.

// An abandoned call that ended `ended_ms` after kT0 (no wrap-up: it finished then).
CallRecord EndedAt(const std::string& call_id, int64_t ended_ms) {
  CallRecord r = AbandonedCall(call_id);
  r.ended_at = At(ended_ms);
  return r;
}

std::vector<std::string> Ids(const std::vector<FinishedRow>& rows) {
  std::vector<std::string> ids;
  for (const FinishedRow& row : rows) {
    ids.push_back(row.record.call.call_id);
  }
  return ids;
}

TEST_CASE("the finished calls a snapshot ends at are read back in the order they finished",
          "[storage][snapshot]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  CHECK(store->LastFinishedCall().value() == std::nullopt);

  Batch batch;
  batch.journal = Entries(1, 1);
  // A completed call finishes at the end of its wrap-up (640 s), not at its end (605.5 s).
  CallRecord completed = CompletedCall("c-wrapped");
  batch.calls = {EndedAt("c-old", 100), EndedAt("c-1", 700'000), completed, EndedAt("c-2", 700'000),
                 EndedAt("c-3", 800'000)};
  std::swap(batch.calls[1], batch.calls[2]);  // c-wrapped (640 s) before c-1 (700 s).
  REQUIRE_OK(store->Commit(batch));

  const auto last = store->LastFinishedCall();
  REQUIRE(last.ok());
  CHECK(**last == std::pair<std::string, int64_t>("c-3", ToUnixMillis(At(800'000))));

  // Through c-2: c-3 finished after it; c-old before `since`.
  auto rows = store->LoadFinishedCalls("c-2", ToUnixMillis(At(700'000)), ToUnixMillis(At(100)));
  REQUIRE(rows.ok());
  CHECK(Ids(*rows) == std::vector<std::string>{"c-wrapped", "c-1", "c-2"});
  CHECK((*rows)[0].record.wrap_up_done_at == completed.wrap_up_done_at);
  REQUIRE((*rows)[0].record.disposition.has_value());
  CHECK((*rows)[0].record.disposition->category == "sexual_abuse");
  CHECK((*rows)[0].record.answered_at == completed.answered_at);
  CHECK((*rows)[0].record.counsellor_id == "c-lan");
  CHECK_FALSE((*rows)[1].late_disposition_at_ms.has_value());

  // Everything through the last, from the start.
  rows = store->LoadFinishedCalls("c-3", ToUnixMillis(At(800'000)), 0);
  REQUIRE(rows.ok());
  CHECK(Ids(*rows) == std::vector<std::string>{"c-old", "c-wrapped", "c-1", "c-2", "c-3"});

  // A last call that is not there (or not finished then) is an error, not an empty memory.
  CHECK(store->LoadFinishedCalls("c-9", ToUnixMillis(At(800'000)), 0).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(store->LoadFinishedCalls("c-3", ToUnixMillis(At(800'001)), 0).status().code() ==
        absl::StatusCode::kNotFound);
}

// `calls` completed calls, each with its journal record, numbered on from `seq`.
Batch Calls(int64_t& seq, int calls) {
  Batch batch;
  for (int i = 0; i < calls; ++i) {
    batch.calls.push_back(CompletedCall("call-" + std::to_string(seq)));
    batch.journal.push_back(Entry(++seq));
  }
  return batch;
}

// Store::CheckpointIfDue, which must not fail: whether it checkpointed.
bool Checkpointed(Store& store, Sink::Moment moment = Sink::Moment::kAfterAnswers) {
  const absl::StatusOr<bool> ran = store.CheckpointIfDue(moment);
  INFO(ran.status().ToString());
  REQUIRE(ran.ok());
  return *ran;
}

TEST_CASE("a commit never checkpoints the WAL; CheckpointIfDue does once it holds 1,000 pages",
          "[storage][batch]") {
  // SQLite's auto-checkpoint ran inside the COMMIT that took the WAL past 1,000 pages, so that
  // batch's acknowledgements waited for the copy into the database file and its fsyncs. Now a
  // commit only appends, and the writer checkpoints after it has answered the batch.
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const auto wal_bytes = [&] {
    std::error_code ignored;
    return static_cast<int64_t>(std::filesystem::file_size(db.path() + "-wal", ignored));
  };
  const int64_t page =
      SQLite::Database(db.path(), SQLite::OPEN_READONLY).execAndGet("PRAGMA page_size").getInt64();
  // A frame is the page and its 24-byte header. Past 1,200 frames, no commit checkpointed: an
  // auto-checkpoint at 1,000 starts the WAL over, and the file never grows much past it.
  const int64_t past_the_bar = 1'200 * (page + 24);
  int64_t seq = 0;
  int previous_frames = 0;
  int commits = 0;
  while (wal_bytes() < past_the_bar && commits < 5'000) {
    REQUIRE_OK(store->Commit(Calls(seq, 20)));
    ++commits;
    INFO("commit " << commits << ": " << store->wal_frames() << " frames, was " << previous_frames);
    REQUIRE(store->wal_frames() > previous_frames);  // Only ever appended to.
    previous_frames = store->wal_frames();
  }
  INFO(commits << " commits, WAL " << wal_bytes() << " bytes");
  REQUIRE(wal_bytes() >= past_the_bar);
  REQUIRE(store->wal_frames() >= Store::kCheckpointFrames);
  REQUIRE(store->checkpoints() == 0);

  // Everything committed is in the database, read through the WAL before the checkpoint and
  // from the file after it.
  const auto stored_calls = [&] { return Count(db.path(), "SELECT COUNT(*) FROM calls"); };
  REQUIRE(stored_calls() == seq);
  REQUIRE(Checkpointed(*store));
  REQUIRE(store->checkpoints() == 1);
  REQUIRE(store->wal_frames() == 0);
  // Not due again until a commit brings it past the bar.
  REQUIRE(!Checkpointed(*store));
  REQUIRE(store->checkpoints() == 1);

  // The next commit starts the WAL over from its beginning: every frame had been copied.
  REQUIRE_OK(store->Commit(Calls(seq, 1)));
  REQUIRE(store->wal_frames() > 0);
  REQUIRE(store->wal_frames() < 100);
  REQUIRE(stored_calls() == seq);
}

TEST_CASE(
    "once the writer is quiet, CheckpointIfDue empties a WAL of 100 pages; after answers "
    "it waits for 1,000",
    "[storage][batch]") {
  // Under sparse load a checkpoint of 1,000 pages right after an answer held the gateway's next
  // event 5-10 ms; in a quiet moment a much smaller WAL is worth emptying, and nothing waits.
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  int64_t seq = 0;
  REQUIRE_OK(store->Commit(Calls(seq, 1)));
  REQUIRE(store->wal_frames() > 0);
  REQUIRE(store->wal_frames() < Store::kQuietCheckpointFrames);
  // Below both bars: not due, whenever asked.
  REQUIRE(!Checkpointed(*store, Sink::Moment::kQuiet));
  REQUIRE(!Checkpointed(*store, Sink::Moment::kAfterAnswers));
  while (store->wal_frames() < Store::kQuietCheckpointFrames) {
    REQUIRE_OK(store->Commit(Calls(seq, 1)));
  }
  REQUIRE(store->wal_frames() < Store::kCheckpointFrames);
  // Past the quiet bar only: right after answers it waits, in a quiet moment it runs.
  REQUIRE(!Checkpointed(*store, Sink::Moment::kAfterAnswers));
  REQUIRE(store->checkpoints() == 0);
  REQUIRE(Checkpointed(*store, Sink::Moment::kQuiet));
  REQUIRE(store->checkpoints() == 1);
  REQUIRE(store->wal_frames() == 1);  // Emptied, and started over with one page (below).
  REQUIRE(!Checkpointed(*store, Sink::Moment::kQuiet));  // Not due again.
  REQUIRE(Count(db.path(), "SELECT COUNT(*) FROM calls") == seq);
}

// The WAL header's salts (bytes 16-23): SQLite draws new ones each time it starts the WAL over
// from its beginning, and keeps them while commits append.
std::string WalSalts(const std::string& db_path) {
  std::ifstream wal(db_path + "-wal", std::ios::binary);
  std::string header(32, '\0');
  wal.read(header.data(), static_cast<std::streamsize>(header.size()));
  REQUIRE(wal.gcount() == 32);
  return header.substr(16, 8);
}

TEST_CASE(
    "a quiet checkpoint that copied the whole WAL starts it over at once; the next commit only "
    "appends",
    "[storage][batch]") {
  // The commit after a checkpoint that copied every frame started the WAL over, and at
  // synchronous = NORMAL that restart syncs the WAL: under sparse load that commit was the next
  // caller's arrival, whose ack waited for it (0.5-3.6 ms, docs/performance.md). Now the quiet
  // checkpoint starts it over itself, in the gap, by rewriting the one `wal_restarts` row.
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  int64_t seq = 0;
  const auto fill_to = [&](int frames) {
    while (store->wal_frames() < frames) {
      REQUIRE_OK(store->Commit(Calls(seq, 1)));
    }
  };
  const auto restarts_stored = [&] {
    return Count(db.path(), "SELECT restarts FROM wal_restarts WHERE id = 1");
  };
  REQUIRE(restarts_stored() == 0);

  SECTION("in a quiet moment") {
    fill_to(Store::kQuietCheckpointFrames);
    const std::string filled = WalSalts(db.path());
    REQUIRE(Checkpointed(*store, Sink::Moment::kQuiet));
    // Started over by the checkpoint: new salts, and one page in the WAL.
    const std::string restarted = WalSalts(db.path());
    CHECK(restarted != filled);
    CHECK(store->wal_frames() == 1);
    CHECK(store->wal_restarts() == 1);
    CHECK(restarts_stored() == 1);
    // The next caller's commit appends to it: the same salts, its frames after that page.
    REQUIRE_OK(store->Commit(Calls(seq, 1)));
    CHECK(WalSalts(db.path()) == restarted);
    CHECK(store->wal_frames() > 1);
    CHECK(store->checkpoints() == 1);
    CHECK(Count(db.path(), "SELECT COUNT(*) FROM calls") == seq);
  }
  SECTION("right after answers it is left to the next commit: under load one is coming") {
    fill_to(Store::kCheckpointFrames);
    const std::string filled = WalSalts(db.path());
    REQUIRE(Checkpointed(*store, Sink::Moment::kAfterAnswers));
    CHECK(WalSalts(db.path()) == filled);
    CHECK(store->wal_frames() == 0);
    CHECK(store->wal_restarts() == 0);
    REQUIRE_OK(store->Commit(Calls(seq, 1)));
    CHECK(WalSalts(db.path()) != filled);
    CHECK(restarts_stored() == 0);
  }
  SECTION("not while a reader holds frames the checkpoint could not copy") {
    fill_to(Store::kQuietCheckpointFrames / 2);
    // A report's connection in the middle of a read: it sees the database as of now.
    SQLite::Database reader(db.path(), SQLite::OPEN_READONLY);
    SQLite::Statement read(reader, "SELECT call_id FROM calls");
    REQUIRE(read.executeStep());
    fill_to(Store::kQuietCheckpointFrames);
    const std::string filled = WalSalts(db.path());
    REQUIRE(Checkpointed(*store, Sink::Moment::kQuiet));
    CHECK(WalSalts(db.path()) == filled);
    CHECK(store->wal_restarts() == 0);
    CHECK(store->wal_frames() >= Store::kQuietCheckpointFrames);  // Still due.
    read.reset();  // The read ends; the next quiet moment copies the rest and starts over.
    REQUIRE(Checkpointed(*store, Sink::Moment::kQuiet));
    CHECK(WalSalts(db.path()) != filled);
    CHECK(store->wal_restarts() == 1);
    CHECK(store->wal_frames() == 1);
  }
  SECTION("not while a reader reads what the checkpoint copied, and not counted") {
    fill_to(Store::kQuietCheckpointFrames);
    // A read that began after the last commit: the checkpoint copies every frame, but the WAL
    // cannot start over beneath the reader, so the one page is appended.
    SQLite::Database reader(db.path(), SQLite::OPEN_READONLY);
    SQLite::Statement read(reader, "SELECT call_id FROM calls");
    REQUIRE(read.executeStep());
    const std::string filled = WalSalts(db.path());
    const int frames = store->wal_frames();
    REQUIRE(Checkpointed(*store, Sink::Moment::kQuiet));
    CHECK(WalSalts(db.path()) == filled);
    CHECK(store->wal_frames() == frames + 1);
    CHECK(store->wal_restarts() == 0);
    read.reset();  // The read ends; the next quiet moment copies that page and starts over.
    REQUIRE(Checkpointed(*store, Sink::Moment::kQuiet));
    CHECK(WalSalts(db.path()) != filled);
    CHECK(store->wal_restarts() == 1);
    CHECK(store->wal_frames() == 1);
  }
}

TEST_CASE("a reader holding an old snapshot keeps the WAL's frames; CheckpointIfDue tries again",
          "[storage][batch]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  int64_t seq = 0;
  const auto commit_calls = [&](int calls) { REQUIRE_OK(store->Commit(Calls(seq, calls))); };
  commit_calls(20);
  // A report's connection in the middle of a read: it sees the database as of now.
  SQLite::Database reader(db.path(), SQLite::OPEN_READONLY);
  SQLite::Statement read(reader, "SELECT call_id FROM calls");
  REQUIRE(read.executeStep());
  const int held = store->wal_frames();
  while (store->wal_frames() < Store::kCheckpointFrames) {
    commit_calls(20);
  }
  // The checkpoint copies nothing the reader still needs, so the WAL keeps its frames, and it
  // stays due: SQLite's own auto-checkpoint would try again at every commit too.
  REQUIRE(Checkpointed(*store));
  REQUIRE(store->checkpoints() == 1);
  REQUIRE(store->wal_frames() >= Store::kCheckpointFrames);
  read.reset();  // The read ends.
  commit_calls(1);
  REQUIRE(Checkpointed(*store));
  REQUIRE(store->checkpoints() == 2);
  REQUIRE(store->wal_frames() == 0);
  INFO("frames held by the reader's snapshot: " << held);
  REQUIRE(Count(db.path(), "SELECT COUNT(*) FROM calls") == seq);
}

}  // namespace
}  // namespace hotline::storage
