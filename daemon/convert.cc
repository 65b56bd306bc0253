#include "daemon/convert.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "daemon/text_checks.h"

namespace hotline::daemon {

namespace {

using google::protobuf::util::TimeUtil;

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// The one wording for a required value that is missing (empty, unset, UNSPECIFIED): a value
// that is there but malformed gets its format described instead.
absl::Status Missing(const std::string& field) { return Invalid(field, "is required"); }

bool AllOf(const std::string& s, bool (*ok)(char)) { return std::all_of(s.begin(), s.end(), ok); }

bool IdChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == ':';
}
bool CounsellorIdChar(char c) {
  return std::islower(static_cast<unsigned char>(c)) ||
         std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}
bool ProvinceChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}
bool LanguageChar(char c) { return std::islower(static_cast<unsigned char>(c)) || c == '-'; }

absl::Status ValidateProvince(const std::string& p, const std::string& field) {
  if (p.empty()) {
    return Missing(field);
  }
  if (p.size() > 16 || !AllOf(p, ProvinceChar)) {
    return Invalid(field, "must be a province code of 1-16 letters, digits, '-' or '_'");
  }
  return absl::OkStatus();
}

absl::Status ValidateLanguage(const std::string& l, const std::string& field) {
  if (l.empty()) {
    return Missing(field);
  }
  if (l.size() < 2 || l.size() > 8 || !AllOf(l, LanguageChar)) {
    return Invalid(field, "must be a lowercase language code such as \"vi\" or \"hmn\"");
  }
  return absl::OkStatus();
}

absl::StatusOr<routing::Topic> ParseTopic(v1::Topic t, const std::string& field) {
  if (t == v1::TOPIC_UNSPECIFIED) {
    return Missing(field);
  }
  if (!v1::Topic_IsValid(t)) {
    return Invalid(field, "must be ABUSE_REPORT, COUNSELLING, INFORMATION_LEGAL or OTHER");
  }
  return static_cast<routing::Topic>(t);
}

absl::StatusOr<routing::Gender> ParseGender(v1::Gender g, const std::string& field) {
  if (!v1::Gender_IsValid(g)) {
    return Invalid(field, "must be FEMALE, MALE or unset");
  }
  return static_cast<routing::Gender>(g);
}

// "CATEGORY_FAMILY_RELATIONSHIPS" -> "family_relationships".
std::string EnumName(const std::string& full, const std::string& prefix) {
  return absl::AsciiStrToLower(full.substr(prefix.size()));
}

}  // namespace

google::protobuf::Timestamp ToProto(routing::Timestamp t) {
  return TimeUtil::MillisecondsToTimestamp(routing::ToUnixMillis(t));
}

routing::Timestamp FromProto(const google::protobuf::Timestamp& t) {
  return routing::FromUnixMillis(TimeUtil::TimestampToMilliseconds(t));
}

google::protobuf::Duration ToProtoDuration(routing::Millis d) {
  return TimeUtil::MillisecondsToDuration(d.count());
}

absl::Status ValidateId(const std::string& value, const std::string& field, size_t max_size) {
  if (value.empty()) {
    return Missing(field);
  }
  if (value.size() > max_size || !AllOf(value, IdChar)) {
    return Invalid(field,
                   absl::StrCat("must be 1-", max_size, " letters, digits, '-', '_', '.' or ':'"));
  }
  return absl::OkStatus();
}

std::string EchoId(const std::string& value, size_t max_size) {
  return ValidateId(value, "", max_size).ok() ? value : Excerpt(value);
}

absl::Status ValidateCommandResult(const v1::CommandResult& result) {
  // Hotline's own ids ("connect/<call_id>/<n>") fit easily; anything longer is not one of them.
  return ValidateRequiredText(result.command_id(), "command_result.command_id", 256);
}

std::string ConnectFailureReason(const v1::CommandResult& result) {
  const bool unreachable = result.has_unreachable();
  const std::string& reason =
      unreachable ? result.unreachable().reason() : result.error().reason();
  const std::string field =
      unreachable ? "command_result.unreachable.reason" : "command_result.error.reason";
  const absl::Status s = ValidateOptionalText(reason, field, 500);
  return absl::StrCat(unreachable ? "unreachable: " : "connect failed: ",
                      s.ok() ? reason : absl::StrCat("(not kept: ", s.message(), ")"));
}

absl::Status ValidateEvent(const v1::CallEvent& event) {
  if (absl::Status s = ValidateId(event.event_id(), "event.event_id", kLongestCallId); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateId(event.call_id(), "event.call_id", kLongestCallId); !s.ok()) {
    return s;
  }
  if (event.kind_case() == v1::CallEvent::KIND_NOT_SET) {
    return Invalid("event.kind",
                   "is required: one of arrived, caller_hung_up, connected, ended, failed or "
                   "callback_requested");
  }
  if (event.has_occurred_at()) {
    if (absl::Status s = ValidateTimestamp(event.occurred_at(), "event.occurred_at"); !s.ok()) {
      return s;
    }
  }
  if (event.has_failed()) {
    return ValidateRequiredText(event.failed().reason(), "event.failed.reason", 500);
  }
  return absl::OkStatus();
}

absl::Status ValidateCallerNumber(const std::string& number) {
  const size_t digits_from = !number.empty() && number[0] == '+' ? 1 : 0;
  const bool digits =
      std::all_of(number.begin() + static_cast<long>(digits_from), number.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (number.size() < 3 || number.size() > 20 || !digits) {
    return Invalid("arrived.caller_number", "must be 3-20 digits with an optional leading '+'");
  }
  return absl::OkStatus();
}

routing::CallInfo ParseArrival(const v1::CallArrived& a, std::vector<std::string>* defaulted) {
  auto note = [&](const char* field) {
    if (defaulted != nullptr) {
      defaulted->emplace_back(field);
    }
  };
  routing::CallInfo info;
  if (!ValidateCallerNumber(a.caller_number()).ok()) {
    info.caller_withheld = true;  // "anonymous", empty, or not a number at all.
    info.caller_masked = "withheld";
  }
  if (ValidateProvince(a.province(), "arrived.province").ok()) {
    info.province = a.province();
  } else {
    info.province_unknown = true;
  }
  if (ValidateLanguage(a.language(), "arrived.language").ok()) {
    info.language = a.language();
  } else {
    info.language = "vi";
    note("arrived.language");
  }
  if (auto topic = ParseTopic(a.topic(), "arrived.topic"); topic.ok()) {
    info.topic = *topic;
  } else {
    info.topic = routing::Topic::kOther;
    note("arrived.topic");
  }
  if (auto priority = ParsePriority(a.priority(), "arrived.priority"); priority.ok()) {
    info.priority = *priority;
  } else {
    info.priority = routing::Priority::kNormal;
    note("arrived.priority");
  }
  if (auto gender = ParseGender(a.gender_preference(), "arrived.gender_preference"); gender.ok()) {
    info.gender_preference = *gender;
  } else {
    note("arrived.gender_preference");
  }
  return info;
}

absl::StatusOr<routing::Priority> ParsePriority(v1::Priority p, const std::string& field) {
  if (p == v1::PRIORITY_UNSPECIFIED) {
    return Missing(field);
  }
  if (!v1::Priority_IsValid(p)) {
    return Invalid(field, "must be LOW, NORMAL, HIGH or EMERGENCY");
  }
  return static_cast<routing::Priority>(p);
}

absl::StatusOr<routing::CounsellorState> ParsePresence(v1::CounsellorState s,
                                                       const std::string& field) {
  switch (s) {
    case v1::COUNSELLOR_STATE_AVAILABLE:
      return routing::CounsellorState::kAvailable;
    case v1::COUNSELLOR_STATE_BREAK:
      return routing::CounsellorState::kBreak;
    case v1::COUNSELLOR_STATE_OFFLINE:
      return routing::CounsellorState::kOffline;
    case v1::COUNSELLOR_STATE_UNSPECIFIED:
      return Missing(field);
    default:
      return Invalid(field, "must be AVAILABLE, BREAK or OFFLINE");
  }
}

absl::StatusOr<routing::BreakReason> ParseDeskBreakReason(v1::BreakReason r,
                                                          routing::CounsellorState state,
                                                          const std::string& field) {
  if (state != routing::CounsellorState::kBreak) {
    if (r != v1::BREAK_REASON_UNSPECIFIED) {
      return Invalid(field, "is given only with state BREAK");
    }
    return routing::BreakReason::kNone;
  }
  switch (r) {
    case v1::BREAK_REASON_UNSPECIFIED:
    case v1::BREAK_REASON_CHOSEN:
      return routing::BreakReason::kChosen;
    case v1::BREAK_REASON_REST:
    case v1::BREAK_REASON_MEAL:
    case v1::BREAK_REASON_TRAINING:
    case v1::BREAK_REASON_DEBRIEF:
    case v1::BREAK_REASON_FOLLOW_UP:
      return static_cast<routing::BreakReason>(r);
    default:
      return Invalid(field,
                     "must be CHOSEN, REST, MEAL, TRAINING, DEBRIEF or FOLLOW_UP (the other "
                     "reasons are the daemon's)");
  }
}

absl::StatusOr<routing::CounsellorProfile> ParseCounsellor(const v1::Counsellor& c) {
  routing::CounsellorProfile p;
  if (c.counsellor_id().empty()) {
    return Missing("counsellor.counsellor_id");
  }
  if (c.counsellor_id().size() > 64 || !AllOf(c.counsellor_id(), CounsellorIdChar)) {
    return Invalid("counsellor.counsellor_id",
                   "must be 1-64 lowercase letters, digits, '-' or '_'");
  }
  p.id = c.counsellor_id();
  if (absl::Status s = ValidateRequiredText(c.display_name(), "counsellor.display_name", 100);
      !s.ok()) {
    return s;
  }
  if (std::all_of(c.display_name().begin(), c.display_name().end(),
                  [](char ch) { return ch == ' '; })) {
    return Invalid("counsellor.display_name", "is only spaces");
  }
  p.display_name = c.display_name();
  if (absl::Status s = ValidateProvince(c.home_province(), "counsellor.home_province"); !s.ok()) {
    return s;
  }
  p.home_province = c.home_province();
  std::set<std::string> provinces;
  for (int i = 0; i < c.provinces_size(); ++i) {
    const std::string field = absl::StrCat("counsellor.provinces[", i, "]");
    if (absl::Status s = ValidateProvince(c.provinces(i), field); !s.ok()) {
      return s;
    }
    if (c.provinces(i) != p.home_province && provinces.insert(c.provinces(i)).second) {
      p.provinces.push_back(c.provinces(i));
    }
  }
  if (c.skills_size() == 0) {
    return Missing("counsellor.skills");  // At least one.
  }
  for (int i = 0; i < c.skills_size(); ++i) {
    const std::string field = absl::StrCat("counsellor.skills[", i, "]");
    auto topic = ParseTopic(c.skills(i).topic(), field + ".topic");
    if (!topic.ok()) {
      return topic.status();
    }
    if (c.skills(i).proficiency() < 1 || c.skills(i).proficiency() > 5) {
      return Invalid(field + ".proficiency", "must be 1 to 5");
    }
    if (!p.skills.emplace(*topic, c.skills(i).proficiency()).second) {
      return Invalid(field + ".topic", "is listed twice");
    }
  }
  if (c.languages_size() == 0) {
    return Missing("counsellor.languages");  // At least one.
  }
  for (int i = 0; i < c.languages_size(); ++i) {
    if (absl::Status s =
            ValidateLanguage(c.languages(i), absl::StrCat("counsellor.languages[", i, "]"));
        !s.ok()) {
      return s;
    }
    if (std::find(p.languages.begin(), p.languages.end(), c.languages(i)) == p.languages.end()) {
      p.languages.push_back(c.languages(i));
    }
  }
  auto gender = ParseGender(c.gender(), "counsellor.gender");
  if (!gender.ok()) {
    return gender.status();
  }
  p.gender = *gender;
  // Sent on to the gateway in every ConnectCommand: a SIP URI or an extension.
  if (absl::Status s = ValidateRequiredText(c.endpoint(), "counsellor.endpoint", 200); !s.ok()) {
    return s;
  }
  // A SIP URI or an extension has no blank in it: one would be sent on to the gateway as typed.
  if (const size_t blank = c.endpoint().find(' '); blank != std::string::npos) {
    return Invalid("counsellor.endpoint", absl::StrCat("contains a space at byte ", blank));
  }
  p.endpoint = c.endpoint();
  return p;
}

v1::Counsellor ToProto(const routing::CounsellorProfile& p) {
  v1::Counsellor c;
  c.set_counsellor_id(p.id);
  c.set_display_name(p.display_name);
  c.set_home_province(p.home_province);
  for (const auto& province : p.provinces) {
    c.add_provinces(province);
  }
  for (const auto& [topic, level] : p.skills) {
    auto* skill = c.add_skills();
    skill->set_topic(static_cast<v1::Topic>(topic));
    skill->set_proficiency(level);
  }
  for (const auto& language : p.languages) {
    c.add_languages(language);
  }
  c.set_gender(static_cast<v1::Gender>(p.gender));
  c.set_endpoint(p.endpoint);
  return c;
}

absl::StatusOr<routing::Disposition> ParseDisposition(const v1::Disposition& d) {
  routing::Disposition out;
  if (d.category() == v1::CATEGORY_UNSPECIFIED) {
    return Missing("disposition.category");
  }
  if (!v1::Category_IsValid(d.category())) {  // A newer desk's category, say.
    return Invalid("disposition.category",
                   absl::StrCat(d.category(), " is not a category this daemon knows"));
  }
  out.category = EnumName(v1::Category_Name(d.category()), "CATEGORY_");
  if (d.action() == v1::ACTION_UNSPECIFIED) {
    return Missing("disposition.action");
  }
  if (!v1::Action_IsValid(d.action())) {
    return Invalid("disposition.action",
                   absl::StrCat(d.action(), " is not an action this daemon knows"));
  }
  out.action = EnumName(v1::Action_Name(d.action()), "ACTION_");
  for (int i = 0; i < d.flags_size(); ++i) {
    const auto flag = d.flags(i);
    if (flag == v1::DISPOSITION_FLAG_UNSPECIFIED || !v1::DispositionFlag_IsValid(flag)) {
      return Invalid(absl::StrCat("disposition.flags[", i, "]"), "is not a known flag");
    }
    std::string name = EnumName(v1::DispositionFlag_Name(flag), "DISPOSITION_FLAG_");
    if (std::find(out.flags.begin(), out.flags.end(), name) != out.flags.end()) {
      return Invalid(absl::StrCat("disposition.flags[", i, "]"), "is listed twice");
    }
    out.flags.push_back(std::move(name));
  }
  // Stored, exported and shown on other screens: no control characters, line breaks included.
  if (absl::Status s = ValidateOptionalText(d.note(), "disposition.note", 2000); !s.ok()) {
    return s;
  }
  out.heavy = d.heavy();
  out.note = d.note();
  return out;
}

namespace {

// A counsellor's status from a view (a copy) or the engine's entry (in place): the same fields.
template <class Counsellor>
v1::CounsellorStatus StatusOf(const Counsellor& c) {
  v1::CounsellorStatus s;
  s.set_counsellor_id(c.profile.id);
  s.set_display_name(c.profile.display_name);
  s.set_state(static_cast<v1::CounsellorState>(c.state));
  s.set_break_reason(static_cast<v1::BreakReason>(c.break_reason));
  *s.mutable_since() = ToProto(c.since);
  s.set_call_id(c.call_id);
  s.set_desk_connected(c.desk_connected);
  return s;
}

}  // namespace

v1::CounsellorStatus ToProto(const routing::CounsellorView& c) { return StatusOf(c); }

v1::CounsellorStatus ToProto(const routing::CounsellorEntry& c) { return StatusOf(c); }

v1::CallSummary ToSummary(const routing::CallInfo& call, const routing::Regions* regions) {
  v1::CallSummary s;
  s.set_call_id(call.call_id);
  s.set_caller_masked(call.caller_masked);
  s.set_province(call.province);
  if (regions != nullptr) {
    s.set_province_name(regions->NameOf(call.province));
  }
  s.set_language(call.language);
  s.set_topic(static_cast<v1::Topic>(call.topic));
  s.set_priority(static_cast<v1::Priority>(call.priority));
  s.set_gender_preference(static_cast<v1::Gender>(call.gender_preference));
  *s.mutable_arrived_at() = ToProto(call.arrived_at);
  s.set_repeat_caller(call.repeat_caller);
  return s;
}

v1::CallStatus ToProto(const routing::CallView& call, routing::Timestamp now,
                       const routing::Regions* regions) {
  v1::CallStatus s;
  *s.mutable_summary() = ToSummary(call.info, regions);
  s.set_state(static_cast<v1::CallState>(call.state));
  s.set_ladder_step(call.step);
  s.set_counsellor_id(call.counsellor_id);
  s.set_position(call.position);
  s.set_admission(call.admission);
  *s.mutable_waited() = ToProtoDuration(std::max(routing::Millis(0), now - call.info.arrived_at));
  return s;
}

v1::CallOutcome ToProto(routing::Outcome o) { return static_cast<v1::CallOutcome>(o); }

v1::OfferRevokedEvent::Reason ToProto(routing::RevokeReason r) {
  return static_cast<v1::OfferRevokedEvent::Reason>(r);
}

absl::Status ValidateTimestamp(const google::protobuf::Timestamp& t, const std::string& field) {
  // The range google.protobuf.Timestamp allows: 0001-01-01 to 9999-12-31.
  if (t.seconds() < -62'135'596'800 || t.seconds() > 253'402'300'799 || t.nanos() < 0 ||
      t.nanos() > 999'999'999) {
    return Invalid(field, "is not a valid timestamp");
  }
  return absl::OkStatus();
}

namespace {

absl::StatusOr<ReportPeriod> ParsePeriod(bool has_from, const google::protobuf::Timestamp& from,
                                         bool has_to, const google::protobuf::Timestamp& to) {
  if (!has_from) {
    return Missing("from");
  }
  if (!has_to) {
    return Missing("to");
  }
  if (absl::Status s = ValidateTimestamp(from, "from"); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateTimestamp(to, "to"); !s.ok()) {
    return s;
  }
  const ReportPeriod period{FromProto(from), FromProto(to)};
  if (period.to <= period.from) {
    return Invalid("to", "must be after from");
  }
  if (period.to - period.from > kLongestReportPeriod) {
    return Invalid("to", "the period from `from` to `to` is longer than 366 days");
  }
  return period;
}

int32_t Saturated(int64_t n) {
  return static_cast<int32_t>(std::min<int64_t>(n, std::numeric_limits<int32_t>::max()));
}

}  // namespace

absl::StatusOr<ReportPeriod> ParsePeriod(const v1::ReportRequest& request) {
  return ParsePeriod(request.has_from(), request.from(), request.has_to(), request.to());
}

absl::StatusOr<ReportPeriod> ParsePeriod(const v1::ExportDispositionsRequest& request) {
  return ParsePeriod(request.has_from(), request.from(), request.has_to(), request.to());
}

absl::StatusOr<stats::GroupBy> ParseGroupBy(v1::ReportRequest::GroupBy by,
                                            const std::string& field) {
  switch (by) {
    case v1::ReportRequest::CENTRE:
      return stats::GroupBy::kCentre;
    case v1::ReportRequest::PROVINCE:
      return stats::GroupBy::kProvince;
    case v1::ReportRequest::TOPIC:
      return stats::GroupBy::kTopic;
    case v1::ReportRequest::PRIORITY:
      return stats::GroupBy::kPriority;
    case v1::ReportRequest::COUNSELLOR:
      return stats::GroupBy::kCounsellor;
    case v1::ReportRequest::HOUR:
      return stats::GroupBy::kHour;
    default:
      break;
  }
  return Invalid(field, "is required (CENTRE, PROVINCE, TOPIC, PRIORITY, COUNSELLOR or HOUR)");
}

v1::Figures ToProto(const stats::Figures& f) {
  v1::Figures p;
  p.set_offered(Saturated(f.offered));
  p.set_answered(Saturated(f.answered));
  p.set_answered_in_target(Saturated(f.answered_in_target));
  p.set_abandoned(Saturated(f.abandoned));
  p.set_short_abandoned(Saturated(f.short_abandoned));
  p.set_other_unanswered(Saturated(f.other_unanswered));
  if (f.service_level) {
    p.set_service_level(*f.service_level);
  }
  if (f.abandonment_rate) {
    p.set_abandonment_rate(*f.abandonment_rate);
  }
  *p.mutable_average_speed_of_answer() = ToProtoDuration(f.average_speed_of_answer);
  p.set_handled(Saturated(f.handled));
  *p.mutable_average_handling_time() = ToProtoDuration(f.average_handling_time);
  if (f.occupancy) {
    p.set_occupancy(*f.occupancy);
  }
  p.set_answered_in_own_province(Saturated(f.answered_in_own_province));
  p.set_answered_in_own_centre(Saturated(f.answered_in_own_centre));
  return p;
}

}  // namespace hotline::daemon
