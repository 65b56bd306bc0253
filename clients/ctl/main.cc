// hotlinectl: administration of hotlined (status, counsellors, policy) and the supervisor's
// commands (the live queue, presence, priority, never-route, call explanations, reports).
#include <CLI/CLI.hpp>
#include <map>
#include <optional>
#include <string>

#include "clients/common/client.h"
#include "clients/common/enum_names.h"
#include "clients/common/text.h"
#include "clients/ctl/admin_commands.h"
#include "clients/ctl/privacy_commands.h"
#include "clients/ctl/report_commands.h"
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

// --from and --to of the report commands.
void AddPeriodOptions(CLI::App& command, std::string& from, std::string& to) {
  const CLI::Validator time(
      [](std::string& text) -> std::string {
        const auto parsed = hotline::clients::ParseReportTime(text);
        return parsed.ok() ? std::string() : std::string(parsed.status().message());
      },
      "TIME");
  command.add_option("--from", from, "Start of the period, included: YYYY-MM-DD[THH:MM[:SS]]")
      ->required()
      ->check(time);
  command.add_option("--to", to, "End of the period, excluded: YYYY-MM-DD[THH:MM[:SS]]")
      ->required()
      ->check(time);
}

constexpr const char* kPeriodHelp =
    "Times are Vietnam local time (UTC+7) unless followed by a zone (Z or +HH:MM); a date alone\n"
    "is its midnight. --to is excluded: --from 2026-01-01 --to 2026-01-02 is the whole of 1\n"
    "January. A period is at most 366 days. Needs the supervisor token, not the admin one:\n"
    "--token and HOTLINE_ADMIN_TOKEN are not used.";

}  // namespace

int main(int argc, char** argv) {
  std::string server_address;
  std::string token;
  hotline::clients::CounsellorFlags add_flags;
  hotline::clients::CounsellorFlags update_flags;
  std::string remove_id;
  bool remove_sign_out = false;
  std::string rotate_desk_id;
  std::string account_name;
  std::string account_role;
  std::string account_gateway;
  hotline::clients::ReportFlags report_flags;
  std::string dispositions_from;
  std::string dispositions_to;

  CLI::App app(
      "hotlinectl: administer hotlined (status, counsellors, routing policy) and supervise it\n"
      "(the live queue, presence, priority, never-route, call explanations, reports).");
  // --server and --token may follow the subcommand too: `hotlinectl status --server ...`.
  app.fallthrough();
  app.require_subcommand(1);
  hotline::clients::AddServerFlags(app, server_address, token, "HOTLINE_ADMIN_TOKEN",
                                   /*token_required=*/false, "administrator");

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
  remove->add_flag("--sign-out", remove_sign_out,
                   "Sign a signed-in counsellor out and close their desk first, in one step "
                   "(refused while they hold a call)");
  CLI::App* rotate_desk = counsellor->add_subcommand(
      "rotate-token",
      "Issue a new desk token; the old one stops working and their open desk is closed "
      "(last line: 'token: <token>')");
  rotate_desk->add_option("id", rotate_desk_id, "Counsellor id")->required();

  CLI::App* account = app.add_subcommand(
      "account", "Named gateway, supervisor and admin accounts and their tokens");
  account->require_subcommand(1);
  CLI::App* account_issue = account->add_subcommand(
      "issue", "Create an account and print its token once (last line: 'token: <token>')");
  account_issue->add_option("name", account_name, "Account name")->required();
  account_issue->add_option("--role", account_role, "gateway, supervisor or admin")
      ->required()
      ->check(CLI::IsMember({"gateway", "supervisor", "admin"}));
  account_issue->add_option("--gateway-id", account_gateway,
                            "For a gateway account: the only gateway_id it may say Hello as");
  CLI::App* account_rotate = account->add_subcommand(
      "rotate", "Replace the token; the old one's open streams are closed at once");
  account_rotate->add_option("name", account_name, "Account name")->required();
  CLI::App* account_revoke = account->add_subcommand(
      "revoke", "Revoke the account for good; its open streams are closed at once");
  account_revoke->add_option("name", account_name, "Account name")->required();
  CLI::App* account_list = account->add_subcommand("list", "List accounts (never tokens)");

  CLI::App* policy = app.add_subcommand("policy", "Routing policy");
  policy->require_subcommand(1);
  CLI::App* reload =
      policy->add_subcommand("reload", "Reload the policy file; the old one stays if it is wrong");

  // queue, presence, priority, never, explain and --supervisor-token: SupervisorService with the
  // supervisor token.
  hotline::clients::SupervisorCommands supervisor(app, server_address);
  // callbacks, callback reveal|done, audit: the children's-data commands (supervisor token).
  hotline::clients::PrivacyCommands privacy(app, server_address, supervisor.token());

  CLI::App* report = app.add_subcommand(
      "report", "Figures over a period, grouped: service level, abandons, ASA, AHT, occupancy");
  AddPeriodOptions(*report, report_flags.from, report_flags.to);
  const std::map<std::string, hotline::v1::ReportRequest::GroupBy> groupings = {
      {"centre", hotline::v1::ReportRequest::CENTRE},
      {"province", hotline::v1::ReportRequest::PROVINCE},
      {"topic", hotline::v1::ReportRequest::TOPIC},
      {"priority", hotline::v1::ReportRequest::PRIORITY},
      {"counsellor", hotline::v1::ReportRequest::COUNSELLOR},
      {"hour", hotline::v1::ReportRequest::HOUR}};
  std::string report_by;
  report
      ->add_option("--by", report_by,
                   "Group by centre, province, topic, priority, counsellor or hour (of the day, "
                   "Vietnam time)")
      ->required()
      ->check(CLI::IsMember({"centre", "province", "topic", "priority", "counsellor", "hour"},
                            CLI::ignore_case));
  report->add_flag("--csv", report_flags.csv, "CSV with a header row instead of a table");
  report->footer(
      std::string("One row per group with calls or staffed time, then (total). SERVICE: answered\n"
                  "within 20 s (10 s for emergencies) of the calls offered but short abandons;\n"
                  "ABANDON: hung up after 5 s or more, of the same; SHORT: hung up before 5 s;\n"
                  "ASA/AHT: mean wait of answered calls / talk + wrap-up, in seconds; OCCUPANCY:\n"
                  "on a call or in wrap-up / signed in and not on break. docs/supervision.md has\n"
                  "every definition.\n") +
      kPeriodHelp);

  CLI::App* dispositions = app.add_subcommand(
      "dispositions",
      "Dispositions counted by category, sub-category and action (Child Helpline International "
      "data framework), as CSV; no personal data");
  AddPeriodOptions(*dispositions, dispositions_from, dispositions_to);
  dispositions->footer(std::string("Counts every answered call whose wrap-up ended in the "
                                   "period.\n") +
                       kPeriodHelp);

  CLI11_PARSE(app, argc, argv);

  if (status->parsed()) {
    return hotline::clients::ShowStatus(server_address);
  }
  if (const std::optional<int> code = supervisor.Run()) {
    return *code;
  }
  if (const std::optional<int> code = privacy.Run()) {
    return *code;
  }
  if (report->parsed() || dispositions->parsed()) {
    const std::optional<hotline::clients::Server> reports =
        hotline::clients::SupervisorServer(server_address, supervisor.token());
    if (!reports) {
      return 1;
    }
    if (report->parsed()) {
      report_flags.by = groupings.at(report_by);  // CLI::IsMember lowercased it.
      return hotline::clients::Report(*reports, report_flags);
    }
    return hotline::clients::ExportDispositions(*reports, dispositions_from, dispositions_to);
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
    return hotline::clients::RemoveCounsellor(server, remove_id, remove_sign_out);
  }
  if (rotate_desk->parsed()) {
    return hotline::clients::RotateCounsellorToken(server, rotate_desk_id);
  }
  if (account_issue->parsed()) {
    return hotline::clients::IssueAccount(server, account_name, account_role, account_gateway);
  }
  if (account_rotate->parsed()) {
    return hotline::clients::RotateAccount(server, account_name);
  }
  if (account_revoke->parsed()) {
    return hotline::clients::RevokeAccount(server, account_name);
  }
  if (account_list->parsed()) {
    return hotline::clients::ListAccounts(server);
  }
  if (reload->parsed()) {
    return hotline::clients::ReloadPolicy(server);
  }
  return 1;  // Unreachable: CLI11 requires one of the subcommands above.
}
