// The journal writer: group commit on its own thread.
//
// The engine thread hands over one Unit per handled input: the rows to write (journal record,
// call and presence rows, idempotency answers, counsellor changes), the messages its decisions
// send (commands to gateways, queue views; a desk's events do not wait for the writer, see
// EngineHost::DeliverToDesk) and the answers it owes (event acknowledgements, replies).
// The writer takes every unit queued since its last commit and writes them in ONE transaction, so
// durability costs one commit per batch, not per event; then it runs the units' sends, then their
// answers, each in order.
//
// When a commit fails for a reason a retry can mend (IsTransient: a full disk, a busy database,
// an I/O error) the writer keeps the batch, reports the fault once through `on_health(false)`,
// and retries with a growing pause, merging what arrives meanwhile. Routing goes on from memory:
// sends run at once while commits fail. Answers wait: nothing is acknowledged until it is
// written. When a retry succeeds it reports `on_health(true)` and carries on.
//
// A commit that has to wait for a lock another connection holds (a script's transaction on the
// database) waits in SQLite's busy handler, up to 5 s before it fails busy. Sends do not wait
// with it: before each pause of that wait (Sink::SetLockWaitHook) the writer runs the sends of
// the batch being committed and of every unit queued meanwhile, as when commits fail, so that a
// gateway's connect never waits for another process's transaction. Answers still wait.
//
// Any other refusal (a journal seq out of order, an invalid item, a counsellor op that conflicts,
// a corrupt file, ...) means the daemon asked for something wrong or the file cannot be trusted;
// retrying would refuse it forever and hold every later acknowledgement behind it. Like
// LevelDB's sticky background error, the writer then stops for good: it logs the refusal,
// reports `on_health(false)` and calls `on_fatal` once, and from then on writes nothing and runs
// no send and no answer, of the refused batch or of any unit submitted later (sends that went
// out while the commit waited for a lock, below, are gone). The daemon exits
// and a restart recovers from the journal, which holds exactly what was acknowledged.
//
// After answering a batch it asks the sink for the work commits left due (the Store's WAL
// checkpoint past 1,000 pages), and again once nothing has come for quiet_checkpoint_after (the
// Store then checkpoints past 100 pages), so that under sparse load the checkpoints fall in the
// gaps between events rather than right after an answer, ahead of the next event.
//
// Under load it gathers (WriterOptions::gather_for): once a batch has merged two or more units,
// inputs are coming faster than commits, and the next batch waits until gather_for after its
// first unit was submitted (or until gather_units are queued) before it commits, so that one
// commit (its index pages, its WAL header, and a share of a checkpoint) carries more events. A
// unit is committed at once when the batch before merged one unit, or when it comes
// quiet_checkpoint_after or more after the writer was done with that batch (its answers and the
// checkpoint after them): sparse load never waits for it.
//
// Each commit's duration goes to `metrics` (hotline_journal_commit_seconds) when one is given.
//
// Thread-safety: Submit, healthy, stopped_for_good, failure and Stop from any thread (in practice
// the engine thread submits); the rest runs on the writer's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "daemon/metrics.h"
#include "storage/store.h"

namespace hotline::daemon {

struct WriterOptions {
  // The pause before the first retry of a commit that failed for a transient reason; each further
  // failure doubles it, up to longest_retry. Tests shorten both so nothing waits on a timer.
  std::chrono::milliseconds first_retry{50};
  std::chrono::milliseconds longest_retry{2'000};
  // How long after its last answered batch the writer waits, with nothing to write, before it asks
  // the sink for the work a quiet moment allows (Sink::Moment::kQuiet: the Store then checkpoints a
  // WAL of 100 pages, not 1,000). Tests set 0 (at once) or hours (never).
  std::chrono::milliseconds quiet_checkpoint_after{20};
  // After a batch that merged two or more units, how long after the next unit's submission the
  // writer waits for more before it commits, unless gather_units are queued first; 0: never.
  // Acks, replies and gateway commands wait up to this much longer under load; desks' offers
  // never wait for the writer (docs/performance.md, "Commits gathered under load"). The tests of
  // gathering set hours with a small gather_units, so that the count, not a timer, ends it.
  std::chrono::microseconds gather_for{500};
  size_t gather_units = 16;
};

class Writer final {
 public:
  struct Unit {
    storage::Batch batch;
    // Messages the decisions send: once durable, or at once while the store fails.
    std::vector<std::function<void()>> sends;
    // Acknowledgements and replies: only once durable.
    std::vector<std::function<void()>> answers;
    // When set, encodes `batch.snapshot`'s state: run on the writer thread before the commit,
    // so the engine thread never serializes a snapshot. A later unit's replaces it on merge, as
    // its snapshot replaces the earlier one.
    std::function<std::string()> encode_snapshot;
    bool empty() const { return batch.empty() && sends.empty() && answers.empty(); }
  };

  // Whether a commit that failed with `status` may succeed if tried again: RESOURCE_EXHAUSTED
  // (the disk or the database is full) and UNAVAILABLE (busy, an I/O error, a file that cannot be
  // opened or written now), as storage/store.h maps SQLite's errors. Every other code is a refusal
  // retrying cannot mend.
  static bool IsTransient(const absl::Status& status);

  // `sink` must outlive the Writer, and so must `metrics` unless it is null (no metrics).
  // `on_health` and `on_fatal` run on the writer thread and must not call Stop; `on_fatal` runs
  // at most once, with the refusal.
  Writer(storage::Sink& sink, std::function<void(bool healthy)> on_health,
         std::function<void(const absl::Status&)> on_fatal, WriterOptions options = {},
         Metrics* metrics = nullptr);
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer();

  // Queues a unit for the next commit. After the writer stopped for good the unit is kept, never
  // written, sent or answered, until Stop.
  void Submit(Unit unit);

  // False while commits are failing, and for good once a refusal stopped the writer.
  bool healthy() const { return healthy_.load(); }

  // True once a refusal stopped the writer for good (failure() is not OK): what the daemon would
  // send without waiting for a commit must not go out either.
  bool stopped_for_good() const { return stopped_for_good_.load(); }

  // OK, or the refusal that stopped the writer for good.
  absl::Status failure() const;

  // Writes what is queued (retrying a failing store until `patience` runs out), then stops the
  // thread. Units that could not be written are dropped, with an error logged: they were never
  // acknowledged. After a refusal it writes nothing and returns at once. Idempotent.
  void Stop(std::chrono::milliseconds patience);

 private:
  void Run();
  // One commit of `batch` to the sink, timed.
  [[nodiscard]] absl::Status Commit(const storage::Batch& batch);
  // The sink's work left due by commits (a WAL checkpoint), after a batch is answered or once
  // the writer has been quiet; a failure is logged once until one succeeds.
  void Checkpoint(storage::Sink::Moment moment);
  // The sink's lock-wait hook, on the writer thread (inside Commit, or an answer's write): runs
  // the sends of the batch being committed (committing_sends_, if any) and of the units queued
  // since, leaving their rows and answers queued.
  void SendWhileWaiting();
  // Reports a refusal retrying cannot mend; `batch` is what it refused.
  void StopForGood(const absl::Status& status, const Unit& batch);
  // Appends `from` to `into`.
  static void Merge(Unit& into, Unit&& from);

  storage::Sink& sink_;
  const std::function<void(bool)> on_health_;
  const std::function<void(const absl::Status&)> on_fatal_;
  const WriterOptions options_;
  Metrics* const metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Unit> queue_;                            // Guarded by mu_.
  bool stopping_ = false;                             // Guarded by mu_.
  std::chrono::steady_clock::time_point give_up_at_;  // Guarded by mu_.
  absl::Status failure_;                              // Guarded by mu_.
  // When the unit now first in queue_ was submitted.
  std::chrono::steady_clock::time_point first_queued_at_;  // Guarded by mu_.
  std::atomic<bool> healthy_ = true;
  std::atomic<bool> stopped_for_good_ = false;
  bool checkpoint_failed_ = false;  // The writer thread's own.
  // The sends of the batch being committed, while Commit runs (else null). The writer thread's.
  std::vector<std::function<void()>>* committing_sends_ = nullptr;
  std::thread thread_;
};

}  // namespace hotline::daemon
