// QueueFeed: the supervisors' live queue (supervisor.proto WatchQueue, and the web page's event
// stream) as one numbered sequence of updates that every watcher shares.
//
// The feed remembers what watchers hold: the first `view_calls` waiting calls and every held
// call, every counsellor, and the last summary. After each input it compares only that bounded
// part of the engine with what it sent and publishes the difference as one QueueChange, so an
// input costs O(view_calls + counsellors the input touched), never O(waiting calls). A full view
// is rendered from the same memory, so a view at sequence N is exactly the state after change N.
//
// Bounds: each watcher's sink holds at most kPendingPerWatcher unsent updates (Sink::Bound);
// one that falls further behind gets nothing more until a fresh full view, sent once it has
// caught up (so it never sees a gap). The last `ring` changes (and at most `ring_bytes`) are kept
// for watchers that resume.
//
// Not thread-safe: the engine thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "daemon/streams.h"
#include "hotline/v1/supervisor.pb.h"
#include "routing/engine.h"

namespace hotline::daemon {

// Updates a watcher may hold unsent (a burst of inputs committed together fits); one further
// behind gets a fresh full view, and so does a resume from further back.
inline constexpr size_t kPendingPerWatcher = 256;

class QueueFeed final {
 public:
  struct Options {
    // Waiting calls listed in full; the rest are counted in the summary.
    size_t view_calls = 100;
    size_t ring = kPendingPerWatcher;
    size_t ring_bytes = 8u << 20;
  };
  // `deliver` sends in order with the input's other messages (after its journal unit is durable);
  // `summarize` builds the current summary.
  QueueFeed(Options options, std::string epoch,
            std::function<void(std::function<void()>)> deliver,
            std::function<v1::QueueSummary()> summarize);

  const std::string& epoch() const { return epoch_; }
  uint64_t sequence() const { return sequence_; }
  bool watched() const { return !sinks_.empty(); }

  // A watcher arrives; it resumes after (epoch, after) when the feed still has every update
  // since, and otherwise starts from a full view.
  void Add(std::shared_ptr<QueueSink> sink, const std::string& epoch, uint64_t after,
           const routing::Engine& engine, routing::Timestamp now);
  void Remove(const std::shared_ptr<QueueSink>& sink);
  // A watcher that fell behind has caught up: it gets a full view.
  void Refresh(const std::shared_ptr<QueueSink>& sink, routing::Timestamp now);

  // After an input: publishes what changed among the listed calls and the touched counsellors.
  void Changed(const routing::Engine& engine, routing::Timestamp now,
               const std::set<std::string>& touched_counsellors);
  // Publishes `summary` when it differs from the last one sent.
  void Summarize(v1::QueueSummary summary, routing::Timestamp now);

  void CloseAll(const grpc::Status& status);

 private:
  struct Shown {
    std::string fingerprint;
    v1::CallStatus status;
  };
  // Rebuilds what watchers hold from the engine (after a time with no watcher).
  void Resync(const routing::Engine& engine, routing::Timestamp now);
  // Everything a watcher starting afresh needs: the calls and counsellors as sent so far, and the
  // summary made now (the one sent last may be up to a second old, or older when nobody has
  // watched since).
  v1::QueueUpdate FullView(routing::Timestamp now) const;
  void Publish(v1::QueueChange change, routing::Timestamp now);
  void SendTo(const std::shared_ptr<QueueSink>& sink, v1::QueueUpdate update);

  const Options options_;
  const std::string epoch_;
  std::function<void(std::function<void()>)> deliver_;
  std::function<v1::QueueSummary()> summarize_;

  std::set<std::shared_ptr<QueueSink>> sinks_;
  uint64_t sequence_ = 0;
  // Set when something changed while nobody watched: what the feed remembers is out of date.
  bool stale_ = true;
  std::map<std::string, Shown> calls_;
  std::map<std::string, std::string> counsellor_fingerprints_;
  std::map<std::string, v1::CounsellorStatus> counsellors_;
  // The last summary sent to watchers (Resync, Summarize), serialized.
  std::string summary_fingerprint_;
  std::deque<std::shared_ptr<const v1::QueueUpdate>> ring_;
  size_t ring_bytes_ = 0;
};

}  // namespace hotline::daemon
