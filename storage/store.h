// The daemon's SQLite database: call records, counsellor presence history and counsellor
// profiles, behind one Store that owns the connection.
//
// Store owns its one SQLite connection (DESIGN §5: one writer connection) and the prepared
// statements it reuses. Times are stored as INTEGER Unix milliseconds and enums as their lowercase
// routing::Name() strings, so reports read `outcome = 'abandoned'`. The schema lives in numbered
// migrations (storage/migrations.h) tracked by `PRAGMA user_version`.
//
// No exception leaves this module: every SQLite error becomes an absl::Status. The mapping:
//   UNAVAILABLE         the file cannot be opened, read or written now (missing directory,
//                       permissions, I/O error, database busy past the 5 s busy timeout);
//   RESOURCE_EXHAUSTED  the disk or the database is full;
//   DATA_LOSS           SQLite reports the file corrupt;
//   FAILED_PRECONDITION the file is not a SQLite database, or its schema is newer than this build;
//   INTERNAL            anything else, including a stored value this build cannot parse
//                       ("corrupt value ... in column ...").
// Messages carry SQLite's own message and the database path.
//
// Thread-safety: not thread-safe. One owner thread (the daemon's engine thread) creates the Store
// and makes every call on it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/types.h"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace hotline::storage {

// A counsellor as stored: the profile plus the hash of their desk token.
struct StoredCounsellor {
  routing::CounsellorProfile profile;
  // Hex hash of the desk token; never the token itself.
  std::string token_hash;

  bool operator==(const StoredCounsellor&) const = default;
};

// Owns the SQLite database. Not thread-safe: one owner thread (the daemon's engine thread) calls
// it.
class Store final {
 public:
  // Opens or creates the database at `path` (":memory:" allowed), sets journal_mode=WAL,
  // synchronous=NORMAL, foreign_keys=ON, busy_timeout 5000 ms, and applies the pending numbered
  // migrations, each in its own transaction.
  // Errors: UNAVAILABLE (cannot open, e.g. the directory does not exist) or INTERNAL, with the
  // SQLite message and the path; FAILED_PRECONDITION if the file is not a database or its schema
  // is newer than this build knows; see the file comment for the rest.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  // Writes the one row of `calls` for a finished call, with wait_ms and talk_ms derived from its
  // timestamps. An empty counsellor_id or reason is stored as NULL.
  // Errors: ALREADY_EXISTS if a row for this call_id exists (nothing is changed);
  // INVALID_ARGUMENT if call_id is empty or a disposition flag is empty or contains ','.
  [[nodiscard]] absl::Status RecordCall(const routing::CallRecord& record);

  // Appends one row of `presence`. BreakReason::kNone and an empty call_id are stored as NULL.
  // Errors: INVALID_ARGUMENT if counsellor_id is empty.
  [[nodiscard]] absl::Status RecordPresence(const routing::PresenceChange& change);

  // Adds a counsellor.
  // Errors: ALREADY_EXISTS if the id, or the token hash, is already stored; INVALID_ARGUMENT if
  // the id is empty, the token hash is not a non-empty string of lowercase hex digits, or a
  // province or language is empty or contains ','.
  [[nodiscard]] absl::Status InsertCounsellor(const StoredCounsellor& c);

  // Replaces the profile of the counsellor with id `p.id`, keeping their token hash.
  // Errors: NOT_FOUND if there is no such counsellor; INVALID_ARGUMENT as for InsertCounsellor.
  [[nodiscard]] absl::Status UpdateCounsellor(const routing::CounsellorProfile& p);

  // Deletes a counsellor. Their calls and presence history stay.
  // Errors: NOT_FOUND if there is no such counsellor.
  [[nodiscard]] absl::Status RemoveCounsellor(const std::string& counsellor_id);

  // Returns every counsellor, ordered by id.
  absl::StatusOr<std::vector<StoredCounsellor>> LoadCounsellors();

  // Returns the record of `call_id`, or nullopt if there is none.
  absl::StatusOr<std::optional<routing::CallRecord>> FindCall(const std::string& call_id);

  // Returns the presence changes of one counsellor in the order they happened (by `at`, then by
  // insertion). Empty for an unknown counsellor.
  absl::StatusOr<std::vector<routing::PresenceChange>> PresenceHistory(
      const std::string& counsellor_id);

  // The schema version after migrations: the number of migrations applied.
  int schema_version() const;

 private:
  Store(std::unique_ptr<SQLite::Database> db, int schema_version);

  // Declared first so it is destroyed last, after the statements prepared on it.
  std::unique_ptr<SQLite::Database> db_;
  int schema_version_;
  // Prepared once and reused (re-preparing per row costs about 7x).
  std::unique_ptr<SQLite::Statement> insert_call_;
  std::unique_ptr<SQLite::Statement> insert_presence_;
};

}  // namespace hotline::storage
