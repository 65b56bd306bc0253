// hotline-sim: a telephony gateway simulator and load generator for hotlined.
#include <CLI/CLI.hpp>
#include <string>

#include "clients/common/client.h"
#include "clients/common/enum_names.h"
#include "clients/sim/gateway_sim.h"

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
  hotline::clients::AddServerFlags(app, options.server, options.token, "HOTLINE_GATEWAY_TOKEN",
                                   /*token_required=*/true, "gateway");
  app.add_option("--gateway-id", options.gateway_id, "Gateway id sent in Hello; prefixes all ids");
  app.add_option("--calls", options.calls, "How many calls to send")->check(CLI::NonNegativeNumber);
  app.add_option("--interval-ms", options.interval_ms, "Milliseconds between two arrivals")
      ->check(CLI::NonNegativeNumber);
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
      ->check(CLI::NonNegativeNumber);
  app.add_option("--hang-up-after-ms", options.hang_up_after_ms,
                 "A caller not connected by then hangs up (0: never)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--unreachable", options.unreachable,
               "Answer every connect command 'unreachable', as if no phone answered");
  app.add_flag("--exit-when-done", options.exit_when_done,
               "Exit 0 once every call is over (ended, hung up, timed out, rejected, refused) "
               "and every event acknowledged (default)");
  app.add_flag_callback(
      "--no-exit-when-done", [&options] { options.exit_when_done = false; },
      "Stay connected after the last call, answering commands, until interrupted");
  CLI11_PARSE(app, argc, argv);

  options.topic = *hotline::clients::ParseEnum<v1::Topic>(topic);
  options.priority = *hotline::clients::ParseEnum<v1::Priority>(priority);
  if (!gender_preference.empty()) {
    options.gender_preference = *hotline::clients::ParseEnum<v1::Gender>(gender_preference);
  }
  return hotline::clients::RunGatewaySim(options);
}
