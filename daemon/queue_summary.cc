#include "daemon/queue_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/convert.h"

namespace hotline::daemon {

namespace {

bool Waits(routing::CallState state) {
  return state == routing::CallState::kWaiting || state == routing::CallState::kOffered;
}

std::string Seconds(routing::Millis d) { return absl::StrCat(d.count() / 1000, " s"); }

}  // namespace

std::string ServiceLevelPercent(double fraction) {
  const double percent = fraction * 100;
  // Rounded as hotlinectl's screen rounds it (fmt's "{:.0f}": an exact half to even, as
  // nearbyint in the default rounding mode).
  const double whole = std::nearbyint(percent);
  if (whole < kServiceLevelTarget * 100) {
    return fmt::format("{:.0f} %", whole);
  }
  return fmt::format("{:.1f} %", std::floor(percent * 10) / 10);
}

v1::QueueSummary BuildSummary(const SummaryInput& in) {
  v1::QueueSummary summary;
  struct Group {
    int count = 0;
    routing::Millis longest{0};
  };
  // Keyed by (province, -priority): unknown provinces are one group, so the groups are bounded
  // by the region tree whatever codes gateways send.
  std::map<std::tuple<std::string, int>, Group> groups;
  struct Late {
    routing::Millis waited;
    std::string call_id;
  };
  std::vector<Late> emergencies;
  int long_waits = 0;
  routing::Millis longest_long{0};
  std::string longest_long_id;
  std::set<std::string> languages;
  int waiting = 0;
  int in_queue = 0;
  routing::Millis longest{0};
  in.engine.ForEachCall([&](const routing::CallInfo& call, routing::CallState state) {
    if (!Waits(state)) {
      return;
    }
    ++waiting;
    in_queue += state == routing::CallState::kWaiting ? 1 : 0;
    const routing::Millis waited = std::max(routing::Millis(0), in.now - call.arrived_at);
    longest = std::max(longest, waited);
    Group& g = groups[{call.province_unknown ? "" : call.province, -static_cast<int>(call.priority)}];
    ++g.count;
    g.longest = std::max(g.longest, waited);
    if (call.priority == routing::Priority::kEmergency && waited > kEmergencyAlertAfter) {
      emergencies.push_back({waited, call.call_id});
    }
    if (waited > kLongWaitAlertAfter) {
      ++long_waits;
      if (waited > longest_long) {
        longest_long = waited;
        longest_long_id = call.call_id;
      }
    }
    if (languages.size() < 1000) {
      languages.insert(call.language);
    }
  });
  for (const auto& [key, g] : groups) {
    const auto& [province, neg_priority] = key;
    v1::WaitingGroup* out = summary.add_waiting();
    out->set_province(province);
    out->set_centre(province.empty() ? "" : in.engine.regions().CentreOf(province));
    out->set_priority(static_cast<v1::Priority>(-neg_priority));
    out->set_count(g.count);
    *out->mutable_longest_wait() = ToProtoDuration(g.longest);
  }
  summary.set_waiting_total(waiting);
  summary.set_waiting_not_listed(
      std::max(0, in_queue - static_cast<int>(std::min<size_t>(in.view_calls, INT32_MAX))));
  *summary.mutable_longest_wait() = ToProtoDuration(longest);

  // Who is signed in, and the languages they speak.
  std::set<std::string> spoken;
  int available = 0;
  for (const routing::CounsellorView& c : in.engine.Counsellors()) {
    if (c.state == routing::CounsellorState::kOffline) {
      continue;
    }
    spoken.insert(c.profile.languages.begin(), c.profile.languages.end());
    available += c.state == routing::CounsellorState::kAvailable && c.desk_connected ? 1 : 0;
  }
  summary.set_available_counsellors(available);
  *summary.mutable_figures() = in.figures;
  summary.set_storage_serving(in.storage_serving);

  // Alerts, the most urgent first.
  if (!in.storage_serving) {
    v1::Alert* a = summary.add_alerts();
    a->set_kind(v1::Alert::STORAGE_NOT_SERVING);
    a->set_message(
        "the journal cannot be written: calls are routed from memory but nothing is "
        "acknowledged");
  }
  std::sort(emergencies.begin(), emergencies.end(),
            [](const Late& a, const Late& b) { return a.waited > b.waited; });
  for (size_t i = 0; i < emergencies.size() && i < kAlertsPerKind; ++i) {
    v1::Alert* a = summary.add_alerts();
    a->set_kind(v1::Alert::EMERGENCY_WAITING);
    a->set_call_id(emergencies[i].call_id);
    *a->mutable_waited() = ToProtoDuration(emergencies[i].waited);
    a->set_message(absl::StrCat("emergency call ", emergencies[i].call_id, " has waited ",
                                Seconds(emergencies[i].waited)));
    if (i + 1 == kAlertsPerKind && emergencies.size() > kAlertsPerKind) {
      absl::StrAppend(a->mutable_message(), " (and ", emergencies.size() - kAlertsPerKind,
                      " more emergencies waiting over 10 s)");
    }
  }
  if (long_waits > 0) {
    v1::Alert* a = summary.add_alerts();
    a->set_kind(v1::Alert::LONG_WAIT);
    a->set_call_id(longest_long_id);
    *a->mutable_waited() = ToProtoDuration(longest_long);
    a->set_message(long_waits == 1
                       ? absl::StrCat("call ", longest_long_id, " has waited ",
                                      Seconds(longest_long))
                       : absl::StrCat(long_waits, " calls have waited over 60 s; the longest, ",
                                      longest_long_id, ", ", Seconds(longest_long)));
  }
  if (in.figures.last_15_minutes().has_service_level() &&
      in.figures.last_15_minutes().service_level() < kServiceLevelTarget) {
    v1::Alert* a = summary.add_alerts();
    a->set_kind(v1::Alert::SERVICE_LEVEL_LOW);
    a->set_message(absl::StrCat("service level over the last 15 minutes is ",
                                ServiceLevelPercent(in.figures.last_15_minutes().service_level()),
                                ", under the 80 % target"));
  }
  int uncovered = 0;
  for (const std::string& language : languages) {
    if (spoken.contains(language)) {
      continue;
    }
    if (++uncovered > kAlertsPerKind) {
      break;
    }
    v1::Alert* a = summary.add_alerts();
    a->set_kind(v1::Alert::LANGUAGE_UNCOVERED);
    a->set_language(language);
    a->set_message(absl::StrCat("a call waits in language '", language,
                                "', which no signed-in counsellor speaks"));
  }
  for (const v1::HistoryPoint& point : in.history) {
    *summary.add_history() = point;
  }
  return summary;
}

}  // namespace hotline::daemon
