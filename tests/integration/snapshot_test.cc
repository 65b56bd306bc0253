// Snapshots leave the finished calls out (their memory is rebuilt from the `calls` rows) and
// recovery decides exactly as before: through the real daemon, on the test's clock, with the
// snapshot at every position of a short script.
#include <SQLiteCpp/SQLiteCpp.h>

#include <catch2/catch.hpp>

#include "daemon/convert.h"
#include "hotline/v1/journal.pb.h"
#include "tests/testing/manual_fixture.h"

namespace hotline {
namespace {

using testing::AnswerAndEnd;
using testing::DaemonFixture;
using testing::DeskClient;
using testing::Dispose;
using testing::GatewayClient;
using testing::IsOffer;
using testing::ManualTime;
namespace v1 = ::hotline::v1;
using namespace std::chrono_literals;

constexpr char kChild[] = "+84912000111";
constexpr char kOther[] = "+84912000222";
constexpr char kThird[] = "+84912000333";

v1::EngineSnapshot StoredSnapshot(const DaemonFixture& f) {
  SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
  SQLite::Statement q(db, "SELECT state FROM snapshots ORDER BY seq DESC LIMIT 1");
  REQUIRE(q.executeStep());
  const SQLite::Column state = q.getColumn(0);
  v1::EngineSnapshot snapshot;
  REQUIRE(snapshot.ParseFromArray(state.getBlob(), state.getBytes()));
  return snapshot;
}

void ReplaceSnapshot(const DaemonFixture& f, const v1::EngineSnapshot& snapshot) {
  SQLite::Database db(f.config.database, SQLite::OPEN_READWRITE);
  const std::string bytes = snapshot.SerializeAsString();
  SQLite::Statement q(db, "UPDATE snapshots SET state = ?");
  q.bind(1, bytes.data(), static_cast<int>(bytes.size()));
  REQUIRE(q.exec() == 1);
}

void HangUp(GatewayClient& gw, const std::string& call_id) {
  gw.Event(call_id, [](v1::CallEvent& e) { e.mutable_caller_hung_up(); });
  REQUIRE(gw.WaitForAck().code() == 0);
}

// c-1 (kChild) arrives, is answered at `desk` and ends; its wrap-up's deadline passes: c-1 is
// owed, and the counsellor AVAILABLE again.
void OweC1(GatewayClient& gw, DeskClient& desk, ManualTime& time) {
  gw.Arrive("c-1", "38", v1::PRIORITY_NORMAL, kChild);
  REQUIRE(gw.WaitForAck().code() == 0);
  AnswerAndEnd(gw, desk, "c-1", &time, 1s, 30s);
  time.Advance(45s);
  desk.WaitForState(v1::COUNSELLOR_STATE_AVAILABLE);
}

// Finished calls of every kind, on a clock that mostly stands still (many inputs in the same
// millisecond, as around a snapshot): c-1 (kChild) answered, its wrap-up expired, disposed late;
// c-2 (kOther) abandoned; c-3 (kChild again) answered and disposed in wrap-up; c-4 (kThird)
// answered, its wrap-up expired, still owed. Returns the counsellor's desk token.
std::string Script(DaemonFixture& f, ManualTime& time) {
  const std::string token = f.AddCounsellor("lan", "38");
  DeskClient desk(f.channel, token);
  desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
  REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
  gw.WaitForWelcome();

  OweC1(gw, desk, time);

  REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_BREAK).ok());
  gw.Arrive("c-2", "38", v1::PRIORITY_NORMAL, kOther);
  REQUIRE(gw.WaitForAck().code() == 0);
  HangUp(gw, "c-2");

  v1::Disposition late;
  late.set_category(v1::CATEGORY_MENTAL_HEALTH);
  late.set_action(v1::ACTION_COUNSELLED);
  REQUIRE(desk.Dispose("c-1", late, false).ok());
  REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());

  time.Advance(10min);
  gw.Arrive("c-3", "38", v1::PRIORITY_NORMAL, kChild);
  REQUIRE(gw.WaitForAck().code() == 0);
  AnswerAndEnd(gw, desk, "c-3", &time, 1s, 20s);
  Dispose(desk, "c-3", v1::CATEGORY_NEGLECT);

  gw.Arrive("c-4", "38", v1::PRIORITY_NORMAL, kThird);
  REQUIRE(gw.WaitForAck().code() == 0);
  AnswerAndEnd(gw, desk, "c-4", &time, 1s, 20s);
  time.Advance(45s);  // c-4 is owed, and stays owed.
  desk.WaitForState(v1::COUNSELLOR_STATE_AVAILABLE);
  f.View();
  return token;
}

// What the restarted daemon must still know of the finished calls.
void ChecksAfterRestart(DaemonFixture& f, const std::string& token) {
  // Their ids are still refused, and their gateway still learns their fates.
  {
    v1::Hello hello = GatewayClient::HelloFor("gw-1");
    v1::HeldCall* held = hello.add_held_calls();
    held->set_call_id("c-2");
    *held->mutable_arrived() = testing::Arrival("38", kOther);
    held->mutable_arrived_at()->set_seconds(1);
    GatewayClient first(f.channel, DaemonFixture::kGatewayToken, hello);
    const v1::Welcome welcome = first.WaitForWelcome();
    REQUIRE(welcome.held_calls_size() == 1);
    CHECK(welcome.held_calls(0).fate() == v1::HeldCallResult::FATE_FINISHED);
    CHECK(welcome.held_calls(0).outcome() == v1::CALL_OUTCOME_ABANDONED);
  }
  // Another gateway id: gw-1's event ids are remembered (and would be answered as repeats).
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-2");
  gw.WaitForWelcome();
  for (const char* id : {"c-1", "c-2", "c-3", "c-4"}) {
    INFO(id);
    v1::GatewayMessage msg;
    msg.mutable_event()->set_event_id(std::string("again-") + id);
    msg.mutable_event()->set_call_id(id);
    *msg.mutable_event()->mutable_arrived() = testing::Arrival("38");
    gw.Send(msg);
    CHECK(gw.WaitForAck().code() == grpc::StatusCode::ALREADY_EXISTS);
  }

  // The late disposition owed for c-4 (not c-1's, recorded) is still accepted.
  DeskClient desk(f.channel, token, "again-");
  const v1::DeskEvent owed =
      desk.WaitFor([](const v1::DeskEvent& e) { return e.has_disposition_owed(); });
  CHECK(owed.disposition_owed().call_id() == "c-4");
  v1::Disposition d;
  d.set_category(v1::CATEGORY_FAMILY_RELATIONSHIPS);
  d.set_action(v1::ACTION_COUNSELLED);
  const grpc::Status again = desk.Dispose("c-1", d);
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());

  // The repeat caller's history: both answered calls, with their categories.
  gw.Arrive("c-5", "38", v1::PRIORITY_NORMAL, kChild);
  REQUIRE(gw.WaitForAck().code() == 0);
  const v1::DeskEvent offer = desk.WaitFor(IsOffer);
  CHECK(offer.offer().call().repeat_caller());
  REQUIRE(offer.offer().has_caller_history());
  const v1::CallerHistory& history = offer.offer().caller_history();
  CHECK(history.contacts() == 2);
  CHECK(history.last_category() == v1::CATEGORY_NEGLECT);
  REQUIRE(history.recent_size() == 2);
  CHECK(history.recent(0).category() == v1::CATEGORY_NEGLECT);  // The most recent first.
  CHECK(history.recent(1).category() == v1::CATEGORY_MENTAL_HEALTH);

  v1::SubmitDispositionResponse response;
  REQUIRE(desk.Dispose("c-4", d, true, &response).ok());
  CHECK(response.late());
}

TEST_CASE("a restart from a snapshot after any record remembers the finished calls exactly",
          "[integration][recovery][snapshot]") {
  // A snapshot after every record, or every few: the last one falls at each point of the script.
  const int64_t every = GENERATE(1, 2, 3, 5, 7, 11);
  INFO("a snapshot every " << every << " records");
  auto time = std::make_shared<ManualTime>();
  DaemonFixture f([every](daemon::Config& c) { c.snapshot_every_records = every; }, nullptr, time);
  const std::string token = Script(f, *time);

  // The snapshot carries no finished call: their memory is rebuilt from the calls rows.
  const v1::EngineSnapshot stored = StoredSnapshot(f);
  CHECK(stored.has_finished_in_calls());
  CHECK(stored.finished_size() == 0);
  CHECK(stored.finished_callers_size() == 0);
  CHECK(stored.gateway_fates_size() == 0);
  CHECK(stored.last_contacts_size() == 0);
  CHECK(stored.owed_dispositions_size() == 0);

  f.daemon->Shutdown();
  const std::string live = f.daemon->shutdown_digest();
  REQUIRE_FALSE(live.empty());
  f.daemon.reset();
  f.Start();
  CHECK(f.daemon->recovered_digest() == live);
  ChecksAfterRestart(f, token);
}

TEST_CASE("a snapshot that carries the finished calls itself (the old format) still restores",
          "[integration][recovery][snapshot]") {
  auto time = std::make_shared<ManualTime>();
  DaemonFixture f([](daemon::Config& c) { c.snapshot_every_records = 1; }, nullptr, time);
  const std::string token = Script(f, *time);
  f.daemon->Shutdown();
  const std::string live = f.daemon->shutdown_digest();
  f.daemon.reset();

  // As the daemon wrote it before: the memory of finished calls in the snapshot itself.
  v1::EngineSnapshot old = StoredSnapshot(f);
  REQUIRE(old.has_finished_in_calls());
  old.clear_finished_in_calls();
  old.clear_contacts_forgotten_through();
  {
    SQLite::Database db(f.config.database, SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT call_id, caller_key, counsellor_id, answered_at, "
                        "COALESCE(wrap_up_done_at, ended_at), category, outcome, "
                        "wrap_up_done_at FROM calls ORDER BY id");
    while (q.executeStep()) {
      const std::string id = q.getColumn(0).getString();
      const std::string key = q.getColumn(1).getString();
      const int64_t finished = q.getColumn(4).getInt64();
      auto* f1 = old.add_finished();
      f1->set_call_id(id);
      *f1->mutable_at() = daemon::ToProto(routing::FromUnixMillis(finished));
      auto* f2 = old.add_finished_callers();
      f2->set_call_id(id);
      f2->set_caller_key(key);
      auto* fate = old.add_gateway_fates();
      fate->set_call_id(id);
      fate->set_gateway_id("gw-1");
      fate->set_outcome(q.getColumn(6).getString() == "abandoned" ? v1::CALL_OUTCOME_ABANDONED
                                                                  : v1::CALL_OUTCOME_COMPLETED);
      *fate->mutable_finished_at() = daemon::ToProto(routing::FromUnixMillis(finished));
      if (!q.getColumn(3).isNull()) {
        auto* contact = old.add_last_contacts();
        contact->set_caller_key(key);
        contact->set_counsellor_id(q.getColumn(2).getString());
        *contact->mutable_at() =
            daemon::ToProto(routing::FromUnixMillis(q.getColumn(3).getInt64()));
        contact->set_call_id(id);
        contact->set_category(q.getColumn(5).isNull() ? "" : q.getColumn(5).getString());
      }
      if (id == "c-4") {
        auto* owed = old.add_owed_dispositions();
        *owed->mutable_since() =
            daemon::ToProto(routing::FromUnixMillis(q.getColumn(7).getInt64()));
        owed->set_call_id(id);
        owed->set_counsellor_id("lan");
        owed->set_caller_key(key);
      }
    }
  }
  ReplaceSnapshot(f, old);
  f.Start();
  CHECK(f.daemon->recovered_digest() == live);
  ChecksAfterRestart(f, token);
  // Snapshots written from now on leave the finished calls out, and restore the same.
  f.Restart();
  CHECK(StoredSnapshot(f).has_finished_in_calls());
  DeskClient desk(f.channel, token, "third-");
  desk.WaitFor([](const v1::DeskEvent& e) { return e.has_presence_changed(); });
  GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-3");
  gw.WaitForWelcome();
  gw.Arrive("c-3", "38");
  CHECK(gw.WaitForAck().code() == grpc::StatusCode::ALREADY_EXISTS);
}

TEST_CASE("a late disposition in the last snapshot's millisecond is kept across restarts in it",
          "[integration][recovery][snapshot]") {
  // A snapshot after every record, and a clock that stands still across two restarts: the second
  // restart reads a snapshot written by the first process after recovery, in the very
  // millisecond the disposition was recorded late. That snapshot must still say so, or recovery
  // takes the disposition for one made after it, and c-1 is owed again.
  auto time = std::make_shared<ManualTime>();
  DaemonFixture f([](daemon::Config& c) { c.snapshot_every_records = 1; }, nullptr, time);
  const std::string token = f.AddCounsellor("lan", "38");
  {
    DeskClient desk(f.channel, token);
    desk.WaitForState(v1::COUNSELLOR_STATE_OFFLINE);
    REQUIRE(desk.SetPresence(v1::COUNSELLOR_STATE_AVAILABLE).ok());
    GatewayClient gw(f.channel, DaemonFixture::kGatewayToken, "gw-1");
    gw.WaitForWelcome();
    OweC1(gw, desk, *time);
    v1::Disposition late;
    late.set_category(v1::CATEGORY_MENTAL_HEALTH);
    late.set_action(v1::ACTION_COUNSELLED);
    v1::SubmitDispositionResponse response;
    REQUIRE(desk.Dispose("c-1", late, true, &response).ok());
    REQUIRE(response.late());
  }
  for (int restart = 1; restart <= 2; ++restart) {
    INFO("restart " << restart);
    f.daemon->Shutdown();
    const std::string live = f.daemon->shutdown_digest();
    f.daemon.reset();
    f.Start();
    CHECK(f.daemon->recovered_digest() == live);
    // A desk opens in the same millisecond: a record, so a snapshot, after recovery.
    DeskClient desk(f.channel, token, "restart-" + std::to_string(restart) + "-");
    desk.WaitFor([](const v1::DeskEvent& e) { return e.has_presence_changed(); });
    v1::Disposition again;
    again.set_category(v1::CATEGORY_NEGLECT);
    again.set_action(v1::ACTION_COUNSELLED);
    const grpc::Status twice = desk.Dispose("c-1", again);
    CHECK(twice.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
}

}  // namespace
}  // namespace hotline
