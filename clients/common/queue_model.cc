#include "clients/common/queue_model.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <tuple>

namespace hotline::clients {
namespace {

namespace v1 = hotline::v1;
using google::protobuf::util::TimeUtil;

bool IsWaiting(const v1::CallStatus& call) {
  return call.state() == v1::CALL_STATE_WAITING || call.state() == v1::CALL_STATE_OFFERED;
}

bool IsHeld(const v1::CallStatus& call) {
  return call.state() == v1::CALL_STATE_CONNECTING || call.state() == v1::CALL_STATE_CONNECTED;
}

bool IsSet(const google::protobuf::Timestamp& at) { return at.seconds() != 0 || at.nanos() != 0; }

// The calls `keep` is true for, in call id order.
std::vector<const v1::CallStatus*> Select(const std::map<std::string, v1::CallStatus>& calls,
                                          bool (*keep)(const v1::CallStatus&)) {
  std::vector<const v1::CallStatus*> selected;
  for (const auto& [id, call] : calls) {
    if (keep(call)) {
      selected.push_back(&call);
    }
  }
  return selected;
}

std::chrono::milliseconds Millis(const google::protobuf::Duration& duration) {
  return std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(duration));
}

}  // namespace

absl::Status QueueModel::Apply(const v1::QueueUpdate& update) {
  switch (update.body_case()) {
    case v1::QueueUpdate::kView: {
      const v1::QueueView& view = update.view();
      calls_.clear();
      for (const v1::CallStatus& call : view.calls()) {
        calls_[call.summary().call_id()] = call;
      }
      counsellors_.clear();
      for (const v1::CounsellorStatus& counsellor : view.counsellors()) {
        counsellors_[counsellor.counsellor_id()] = counsellor;
      }
      summary_ = view.summary();
      summary_at_ = update.at();
      has_view_ = true;
      break;
    }
    case v1::QueueUpdate::kChange:
      if (!has_view_) {
        return absl::FailedPreconditionError(fmt::format(
            "change {} of epoch '{}' came before any view", update.sequence(), update.epoch()));
      }
      if (update.epoch() != epoch_ || update.sequence() != sequence_ + 1) {
        return absl::FailedPreconditionError(
            fmt::format("change {} of epoch '{}' does not follow update {} of epoch '{}'",
                        update.sequence(), update.epoch(), sequence_, epoch_));
      }
      ApplyChange(update.change());
      if (update.change().has_summary()) {
        summary_at_ = update.at();
      }
      break;
    case v1::QueueUpdate::BODY_NOT_SET:
      return absl::InvalidArgumentError(
          fmt::format("update {} of epoch '{}' has neither a view nor a change", update.sequence(),
                      update.epoch()));
  }
  epoch_ = update.epoch();
  sequence_ = update.sequence();
  at_ = update.at();
  return absl::OkStatus();
}

void QueueModel::ApplyChange(const v1::QueueChange& change) {
  for (const v1::CallStatus& call : change.calls()) {
    calls_[call.summary().call_id()] = call;
  }
  for (const std::string& call_id : change.removed_calls()) {
    calls_.erase(call_id);
  }
  for (const v1::CounsellorStatus& counsellor : change.counsellors()) {
    counsellors_[counsellor.counsellor_id()] = counsellor;
  }
  for (const std::string& counsellor_id : change.removed_counsellors()) {
    counsellors_.erase(counsellor_id);
  }
  if (change.has_summary()) {
    summary_ = change.summary();
  }
}

std::vector<const v1::CallStatus*> QueueModel::WaitingCalls() const {
  std::vector<const v1::CallStatus*> waiting = Select(calls_, IsWaiting);
  // Priority numbers rise with urgency (common.proto), so the highest number goes first.
  std::sort(waiting.begin(), waiting.end(), [](const v1::CallStatus* a, const v1::CallStatus* b) {
    return std::make_tuple(-static_cast<int>(a->summary().priority()), a->admission(),
                           std::cref(a->summary().call_id())) <
           std::make_tuple(-static_cast<int>(b->summary().priority()), b->admission(),
                           std::cref(b->summary().call_id()));
  });
  return waiting;
}

std::vector<const v1::CallStatus*> QueueModel::HeldCalls() const {
  std::vector<const v1::CallStatus*> held = Select(calls_, IsHeld);
  // Select keeps call id order and the sort is stable, so a tie on counsellor keeps it.
  std::stable_sort(held.begin(), held.end(), [](const v1::CallStatus* a, const v1::CallStatus* b) {
    return a->counsellor_id() < b->counsellor_id();
  });
  return held;
}

std::vector<const v1::CounsellorStatus*> QueueModel::Counsellors() const {
  std::vector<const v1::CounsellorStatus*> counsellors;
  counsellors.reserve(counsellors_.size());
  for (const auto& [id, counsellor] : counsellors_) {
    counsellors.push_back(&counsellor);
  }
  return counsellors;
}

const v1::CounsellorStatus* QueueModel::FindCounsellor(const std::string& counsellor_id) const {
  const auto found = counsellors_.find(counsellor_id);
  return found == counsellors_.end() ? nullptr : &found->second;
}

std::chrono::milliseconds QueueModel::Age(const google::protobuf::Timestamp& then,
                                          std::chrono::milliseconds since_update) const {
  if (!IsSet(then)) {
    return std::chrono::milliseconds::zero();
  }
  const auto age = Millis(at_ - then) + since_update;
  return std::max(age, std::chrono::milliseconds::zero());
}

std::chrono::milliseconds QueueModel::Waited(const v1::CallStatus& call,
                                             std::chrono::milliseconds since_update) const {
  if (!IsWaiting(call) || !IsSet(call.summary().arrived_at())) {
    return Millis(call.waited());
  }
  return Age(call.summary().arrived_at(), since_update);
}

std::chrono::milliseconds QueueModel::LongestWait(std::chrono::milliseconds since_update) const {
  const auto longest = Millis(summary_.longest_wait());
  if (summary_.waiting_total() == 0 || !IsSet(summary_at_)) {
    return longest;
  }
  return longest + Age(summary_at_, since_update);
}

}  // namespace hotline::clients
