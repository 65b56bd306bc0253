#include "stats/report.h"

#include <algorithm>
#include <utility>

#include "routing/check.h"

namespace hotline::stats {
namespace {

constexpr Millis kHour{60 * 60 * 1000};

// Rows are in key order, except priorities: highest first, as a supervisor reads them.
int PriorityRank(const std::string& key) {
  for (routing::Priority p : {routing::Priority::kEmergency, routing::Priority::kHigh,
                              routing::Priority::kNormal, routing::Priority::kLow}) {
    if (routing::Name(p) == key) {
      return -static_cast<int>(p);
    }
  }
  return 0;
}

}  // namespace

Timestamp DecidedAt(const routing::CallRecord& call) {
  return call.answered_at.value_or(call.ended_at);
}

Timestamp HandlingEnd(const routing::CallRecord& call) {
  return call.wrap_up_done_at.value_or(call.ended_at);
}

std::string LocalHour(Timestamp t, Millis utc_offset) {
  constexpr int64_t kDayMs = 24 * kHour.count();
  const int64_t into_day =
      ((routing::ToUnixMillis(t) + utc_offset.count()) % kDayMs + kDayMs) % kDayMs;
  const int64_t hour = into_day / kHour.count();
  return {static_cast<char>('0' + hour / 10), static_cast<char>('0' + hour % 10)};
}

ReportBuilder::ReportBuilder(GroupBy by, Timestamp from, Timestamp to, ReportContext context,
                             ReportOptions options)
    : by_(by),
      from_(from),
      to_(to),
      open_until_(std::clamp(context.now, from, to)),
      context_(std::move(context)),
      options_(options) {
  HOTLINE_CHECK(from < to);
}

std::string ReportBuilder::CallKey(const routing::CallRecord& call, Timestamp at) const {
  switch (by_) {
    case GroupBy::kCentre: {
      if (call.call.province_unknown) {
        return std::string(kUnknownRegion);
      }
      auto it = context_.centre_of_province.find(call.call.province);
      return it == context_.centre_of_province.end() ? std::string(kUnknownRegion) : it->second;
    }
    case GroupBy::kProvince:
      return call.call.province_unknown || call.call.province.empty() ? std::string(kUnknownRegion)
                                                                      : call.call.province;
    case GroupBy::kTopic:
      return std::string(routing::Name(call.call.topic));
    case GroupBy::kPriority:
      return std::string(routing::Name(call.call.priority));
    case GroupBy::kCounsellor:
      return call.counsellor_id.empty() ? std::string(kNoCounsellor) : call.counsellor_id;
    case GroupBy::kHour:
      return LocalHour(at, options_.utc_offset);
  }
  return std::string(kUnknownRegion);
}

std::string ReportBuilder::PresenceKey(const std::string& counsellor_id) const {
  const auto home = [&]() -> const std::string* {
    auto it = context_.counsellors.find(counsellor_id);
    return it == context_.counsellors.end() || it->second.home_province.empty()
               ? nullptr
               : &it->second.home_province;
  };
  switch (by_) {
    case GroupBy::kCentre: {
      const std::string* province = home();
      if (province == nullptr) {
        return std::string(kUnknownRegion);
      }
      auto it = context_.centre_of_province.find(*province);
      return it == context_.centre_of_province.end() ? std::string(kUnknownRegion) : it->second;
    }
    case GroupBy::kProvince: {
      const std::string* province = home();
      return province == nullptr ? std::string(kUnknownRegion) : *province;
    }
    case GroupBy::kCounsellor:
      return counsellor_id;
    case GroupBy::kTopic:
    case GroupBy::kPriority:
    case GroupBy::kHour:  // Cut per hour in AddInterval.
      break;
  }
  return "";
}

void ReportBuilder::AddCall(const routing::CallRecord& call) {
  const Timestamp decided = DecidedAt(call);
  if (InPeriod(decided)) {
    WaitDecided w;
    w.priority = call.call.priority;
    w.arrived_at = call.call.arrived_at;
    w.decided_at = decided;
    w.answered = call.answered_at.has_value();
    w.outcome = call.outcome;
    auto counsellor = context_.counsellors.find(call.counsellor_id);
    if (w.answered && !call.call.province_unknown && counsellor != context_.counsellors.end()) {
      JudgeOwnership(w, call.call.province, counsellor->second.provinces,
                     [&](const std::string& p) {
                       auto it = context_.centre_of_province.find(p);
                       return it == context_.centre_of_province.end() ? std::string()
                                                                      : it->second;
                     });
    }
    Tally t;
    CountWait(t, w, options_.targets);
    groups_[CallKey(call, decided)] += t;
    total_ += t;
  }
  if (call.answered_at && InPeriod(HandlingEnd(call))) {
    Tally t;
    CountHandled(t, HandlingEnd(call) - *call.answered_at);
    groups_[CallKey(call, HandlingEnd(call))] += t;
    total_ += t;
  }
}

void ReportBuilder::AddInterval(const std::string& counsellor_id, routing::CounsellorState state,
                                Timestamp begin, Timestamp end) {
  if (!IsStaffed(state)) {
    return;
  }
  begin = std::max(begin, from_);
  end = std::min(end, to_);
  if (begin >= end) {
    return;
  }
  const bool busy = IsBusy(state);
  const auto count = [&](const std::string& key, Millis part) {
    Tally t;
    t.staffed_ms = part.count();
    t.busy_ms = busy ? part.count() : 0;
    if (!key.empty()) {
      groups_[key] += t;
    }
    total_ += t;
  };
  if (by_ == GroupBy::kHour) {
    ForEachSlice(begin, end, kHour, options_.utc_offset, [&](Timestamp start, Millis part) {
      count(LocalHour(start, options_.utc_offset), part);
    });
  } else {
    count(PresenceKey(counsellor_id), end - begin);
  }
}

void ReportBuilder::AddPresence(const routing::PresenceChange& change) {
  if (open_) {
    const bool same = open_->counsellor_id == change.counsellor_id;
    // A counsellor's last change stays open until the report's end (or now).
    AddInterval(open_->counsellor_id, open_->state, open_->at, same ? change.at : open_until_);
  }
  open_ = change;
}

Report ReportBuilder::Finish() && {
  if (open_) {
    AddInterval(open_->counsellor_id, open_->state, open_->at, open_until_);
    open_.reset();
  }
  Report report;
  report.total = total_;
  for (auto& [key, tally] : groups_) {
    report.rows.push_back(ReportRow{key, tally});
  }
  if (by_ == GroupBy::kPriority) {
    std::stable_sort(report.rows.begin(), report.rows.end(),
                     [](const ReportRow& a, const ReportRow& b) {
                       return PriorityRank(a.key) < PriorityRank(b.key);
                     });
  }
  return report;
}

}  // namespace hotline::stats
