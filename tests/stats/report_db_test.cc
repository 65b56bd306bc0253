// A report over a real SQLite file: report_scenario.h's rows written by the store, read back by
// storage::ReportReader and grouped by stats::ReportBuilder, give the figures computed by hand.
#include <catch2/catch.hpp>
#include <memory>

#include "stats/dispositions.h"
#include "stats/report.h"
#include "storage/report_rows.h"
#include "storage/store.h"
#include "tests/stats/report_scenario.h"
#include "tests/storage/storage_testing.h"

namespace hotline::stats::testing {

// report_test.cc: the hand-computed figures of the scenario's whole period.
void CheckScenarioTotal(const Tally& total);

namespace {

using storage::testing::TempDb;

// Writes the scenario's rows into a new database file.
void WriteScenario(const std::string& path) {
  std::unique_ptr<storage::Store> store = storage::testing::OpenOrFail(path);
  for (const CallRecord& call : Calls()) {
    REQUIRE_OK(store->RecordCall(call));
  }
  for (const PresenceChange& change : PresenceRows()) {
    REQUIRE_OK(store->RecordPresence(change));
  }
}

Report ReportFrom(const std::string& path, GroupBy by) {
  absl::StatusOr<std::unique_ptr<storage::ReportReader>> reader = storage::ReportReader::Open(path);
  REQUIRE(reader.ok());
  ReportBuilder builder(by, kFrom, kTo, Context());
  const absl::Status read = (*reader)->Read(
      kFrom, kTo,
      [&](const CallRecord& call) {
        builder.AddCall(call);
        return absl::OkStatus();
      },
      [&](const PresenceChange& change) {
        builder.AddPresence(change);
        return absl::OkStatus();
      });
  REQUIRE_OK(read);
  return std::move(builder).Finish();
}

TEST_CASE("a report over a database file gives the hand-computed figures", "[stats][report]") {
  TempDb db;
  WriteScenario(db.path());
  const Report by_centre = ReportFrom(db.path(), GroupBy::kCentre);
  CheckScenarioTotal(by_centre.total);
  REQUIRE(by_centre.rows.size() == 3);
  CHECK(by_centre.rows[2].key == "north");
  const Figures north = Derive(by_centre.rows[2].tally);
  CHECK(north.offered == 3);
  CHECK(north.handled == 3);
  CHECK(north.average_handling_time == Millis(521'000));  // (345 + 648 + 570) / 3
  CHECK(*north.occupancy == Approx(345.0 / 3600.0));

  const Report by_hour = ReportFrom(db.path(), GroupBy::kHour);
  REQUIRE(by_hour.rows.size() == 2);
  CHECK(by_hour.rows[0].key == "10");
  CHECK(by_hour.rows[0].tally.offered == 5);
  CHECK(by_hour.rows[1].key == "11");
  CHECK(by_hour.rows[1].tally.staffed_ms == 3'600'000);
}

TEST_CASE("the disposition export over a database file counts handled calls", "[stats][report]") {
  TempDb db;
  WriteScenario(db.path());
  absl::StatusOr<std::unique_ptr<storage::ReportReader>> reader =
      storage::ReportReader::Open(db.path());
  REQUIRE(reader.ok());
  DispositionCounter counter(kFrom, kTo);
  const absl::Status read = (*reader)->Read(
      kFrom, kTo,
      [&](const CallRecord& call) {
        counter.AddCall(call);
        return absl::OkStatus();
      },
      nullptr);
  REQUIRE_OK(read);
  // c1, c2, c3, c7 handled in the period, all "family_relationships" / "counselled".
  const std::vector<DispositionCount> counts = counter.Counts();
  REQUIRE(counts.size() == 1);
  CHECK(counts[0].labels == ChiLabels{"Family relationships", "Not specified", "Counselling"});
  CHECK(counts[0].count == 4);
}

}  // namespace
}  // namespace hotline::stats::testing
