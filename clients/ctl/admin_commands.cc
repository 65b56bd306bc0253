#include "clients/ctl/admin_commands.h"

#include <absl/status/status.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "clients/common/enum_names.h"
#include "clients/common/text.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "hotline/v1/admin.grpc.pb.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using Stub = v1::AdminService::Stub;

// `status` is what scripts and probes run to ask "is it up?"; it must answer quickly either way.
constexpr std::chrono::milliseconds kStatusTimeout{5'000};

int Fail(const grpc::Status& status) {
  PrintErrorLine(ErrorLine(status));
  return 1;
}

// Items joined by `separator`, or "-" for none. (Not named Join: argument-dependent lookup would
// find protobuf's own Join for a RepeatedPtrField.)
std::string JoinList(const google::protobuf::RepeatedPtrField<std::string>& items,
                     std::string_view separator) {
  if (items.empty()) {
    return "-";
  }
  return fmt::format("{}", fmt::join(items.begin(), items.end(), separator));
}

std::string SkillText(const v1::TopicSkill& skill) {
  return fmt::format("{}:{}", EnumName(skill.topic()), skill.proficiency());
}

std::string SkillsText(const v1::Counsellor& counsellor, std::string_view separator) {
  std::vector<std::string> skills;
  for (const v1::TopicSkill& skill : counsellor.skills()) {
    skills.push_back(SkillText(skill));
  }
  return fmt::format("{}", fmt::join(skills, separator));
}

void PrintProfile(const v1::Counsellor& counsellor) {
  PrintLine("id: " + counsellor.counsellor_id());
  PrintLine("name: " + counsellor.display_name());
  PrintLine("home province: " + counsellor.home_province());
  PrintLine("provinces: " + JoinList(counsellor.provinces(), ", "));
  PrintLine("skills: " + SkillsText(counsellor, ", "));
  PrintLine("languages: " + JoinList(counsellor.languages(), ", "));
  PrintLine("gender: " + (counsellor.gender() == v1::GENDER_UNSPECIFIED
                              ? std::string("-")
                              : EnumName(counsellor.gender())));
  PrintLine("endpoint: " + counsellor.endpoint());
}

// Overlays the flags that were given on `counsellor`. REQUIRES: skills and gender were
// validated when the command line was parsed.
void ApplyFlags(const CounsellorFlags& flags, v1::Counsellor& counsellor) {
  counsellor.set_counsellor_id(flags.id);
  if (!flags.name.empty()) {
    counsellor.set_display_name(flags.name);
  }
  if (!flags.home_province.empty()) {
    counsellor.set_home_province(flags.home_province);
  }
  if (!flags.provinces.empty()) {
    counsellor.mutable_provinces()->Assign(flags.provinces.begin(), flags.provinces.end());
  }
  if (!flags.skills.empty()) {
    counsellor.clear_skills();
    for (const std::string& text : flags.skills) {
      *counsellor.add_skills() = *ParseSkill(text);
    }
  }
  if (!flags.languages.empty()) {
    counsellor.mutable_languages()->Assign(flags.languages.begin(), flags.languages.end());
  }
  if (!flags.gender.empty()) {
    counsellor.set_gender(*ParseEnum<v1::Gender>(flags.gender));
  }
  if (!flags.endpoint.empty()) {
    counsellor.set_endpoint(flags.endpoint);
  }
}

std::string StateText(const v1::CounsellorStatus& status) {
  std::string text = EnumName(status.state());
  if (status.state() == v1::COUNSELLOR_STATE_BREAK &&
      status.break_reason() != v1::BREAK_REASON_UNSPECIFIED) {
    text += fmt::format(" ({})", EnumName(status.break_reason()));
  }
  return text;
}

}  // namespace

int ShowStatus(const std::string& address) {
  // Health and reflection are open to anyone: no token, so a stale one cannot get in the way.
  const Server server(address, "");

  grpc::ClientContext health_context;
  server.Prepare(health_context, kStatusTimeout);
  grpc::health::v1::HealthCheckResponse health;
  const grpc::Status health_status =
      grpc::health::v1::Health::NewStub(server.channel())
          ->Check(&health_context, grpc::health::v1::HealthCheckRequest(), &health);
  if (!health_status.ok()) {
    return Fail(health_status);
  }
  PrintLine("health: " +
            grpc::health::v1::HealthCheckResponse::ServingStatus_Name(health.status()));
  if (health.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return 1;
  }

  grpc::ClientContext reflection_context;
  server.Prepare(reflection_context, kStatusTimeout);
  auto reflection = grpc::reflection::v1alpha::ServerReflection::NewStub(server.channel());
  auto stream = reflection->ServerReflectionInfo(&reflection_context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("");  // The server ignores the content.
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  const bool answered = stream->Write(request) && stream->WritesDone() && stream->Read(&response);
  const grpc::Status reflection_status = stream->Finish();
  if (!reflection_status.ok()) {
    return Fail(reflection_status);
  }
  if (!answered) {
    return Fail(grpc::Status(grpc::StatusCode::UNKNOWN, "reflection sent no answer"));
  }
  if (response.has_error_response()) {
    return Fail(grpc::Status(static_cast<grpc::StatusCode>(response.error_response().error_code()),
                             response.error_response().error_message()));
  }
  std::vector<std::string> names;
  for (const auto& service : response.list_services_response().service()) {
    names.push_back(service.name());
  }
  std::sort(names.begin(), names.end());
  PrintLine("services:");
  for (const std::string& name : names) {
    PrintLine("  " + name);
  }
  return 0;
}

int AddCounsellor(const Server& server, const CounsellorFlags& flags) {
  v1::CreateCounsellorRequest request;
  v1::Counsellor& counsellor = *request.mutable_counsellor();
  ApplyFlags(flags, counsellor);
  if (counsellor.languages().empty()) {
    counsellor.add_languages("vi");  // Every counsellor on the line speaks Vietnamese.
  }
  v1::CreateCounsellorResponse response;
  const grpc::Status status = server.Call(&Stub::CreateCounsellor, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintProfile(response.counsellor());
  PrintLine("token: " + response.token());
  return 0;
}

int UpdateCounsellor(const Server& server, const CounsellorFlags& flags) {
  // The id and the flags' text checked first, as Server::Call checks a request: the id is also
  // looked up here and quoted in our own NOT_FOUND.
  v1::UpdateCounsellorRequest typed;
  ApplyFlags(flags, *typed.mutable_counsellor());
  if (std::string bad = FirstTextNotUtf8(typed); !bad.empty()) {
    return Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, bad));
  }
  // UpdateCounsellor replaces the whole profile, so start from the current one: an admin
  // changing an endpoint should not have to retype the skills.
  v1::ListCounsellorsResponse list;
  const grpc::Status list_status =
      server.Call(&Stub::ListCounsellors, v1::ListCounsellorsRequest(), &list);
  if (!list_status.ok()) {
    return Fail(list_status);
  }
  const auto current =
      std::find_if(list.counsellors().begin(), list.counsellors().end(),
                   [&flags](const v1::Counsellor& c) { return c.counsellor_id() == flags.id; });
  if (current == list.counsellors().end()) {
    return Fail(grpc::Status(grpc::StatusCode::NOT_FOUND,
                             fmt::format("no counsellor with id '{}'", flags.id)));
  }

  v1::UpdateCounsellorRequest request;
  *request.mutable_counsellor() = *current;
  ApplyFlags(flags, *request.mutable_counsellor());
  v1::UpdateCounsellorResponse response;
  const grpc::Status status = server.Call(&Stub::UpdateCounsellor, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintProfile(response.counsellor());
  return 0;
}

int ListCounsellors(const Server& server) {
  v1::ListCounsellorsResponse response;
  const grpc::Status status =
      server.Call(&Stub::ListCounsellors, v1::ListCounsellorsRequest(), &response);
  if (!status.ok()) {
    return Fail(status);
  }
  std::map<std::string, const v1::CounsellorStatus*> statuses;
  for (const v1::CounsellorStatus& counsellor_status : response.statuses()) {
    statuses[counsellor_status.counsellor_id()] = &counsellor_status;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "HOME", "PROVINCES", "SKILLS", "LANGUAGES", "STATE"}};
  for (const v1::Counsellor& counsellor : response.counsellors()) {
    const auto found = statuses.find(counsellor.counsellor_id());
    rows.push_back({counsellor.counsellor_id(), counsellor.display_name(),
                    counsellor.home_province(), JoinList(counsellor.provinces(), ","),
                    SkillsText(counsellor, ","), JoinList(counsellor.languages(), ","),
                    found == statuses.end() ? std::string("-") : StateText(*found->second)});
  }
  PrintTable(rows);
  return 0;
}

int RemoveCounsellor(const Server& server, const std::string& id, bool sign_out) {
  v1::RemoveCounsellorRequest request;
  request.set_counsellor_id(id);
  request.set_sign_out(sign_out);
  v1::RemoveCounsellorResponse response;
  const grpc::Status status = server.Call(&Stub::RemoveCounsellor, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintLine("removed: " + id);
  return 0;
}

int RotateCounsellorToken(const Server& server, const std::string& id) {
  v1::RotateCounsellorTokenRequest request;
  request.set_counsellor_id(id);
  v1::RotateCounsellorTokenResponse response;
  const grpc::Status status = server.Call(&Stub::RotateCounsellorToken, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintLine("id: " + id);
  PrintLine("token: " + response.token());
  return 0;
}

namespace {

std::string RoleText(v1::AccountRole role) {
  switch (role) {
    case v1::ACCOUNT_ROLE_GATEWAY:
      return "gateway";
    case v1::ACCOUNT_ROLE_SUPERVISOR:
      return "supervisor";
    case v1::ACCOUNT_ROLE_ADMIN:
      return "admin";
    default:
      return "-";
  }
}

void PrintAccount(const v1::Account& account) {
  PrintLine("name: " + account.name());
  PrintLine("role: " + RoleText(account.role()));
  if (!account.gateway_id().empty()) {
    PrintLine("gateway: " + account.gateway_id());
  }
  if (account.has_revoked_at()) {
    PrintLine("revoked: yes");
  }
}

}  // namespace

int IssueAccount(const Server& server, const std::string& name, const std::string& role,
                 const std::string& gateway_id) {
  v1::IssueTokenRequest request;
  request.set_name(name);
  request.set_role(role == "gateway"      ? v1::ACCOUNT_ROLE_GATEWAY
                   : role == "supervisor" ? v1::ACCOUNT_ROLE_SUPERVISOR
                   : role == "admin"      ? v1::ACCOUNT_ROLE_ADMIN
                                          : v1::ACCOUNT_ROLE_UNSPECIFIED);
  request.set_gateway_id(gateway_id);
  v1::IssueTokenResponse response;
  const grpc::Status status = server.Call(&Stub::IssueToken, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintAccount(response.account());
  PrintLine("token: " + response.token());
  return 0;
}

int RotateAccount(const Server& server, const std::string& name) {
  v1::RotateTokenRequest request;
  request.set_name(name);
  v1::RotateTokenResponse response;
  const grpc::Status status = server.Call(&Stub::RotateToken, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintAccount(response.account());
  PrintLine("token: " + response.token());
  return 0;
}

int RevokeAccount(const Server& server, const std::string& name) {
  v1::RevokeTokenRequest request;
  request.set_name(name);
  v1::RevokeTokenResponse response;
  const grpc::Status status = server.Call(&Stub::RevokeToken, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintLine("revoked: " + name);
  return 0;
}

int ListAccounts(const Server& server) {
  v1::ListAccountsResponse response;
  const grpc::Status status =
      server.Call(&Stub::ListAccounts, v1::ListAccountsRequest(), &response);
  if (!status.ok()) {
    return Fail(status);
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "ROLE", "GATEWAY", "STATE"}};
  for (const v1::Account& a : response.accounts()) {
    rows.push_back({a.name(), RoleText(a.role()), a.gateway_id().empty() ? "-" : a.gateway_id(),
                    a.has_revoked_at() ? "revoked" : "active"});
  }
  PrintTable(rows);
  return 0;
}

int ReloadPolicy(const Server& server) {
  v1::ReloadPolicyResponse response;
  const grpc::Status status =
      server.Call(&Stub::ReloadPolicy, v1::ReloadPolicyRequest(), &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintLine("policy: " + response.summary());
  return 0;
}

absl::StatusOr<v1::TopicSkill> ParseSkill(std::string_view text) {
  const std::vector<std::string_view> parts = Split(text, ':');
  if (parts.size() != 2) {
    return absl::InvalidArgumentError(
        fmt::format("'{}' is not TOPIC:LEVEL, e.g. counselling:4", text));
  }
  const std::optional<v1::Topic> topic = ParseEnum<v1::Topic>(parts[0]);
  if (!topic) {
    return absl::InvalidArgumentError(
        fmt::format("unknown topic '{}'; one of: {}", parts[0], EnumNames<v1::Topic>(", ")));
  }
  int level = 0;
  const char* const end = parts[1].data() + parts[1].size();
  const auto [parsed_end, error] = std::from_chars(parts[1].data(), end, level);
  if (error != std::errc() || parsed_end != end || level < 1 || level > 5) {
    return absl::InvalidArgumentError(
        fmt::format("skill level '{}' is not a whole number from 1 to 5", parts[1]));
  }
  v1::TopicSkill skill;
  skill.set_topic(*topic);
  skill.set_proficiency(level);
  return skill;
}

}  // namespace hotline::clients
