#include "clients/ctl/queue_screen.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include "clients/common/enum_names.h"
#include "clients/common/text.h"

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using Rows = std::vector<std::vector<std::string>>;

std::string OrDash(const std::string& text) { return text.empty() ? std::string("-") : text; }

// "EMERGENCY" shouts; the others read as words.
std::string PriorityWord(v1::Priority priority) {
  return priority == v1::PRIORITY_EMERGENCY ? AsciiUpper(EnumName(priority)) : EnumName(priority);
}

std::string Percent(double fraction) { return fmt::format("{:.0f}%", fraction * 100); }

void AddSection(std::vector<std::string>& lines, std::string_view title, const Rows& rows) {
  lines.emplace_back();
  lines.emplace_back(title);
  for (std::string& line : TableLines(rows)) {
    lines.push_back(std::move(line));
  }
}

// The summary is rebuilt at most once a second, so a call may be listed before the summary counts
// it: the headline never says fewer are waiting, or for less long, than the list shows.
std::string Headline(const QueueModel& model, std::chrono::milliseconds since_update) {
  const v1::QueueSummary& summary = model.summary();
  const std::vector<const v1::CallStatus*> listed = model.WaitingCalls();
  int waiting = summary.waiting_total();
  waiting = std::max(waiting, static_cast<int>(listed.size()) + summary.waiting_not_listed());
  auto longest = model.LongestWait(since_update);
  for (const v1::CallStatus* call : listed) {
    longest = std::max(longest, model.Waited(*call, since_update));
  }
  std::string text = fmt::format("waiting {}", waiting);
  if (summary.waiting_not_listed() > 0) {
    text += fmt::format(" ({} not listed)", summary.waiting_not_listed());
  }
  if (waiting > 0) {
    text += fmt::format("   longest wait {}", HumanDuration(longest));
  }
  text += fmt::format("   available counsellors {}", summary.available_counsellors());
  return text;
}

std::string AlertText(const v1::Alert& alert) {
  if (!alert.message().empty()) {
    return alert.message();
  }
  std::string text = EnumName(alert.kind());
  if (!alert.call_id().empty()) {
    text += " call " + alert.call_id();
  }
  if (!alert.language().empty()) {
    text += " language " + alert.language();
  }
  return text;
}

// "8 offered, 7 answered (6 in target), 1 abandoned, 0 short abandoned, 0 other unanswered;
// service level 86%, abandonment 14%, average answer 12s; 5 handled, average handling 6m02s;
// occupancy 71%; answered in own province 4, own centre 6".
std::string FiguresText(const v1::Figures& f) {
  std::string text = fmt::format(
      "{} offered, {} answered ({} in target), {} abandoned, {} short abandoned, {} other "
      "unanswered",
      f.offered(), f.answered(), f.answered_in_target(), f.abandoned(), f.short_abandoned(),
      f.other_unanswered());
  std::vector<std::string> rates;
  if (f.has_service_level()) {
    rates.push_back("service level " + Percent(f.service_level()));
  }
  if (f.has_abandonment_rate()) {
    rates.push_back("abandonment " + Percent(f.abandonment_rate()));
  }
  if (f.answered() > 0) {
    rates.push_back("average answer " + HumanDuration(f.average_speed_of_answer()));
  }
  if (!rates.empty()) {
    text += "; " + fmt::format("{}", fmt::join(rates, ", "));
  }
  text += fmt::format("; {} handled", f.handled());
  if (f.handled() > 0) {
    text += ", average handling " + HumanDuration(f.average_handling_time());
  }
  if (f.has_occupancy()) {
    text += "; occupancy " + Percent(f.occupancy());
  }
  if (f.answered() > 0) {
    text += fmt::format("; answered in own province {}, own centre {}",
                        f.answered_in_own_province(), f.answered_in_own_centre());
  }
  return text;
}

Rows WaitingRows(const QueueModel& model, std::chrono::milliseconds since_update) {
  Rows rows = {
      {"", "WAIT", "PRIORITY", "TOPIC", "LANG", "PROVINCE", "STEP", "CALLER", "STATE", "CALL"}};
  for (const v1::CallStatus* call : model.WaitingCalls()) {
    const v1::CallSummary& summary = call->summary();
    const bool emergency = summary.priority() == v1::PRIORITY_EMERGENCY;
    const std::string state = call->state() == v1::CALL_STATE_OFFERED
                                  ? "ringing " + OrDash(call->counsellor_id())
                                  : std::string("waiting");
    rows.push_back(
        {emergency ? std::string(kEmergencyMark) : std::string(kEmergencyMark.size(), ' '),
         HumanDuration(model.Waited(*call, since_update)), PriorityWord(summary.priority()),
         EnumName(summary.topic()), OrDash(summary.language()), OrDash(summary.province()),
         std::to_string(call->ladder_step()), OrDash(summary.caller_masked()), state,
         summary.call_id()});
  }
  return rows;
}

Rows HeldRows(const QueueModel& model, std::chrono::milliseconds since_update) {
  Rows rows = {
      {"CALL", "STATE", "COUNSELLOR", "FOR", "PRIORITY", "TOPIC", "LANG", "PROVINCE", "CALLER"}};
  for (const v1::CallStatus* call : model.HeldCalls()) {
    const v1::CallSummary& summary = call->summary();
    // How long the counsellor has held it: their time in their current state, while that
    // state is about this call.
    const v1::CounsellorStatus* counsellor = model.FindCounsellor(call->counsellor_id());
    const std::string held_for = counsellor != nullptr && counsellor->call_id() == summary.call_id()
                                     ? HumanDuration(model.Age(counsellor->since(), since_update))
                                     : std::string("-");
    rows.push_back({summary.call_id(), EnumName(call->state()), OrDash(call->counsellor_id()),
                    held_for, PriorityWord(summary.priority()), EnumName(summary.topic()),
                    OrDash(summary.language()), OrDash(summary.province()),
                    OrDash(summary.caller_masked())});
  }
  return rows;
}

Rows CounsellorRows(const QueueModel& model, std::chrono::milliseconds since_update) {
  Rows rows = {{"COUNSELLOR", "NAME", "STATE", "FOR", "CALL", "BREAK", "DESK"}};
  for (const v1::CounsellorStatus* c : model.Counsellors()) {
    const bool on_break = c->state() == v1::COUNSELLOR_STATE_BREAK &&
                          c->break_reason() != v1::BREAK_REASON_UNSPECIFIED;
    rows.push_back({c->counsellor_id(), OrDash(c->display_name()), EnumName(c->state()),
                    HumanDuration(model.Age(c->since(), since_update)), OrDash(c->call_id()),
                    on_break ? EnumName(c->break_reason()) : std::string("-"),
                    c->desk_connected() ? "open" : "closed"});
  }
  return rows;
}

}  // namespace

std::vector<std::string> QueueScreen(const QueueModel& model,
                                     std::chrono::milliseconds since_update) {
  std::vector<std::string> lines = {Headline(model, since_update)};
  // The daemon raises the storage trouble as an alert too; the alert is what is shown, since an
  // older daemon leaves storage_serving unset (false) while all is well.
  for (const v1::Alert& alert : model.summary().alerts()) {
    lines.push_back("ALERT: " + AlertText(alert));
  }

  const Rows waiting = WaitingRows(model, since_update);
  AddSection(lines, "WAITING CALLS (queue order)", waiting);
  if (waiting.size() == 1) {
    lines.emplace_back("(none)");
  }
  if (model.summary().waiting_not_listed() > 0) {
    lines.push_back(
        fmt::format("... and {} more waiting, not listed", model.summary().waiting_not_listed()));
  }

  const Rows held = HeldRows(model, since_update);
  AddSection(lines, "CALLS IN PROGRESS", held);
  if (held.size() == 1) {
    lines.emplace_back("(none)");
  }

  const Rows counsellors = CounsellorRows(model, since_update);
  AddSection(lines, "COUNSELLORS", counsellors);
  if (counsellors.size() == 1) {
    lines.emplace_back("(none)");
  }

  const v1::QueueSummary& summary = model.summary();
  if (summary.has_figures()) {
    lines.emplace_back();
    if (summary.figures().has_last_15_minutes()) {
      lines.push_back("last 15 minutes: " + FiguresText(summary.figures().last_15_minutes()));
    }
    if (summary.figures().has_today()) {
      lines.push_back("today: " + FiguresText(summary.figures().today()));
    }
  }
  return lines;
}

}  // namespace hotline::clients
