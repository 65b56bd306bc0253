#include "clients/sim/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hotline::sim {
namespace {

using routing::Outcome;

std::string Percent(std::optional<double> share) {
  return share ? fmt::format("{:.1f}%", *share * 100) : std::string("-");
}

std::string Share(int64_t part, int64_t whole) {
  return whole > 0 ? Percent(static_cast<double>(part) / static_cast<double>(whole)) : "-";
}

std::string JsonNumber(std::optional<double> value) {
  return value ? fmt::format("{:.6g}", *value) : std::string("null");
}

std::string JsonGroup(const GroupFigures& g) {
  return fmt::format(
      "{{\"calls\": {}, \"answered\": {}, \"abandoned\": {}, \"short_abandoned\": {}, "
      "\"callbacks\": {}, \"waited\": {}, \"service_level\": {}, \"mean_wait_s\": {:.3f}, "
      "\"p90_wait_s\": {:.3f}}}",
      g.calls, g.answered, g.abandoned, g.short_abandoned, g.callbacks, g.waited,
      JsonNumber(g.service_level), g.mean_wait_s, g.p90_wait_s);
}

std::vector<std::string> Row(const std::string& name, const GroupFigures& g) {
  return {name,
          std::to_string(g.calls),
          Share(g.answered, g.calls),
          Share(g.abandoned, g.calls),
          Share(g.callbacks, g.calls),
          Percent(g.service_level),
          fmt::format("{:.1f}", g.mean_wait_s),
          fmt::format("{:.1f}", g.p90_wait_s)};
}

// Rows padded to their columns' widths, the first column left-aligned, the others right.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i == 0 ? fmt::format("  {:<{}}", row[i], widths[i])
                     : fmt::format("  {:>{}}", row[i], widths[i]);
    }
    out += line + "\n";
  }
  return out;
}

const std::vector<std::string> kColumns = {"",        "calls",  "answered", "abandoned",
                                           "callback", "in SL", "mean wait s", "p90 wait s"};

}  // namespace

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Report::Report(stats::Targets targets, Timestamp count_from)
    : targets_(targets), count_from_(count_from) {}

void Report::CallFinished(const routing::CallRecord& record) {
  if (record.call.arrived_at < count_from_) {
    return;
  }
  Count(overall_, record, targets_);
  Count(by_province_[record.call.province], record, targets_);
  Count(by_priority_[record.call.priority], record, targets_);
  // Vietnam is UTC+7 all year.
  const int64_t local_ms = routing::ToUnixMillis(record.call.arrived_at) + 7 * 3'600'000;
  Count(by_hour_[static_cast<int>((local_ms / 3'600'000 % 24 + 24) % 24)], record, targets_);
}

void Report::Count(Group& g, const routing::CallRecord& record, const stats::Targets& targets) {
  const bool answered = record.answered_at.has_value();
  const Timestamp decided = answered ? *record.answered_at : record.ended_at;
  stats::CountWait(g.tally,
                   stats::WaitDecided{.priority = record.call.priority,
                                      .arrived_at = record.call.arrived_at,
                                      .decided_at = decided,
                                      .answered = answered,
                                      .outcome = record.outcome},
                   targets);
  const int64_t wait_ms = std::max<int64_t>(0, (decided - record.call.arrived_at).count());
  if (wait_ms > 0) {
    ++g.waited;
  }
  if (answered) {
    g.answer_waits_ms.push_back(wait_ms);
  } else if (record.outcome == Outcome::kAbandoned) {
    ++g.abandoned;
  } else if (record.outcome == Outcome::kTimedOut ||
             record.outcome == Outcome::kCallbackRequested) {
    ++g.callbacks;
  }
}

GroupFigures Report::Figures(const Group& g) {
  const stats::Figures f = stats::Derive(g.tally);
  GroupFigures out{.calls = f.offered,
                   .answered = f.answered,
                   .abandoned = g.abandoned,
                   .short_abandoned = f.short_abandoned,
                   .callbacks = g.callbacks,
                   .waited = g.waited,
                   .service_level = f.service_level,
                   .mean_wait_s = 0,
                   .p90_wait_s = 0};
  if (!g.answer_waits_ms.empty()) {
    // Exact to the millisecond, unlike Figures' rounded ASA: the Erlang tests compare means.
    out.mean_wait_s = static_cast<double>(g.tally.answer_wait_ms) / 1000.0 /
                      static_cast<double>(g.answer_waits_ms.size());
    std::vector<int64_t> waits = g.answer_waits_ms;
    // The nearest-rank percentile: the smallest wait that at least 90 % of answers had.
    const size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(waits.size())));
    std::nth_element(waits.begin(), waits.begin() + static_cast<ptrdiff_t>(rank - 1), waits.end());
    out.p90_wait_s = static_cast<double>(waits[rank - 1]) / 1000.0;
  }
  return out;
}

void Report::PresenceChanged(const routing::PresenceChange& change) {
  Open& open = open_[change.counsellor_id];
  CloseInterval(open, change.at);
  open = Open{.state = change.state, .since = change.at};
}

void Report::Close(Timestamp end) {
  for (auto& [id, open] : open_) {
    CloseInterval(open, end);
    open.since = end;
  }
}

void Report::CloseInterval(const Open& open, Timestamp end) {
  const int64_t ms = (end - std::max(open.since, count_from_)).count();
  if (ms <= 0) {
    return;
  }
  if (stats::IsBusy(open.state)) {
    busy_ms_ += ms;
  }
  if (stats::IsStaffed(open.state)) {
    staffed_ms_ += ms;
  }
}

std::optional<double> Report::Occupancy() const {
  if (staffed_ms_ == 0) {
    return std::nullopt;
  }
  return static_cast<double>(busy_ms_) / static_cast<double>(staffed_ms_);
}

std::map<std::string, GroupFigures> Report::ByProvince() const {
  std::map<std::string, GroupFigures> out;
  for (const auto& [province, group] : by_province_) {
    out[province] = Figures(group);
  }
  return out;
}

std::map<routing::Priority, GroupFigures> Report::ByPriority() const {
  std::map<routing::Priority, GroupFigures> out;
  for (const auto& [priority, group] : by_priority_) {
    out[priority] = Figures(group);
  }
  return out;
}

std::map<int, GroupFigures> Report::ByHour() const {
  std::map<int, GroupFigures> out;
  for (const auto& [hour, group] : by_hour_) {
    out[hour] = Figures(group);
  }
  return out;
}

std::string Report::Text(const std::string& header) const {
  const GroupFigures all = Overall();
  std::string out = header + "\n";
  out += fmt::format(
      "calls {}: answered {} ({}), abandoned {} ({}, {} of them short), callbacks {} ({})\n",
      all.calls, all.answered, Share(all.answered, all.calls), all.abandoned,
      Share(all.abandoned, all.calls), all.short_abandoned, all.callbacks,
      Share(all.callbacks, all.calls));
  out += fmt::format("service level {} (answered within {} s; emergencies {} s)\n",
                     Percent(all.service_level), targets_.answer.count() / 1000.0,
                     targets_.emergency_answer.count() / 1000.0);
  out += fmt::format("waited {} of calls; wait to answer: mean {:.1f} s, p90 {:.1f} s\n",
                     Share(all.waited, all.calls), all.mean_wait_s, all.p90_wait_s);
  out += fmt::format("occupancy {}\n", Percent(Occupancy()));
  std::vector<std::vector<std::string>> rows = {kColumns};
  rows[0][0] = "priority";
  for (const auto& [priority, g] : ByPriority()) {
    rows.push_back(Row(std::string(routing::Name(priority)), g));
  }
  out += Table(rows);
  rows = {kColumns};
  rows[0][0] = "province";
  for (const auto& [province, g] : ByProvince()) {
    rows.push_back(Row(province, g));
  }
  out += Table(rows);
  rows = {kColumns};
  rows[0][0] = "hour";
  for (const auto& [hour, g] : ByHour()) {
    rows.push_back(Row(fmt::format("{:02}:00", hour), g));
  }
  out += Table(rows);
  return out;
}

std::string Report::Json(const std::string& run) const {
  std::string priorities;
  for (const auto& [priority, g] : ByPriority()) {
    priorities += fmt::format("{}\"{}\": {}", priorities.empty() ? "" : ", ",
                              routing::Name(priority), JsonGroup(g));
  }
  std::string provinces;
  for (const auto& [province, g] : ByProvince()) {
    provinces +=
        fmt::format("{}{}: {}", provinces.empty() ? "" : ", ", JsonString(province), JsonGroup(g));
  }
  std::string hours;
  for (const auto& [hour, g] : ByHour()) {
    hours += fmt::format("{}\"{}\": {}", hours.empty() ? "" : ", ", hour, JsonGroup(g));
  }
  return fmt::format(
      "{{{}{}\"answer_target_s\": {}, \"overall\": {}, \"occupancy\": {}, \"by_priority\": {{{}}}, "
      "\"by_province\": {{{}}}, \"by_hour\": {{{}}}}}",
      run, run.empty() ? "" : ", ", targets_.answer.count() / 1000.0, JsonGroup(Overall()),
      JsonNumber(Occupancy()), priorities, provinces, hours);
}

}  // namespace hotline::sim
