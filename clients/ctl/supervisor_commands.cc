#include "clients/ctl/supervisor_commands.h"

#include <absl/strings/match.h>
#include <fmt/format.h>

#include <optional>
#include <string_view>
#include <vector>

#include "clients/common/client.h"
#include "clients/common/enum_names.h"
#include "clients/common/text.h"
#include "clients/ctl/queue_command.h"
#include "hotline/v1/supervisor.grpc.pb.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using Stub = v1::SupervisorService::Stub;

constexpr std::string_view kTokenEnv = "HOTLINE_SUPERVISOR_TOKEN";

// The states a supervisor may put a counsellor in (SetCounsellorPresenceRequest.state).
const std::vector<std::string> kPresenceWords = {"available", "break", "offline"};

int Fail(const grpc::Status& status, const std::string& address) {
  PrintErrorLine(SupervisorErrorLine(status, address));
  return 1;
}

// "10:00:31.204  step 1 (centre)  to nghean  3 eligible  longest idle (42 s)  -> accepted at
// 10:00:33.010". The step is the proto's 0-based ladder step, as the daemon reports it.
std::string OfferExplanationText(const v1::OfferExplanation& offer) {
  std::string text = fmt::format("{}  step {}", TimeOfDay(offer.offered_at()), offer.step());
  if (!offer.scope().empty()) {
    text += fmt::format(" ({})", offer.scope());
  }
  text += fmt::format("  to {}  {} eligible  {}  -> ", offer.counsellor_id(), offer.eligible(),
                      offer.rule().empty() ? std::string("-") : offer.rule());
  if (offer.result().empty()) {
    text += "ringing";
  } else if (offer.has_ended_at()) {
    text += fmt::format("{} at {}", offer.result(), TimeOfDay(offer.ended_at()));
  } else {
    text += offer.result();  // TimeOfDay would show an unset time as now.
  }
  return text;
}

int ExplainCall(const Server& server, const std::string& address, const std::string& call_id) {
  v1::ExplainCallRequest request;
  request.set_call_id(call_id);
  v1::ExplainCallResponse response;
  const grpc::Status status = server.Call(&Stub::ExplainCall, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  for (const v1::OfferExplanation& offer : response.offers()) {
    PrintLine(OfferExplanationText(offer));
  }
  return 0;
}

int SetPresence(const Server& server, const std::string& address, const std::string& counsellor_id,
                v1::CounsellorState state) {
  v1::SetCounsellorPresenceRequest request;
  request.set_request_id(NewRequestId());
  request.set_counsellor_id(counsellor_id);
  request.set_state(state);
  v1::SetCounsellorPresenceResponse response;
  const grpc::Status status = server.Call(&Stub::SetCounsellorPresence, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  const v1::CounsellorStatus& now = response.status();
  std::string line = fmt::format("{}: {}", now.counsellor_id(), EnumName(now.state()));
  if (now.state() == v1::COUNSELLOR_STATE_BREAK &&
      now.break_reason() != v1::BREAK_REASON_UNSPECIFIED) {
    line += fmt::format(" ({})", EnumName(now.break_reason()));
  }
  PrintLine(line + " since " + TimeOfDay(now.since()));
  if (now.state() == v1::COUNSELLOR_STATE_OFFLINE) {
    // The daemon removes a counsellor who is offline, closing their desk if it is open.
    PrintLine(fmt::format("signed out; an admin can now remove them: hotlinectl counsellor "
                          "remove {}{}",
                          now.counsellor_id(),
                          now.desk_connected() ? " (their desk, still open, is closed then)" : ""));
  }
  return 0;
}

int ChangePriority(const Server& server, const std::string& address, const std::string& call_id,
                   v1::Priority priority) {
  v1::ChangeCallPriorityRequest request;
  request.set_request_id(NewRequestId());
  request.set_call_id(call_id);
  request.set_priority(priority);
  v1::ChangeCallPriorityResponse response;
  const grpc::Status status = server.Call(&Stub::ChangeCallPriority, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  const v1::CallStatus& call = response.call();
  std::string line = fmt::format("{}: priority {}, {}", call.summary().call_id(),
                                 EnumName(call.summary().priority()), EnumName(call.state()));
  if (call.position() > 0) {
    line += fmt::format(", position {} in the queue", call.position());
  }
  PrintLine(line);
  return 0;
}

int NeverRoute(const Server& server, const std::string& address, const std::string& call_id,
               const std::string& counsellor_id) {
  v1::SupervisorNeverRouteRequest request;
  request.set_request_id(NewRequestId());
  request.set_call_id(call_id);
  request.set_counsellor_id(counsellor_id);
  v1::SupervisorNeverRouteResponse response;
  const grpc::Status status = server.Call(&Stub::NeverRouteCaller, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  PrintLine(fmt::format("the caller of {} will never be routed to {}", call_id, counsellor_id));
  return 0;
}

int EndCall(const Server& server, const std::string& address, const std::string& call_id,
            const std::string& reason) {
  v1::EndCallRequest request;
  request.set_request_id(NewRequestId());
  request.set_call_id(call_id);
  request.set_reason(reason);
  v1::EndCallResponse response;
  const grpc::Status status = server.Call(&Stub::EndCall, request, &response);
  if (!status.ok()) {
    return Fail(status, address);
  }
  const v1::CounsellorStatus& counsellor = response.counsellor();
  PrintLine(fmt::format("{}: ended (failed) by you; {} is in {} since {} and records a disposition",
                        response.call().summary().call_id(), counsellor.counsellor_id(),
                        EnumName(counsellor.state()), TimeOfDay(counsellor.since())));
  return 0;
}

}  // namespace

void AddSupervisorTokenOption(CLI::App& app, std::string& token) {
  app.add_option(
         "--supervisor-token", token,
         fmt::format("Supervisor bearer token for queue, presence, priority, never, explain, "
                     "report and dispositions (not the admin one); better set {}",
                     kTokenEnv))
      ->envname(std::string(kTokenEnv));
}

std::optional<Server> SupervisorServer(const std::string& address, const std::string& token) {
  if (token.empty()) {
    PrintErrorLine(fmt::format(
        "error: no supervisor token: set {} or pass --supervisor-token (the admin token does not "
        "work here)",
        kTokenEnv));
    return std::nullopt;
  }
  return Server(address, token);
}

std::string SupervisorErrorText(const grpc::Status& status, const std::string& address) {
  const std::string code = CodeName(status.error_code());
  std::string what;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      // A token revoked or rotated out while in use (a watch it held ended): the right kind of
      // token, no longer valid.
      if (absl::StrContains(status.error_message(), "was revoked") ||
          absl::StrContains(status.error_message(), "was rotated out")) {
        return fmt::format("hotlined no longer takes this token ({}: {}): ask an admin for {}",
                           code, status.error_message(),
                           absl::StrContains(status.error_message(), "was revoked")
                               ? "a supervisor account of your own (a revoked one stays revoked)"
                               : "the account's new supervisor token");
      }
      // What it needs first; the server's words in brackets.
      return fmt::format(
          "hotlined refused the token ({}{}{}): this command needs the supervisor token ({}), not "
          "the admin one; set it or pass --supervisor-token",
          code, status.error_message().empty() ? "" : ": ", status.error_message(), kTokenEnv);
    case grpc::StatusCode::NOT_FOUND:
      what = "not found";
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
      what = "not possible now";
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      what = "refused as invalid";
      break;
    case grpc::StatusCode::UNAVAILABLE:
      what = fmt::format("cannot reach hotlined at {}", address);
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      what = "hotlined did not answer in time";
      break;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // A limit: the request's size, a rate, a full queue or too many streams (docs/limits.md).
      what = "refused by a limit of hotlined";
      break;
    case grpc::StatusCode::CANCELLED:
      what = "cancelled";
      break;
    case grpc::StatusCode::OK:
      // A stream the daemon ended without an error: it is shutting down.
      what = "hotlined closed the stream";
      break;
    default:
      what = "hotlined failed";
      break;
  }
  // gRPC's own cancellation says only "CANCELLED": no words to add.
  if (status.error_message().empty() || status.error_message() == code) {
    return fmt::format("{} ({})", what, code);
  }
  return fmt::format("{}: {} ({})", what, status.error_message(), code);
}

std::string SupervisorErrorLine(const grpc::Status& status, const std::string& address) {
  return "error: " + SupervisorErrorText(status, address);
}

SupervisorCommands::SupervisorCommands(CLI::App& app, const std::string& server_address)
    : server_address_(server_address) {
  AddSupervisorTokenOption(app, token_);
  const std::string token_footer =
      "\n\nNeeds the supervisor token (HOTLINE_SUPERVISOR_TOKEN or --supervisor-token), not the "
      "admin one:\n--token and HOTLINE_ADMIN_TOKEN are not used.";

  queue_ = app.add_subcommand(
      "queue",
      "The live queue: waiting calls, calls in progress, counsellors, figures (supervisor token)");
  queue_->add_flag("--watch", watch_,
                   "Keep watching: redraw on every change until Ctrl-C, reconnecting if the "
                   "stream drops");
  queue_->footer(
      "Waiting calls are listed in queue order: priority (emergency, high, normal, low), then\n"
      "arrival; emergencies are marked !!. STEP is the 0-based ladder step; CALLER is masked to\n"
      "its last two digits. The daemon lists only the first waiting calls (by default 100); the\n"
      "headline counts them all. Without --watch, prints the queue once and exits." +
      token_footer);

  presence_ = app.add_subcommand(
      "presence", "Put a counsellor available, on break or offline (signed out; supervisor token)");
  presence_->add_option("counsellor_id", presence_counsellor_, "Counsellor id")->required();
  presence_->add_option("state", presence_state_, "available, break or offline")
      ->required()
      ->check(CLI::IsMember(kPresenceWords, CLI::ignore_case));
  presence_->footer(
      "available: back to taking offers (their desk must be open). break: no offers, reason\n"
      "'supervisor'. offline: signs them out; an admin can then remove them with\n"
      "`hotlinectl counsellor remove`, which closes their desk if it is still open. Refused\n"
      "while an offer rings on their desk or they hold a call: sign them out after it." +
      token_footer);

  priority_ = app.add_subcommand(
      "priority", "Raise or lower a waiting call's priority, at once (supervisor token)");
  priority_->add_option("call_id", priority_call_, "Call id, as `queue` lists it")->required();
  priority_->add_option("priority", new_priority_, "The new priority")
      ->required()
      ->check(EnumValidator<v1::Priority>());
  priority_->footer("Refused once the call is connected." + token_footer);

  never_ = app.add_subcommand(
      "never", "Never route this call's caller to this counsellor again (supervisor token)");
  never_->add_option("call_id", never_call_, "A live call, or one ended in the last day")
      ->required();
  never_->add_option("counsellor_id", never_counsellor_, "Counsellor id")->required();
  never_->footer("The caller is known by a keyed hash of their number, never the number." +
                 token_footer);

  explain_ = app.add_subcommand(
      "explain", "Why a call went where it went: each offer made for it (supervisor token)");
  explain_->add_option("call_id", explain_call_, "Call id")->required();
  explain_->footer(
      "Prints one line per offer, oldest first: when it was made, the ladder step (0-based) and\n"
      "its scope, the counsellor, how many were eligible, the rule that chose them, and how the\n"
      "offer ended ('ringing' while it still rings)." +
      token_footer);

  end_ = app.add_subcommand(
      "end-call",
      "End a connected call whose gateway cannot: its counsellor goes to wrap-up (supervisor "
      "token)");
  end_->add_option("call_id", end_call_, "A connected call, as `queue` lists it")->required();
  end_->add_option("--reason", end_reason_, "Why, for the record (1-500 bytes)")->required();
  end_->footer(
      "For a call that stays connected in Hotline after the gateway lost it or its link went\n"
      "down for good: the counsellor is held on it and cannot be offered another. The call ends\n"
      "'failed' with the reason \"ended by <you>: <reason>\"; the counsellor's desk is told, and\n"
      "they go to wrap-up. Nothing is sent to the gateway (the child may still be on the line:\n"
      "check with the counsellor first). Audited. Your words in the reason are kept as long as\n"
      "a note (retention.notes_days): say what happened to the line, never anything about the\n"
      "child. Refused for a call not connected: waiting, ringing and connecting calls have\n"
      "timers of their own." +
      token_footer);
}

std::optional<int> SupervisorCommands::Run() const {
  if (!queue_->parsed() && !presence_->parsed() && !priority_->parsed() && !never_->parsed() &&
      !explain_->parsed() && !end_->parsed()) {
    return std::nullopt;
  }
  const std::optional<Server> connected = SupervisorServer(server_address_, token_);
  if (!connected) {
    return 1;
  }
  const Server& server = *connected;
  if (queue_->parsed() && watch_) {
    return WatchQueue(Server(server_address_, token_, WatchChannelArguments()), server_address_);
  }
  if (queue_->parsed()) {
    return ShowQueue(server, server_address_);
  }
  if (presence_->parsed()) {
    return SetPresence(server, server_address_, presence_counsellor_,
                       *ParseEnum<v1::CounsellorState>(presence_state_));
  }
  if (priority_->parsed()) {
    return ChangePriority(server, server_address_, priority_call_,
                          *ParseEnum<v1::Priority>(new_priority_));
  }
  if (never_->parsed()) {
    return NeverRoute(server, server_address_, never_call_, never_counsellor_);
  }
  if (end_->parsed()) {
    return EndCall(server, server_address_, end_call_, end_reason_);
  }
  return ExplainCall(server, server_address_, explain_call_);
}

}  // namespace hotline::clients
