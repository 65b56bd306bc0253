#include "daemon/writer.h"

#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace hotline::daemon {

namespace {

template <class T>
void Append(std::vector<T>& into, std::vector<T>&& from) {
  into.insert(into.end(), std::make_move_iterator(from.begin()),
              std::make_move_iterator(from.end()));
}

}  // namespace

bool Writer::IsTransient(const absl::Status& status) {
  return status.code() == absl::StatusCode::kResourceExhausted ||
         status.code() == absl::StatusCode::kUnavailable;
}

Writer::Writer(storage::Sink& sink, std::function<void(bool healthy)> on_health,
               std::function<void(const absl::Status&)> on_fatal, WriterOptions options,
               Metrics* metrics)
    : sink_(sink),
      on_health_(std::move(on_health)),
      on_fatal_(std::move(on_fatal)),
      options_(options),
      metrics_(metrics),
      thread_([this] {
        pthread_setname_np(pthread_self(), "hl-writer");  // For top -H, perf and the benchmarks.
        // Here, on the thread that commits: the sink runs the hook only on this thread.
        sink_.SetLockWaitHook([this] { SendWhileWaiting(); });
        Run();
        sink_.SetLockWaitHook(nullptr);
      }) {}

Writer::~Writer() { Stop(std::chrono::milliseconds(0)); }

void Writer::Submit(Unit unit) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(unit));
    if (queue_.size() == 1) {
      first_queued_at_ = std::chrono::steady_clock::now();
    }
    // The writer waits for the first unit, or (gathering) for gather_units of them: a unit in
    // between would only wake it to wait again.
    wake = queue_.size() == 1 || queue_.size() >= options_.gather_units;
  }
  if (wake) {
    cv_.notify_one();
  }
}

absl::Status Writer::failure() const {
  std::lock_guard lock(mu_);
  return failure_;
}

void Writer::Stop(std::chrono::milliseconds patience) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      give_up_at_ = std::chrono::steady_clock::now() + patience;
    }
  }
  cv_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Writer::StopForGood(const absl::Status& status, const Unit& batch) {
  spdlog::critical(
      "journal commit refused, and retrying cannot mend it: {}. The journal writer stops: nothing "
      "more is written, sent or acknowledged, starting with this batch ({} journal records, {} "
      "answers); restart hotlined to recover from the journal",
      status.ToString(), batch.batch.journal.size(), batch.answers.size());
  {
    std::lock_guard lock(mu_);
    failure_ = status;
  }
  stopped_for_good_ = true;
  if (healthy_.exchange(false)) {
    on_health_(false);
  }
  if (on_fatal_) {
    on_fatal_(status);
  }
}

absl::Status Writer::Commit(const storage::Batch& batch) {
  // The real clock, whatever time source the daemon runs on: this is the disk's speed, not the
  // engine's time.
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = sink_.Commit(batch);
  if (metrics_ != nullptr) {
    metrics_->ObserveCommit(std::chrono::steady_clock::now() - start);
  }
  return status;
}

void Writer::SendWhileWaiting() {
  std::vector<std::function<void()>> sends;
  if (committing_sends_ != nullptr) {
    sends = std::exchange(*committing_sends_, {});
  }
  {
    std::lock_guard lock(mu_);
    for (Unit& unit : queue_) {
      Append(sends, std::exchange(unit.sends, {}));
    }
  }
  // Outside the lock: the engine thread's Submit never waits for a send.
  for (auto& send : sends) {
    send();
  }
}

void Writer::Merge(Unit& into, Unit&& from) {
  if (from.batch.snapshot) {
    into.encode_snapshot = std::move(from.encode_snapshot);  // Its snapshot replaces ours.
  }
  into.batch.Absorb(std::move(from.batch));
  Append(into.sends, std::move(from.sends));
  Append(into.answers, std::move(from.answers));
}

void Writer::Checkpoint(storage::Sink::Moment moment) {
  const auto start = std::chrono::steady_clock::now();
  const absl::StatusOr<bool> ran = sink_.CheckpointIfDue(moment);
  if (ran.ok()) {
    if (*ran && metrics_ != nullptr) {
      metrics_->ObserveCheckpoint(std::chrono::steady_clock::now() - start);
    }
    if (*ran && std::exchange(checkpoint_failed_, false)) {
      spdlog::info("the WAL checkpoint succeeds again");
    }
    return;
  }
  // Once per failure, not once per commit: the next commit's own errors are the ones that
  // hold acknowledgements, and the frames stay in the WAL until a checkpoint succeeds.
  if (!std::exchange(checkpoint_failed_, true)) {
    spdlog::warn("the WAL checkpoint failed (retried after each commit; nothing is lost): {}",
                 ran.status().ToString());
  }
}

void Writer::Run() {
  Unit batch;
  std::chrono::milliseconds retry = options_.first_retry;
  auto next_retry = std::chrono::steady_clock::now();
  absl::StatusCode last_fault = absl::StatusCode::kOk;
  // A snapshot was encoded into the batch: once it is committed (after retries, if any), its
  // memory is given back.
  bool trim_after_commit = false;
  // Set by each batch answered: once nothing more comes for quiet_checkpoint_after (until
  // quiet_at), the sink gets its quiet moment (Checkpoint(kQuiet)), once.
  bool quiet_due = false;
  auto quiet_at = std::chrono::steady_clock::now();
  // How many units the batch being written has merged, and the last one answered: two or more,
  // and the next batch is gathered (WriterOptions::gather_for), unless its first unit came after
  // quiet_at.
  size_t batch_units = 0;
  size_t last_units = 0;
  for (;;) {
    bool stopping = false;
    bool quiet = false;
    {
      std::unique_lock lock(mu_);
      if (batch.empty() && quiet_due) {
        quiet = !cv_.wait_until(lock, quiet_at, [&] { return stopping_ || !queue_.empty(); });
      } else if (batch.empty()) {
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      } else {
        // A failed batch: retry at next_retry, but take whatever arrives meanwhile.
        cv_.wait_until(lock, next_retry, [&] { return stopping_ || !queue_.empty(); });
      }
      if (batch.empty() && !queue_.empty() && last_units >= 2 && first_queued_at_ < quiet_at &&
          options_.gather_for.count() > 0) {
        cv_.wait_until(lock, first_queued_at_ + options_.gather_for,
                       [&] { return stopping_ || queue_.size() >= options_.gather_units; });
      }
      batch_units += queue_.size();
      while (!queue_.empty()) {
        Merge(batch, std::move(queue_.front()));
        queue_.pop_front();
      }
      stopping = stopping_;
      if (stopping && !batch.empty() && last_fault != absl::StatusCode::kOk &&
          std::chrono::steady_clock::now() >= give_up_at_) {
        spdlog::error(
            "shutting down with {} journal records and {} answers unwritten: the "
            "store still fails; none of them was acknowledged",
            batch.batch.journal.size(), batch.answers.size());
        return;
      }
    }
    if (batch.empty()) {
      batch_units = 0;
      if (stopping) {
        return;
      }
      if (quiet) {
        quiet_due = false;
        Checkpoint(storage::Sink::Moment::kQuiet);
      }
      continue;
    }
    if (!healthy_) {
      // The store is failing: what the engine decided goes out now; answers stay held.
      for (auto& send : std::exchange(batch.sends, {})) {
        send();
      }
      if (std::chrono::steady_clock::now() < next_retry && !stopping) {
        continue;
      }
    }
    // A unit may carry only answers (a repeat, a read): nothing to write, no transaction.
    if (batch.encode_snapshot) {
      trim_after_commit = true;
      // Here, not on the engine thread: the encoding of a large state takes milliseconds.
      batch.batch.snapshot->state = batch.encode_snapshot();
      batch.encode_snapshot = nullptr;
    }
    committing_sends_ = &batch.sends;
    const absl::Status status = batch.batch.empty() ? absl::OkStatus() : Commit(batch.batch);
    committing_sends_ = nullptr;
    if (!status.ok() && !IsTransient(status)) {
      StopForGood(status, batch);
      // Hold the refused batch and every unit submitted after it, unwritten and unanswered, until
      // Stop: their closures hold RPCs, which the daemon's shutdown ends with its own status.
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_; });
      if (!queue_.empty()) {
        spdlog::error("{} units submitted after the refusal were never written or acknowledged",
                      queue_.size());
      }
      return;
    }
    if (!status.ok()) {
      // Once per fault, not once per retry: the log must stay readable while the disk is full.
      if (status.code() != last_fault) {
        spdlog::error("journal commit failed, holding acknowledgements until it succeeds: {}",
                      status.ToString());
        last_fault = status.code();
      }
      if (healthy_.exchange(false)) {
        on_health_(false);
      }
      for (auto& send : std::exchange(batch.sends, {})) {
        send();
      }
      next_retry = std::chrono::steady_clock::now() + retry;
      retry = std::min(retry * 2, options_.longest_retry);
      continue;
    }
    if (last_fault != absl::StatusCode::kOk) {
      spdlog::info("journal commits succeed again; acknowledging what was held");
      last_fault = absl::StatusCode::kOk;
    }
    if (!healthy_.exchange(true)) {
      on_health_(true);
    }
    retry = options_.first_retry;
    for (auto& send : batch.sends) {
      send();
    }
    for (auto& answer : batch.answers) {
      answer();
    }
    batch = Unit();
    last_units = std::exchange(batch_units, 0);
    // After the answers: no acknowledgement waits for a checkpoint (storage::Store).
    Checkpoint(storage::Sink::Moment::kAfterAnswers);
    if (std::exchange(trim_after_commit, false)) {
      // The snapshot's copy of the live state and its bytes (about 2 KB per waiting call) were
      // allocated among the live calls' own and are freed by now; without this the allocator
      // kept up to 1.6 KB per waiting call of them (docs/performance.md, "A snapshot's peak").
      // It takes about 1 ms, and 9 ms with 80,000 waiting calls, once per snapshot.
      malloc_trim(0);
    }
    quiet_due = true;
    quiet_at = std::chrono::steady_clock::now() + options_.quiet_checkpoint_after;
  }
}

}  // namespace hotline::daemon
