// QueueModel: what a supervisor's client holds of the live queue, rebuilt from the
// SupervisorService.WatchQueue stream. A `view` replaces everything; a `change` applies to the
// update before it, so each is checked to follow the last one applied (same epoch, sequence + 1).
// When one does not, the model is left as it was and the caller reconnects, resuming after
// epoch() / sequence(): the daemon sends what was missed, or a fresh view.
//
// Invariants (the queue's own order, supervisor.proto's QueueChange): waiting calls (WAITING or
// OFFERED) are ordered by priority, highest first (EMERGENCY, HIGH, NORMAL, LOW: the enum's
// numbers rise with urgency), then by admission, lowest first; call id breaks a tie should two
// calls ever share an admission.
//
// Not thread-safe: one owner applies updates and reads, or guards it with its own mutex.
#pragma once

#include <absl/status/status.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hotline/v1/common.pb.h"
#include "hotline/v1/supervisor.pb.h"

namespace hotline::clients {

class QueueModel final {
 public:
  QueueModel() = default;
  QueueModel(const QueueModel&) = delete;
  QueueModel& operator=(const QueueModel&) = delete;

  // Applies one update of the stream. OK when applied. FAILED_PRECONDITION, with the model
  // unchanged, when `update` is a change that does not follow the last update applied: none
  // applied yet, another epoch, or a sequence other than sequence() + 1 (a gap, or a repeat).
  // The caller then needs a full view: it reconnects with epoch() and sequence() to resume.
  // INVALID_ARGUMENT, unchanged, for an update with neither a view nor a change.
  [[nodiscard]] absl::Status Apply(const hotline::v1::QueueUpdate& update);

  // Whether a view was ever applied (before that every list is empty).
  bool has_view() const { return has_view_; }
  // The epoch and sequence of the last update applied, for WatchQueueRequest's `epoch` and
  // `after`; "" and 0 before the first.
  const std::string& epoch() const { return epoch_; }
  uint64_t sequence() const { return sequence_; }
  // The daemon's time of the last update applied.
  const google::protobuf::Timestamp& at() const { return at_; }

  // Waiting calls (WAITING or OFFERED) the view lists, in queue order (see Invariants). The
  // pointers stay valid until the next Apply.
  std::vector<const hotline::v1::CallStatus*> WaitingCalls() const;
  // Calls held by a counsellor (CONNECTING or CONNECTED), by counsellor id, then call id.
  std::vector<const hotline::v1::CallStatus*> HeldCalls() const;
  // Every counsellor, by counsellor id.
  std::vector<const hotline::v1::CounsellorStatus*> Counsellors() const;
  // The counsellor with this id, or nullptr.
  const hotline::v1::CounsellorStatus* FindCounsellor(const std::string& counsellor_id) const;
  // The latest summary (empty before the first view).
  const hotline::v1::QueueSummary& summary() const { return summary_; }

  // How long ago `then` was, as of the last update's `at` plus `since_update` (the local time
  // elapsed since that update was applied): how waits and times in state keep ticking between
  // updates without trusting the local clock to agree with the daemon's. Zero for an unset
  // `then` or one after that moment.
  std::chrono::milliseconds Age(const google::protobuf::Timestamp& then,
                                std::chrono::milliseconds since_update) const;
  // A call's wait so far: Age(arrived_at) for a waiting call; for any other, or one without an
  // arrival time, its `waited` as the daemon sent it.
  std::chrono::milliseconds Waited(const hotline::v1::CallStatus& call,
                                   std::chrono::milliseconds since_update) const;
  // The summary's longest wait, ticked from the update that brought the summary while any call
  // waits.
  std::chrono::milliseconds LongestWait(std::chrono::milliseconds since_update) const;

 private:
  void ApplyChange(const hotline::v1::QueueChange& change);

  bool has_view_ = false;
  std::string epoch_;
  uint64_t sequence_ = 0;
  google::protobuf::Timestamp at_;
  std::map<std::string, hotline::v1::CallStatus> calls_;
  std::map<std::string, hotline::v1::CounsellorStatus> counsellors_;
  hotline::v1::QueueSummary summary_;
  // The `at` of the update that brought summary_.
  google::protobuf::Timestamp summary_at_;
};

}  // namespace hotline::clients
