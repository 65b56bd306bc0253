#include "clients/ctl/report_commands.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "clients/common/text.h"
#include "hotline/v1/supervisor.grpc.pb.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;

// A year's report reads half a million calls: more than the few milliseconds of other calls.
constexpr std::chrono::milliseconds kReportTimeout{120'000};

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(fmt::format(
      "'{}' is not a time: {} (YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS, Vietnam "
      "time unless followed by Z or +HH:MM)",
      text, why));
}

// Reads exactly `digits` digits at `pos` of `text`.
std::optional<int> Number(std::string_view text, size_t pos, size_t digits) {
  if (pos + digits > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  const char* first = text.data() + pos;
  const char* last = first + digits;
  const auto [end, error] = std::from_chars(first, last, value);
  if (error != std::errc() || end != last || *first == '-' || *first == '+') {
    return std::nullopt;
  }
  return value;
}

bool Expect(std::string_view text, size_t pos, char c) {
  return pos < text.size() && text[pos] == c;
}

int Fail(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
      status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    // Not ErrorLine's hint, which names hotlinectl's own role (the administrator's).
    PrintErrorLine(
        status.error_message().empty()
            ? "error: " + CodeName(status.error_code())
            : fmt::format("error: {}: {}", CodeName(status.error_code()), status.error_message()));
    PrintErrorLine(kSupervisorTokenHint);
    return 1;
  }
  PrintErrorLine(ErrorLine(status));
  return 1;
}

// Quoted as RFC 4180 asks when it holds a comma, a quote or a line break.
std::string CsvField(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) {
    return field;
  }
  std::string quoted = "\"";
  for (char c : field) {
    quoted += c;
    if (c == '"') {
      quoted += '"';
    }
  }
  return quoted + "\"";
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) {
      line += ',';
    }
    line += CsvField(fields[i]);
  }
  return line;
}

int64_t Millis(const google::protobuf::Duration& d) {
  return d.seconds() * 1000 + d.nanos() / 1'000'000;
}

std::string GroupName(v1::ReportRequest::GroupBy by) {
  switch (by) {
    case v1::ReportRequest::CENTRE:
      return "centre";
    case v1::ReportRequest::PROVINCE:
      return "province";
    case v1::ReportRequest::TOPIC:
      return "topic";
    case v1::ReportRequest::PRIORITY:
      return "priority";
    case v1::ReportRequest::COUNSELLOR:
      return "counsellor";
    case v1::ReportRequest::HOUR:
      return "hour";
    default:
      return "key";
  }
}

// One row's cells, for people ("83.3%", "12.5") or for CSV (ratios 0..1 with four decimals,
// milliseconds). An absent ratio is "-" for people and empty in CSV.
std::vector<std::string> Cells(const std::string& key, const v1::Figures& f, bool csv) {
  const auto ratio = [csv](bool present, double value) -> std::string {
    if (!present) {
      return csv ? "" : "-";
    }
    return csv ? fmt::format("{:.4f}", value) : fmt::format("{:.1f}%", value * 100);
  };
  const auto duration = [csv](const google::protobuf::Duration& d) -> std::string {
    return csv ? std::to_string(Millis(d)) : fmt::format("{:.1f}", Millis(d) / 1000.0);
  };
  return {key,
          std::to_string(f.offered()),
          std::to_string(f.answered()),
          std::to_string(f.answered_in_target()),
          std::to_string(f.abandoned()),
          std::to_string(f.short_abandoned()),
          std::to_string(f.other_unanswered()),
          ratio(f.has_service_level(), f.service_level()),
          ratio(f.has_abandonment_rate(), f.abandonment_rate()),
          duration(f.average_speed_of_answer()),
          std::to_string(f.handled()),
          duration(f.average_handling_time()),
          ratio(f.has_occupancy(), f.occupancy()),
          std::to_string(f.answered_in_own_province()),
          std::to_string(f.answered_in_own_centre())};
}

}  // namespace

absl::StatusOr<google::protobuf::Timestamp> ParseReportTime(std::string_view text) {
  const std::optional<int> year = Number(text, 0, 4);
  const std::optional<int> month = Number(text, 5, 2);
  const std::optional<int> day = Number(text, 8, 2);
  if (!year || !month || !day || !Expect(text, 4, '-') || !Expect(text, 7, '-')) {
    return Bad(text, "the date is not YYYY-MM-DD");
  }
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) {
    return Bad(text, "no such day");
  }
  int64_t seconds_of_day = 0;
  size_t pos = 10;
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == 't' || text[pos] == ' ')) {
    const std::optional<int> hour = Number(text, pos + 1, 2);
    const std::optional<int> minute = Number(text, pos + 4, 2);
    if (!hour || !minute || !Expect(text, pos + 3, ':') || *hour > 23 || *minute > 59) {
      return Bad(text, "the time of day is not HH:MM");
    }
    seconds_of_day = *hour * 3600 + *minute * 60;
    pos += 6;
    if (Expect(text, pos, ':')) {
      const std::optional<int> second = Number(text, pos + 1, 2);
      if (!second || *second > 59) {
        return Bad(text, "the seconds are not SS");
      }
      seconds_of_day += *second;
      pos += 3;
    }
  }
  int offset_minutes = kVietnamUtcOffsetMinutes;
  if (pos < text.size()) {
    const std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
      offset_minutes = 0;
    } else {
      const std::optional<int> hours = Number(zone, 1, 2);
      const std::optional<int> minutes = Number(zone, 4, 2);
      if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || !hours || !minutes ||
          zone[3] != ':' || *hours > 14 || *minutes > 59) {
        return Bad(text, fmt::format("'{}' is not a zone (Z or +HH:MM)", zone));
      }
      offset_minutes = (zone[0] == '-' ? -1 : 1) * (*hours * 60 + *minutes);
    }
  }
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  google::protobuf::Timestamp t;
  t.set_seconds(days * 86'400 + seconds_of_day - int64_t{offset_minutes} * 60);
  return t;
}

int Report(const Server& server, const ReportFlags& flags) {
  v1::ReportRequest request;
  *request.mutable_from() = *ParseReportTime(flags.from);
  *request.mutable_to() = *ParseReportTime(flags.to);
  request.set_by(flags.by);
  grpc::ClientContext context;
  server.Prepare(context, kReportTimeout);
  v1::ReportResponse response;
  const grpc::Status status =
      v1::SupervisorService::NewStub(server.channel())->Report(&context, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  std::vector<std::vector<std::string>> rows;
  if (flags.csv) {
    rows.push_back({GroupName(flags.by), "offered", "answered", "answered_in_target", "abandoned",
                    "short_abandoned", "other_unanswered", "service_level", "abandonment_rate",
                    "average_speed_of_answer_ms", "handled", "average_handling_time_ms",
                    "occupancy", "answered_in_own_province", "answered_in_own_centre"});
  } else {
    rows.push_back({AsciiUpper(GroupName(flags.by)), "OFFERED", "ANSWERED", "IN TARGET",
                    "ABANDONED", "SHORT", "OTHER", "SERVICE", "ABANDON", "ASA s", "HANDLED",
                    "AHT s", "OCCUPANCY", "OWN PROV", "OWN CENTRE"});
  }
  for (const v1::ReportRow& row : response.rows()) {
    rows.push_back(Cells(row.key(), row.figures(), flags.csv));
  }
  rows.push_back(Cells("(total)", response.total(), flags.csv));
  if (flags.csv) {
    for (const auto& row : rows) {
      PrintLine(CsvLine(row));
    }
  } else {
    PrintTable(rows, /*first_right_aligned=*/1);
  }
  return 0;
}

int ExportDispositions(const Server& server, const std::string& from, const std::string& to) {
  v1::ExportDispositionsRequest request;
  *request.mutable_from() = *ParseReportTime(from);
  *request.mutable_to() = *ParseReportTime(to);
  grpc::ClientContext context;
  server.Prepare(context, kReportTimeout);
  v1::ExportDispositionsResponse response;
  const grpc::Status status = v1::SupervisorService::NewStub(server.channel())
                                  ->ExportDispositions(&context, request, &response);
  if (!status.ok()) {
    return Fail(status);
  }
  PrintLine(CsvLine({"category", "sub_category", "action", "count"}));
  for (const v1::DispositionCount& c : response.counts()) {
    PrintLine(CsvLine({c.category(), c.sub_category(), c.action(), std::to_string(c.count())}));
  }
  return 0;
}

}  // namespace hotline::clients
