// The metrics registry and its text exposition format (daemon/metrics.h): exact text for a small
// registry, cumulative buckets, escaping, hotlined's own series, and the writer's commit timing.
#include "daemon/metrics.h"

#include <catch2/catch.hpp>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/writer.h"
#include "tests/testing/blocking_queue.h"
#include "tests/testing/metrics_text.h"

namespace hotline::daemon {
namespace {

using namespace std::chrono_literals;
using prometheus::Registry;
using testing::SampleValue;

TEST_CASE("a small registry renders HELP, TYPE and every sample in the text format",
          "[daemon][metrics]") {
  Registry registry;
  prometheus::Counter& events = registry.AddCounter("demo_events_total", "Events seen.");
  prometheus::Gauge& a = registry.AddGauge("demo_queue", "Queue length.", {{"kind", "a"}});
  // A second series of the same family: the family's HELP is the first one's.
  prometheus::Gauge& b = registry.AddGauge("demo_queue", "Not shown.", {{"kind", "b"}});
  prometheus::Histogram& waits =
      registry.AddHistogram("demo_wait_seconds", "Waits.", {1ms, 2500ms});
  events.Increment();
  events.Increment(2);
  a.Set(5);
  b.Set(-1);
  waits.Observe(1ms);
  waits.Observe(1500us);
  waits.Observe(3s);

  CHECK(registry.Render() ==
        "# HELP demo_events_total Events seen.\n"
        "# TYPE demo_events_total counter\n"
        "demo_events_total 3\n"
        "# HELP demo_queue Queue length.\n"
        "# TYPE demo_queue gauge\n"
        "demo_queue{kind=\"a\"} 5\n"
        "demo_queue{kind=\"b\"} -1\n"
        "# HELP demo_wait_seconds Waits.\n"
        "# TYPE demo_wait_seconds histogram\n"
        "demo_wait_seconds_bucket{le=\"0.001\"} 1\n"
        "demo_wait_seconds_bucket{le=\"2.5\"} 2\n"
        "demo_wait_seconds_bucket{le=\"+Inf\"} 3\n"
        "demo_wait_seconds_sum 3.0025\n"
        "demo_wait_seconds_count 3\n");
}

TEST_CASE("histogram buckets are cumulative, a bound counts as its own bucket, +Inf is the count",
          "[daemon][metrics]") {
  Registry registry;
  prometheus::Histogram& h =
      registry.AddHistogram("demo_seconds", "Demo.", {1ms, 10ms, 100ms}, {{"path", "x"}});
  for (const std::chrono::nanoseconds d :
       std::vector<std::chrono::nanoseconds>{-5ms, 0ns, 1ms, 1ms + 1ns, 10ms, 99ms, 100ms + 1ns,
                                             1h}) {
    h.Observe(d);
  }
  const prometheus::Histogram::Snapshot snapshot = h.Read();
  CHECK(snapshot.cumulative == std::vector<uint64_t>{3, 5, 6, 8});
  CHECK(snapshot.count() == 8);
  // A negative duration counts as zero in the sum too.
  CHECK(snapshot.sum == 0ms + 1ms + 1ms + 1ns + 10ms + 99ms + 100ms + 1ns + 1h);

  const std::string text = registry.Render();
  CHECK(SampleValue(text, "demo_seconds_bucket{path=\"x\",le=\"0.001\"}") == 3);
  CHECK(SampleValue(text, "demo_seconds_bucket{path=\"x\",le=\"0.01\"}") == 5);
  CHECK(SampleValue(text, "demo_seconds_bucket{path=\"x\",le=\"0.1\"}") == 6);
  CHECK(SampleValue(text, "demo_seconds_bucket{path=\"x\",le=\"+Inf\"}") == 8);
  CHECK(SampleValue(text, "demo_seconds_count{path=\"x\"}") == 8);
  CHECK(text.find("demo_seconds_sum{path=\"x\"} 3600.211000002\n") != std::string::npos);
}

TEST_CASE("label values escape backslash, quote and line feed, help text backslash and line feed",
          "[daemon][metrics]") {
  Registry registry;
  registry.AddGauge("demo_gauge", "A \\ backslash,\na line feed and \"quotes\" as they are.",
                    {{"path", "C:\\dir \"quoted\"\nnext"}, {"plain", "ok"}});
  CHECK(registry.Render() ==
        "# HELP demo_gauge A \\\\ backslash,\\na line feed and \"quotes\" as they are.\n"
        "# TYPE demo_gauge gauge\n"
        "demo_gauge{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\",plain=\"ok\"} 0\n");
}

TEST_CASE("a histogram observed from several threads at once loses no observation",
          "[daemon][metrics]") {
  Registry registry;
  prometheus::Histogram& h = registry.AddHistogram("demo_seconds", "Demo.", {1ms, 1s});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 10'000; ++i) {
        h.Observe(t % 2 == 0 ? 1ms : 2s);
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const prometheus::Histogram::Snapshot snapshot = h.Read();
  CHECK(snapshot.cumulative == std::vector<uint64_t>{20'000, 20'000, 40'000});
  CHECK(snapshot.sum == 20'000 * 1ms + 20'000 * 2s);
}

TEST_CASE("hotlined's metrics are all there from the start, at zero, and storage serving",
          "[daemon][metrics]") {
  const Metrics metrics;
  const std::string text = metrics.Render();
  for (const char* priority : {"emergency", "high", "normal", "low"}) {
    INFO(priority);
    CHECK(SampleValue(text, std::string("hotline_waiting_calls{priority=\"") + priority + "\"}") ==
          0);
  }
  for (const char* state : {"offline", "available", "reserved", "on_call", "wrap_up", "break"}) {
    INFO(state);
    CHECK(SampleValue(text, std::string("hotline_counsellors{state=\"") + state + "\"}") == 0);
  }
  for (const char* outcome : {"completed", "abandoned", "timed_out", "rejected", "failed",
                              "callback_requested"}) {
    INFO(outcome);
    CHECK(SampleValue(text, std::string("hotline_calls_finished_total{outcome=\"") + outcome +
                                "\"}") == 0);
  }
  for (const char* histogram :
       {"hotline_event_ack_seconds", "hotline_decision_seconds", "hotline_journal_commit_seconds"}) {
    INFO(histogram);
    CHECK(text.find(std::string("# TYPE ") + histogram + " histogram\n") != std::string::npos);
    CHECK(SampleValue(text, std::string(histogram) + "_bucket{le=\"0.0001\"}") == 0);
    CHECK(SampleValue(text, std::string(histogram) + "_bucket{le=\"10\"}") == 0);
    CHECK(SampleValue(text, std::string(histogram) + "_bucket{le=\"+Inf\"}") == 0);
    CHECK(SampleValue(text, std::string(histogram) + "_count") == 0);
  }
  CHECK(SampleValue(text, "hotline_storage_serving") == 1);
  CHECK(SampleValue(text, "hotline_storage_lock_waits_total") == 0);
  CHECK(text.back() == '\n');
}

TEST_CASE("each Metrics setter moves its own series and no other", "[daemon][metrics]") {
  Metrics metrics;
  metrics.SetWaiting(routing::Priority::kEmergency, 2);
  metrics.SetWaiting(routing::Priority::kLow, 7);
  metrics.SetCounsellors(routing::CounsellorState::kWrapUp, 3);
  metrics.CountFinished(routing::Outcome::kCallbackRequested);
  metrics.CountFinished(routing::Outcome::kCallbackRequested);
  metrics.CountFinished(routing::Outcome::kCompleted);
  metrics.ObserveDecision(50us);
  metrics.ObserveAck(3ms);
  metrics.ObserveAck(20s);
  metrics.ObserveCommit(700us);
  metrics.SetStorageServing(false);
  metrics.SetStorageLockWaits(3);
  metrics.SetStorageLockWaits(2);  // An older figure read by a slower scrape: never goes down.

  const std::string text = metrics.Render();
  CHECK(SampleValue(text, "hotline_waiting_calls{priority=\"emergency\"}") == 2);
  CHECK(SampleValue(text, "hotline_waiting_calls{priority=\"normal\"}") == 0);
  CHECK(SampleValue(text, "hotline_waiting_calls{priority=\"low\"}") == 7);
  CHECK(SampleValue(text, "hotline_counsellors{state=\"wrap_up\"}") == 3);
  CHECK(SampleValue(text, "hotline_counsellors{state=\"available\"}") == 0);
  CHECK(SampleValue(text, "hotline_calls_finished_total{outcome=\"callback_requested\"}") == 2);
  CHECK(SampleValue(text, "hotline_calls_finished_total{outcome=\"completed\"}") == 1);
  CHECK(SampleValue(text, "hotline_calls_finished_total{outcome=\"failed\"}") == 0);
  CHECK(SampleValue(text, "hotline_decision_seconds_bucket{le=\"0.0001\"}") == 1);
  CHECK(SampleValue(text, "hotline_decision_seconds_count") == 1);
  CHECK(SampleValue(text, "hotline_event_ack_seconds_bucket{le=\"0.005\"}") == 1);
  CHECK(SampleValue(text, "hotline_event_ack_seconds_bucket{le=\"10\"}") == 1);
  CHECK(SampleValue(text, "hotline_event_ack_seconds_bucket{le=\"+Inf\"}") == 2);
  CHECK(text.find("hotline_event_ack_seconds_sum 20.003\n") != std::string::npos);
  CHECK(SampleValue(text, "hotline_journal_commit_seconds_bucket{le=\"0.001\"}") == 1);
  CHECK(SampleValue(text, "hotline_journal_commit_seconds_count") == 1);
  CHECK(SampleValue(text, "hotline_storage_serving") == 0);
  CHECK(SampleValue(text, "hotline_storage_lock_waits_total") == 3);
}

// Accepts every commit.
class AcceptingSink final : public storage::Sink {
 public:
  absl::StatusOr<bool> CheckpointIfDue(Moment) override { return false; }
  void SetLockWaitHook(std::function<void()> /*hook*/) override {}  // It never waits.
  absl::Status Commit(const storage::Batch&) override { return absl::OkStatus(); }
};

TEST_CASE("the writer times each commit it makes, and none for a unit with nothing to write",
          "[daemon][metrics][writer]") {
  Metrics metrics;
  AcceptingSink sink;
  testing::BlockingQueue<int> answered;
  Writer writer(sink, [](bool) {}, nullptr, WriterOptions{}, &metrics);

  Writer::Unit written;
  written.batch.journal.push_back(storage::JournalEntry{.seq = 1, .at_ms = 1'000, .record = "r"});
  written.answers.push_back([&answered] { answered.Push(1); });
  writer.Submit(std::move(written));
  REQUIRE(answered.Pop(10s) == 1);

  // A repeat's answer: nothing to write, so no transaction and nothing timed.
  Writer::Unit answer_only;
  answer_only.answers.push_back([&answered] { answered.Push(2); });
  writer.Submit(std::move(answer_only));
  REQUIRE(answered.Pop(10s) == 2);
  writer.Stop(0ms);

  CHECK(SampleValue(metrics.Render(), "hotline_journal_commit_seconds_count") == 1);
}

}  // namespace
}  // namespace hotline::daemon
