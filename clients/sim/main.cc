// hotline-sim: a telephony gateway simulator and load generator for hotlined.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "clients/common/client.h"
#include "clients/common/enum_names.h"
#include "clients/sim/gateway_sim.h"
#include "clients/sim/live_run.h"
#include "clients/sim/virtual_run.h"

namespace {

namespace v1 = hotline::v1;

// What CallArrived.caller_number accepts: an optional '+' and digits, 3–20 characters.
CLI::Validator CallerNumberValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const size_t digits = !text.empty() && text[0] == '+' ? 1 : 0;
        const bool all_digits = text.size() > digits &&
                                text.find_first_not_of("0123456789", digits) == std::string::npos;
        if (!all_digits || text.size() < 3 || text.size() > 20) {
          return "'" + text + "' is not a phone number ('+' optional, then digits; 3-20 chars)";
        }
        return {};
      },
      "NUMBER");
}

struct ScenarioFlags {
  std::string file;
  bool virtual_time = false;
  std::string report = "text";
  bool progress = false;
  std::optional<uint64_t> seed;
  std::optional<double> days;
  std::optional<int> start_hour;
  double time_scale = 1;
  bool desks = false;
  bool desks_only = false;
  std::string admin_token_file;
  // "ID=N": roster entry ID gets count N instead of the scenario's.
  std::vector<std::string> counts;
};

absl::Status ApplyOverrides(const ScenarioFlags& flags, hotline::sim::Scenario& scenario) {
  if (flags.seed) {
    scenario.seed = *flags.seed;
  }
  if (flags.start_hour) {
    // From the start date's local midnight, whatever hour the file starts at.
    const hotline::routing::Millis day(86'400'000);
    const auto local = (scenario.start + hotline::sim::kLocalOffset).time_since_epoch();
    scenario.start += hotline::routing::Millis(*flags.start_hour * 3'600'000LL) - local % day;
  }
  if (flags.days) {
    scenario.duration = hotline::routing::Millis(std::llround(*flags.days * 86'400'000));
  }
  for (const std::string& text : flags.counts) {
    const size_t equals = text.find('=');
    const std::string id = text.substr(0, equals);
    int count = -1;
    if (equals != std::string::npos) {
      count = std::atoi(text.c_str() + equals + 1);
    }
    if (count < 0 || text.find_first_not_of("0123456789", equals + 1) != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("--count {}: expected ID=N, N a whole number >= 0", text));
    }
    bool found = false;
    for (hotline::sim::CounsellorGroup& group : scenario.counsellors) {
      if (group.id == id) {
        group.count = count;
        found = true;
      }
    }
    if (!found) {
      return absl::InvalidArgumentError(
          fmt::format("--count {}: the scenario has no counsellors entry with id '{}'", text, id));
    }
  }
  return absl::OkStatus();
}

// The admin token for --desks: from --admin-token-file, else HOTLINE_ADMIN_TOKEN; never a flag
// of its own, which `ps` would show.
std::string AdminToken(const ScenarioFlags& flags) {
  if (!flags.admin_token_file.empty()) {
    std::ifstream in(flags.admin_token_file);
    std::string token;
    std::getline(in, token);
    return token;
  }
  const char* env = std::getenv("HOTLINE_ADMIN_TOKEN");
  return env == nullptr ? "" : env;
}

int RunScenario(const ScenarioFlags& flags, const hotline::clients::SimOptions& gateway) {
  absl::StatusOr<hotline::sim::Scenario> scenario = hotline::sim::LoadScenario(flags.file);
  absl::Status status = scenario.status();
  if (status.ok()) {
    status = ApplyOverrides(flags, *scenario);
  }
  if (!status.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  const bool show_progress = flags.progress || isatty(STDERR_FILENO) == 1;
  if (flags.desks_only) {
    return hotline::clients::RunDesksOnly(
        *scenario, gateway.server,
        hotline::clients::LiveOptions{.time_scale = flags.time_scale,
                                      .desks = true,
                                      .admin_token = AdminToken(flags),
                                      .json = false,
                                      .progress = false});
  }
  if (!flags.virtual_time) {
    return hotline::clients::RunLive(*scenario, gateway,
                                     hotline::clients::LiveOptions{
                                         .time_scale = flags.time_scale,
                                         .desks = flags.desks,
                                         .admin_token = flags.desks ? AdminToken(flags) : "",
                                         .json = flags.report == "json",
                                         .progress = show_progress});
  }
  const auto started = std::chrono::steady_clock::now();
  const auto progress = [&](const hotline::sim::Progress& p) {
    std::fprintf(stderr, "\r%s: %lld calls, %lld finished, %lld in progress   ",
                 hotline::sim::ClockText(*scenario, p.now).c_str(), static_cast<long long>(p.arrived),
                 static_cast<long long>(p.finished), static_cast<long long>(p.in_progress));
  };
  absl::StatusOr<hotline::sim::VirtualResult> result = hotline::sim::RunVirtual(
      *scenario, show_progress ? std::function<void(const hotline::sim::Progress&)>(progress)
                               : std::function<void(const hotline::sim::Progress&)>());
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (show_progress) {
    std::fprintf(stderr, "\n");
  }
  if (!result.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(result.status().message()).c_str());
    return 2;
  }
  const double simulated_h = static_cast<double>(scenario->duration.count()) / 3.6e6;
  if (flags.report == "json") {
    std::printf("%s\n",
                result->report
                    ->Json(fmt::format("\"scenario\": {}, \"seed\": {}, \"simulated_hours\": "
                                       "{}, \"wall_seconds\": {:.3f}, \"engine_inputs\": {}, "
                                       "\"refused_inputs\": {}",
                                       hotline::sim::JsonString(scenario->source),
                                       scenario->seed, simulated_h, wall_s,
                                       result->inputs, result->refused))
                    .c_str());
  } else {
    std::printf("%s",
                result->report
                    ->Text(fmt::format("scenario {} (seed {}): {:g} h simulated in {:.2f} s of "
                                       "real time, {} engine inputs ({} refused)",
                                       scenario->source,
                                       scenario->seed, simulated_h, wall_s,
                                       result->inputs, result->refused))
                    .c_str());
  }
  return 0;
}

// The flags of --scenario runs; the gateway flags above them serve live runs too.
void AddScenarioFlags(CLI::App& app, ScenarioFlags& flags) {
  app.add_option("--scenario", flags.file,
                 "Run a scenario file (docs/simulator.md) instead of N identical calls");
  app.add_flag("--virtual", flags.virtual_time,
               "With --scenario: run it in this process on a simulated clock, as fast as it goes "
               "(without it: live, against --server)");
  app.add_option("--report", flags.report, "With --scenario: the report's form")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--progress", flags.progress,
               "With --scenario: a progress line on stderr even when it is not a terminal");
  app.add_option("--seed", flags.seed, "With --scenario: replaces the scenario's seed");
  app.add_option("--start-hour", flags.start_hour,
                 "With --scenario: replaces the scenario's start_hour (local, 0-23)")
      ->check(CLI::Range(0, 23));
  app.add_option("--days", flags.days, "With --scenario: replaces the scenario's duration")
      ->check(CLI::PositiveNumber);
  app.add_option("--time-scale", flags.time_scale,
                 "With --scenario (live): simulated seconds per real second")
      ->check(CLI::PositiveNumber);
  app.add_flag("--desks", flags.desks,
               "With --scenario (live): also play the roster's counsellors (needs the admin token "
               "in HOTLINE_ADMIN_TOKEN or --admin-token-file)");
  app.add_flag("--desks-only", flags.desks_only,
               "With --scenario (live): play only the roster's counsellors, answering the calls "
               "another gateway sends, for the scenario's duration or until interrupted (needs "
               "the admin token; no gateway token)")
      ->excludes("--virtual")
      ->excludes("--desks");
  app.add_option("--admin-token-file", flags.admin_token_file,
                 "With --desks or --desks-only: a file whose first line is the admin token")
      ->check(CLI::ExistingFile);
  app.add_option("--count", flags.counts,
                 "With --scenario: ID=N sets the count of the roster entry ID (repeatable)");
}

}  // namespace

int main(int argc, char** argv) {
  hotline::clients::SimOptions options;
  std::string topic = hotline::clients::EnumName(options.topic);
  std::string priority = hotline::clients::EnumName(options.priority);
  std::string gender_preference;

  CLI::App app(
      "hotline-sim: a telephony gateway simulator. Connects to hotlined as a gateway, sends\n"
      "calls, answers its commands like a real gateway, and prints each message on one line.");
  app.option_defaults()->always_capture_default();
  // Required except in virtual time, which talks to no daemon (checked after parsing; a
  // --token-file has been read by then).
  hotline::clients::AddServerFlags(app, options.server, options.token, "HOTLINE_GATEWAY_TOKEN",
                                   /*token_required=*/false, "gateway");
  app.add_option("--gateway-id", options.gateway_id, "Gateway id sent in Hello; prefixes all ids");
  app.add_option("--calls", options.calls, "How many calls to send")->check(hotline::clients::WholeNumber());
  app.add_option("--interval-ms", options.interval_ms, "Milliseconds between two arrivals")
      ->check(hotline::clients::WholeNumber());
  app.add_option("--province", options.province, "Province code of every call");
  app.add_option("--language", options.language, "Language code of every call");
  app.add_option("--topic", topic, "Menu topic of every call")
      ->check(hotline::clients::EnumValidator<v1::Topic>());
  app.add_option("--priority", priority, "Priority of every call")
      ->check(hotline::clients::EnumValidator<v1::Priority>());
  app.add_option("--gender-preference", gender_preference,
                 "Counsellor gender the callers ask for (default: no preference)")
      ->check(hotline::clients::EnumValidator<v1::Gender>());
  app.add_option("--caller", options.caller,
                 "Number of the first caller; call n comes from this number + n-1")
      ->check(CallerNumberValidator());
  app.add_flag("--same-caller", options.same_caller,
               "Every call comes from --caller (a repeat caller)");
  app.add_option("--talk-ms", options.talk_ms, "How long a connected call lasts before it ends")
      ->check(hotline::clients::WholeNumber());
  app.add_option("--hang-up-after-ms", options.hang_up_after_ms,
                 "A caller not connected by then hangs up (0: never)")
      ->check(hotline::clients::WholeNumber());
  app.add_flag("--unreachable", options.unreachable,
               "Answer every connect command 'unreachable', as if no phone answered");
  app.add_flag("--exit-when-done", options.exit_when_done,
               "Exit 0 once every call is over (ended, hung up, timed out, rejected, refused) "
               "and every event acknowledged (default)");
  app.add_flag_callback(
      "--no-exit-when-done", [&options] { options.exit_when_done = false; },
      "Stay connected after the last call, answering commands, until interrupted");
  ScenarioFlags scenario;
  AddScenarioFlags(app, scenario);
  CLI11_PARSE(app, argc, argv);
  if (scenario.desks_only && scenario.file.empty()) {
    return app.exit(CLI::ValidationError("--desks-only needs --scenario FILE (its roster)"));
  }
  // Virtual time and desks alone send no calls: no gateway token.
  const bool no_gateway = !scenario.file.empty() && (scenario.virtual_time || scenario.desks_only);
  if (options.token.empty() && !no_gateway) {
    // As AddServerFlags says it when it requires the token itself.
    return app.exit(
        CLI::ValidationError("no token: set HOTLINE_GATEWAY_TOKEN or pass --token-file FILE"));
  }
  if (!scenario.file.empty()) {
    return RunScenario(scenario, options);
  }

  options.topic = *hotline::clients::ParseEnum<v1::Topic>(topic);
  options.priority = *hotline::clients::ParseEnum<v1::Priority>(priority);
  if (!gender_preference.empty()) {
    options.gender_preference = *hotline::clients::ParseEnum<v1::Gender>(gender_preference);
  }
  return hotline::clients::RunGatewaySim(options);
}
