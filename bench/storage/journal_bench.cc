// Store::Commit throughput for the journal writer's group commits: batches of 1, 10, 100 and
// 1,000 journal entries of about 200 bytes, with synchronous NORMAL and FULL, on a database file
// in the temporary directory (set TMPDIR to measure another disk).
//
// Rates are per wall-clock second (UseRealTime): the time a commit spends waiting for fsync is
// the cost being measured. items_per_second counts journal entries; commits_per_second batches.
//
//   storage_bench                              all of them
//   storage_bench --benchmark_filter='/full:1' synchronous FULL only
//
// BM_CommitCalls commits what whole calls write (every table a call touches), as the e2e
// benchmark's calls do.
//
// BM_SqliteInsert is the baseline: SQLite's own batched insert of the same rows (one prepared
// INSERT, one transaction per batch) into a bare table in the same mode on the same disk, so
// that BM_Commit's rate reads as a share of what SQLite itself does here.
#include <SQLiteCpp/SQLiteCpp.h>
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "storage/batch.h"
#include "storage/store.h"

namespace hotline::storage {
namespace {

constexpr std::size_t kRecordBytes = 200;

// A database file no other run uses, removed with its WAL and shared-memory files.
class TempDb final {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("hotline-storage-bench-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter++) + "-" + std::to_string(now) + ".db");
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  ~TempDb() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix, ignored);
    }
  }

  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// A commit as the daemon's writer makes it: then the checkpoint it runs once the WAL holds 1,000
// pages (Store::CheckpointIfDue), counted in the writer's time as it is in the daemon's.
absl::Status CommitAsTheWriter(Store& store, const Batch& batch) {
  if (absl::Status s = store.Commit(batch); !s.ok()) {
    return s;
  }
  return store.CheckpointIfDue(Sink::Moment::kAfterAnswers).status();
}

// args: batch size, synchronous FULL (1) or NORMAL (0), a request result per entry (1) or not.
void BM_Commit(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  const OpenOptions options{.synchronous = state.range(1) != 0 ? "FULL" : "NORMAL"};
  const bool with_results = state.range(2) != 0;
  TempDb db;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db.path(), options);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }

  // The batch is built once; each commit renumbers it, as the daemon's seqs keep increasing.
  Batch batch;
  batch.journal.resize(batch_size);
  for (JournalEntry& entry : batch.journal) {
    entry.record.assign(kRecordBytes, 'r');
  }
  if (with_results) {
    batch.results.resize(batch_size);
    for (RequestResult& result : batch.results) {
      result.origin = "gateway:gw-hanoi-1";
      result.response.assign(32, 'a');
    }
  }
  int64_t seq = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch_size; ++i) {
      ++seq;
      batch.journal[i].seq = seq;
      batch.journal[i].at_ms = seq;
      if (with_results) {
        batch.results[i].request_id = "ev-" + std::to_string(seq);
        batch.results[i].at_ms = seq;
      }
    }
    if (absl::Status s = CommitAsTheWriter(**store, batch); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(seq);
  state.counters["commits_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// args: batch size, synchronous FULL (1) or NORMAL (0). WAL and the page size of a new database,
// as the store opens its own.
void BM_SqliteInsert(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  TempDb db;
  SQLite::Database sqlite(db.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  sqlite.exec(fmt::format("PRAGMA page_size = {}", Store::kNewPageBytes));
  sqlite.exec("PRAGMA journal_mode = WAL");
  sqlite.exec(state.range(1) != 0 ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  sqlite.exec(
      "CREATE TABLE journal (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, "
      "record BLOB NOT NULL)");
  SQLite::Statement insert(sqlite, "INSERT INTO journal (seq, at_ms, record) VALUES (?, ?, ?)");
  const std::string record(kRecordBytes, 'r');
  int64_t seq = 0;
  for (auto _ : state) {
    SQLite::Transaction transaction(sqlite);
    for (std::size_t i = 0; i < batch_size; ++i) {
      ++seq;
      insert.bind(1, seq);
      insert.bind(2, seq);
      insert.bind(3, record.data(), static_cast<int>(record.size()));
      insert.exec();
      insert.reset();
    }
    transaction.commit();
  }
  state.SetItemsProcessed(seq);
  state.counters["commits_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// What the e2e benchmark's calls cost the writer, whole: per call, the rows one arrival and its
// hang-up write while a desk is signed in (the daemon's own batch for that pair of events): two
// journal entries and two stored answers, the offer and its end, the counsellor reserved and
// available again, the caller's sealed number kept and deleted, and the call's row (abandoned
// after one offer). args: calls per commit (the e2e benchmark commits about 10 at its maximum),
// synchronous FULL (1) or NORMAL (0). items_per_second counts calls.
void BM_CommitCalls(benchmark::State& state) {
  const auto calls = static_cast<std::size_t>(state.range(0));
  const OpenOptions options{.synchronous = state.range(1) != 0 ? "FULL" : "NORMAL"};
  TempDb db;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db.path(), options);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  const routing::Timestamp t0 = routing::FromUnixMillis(1'760'000'000'000);
  int64_t seq = 0;
  int64_t n = 0;
  Batch batch;
  for (auto _ : state) {
    state.PauseTiming();
    batch = Batch();
    for (std::size_t i = 0; i < calls; ++i) {
      ++n;
      const std::string call_id = "bench-gw-call-" + std::to_string(n);
      const routing::Timestamp at = t0 + routing::Millis(n);
      const int64_t at_ms = routing::ToUnixMillis(at);
      for (int e = 0; e < 2; ++e) {
        batch.journal.push_back(JournalEntry{++seq, at_ms, std::string(kRecordBytes, 'r')});
        batch.results.push_back(RequestResult{"gateway:gw-bench", "ev-" + std::to_string(seq),
                                              at_ms, 0, "", std::string(20, 'a')});
      }
      batch.offers.emplace_back(
          OfferRow{call_id, "c-bench", at_ms, 0, "province", 8, "longest idle (42 s)", "", 0});
      batch.offers.emplace_back(OfferResult{call_id, "c-bench", "caller_hung_up", at_ms + 1});
      batch.presence.push_back(routing::PresenceChange{"c-bench",
                                                       routing::CounsellorState::kReserved,
                                                       routing::BreakReason::kNone, at, call_id});
      batch.presence.push_back(routing::PresenceChange{
          "c-bench", routing::CounsellorState::kAvailable, routing::BreakReason::kNone, at, ""});
      batch.callbacks.emplace_back(
          CallbackHeld{call_id, "gw-bench", "**********67", std::string(56, 's'), at_ms});
      batch.callbacks.emplace_back(CallbackEnded{call_id, "", at_ms + 1});
      routing::CallRecord record;
      record.call.call_id = call_id;
      record.call.gateway_id = "gw-bench";
      record.call.caller_key = std::string(64, 'c');
      record.call.caller_masked = "**********67";
      record.call.province = "38";
      record.call.language = "vi";
      record.call.arrived_at = at;
      record.outcome = routing::Outcome::kAbandoned;
      record.first_offered_at = at;
      record.ended_at = at + routing::Millis(1);
      record.offers = 1;
      batch.calls.push_back(std::move(record));
    }
    state.ResumeTiming();
    if (absl::Status s = CommitAsTheWriter(**store, batch); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(n);
  state.counters["commits_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_CommitCalls)
    ->ArgNames({"calls", "full"})
    ->ArgsProduct({{1, 10}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_SqliteInsert)
    ->ArgNames({"batch", "full"})
    ->ArgsProduct({{1, 10, 100, 1000}, {0, 1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_Commit)
    ->ArgNames({"batch", "full", "results"})
    ->ArgsProduct({{1, 10, 100, 1000}, {0, 1}, {0}})
    ->ArgsProduct({{1, 100}, {0, 1}, {1}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace hotline::storage

int main(int argc, char** argv) {
  hotline::storage::ConfigureSqliteForProcess();  // As hotlined's main does.
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
