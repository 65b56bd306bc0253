// Tests of storage::Store against real SQLite databases: in memory, or a temporary file when the
// test also reads the raw rows or reopens the file.
#include "storage/store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "routing/types.h"
#include "storage/migrations.h"
#include "storage/names.h"
#include "storage/store_sql.h"
#include "tests/storage/storage_testing.h"

namespace hotline::storage {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the helpers of this directory.
using routing::BreakReason;
using routing::CallRecord;
using routing::CounsellorProfile;
using routing::CounsellorState;
using routing::Gender;
using routing::Outcome;
using routing::PresenceChange;
using routing::Priority;
using routing::Timestamp;
using routing::Topic;
using routing::ToUnixMillis;

// The schema as SQLite describes it, to compare before and after a reopen.
std::vector<std::string> SchemaOf(const std::string& path) {
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  SQLite::Statement q(raw,
                      "SELECT type || ' ' || name || ': ' || IFNULL(sql, '') "
                      "FROM sqlite_master ORDER BY type, name");
  std::vector<std::string> schema;
  while (q.executeStep()) {
    schema.push_back(q.getColumn(0).getString());
  }
  return schema;
}

int UserVersion(const std::string& path) {
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  return raw.execAndGet("PRAGMA user_version").getInt();
}

TEST_CASE("migrations create the schema and opening the database again changes nothing",
          "[storage]") {
  const int latest = static_cast<int>(Migrations().size());
  TempDb db;
  {
    std::unique_ptr<Store> store = OpenOrFail(db.path());
    CHECK(store->schema_version() == latest);
    REQUIRE_OK(store->RecordCall(CompletedCall("call-1")));
  }
  CHECK(UserVersion(db.path()) == latest);
  const std::vector<std::string> schema = SchemaOf(db.path());
  for (const char* name :
       {"table calls", "table presence", "table counsellors", "table journal", "table snapshots",
        "table request_results", "index calls_by_call_id", "index calls_by_arrival",
        "index calls_by_counsellor_handling", "index presence_by_counsellor",
        "index request_results_by_at", "table offers", "index offers_by_call",
        "index offers_by_counsellor", "index calls_by_decision", "index calls_by_handling_end",
        "table caller_key"}) {
    INFO(name);
    CHECK(std::count_if(schema.begin(), schema.end(), [&](const std::string& entry) {
            return entry.rfind(std::string(name) + ":", 0) == 0;
          }) == 1);
  }
  CHECK(std::none_of(schema.begin(), schema.end(), [](const std::string& entry) {
    return entry.find("calls_v2") != std::string::npos;
  }));
  // Migration 10 dropped the two indexes no query used (each cost every call's row a page).
  for (const char* gone : {"index calls_by_counsellor:", "index calls_by_caller:"}) {
    INFO(gone);
    CHECK(std::none_of(schema.begin(), schema.end(),
                       [&](const std::string& entry) { return entry.rfind(gone, 0) == 0; }));
  }

  std::unique_ptr<Store> reopened = OpenOrFail(db.path());
  CHECK(reopened->schema_version() == latest);
  CHECK(UserVersion(db.path()) == latest);
  CHECK(SchemaOf(db.path()) == schema);
  CheckSameRecord(FindOrFail(*reopened, "call-1"), CompletedCall("call-1"));
}

int PageSize(const std::string& path) {
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  return raw.execAndGet("PRAGMA page_size").getInt();
}

TEST_CASE("a new database has 2 KiB pages; one made with 4 KiB pages keeps them and upgrades",
          "[storage]") {
  // Each commit writes every page it touched to the WAL whole, and a checkpoint's sync costs in
  // proportion to those bytes (docs/performance.md): new files take the smaller page.
  TempDb made_now;
  {
    std::unique_ptr<Store> store = OpenOrFail(made_now.path());
    REQUIRE_OK(store->RecordCall(CompletedCall("call-1")));
  }
  CHECK(PageSize(made_now.path()) == 2048);

  // The daemon's own path: PrepareDataFiles makes the file, empty and 0600, before Open.
  TempDb made_empty;
  { std::ofstream touch(made_empty.path()); }
  REQUIRE(std::filesystem::file_size(made_empty.path()) == 0);
  {
    std::unique_ptr<Store> store = OpenOrFail(made_empty.path());
    REQUIRE_OK(store->RecordCall(CompletedCall("call-1")));
  }
  CHECK(PageSize(made_empty.path()) == 2048);

  // A file an earlier daemon made (SQLite's default page) is not rebuilt: it keeps its pages,
  // and every migration and commit works on them as before.
  TempDb made_before;
  CreateAtVersion(made_before.path(), 1);
  REQUIRE(PageSize(made_before.path()) == 4096);
  {
    std::unique_ptr<Store> store = OpenOrFail(made_before.path());
    CHECK(store->schema_version() == static_cast<int>(Migrations().size()));
    REQUIRE_OK(store->RecordCall(CompletedCall("call-1")));
  }
  CHECK(PageSize(made_before.path()) == 4096);
  std::unique_ptr<Store> reopened = OpenOrFail(made_before.path());
  CheckSameRecord(FindOrFail(*reopened, "call-1"), CompletedCall("call-1"));
}

TEST_CASE("migration 2 upgrades a version-1 database and keeps its rows", "[storage]") {
  TempDb db;
  {
    CreateAtVersion(db.path(), 1);
    SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
    // The rows a version-1 Store wrote for CompletedCall("call-1") and for AbandonedCall("call-2").
    raw.exec(R"sql(
INSERT INTO calls VALUES (
  'call-1', 'gw-hanoi-1', '9f86d081884c7d659a2feaa0c55ad015', '********67', 'thanh_hoa', 'vi',
  'abuse_report', 'high', 'female', 1760000000000, 1760000001000, 1760000004000, 1760000005500,
  1760000605500, 1760000640000, 'completed', 'c-lan', 5500, 600000, 2, 1, 'sexual_abuse',
  'referred_child_protection', 'repeat,silent', 1,
  'Referred to the provincial child protection office.', NULL);
INSERT INTO calls VALUES (
  'call-2', 'gw-hanoi-1', '2c26b46b68ffc68ff99b453c1d304134', '********12', 'ha_noi', 'vi',
  'counselling', 'normal', 'unspecified', 1760000000000, 1760000002000, NULL, NULL,
  1760000012000, NULL, 'abandoned', NULL, 12000, NULL, 1, 0, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO presence (counsellor_id, state, at) VALUES ('c-lan', 'available', 1760000000000);
INSERT INTO counsellors (counsellor_id, display_name, home_province, provinces, skills, languages,
  gender, endpoint, token_hash)
VALUES ('c-lan', 'Lan', 'thanh_hoa', '', 'counselling:3', 'vi', 'female', '1001', 'aa01');
)sql");
  }
  REQUIRE(UserVersion(db.path()) == 1);

  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const int latest = static_cast<int>(Migrations().size());
  CHECK(store->schema_version() == latest);
  CHECK(UserVersion(db.path()) == latest);
  CheckSameRecord(FindOrFail(*store, "call-1"), CompletedCall("call-1"));
  CheckSameRecord(FindOrFail(*store, "call-2"), AbandonedCall("call-2"));
  absl::StatusOr<std::vector<PresenceChange>> presence = store->PresenceHistory("c-lan");
  REQUIRE(presence.ok());
  CHECK(presence->size() == 1);
  CHECK(LoadOrFail(*store).size() == 1);

  // Insertion order survives: the old rowids became the ids.
  {
    SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
    SQLite::Statement ids(raw, "SELECT call_id FROM calls ORDER BY id");
    std::vector<std::string> order;
    while (ids.executeStep()) {
      order.push_back(ids.getColumn(0).getString());
    }
    CHECK(order == std::vector<std::string>{"call-1", "call-2"});
  }

  // The call id, unique in version 1, may now come back.
  CallRecord again = AbandonedCall("call-1");
  again.call.arrived_at = At(86'400'000);
  again.ended_at = At(86'410'000);
  REQUIRE_OK(store->RecordCall(again));
  CHECK(store->CountCalls("call-1").value_or(-1) == 2);
  CheckSameRecord(FindOrFail(*store, "call-1"), again);
}

TEST_CASE("migration 3 upgrades a version-2 database with rows and adds offers", "[storage]") {
  TempDb db;
  {
    CreateAtVersion(db.path(), 2);
    SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
    // The rows a version-2 Store wrote for AbandonedCall("call-2"), a journal entry and a snapshot.
    raw.exec(kAbandonedCallRowV2);
    raw.exec(R"sql(
INSERT INTO journal (seq, at, record) VALUES (7, 1760000000000, X'0801');
INSERT INTO snapshots (seq, at, state) VALUES (6, 1760000000000, X'00');
INSERT INTO request_results VALUES ('gateway:gw-1', 'ev-1', 1760000000000, 0, '', X'');
)sql");
  }
  REQUIRE(UserVersion(db.path()) == 2);

  std::unique_ptr<Store> store = OpenOrFail(db.path());
  CHECK(store->schema_version() == static_cast<int>(Migrations().size()));
  CHECK(UserVersion(db.path()) == static_cast<int>(Migrations().size()));
  CheckSameRecord(FindOrFail(*store, "call-2"), AbandonedCall("call-2"));
  CHECK(store->LastJournalSeq().value_or(-1) == 7);
  CHECK(store->LoadRequestResults(0).value_or(std::vector<RequestResult>{}).size() == 1);
  absl::StatusOr<std::vector<OfferRow>> none = store->ListOffers("call-2");
  REQUIRE(none.ok());
  CHECK(none->empty());

  Batch batch;
  const OfferRow offer{
      "call-2", "c-lan", 1'760'000'001'000, 0, "province", 3, "longest idle (42 s)", "", 0};
  batch.offers = {offer};
  REQUIRE_OK(store->Commit(batch));
  absl::StatusOr<std::vector<OfferRow>> offers = store->ListOffers("call-2");
  REQUIRE(offers.ok());
  CHECK(*offers == std::vector<OfferRow>{offer});
}

TEST_CASE("a completed call round-trips with every field, and its wait and talk times are stored",
          "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const CallRecord call = CompletedCall("call-1");
  REQUIRE_OK(store->RecordCall(call));

  CheckSameRecord(FindOrFail(*store, "call-1"), call);

  SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
  SQLite::Statement row(raw, "SELECT * FROM calls WHERE call_id = 'call-1'");
  REQUIRE(row.executeStep());
  CHECK(row.getColumn("topic").getString() == "abuse_report");
  CHECK(row.getColumn("priority").getString() == "high");
  CHECK(row.getColumn("gender_preference").getString() == "female");
  CHECK(row.getColumn("outcome").getString() == "completed");
  CHECK(row.getColumn("arrived_at").getInt64() == 1'760'000'000'000);
  CHECK(row.getColumn("answered_at").getInt64() == 1'760'000'005'500);
  CHECK(row.getColumn("ended_at").getInt64() == 1'760'000'605'500);
  CHECK(row.getColumn("wait_ms").getInt64() == 5'500);    // answered_at - arrived_at
  CHECK(row.getColumn("talk_ms").getInt64() == 600'000);  // ended_at - answered_at
  CHECK(row.getColumn("counsellor_id").getString() == "c-lan");
  CHECK(row.getColumn("caller_key").getString() == "9f86d081884c7d659a2feaa0c55ad015");
  CHECK(row.getColumn("flags").getString() == "repeat,silent");
  CHECK(row.getColumn("heavy").getInt() == 1);
  CHECK(row.getColumn("category").getString() == "sexual_abuse");
  CHECK(row.getColumn("reason").isNull());
}

TEST_CASE("an abandoned call is stored without counsellor, talk time or disposition", "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const CallRecord call = AbandonedCall("call-2");
  REQUIRE_OK(store->RecordCall(call));

  const CallRecord found = FindOrFail(*store, "call-2");
  CheckSameRecord(found, call);
  CHECK(found.counsellor_id.empty());
  CHECK_FALSE(found.answered_at.has_value());
  CHECK_FALSE(found.disposition.has_value());

  SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
  SQLite::Statement row(raw, "SELECT * FROM calls WHERE outcome = 'abandoned'");
  REQUIRE(row.executeStep());
  CHECK(row.getColumn("call_id").getString() == "call-2");
  CHECK(row.getColumn("counsellor_id").isNull());
  CHECK(row.getColumn("answered_at").isNull());
  CHECK(row.getColumn("accepted_at").isNull());
  CHECK(row.getColumn("wait_ms").getInt64() == 12'000);  // ended_at - arrived_at
  CHECK(row.getColumn("talk_ms").isNull());
  CHECK(row.getColumn("heavy").isNull());
  CHECK(row.getColumn("flags").isNull());
  CHECK(row.getColumn("gender_preference").getString() == "unspecified");
}

TEST_CASE("a failed call keeps its reason", "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  CallRecord call = AbandonedCall("call-3");
  call.outcome = Outcome::kFailed;
  call.reason = "gateway gw-hanoi-1 reconnected without this call";
  REQUIRE_OK(store->RecordCall(call));
  CheckSameRecord(FindOrFail(*store, "call-3"), call);
}

TEST_CASE("a call with an unknown province and a withheld number is stored and marked",
          "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  CallRecord call = AbandonedCall("call-4");
  call.call.province = "zz";
  call.call.province_unknown = true;
  call.call.caller_key.clear();
  call.call.caller_masked = "withheld";
  call.call.caller_withheld = true;
  REQUIRE_OK(store->RecordCall(call));
  CheckSameRecord(FindOrFail(*store, "call-4"), call);
}

TEST_CASE("a reused call id gets a second row, and finding it returns the latest", "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  REQUIRE_OK(store->RecordCall(CompletedCall("call-1")));

  // The gateway reused the id a day later: a different call, which must not be refused or lost.
  CallRecord later = AbandonedCall("call-1");
  later.call.arrived_at = At(86'400'000);
  later.ended_at = At(86'412'000);
  REQUIRE_OK(store->RecordCall(later));
  CHECK(store->CountCalls("call-1").value_or(-1) == 2);
  CheckSameRecord(FindOrFail(*store, "call-1"), later);

  // Recorded late but arrived earlier: the latest arrival still wins.
  CallRecord earlier = AbandonedCall("call-1");
  earlier.call.arrived_at = At(-86'400'000);
  earlier.ended_at = At(-86'390'000);
  REQUIRE_OK(store->RecordCall(earlier));
  CheckSameRecord(FindOrFail(*store, "call-1"), later);

  // The same arrival twice (a record written again): the one inserted last wins.
  CallRecord rewritten = later;
  rewritten.outcome = Outcome::kFailed;
  rewritten.reason = "gateway gw-hanoi-1 reconnected without this call";
  REQUIRE_OK(store->RecordCall(rewritten));
  CHECK(store->CountCalls("call-1").value_or(-1) == 4);
  CheckSameRecord(FindOrFail(*store, "call-1"), rewritten);
  CHECK(store->CountCalls("call-2").value_or(-1) == 0);
}

TEST_CASE("finding a call that was never recorded returns no record", "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  absl::StatusOr<std::optional<CallRecord>> found = store->FindCall("nope");
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());
}

TEST_CASE("counsellors are inserted, refused twice, updated, removed and reported missing",
          "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const StoredCounsellor lan = Counsellor("c-lan", "aa01");
  StoredCounsellor minh = Counsellor("c-minh", "bb02");
  minh.profile.display_name = "Trần Văn Minh";
  minh.profile.gender = Gender::kMale;
  minh.profile.provinces = {};
  minh.profile.skills = {};
  minh.profile.languages = {"vi"};
  REQUIRE_OK(store->InsertCounsellor(minh));
  REQUIRE_OK(store->InsertCounsellor(lan));

  SECTION("they load back ordered by id, with every field") {
    CHECK(LoadOrFail(*store) == std::vector<StoredCounsellor>{lan, minh});

    SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
    SQLite::Statement row(raw, "SELECT * FROM counsellors WHERE counsellor_id = 'c-lan'");
    REQUIRE(row.executeStep());
    CHECK(row.getColumn("skills").getString() == "abuse_report:4,counselling:3");
    CHECK(row.getColumn("provinces").getString() == "nghe_an,ninh_binh");
    CHECK(row.getColumn("languages").getString() == "vi,hmn,tha");
    CHECK(row.getColumn("gender").getString() == "female");
    CHECK(row.getColumn("token_hash").getString() == "aa01");
    CHECK(row.getColumn("created_at").getInt64() > 1'700'000'000'000);
  }

  SECTION("a second counsellor with the same id is refused") {
    const absl::Status status = store->InsertCounsellor(Counsellor("c-lan", "cc03"));
    CHECK(status.code() == absl::StatusCode::kAlreadyExists);
    CHECK(LoadOrFail(*store) == std::vector<StoredCounsellor>{lan, minh});
    // With the token hash taken too, the message still names the id.
    const absl::Status both = store->InsertCounsellor(Counsellor("c-lan", "aa01"));
    CHECK(both.code() == absl::StatusCode::kAlreadyExists);
    CHECK_THAT(std::string(both.message()), Catch::Contains("counsellor 'c-lan' already exists"));
  }

  SECTION("a second counsellor with the same token hash is refused") {
    const absl::Status status = store->InsertCounsellor(Counsellor("c-other", "aa01"));
    CHECK(status.code() == absl::StatusCode::kAlreadyExists);
    CHECK_THAT(std::string(status.message()), Catch::Contains("token_hash"));
    CHECK(LoadOrFail(*store).size() == 2);
  }

  SECTION("an update replaces the profile and keeps the token hash") {
    CounsellorProfile changed = lan.profile;
    changed.display_name = "Lan (senior)";
    changed.skills[Topic::kInformationLegal] = 5;
    changed.skills.erase(Topic::kCounselling);
    changed.provinces = {"ha_noi"};
    changed.languages = {"vi"};
    changed.endpoint = "1001";
    REQUIRE_OK(store->UpdateCounsellor(changed));

    const std::vector<StoredCounsellor> loaded = LoadOrFail(*store);
    REQUIRE(loaded.size() == 2);
    CHECK(loaded[0].profile == changed);
    CHECK(loaded[0].token_hash == "aa01");
    CHECK(loaded[1] == minh);
  }

  SECTION("updating a counsellor who does not exist is NOT_FOUND") {
    CounsellorProfile ghost = lan.profile;
    ghost.id = "c-ghost";
    CHECK(store->UpdateCounsellor(ghost).code() == absl::StatusCode::kNotFound);
    CHECK(LoadOrFail(*store) == std::vector<StoredCounsellor>{lan, minh});
  }

  SECTION("a removed counsellor is gone, and removing them again is NOT_FOUND") {
    REQUIRE_OK(store->RemoveCounsellor("c-lan"));
    CHECK(LoadOrFail(*store) == std::vector<StoredCounsellor>{minh});
    CHECK(store->RemoveCounsellor("c-lan").code() == absl::StatusCode::kNotFound);
    // Their token hash is free again.
    REQUIRE_OK(store->InsertCounsellor(Counsellor("c-lan-2", "aa01")));
  }
}

TEST_CASE("presence history comes back in the order it happened", "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  const std::vector<PresenceChange> lan = {
      {"c-lan", CounsellorState::kAvailable, BreakReason::kNone, At(0), ""},
      {"c-lan", CounsellorState::kReserved, BreakReason::kNone, At(1'000), "call-1"},
      {"c-lan", CounsellorState::kOnCall, BreakReason::kNone, At(4'000), "call-1"},
      {"c-lan", CounsellorState::kWrapUp, BreakReason::kNone, At(600'000), "call-1"},
      // Same millisecond as the wrap-up ending: insertion order decides.
      {"c-lan", CounsellorState::kBreak, BreakReason::kCoolDown, At(645'000), ""},
      {"c-lan", CounsellorState::kAvailable, BreakReason::kNone, At(645'000), ""},
  };
  for (const PresenceChange& change : lan) {
    REQUIRE_OK(store->RecordPresence(change));
    REQUIRE_OK(store->RecordPresence(
        {"c-minh", CounsellorState::kOffline, BreakReason::kNone, change.at, ""}));
  }
  // Recorded late but earlier in time: it sorts first.
  const PresenceChange signed_in{"c-lan", CounsellorState::kOffline, BreakReason::kNone,
                                 At(-60'000), ""};
  REQUIRE_OK(store->RecordPresence(signed_in));

  absl::StatusOr<std::vector<PresenceChange>> history = store->PresenceHistory("c-lan");
  INFO(history.status().ToString());
  REQUIRE(history.ok());
  std::vector<PresenceChange> want = {signed_in};
  want.insert(want.end(), lan.begin(), lan.end());
  REQUIRE(history->size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("change " << i);
    CHECK((*history)[i].counsellor_id == "c-lan");
    CHECK((*history)[i].state == want[i].state);
    CHECK((*history)[i].reason == want[i].reason);
    CHECK(ToUnixMillis((*history)[i].at) == ToUnixMillis(want[i].at));
    CHECK((*history)[i].call_id == want[i].call_id);
  }

  absl::StatusOr<std::vector<PresenceChange>> nobody = store->PresenceHistory("c-nobody");
  REQUIRE(nobody.ok());
  CHECK(nobody->empty());

  SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("SELECT COUNT(*) FROM presence WHERE reason IS NULL AND call_id IS NULL")
            .getInt() == 3 + 6);
  CHECK(raw.execAndGet("SELECT reason FROM presence WHERE state = 'break'").getString() ==
        "cool_down");
}

TEST_CASE("migration 7 upgrades a version-6 database with calls, which has no key fingerprint",
          "[storage]") {
  TempDb db;
  CreateWithAbandonedCall(db.path(), 6);
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  CHECK(UserVersion(db.path()) == static_cast<int>(Migrations().size()));  // 7 and any later
  CheckSameRecord(FindOrFail(*store, "call-2"), AbandonedCall("call-2"));
  // The daemon then knows the rows were keyed with a key it cannot check.
  CHECK(store->CallerKeyFingerprint().value_or("?") == std::nullopt);
  CHECK(store->HoldsCallerKeys().value_or(false));
}

TEST_CASE("migration 10 drops two unused indexes from a version-9 database and keeps its calls",
          "[storage]") {
  TempDb db;
  CreateWithAbandonedCall(db.path(), 9);
  const auto has = [&](const std::string& entry) {
    const std::vector<std::string> schema = SchemaOf(db.path());
    return std::any_of(schema.begin(), schema.end(),
                       [&](const std::string& e) { return e.rfind(entry, 0) == 0; });
  };
  REQUIRE(has("index calls_by_counsellor:"));
  REQUIRE(has("index calls_by_caller:"));
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  CHECK(UserVersion(db.path()) == static_cast<int>(Migrations().size()));  // 10 and any later
  CHECK_FALSE(has("index calls_by_counsellor:"));
  CHECK_FALSE(has("index calls_by_caller:"));
  CHECK(has("index calls_by_counsellor_handling:"));  // Serves every lookup by counsellor.
  CheckSameRecord(FindOrFail(*store, "call-2"), AbandonedCall("call-2"));
  REQUIRE_OK(store->RecordCall(CompletedCall("call-3")));
  CheckSameRecord(FindOrFail(*store, "call-3"), CompletedCall("call-3"));
}

TEST_CASE("migration 12 gives a version-11 database its wal_restarts row and keeps its calls",
          "[storage]") {
  TempDb db;
  CreateWithAbandonedCall(db.path(), 11);
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  CHECK(UserVersion(db.path()) == static_cast<int>(Migrations().size()));  // 12 and any later
  CHECK(Count(db.path(), "SELECT COUNT(*) FROM wal_restarts") == 1);
  CHECK(Count(db.path(), "SELECT restarts FROM wal_restarts WHERE id = 1") == 0);
  CheckSameRecord(FindOrFail(*store, "call-2"), AbandonedCall("call-2"));
  // The one row stays one: a second is refused by its CHECK.
  SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
  CHECK_THROWS_AS(raw.exec("INSERT INTO wal_restarts (id, restarts) VALUES (2, 0)"),
                  SQLite::Exception);
}

TEST_CASE("a late disposition finds its call's row by the call id, not among the counsellor's",
          "[storage]") {
  TempDb db;
  OpenOrFail(db.path());
  SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
  SQLite::Statement s(raw, std::string("EXPLAIN QUERY PLAN ") + sql::kLateDisposition);
  std::string plan;
  while (s.executeStep()) {
    plan += s.getColumn(3).getString() + "\n";
  }
  INFO(plan);
  // A counsellor's index would read every call they ever took to find one.
  CHECK_THAT(plan, Catch::Contains("calls_by_call_id"));
  CHECK_THAT(plan, !Catch::Contains("counsellor"));
}

TEST_CASE("accounts are saved by name with their token hash and read back revoked or not",
          "[storage]") {
  TempDb db;
  {
    std::unique_ptr<Store> store = OpenOrFail(db.path());
    const StoredAccount gw{"gw-north", "gateway", "gw-north", "aa11", 1000, 0};
    const StoredAccount lan{"lan", "supervisor", "", "bb22", 2000, 0};
    REQUIRE_OK(store->SaveAccount(gw));
    REQUIRE_OK(store->SaveAccount(lan));
    CHECK(store->SaveAccount({"x", "admin", "", "aa11", 1, 0}).code() ==
          absl::StatusCode::kAlreadyExists);  // Another account's hash.
    CHECK(store->SaveAccount({"", "admin", "", "cc33", 1, 0}).code() ==
          absl::StatusCode::kInvalidArgument);
    CHECK(store->SaveAccount({"y", "admin", "", "NOT HEX", 1, 0}).code() ==
          absl::StatusCode::kInvalidArgument);
    REQUIRE_OK(store->SaveAccount({"lan", "supervisor", "", "bb22", 2000, 3000}));  // Revoked.
  }
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  auto accounts = store->LoadAccounts();
  REQUIRE(accounts.ok());
  REQUIRE(accounts->size() == 2);
  CHECK((*accounts)[0] == StoredAccount{"gw-north", "gateway", "gw-north", "aa11", 1000, 0});
  CHECK((*accounts)[1] == StoredAccount{"lan", "supervisor", "", "bb22", 2000, 3000});
}

TEST_CASE("a caller key fingerprint is recorded once and never replaced", "[storage]") {
  TempDb db;
  {
    std::unique_ptr<Store> store = OpenOrFail(db.path());
    CHECK(store->CallerKeyFingerprint().value_or("?") == std::nullopt);
    CHECK(store->RecordCallerKeyFingerprint("").code() == absl::StatusCode::kInvalidArgument);
    REQUIRE_OK(store->RecordCallerKeyFingerprint("f00d"));
    CHECK(store->RecordCallerKeyFingerprint("beef").code() == absl::StatusCode::kAlreadyExists);
  }
  std::unique_ptr<Store> reopened = OpenOrFail(db.path());
  CHECK(reopened->CallerKeyFingerprint().value_or("?") == "f00d");
}

TEST_CASE("a database holds caller keys once it has a keyed call, a journal record or a snapshot",
          "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");
  CHECK_FALSE(store->HoldsCallerKeys().value_or(true));
  SECTION("a withheld caller's call has no key") {
    CallRecord call = AbandonedCall("call-2");
    call.call.caller_key.clear();
    call.call.caller_withheld = true;
    REQUIRE_OK(store->RecordCall(call));
    CHECK_FALSE(store->HoldsCallerKeys().value_or(true));
  }
  SECTION("a call") {
    REQUIRE_OK(store->RecordCall(AbandonedCall("call-2")));
    CHECK(store->HoldsCallerKeys().value_or(false));
  }
  SECTION("a journal record") {
    Batch batch;
    batch.journal = {JournalEntry{1, 1'760'000'000'000, "x"}};
    REQUIRE_OK(store->Commit(batch));
    CHECK(store->HoldsCallerKeys().value_or(false));
  }
}

TEST_CASE("the database file is in WAL mode", "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  SQLite::Database raw(db.path(), SQLite::OPEN_READONLY);
  CHECK(raw.execAndGet("PRAGMA journal_mode").getString() == "wal");
}

TEST_CASE("a database whose schema is newer than this build is FAILED_PRECONDITION", "[storage]") {
  TempDb db;
  {
    SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA user_version = 99");
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db.path());
  CHECK(store.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(store.status().message()), Catch::Contains("99"));
  CHECK(UserVersion(db.path()) == 99);
}

TEST_CASE("opening in a missing directory returns UNAVAILABLE, not an exception", "[storage]") {
  const std::string path =
      (std::filesystem::temp_directory_path() / "hotline-no-such-dir-5f1c" / "hotline.db").string();
  REQUIRE_FALSE(std::filesystem::exists(std::filesystem::path(path).parent_path()));
  absl::StatusOr<std::unique_ptr<Store>> store;
  REQUIRE_NOTHROW(store = Store::Open(path));
  CHECK(store.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(store.status().message()), Catch::Contains(path));
}

TEST_CASE("a file that is not a SQLite database is refused with FAILED_PRECONDITION", "[storage]") {
  TempDb db;
  {
    std::ofstream file(db.path());
    file << "this is a policy file, not a database, and it is long enough to have a header\n";
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db.path());
  CHECK(store.status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a stored value this build cannot parse is reported as corrupt, not misread",
          "[storage]") {
  TempDb db;
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  REQUIRE_OK(store->RecordCall(CompletedCall("call-1")));
  REQUIRE_OK(store->InsertCounsellor(Counsellor("c-lan", "aa01")));
  {
    SQLite::Database raw(db.path(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE calls SET topic = 'astrology' WHERE call_id = 'call-1'");
    raw.exec("UPDATE counsellors SET skills = 'abuse_report:four'");
  }

  absl::StatusOr<std::optional<CallRecord>> found = store->FindCall("call-1");
  CHECK(found.status().code() == absl::StatusCode::kInternal);
  CHECK_THAT(std::string(found.status().message()),
             Catch::Contains("corrupt value 'astrology' in column calls.topic"));

  absl::StatusOr<std::vector<StoredCounsellor>> loaded = store->LoadCounsellors();
  CHECK(loaded.status().code() == absl::StatusCode::kInternal);
  CHECK_THAT(std::string(loaded.status().message()),
             Catch::Contains("corrupt value 'abuse_report:four' in column counsellors.skills"));
}

TEST_CASE("input the database could not give back is refused with INVALID_ARGUMENT", "[storage]") {
  std::unique_ptr<Store> store = OpenOrFail(":memory:");

  CallRecord no_id = CompletedCall("");
  CHECK(store->RecordCall(no_id).code() == absl::StatusCode::kInvalidArgument);

  CallRecord comma_flag = CompletedCall("call-1");
  comma_flag.disposition->flags = {"silent,prank"};
  CHECK(store->RecordCall(comma_flag).code() == absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::optional<CallRecord>> found = store->FindCall("call-1");
  REQUIRE(found.ok());
  CHECK_FALSE(found->has_value());

  CallRecord bad_topic = CompletedCall("call-2");
  bad_topic.call.topic = static_cast<Topic>(42);
  CHECK(store->RecordCall(bad_topic).code() == absl::StatusCode::kInvalidArgument);

  CHECK(store->InsertCounsellor(Counsellor("c-lan", "the-raw-desk-token")).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(store->InsertCounsellor(Counsellor("c-lan", "")).code() ==
        absl::StatusCode::kInvalidArgument);
  StoredCounsellor empty_language = Counsellor("c-lan", "aa01");
  empty_language.profile.languages = {"vi", ""};
  CHECK(store->InsertCounsellor(empty_language).code() == absl::StatusCode::kInvalidArgument);
  CHECK(LoadOrFail(*store).empty());

  CHECK(store->RecordPresence({"", CounsellorState::kAvailable, BreakReason::kNone, At(0), ""})
            .code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("every enum name reads back as the same value", "[storage]") {
  for (int i = 1; i <= 4; ++i) {
    CHECK(ParsePriority(routing::Name(static_cast<Priority>(i))) == static_cast<Priority>(i));
    CHECK(ParseTopic(routing::Name(static_cast<Topic>(i))) == static_cast<Topic>(i));
  }
  for (int i = 0; i <= 2; ++i) {
    CHECK(ParseGender(routing::Name(static_cast<Gender>(i))) == static_cast<Gender>(i));
  }
  for (int i = 1; i <= 6; ++i) {
    const auto state = static_cast<CounsellorState>(i);
    CHECK(ParseCounsellorState(routing::Name(state)) == state);
    CHECK(ParseOutcome(routing::Name(static_cast<Outcome>(i))) == static_cast<Outcome>(i));
  }
  for (int i = 1; i <= 5; ++i) {
    const auto reason = static_cast<BreakReason>(i);
    CHECK(ParseBreakReason(routing::Name(reason)) == reason);
  }
  CHECK_FALSE(ParseBreakReason("").has_value());
  CHECK_FALSE(ParseOutcome("Abandoned").has_value());
  CHECK_FALSE(ParseTopic("?").has_value());
}

}  // namespace
}  // namespace hotline::storage
