// The children's-data side of the store: sealed callback numbers from arrival to done, the audit
// and the retention cut (storage/privacy.h).
#include <SQLiteCpp/Database.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <thread>

#include "tests/storage/storage_testing.h"

namespace hotline::storage::testing {
namespace {

CallbackHeld Held(const std::string& call_id, const std::string& sealed, int64_t at_ms) {
  return CallbackHeld{call_id, "gw-hanoi-1", "**********67", sealed, at_ms};
}

void Commit(Store& store, std::vector<CallbackChange> changes) {
  Batch batch;
  batch.callbacks = std::move(changes);
  REQUIRE_OK(store.Commit(batch));
}

// A database at schema version 10, before callback ids were kept for good, with `sql` run on it.
void CreateAtVersion10(const std::string& path, const char* sql) {
  CreateAtVersion(path, 10);
  SQLite::Database raw(path, SQLite::OPEN_READWRITE);
  raw.exec(sql);
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("a held number becomes a pending callback only when its call ends needing one",
          "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  Commit(*store, {Held("c-timed-out", "sealed-1", 1000), Held("c-completed", "sealed-2", 1000),
                  Held("c-requested", "sealed-3", 1000)});
  auto pending = store->ListCallbacks(100);
  REQUIRE(pending.ok());
  CHECK(pending->empty());  // Live numbers are no callbacks yet.

  Commit(*store, {CallbackEnded{"c-completed", "", 5000}, CallbackEnded{"c-timed-out", "timed_out", 6000},
                  CallbackEnded{"c-requested", "callback_requested", 7000},
                  CallbackEnded{"c-withheld", "timed_out", 7000}});
  pending = store->ListCallbacks(100);
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 2);
  CHECK((*pending)[0].call_id == "c-timed-out");
  CHECK((*pending)[0].outcome == "timed_out");
  CHECK((*pending)[0].caller_masked == "**********67");
  CHECK((*pending)[0].ended_at_ms == 6000);
  CHECK((*pending)[1].call_id == "c-requested");
  // The completed call's sealed number is gone from the table.
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM callbacks WHERE call_id = 'c-completed'") == 0);

  auto sealed = store->SealedCallback((*pending)[0].id);
  REQUIRE(sealed.ok());
  CHECK(sealed->second == "sealed-1");
  CHECK(sealed->first == (*pending)[0]);

  auto done = store->MarkCallbackDone((*pending)[0].id);
  REQUIRE(done.ok());
  CHECK(*done);
  CHECK(store->SealedCallback((*pending)[0].id).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->ListCallbacks(100)->size() == 1);
}

TEST_CASE("a callback marked done twice is done once; an id never pending is not found",
          "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  Commit(*store, {Held("c-1", "sealed-number-of-c-1", 1000), Held("c-live", "sealed-live", 1000),
                  CallbackEnded{"c-1", "timed_out", 6000}});
  auto pending = store->ListCallbacks(100);
  REQUIRE(pending->size() == 1);
  const int64_t id = pending->front().id;

  auto first = store->MarkCallbackDone(id);
  REQUIRE(first.ok());
  CHECK(*first);
  // A retry after a lost reply: OK, and nothing changes.
  auto again = store->MarkCallbackDone(id);
  INFO(again.status().ToString());
  REQUIRE(again.ok());
  CHECK_FALSE(*again);
  CHECK(store->ListCallbacks(100)->empty());
  CHECK(store->SealedCallback(id).status().code() == absl::StatusCode::kNotFound);
  // The done row keeps neither number.
  CHECK(Count(db.path(),
              "SELECT COUNT(*) FROM callbacks WHERE state = 'done' AND sealed = X'' "
              "AND caller_masked = ''") == 1);
  // A live callback (its call still going) and an unknown id are not found, and stay as they were.
  const int64_t live = Count(db.path(), "SELECT id FROM callbacks WHERE call_id = 'c-live'");
  const absl::Status not_pending = store->MarkCallbackDone(live).status();
  CHECK(not_pending.code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(not_pending.message()), Catch::Contains("callback_id"));
  CHECK(store->MarkCallbackDone(id + 100).status().code() == absl::StatusCode::kNotFound);
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM callbacks WHERE state = 'live'") == 1);
  CHECK(*store->HoldsCallbacks());  // the live one's sealed number

  // The erased number is nowhere in the file once the WAL is checkpointed.
  store.reset();
  CHECK(FileBytes(db.path()).find("sealed-number-of-c-1") == std::string::npos);
}

TEST_CASE("a callback's id is never given to another callback, after done or retention",
          "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  const auto pending_id = [&](const std::string& call_id, int64_t at_ms) {
    Commit(*store, {Held(call_id, "sealed-" + call_id, at_ms),
                    CallbackEnded{call_id, "timed_out", at_ms + 1}});
    const absl::StatusOr<std::vector<PendingCallback>> listed = store->ListCallbacks(100);
    REQUIRE(listed.ok());
    for (const PendingCallback& c : *listed) {
      if (c.call_id == call_id) {
        return c.id;
      }
    }
    FAIL("no pending callback for " << call_id);
    return int64_t{0};
  };
  // The highest id done, then a new callback: it must not be the done one's id.
  const int64_t first = pending_id("c-1", 1000);
  REQUIRE_OK(store->MarkCallbackDone(first).status());
  // A call that ended needing none leaves no row; its id is not given again either.
  Commit(*store,
         {Held("c-completed", "sealed-completed", 2000), CallbackEnded{"c-completed", "", 2500}});
  const int64_t second = pending_id("c-2", 3000);
  CHECK(second != first);
  // The highest id deleted by retention, then a new callback.
  RetentionCut cut;
  cut.callbacks_before_ms = 10'000;
  auto counts = store->ApplyRetention(cut);
  REQUIRE(counts.ok());
  CHECK(counts->callbacks_deleted == 2);  // c-1 (done) and c-2 (pending)
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM callbacks") == 0);
  CHECK(*store->HoldsCallbacks() == false);
  const int64_t third = pending_id("c-3", 20'000);
  CHECK(third > second);
  CHECK(second > first);
  // Marking the old ids done names no other child's callback.
  CHECK(store->MarkCallbackDone(first).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->MarkCallbackDone(second).status().code() == absl::StatusCode::kNotFound);
  CHECK(store->ListCallbacks(100)->size() == 1);
}

TEST_CASE("the callback migration keeps every callback and its id, and ids go on after them",
          "[storage][privacy]") {
  TempDb db;
  CreateAtVersion10(db.path(), R"sql(
INSERT INTO callbacks (id, call_id, gateway_id, caller_masked, sealed, arrived_at, state, outcome,
                       ended_at)
VALUES (7, 'c-pending', 'gw-1', '**67', X'0102', 1000, 'pending', 'timed_out', 2000),
       (9, 'c-live', 'gw-1', '**68', X'0304', 1500, 'live', NULL, NULL);
-- Callback 12 was revealed and done, and its row deleted, before the upgrade.
INSERT INTO audit (at, role, principal, action, subject)
VALUES (2500, 'supervisor', 'supervisor', 'reveal_callback', '12'),
       (2600, 'supervisor', 'supervisor', 'callback_done', '12'),
       (2700, 'supervisor', 'supervisor', 'explain_call', '99'))sql");
  auto store = OpenOrFail(db.path());
  CHECK(store->schema_version() == static_cast<int>(Migrations().size()));
  auto pending = store->ListCallbacks(100);
  REQUIRE(pending->size() == 1);
  CHECK(pending->front().id == 7);
  CHECK(pending->front().call_id == "c-pending");
  CHECK(store->SealedCallback(7)->second == "\x01\x02");
  Commit(*store, {CallbackEnded{"c-live", "callback_requested", 3000}});
  REQUIRE(store->ListCallbacks(100)->size() == 2);
  CHECK(store->ListCallbacks(100)->back().id == 9);
  REQUIRE_OK(store->MarkCallbackDone(9).status());
  const int64_t next = [&] {
    Commit(*store, {Held("c-new", "sealed-new", 4000), CallbackEnded{"c-new", "timed_out", 4001}});
    return store->ListCallbacks(100)->back().id;
  }();
  CHECK(next == 13);  // Not 10: after the audited 12 (explain_call's subject is a call id).
}

TEST_CASE("the callback migration on an empty table goes on after the ids the audit names",
          "[storage][privacy]") {
  TempDb db;
  CreateAtVersion10(db.path(), R"sql(
INSERT INTO audit (at, role, principal, action, subject)
VALUES (2500, 'supervisor', 'supervisor', 'reveal_callback', '5'))sql");
  auto store = OpenOrFail(db.path());
  Commit(*store, {Held("c-new", "sealed-new", 4000), CallbackEnded{"c-new", "timed_out", 4001}});
  REQUIRE(store->ListCallbacks(100)->size() == 1);
  CHECK(store->ListCallbacks(100)->front().id == 6);
}

TEST_CASE("a callback change naming no call or with an unknown outcome is refused and writes nothing",
          "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  Batch batch;
  batch.callbacks = {Held("c-1", "sealed", 1), CallbackEnded{"c-1", "completed", 2}};
  const absl::Status s = store->Commit(batch);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("completed") != std::string::npos);
  batch.callbacks = {Held("c-1", "", 1)};
  CHECK(store->Commit(batch).code() == absl::StatusCode::kInvalidArgument);
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM callbacks") == 0);
}

TEST_CASE("the callback key fingerprint is recorded once", "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  CHECK(store->CallbackKeyFingerprint()->has_value() == false);
  CHECK(*store->HoldsCallbacks() == false);
  REQUIRE_OK(store->RecordCallbackKeyFingerprint("abc"));
  CHECK(store->RecordCallbackKeyFingerprint("def").code() == absl::StatusCode::kAlreadyExists);
  CHECK(**store->CallbackKeyFingerprint() == "abc");
  Commit(*store, {Held("c-1", "sealed", 1)});
  CHECK(*store->HoldsCallbacks());
}

TEST_CASE("audit rows are read back from a time on in order", "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  REQUIRE_OK(store->RecordAudit({100, "supervisor", "supervisor", "explain_call", "call-1"}));
  REQUIRE_OK(store->RecordAudit({200, "counsellor", "c-lan", "shift_figures", ""}));
  REQUIRE_OK(store->RecordAudit({300, "admin", "admin", "report", "2025-10-01..2025-11-01"}));
  CHECK(store->RecordAudit({400, "admin", "", "report", ""}).code() ==
        absl::StatusCode::kInvalidArgument);
  auto rows = store->ListAudit(200, 100);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].principal == "c-lan");
  CHECK((*rows)[0].action == "shift_figures");
  CHECK((*rows)[1].subject == "2025-10-01..2025-11-01");
  CHECK(store->ListAudit(0, 1)->size() == 1);
}

TEST_CASE("retention clears a caller by when the call was answered, or arrived if never answered",
          "[storage][privacy]") {
  // A gateway may report an arrival up to a day late; the router remembers a repeat caller from
  // the answer, so the row keeps the caller as long. Regression: the row was cleared by
  // arrived_at alone, before the router forgot the caller, so a restart routed differently.
  TempDb db;
  auto store = OpenOrFail(db.path());
  const routing::Millis hour(3'600'000);
  CallRecord late = CompletedCall("answered-late");  // Arrived at kT0, answered 20 h later.
  late.answered_at = kT0 + 20 * hour;
  late.ended_at = *late.answered_at + routing::Millis(1000);
  late.wrap_up_done_at.reset();
  CallRecord soon = CompletedCall("answered-soon");
  soon.answered_at = kT0 + routing::Millis(500);
  soon.ended_at = kT0 + routing::Millis(1000);
  soon.wrap_up_done_at.reset();
  CallRecord never = CompletedCall("never-answered");
  never.answered_at.reset();
  never.accepted_at.reset();
  never.counsellor_id.clear();
  never.disposition.reset();
  never.outcome = routing::Outcome::kAbandoned;
  never.ended_at = kT0 + 20 * hour;
  never.wrap_up_done_at.reset();
  for (const CallRecord& r : {late, soon, never}) {
    REQUIRE_OK(store->RecordCall(r));
  }
  RetentionCut cut;
  cut.callers_before_ms = ToUnixMillis(kT0 + 10 * hour);
  auto counts = store->ApplyRetention(cut);
  REQUIRE(counts.ok());
  CHECK(counts->callers_anonymised == 2);
  const auto caller = [&](const std::string& id) {
    auto row = store->FindCall(id);
    REQUIRE(row.ok());
    REQUIRE(row->has_value());
    return (*row)->call.caller_key;
  };
  CHECK_FALSE(caller("answered-late").empty());
  CHECK(caller("answered-soon").empty());
  CHECK(caller("never-answered").empty());
}

TEST_CASE("retention anonymises callers and clears notes past their periods and deletes old rows",
          "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  const int64_t t0 = ToUnixMillis(kT0);
  const int64_t day = 86'400'000;
  CallRecord old_call = CompletedCall("call-old");
  const std::string note = "She told us about her uncle; call back on Friday.";
  old_call.disposition->note = note;
  CallRecord mid_call = CompletedCall("call-mid");
  mid_call.call.arrived_at = kT0 + routing::Millis(40 * day);
  mid_call.ended_at = mid_call.call.arrived_at + routing::Millis(1000);
  mid_call.answered_at = mid_call.call.arrived_at + routing::Millis(500);
  mid_call.wrap_up_done_at.reset();
  CallRecord new_call = CompletedCall("call-new");
  new_call.call.arrived_at = kT0 + routing::Millis(100 * day);
  new_call.ended_at = new_call.call.arrived_at + routing::Millis(1000);
  new_call.answered_at = new_call.call.arrived_at + routing::Millis(500);
  new_call.wrap_up_done_at.reset();
  REQUIRE_OK(store->RecordCall(old_call));
  // Failed calls: one a supervisor ended, in their words; one the gateway's own.
  CallRecord ended_old = CompletedCall("call-ended-old");
  ended_old.outcome = routing::Outcome::kFailed;
  ended_old.reason = "ended by supervisor:mai: line dead, she was crying about her uncle";
  ended_old.ended_by_supervisor = true;
  REQUIRE_OK(store->RecordCall(ended_old));
  CallRecord ended_new = ended_old;
  ended_new.call.call_id = "call-ended-new";
  ended_new.call.arrived_at = new_call.call.arrived_at;
  ended_new.ended_at = new_call.ended_at;
  ended_new.answered_at = new_call.answered_at;
  ended_new.wrap_up_done_at.reset();
  REQUIRE_OK(store->RecordCall(ended_new));
  CallRecord failed_old = CompletedCall("call-failed-old");
  failed_old.outcome = routing::Outcome::kFailed;
  failed_old.reason = "connect failed: 480: temporarily unavailable";
  REQUIRE_OK(store->RecordCall(failed_old));
  REQUIRE_OK(store->RecordCall(mid_call));
  REQUIRE_OK(store->RecordCall(new_call));
  REQUIRE_OK(store->RecordPresence({"c-lan", routing::CounsellorState::kAvailable,
                                    routing::BreakReason::kNone, kT0, ""}));
  REQUIRE_OK(store->RecordAudit({t0, "supervisor", "supervisor", "explain_call", "call-old"}));
  Commit(*store, {Held("cb-old", "sealed-old", t0), CallbackEnded{"cb-old", "timed_out", t0 + 1},
                  Held("cb-new", "sealed-new", t0 + 99 * day),
                  CallbackEnded{"cb-new", "timed_out", t0 + 99 * day},
                  Held("cb-stuck", "sealed-stuck", t0)});
  const bool note_on_disk = FileBytes(db.path()).find(note) != std::string::npos ||
                            FileBytes(db.path() + "-wal").find(note) != std::string::npos;
  CHECK(note_on_disk);

  // On day 101: callers kept 30 days, notes 90, callbacks 7, audit and history 60.
  const int64_t now = t0 + 101 * day;
  RetentionCut cut;
  cut.callers_before_ms = now - 30 * day;
  cut.notes_before_ms = now - 90 * day;
  cut.callbacks_before_ms = now - 7 * day;
  cut.audit_before_ms = now - 60 * day;
  cut.history_before_ms = now - 60 * day;
  auto counts = store->ApplyRetention(cut);
  REQUIRE(counts.ok());
  CHECK(counts->callers_anonymised == 4);
  // The notes of call-old, call-ended-old and call-failed-old, and call-ended-old's reason.
  CHECK(counts->notes_cleared == 4);
  CHECK(counts->callbacks_deleted == 2);  // cb-old (pending) and cb-stuck (never ended)
  CHECK(counts->audit_deleted == 1);
  CHECK(counts->presence_deleted == 1);

  auto old_row = store->FindCall("call-old");
  REQUIRE(old_row.ok());
  CHECK((*old_row)->call.caller_key.empty());
  CHECK((*old_row)->call.caller_masked.empty());
  CHECK((*old_row)->disposition->note.empty());
  CHECK((*old_row)->disposition->category == "sexual_abuse");  // statistics stay
  // Who ended it stays; their words go. A gateway's reason, and a recent one, stay whole.
  CHECK((*store->FindCall("call-ended-old"))->reason == "ended by supervisor:mai");
  CHECK((*store->FindCall("call-ended-new"))->reason == ended_new.reason);
  CHECK((*store->FindCall("call-failed-old"))->reason == failed_old.reason);
  auto mid_row = store->FindCall("call-mid");
  CHECK((*mid_row)->call.caller_key.empty());
  CHECK((*mid_row)->disposition->note == CompletedCall("x").disposition->note);
  auto new_row = store->FindCall("call-new");
  CHECK((*new_row)->call.caller_key == new_call.call.caller_key);
  CHECK((*new_row)->call.caller_masked == new_call.call.caller_masked);
  auto pending = store->ListCallbacks(100);
  REQUIRE(pending->size() == 1);
  CHECK(pending->front().call_id == "cb-new");
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM callbacks") == 1);
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM audit") == 0);

  // The cleared note is nowhere in the files: not in a free page, not in the WAL.
  store.reset();
  CHECK(FileBytes(db.path()).find(note) == std::string::npos);
  CHECK(FileBytes(db.path() + "-wal").find(note) == std::string::npos);
  CHECK(FileBytes(db.path()).find("sealed-old") == std::string::npos);

  // A second run changes nothing.
  store = OpenOrFail(db.path());
  counts = store->ApplyRetention(cut);
  REQUIRE(counts.ok());
  CHECK(*counts == RetentionCounts{});
}

TEST_CASE("retention waits for no reader, and a later run empties the WAL once it has gone",
          "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  const CallRecord call = CompletedCall("call-old");
  const std::string key = call.call.caller_key;
  REQUIRE_OK(store->RecordCall(call));
  RetentionCut cut;
  cut.callers_before_ms = ToUnixMillis(*call.answered_at) + 1;  // Cleared by when answered.

  // A backup or a report reading: its read transaction keeps the WAL from being emptied.
  SQLite::Database reader(db.path(), SQLite::OPEN_READONLY);
  reader.exec("BEGIN");
  REQUIRE(reader.execAndGet("SELECT COUNT(*) FROM calls").getInt() == 1);

  auto counts = store->ApplyRetention(cut);
  REQUIRE(counts.ok());
  CHECK(counts->callers_anonymised == 1);
  CHECK_FALSE(counts->wal_emptied);
  // Regression: the checkpoint waited out the busy handler (5 s on the writer thread, every
  // acknowledgement held behind it) before it gave up.
  CHECK(store->busy_waits() == 0);
  CHECK((*store->FindCall("call-old"))->call.caller_key.empty());
  // The reader still sees the old row, so the old page is still in the files.
  CHECK((FileBytes(db.path()).find(key) != std::string::npos ||
         FileBytes(db.path() + "-wal").find(key) != std::string::npos));

  reader.exec("COMMIT");
  counts = store->ApplyRetention(cut);  // The next run: nothing more to change, the WAL emptied.
  REQUIRE(counts.ok());
  CHECK(*counts == RetentionCounts{});
  CHECK(FileBytes(db.path() + "-wal").empty());
  CHECK(FileBytes(db.path()).find(key) == std::string::npos);
  CHECK(store->busy_waits() == 0);
}

TEST_CASE("the store waits for another connection's lock, and counts the wait",
          "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  SQLite::Database other(db.path(), SQLite::OPEN_READWRITE);
  other.exec("BEGIN IMMEDIATE");  // The write lock, held until the store has waited once.
  std::atomic<bool> returned = false;
  std::thread release([&] {
    // Or until the store gave up without waiting: then the checks below fail, nothing hangs.
    while (store->busy_waits() == 0 && !returned) {
      std::this_thread::yield();
    }
    other.exec("COMMIT");
  });
  const absl::Status recorded = store->RecordCall(CompletedCall("call-1"));  // Waits, then writes.
  returned = true;
  release.join();
  REQUIRE_OK(recorded);
  CHECK(store->busy_waits() == 1);
  CHECK((*store->FindCall("call-1")).has_value());
}

TEST_CASE("migration 9 adds the privacy tables to a version-7 database and keeps its calls",
          "[storage][privacy]") {
  TempDb db;
  CreateWithAbandonedCall(db.path(), 7);
  auto store = OpenOrFail(db.path());
  CHECK(store->schema_version() == static_cast<int>(Migrations().size()));  // 9 and later.
  CHECK((*store->FindCall("call-2"))->call.caller_masked == "********12");
  CHECK(store->ListCallbacks(10)->empty());
  CHECK(store->ListAudit(0, 10)->empty());
  CHECK(*store->HoldsCallbacks() == false);
}

TEST_CASE("the retention job's queries read only the rows they may change through an index",
          "[storage][privacy]") {
  TempDb db;
  OpenOrFail(db.path());
  SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
  const auto plan = [&](const std::string& sql) {
    SQLite::Statement s(raw, "EXPLAIN QUERY PLAN " + sql);
    std::string out;
    while (s.executeStep()) {
      out += s.getColumn(3).getString() + "\n";
    }
    return out;
  };
  CHECK_THAT(plan("UPDATE calls SET caller_key = '', caller_masked = '' WHERE arrived_at < 5 "
                  "AND COALESCE(answered_at, arrived_at) < 5 "
                  "AND (caller_key != '' OR caller_masked != '')"),
             Catch::Contains("calls_with_caller"));
  CHECK_THAT(plan("UPDATE calls SET note = '' WHERE arrived_at < 5 AND note != ''"),
             Catch::Contains("calls_with_note"));
  CHECK_THAT(plan("DELETE FROM offers WHERE offered_at < 5"), Catch::Contains("offers_by_time"));
  CHECK_THAT(plan("DELETE FROM presence WHERE at < 5"), Catch::Contains("presence_by_time"));
}

TEST_CASE("a retention cut without periods keeps everything", "[storage][privacy]") {
  TempDb db;
  auto store = OpenOrFail(db.path());
  REQUIRE_OK(store->RecordCall(CompletedCall("call-1")));
  auto counts = store->ApplyRetention(RetentionCut{});
  REQUIRE(counts.ok());
  CHECK(*counts == RetentionCounts{});
  CHECK((*store->FindCall("call-1"))->disposition->note == CompletedCall("x").disposition->note);
}

}  // namespace hotline::storage::testing
