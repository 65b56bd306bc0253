// ReportReader: the rows reports are computed from, read through a read-only SQLite connection
// of its own, so a report never touches the daemon's one writer connection. WAL lets it read a
// consistent state of the database while the daemon writes.
//
// Rows are streamed through callbacks, one at a time, never loaded whole: a year's report holds
// one row in memory, not half a million. What a report keeps is the caller's business (the stats
// module keeps one tally per group).
//
// Errors are mapped as in storage/store.h; besides: FAILED_PRECONDITION for a database whose
// schema predates the columns reports read (version 4), CANCELLED after Interrupt().
//
// Thread-safety: one thread opens the reader and calls Read; Interrupt may be called from any
// other thread while the reader exists.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/types.h"

namespace SQLite {
class Database;
}  // namespace SQLite

namespace hotline::storage {

class ReportReader final {
 public:
  // Opens the database at `path` read-only (it must exist; nothing is created or migrated), with
  // PRAGMA query_only and the store's busy timeout.
  // Errors: UNAVAILABLE when it cannot be opened (missing file, permissions);
  // FAILED_PRECONDITION when it is not a database or its schema is older than version 4.
  static absl::StatusOr<std::unique_ptr<ReportReader>> Open(const std::string& path);

  ReportReader(const ReportReader&) = delete;
  ReportReader& operator=(const ReportReader&) = delete;
  ~ReportReader();

  using CallFn = std::function<absl::Status(const routing::CallRecord&)>;
  using PresenceFn = std::function<absl::Status(const routing::PresenceChange&)>;

  // In one read transaction, so both see the same state of the database:
  //  1. `on_call` with every recorded call whose decided time, COALESCE(answered_at, ended_at),
  //     or handling end, COALESCE(wrap_up_done_at, ended_at), is in [from, to), in no particular
  //     order. Filled: call_id, province, province_unknown, topic, priority, counsellor_id,
  //     arrived_at, answered_at, ended_at, wrap_up_done_at, outcome, and the disposition's
  //     category, action and flags. Never read: caller key, masked number, note.
  //  2. `on_presence` with, for each counsellor (in id order), their last change before `from`
  //     (if any), so their state at `from` is known, then their changes in [from, to), by time
  //     then insertion. Filled: counsellor_id, state, at.
  // An empty `on_presence` skips step 2. Stops at the first error a callback returns and
  // returns it unchanged.
  // REQUIRES: from < to.
  [[nodiscard]] absl::Status Read(routing::Timestamp from, routing::Timestamp to,
                                  const CallFn& on_call, const PresenceFn& on_presence);

  // One counsellor's own figures since `from` (desk.proto ShiftFigures), in one read
  // transaction: the offers to them that ended, by result, and the calls they answered whose
  // handling ended, COALESCE(wrap_up_done_at, ended_at) >= from. Both by index seeks on the
  // counsellor. REQUIRES: the schema of migration 6 (late_disposition_at), as the daemon's
  // own database has.
  struct ShiftCounts {
    int offers = 0;
    int accepted = 0;
    int declined = 0;
    int missed = 0;
    int calls = 0;
    int64_t talk_ms = 0;
    int heavy = 0;
    int without_disposition = 0;
    int late = 0;
  };
  [[nodiscard]] absl::StatusOr<ShiftCounts> ReadShift(const std::string& counsellor_id,
                                                      routing::Timestamp from);

  // Makes a Read in progress (or the next one) stop soon with CANCELLED. Any thread.
  void Interrupt();

 private:
  explicit ReportReader(std::unique_ptr<SQLite::Database> db);
  [[nodiscard]] absl::Status ReadCalls(int64_t from_ms, int64_t to_ms, const CallFn& on_call);
  [[nodiscard]] absl::Status ReadPresence(int64_t from_ms, int64_t to_ms,
                                          const PresenceFn& on_presence);
  [[nodiscard]] absl::Status CheckInterrupted() const;

  std::unique_ptr<SQLite::Database> db_;
  std::atomic<bool> interrupted_{false};
};

}  // namespace hotline::storage
