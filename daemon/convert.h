// Conversion between the proto contract (hotline.v1) and routing's domain types, with the
// validation of everything that comes in. The only file where the two meet.
//
// Every Parse* function returns INVALID_ARGUMENT with a message that names the field
// ("arrived.province: ...") and produces nothing on error. Stateless; thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "hotline/v1/admin.pb.h"
#include "hotline/v1/common.pb.h"
#include "hotline/v1/desk.pb.h"
#include "hotline/v1/gateway.pb.h"
#include "hotline/v1/supervisor.pb.h"
#include "routing/engine.h"
#include "routing/types.h"
#include "stats/figures.h"
#include "stats/report.h"

namespace hotline::daemon {

namespace v1 = ::hotline::v1;

google::protobuf::Timestamp ToProto(routing::Timestamp t);
routing::Timestamp FromProto(const google::protobuf::Timestamp& t);
google::protobuf::Duration ToProtoDuration(routing::Millis d);

// Checks the envelope of a gateway event: event_id, call_id and that a kind is set.
absl::Status ValidateEvent(const v1::CallEvent& event);

// The longest call id and event id a gateway may send.
inline constexpr size_t kLongestCallId = 128;

// Identifier checks shared by several messages. `field` names the field in the error.
absl::Status ValidateId(const std::string& value, const std::string& field, size_t max_size);
// What an answer echoes of an id a peer sent: the id itself when ValidateId accepts it, otherwise
// only its Excerpt (text_checks.h), so a 1 MB id or a control character never goes back.
std::string EchoId(const std::string& value, size_t max_size);

// The result of a command, checked before it is logged or acted on: its command_id is 1-256
// bytes of text (text_checks.h). INVALID_ARGUMENT naming the field otherwise.
absl::Status ValidateCommandResult(const v1::CommandResult& result);
// The words a failed connect is recorded with: "unreachable: <reason>" or "connect failed:
// <reason>". A reason that is not valid text of at most 500 bytes is not kept: the refusal takes
// its place, so the failure still counts and the bad text goes nowhere.
std::string ConnectFailureReason(const v1::CommandResult& result);

// The arrival, minus the caller number (which the caller turns into key and mask itself). Never
// fails: a child's call is never refused for the gateway's data (DESIGN §6). A withheld or
// malformed number sets caller_withheld (masked "withheld"); a malformed province sets
// province_unknown (the code is dropped); a malformed language is taken as "vi", an unset or
// unknown topic as OTHER, priority as NORMAL and gender preference as none. `defaulted` lists the
// fields of that last kind, for the log.
// REQUIRES: the caller fills call_id, gateway_id, caller_key, caller_masked (unless withheld),
// arrived_at.
routing::CallInfo ParseArrival(const v1::CallArrived& arrived,
                               std::vector<std::string>* defaulted = nullptr);
absl::Status ValidateCallerNumber(const std::string& number);

absl::StatusOr<routing::CounsellorProfile> ParseCounsellor(const v1::Counsellor& c);
v1::Counsellor ToProto(const routing::CounsellorProfile& p);

absl::StatusOr<routing::Disposition> ParseDisposition(const v1::Disposition& d);

// AVAILABLE, BREAK or OFFLINE; INVALID_ARGUMENT naming `field` otherwise.
absl::StatusOr<routing::CounsellorState> ParsePresence(v1::CounsellorState s,
                                                       const std::string& field);
// The reason a desk gives with SetPresence: with BREAK, CHOSEN (also for UNSPECIFIED), REST,
// MEAL, TRAINING, DEBRIEF or FOLLOW_UP; with another state, none. INVALID_ARGUMENT naming `field`
// otherwise (the daemon's own reasons are not a desk's to give).
absl::StatusOr<routing::BreakReason> ParseDeskBreakReason(v1::BreakReason r,
                                                          routing::CounsellorState state,
                                                          const std::string& field);
absl::StatusOr<routing::Priority> ParsePriority(v1::Priority p, const std::string& field);

v1::CounsellorStatus ToProto(const routing::CounsellorView& c);
// The same from the engine's own entry (Engine::PeekCounsellor), nothing copied on the way.
v1::CounsellorStatus ToProto(const routing::CounsellorEntry& c);
// `regions` names the province (CallSummary.province_name); null leaves it empty.
v1::CallSummary ToSummary(const routing::CallInfo& call, const routing::Regions* regions);
v1::CallStatus ToProto(const routing::CallView& call, routing::Timestamp now,
                       const routing::Regions* regions = nullptr);
v1::CallOutcome ToProto(routing::Outcome o);
v1::OfferRevokedEvent::Reason ToProto(routing::RevokeReason r);

// A google.protobuf.Timestamp in the range it allows (0001-01-01 to 9999-12-31, nanos within a
// second); INVALID_ARGUMENT naming `field` otherwise.
absl::Status ValidateTimestamp(const google::protobuf::Timestamp& t, const std::string& field);

// The period of a report: [from, to).
struct ReportPeriod {
  routing::Timestamp from;
  routing::Timestamp to;
};
// The longest period a report may cover.
inline constexpr routing::Millis kLongestReportPeriod{366LL * 24 * 60 * 60 * 1000};
// from and to are required valid timestamps, to after from, at most kLongestReportPeriod apart;
// INVALID_ARGUMENT naming the field otherwise ("from: is required").
absl::StatusOr<ReportPeriod> ParsePeriod(const v1::ReportRequest& request);
absl::StatusOr<ReportPeriod> ParsePeriod(const v1::ExportDispositionsRequest& request);
absl::StatusOr<stats::GroupBy> ParseGroupBy(v1::ReportRequest::GroupBy by,
                                            const std::string& field);

// Counts beyond int32 (never in a year of the helpline) saturate. A ratio without a denominator
// stays unset.
v1::Figures ToProto(const stats::Figures& f);

}  // namespace hotline::daemon
