// Snapshots and journal records: the engine's state survives the trip through protobuf with every
// field, an absent optional time included.
#include "daemon/journal.h"

#include <catch2/catch.hpp>

#include "daemon/convert.h"
#include "tests/testing/engine_harness.h"

namespace hotline::daemon {
namespace {

using routing::BreakReason;
using routing::CounsellorState;
using routing::Millis;
using testing::Call;
using testing::EngineHarness;
using testing::Profile;

routing::EngineState RoundTrip(const routing::EngineState& state) {
  const std::string bytes = ToSnapshot(state).SerializeAsString();
  v1::EngineSnapshot parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  return FromSnapshot(parsed);
}

// An engine holding a call in each live state (one admitted from a Hello), a finished one, a
// repeat contact and a never-route pair: most fields of the state have something in them, and
// every optional time of a live call's record is still absent.
void Populate(EngineHarness& h) {
  h.SignIn(Profile("an", "01"));
  h.SignIn(Profile("binh", "01"));
  h.SignIn(Profile("chi", "01"));
  h.Arrive(Call("done", "01"));  // Offered to one of them; answered and finished below.
  const std::string first = h.engine.FindCall("done")->counsellor_id;
  EngineHarness::Expect(h.engine.AnswerOffer(first, "done", true, h.now));
  EngineHarness::Expect(h.engine.CallConnected("done", h.now));
  h.Advance(Millis(60'000));
  EngineHarness::Expect(h.engine.CallEnded("done", h.now));
  EngineHarness::Expect(h.engine.SubmitDisposition(
      first, "done", routing::Disposition{"family_relationships", "counselled", {}, false, ""},
      true, h.now));
  EngineHarness::Expect(h.engine.NeverRoute(first, "done", h.now));
  h.Arrive(Call("offered", "01"));
  h.Arrive(Call("connecting", "01"));
  const std::string second = h.engine.FindCall("connecting")->counsellor_id;
  EngineHarness::Expect(h.engine.AnswerOffer(second, "connecting", true, h.now));
  h.Arrive(Call("talking", "01"));
  const std::string third = h.engine.FindCall("talking")->counsellor_id;
  EngineHarness::Expect(h.engine.AnswerOffer(third, "talking", true, h.now));
  EngineHarness::Expect(h.engine.CallConnected("talking", h.now));
  h.Arrive(Call("waiting", "01"));
  // Admitted from a gateway's Hello: not timed out before its grace ends.
  routing::CallInfo held = Call("held", "01");
  held.arrived_at = h.now - Millis(600'000);
  EngineHarness::Expect(h.engine.CallArrived(held, h.now, h.now + Millis(10'000)));
  h.Advance(Millis(1'000));
  h.Take();
}

TEST_CASE("a snapshot restores every field, and absent times stay absent", "[daemon]") {
  EngineHarness h;
  Populate(h);
  const routing::EngineState saved = h.engine.SaveState();
  const routing::EngineState restored = RoundTrip(saved);

  // The regression: restoring invented a time 0 for every absent optional time.
  for (const auto& call : restored.calls) {
    INFO(call.info.call_id);
    if (call.info.call_id == "waiting") {
      CHECK_FALSE(call.record.first_offered_at.has_value());
      CHECK_FALSE(call.record.accepted_at.has_value());
    }
    if (call.info.call_id != "talking") {
      CHECK_FALSE(call.record.answered_at.has_value());
    }
    CHECK_FALSE(call.record.wrap_up_done_at.has_value());
    // Admitted past its maximum wait, its timer set at the Hello's grace: no time-out of it
    // was put off.
    CHECK_FALSE(call.due_in_grace);
  }
  CHECK(restored == saved);
}

TEST_CASE("a snapshot keeps a call whose time-out a restart's grace put off as due", "[daemon]") {
  EngineHarness h;  // Maximum wait 5 min.
  h.Arrive(Call("c1", "01"));
  h.Advance(Millis(290'000));
  const routing::Timestamp restarted_at = h.now + Millis(60'000);
  EngineHarness::Expect(h.engine.Restarted(restarted_at, h.now, Millis(10'000), true));
  h.now = restarted_at;
  h.Advance(Millis(0));  // Its timer fires, put off.
  const routing::EngineState saved = h.engine.SaveState();
  REQUIRE(saved.calls.size() == 1);
  CHECK(saved.calls[0].due_in_grace);
  CHECK(RoundTrip(saved) == saved);
  // And a Hello that no longer holds it ends it timed out in the restored engine.
  routing::Engine restored;
  restored.RestoreState(RoundTrip(saved));
  EngineHarness::Expect(restored.CallFailed("c1", "reconciled", h.now, true));
  const std::optional<routing::FinishedFate> fate = restored.FindFinished("c1");
  REQUIRE(fate.has_value());
  CHECK(fate->outcome == routing::Outcome::kTimedOut);
}

TEST_CASE("a snapshot keeps the routing settings in force; one from before them keeps none",
          "[daemon]") {
  routing::EngineOptions options;
  options.max_wait_ms = routing::Millis(111);
  options.offer_timeout_ms = routing::Millis(222);
  options.connect_timeout_ms = routing::Millis(333);
  options.wrap_up_ms = routing::Millis(444);
  options.missed_offers_before_break = 5;
  options.desk_grace_ms = routing::Millis(666);
  options.announce_every_ms = routing::Millis(777);
  options.handling_sample_size = 8;
  options.finished_call_memory_ms = routing::Millis(999);
  options.late_disposition_ms = routing::Millis(1'010);
  EngineHarness h(options);
  Populate(h);
  const routing::EngineState restored = RoundTrip(h.engine.SaveState());
  REQUIRE(restored.options.has_value());
  CHECK(*restored.options == options);

  v1::EngineSnapshot older = ToSnapshot(h.engine.SaveState());
  older.clear_options();
  CHECK_FALSE(FromSnapshot(older).options.has_value());

  // A set_options record puts them in force when replayed.
  routing::Engine engine;
  v1::JournalRecord record;
  *record.mutable_at() = ToProto(h.now);
  *record.mutable_set_options() = ToRecord(options);
  REQUIRE(ApplyRecord(engine, record).ok());
  CHECK(engine.options() == options);
}

TEST_CASE("a settings record without a field (from an older daemon) keeps that field's default",
          "[daemon]") {
  routing::EngineOptions options;
  options.max_wait_ms = routing::Millis(111);
  options.offer_timeout_ms = routing::Millis(222);
  options.handling_sample_size = 8;
  options.late_disposition_ms = routing::Millis(1'010);
  v1::EngineOptionsRecord recorded = ToRecord(options);
  // As a daemon that knew neither setting wrote it.
  recorded.clear_handling_sample_size();
  recorded.clear_late_disposition_ms();
  routing::EngineOptions expected = options;
  expected.handling_sample_size = routing::EngineOptions().handling_sample_size;
  expected.late_disposition_ms = routing::EngineOptions().late_disposition_ms;

  routing::Engine engine;
  v1::JournalRecord record;
  *record.mutable_at() = ToProto(routing::FromUnixMillis(1'760'000'000'000));
  *record.mutable_set_options() = recorded;
  const absl::Status applied = ApplyRecord(engine, record);
  INFO(applied.ToString());
  REQUIRE(applied.ok());
  CHECK(engine.options() == expected);

  // So does a snapshot's.
  EngineHarness h(options);
  v1::EngineSnapshot snapshot = ToSnapshot(h.engine.SaveState());
  *snapshot.mutable_options() = recorded;
  const routing::EngineState restored = FromSnapshot(snapshot);
  REQUIRE(restored.options.has_value());
  CHECK(*restored.options == expected);
}

TEST_CASE("a restored engine decides as the engine that saved it", "[daemon]") {
  EngineHarness live;
  Populate(live);
  EngineHarness twin;
  twin.engine.RestoreState(RoundTrip(live.engine.SaveState()));
  twin.now = live.now;
  // Both run on: the waiting caller gives up, the ringing offer times out, the connected call
  // ends and its wrap-up runs out.
  for (EngineHarness* h : {&live, &twin}) {
    EngineHarness::Expect(h->engine.CallerHungUp("waiting", h->now));
    EngineHarness::Expect(h->engine.CallEnded("talking", h->now));
    h->Advance(Millis(120'000));
  }
  const auto live_effects = live.Take();
  const auto twin_effects = twin.Take();
  REQUIRE(live_effects.size() == twin_effects.size());
  CHECK(live.engine.SaveState() == twin.engine.SaveState());
  // The caller who hung up while waiting: no negative or invented wait in their row.
  for (const auto& e : twin_effects) {
    if (const auto* f = std::get_if<routing::CallFinished>(&e);
        f && f->record.call.call_id == "waiting") {
      CHECK_FALSE(f->record.first_offered_at.has_value());
      CHECK_FALSE(f->record.answered_at.has_value());
    }
  }
}

TEST_CASE("a snapshot encoded a call at a time parses as the whole message", "[daemon]") {
  EngineHarness h;
  Populate(h);
  const routing::EngineState state = h.engine.SaveLiveState();
  REQUIRE(state.calls.size() == 5);
  v1::FinishedInCalls rows;
  rows.set_last_call_id("done");
  *rows.mutable_last_finished_at() = ToProto(h.now);
  rows.add_late_at_now("done");
  v1::EngineSnapshot whole = ToSnapshot(state);
  *whole.mutable_finished_in_calls() = rows;
  v1::EngineSnapshot parsed;
  REQUIRE(parsed.ParseFromString(EncodeSnapshot(state, rows)));
  REQUIRE(parsed.calls_size() == 5);
  CHECK(parsed.calls(3).info().call_id() == whole.calls(3).info().call_id());
  // Serialized again, both in field order: equal bytes, so equal messages.
  CHECK(parsed.SerializeAsString() == whole.SerializeAsString());
  CHECK(FromSnapshot(parsed) == state);
  // No live call: the head alone.
  EngineHarness empty;
  REQUIRE(parsed.ParseFromString(EncodeSnapshot(empty.engine.SaveLiveState(), rows)));
  CHECK(parsed.calls_size() == 0);
  CHECK(parsed.finished_in_calls().last_call_id() == "done");
}

// Snapshots written before the engine kept a live call once carry the call twice: in its entry
// and again in the entry's record. A daemon upgraded over one must restore it and decide the same.
TEST_CASE("a snapshot that carries each live call twice restores and decides the same",
          "[daemon]") {
  EngineHarness live;
  Populate(live);
  v1::EngineSnapshot old_format = ToSnapshot(live.engine.SaveState());
  REQUIRE(old_format.calls_size() == 5);
  for (auto& call : *old_format.mutable_calls()) {
    *call.mutable_record()->mutable_call() = call.info();
  }
  v1::EngineSnapshot parsed;
  REQUIRE(parsed.ParseFromString(old_format.SerializeAsString()));
  EngineHarness twin;
  twin.engine.RestoreState(FromSnapshot(parsed));
  twin.now = live.now;
  CHECK(twin.engine.SaveState() == live.engine.SaveState());
  for (EngineHarness* h : {&live, &twin}) {
    EngineHarness::Expect(h->engine.CallerHungUp("waiting", h->now));
    EngineHarness::Expect(h->engine.CallEnded("talking", h->now));
    h->Advance(Millis(120'000));
  }
  const auto live_effects = live.Take();
  const auto twin_effects = twin.Take();
  REQUIRE(live_effects.size() == twin_effects.size());
  auto rows = [](const std::vector<routing::Effect>& effects) {
    std::vector<routing::CallRecord> out;
    for (const auto& e : effects) {
      if (const auto* f = std::get_if<routing::CallFinished>(&e)) {
        out.push_back(f->record);
      }
    }
    return out;
  };
  const auto twin_rows = rows(twin_effects);
  CHECK(twin_rows == rows(live_effects));
  REQUIRE(twin_rows.size() >= 2);
  for (const auto& row : twin_rows) {
    CHECK_FALSE(row.call.call_id.empty());  // Each finished row names its call.
  }
  CHECK(live.engine.SaveState() == twin.engine.SaveState());
}

TEST_CASE("a call's marks for gateway data errors survive a snapshot", "[daemon]") {
  routing::CallInfo call = Call("c", "99");
  call.province_unknown = true;
  call.caller_withheld = true;
  call.caller_key.clear();
  CHECK(FromRecord(ToRecord(call)) == call);
}

// Records as the engine host builds them, each at its own time.
struct Journal {
  routing::Timestamp at = testing::kStart;
  std::vector<v1::JournalRecord> records;
  v1::JournalRecord& Add(Millis after = Millis(0)) {
    at += after;
    records.emplace_back();
    *records.back().mutable_at() = ToProto(at);
    return records.back();
  }
};

// The records of counsellor `id` (province 01) added, their desk connected and AVAILABLE.
void SignInRecords(Journal& j, const std::string& id) {
  *j.Add().mutable_add_counsellor() = ToProto(Profile(id, "01"));
  j.Add().set_desk_connected(id);
  auto* presence = j.Add().mutable_set_presence();
  presence->set_counsellor_id(id);
  presence->set_state(v1::COUNSELLOR_STATE_AVAILABLE);
}

TEST_CASE("a never-route record from before the withdrawal replays as it was decided", "[daemon]") {
  // A journal written by a daemon whose rule left a ringing offer (a crash, then an upgrade):
  // its records after the rule (the accept) must replay as they were decided.
  for (const bool withdraws : {false, true}) {
    INFO(withdraws);
    Journal j;
    SignInRecords(j, "an");
    routing::CallInfo call = Call("c-1", "01");
    call.arrived_at = j.at;
    *j.Add(Millis(1'000)).mutable_call_arrived() = ToRecord(call);
    auto* never = j.Add(Millis(1'000)).mutable_never_route();
    never->set_counsellor_id("an");
    never->set_call_id("c-1");
    never->set_withdraws_offer(withdraws);
    routing::Engine replayed;
    for (const auto& record : j.records) {
      REQUIRE(ApplyRecord(replayed, record).ok());
    }
    CHECK(replayed.FindCounsellor("an")->state ==
          (withdraws ? routing::CounsellorState::kAvailable : routing::CounsellorState::kReserved));
    v1::JournalRecord accept;
    *accept.mutable_at() = ToProto(j.at);
    accept.mutable_answer_offer()->set_counsellor_id("an");
    accept.mutable_answer_offer()->set_call_id("c-1");
    accept.mutable_answer_offer()->set_accept(true);
    CHECK(ApplyRecord(replayed, accept).ok() == !withdraws);
  }
}

TEST_CASE(
    "a restart that takes a ringing desk off replays, and restores from a snapshot in its grace, "
    "as the engine decided",
    "[daemon]") {
  // The restarted record takes the desks off itself (no desk_disconnected records before it):
  // the journal replayed from the start, and an engine restored from a snapshot taken right after
  // the record, decide the withdrawn offer and the grace alike, to the callback.
  Journal j;
  routing::CallInfo call = Call("c-1", "01");
  call.arrived_at = j.at;
  *j.Add().mutable_call_arrived() = ToRecord(call);
  j.at += Millis(295'000);  // An offer at 4 min 55 s; the maximum wait passes while it rings.
  SignInRecords(j, "an");
  j.Add(Millis(10'000)).mutable_tick();
  auto* restarted = j.Add().mutable_restarted();
  *restarted->mutable_at() = ToProto(j.at + Millis(60'000));
  restarted->set_held_calls_grace_ms(10'000);

  routing::Engine replayed;
  for (const auto& record : j.records) {
    INFO(record.DebugString());
    REQUIRE(ApplyRecord(replayed, record).ok());
  }
  REQUIRE(replayed.FindCall("c-1").has_value());
  CHECK(replayed.FindCall("c-1")->state == routing::CallState::kWaiting);
  CHECK_FALSE(replayed.FindCounsellor("an")->desk_connected);
  CHECK(replayed.FindCounsellor("an")->state == CounsellorState::kAvailable);
  routing::Engine restored;
  restored.RestoreState(RoundTrip(replayed.SaveState()));
  (void)replayed.TakeEffects();
  CHECK(restored.SaveState() == replayed.SaveState());

  // Past the grace (restart + 10 s): both time it out, once, with a callback.
  const routing::Timestamp after_grace = j.at + Millis(70'000);
  for (routing::Engine* e : {&replayed, &restored}) {
    e->Tick(after_grace - Millis(1));
    CHECK(e->FindCall("c-1").has_value());
    e->Tick(after_grace);
    CHECK_FALSE(e->FindCall("c-1").has_value());
    int callbacks = 0;
    for (const auto& effect : e->TakeEffects()) {
      callbacks += std::holds_alternative<routing::CallbackOffered>(effect) ? 1 : 0;
    }
    CHECK(callbacks == 1);
  }
  CHECK(restored.SaveState() == replayed.SaveState());
}

TEST_CASE("every kind of journal record applies to the engine as the direct call does",
          "[daemon]") {
  Journal j;
  *j.Add().mutable_add_counsellor() = ToProto(Profile("an", "01"));
  *j.Add().mutable_add_counsellor() = ToProto(Profile("binh", "01"));
  routing::CounsellorProfile updated = Profile("binh", "01");
  updated.display_name = "Binh (evenings)";
  *j.Add().mutable_update_counsellor() = ToProto(updated);
  j.Add().set_desk_connected("an");
  auto* presence = j.Add().mutable_set_presence();
  presence->set_counsellor_id("an");
  presence->set_state(v1::COUNSELLOR_STATE_AVAILABLE);
  routing::CallInfo call = Call("c-1", "01");
  call.arrived_at = j.at;
  *j.Add(Millis(1'000)).mutable_call_arrived() = ToRecord(call);
  auto* answer = j.Add(Millis(2'000)).mutable_answer_offer();
  answer->set_counsellor_id("an");
  answer->set_call_id("c-1");
  answer->set_accept(true);
  j.Add().set_call_connected("c-1");
  j.Add(Millis(60'000)).set_call_ended("c-1");
  auto* dispose = j.Add(Millis(5'000)).mutable_submit_disposition();
  dispose->set_counsellor_id("an");
  dispose->set_call_id("c-1");
  *dispose->mutable_disposition() =
      ToRecord(routing::Disposition{"family_relationships", "counselled", {}, false, ""});
  dispose->set_ready_for_next(false);
  routing::CallInfo second = Call("c-2", "04");
  second.arrived_at = j.at;
  *j.Add().mutable_call_arrived() = ToRecord(second);
  auto* priority = j.Add().mutable_change_priority();
  priority->set_call_id("c-2");
  priority->set_priority(v1::PRIORITY_HIGH);
  j.Add(Millis(30'000)).mutable_tick();
  j.Add().set_caller_hung_up("c-2");
  j.Add().set_desk_disconnected("an");
  j.Add().set_remove_counsellor("binh");

  routing::Engine replayed;
  for (const auto& record : j.records) {
    INFO(record.DebugString());
    REQUIRE(ApplyRecord(replayed, record).ok());
  }

  EngineHarness direct;
  auto t = [&](Millis after) { return direct.now += after; };
  EngineHarness::Expect(direct.engine.AddCounsellor(Profile("an", "01"), t(Millis(0))));
  EngineHarness::Expect(direct.engine.AddCounsellor(Profile("binh", "01"), t(Millis(0))));
  EngineHarness::Expect(direct.engine.UpdateCounsellor(updated, t(Millis(0))));
  EngineHarness::Expect(direct.engine.DeskConnected("an", t(Millis(0))));
  EngineHarness::Expect(direct.engine.SetPresence("an", CounsellorState::kAvailable,
                                                  BreakReason::kNone, t(Millis(0))));
  EngineHarness::Expect(direct.engine.CallArrived(call, t(Millis(1'000))));
  EngineHarness::Expect(direct.engine.AnswerOffer("an", "c-1", true, t(Millis(2'000))));
  EngineHarness::Expect(direct.engine.CallConnected("c-1", t(Millis(0))));
  EngineHarness::Expect(direct.engine.CallEnded("c-1", t(Millis(60'000))));
  EngineHarness::Expect(direct.engine.SubmitDisposition(
      "an", "c-1", routing::Disposition{"family_relationships", "counselled", {}, false, ""}, false,
      t(Millis(5'000))));
  EngineHarness::Expect(direct.engine.CallArrived(second, t(Millis(0))));
  EngineHarness::Expect(
      direct.engine.ChangePriority("c-2", routing::Priority::kHigh, t(Millis(0))));
  direct.engine.Tick(t(Millis(30'000)));
  EngineHarness::Expect(direct.engine.CallerHungUp("c-2", t(Millis(0))));
  EngineHarness::Expect(direct.engine.DeskDisconnected("an", t(Millis(0))));
  EngineHarness::Expect(direct.engine.RemoveCounsellor("binh", t(Millis(0))));

  CHECK(replayed.SaveState() == direct.engine.SaveState());
}

TEST_CASE("a supervisor's end of a call replays as the direct call does", "[daemon]") {
  Journal j;
  SignInRecords(j, "an");
  routing::CallInfo call = Call("c-1", "01");
  call.arrived_at = j.at;
  *j.Add().mutable_call_arrived() = ToRecord(call);
  auto* answer = j.Add(Millis(2'000)).mutable_answer_offer();
  answer->set_counsellor_id("an");
  answer->set_call_id("c-1");
  answer->set_accept(true);
  j.Add().set_call_connected("c-1");
  auto* end = j.Add(Millis(3'600'000)).mutable_end_call();
  end->set_call_id("c-1");
  end->set_reason("ended by supervisor:mai: the gateway lost it");

  routing::Engine replayed;
  for (const auto& record : j.records) {
    INFO(record.DebugString());
    REQUIRE(ApplyRecord(replayed, record).ok());
  }
  CHECK(replayed.FindCall("c-1")->state == routing::CallState::kEnded);
  CHECK(replayed.FindCounsellor("an")->state == CounsellorState::kWrapUp);

  EngineHarness direct;
  EngineHarness::Expect(direct.engine.AddCounsellor(Profile("an", "01"), direct.now));
  EngineHarness::Expect(direct.engine.DeskConnected("an", direct.now));
  EngineHarness::Expect(
      direct.engine.SetPresence("an", CounsellorState::kAvailable, BreakReason::kNone, direct.now));
  EngineHarness::Expect(direct.engine.CallArrived(call, direct.now));
  direct.now += Millis(2'000);
  EngineHarness::Expect(direct.engine.AnswerOffer("an", "c-1", true, direct.now));
  EngineHarness::Expect(direct.engine.CallConnected("c-1", direct.now));
  direct.now += Millis(3'600'000);
  EngineHarness::Expect(
      direct.engine.EndCall("c-1", "ended by supervisor:mai: the gateway lost it", direct.now));
  CHECK(replayed.SaveState() == direct.engine.SaveState());
  // A snapshot keeps that a supervisor ended it (left out of the handling figures).
  const routing::EngineState saved = replayed.SaveState();
  REQUIRE(saved.calls.size() == 1);
  CHECK(saved.calls[0].record.ended_by_supervisor);
  CHECK(RoundTrip(saved) == saved);

  // A second end, replayed, is refused as the engine refuses it.
  auto* twice = j.Add().mutable_end_call();
  twice->set_call_id("c-1");
  twice->set_reason("again");
  CHECK(ApplyRecord(replayed, j.records.back()).code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE(
    "a refused record reports the engine's refusal, and a record without an input is data loss",
    "[daemon]") {
  routing::Engine engine;
  Journal j;
  j.Add().set_caller_hung_up("never-was");
  CHECK(ApplyRecord(engine, j.records.back()).code() == absl::StatusCode::kNotFound);
  CHECK(ApplyRecord(engine, j.Add()).code() == absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace hotline::daemon
