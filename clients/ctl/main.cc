// hotlinectl: administration of hotlined (status, counsellors, policy) and the supervisor's
// commands (the live queue, presence, priority, never-route, call explanations).
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "clients/common/client.h"
#include "clients/common/enum_names.h"
#include "clients/common/text.h"
#include "clients/ctl/admin_commands.h"
#include "clients/ctl/supervisor_commands.h"

namespace {

namespace v1 = hotline::v1;

// The profile flags `counsellor add` and `counsellor update` share; `add` requires the ones a
// profile cannot do without.
void AddProfileOptions(CLI::App& command, hotline::clients::CounsellorFlags& flags, bool creating) {
  command.add_option("id", flags.id, "Counsellor id: a-z, 0-9, '-' and '_'")->required();
  CLI::Option* name = command.add_option("--name", flags.name, "Display name");
  CLI::Option* home =
      command.add_option("--home-province", flags.home_province, "Home province code");
  command
      .add_option("--province", flags.provinces,
                  "Another province served (repeatable); the home one always is")
      ->allow_extra_args(false)
      ->delimiter(',');
  CLI::Option* skill =
      command
          .add_option("--skill", flags.skills,
                      "Skill TOPIC:LEVEL (repeatable), level 1-5, topic one of " +
                          hotline::clients::EnumNames<v1::Topic>())
          ->allow_extra_args(false)
          ->delimiter(',')
          ->check(CLI::Validator(
              [](std::string& text) -> std::string {
                const auto parsed = hotline::clients::ParseSkill(text);
                return parsed.ok() ? std::string() : std::string(parsed.status().message());
              },
              "TOPIC:LEVEL"));
  command
      .add_option(
          "--language", flags.languages,
          creating ? "Language code (repeatable); default vi" : "Language code (repeatable)")
      ->allow_extra_args(false)
      ->delimiter(',');
  command.add_option("--gender", flags.gender, "Counsellor's gender")
      ->check(hotline::clients::EnumValidator<v1::Gender>());
  CLI::Option* endpoint = command.add_option(
      "--endpoint", flags.endpoint, "Where the gateway rings them, e.g. sip:lan@pbx.local");
  if (creating) {
    name->required();
    home->required();
    skill->required();
    endpoint->required();
  } else {
    command.footer(
        "Flags not given keep their current value; a list flag given replaces the list.");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string server_address;
  std::string token;
  hotline::clients::CounsellorFlags add_flags;
  hotline::clients::CounsellorFlags update_flags;
  std::string remove_id;

  CLI::App app(
      "hotlinectl: administer hotlined (status, counsellors, routing policy) and supervise it\n"
      "(the live queue, presence, priority, never-route, call explanations).");
  // --server and --token may follow the subcommand too: `hotlinectl status --server ...`.
  app.fallthrough();
  app.require_subcommand(1);
  hotline::clients::AddServerFlags(app, server_address, token, "HOTLINE_ADMIN_TOKEN",
                                   /*token_required=*/false);

  CLI::App* status = app.add_subcommand(
      "status", "Health check and service list; exit 1 unless SERVING (no token needed)");

  CLI::App* counsellor = app.add_subcommand("counsellor", "Manage counsellors");
  counsellor->require_subcommand(1);
  CLI::App* add = counsellor->add_subcommand(
      "add", "Create a counsellor and print their desk token (last line: 'token: <token>')");
  AddProfileOptions(*add, add_flags, /*creating=*/true);
  CLI::App* update = counsellor->add_subcommand("update", "Change a counsellor's profile");
  AddProfileOptions(*update, update_flags, /*creating=*/false);
  CLI::App* list = counsellor->add_subcommand("list", "List counsellors and their live state");
  CLI::App* remove = counsellor->add_subcommand("remove", "Remove a counsellor");
  remove->add_option("id", remove_id, "Counsellor id")->required();

  CLI::App* policy = app.add_subcommand("policy", "Routing policy");
  policy->require_subcommand(1);
  CLI::App* reload =
      policy->add_subcommand("reload", "Reload the policy file; the old one stays if it is wrong");

  // queue, presence, priority, never, explain: SupervisorService with the supervisor token.
  hotline::clients::SupervisorCommands supervisor(app, server_address);

  CLI11_PARSE(app, argc, argv);

  if (status->parsed()) {
    return hotline::clients::ShowStatus(server_address);
  }
  if (const std::optional<int> code = supervisor.Run()) {
    return *code;
  }
  if (token.empty()) {
    hotline::clients::PrintErrorLine(
        "error: no admin token: set HOTLINE_ADMIN_TOKEN or pass --token");
    return 1;
  }
  const hotline::clients::Server server(server_address, token);
  if (add->parsed()) {
    return hotline::clients::AddCounsellor(server, add_flags);
  }
  if (update->parsed()) {
    return hotline::clients::UpdateCounsellor(server, update_flags);
  }
  if (list->parsed()) {
    return hotline::clients::ListCounsellors(server);
  }
  if (remove->parsed()) {
    return hotline::clients::RemoveCounsellor(server, remove_id);
  }
  if (reload->parsed()) {
    return hotline::clients::ReloadPolicy(server);
  }
  return 1;  // Unreachable: CLI11 requires one of the subcommands above.
}
