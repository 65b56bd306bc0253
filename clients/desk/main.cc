// hotline-desk: a counsellor's desk for hotlined. Full screen (ncurses) on a terminal; one line
// per event with commands on stdin when scripted, piped, or asked for with --line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "clients/common/client.h"
#include "clients/desk/desk.h"
#include "clients/desk/desk_app.h"
#include "clients/desk/desk_commands.h"
#include "clients/desk/taxonomy.h"

namespace {

namespace desk = hotline::clients::desk;

// The wrap-up lists: --taxonomy's file, else the copy built in. Prints why and returns false
// when the file is wrong.
bool LoadLists(const std::string& path, desk::Taxonomy& taxonomy) {
  absl::StatusOr<desk::Taxonomy> loaded =
      path.empty() ? desk::ParseTaxonomy(desk::BuiltInTaxonomyText(), desk::kBuiltInTaxonomySource)
                   : desk::LoadTaxonomy(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(loaded.status().message()).c_str());
    return false;
  }
  taxonomy = *std::move(loaded);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  hotline::clients::DeskOptions options;
  std::string auto_disposition;
  bool line_mode = false;
  std::string lang = "vi";
  std::string taxonomy_path;

  CLI::App app(
      "hotline-desk: a counsellor's desk. Signs in to hotlined with the counsellor's token.\n"
      "On a terminal it runs full screen (Vietnamese; --lang en for English, L switches): offers\n"
      "with a bell, the call, the wrap-up form, presence and the shift's figures (docs/desk.md).\n"
      "Line mode prints each desk event on one line and reads commands from stdin; it runs when\n"
      "--line is given, when stdin or stdout is not a terminal, or with --auto-accept,\n"
      "--auto-disposition, --available or --exit-after-calls.");
  app.option_defaults()->always_capture_default();
  hotline::clients::AddServerFlags(app, options.server, options.token, "HOTLINE_DESK_TOKEN",
                                   /*token_required=*/true, "counsellor's desk");
  app.add_flag("--line", line_mode, "Line mode even on a terminal");
  app.add_option("--lang", lang, "Language of the full screen")->check(CLI::IsMember({"vi", "en"}));
  app.add_option("--taxonomy", taxonomy_path,
                 "The wrap-up form's categories, actions and flags (default: the copy of\n"
                 "deploy/taxonomy.toml built in)");
  app.add_flag("--auto-accept", options.auto_accept,
               "Line mode: accept every offer as soon as it rings");
  app.add_option("--auto-disposition", auto_disposition,
                 "Line mode: record this disposition when wrap-up starts, then go available; e.g.\n"
                 "family_relationships:counselled")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            const auto parsed = hotline::clients::ParseCategoryAction(text);
            return parsed.ok() ? std::string() : std::string(parsed.status().message());
          },
          "CATEGORY:ACTION"));
  app.add_flag("--available", options.available,
               "Line mode: go available as soon as the desk is signed in");
  app.add_option("--exit-after-calls", options.exit_after_calls,
                 "Line mode: exit 0 after recording this many dispositions (0: never)")
      ->check(hotline::clients::WholeNumber());
  app.footer(
      "In line mode, without --auto-accept, --auto-disposition or --exit-after-calls, the end of\n"
      "stdin signs out and exits.\n\n" +
      hotline::clients::DeskHelp());
  CLI11_PARSE(app, argc, argv);

  if (!auto_disposition.empty()) {
    options.auto_disposition = *hotline::clients::ParseCategoryAction(auto_disposition);
  }
  const bool scripted = options.auto_accept || options.auto_disposition.has_value() ||
                        options.available || options.exit_after_calls > 0;
  const bool terminal = isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0;
  if (line_mode || scripted || !terminal) {
    return hotline::clients::RunDesk(options);
  }
  desk::ScreenOptions screen{
      options.server, options.token, lang == "en" ? desk::Lang::kEn : desk::Lang::kVi, {}};
  if (!LoadLists(taxonomy_path, screen.taxonomy)) {
    return 2;
  }
  return desk::RunScreen(screen);
}
