// hotline-desk: a counsellor's desk for hotlined, one line per event, commands on stdin.
#include <CLI/CLI.hpp>
#include <string>

#include "clients/common/client.h"
#include "clients/desk/desk.h"
#include "clients/desk/desk_commands.h"

int main(int argc, char** argv) {
  hotline::clients::DeskOptions options;
  std::string auto_disposition;

  CLI::App app(
      "hotline-desk: a counsellor's desk. Signs in to hotlined, prints each desk event (offers,\n"
      "calls, wrap-up, presence) on one line, and reads commands from stdin.");
  app.option_defaults()->always_capture_default();
  hotline::clients::AddServerFlags(app, options.server, options.token, "HOTLINE_DESK_TOKEN",
                                   /*token_required=*/true, "counsellor's desk");
  app.add_flag("--auto-accept", options.auto_accept, "Accept every offer as soon as it rings");
  app.add_option("--auto-disposition", auto_disposition,
                 "Record this disposition when wrap-up starts, then go available; e.g.\n"
                 "family_relationships:counselled")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            const auto parsed = hotline::clients::ParseCategoryAction(text);
            return parsed.ok() ? std::string() : std::string(parsed.status().message());
          },
          "CATEGORY:ACTION"));
  app.add_flag("--available", options.available, "Go available as soon as the desk is signed in");
  app.add_option("--exit-after-calls", options.exit_after_calls,
                 "Exit 0 after recording this many dispositions (0: never)")
      ->check(CLI::NonNegativeNumber);
  app.footer(
      "Without --auto-accept, --auto-disposition or --exit-after-calls, the end of stdin signs\n"
      "out and exits.\n\n" +
      hotline::clients::DeskHelp());
  CLI11_PARSE(app, argc, argv);

  if (!auto_disposition.empty()) {
    options.auto_disposition = *hotline::clients::ParseCategoryAction(auto_disposition);
  }
  return hotline::clients::RunDesk(options);
}
