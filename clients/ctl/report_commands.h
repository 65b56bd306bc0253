// hotlinectl's reports: `report` (figures over a period, grouped) and `dispositions` (the CHI
// export), both over SupervisorService with the supervisor token. Like admin_commands.h, each
// prints its result on stdout, failures as "error: <CODE>: <message>" on stderr, and returns
// the process exit code.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "clients/common/client.h"
#include "hotline/v1/supervisor.pb.h"

namespace hotline::clients {

// Vietnam's offset from UTC (+7 h, no daylight saving): times typed without a zone are there.
inline constexpr int kVietnamUtcOffsetMinutes = 7 * 60;

// A time as typed on the command line: "YYYY-MM-DD" (midnight), "YYYY-MM-DDTHH:MM" or
// "YYYY-MM-DDTHH:MM:SS" (a space may stand for the T), Vietnam time unless followed by a zone,
// "Z" or "+HH:MM" / "-HH:MM". INVALID_ARGUMENT saying what is wrong otherwise.
absl::StatusOr<google::protobuf::Timestamp> ParseReportTime(std::string_view text);

struct ReportFlags {
  std::string from;
  std::string to;
  v1::ReportRequest::GroupBy by = v1::ReportRequest::GROUP_BY_UNSPECIFIED;
  bool csv = false;
};

// SupervisorService.Report: an aligned table, one row per group and a "(total)" row, or CSV
// with a header row. REQUIRES: from and to parse (the command line validated them).
int Report(const Server& server, const ReportFlags& flags);

// SupervisorService.ExportDispositions as CSV: category,sub_category,action,count.
int ExportDispositions(const Server& server, const std::string& from, const std::string& to);

// The words printed with an UNAUTHENTICATED answer: which token these commands need.
inline constexpr std::string_view kSupervisorTokenHint =
    "hint: reports need the supervisor token (HOTLINE_SUPERVISOR_TOKEN or --supervisor-token), "
    "not the admin one";

}  // namespace hotline::clients
