// Unit tests of reading the policy and region files.
#include "daemon/policy_file.h"

#include <catch2/catch.hpp>

namespace hotline::daemon {
namespace {

const std::string kSource = std::string(HOTLINE_SOURCE_DIR) + "/deploy/";

TEST_CASE("the shipped regions file has 34 provinces in 3 centres and maps the 63 old codes",
          "[daemon]") {
  auto policy = LoadPolicy(kSource + "policy.toml", kSource + "regions.toml");
  INFO(policy.status().ToString());
  REQUIRE(policy.ok());
  CHECK(policy->regions.provinces.size() == 34);
  CHECK(policy->regions.centres.size() == 3);
  auto regions = routing::Regions::Create(policy->regions);
  REQUIRE(regions.ok());
  int old_codes = 0;
  for (const auto& p : policy->regions.provinces) {
    old_codes += static_cast<int>(p.old_codes.size());
  }
  CHECK(old_codes == 63);
  CHECK(regions->Canonical("38") == "38");  // Thanh Hóa, unchanged.
  CHECK(regions->Canonical("36") == "37");  // Nam Định -> Ninh Bình.
  CHECK(regions->Canonical("74") == "79");  // Bình Dương -> Hồ Chí Minh.
  CHECK_FALSE(regions->Canonical("63").has_value());
  CHECK(regions->CentreOf("38") == "central");
  CHECK(regions->CentreOf("01") == "north");
  CHECK(regions->CentreOf("91") == "south");
  CHECK_THAT(Summary(*policy), Catch::Contains("province 20s > centre 40s > national"));
  CHECK(policy->wrap_up_ms.at(routing::Topic::kAbuseReport) == routing::Millis(90'000));
  CHECK(policy->cool_down_ms == routing::Millis(300'000));
  CHECK(policy->max_heavy_in_row == 3);
}

TEST_CASE("a policy error names the file, the line and the field", "[daemon]") {
  routing::RegionTable none;
  auto scope = ParsePolicy("[[ladders.default]]\nscope = \"country\"\n", "p.toml", none);
  REQUIRE(scope.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(scope.status().message()),
             Catch::Contains("p.toml:2") && Catch::Contains("ladders.default[0].scope") &&
                 Catch::Contains("province, centre, national"));

  auto duration = ParsePolicy(
      "[[ladders.default]]\nscope = \"province\"\n[[ladders.default]]\nscope = \"national\"\n",
      "p.toml", none);
  CHECK_THAT(std::string(duration.status().message()),
             Catch::Contains("ladders.default[0].duration_ms") && Catch::Contains("required"));

  auto proficiency = ParsePolicy(
      "[[ladders.topic.abuse_report]]\nscope = \"national\"\nmin_proficiency = 7\n"
      "[[ladders.default]]\nscope = \"national\"\n",
      "p.toml", none);
  CHECK_THAT(std::string(proficiency.status().message()),
             Catch::Contains("p.toml:3") &&
                 Catch::Contains("ladders.topic.abuse_report[0].min_proficiency"));

  auto topic = ParsePolicy(
      "[[ladders.topic.bullying]]\nscope = \"national\"\n[[ladders.default]]\nscope = "
      "\"national\"\n",
      "p.toml", none);
  CHECK_THAT(std::string(topic.status().message()), Catch::Contains("'bullying' is not a topic"));

  auto wellbeing =
      ParsePolicy("[wellbeing]\nmax_heavy_in_row = 0\n[[ladders.default]]\nscope = \"national\"\n",
                  "p.toml", none);
  CHECK_THAT(std::string(wellbeing.status().message()),
             Catch::Contains("p.toml:2") && Catch::Contains("wellbeing.max_heavy_in_row"));

  auto missing = ParsePolicy("strategy = \"longest_idle\"\n", "p.toml", none);
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("default ladder"));

  auto strategy = ParsePolicy("strategy = \"random\"\n[[ladders.default]]\nscope = \"national\"\n",
                              "p.toml", none);
  CHECK_THAT(std::string(strategy.status().message()),
             Catch::Contains("p.toml:1") && Catch::Contains("round_robin"));
}

TEST_CASE("a regions file where an old code means two provinces is refused", "[daemon]") {
  auto regions = ParseRegions(R"(
[centres.north]
name = "North"
[provinces]
"01" = { name = "A", centre = "north", old = ["01", "02"] }
"03" = { name = "B", centre = "north", old = ["03", "02"] }
)",
                              "r.toml");
  REQUIRE(regions.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(regions.status().message()), Catch::Contains("'02'"));

  auto centre = ParseRegions(R"(
[centres.north]
name = "North"
[provinces]
"01" = { name = "A", centre = "south" }
)",
                             "r.toml");
  CHECK_THAT(std::string(centre.status().message()), Catch::Contains("'south'"));
}

}  // namespace
}  // namespace hotline::daemon
