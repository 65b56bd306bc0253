// Builders of QueueUpdate pieces for the queue model and screen tests: calls, counsellors,
// views and changes at times given in seconds since a fixed moment.
#pragma once

#include <google/protobuf/util/time_util.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hotline/v1/supervisor.pb.h"

namespace hotline::clients::testing {

namespace v1 = ::hotline::v1;

// 2025-06-02 10:00:00 UTC: every time in these tests is this plus some seconds.
inline constexpr int64_t kBaseSeconds = 1'748'858'400;

inline google::protobuf::Timestamp At(int64_t seconds) {
  return google::protobuf::util::TimeUtil::SecondsToTimestamp(kBaseSeconds + seconds);
}

inline v1::CallStatus Call(const std::string& id, v1::Priority priority, uint64_t admission,
                           v1::CallState state = v1::CALL_STATE_WAITING,
                           int64_t arrived_second = 0) {
  v1::CallStatus call;
  v1::CallSummary& summary = *call.mutable_summary();
  summary.set_call_id(id);
  summary.set_caller_masked("**********78");
  summary.set_province("38");
  summary.set_language("vi");
  summary.set_topic(v1::TOPIC_COUNSELLING);
  summary.set_priority(priority);
  *summary.mutable_arrived_at() = At(arrived_second);
  call.set_state(state);
  call.set_admission(admission);
  return call;
}

inline v1::CounsellorStatus Counsellor(const std::string& id, v1::CounsellorState state,
                                       int64_t since_second = 0, const std::string& call_id = "") {
  v1::CounsellorStatus counsellor;
  counsellor.set_counsellor_id(id);
  counsellor.set_display_name("Counsellor " + id);
  counsellor.set_state(state);
  *counsellor.mutable_since() = At(since_second);
  counsellor.set_call_id(call_id);
  counsellor.set_desk_connected(true);
  return counsellor;
}

inline v1::QueueUpdate View(const std::string& epoch, uint64_t sequence, int64_t at_second,
                            const std::vector<v1::CallStatus>& calls,
                            const std::vector<v1::CounsellorStatus>& counsellors = {}) {
  v1::QueueUpdate update;
  update.set_epoch(epoch);
  update.set_sequence(sequence);
  *update.mutable_at() = At(at_second);
  v1::QueueView& view = *update.mutable_view();
  int waiting = 0;
  for (const v1::CallStatus& call : calls) {
    *view.add_calls() = call;
    if (call.state() == v1::CALL_STATE_WAITING || call.state() == v1::CALL_STATE_OFFERED) {
      ++waiting;
    }
  }
  for (const v1::CounsellorStatus& counsellor : counsellors) {
    *view.add_counsellors() = counsellor;
  }
  view.mutable_summary()->set_waiting_total(waiting);
  return update;
}

// A change with nothing in it yet; the test fills in its body.
inline v1::QueueUpdate Change(const std::string& epoch, uint64_t sequence, int64_t at_second) {
  v1::QueueUpdate update;
  update.set_epoch(epoch);
  update.set_sequence(sequence);
  *update.mutable_at() = At(at_second);
  update.mutable_change();
  return update;
}

}  // namespace hotline::clients::testing
