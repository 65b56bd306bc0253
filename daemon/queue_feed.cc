#include "daemon/queue_feed.h"

#include <utility>

#include "daemon/convert.h"
#include "google/protobuf/util/time_util.h"

namespace hotline::daemon {

namespace {

// What makes a call's line change for a watcher: not its wait or place, which tick with time
// and which a watcher works out itself (supervisor.proto QueueChange).
std::string Fingerprint(v1::CallStatus status) {
  status.clear_waited();
  status.clear_position();
  return status.SerializeAsString();
}

}  // namespace

QueueFeed::QueueFeed(Options options, std::string epoch,
                     std::function<void(std::function<void()>)> deliver,
                     std::function<v1::QueueSummary()> summarize)
    : options_(options),
      epoch_(std::move(epoch)),
      deliver_(std::move(deliver)),
      summarize_(std::move(summarize)) {}

void QueueFeed::Add(std::shared_ptr<QueueSink> sink, const std::string& epoch, uint64_t after,
                    const routing::Engine& engine, routing::Timestamp now) {
  if (sinks_.empty() && stale_) {
    Resync(engine, now);
  }
  sinks_.insert(sink);
  // Resumable when every update after `after` is still in the ring.
  // (and not so far back that replaying them would overflow the watcher at once).
  const bool resumable =
      epoch == epoch_ && after <= sequence_ && sequence_ - after < kPendingPerWatcher &&
      (after == sequence_ || (!ring_.empty() && ring_.front()->sequence() <= after + 1));
  if (!resumable) {
    SendTo(sink, FullView(now));
    return;
  }
  for (const auto& update : ring_) {
    if (update->sequence() > after) {
      SendTo(sink, *update);
    }
  }
}

void QueueFeed::Remove(const std::shared_ptr<QueueSink>& sink) { sinks_.erase(sink); }

void QueueFeed::Refresh(const std::shared_ptr<QueueSink>& sink, routing::Timestamp now) {
  if (sinks_.contains(sink)) {
    SendTo(sink, FullView(now));
  }
}

void QueueFeed::Resync(const routing::Engine& engine, routing::Timestamp now) {
  calls_.clear();
  for (const routing::CallView& call : engine.Calls(options_.view_calls)) {
    v1::CallStatus status = ToProto(call, now, &engine.regions());
    std::string fingerprint = Fingerprint(status);
    calls_[call.info.call_id] = Shown{std::move(fingerprint), std::move(status)};
  }
  counsellors_.clear();
  counsellor_fingerprints_.clear();
  for (const routing::CounsellorView& c : engine.Counsellors()) {
    v1::CounsellorStatus status = ToProto(c);
    counsellor_fingerprints_[c.profile.id] = status.SerializeAsString();
    counsellors_[c.profile.id] = std::move(status);
  }
  summary_fingerprint_ = summarize_().SerializeAsString();
  // A gap in the numbers: nobody can resume across what was not recorded.
  ++sequence_;
  ring_.clear();
  ring_bytes_ = 0;
  stale_ = false;
}

v1::QueueUpdate QueueFeed::FullView(routing::Timestamp now) const {
  v1::QueueUpdate update;
  update.set_epoch(epoch_);
  update.set_sequence(sequence_);
  *update.mutable_at() = ToProto(now);
  v1::QueueView& view = *update.mutable_view();
  // Waiting calls first, in queue order (by priority, then admission), then the held ones.
  std::vector<const v1::CallStatus*> calls;
  calls.reserve(calls_.size());
  for (const auto& [id, shown] : calls_) {
    calls.push_back(&shown.status);
  }
  std::stable_sort(calls.begin(), calls.end(), [](const auto* a, const auto* b) {
    const bool a_waits = a->state() == v1::CALL_STATE_WAITING;
    const bool b_waits = b->state() == v1::CALL_STATE_WAITING;
    if (a_waits != b_waits) {
      return a_waits;
    }
    if (a->summary().priority() != b->summary().priority()) {
      return a->summary().priority() > b->summary().priority();
    }
    return a->admission() < b->admission();
  });
  int position = 0;
  for (const v1::CallStatus* status : calls) {
    v1::CallStatus& out = *view.add_calls();
    out = *status;
    using google::protobuf::util::TimeUtil;
    const int64_t waited = TimeUtil::TimestampToMilliseconds(update.at()) -
                           TimeUtil::TimestampToMilliseconds(status->summary().arrived_at());
    *out.mutable_waited() = ToProtoDuration(routing::Millis(std::max<int64_t>(0, waited)));
    out.set_position(out.state() == v1::CALL_STATE_WAITING ? ++position : 0);
  }
  for (const auto& [id, status] : counsellors_) {
    *view.add_counsellors() = status;
  }
  // Made now, like the calls beside it. summary_fingerprint_ stays what watchers were last
  // sent, so the next tick still sends them a summary that differs from it.
  *view.mutable_summary() = summarize_();
  return update;
}

void QueueFeed::Changed(const routing::Engine& engine, routing::Timestamp now,
                        const std::set<std::string>& touched_counsellors) {
  if (sinks_.empty()) {
    stale_ = true;
    return;
  }
  v1::QueueChange change;
  std::set<std::string> listed;
  for (const routing::CallView& call : engine.Calls(options_.view_calls)) {
    listed.insert(call.info.call_id);
    v1::CallStatus status = ToProto(call, now, &engine.regions());
    std::string fingerprint = Fingerprint(status);
    auto it = calls_.find(call.info.call_id);
    if (it != calls_.end() && it->second.fingerprint == fingerprint) {
      continue;
    }
    *change.add_calls() = status;
    calls_[call.info.call_id] = Shown{std::move(fingerprint), std::move(status)};
  }
  for (auto it = calls_.begin(); it != calls_.end();) {
    if (listed.contains(it->first)) {
      ++it;
      continue;
    }
    change.add_removed_calls(it->first);
    it = calls_.erase(it);
  }
  for (const std::string& id : touched_counsellors) {
    const routing::CounsellorEntry* c = engine.PeekCounsellor(id);  // Not a profile's copy.
    if (c == nullptr) {
      if (counsellors_.erase(id) > 0) {
        counsellor_fingerprints_.erase(id);
        change.add_removed_counsellors(id);
      }
      continue;
    }
    v1::CounsellorStatus status = ToProto(*c);
    std::string fingerprint = status.SerializeAsString();
    std::string& shown = counsellor_fingerprints_[id];
    if (shown == fingerprint) {
      continue;
    }
    shown = std::move(fingerprint);
    *change.add_counsellors() = status;
    counsellors_[id] = std::move(status);
  }
  if (change.calls_size() + change.removed_calls_size() + change.counsellors_size() +
          change.removed_counsellors_size() >
      0) {
    Publish(std::move(change), now);
  }
}

void QueueFeed::Summarize(v1::QueueSummary summary, routing::Timestamp now) {
  if (sinks_.empty()) {
    return;
  }
  std::string fingerprint = summary.SerializeAsString();
  if (fingerprint == summary_fingerprint_) {
    return;
  }
  summary_fingerprint_ = std::move(fingerprint);
  v1::QueueChange change;
  *change.mutable_summary() = std::move(summary);
  Publish(std::move(change), now);
}

void QueueFeed::Publish(v1::QueueChange change, routing::Timestamp now) {
  auto update = std::make_shared<v1::QueueUpdate>();
  update->set_epoch(epoch_);
  update->set_sequence(++sequence_);
  *update->mutable_at() = ToProto(now);
  *update->mutable_change() = std::move(change);
  ring_bytes_ += update->ByteSizeLong();
  ring_.push_back(update);
  while (!ring_.empty() && (ring_.size() > options_.ring || ring_bytes_ > options_.ring_bytes)) {
    ring_bytes_ -= ring_.front()->ByteSizeLong();
    ring_.pop_front();
  }
  for (const auto& sink : sinks_) {
    SendTo(sink, *update);
  }
}

void QueueFeed::SendTo(const std::shared_ptr<QueueSink>& sink, v1::QueueUpdate update) {
  deliver_([sink, update = std::move(update)]() mutable { sink->Send(std::move(update)); });
}

void QueueFeed::CloseAll(const grpc::Status& status) {
  for (const auto& sink : sinks_) {
    sink->Close(status);
  }
}

}  // namespace hotline::daemon
