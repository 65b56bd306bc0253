// ReportBuilder and DispositionCounter over the rows of report_scenario.h, in memory; every
// expected figure computed by hand in the comments.
#include "stats/report.h"

#include <catch2/catch.hpp>
#include <map>

#include "stats/dispositions.h"
#include "tests/stats/report_scenario.h"

namespace hotline::stats::testing {
namespace {

Report Build(GroupBy by, ReportContext context = Context()) {
  ReportBuilder builder(by, kFrom, kTo, std::move(context));
  for (const CallRecord& call : Calls()) {
    builder.AddCall(call);
  }
  for (const PresenceChange& change : PresenceRows()) {
    builder.AddPresence(change);
  }
  return std::move(builder).Finish();
}

std::map<std::string, Tally> ByKey(const Report& report) {
  std::map<std::string, Tally> rows;
  for (const ReportRow& row : report.rows) {
    rows[row.key] = row.tally;
  }
  return rows;
}

std::vector<std::string> Keys(const Report& report) {
  std::vector<std::string> keys;
  for (const ReportRow& row : report.rows) {
    keys.push_back(row.key);
  }
  return keys;
}

}  // namespace

// Shared with the report over a real database (report_db_test.cc).
void CheckScenarioTotal(const Tally& total) {
  const Figures f = Derive(total);
  // Decided in the period: c1, c2, c3, c4, c5, c6, c8 (c7 before, c9 after).
  CHECK(f.offered == 7);
  CHECK(f.answered == 4);            // c1, c2, c3, c8
  CHECK(f.answered_in_target == 3);  // c1 15 s, c3 20 s, c8 5 s; not c2 (emergency, 12 s)
  CHECK(f.abandoned == 1);           // c5
  CHECK(f.short_abandoned == 1);     // c4
  CHECK(f.other_unanswered == 1);    // c6
  // 3 / (7 - 1) and 1 / (7 - 1).
  CHECK(*f.service_level == Approx(0.5));
  CHECK(*f.abandonment_rate == Approx(1.0 / 6.0));
  // (15 + 12 + 20 + 5) / 4 = 13 s.
  CHECK(f.average_speed_of_answer == Millis(13'000));
  // Handling ended in the period: c1 345 s, c2 648 s, c3 700 s, c7 570 s; 2263 / 4 = 565.75 s.
  CHECK(f.handled == 4);
  CHECK(total.handle_ms == 2'263'000);
  CHECK(f.average_handling_time == Millis(565'750));
  // lan staffed 3600 s, busy 345 s; minh staffed 6900 s, busy 650 s: 995 / 10500.
  CHECK(total.staffed_ms == 10'500'000);
  CHECK(total.busy_ms == 995'000);
  CHECK(*f.occupancy == Approx(995.0 / 10'500.0));
  CHECK(f.answered_in_own_province == 3);  // c1 (lan, ha_noi), c3 and c8 (minh, da_nang)
  CHECK(f.answered_in_own_centre == 3);    // the same; c2 went from the north to minh
}

TEST_CASE("a report's total has every figure of the period", "[stats][report]") {
  CheckScenarioTotal(Build(GroupBy::kCentre).total);
  // The total does not depend on the grouping.
  for (GroupBy by : {GroupBy::kProvince, GroupBy::kTopic, GroupBy::kPriority, GroupBy::kCounsellor,
                     GroupBy::kHour}) {
    CHECK(Build(by).total == Build(GroupBy::kCentre).total);
  }
}

TEST_CASE("a report by centre groups calls by the caller's centre and presence by home",
          "[stats][report]") {
  const Report report = Build(GroupBy::kCentre);
  CHECK(Keys(report) == std::vector<std::string>{"(unknown)", "central", "north"});
  std::map<std::string, Tally> rows = ByKey(report);

  // north: c1, c2, c4 decided; c1, c2, c7 handled; lan's presence.
  const Figures north = Derive(rows["north"]);
  CHECK(north.offered == 3);
  CHECK(north.answered == 2);
  CHECK(north.answered_in_target == 1);
  CHECK(north.short_abandoned == 1);
  CHECK(*north.service_level == Approx(0.5));              // 1 / (3 - 1)
  CHECK(*north.abandonment_rate == Approx(0.0));           // 0 / 2
  CHECK(north.average_speed_of_answer == Millis(13'500));  // (15 + 12) / 2
  CHECK(north.handled == 3);
  CHECK(north.average_handling_time == Millis(521'000));  // (345 + 648 + 570) / 3
  CHECK(*north.occupancy == Approx(345.0 / 3600.0));
  CHECK(north.answered_in_own_province == 1);
  CHECK(north.answered_in_own_centre == 1);

  // central: c3, c5, c8 decided; c3 handled; minh's presence.
  const Figures central = Derive(rows["central"]);
  CHECK(central.offered == 3);
  CHECK(central.answered == 2);
  CHECK(central.answered_in_target == 2);
  CHECK(central.abandoned == 1);
  CHECK(*central.service_level == Approx(2.0 / 3.0));
  CHECK(*central.abandonment_rate == Approx(1.0 / 3.0));
  CHECK(central.average_speed_of_answer == Millis(12'500));  // (20 + 5) / 2
  CHECK(central.handled == 1);
  CHECK(central.average_handling_time == Millis(700'000));
  CHECK(*central.occupancy == Approx(650.0 / 6900.0));
  CHECK(central.answered_in_own_province == 2);

  // (unknown): c6, a province the tree does not know.
  const Figures unknown = Derive(rows["(unknown)"]);
  CHECK(unknown.offered == 1);
  CHECK(unknown.other_unanswered == 1);
  CHECK(*unknown.service_level == Approx(0.0));
  CHECK_FALSE(unknown.occupancy.has_value());
}

TEST_CASE("a report by province keys unknown provinces apart", "[stats][report]") {
  const Report report = Build(GroupBy::kProvince);
  CHECK(Keys(report) ==
        std::vector<std::string>{"(unknown)", "da_nang", "ha_noi", "hue", "thanh_hoa"});
  std::map<std::string, Tally> rows = ByKey(report);
  CHECK(rows["ha_noi"].offered == 2);              // c1, c4
  CHECK(rows["ha_noi"].handled == 2);              // c1, c7
  CHECK(rows["ha_noi"].staffed_ms == 3'600'000);   // lan's home
  CHECK(rows["da_nang"].staffed_ms == 6'900'000);  // minh's home
  CHECK(rows["thanh_hoa"].staffed_ms == 0);
  CHECK(rows["(unknown)"].offered == 1);
}

TEST_CASE("a report by counsellor puts calls nobody accepted under (none)", "[stats][report]") {
  const Report report = Build(GroupBy::kCounsellor);
  CHECK(Keys(report) == std::vector<std::string>{"(none)", "lan", "minh"});
  std::map<std::string, Tally> rows = ByKey(report);
  const Figures none = Derive(rows["(none)"]);
  CHECK(none.offered == 3);  // c4, c5, c6
  CHECK(none.short_abandoned == 1);
  CHECK(none.abandoned == 1);
  CHECK(none.other_unanswered == 1);
  const Figures lan = Derive(rows["lan"]);
  CHECK(lan.offered == 1);                              // c1
  CHECK(lan.handled == 2);                              // c1, c7
  CHECK(lan.average_handling_time == Millis(457'500));  // (345 + 570) / 2
  CHECK(*lan.occupancy == Approx(345.0 / 3600.0));
  const Figures minh = Derive(rows["minh"]);
  CHECK(minh.offered == 3);  // c2, c3, c8
  CHECK(minh.answered_in_target == 2);
  CHECK(minh.average_handling_time == Millis(674'000));  // (648 + 700) / 2
  CHECK(*minh.occupancy == Approx(650.0 / 6900.0));
  CHECK(minh.answered_in_own_province == 2);
}

TEST_CASE("a report by priority lists the highest first and has no occupancy", "[stats][report]") {
  const Report report = Build(GroupBy::kPriority);
  CHECK(Keys(report) == std::vector<std::string>{"emergency", "high", "normal", "low"});
  std::map<std::string, Tally> rows = ByKey(report);
  const Figures normal = Derive(rows["normal"]);
  CHECK(normal.offered == 4);  // c1, c4, c6, c8
  CHECK(normal.answered_in_target == 2);
  CHECK(*normal.service_level == Approx(2.0 / 3.0));  // 2 / (4 - 1)
  CHECK(normal.handled == 2);                         // c1, c7
  CHECK_FALSE(normal.occupancy.has_value());
  CHECK(rows["emergency"].answered_in_target == 0);  // c2 waited 12 s
  // Occupancy exists only in the total.
  CHECK(Derive(report.total).occupancy.has_value());
}

TEST_CASE("a report by topic uses the topic names", "[stats][report]") {
  const Report report = Build(GroupBy::kTopic);
  CHECK(Keys(report) ==
        std::vector<std::string>{"abuse_report", "counselling", "information_legal", "other"});
  CHECK(ByKey(report)["counselling"].offered == 4);  // c1, c3, c4, c8
}

TEST_CASE("a report by hour uses Vietnam's local hours", "[stats][report]") {
  const Report report = Build(GroupBy::kHour);
  CHECK(Keys(report) == std::vector<std::string>{"10", "11"});
  std::map<std::string, Tally> rows = ByKey(report);
  // 10:00-11:00: c1, c2, c3 (answered 10:59:20), c4, c5 decided; c1, c2, c7 handled.
  const Figures ten = Derive(rows["10"]);
  CHECK(ten.offered == 5);
  CHECK(ten.answered == 3);
  CHECK(ten.answered_in_target == 2);
  CHECK(*ten.service_level == Approx(0.5));  // 2 / (5 - 1)
  CHECK(ten.handled == 3);
  CHECK(ten.average_handling_time == Millis(521'000));
  // lan 3600 s staffed, 345 s busy; minh 10:05-11:00 = 3300 s staffed, 650 s busy.
  CHECK(rows["10"].staffed_ms == 6'900'000);
  CHECK(*ten.occupancy == Approx(995.0 / 6900.0));
  // 11:00-12:00: c6, c8 decided; c3 handled (11:11); only minh staffed, idle.
  const Figures eleven = Derive(rows["11"]);
  CHECK(eleven.offered == 2);
  CHECK(eleven.handled == 1);
  CHECK(*eleven.occupancy == Approx(0.0));
  CHECK(rows["11"].staffed_ms == 3'600'000);
}

TEST_CASE("local hours follow the offset, also across midnight", "[stats][report]") {
  // 17:00 UTC is 00:00 in Vietnam; 16:59:59.999 UTC is 23:59 there.
  const Timestamp midnight_vn = routing::FromUnixMillis(1'751'389'200'000);  // 2025-07-01 17:00Z
  CHECK(LocalHour(midnight_vn, Millis(7 * 3'600'000)) == "00");
  CHECK(LocalHour(midnight_vn - Millis(1), Millis(7 * 3'600'000)) == "23");
  CHECK(LocalHour(midnight_vn, Millis(0)) == "17");
  CHECK(LocalHour(routing::FromUnixMillis(-1), Millis(0)) == "23");
}

TEST_CASE("presence still open counts up to now, never past the period", "[stats][report]") {
  // Run at 11:00 instead of 13:00: minh's last interval ends at 11:00, not 12:00.
  const Report early = Build(GroupBy::kCounsellor, Context(kT0 + Min(60)));
  CHECK(ByKey(early)["minh"].staffed_ms == Min(55).count());
  // Run before the period begins: nothing open counts.
  const Report before = Build(GroupBy::kCounsellor, Context(kT0 - Min(60)));
  CHECK(ByKey(before)["minh"].staffed_ms == Min(16).count());  // closed intervals only
}

TEST_CASE("own province and centre use the counsellor's provinces", "[stats][report]") {
  ReportContext context = Context();
  context.counsellors["minh"].provinces.push_back("hue");  // now serves a central province...
  context.counsellors.erase("lan");                        // ...and lan was removed
  const Tally total = Build(GroupBy::kCentre, context).total;
  CHECK(total.answered_in_own_province == 2);  // c3, c8: c1's counsellor is unknown now
  CHECK(total.answered_in_own_centre == 2);    // c2 (thanh_hoa, north) is still not minh's
  context.counsellors["minh"].provinces.push_back("ha_noi");
  CHECK(Build(GroupBy::kCentre, context).total.answered_in_own_centre == 3);  // + c2
}

TEST_CASE("the disposition export counts handled calls with CHI labels", "[stats][report]") {
  DispositionCounter counter(kFrom, kTo);
  std::vector<CallRecord> calls = Calls();
  calls[1].disposition = routing::Disposition{"sexual_abuse", "referred_police", {}, true, "x"};
  calls[2].disposition =
      routing::Disposition{"mental_health", "counselled", {"repeat", "prank"}, false, ""};
  calls[6].disposition.reset();  // c7: the wrap-up ended without a disposition
  for (const CallRecord& call : calls) {
    counter.AddCall(call);
  }
  const std::vector<DispositionCount> counts = counter.Counts();
  // Handled in the period: c1, c2, c3, c7 (c8's handling ends after it).
  REQUIRE(counts.size() == 4);
  CHECK(counts[0].labels == ChiLabels{"Family relationships", "Not specified", "Counselling"});
  CHECK(counts[0].count == 1);  // c1
  CHECK(counts[1].labels ==
        ChiLabels{"Non-counselling contact", "Prank or testing", "Counselling"});           // c3
  CHECK(counts[2].labels == ChiLabels{"Not recorded", "Not recorded", "Not recorded"});     // c7
  CHECK(counts[3].labels == ChiLabels{"Violence", "Sexual violence", "Referral: police"});  // c2
  int64_t sum = 0;
  for (const DispositionCount& c : counts) {
    sum += c.count;
  }
  CHECK(sum == 4);
}

TEST_CASE("every category and action has CHI labels", "[stats][report]") {
  for (const char* category :
       {"violence_physical", "violence_emotional", "neglect", "sexual_abuse",
        "commercial_exploitation", "online_safety", "mental_health", "family_relationships",
        "peer_relationships", "education", "physical_health", "sexuality", "discrimination",
        "legal_information", "other"}) {
    for (const char* action :
         {"counselled", "information_given", "referred_police", "referred_child_protection",
          "referred_health", "referred_school", "referred_other", "none"}) {
      const ChiLabels labels = ChiLabelsFor(routing::Disposition{category, action, {}, false, ""});
      INFO(category << " " << action);
      CHECK(labels.category.find("unmapped") == std::string::npos);
      CHECK(labels.sub_category.find("unmapped") == std::string::npos);
      CHECK(labels.action.find("unmapped") == std::string::npos);
    }
  }
  // Silent wins over the other non-counselling flags; a new name shows up, marked.
  CHECK(ChiLabelsFor({"other", "none", {"abusive", "silent"}, false, ""}).sub_category == "Silent");
  CHECK(ChiLabelsFor({"cyber_magic", "teleported", {}, false, ""}) ==
        ChiLabels{"Other", "unmapped: cyber_magic", "unmapped: teleported"});
}

}  // namespace hotline::stats::testing
