// Metrics: hotlined's counts and latencies, served by GET /metrics on the HTTP port in the
// Prometheus text exposition format, version 0.0.4 (what `promtool check metrics` checks).
//
// Two layers. prometheus::Registry is a small registry with no library behind it: counters,
// gauges and fixed-bucket histograms. Every series is made once, at start, with a fixed label
// set, so the number of series is bounded. Metrics is hotlined's own set over one Registry, with
// labels taken from routing's enums, never from strings a caller sent.
//
// Nothing here is personal data: counts and latencies only, never a call, caller or counsellor
// id. That is why /metrics needs no token.
//
// Ownership: the daemon owns the one Metrics; the services, the writer and the engine host hold
// a reference or a pointer to it, and it outlives them all.
//
// Thread-safety: a Registry is built (Add*) on one thread before it is shared. After that Set,
// Increment, Observe and Render may be called from any thread: an update is a few relaxed atomic
// operations and allocates nothing; Render reads each value once, so a histogram's buckets, its
// +Inf bucket and its _count always agree (its _sum may already hold, or not yet hold, an
// observation being made meanwhile). Metrics is thread-safe throughout.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "routing/types.h"

namespace hotline::daemon {

namespace prometheus {

// The Content-Type of Render()'s text.
inline constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// A series' labels, in the order they are rendered: (name, value) pairs.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A count that only goes up (until the process restarts).
class Counter final {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  // For a count kept elsewhere: raises the value to `total`; a lower total (a scrape reading an
  // older figure) changes nothing, so the counter never goes down.
  void RaiseTo(uint64_t total) {
    uint64_t now = value_.load(std::memory_order_relaxed);
    while (now < total && !value_.compare_exchange_weak(now, total, std::memory_order_relaxed)) {
    }
  }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that is set: it may go up and down.
class Gauge final {
 public:
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Durations counted into fixed buckets, rendered in seconds.
class Histogram final {
 public:
  // Each bucket counts the observations no longer than its bound (Prometheus' `le`); a last
  // bucket, +Inf, counts the rest. REQUIRES: `bounds` positive and strictly increasing.
  explicit Histogram(std::vector<std::chrono::nanoseconds> bounds);

  // Counts `d` (a negative one as zero: a clock cannot run backwards, but a caller's
  // subtraction can).
  void Observe(std::chrono::nanoseconds d);

  struct Snapshot {
    // Cumulative counts: one per bound, then +Inf, which is the number of observations.
    std::vector<uint64_t> cumulative;
    std::chrono::nanoseconds sum{0};
    uint64_t count() const { return cumulative.back(); }
  };
  Snapshot Read() const;

  const std::vector<std::chrono::nanoseconds>& bounds() const { return bounds_; }

 private:
  const std::vector<std::chrono::nanoseconds> bounds_;
  // Observations per bucket (not cumulative), bounds_.size() + 1 of them, the last for +Inf.
  const std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<int64_t> sum_ns_{0};
};

// Latency buckets from 100 µs to 10 s, about 2.5 apart: an ack within a commit of a fast disk
// lands low, one held by a slow or failing disk lands high.
std::vector<std::chrono::nanoseconds> LatencyBuckets();

// Families of series, rendered in the order their first series was added; a family's series in
// the order they were added.
class Registry final {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each adds a series to the family `name`, which the first series of that name creates with
  // `help`. The returned reference lives as long as the Registry.
  // REQUIRES: `name` and the label names are valid Prometheus names (no "__" prefix, no "le"
  // label on a histogram); every series of one name has the same type (and, for histograms,
  // the same bounds); no label set is added twice to one family. Called before the Registry is
  // shared between threads.
  Counter& AddCounter(const std::string& name, const std::string& help, Labels labels = {});
  Gauge& AddGauge(const std::string& name, const std::string& help, Labels labels = {});
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          std::vector<std::chrono::nanoseconds> bounds, Labels labels = {});

  // Every family in the text format: HELP and TYPE lines, then its samples; a histogram as
  // `_bucket{le="..."}` lines (cumulative, ending with +Inf), `_sum` (seconds) and `_count`.
  std::string Render() const;

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    Labels labels;
    std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>>
        value;
  };
  struct Family {
    std::string name;
    std::string help;
    Type type;
    std::vector<Series> series;
  };
  // The family `name`, created with `help` and `type` if it is new.
  Family& FamilyFor(const std::string& name, const std::string& help, Type type,
                    const Labels& labels);
  // Adds a series to `family`: a T made from `args`, with `labels`.
  template <class T, class... Args>
  static T& Append(Family& family, Labels labels, Args&&... args);

  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace prometheus

// hotlined's metrics, all named hotline_*:
//   hotline_waiting_calls{priority}         gauge     calls waiting now
//   hotline_counsellors{state}              gauge     counsellors in each presence state now
//   hotline_calls_finished_total{outcome}   counter   calls finished since start
//   hotline_event_ack_seconds               histogram gateway event read -> its ack sent
//   hotline_decision_seconds                histogram the engine thread handling one input
//   hotline_journal_commit_seconds          histogram one journal commit (one transaction)
//   hotline_wal_checkpoint_seconds          histogram one checkpoint of the WAL by the writer,
//                                                      after the batch it follows was answered
//                                                      or in a quiet moment
//   hotline_storage_serving                 gauge     1 while commits succeed, 0 while they fail
//   hotline_storage_lock_waits_total        counter   waits of the journal writer's connection for
//                                                      a lock another connection held
//   hotline_gateway_messages_after_close_total counter a message read on a gateway stream already
//                                                      closing (revoked, replaced): dropped
// Every labelled series exists from the start, at zero, so a rate over it never starts with a
// missing sample.
class Metrics final {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Gauges, set to the current figure (the engine thread, after the input that changed it).
  // REQUIRES (for each): the enum value is one routing/types.h declares.
  void SetWaiting(routing::Priority p, int64_t n);
  void SetCounsellors(routing::CounsellorState s, int64_t n);
  // One more call finished with outcome `o`.
  void CountFinished(routing::Outcome o);

  // Latencies.
  // The engine thread's time to handle one input (from taking it up to handing its unit over).
  void ObserveDecision(std::chrono::nanoseconds d);
  // A gateway event from being read off its stream to its ack being handed to the stream.
  void ObserveAck(std::chrono::nanoseconds d);
  // One journal commit by the writer (failed attempts included).
  void ObserveCommit(std::chrono::nanoseconds d);
  // One checkpoint of the WAL into the database file (storage::Store::CheckpointIfDue).
  void ObserveCheckpoint(std::chrono::nanoseconds d);

  // Whether journal commits succeed (what /healthz reports about storage).
  void SetStorageServing(bool serving);
  // The journal writer's connection has waited `total` times since start for a lock another
  // connection held (storage::Store::busy_waits).
  void SetStorageLockWaits(uint64_t total) { lock_waits_->RaiseTo(total); }
  // Log lines dropped so far (daemon/logging.h), read at each scrape.
  void SetLogLinesDropped(uint64_t total) { log_lines_dropped_->RaiseTo(total); }

  // A gateway message read on a stream already closing was dropped (any thread).
  void CountAfterClose() { after_close_->Increment(); }

  // Every metric in the text exposition format 0.0.4 (Content-Type prometheus::kContentType).
  std::string Render() const;

 private:
  prometheus::Registry registry_;
  // Indexed by the enum's value (routing/types.h numbers them from 1; slot 0 unused).
  std::array<prometheus::Gauge*, 5> waiting_{};
  std::array<prometheus::Gauge*, 7> counsellors_{};
  std::array<prometheus::Counter*, 7> finished_{};
  prometheus::Histogram* decision_ = nullptr;
  prometheus::Histogram* ack_ = nullptr;
  prometheus::Histogram* commit_ = nullptr;
  prometheus::Histogram* checkpoint_ = nullptr;
  prometheus::Gauge* storage_serving_ = nullptr;
  prometheus::Counter* after_close_ = nullptr;
  prometheus::Counter* log_lines_dropped_ = nullptr;
  prometheus::Counter* lock_waits_ = nullptr;
};

}  // namespace hotline::daemon
