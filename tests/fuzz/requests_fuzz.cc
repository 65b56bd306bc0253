// Fuzz target: the validation of everything a peer sends, as daemon/convert.h does it.
//
// The first byte chooses a message type; the rest is parsed as that message (protobuf's own
// parser, as gRPC would) and, when it parses, handed to the checks the services run on it:
//   0  GatewayMessage: hello.gateway_id, every hello.held_calls entry (call_id, arrived_at,
//      arrived), an event (ValidateEvent, ParseArrival), a command result;
//   1  CreateCounsellorRequest (ParseCounsellor);  2  SetPresenceRequest;
//   3  SubmitDispositionRequest;  4  ReportRequest;  5  ExportDispositionsRequest;
//   6  ChangeCallPriorityRequest;  7  ShiftFiguresRequest.
// Whatever the bytes, it checks that:
//   - every refusal is INVALID_ARGUMENT with a short message of valid text that starts with the
//     field it names (errors echo at most a short prefix of what was wrong);
//   - what an answer echoes of an id (EchoId) is short valid text;
//   - ParseArrival never refuses and gives only values the engine can route (a child's call is
//     never refused for the gateway's data);
//   - what is accepted is clean: a counsellor profile round-trips through ToProto unchanged,
//     a disposition's note is valid text, a valid timestamp converts without overflow, a report
//     period is non-empty and at most kLongestReportPeriod.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "daemon/convert.h"
#include "daemon/text_checks.h"

namespace hotline::daemon {
namespace {

// Longer than any message convert.h writes (the longest names a repeated field's index).
constexpr size_t kLongestMessage = 300;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "requests_fuzz: %s\n", what.c_str());
  std::abort();
}

bool IsText(std::string_view s) { return ValidateText(s, "text").ok(); }

void CheckRefusal(const absl::Status& s, std::string_view field_prefix) {
  if (s.ok()) {
    return;
  }
  if (s.code() != absl::StatusCode::kInvalidArgument) {
    Fail("a refusal that is not INVALID_ARGUMENT: " + s.ToString());
  }
  const std::string message(s.message());
  if (!IsText(message) || message.size() > kLongestMessage) {
    Fail("a refusal whose message is not short, valid text: " + Excerpt(message));
  }
  if (message.substr(0, field_prefix.size()) != field_prefix) {
    Fail("a refusal that does not name its field (" + std::string(field_prefix) + "): " + message);
  }
}

void CheckEcho(const std::string& id) {
  const std::string echo = EchoId(id, kLongestCallId);
  if (!IsText(echo) || echo.size() > 4 * kExcerptBytes + 40) {
    Fail("EchoId returned something that is not short, valid text");
  }
}

void CheckTimestamp(const google::protobuf::Timestamp& t, const std::string& field) {
  const absl::Status s = ValidateTimestamp(t, field);
  CheckRefusal(s, field + ": ");
  if (s.ok()) {
    // Whole milliseconds survive the round trip: no overflow on the way (UBSan watches too).
    const routing::Timestamp ms = FromProto(t);
    if (FromProto(ToProto(ms)) != ms) {
      Fail("a valid timestamp does not round-trip through milliseconds");
    }
  }
}

void CheckArrival(const v1::CallArrived& arrived) {
  std::vector<std::string> defaulted;
  const routing::CallInfo info = ParseArrival(arrived, &defaulted);
  if (!IsText(info.province) || info.province.size() > 16 ||
      (info.province.empty() && !info.province_unknown)) {
    Fail("ParseArrival kept a province that is not a code");
  }
  if (info.language.size() < 2 || info.language.size() > 8 || !IsText(info.language)) {
    Fail("ParseArrival gave a language that is not a code");
  }
  const int topic = static_cast<int>(info.topic);
  const int priority = static_cast<int>(info.priority);
  const int gender = static_cast<int>(info.gender_preference);
  if (topic < 1 || topic > 4 || priority < 1 || priority > 4 || gender < 0 || gender > 2) {
    Fail("ParseArrival gave an enum value the engine does not know");
  }
  if (info.caller_withheld != !ValidateCallerNumber(arrived.caller_number()).ok()) {
    Fail("ParseArrival's caller_withheld disagrees with ValidateCallerNumber");
  }
  CheckRefusal(ValidateCallerNumber(arrived.caller_number()), "arrived.caller_number: ");
}

void Gateway(const v1::GatewayMessage& msg) {
  if (msg.has_hello()) {
    CheckRefusal(ValidateId(msg.hello().gateway_id(), "hello.gateway_id", 64),
                 "hello.gateway_id: ");
    for (int i = 0; i < msg.hello().held_calls_size(); ++i) {
      const v1::HeldCall& held = msg.hello().held_calls(i);
      const std::string field = "hello.held_calls[" + std::to_string(i) + "]";
      CheckRefusal(ValidateId(held.call_id(), field + ".call_id", kLongestCallId),
                   field + ".call_id: ");
      CheckEcho(held.call_id());
      if (held.has_arrived_at()) {
        CheckTimestamp(held.arrived_at(), field + ".arrived_at");
      }
      CheckArrival(held.arrived());
    }
  }
  if (msg.has_event()) {
    const v1::CallEvent& event = msg.event();
    CheckRefusal(ValidateEvent(event), "event.");
    CheckEcho(event.event_id());
    CheckEcho(event.call_id());
    if (event.has_occurred_at()) {
      CheckTimestamp(event.occurred_at(), "event.occurred_at");
    }
    if (event.has_arrived()) {
      CheckArrival(event.arrived());
    }
  }
  if (msg.has_command_result()) {
    CheckRefusal(ValidateCommandResult(msg.command_result()), "command_result.command_id: ");
    const std::string reason = ConnectFailureReason(msg.command_result());
    if (!IsText(reason) || reason.size() > 600) {
      Fail("ConnectFailureReason kept text that is not short, valid text");
    }
  }
}

void Counsellor(const v1::CreateCounsellorRequest& request) {
  const auto profile = ParseCounsellor(request.counsellor());
  CheckRefusal(profile.status(), "counsellor.");
  if (!profile.ok()) {
    return;
  }
  for (const std::string* s : {&profile->id, &profile->display_name, &profile->home_province,
                               &profile->endpoint}) {
    if (s->empty() || !IsText(*s)) {
      Fail("ParseCounsellor accepted an empty or invalid text field");
    }
  }
  const auto again = ParseCounsellor(ToProto(*profile));
  if (!again.ok() || !(*again == *profile)) {
    Fail("an accepted counsellor does not round-trip through ToProto");
  }
}

void Presence(const v1::SetPresenceRequest& request) {
  CheckRefusal(ValidateId(request.request_id(), "request_id", 128), "request_id: ");
  const auto state = ParsePresence(request.state(), "state");
  CheckRefusal(state.status(), "state: ");
  if (state.ok()) {
    const auto reason = ParseDeskBreakReason(request.break_reason(), *state, "break_reason");
    CheckRefusal(reason.status(), "break_reason: ");
    if (reason.ok() && (*reason == routing::BreakReason::kNone) !=
                           (*state != routing::CounsellorState::kBreak)) {
      Fail("a break reason without BREAK, or BREAK without a reason");
    }
  }
}

void Dispose(const v1::SubmitDispositionRequest& request) {
  CheckRefusal(ValidateId(request.call_id(), "call_id", 128), "call_id: ");
  const auto d = ParseDisposition(request.disposition());
  CheckRefusal(d.status(), "disposition.");
  if (d.ok() && (!IsText(d->note) || d->note.size() > 2000 || d->category.empty() ||
                 d->action.empty())) {
    Fail("ParseDisposition accepted a disposition that is not clean");
  }
}

template <class Request>
void Period(const Request& request) {
  const auto period = ParsePeriod(request);
  if (!period.ok()) {
    CheckRefusal(period.status(), "");
    const std::string m(period.status().message());
    if (m.substr(0, 6) != "from: " && m.substr(0, 4) != "to: ") {
      Fail("a period refusal that names neither from nor to: " + m);
    }
    return;
  }
  if (period->to <= period->from || period->to - period->from > kLongestReportPeriod) {
    Fail("ParsePeriod accepted an empty or too long period");
  }
}

template <class Message>
bool Parse(Message& m, std::string_view bytes) {
  return m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace
}  // namespace hotline::daemon

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // A string field that is not UTF-8 fails to parse, and protobuf logs a line for each: the
  // fuzzer would print thousands a second.
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int,
                                     const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace d = hotline::daemon;
  namespace v1 = hotline::v1;
  if (size == 0) {
    return 0;
  }
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      if (v1::GatewayMessage m; d::Parse(m, bytes)) {
        d::Gateway(m);
      }
      break;
    case 1:
      if (v1::CreateCounsellorRequest m; d::Parse(m, bytes)) {
        d::Counsellor(m);
      }
      break;
    case 2:
      if (v1::SetPresenceRequest m; d::Parse(m, bytes)) {
        d::Presence(m);
      }
      break;
    case 3:
      if (v1::SubmitDispositionRequest m; d::Parse(m, bytes)) {
        d::Dispose(m);
      }
      break;
    case 4:
      if (v1::ReportRequest m; d::Parse(m, bytes)) {
        d::Period(m);
        d::CheckRefusal(d::ParseGroupBy(m.by(), "by").status(), "by: ");
      }
      break;
    case 5:
      if (v1::ExportDispositionsRequest m; d::Parse(m, bytes)) {
        d::Period(m);
      }
      break;
    case 6:
      if (v1::ChangeCallPriorityRequest m; d::Parse(m, bytes)) {
        d::CheckRefusal(d::ValidateId(m.call_id(), "call_id", 128), "call_id: ");
        d::CheckRefusal(d::ParsePriority(m.priority(), "priority").status(), "priority: ");
      }
      break;
    default:
      if (v1::ShiftFiguresRequest m; d::Parse(m, bytes) && m.has_since()) {
        d::CheckTimestamp(m.since(), "since");
      }
      break;
  }
  return 0;
}
