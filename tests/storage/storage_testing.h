// Helpers shared by the storage tests: temporary database files, status checks, and sample
// calls and counsellors.
#pragma once

#include <SQLiteCpp/Database.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/types.h"
#include "storage/migrations.h"
#include "storage/store.h"

namespace Catch {
template <>
struct StringMaker<absl::StatusCode> {
  static std::string convert(absl::StatusCode code) { return absl::StatusCodeToString(code); }
};
}  // namespace Catch

namespace hotline::storage::testing {

using routing::CallRecord;
using routing::FromUnixMillis;
using routing::Gender;
using routing::Outcome;
using routing::Priority;
using routing::Timestamp;
using routing::Topic;
using routing::ToUnixMillis;

#define REQUIRE_OK(expr)                 \
  do {                                   \
    const absl::Status status_ = (expr); \
    INFO(status_.ToString());            \
    REQUIRE(status_.ok());               \
  } while (false)

// A database file under the system temporary directory with a name no other test or process
// uses; removed, with its WAL and shared-memory files, at the end of the test.
class TempDb final {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("hotline-storage-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++) + "-" + std::to_string(now) + ".db");
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  ~TempDb() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::filesystem::remove(path_.string() + suffix, ignored);
    }
  }

  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Creates a database at `path` as a build that knew the first `version` migrations left it.
inline void CreateAtVersion(const std::string& path, int version) {
  SQLite::Database raw(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  for (int i = 0; i < version; ++i) {
    raw.exec(std::string(Migrations()[static_cast<std::size_t>(i)]));
  }
  raw.exec("PRAGMA user_version = " + std::to_string(version));
}

// The row a Store of schema versions 2 to 4 wrote for AbandonedCall("call-2").
inline constexpr const char* kAbandonedCallRowV2 = R"sql(
INSERT INTO calls (call_id, gateway_id, caller_key, caller_masked, province, language, topic,
  priority, gender_preference, arrived_at, first_offered_at, ended_at, outcome, wait_ms, offers,
  final_step)
VALUES ('call-2', 'gw-hanoi-1', '2c26b46b68ffc68ff99b453c1d304134', '********12', 'ha_noi', 'vi',
  'counselling', 'normal', 'unspecified', 1760000000000, 1760000002000, 1760000012000,
  'abandoned', 12000, 1, 0);
)sql";

// A database at `version` holding the row of kAbandonedCallRowV2 (version 2 or later).
inline void CreateWithAbandonedCall(const std::string& path, int version) {
  CreateAtVersion(path, version);
  SQLite::Database raw(path, SQLite::OPEN_READWRITE);
  raw.exec(kAbandonedCallRowV2);
}

// The single integer `sql` answers, read through a connection of its own.
inline int64_t Count(const std::string& path, const std::string& sql) {
  SQLite::Database raw(path, SQLite::OPEN_READONLY);
  return raw.execAndGet(sql).getInt64();
}

inline std::unique_ptr<Store> OpenOrFail(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return *std::move(store);
}

inline const Timestamp kT0 =
    FromUnixMillis(1'760'000'000'000);  // 2025-10-09, after the 2025 merger.

inline Timestamp At(int64_t ms_after_t0) { return kT0 + routing::Millis(ms_after_t0); }

inline CallRecord CompletedCall(const std::string& call_id) {
  CallRecord r;
  r.call.call_id = call_id;
  r.call.gateway_id = "gw-hanoi-1";
  r.call.caller_key = "9f86d081884c7d659a2feaa0c55ad015";
  r.call.caller_masked = "********67";
  r.call.province = "thanh_hoa";
  r.call.language = "vi";
  r.call.topic = Topic::kAbuseReport;
  r.call.priority = Priority::kHigh;
  r.call.gender_preference = Gender::kFemale;
  r.call.arrived_at = At(0);
  r.outcome = Outcome::kCompleted;
  r.counsellor_id = "c-lan";
  r.first_offered_at = At(1'000);
  r.accepted_at = At(4'000);
  r.answered_at = At(5'500);
  r.ended_at = At(605'500);
  r.wrap_up_done_at = At(640'000);
  r.offers = 2;
  r.final_step = 1;
  r.disposition = routing::Disposition{
      .category = "sexual_abuse",
      .action = "referred_child_protection",
      .flags = {"repeat", "silent"},
      .heavy = true,
      .note = "Referred to the provincial child protection office.",
  };
  return r;
}

inline CallRecord AbandonedCall(const std::string& call_id) {
  CallRecord r;
  r.call.call_id = call_id;
  r.call.gateway_id = "gw-hanoi-1";
  r.call.caller_key = "2c26b46b68ffc68ff99b453c1d304134";
  r.call.caller_masked = "********12";
  r.call.province = "ha_noi";
  r.call.language = "vi";
  r.call.topic = Topic::kCounselling;
  r.call.priority = Priority::kNormal;
  r.call.arrived_at = At(0);
  r.outcome = Outcome::kAbandoned;
  r.first_offered_at = At(2'000);
  r.ended_at = At(12'000);
  r.offers = 1;
  return r;
}

inline StoredCounsellor Counsellor(const std::string& id, const std::string& token_hash) {
  StoredCounsellor c;
  c.profile.id = id;
  c.profile.display_name = "Nguyễn Thị Lan";
  c.profile.home_province = "thanh_hoa";
  c.profile.provinces = {"nghe_an", "ninh_binh"};
  c.profile.skills = {{Topic::kAbuseReport, 4}, {Topic::kCounselling, 3}};
  c.profile.languages = {"vi", "hmn", "tha"};
  c.profile.gender = Gender::kFemale;
  c.profile.endpoint = "sip:lan@desk.hotline.local";
  c.token_hash = token_hash;
  return c;
}

inline std::optional<int64_t> Millis(const std::optional<Timestamp>& t) {
  if (!t) {
    return std::nullopt;
  }
  return ToUnixMillis(*t);
}

inline void CheckSameRecord(const CallRecord& got, const CallRecord& want) {
  CHECK(got.call.call_id == want.call.call_id);
  CHECK(got.call.gateway_id == want.call.gateway_id);
  CHECK(got.call.caller_key == want.call.caller_key);
  CHECK(got.call.caller_masked == want.call.caller_masked);
  CHECK(got.call.province == want.call.province);
  CHECK(got.call.province_unknown == want.call.province_unknown);
  CHECK(got.call.caller_withheld == want.call.caller_withheld);
  CHECK(got.call.language == want.call.language);
  CHECK(got.call.topic == want.call.topic);
  CHECK(got.call.priority == want.call.priority);
  CHECK(got.call.gender_preference == want.call.gender_preference);
  CHECK(ToUnixMillis(got.call.arrived_at) == ToUnixMillis(want.call.arrived_at));
  CHECK(got.outcome == want.outcome);
  CHECK(got.counsellor_id == want.counsellor_id);
  CHECK(Millis(got.first_offered_at) == Millis(want.first_offered_at));
  CHECK(Millis(got.accepted_at) == Millis(want.accepted_at));
  CHECK(Millis(got.answered_at) == Millis(want.answered_at));
  CHECK(ToUnixMillis(got.ended_at) == ToUnixMillis(want.ended_at));
  CHECK(Millis(got.wrap_up_done_at) == Millis(want.wrap_up_done_at));
  CHECK(got.offers == want.offers);
  CHECK(got.final_step == want.final_step);
  REQUIRE(got.disposition.has_value() == want.disposition.has_value());
  if (want.disposition) {
    CHECK(got.disposition->category == want.disposition->category);
    CHECK(got.disposition->action == want.disposition->action);
    CHECK(got.disposition->flags == want.disposition->flags);
    CHECK(got.disposition->heavy == want.disposition->heavy);
    CHECK(got.disposition->note == want.disposition->note);
  }
  CHECK(got.reason == want.reason);
}

inline CallRecord FindOrFail(Store& store, const std::string& call_id) {
  absl::StatusOr<std::optional<CallRecord>> found = store.FindCall(call_id);
  INFO(found.status().ToString());
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  return **found;
}

inline std::vector<StoredCounsellor> LoadOrFail(Store& store) {
  absl::StatusOr<std::vector<StoredCounsellor>> loaded = store.LoadCounsellors();
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  return *std::move(loaded);
}

}  // namespace hotline::storage::testing
