#include "daemon/live_figures.h"

#include <algorithm>

#include "daemon/convert.h"
#include "stats/report.h"

namespace hotline::daemon {

namespace {

constexpr routing::Millis kWindow{15 * 60'000};
constexpr int64_t kVietnamOffsetMs = 7 * 3'600'000;
constexpr int64_t kDayMs = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

routing::Timestamp LocalMidnight(routing::Timestamp t) {
  const int64_t local = routing::ToUnixMillis(t) + kVietnamOffsetMs;
  return routing::FromUnixMillis(FloorDiv(local, kDayMs) * kDayMs - kVietnamOffsetMs);
}

void LiveFigures::Count(const std::vector<routing::Effect>& effects, routing::Timestamp at,
                        const routing::Engine& engine) {
  for (const routing::Effect& effect : effects) {
    if (const auto* connected = std::get_if<routing::DeskCallConnected>(&effect)) {
      // In place, not FindCall's and FindCounsellor's copies: once for every answered call.
      const routing::CallInfo* call = engine.PeekCall(connected->call_id);
      if (call == nullptr) {
        continue;
      }
      const routing::CounsellorEntry* c = engine.PeekCounsellor(connected->counsellor_id);
      CountAnswer(*call, at, c != nullptr ? &c->profile : nullptr, engine.regions());
    } else if (const auto* finished = std::get_if<routing::CallFinished>(&effect)) {
      CountFinished(finished->record);
    } else if (const auto* presence = std::get_if<routing::PresenceChanged>(&effect)) {
      CountPresence(presence->change.counsellor_id, presence->change.state, presence->change.at);
    }
  }
}

void LiveFigures::CountAnswer(const routing::CallInfo& call, routing::Timestamp at,
                              const routing::CounsellorProfile* counsellor,
                              const routing::Regions& regions) {
  stats::WaitDecided wait{.priority = call.priority,
                          .arrived_at = call.arrived_at,
                          .decided_at = at,
                          .answered = true};
  if (counsellor != nullptr && !call.province_unknown) {
    std::vector<std::string> served = counsellor->provinces;
    served.push_back(counsellor->home_province);
    stats::JudgeOwnership(wait, call.province, served,
                          [&](const std::string& p) { return regions.CentreOf(p); });
  }
  stats::Tally t;
  stats::CountWait(t, wait);
  timeline_.Add(at, t);
}

void LiveFigures::CountFinished(const routing::CallRecord& r) {
  stats::Tally t;
  if (r.answered_at) {
    const routing::Timestamp done = stats::HandlingEnd(r);
    stats::CountHandled(t, done - *r.answered_at);
    timeline_.Add(done, t);
    return;
  }
  stats::CountWait(t, stats::WaitDecided{.priority = r.call.priority,
                                         .arrived_at = r.call.arrived_at,
                                         .decided_at = r.ended_at,
                                         .answered = false,
                                         .outcome = r.outcome});
  timeline_.Add(r.ended_at, t);
}

void LiveFigures::CountPresence(const std::string& counsellor_id, routing::CounsellorState state,
                                routing::Timestamp at) {
  presence_.Change(counsellor_id, state, at, timeline_);
}

stats::Tally LiveFigures::Window(routing::Timestamp from, routing::Timestamp now) const {
  stats::Tally t = timeline_.Sum(from, now);
  presence_.AddOpen(from, now, t);
  return t;
}

v1::LiveFigures LiveFigures::Figures(routing::Timestamp now) const {
  v1::LiveFigures out;
  // Whole minutes: the 14 before this one, and this one so far.
  const routing::Timestamp recent = stats::MinuteStart(now) - (kWindow - routing::Millis(60'000));
  *out.mutable_last_15_minutes() = ToProto(stats::Derive(Window(recent, now)));
  *out.mutable_today() = ToProto(stats::Derive(Window(LocalMidnight(now), now)));
  return out;
}

std::optional<double> LiveFigures::ServiceLevel(routing::Timestamp end) const {
  return stats::Derive(timeline_.Sum(end - kWindow, end)).service_level;
}

}  // namespace hotline::daemon
