// Scenario files (every key, every error naming file, line and key), the seeded call generator
// and the determinism of virtual time.
#include "clients/sim/scenario.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "clients/sim/call_generator.h"
#include "clients/sim/virtual_run.h"

namespace hotline::sim {
namespace {

using routing::Priority;
using routing::Topic;

std::string Error(const std::string& text) {
  absl::StatusOr<Scenario> s = ParseScenario(text, "s.toml");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(s.status().message());
}

constexpr const char* kFull = R"(
seed = 7
start_date = 2026-03-02
start_hour = 6
duration_days = 2
warm_up_hours = 1.5
service_level_s = 30

[arrivals]
per_hour = [0, 0, 0, 0, 0, 0, 5, 10, 20, 20, 20, 20, 20, 20, 20, 20, 20, 25, 30, 40, 50, 40, 20, 5]
scale = 2

[calls]
provinces = { "01" = 3, "79" = 1 }
languages = { vi = 9, hmn = 1 }
topics = { counselling = 6, abuse_report = 2, information_legal = 1, other = 1 }
priorities = { normal = 90, high = 8, emergency = 2 }

[talk_time]
distribution = "lognormal"
mean_s = 420
sd_s = 300

[patience]
distribution = "exponential"
mean_s = 90

[accept_delay]
distribution = "uniform"
min_s = 2
max_s = 6

[wrap_up]
distribution = "fixed"
value_s = 30

[engine]
max_wait_s = 600
offer_timeout_s = 20
wrap_up_s = 60
announce_every_s = 30
missed_offers_before_break = 3
ladder = "national"
strategy = "most_skilled"

[regions]
north = ["01", "24"]
south = ["79"]

[[counsellors]]
id = "north"
count = 4
home_province = "01"
provinces = ["01", "24"]
skills = { counselling = 4, abuse_report = 3 }
languages = ["vi", "hmn"]
gender = "female"
shifts = ["07-15", "20-04"]

[[counsellors]]
id = "lan"
)";

TEST_CASE("a scenario file sets every key", "[sim]") {
  absl::StatusOr<Scenario> s = ParseScenario(kFull, "full.toml");
  REQUIRE(s.ok());
  CHECK(s->seed == 7);
  // 06:00 local on 2 March 2026 is 23:00 UTC the day before.
  CHECK(routing::ToUnixMillis(s->start) == 1772384400000 + 6 * 3'600'000);
  CHECK(s->duration == Millis(48 * 3'600'000));
  CHECK(s->warm_up == Millis(5'400'000));
  CHECK(s->answer_target == Millis(30'000));
  CHECK(s->calls_per_hour[20] == 100);
  CHECK(s->calls_per_hour[0] == 0);
  CHECK(s->provinces.values == std::vector<std::string>{"01", "79"});
  CHECK(s->provinces.weights == std::vector<double>{3, 1});
  CHECK(s->topics.values.size() == 4);
  CHECK(s->priorities.values ==
        std::vector<Priority>{Priority::kEmergency, Priority::kHigh, Priority::kNormal});
  CHECK(s->talk.kind == Distribution::Kind::kLognormal);
  CHECK(s->talk.sd_s == 300);
  REQUIRE(s->patience.has_value());
  CHECK(s->patience->mean_s == 90);
  CHECK(s->accept_delay.kind == Distribution::Kind::kUniform);
  CHECK(s->accept_delay.max_s == 6);
  CHECK(s->wrap_up.mean_s == 30);
  CHECK(s->engine.max_wait_ms == Millis(600'000));
  CHECK(s->engine.offer_timeout_ms == Millis(20'000));
  CHECK(s->engine.wrap_up_ms == Millis(60'000));
  CHECK(s->engine.announce_every_ms == Millis(30'000));
  CHECK(s->engine.missed_offers_before_break == 3);
  CHECK(s->policy.default_ladder.steps.size() == 1);
  CHECK(s->policy.priority_ladders.empty());
  CHECK(s->policy.strategy == routing::Strategy::kMostSkilled);
  REQUIRE(s->policy.regions.centres.size() == 2);
  REQUIRE(s->policy.regions.provinces.size() == 3);
  CHECK(s->policy.regions.provinces[2].code == "79");
  CHECK(s->policy.regions.provinces[2].centre == "south");
  REQUIRE(s->counsellors.size() == 2);
  const CounsellorGroup& north = s->counsellors[0];
  CHECK(CounsellorIds(north) ==
        std::vector<std::string>{"north-001", "north-002", "north-003", "north-004"});
  CHECK(north.skills == std::map<Topic, int>{{Topic::kAbuseReport, 3}, {Topic::kCounselling, 4}});
  CHECK(north.languages == std::vector<std::string>{"vi", "hmn"});
  CHECK(north.gender == routing::Gender::kFemale);
  CHECK(north.shifts == std::vector<std::pair<int, int>>{{7, 15}, {20, 4}});
  // Defaults: every topic at proficiency 3, Vietnamese, all day.
  const CounsellorGroup& lan = s->counsellors[1];
  CHECK(CounsellorIds(lan) == std::vector<std::string>{"lan"});
  CHECK(lan.skills.size() == 4);
  CHECK(lan.shifts == std::vector<std::pair<int, int>>{{0, 24}});
}

TEST_CASE("an unknown scenario key is refused with the file, line and key", "[sim]") {
  CHECK(Error("seed = 1\n[arrivals]\nper_hour = 10\nrate = 3\n") ==
        "s.toml:4: arrivals.rate: unknown key");
  CHECK(Error("[arrivals]\nper_hour = 1\n[[counsellors]]\nid = \"a\"\nskill = {}\n") ==
        "s.toml:5: counsellors[0].skill: unknown key");
  CHECK(Error("[arrivals]\nper_hour = 1\n[talk_time]\ndistribution = \"fixed\"\nmean_s = 3\n") ==
        "s.toml:5: talk_time.mean_s: unknown key");
}

TEST_CASE("a scenario value of the wrong type is refused with the file, line and key", "[sim]") {
  CHECK(Error("[arrivals]\nper_hour = \"many\"\n") == "s.toml:2: arrivals.per_hour: must be a number");
  CHECK(Error("seed = 1.5\n[arrivals]\nper_hour = 1\n") == "s.toml:1: seed: must be a whole number");
  CHECK(Error("start_date = \"2026-01-01\"\n[arrivals]\nper_hour = 1\n") ==
        "s.toml:1: start_date: must be a date (2026-01-05, unquoted)");
  CHECK(Error("[arrivals]\nper_hour = 1\n[calls]\ntopics = { gossip = 1 }\n") ==
        "s.toml:4: calls.topics.gossip: 'gossip' is not one of abuse_report, counselling, "
        "information_legal, other");
  CHECK(Error("[arrivals]\nper_hour = 1\n[[counsellors]]\nid = \"a\"\nshifts = [\"8 to 4\"]\n") ==
        "s.toml:5: counsellors[0].shifts[0]: '8 to 4' is not a shift 'HH-HH' (local hours 0-23, "
        "then 0-24)");
  CHECK(Error("[arrivals]\nper_hour = 1\n[patience]\ndistribution = \"gamma\"\n") ==
        "s.toml:4: patience.distribution: 'gamma' is not one of fixed, exponential, lognormal, "
        "uniform");
}

TEST_CASE("a negative arrival rate is refused with the file, line and key", "[sim]") {
  CHECK(Error("[arrivals]\nper_hour = -3\n") ==
        "s.toml:2: arrivals.per_hour: must be at least 0, not -3");
  std::string hours = "[arrivals]\nper_hour = [";
  for (int h = 0; h < 24; ++h) {
    hours += h == 5 ? "-1, " : "1, ";
  }
  CHECK(Error(hours + "]\n") == "s.toml:2: arrivals.per_hour[5]: must be at least 0, not -1");
  CHECK(Error("[arrivals]\nper_hour = [1, 2]\n") ==
        "s.toml:2: arrivals.per_hour: needs 24 entries (hours 0-23), not 2");
}

TEST_CASE("a scenario without arrivals or with bad syntax names the file and line", "[sim]") {
  CHECK(Error("seed = 1\n") == "s.toml:1: arrivals: is required");
  CHECK(Error("seed = 1\n[arrivals\n").starts_with("s.toml:2: "));
}

std::vector<SimCall> Calls(const Scenario& s) {
  CallGenerator generator(s);
  std::vector<SimCall> calls;
  while (std::optional<SimCall> call = generator.Next()) {
    calls.push_back(std::move(*call));
  }
  return calls;
}

TEST_CASE("the same seed gives the same calls and another seed other calls", "[sim]") {
  absl::StatusOr<Scenario> s = ParseScenario(kFull, "full.toml");
  REQUIRE(s.ok());
  const std::vector<SimCall> first = Calls(*s);
  REQUIRE(first.size() > 500);
  CHECK(Calls(*s) == first);
  s->seed = 8;
  const std::vector<SimCall> other = Calls(*s);
  CHECK(other != first);
}

TEST_CASE("calls arrive only in the hours the scenario gives a rate", "[sim]") {
  absl::StatusOr<Scenario> s = ParseScenario(kFull, "full.toml");
  REQUIRE(s.ok());
  s->calls_per_hour.fill(0);
  s->calls_per_hour[9] = 600;
  const std::vector<SimCall> calls = Calls(*s);
  // Two days at 600 an hour: 1200 expected, Poisson standard deviation about 35.
  CHECK(calls.size() > 1000);
  CHECK(calls.size() < 1400);
  for (const SimCall& call : calls) {
    const int64_t local_ms = routing::ToUnixMillis(call.arrival) + 7 * 3'600'000;
    CHECK(local_ms / 3'600'000 % 24 == 9);
  }
}

TEST_CASE("a virtual run of the same scenario gives the same report", "[sim]") {
  absl::StatusOr<Scenario> s = ParseScenario(kFull, "full.toml");
  REQUIRE(s.ok());
  absl::StatusOr<VirtualResult> first = RunVirtual(*s);
  absl::StatusOr<VirtualResult> second = RunVirtual(*s);
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->report->Overall().calls > 500);
  CHECK(first->report->Json("") == second->report->Json(""));
  CHECK(first->inputs == second->inputs);
}

// One counsellor on `shift`, calls all day that wait up to 10 minutes for them.
VirtualResult RunShift(const std::string& shift) {
  absl::StatusOr<Scenario> s = ParseScenario(R"(
duration_days = 3
[arrivals]
per_hour = 2
[talk_time]
distribution = "fixed"
value_s = 60
[engine]
ladder = "national"
max_wait_s = 600
[[counsellors]]
id = "solo"
shifts = [")" + shift + R"("]
)",
                                             "shift.toml");
  REQUIRE(s.ok());
  absl::StatusOr<VirtualResult> result = RunVirtual(*s);
  REQUIRE(result.ok());
  CHECK(result->refused == 0);
  return std::move(*result);
}

TEST_CASE("a counsellor answers only during their shift", "[sim]") {
  // A day shift covers a third of the day, a night shift across midnight a quarter: calls
  // outside it wait the maximum and are offered a callback. The shares are Poisson counts
  // over 144 calls, hence the margins.
  for (const auto& [shift, share] : {std::pair<std::string, double>{"08-16", 1.0 / 3},
                                     std::pair<std::string, double>{"22-04", 1.0 / 4}}) {
    INFO(shift);
    const VirtualResult result = RunShift(shift);
    const GroupFigures all = result.report->Overall();
    REQUIRE(all.calls > 100);
    CHECK(all.answered + all.callbacks == all.calls);
    const double answered = static_cast<double>(all.answered) / static_cast<double>(all.calls);
    CHECK(answered > share - 0.12);
    CHECK(answered < share + 0.12);
    // Staffed only on shift, and busy a small part of it (2 calls an hour of 1 minute).
    REQUIRE(result.report->Occupancy().has_value());
    CHECK(*result.report->Occupancy() < 0.2);
  }
}

// Calls from Hà Nội (01) for one counsellor of `home`, with the default ladder (province 20 s,
// centre 40 s, national); the service level is counted against `target_s`.
GroupFigures RunLadder(const std::string& home, int target_s, bool regions) {
  std::string text = R"(
duration_days = 1
service_level_s = )" + std::to_string(target_s) + R"(
[arrivals]
per_hour = 3
[calls]
provinces = { "01" = 1 }
[talk_time]
distribution = "fixed"
value_s = 30
[[counsellors]]
id = "solo"
home_province = ")" + home + "\"\n";
  if (regions) {
    text += "[regions]\nnorth = [\"01\", \"24\"]\nsouth = [\"79\"]\n";
  }
  absl::StatusOr<Scenario> s = ParseScenario(text, "ladder.toml");
  REQUIRE(s.ok());
  absl::StatusOr<VirtualResult> result = RunVirtual(*s);
  REQUIRE(result.ok());
  return result->report->Overall();
}

TEST_CASE("with regions a call climbs from its province to its centre to national", "[sim]") {
  // Someone of the caller's own province answers at once, mostly.
  CHECK(*RunLadder("01", 19, true).service_level > 0.5);
  // A counsellor of the same centre only after the 20 s province step: none within 19 s...
  CHECK(*RunLadder("24", 19, true).service_level == 0);
  CHECK(*RunLadder("24", 21, true).service_level > 0.5);
  // ...of another centre only after the 40 s centre step too.
  CHECK(*RunLadder("79", 59, true).service_level == 0);
  CHECK(*RunLadder("79", 61, true).service_level > 0.5);
  // Without a region tree every call is national from the start.
  CHECK(*RunLadder("79", 19, false).service_level > 0.5);
}

TEST_CASE("a region tree that names a province twice is refused", "[sim]") {
  CHECK(Error("[arrivals]\nper_hour = 1\n[regions]\nnorth = [\"01\"]\nsouth = [\"01\"]\n")
            .starts_with("s.toml:3: regions: "));
  CHECK(Error("[arrivals]\nper_hour = 1\n[regions]\nnorth = \"01\"\n") ==
        "s.toml:4: regions.north: must be a list of strings");
}

TEST_CASE("the shipped scenarios parse", "[sim]") {
  int count = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(HOTLINE_SOURCE_DIR) + "/deploy/scenarios")) {
    INFO(entry.path());
    absl::StatusOr<Scenario> s = LoadScenario(entry.path());
    CHECK(s.ok());
    ++count;
  }
  CHECK(count >= 2);
}

}  // namespace
}  // namespace hotline::sim
