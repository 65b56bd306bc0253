// What Hotline keeps of children's data beyond call rows, and how it is let go (docs/privacy.md):
// the rows of pending callbacks (the caller's number sealed by the daemon, opaque here), the
// audit of who viewed or exported what, and the retention cut that anonymises and deletes rows
// past their periods. The Store methods that read and write these are declared in store.h.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "storage/batch.h"

namespace hotline::storage {

// A call that ended needing a callback, as listed to supervisors: never the number.
struct PendingCallback {
  int64_t id = 0;  // the row's id: what reveal and done name
  std::string call_id;
  std::string gateway_id;
  std::string caller_masked;  // "**********67"
  std::string outcome;        // "timed_out" | "callback_requested"
  int64_t arrived_at_ms = 0;
  int64_t ended_at_ms = 0;

  bool operator==(const PendingCallback&) const = default;
};

// One audited view or export.
struct AuditRow {
  int64_t at_ms = 0;
  std::string role;       // "supervisor", "admin", "counsellor", "web"; non-empty
  std::string principal;  // who; non-empty
  std::string action;     // what was done; non-empty
  std::string subject;    // what it was done to; may be empty
  int64_t id = 0;         // set when read back; ignored on write

  bool operator==(const AuditRow&) const = default;
};

// What a retention run removes: everything strictly older than each time (Unix milliseconds);
// nullopt keeps that kind forever.
struct RetentionCut {
  // calls.caller_key and caller_masked cleared (the row stays for statistics), by answered_at,
  // or arrived_at for a call never answered.
  std::optional<int64_t> callers_before_ms;
  // calls.note cleared, by arrived_at (the category, action and flags stay for statistics).
  std::optional<int64_t> notes_before_ms;
  // callbacks deleted: pending and done ones by ended_at, and live ones (a call that never ended)
  // by arrived_at.
  std::optional<int64_t> callbacks_before_ms;
  // audit rows deleted, by at.
  std::optional<int64_t> audit_before_ms;
  // offers (by offered_at) and presence (by at) rows deleted.
  std::optional<int64_t> history_before_ms;
};

// How many rows a retention run changed.
struct RetentionCounts {
  int64_t callers_anonymised = 0;
  // Notes, and the words of supervisors' end-call reasons.
  int64_t notes_cleared = 0;
  int64_t callbacks_deleted = 0;
  int64_t audit_deleted = 0;
  int64_t offers_deleted = 0;
  int64_t presence_deleted = 0;
  // Whether the WAL was emptied afterwards. False while another connection (a backup, a report)
  // holds a read transaction: the old page images then stay in the WAL, and the database file
  // keeps the old values, until a later run empties it (the run does not wait for the reader).
  bool wal_emptied = true;

  bool operator==(const RetentionCounts&) const = default;
};

// INVALID_ARGUMENT for a change that names no call, a held number with an empty sealed form, or
// an outcome that is neither empty, "timed_out" nor "callback_requested".
absl::Status CheckCallbackChange(const CallbackChange& change);

// INVALID_ARGUMENT for an audit row with an empty role, principal or action.
absl::Status CheckAuditRow(const AuditRow& row);

}  // namespace hotline::storage
