#include "clients/ctl/privacy_commands.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <ctime>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "clients/common/client.h"
#include "clients/common/enum_names.h"
#include "clients/common/text.h"
#include "clients/ctl/report_commands.h"
#include "clients/ctl/supervisor_commands.h"
#include "hotline/v1/supervisor.grpc.pb.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using Stub = v1::SupervisorService::Stub;

int Fail(const grpc::Status& status, const std::string& address) {
  PrintErrorLine(SupervisorErrorLine(status, address));
  return 1;
}

// "2025-10-09 14:03:07" in Vietnam time: the audit and callbacks span days.
std::string DateTime(const google::protobuf::Timestamp& t) {
  const std::time_t vietnam = static_cast<std::time_t>(t.seconds() + kVietnamUtcOffsetMinutes * 60);
  std::tm tm{};
  gmtime_r(&vietnam, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::vector<std::string> CallbackRow(const v1::PendingCallback& c) {
  return {std::to_string(c.callback_id()), c.call_id(), c.caller_masked(), EnumName(c.outcome()),
          DateTime(c.ended_at()), c.gateway_id()};
}

int ListCallbacks(const Server& server, const std::string& address, int limit) {
  v1::ListCallbacksRequest request;
  request.set_limit(limit);
  v1::ListCallbacksResponse response;
  const grpc::Status status = server.Call(&Stub::ListCallbacks, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  if (response.callbacks().empty()) {
    PrintLine("no callback is pending");
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "CALL", "CALLER", "OUTCOME", "ENDED", "GATEWAY"}};
  for (const auto& c : response.callbacks()) {
    rows.push_back(CallbackRow(c));
  }
  PrintTable(rows);
  return 0;
}

int Reveal(const Server& server, const std::string& address, int64_t id) {
  v1::RevealCallbackRequest request;
  request.set_callback_id(id);
  v1::RevealCallbackResponse response;
  const grpc::Status status = server.Call(&Stub::RevealCallback, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  const v1::PendingCallback& c = response.callback();
  PrintLine(fmt::format("callback {} (call {}, {}, ended {}): {}", c.callback_id(), c.call_id(),
                        EnumName(c.outcome()), DateTime(c.ended_at()), response.caller_number()));
  PrintLine(fmt::format("when the call is made: hotlinectl callback done {}", c.callback_id()));
  return 0;
}

int Done(const Server& server, const std::string& address, int64_t id) {
  v1::CallbackDoneRequest request;
  request.set_callback_id(id);
  v1::CallbackDoneResponse response;
  const grpc::Status status = server.Call(&Stub::CallbackDone, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  PrintLine(fmt::format("callback {} done: its number is deleted", id));
  return 0;
}

int ListAudit(const Server& server, const std::string& address, const std::string& since,
              int limit) {
  v1::ListAuditRequest request;
  request.set_limit(limit);
  if (!since.empty()) {
    absl::StatusOr<google::protobuf::Timestamp> t = ParseReportTime(since);
    if (!t.ok()) {
      PrintErrorLine(fmt::format("error: --since: {}", std::string(t.status().message())));
      return 1;
    }
    *request.mutable_since() = *t;
  }
  v1::ListAuditResponse response;
  const grpc::Status status = server.Call(&Stub::ListAudit, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  std::vector<std::vector<std::string>> rows = {{"AT", "ROLE", "WHO", "ACTION", "SUBJECT"}};
  for (const auto& e : response.entries()) {
    rows.push_back({DateTime(e.at()), e.role(), e.principal(), e.action(), e.subject()});
  }
  PrintTable(rows);
  return 0;
}

}  // namespace

PrivacyCommands::PrivacyCommands(CLI::App& app, const std::string& server_address,
                                 const std::string& token)
    : server_address_(server_address), token_(token) {
  const std::string footer =
      "\n\nNeeds the supervisor token (HOTLINE_SUPERVISOR_TOKEN or --supervisor-token). Every "
      "use is\nrecorded in the audit (`hotlinectl audit`). docs/privacy.md says what is kept and "
      "for how long.";
  callbacks_ = app.add_subcommand(
      "callbacks", "Calls waiting for a callback, with masked numbers (supervisor token)");
  callbacks_->add_option("--limit", limit_, "At most this many, oldest first (default 100)")
      ->check(CLI::Range(1, 1000));
  callbacks_->footer(
      "A call needs a callback when it timed out after the gateway offered one, or the caller\n"
      "asked for one. Its number is kept sealed until `callback done`, or deleted after\n"
      "[retention] callback_days." +
      footer);

  callback_ = app.add_subcommand("callback", "Reveal or finish one callback (supervisor token)");
  callback_->require_subcommand(1);
  reveal_ = callback_->add_subcommand("reveal", "Print the caller's full number (audited)");
  // Checked as typed: CLI11 reads a number too large for 64 bits as the largest one, which would
  // be sent (and audited) in place of what was typed.
  const CLI::Validator callback_id(
      [](const std::string& text) -> std::string {
        int64_t id = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (error != std::errc() || end != text.data() + text.size() || id < 1) {
          return "not a callback ID: a whole number from 1 to " +
                 std::to_string(std::numeric_limits<int64_t>::max()) + ", as `callbacks` lists";
        }
        return "";
      },
      "ID");
  reveal_->add_option("id", reveal_id_, "The callback's ID, as `callbacks` lists it")
      ->required()
      ->check(callback_id);
  reveal_->footer("The number is shown once, here; it is never logged." + footer);
  done_ = callback_->add_subcommand("done", "The callback was made: delete the number");
  done_->add_option("id", done_id_, "The callback's ID")->required()->check(callback_id);
  done_->footer(footer);

  audit_ = app.add_subcommand(
      "audit", "Who viewed or exported what: reports, explanations, live views, reveals");
  audit_->add_option("--since", audit_since_,
                     "From this time on (YYYY-MM-DD[THH:MM[:SS]], Vietnam time unless a zone "
                     "follows); default: everything kept");
  audit_->add_option("--limit", audit_limit_, "At most this many rows (default 1000)")
      ->check(CLI::Range(1, 10'000));
  audit_->footer("Reading the audit is itself recorded in it." + footer);
}

std::optional<int> PrivacyCommands::Run() const {
  if (!callbacks_->parsed() && !callback_->parsed() && !audit_->parsed()) {
    return std::nullopt;
  }
  const std::optional<Server> server = SupervisorServer(server_address_, token_);
  if (!server) {
    return 1;
  }
  if (callbacks_->parsed()) {
    return ListCallbacks(*server, server_address_, limit_);
  }
  if (reveal_->parsed()) {
    return Reveal(*server, server_address_, reveal_id_);
  }
  if (done_->parsed()) {
    return Done(*server, server_address_, done_id_);
  }
  return ListAudit(*server, server_address_, audit_since_, audit_limit_);
}

}  // namespace hotline::clients
