// ReportThread: the thread reports run on, one at a time, away from the engine thread and the
// journal writer's. Each job gets a fresh read-only connection to the database
// (storage::ReportReader), so a report reads a consistent state while the daemon writes.
//
// The bound: one report at a time. A caller claims the one place (TryClaim) before it starts
// the work that leads to a job, so a second report is refused at once instead of queueing
// behind a year-long one; the place is free again when the job is over.
//
// Thread-safety: every method may be called from any thread; jobs run on the report thread.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "storage/report_rows.h"

namespace hotline::daemon {

class ReportThread final {
 public:
  // How a job answers its RPC.
  using Reply = std::function<void()>;
  // Reads through `reader` and returns its reply; runs on the report thread. The reply is sent
  // once the place is free again (and the connection closed), so a client that asks for its
  // next report as soon as it has this one's is not refused.
  using Job = std::function<Reply(storage::ReportReader& reader)>;
  // Fails the job's RPC with `why` instead: UNAVAILABLE once stopping, or the reason the
  // database could not be opened (FAILED_PRECONDITION for an in-memory database: reports read
  // the file).
  using Refuse = std::function<void(const absl::Status& why)>;

  // Starts the thread. `database` is the daemon's database file.
  explicit ReportThread(std::string database);
  ReportThread(const ReportThread&) = delete;
  ReportThread& operator=(const ReportThread&) = delete;
  // Stops.
  ~ReportThread();

  // Takes the one place for a report: false while another report holds it. Every true must be
  // followed by exactly one Submit, which frees the place before the job's reply or refusal.
  [[nodiscard]] bool TryClaim();

  // Runs `job` on the report thread, or, once stopping, calls `refuse` at once on this thread.
  // REQUIRES: the place is claimed.
  void Submit(Job job, Refuse refuse);

  // Refuses the job not yet started, interrupts the running one (its read then fails with
  // CANCELLED) and joins the thread. Idempotent. From a job, it does not wait for itself: the
  // thread ends after the job, and a later Stop (the destructor's) joins it.
  void Stop();

 private:
  struct Pending {
    Job job;
    Refuse refuse;
  };

  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();
  // Runs the job; returns its reply, or the refusal.
  Reply Run(Pending& next);

  const std::string database_;
  std::atomic<bool> claimed_{false};
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Pending> pending_ ABSL_GUARDED_BY(mu_);
  // The reader of the running job, so Stop can interrupt it.
  storage::ReportReader* reader_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Last: starts once the rest exists.
  std::thread thread_;
};

}  // namespace hotline::daemon
