// The files hotlined keeps children's data in (DESIGN.md §6): the database with its -wal and -shm
// (the journal and the snapshots are inside it), the database's lock file, and the caller key.
// Each is 0600; a directory hotlined creates for them is 0700. The caller key lives apart from
// the database, which records the key's fingerprint so that another key, or none, is refused at
// start instead of silently breaking every repeat-caller link and never-route rule.
//
// Files that exist with wider modes are made 0600, with a warning naming them. Directories that
// exist are never changed (other things may live in them); one open to other users is named in a
// warning.
//
// Not thread-safe: called while the daemon starts, before its other threads exist.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/callback_key.h"
#include "daemon/caller_key.h"
#include "daemon/config.h"
#include "storage/store.h"

namespace hotline::daemon {

// Before the database is locked or opened: creates the missing directories of the database and
// of the caller key (0700), makes the existing database files and key file 0600, and creates the
// database file empty and 0600 when it does not exist. SQLite gives the -wal and -shm it creates
// the database file's mode, so they are 0600 too. Nothing is done for a ":memory:" database.
// Errors: UNAVAILABLE when a directory cannot be created or a file made private (naming it);
// FAILED_PRECONDITION when a directory of the data is a file.
[[nodiscard]] absl::Status PrepareDataFiles(const Config& config);

// The caller key of config.caller_key_file, checked against the fingerprint `store` recorded.
// A database with no fingerprint and no caller keys (a new one) gets the key, created (0600)
// when the file does not exist, and its fingerprint. A database from before the fingerprint
// (schema version 7) adopts the key file that exists.
// Errors: FAILED_PRECONDITION, saying what to do, when the key file is missing but the database
// holds caller keys or a fingerprint, or when the key is not the one the database recorded;
// INVALID_ARGUMENT for a key file of the wrong size; UNAVAILABLE for I/O and database errors.
absl::StatusOr<std::unique_ptr<CallerKeyer>> OpenCallerKey(const Config& config,
                                                           storage::Store& store);

// The callback key of CallbackKeyFile(config), checked like the caller key against the
// fingerprint `store` recorded. Created (0600) when the file does not exist and the database
// recorded no fingerprint and holds no sealed number; FAILED_PRECONDITION, saying what to do,
// when it is missing but the database needs it, or is another key; INVALID_ARGUMENT for a file
// of the wrong size; UNAVAILABLE for I/O and database errors.
absl::StatusOr<std::unique_ptr<CallbackSealer>> OpenCallbackKey(const Config& config,
                                                                storage::Store& store);

// FAILED_PRECONDITION when the database file at `path` has more than one name (hard links),
// saying which name to keep and how to find the others; OK for one name, or no file. `database`
// is the name as configured, quoted in the message. Another name has a lock file of its own, so
// a second daemon under it would run beside this one; and SQLite keeps the WAL beside the name
// it opened, so a daemon started under another name after a crash would not see what the first
// committed to its WAL (a black-box check lost three counsellors so). SQLite's documentation
// forbids hard links to a database. Refused at start (the database's lock), and looked for again
// at each retention run while the daemon runs. Only stat(2)s: callable from any thread.
absl::Status OneNameOnly(const std::string& path, const std::string& database);

}  // namespace hotline::daemon
