#include "storage/sqlite_support.h"

#include <SQLiteCpp/Exception.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <cstring>

namespace hotline::storage {
namespace {

// A full disk (ENOSPC), a full quota (EDQUOT) or a file size limit (EFBIG, RLIMIT_FSIZE) is the
// same condition to an operator; SQLite reports only ENOSPC as SQLITE_FULL and the others as a
// plain I/O error.
bool IsOutOfSpace(int system_errno) {
  return system_errno == ENOSPC || system_errno == EDQUOT || system_errno == EFBIG;
}

absl::StatusCode CodeFor(const SQLite::Exception& e, int system_errno) {
  const int code = e.getErrorCode();
  if (code < 0) {
    return absl::StatusCode::kInternal;  // SQLiteCpp's own error, not SQLite's.
  }
  switch (code & 0xff) {  // The primary result code, in case extended codes are on.
    case SQLITE_IOERR:
      return IsOutOfSpace(system_errno) ? absl::StatusCode::kResourceExhausted
                                        : absl::StatusCode::kUnavailable;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_CORRUPT:
      return absl::StatusCode::kDataLoss;
    case SQLITE_NOTADB:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_CONSTRAINT: {
      const int extended = e.getExtendedErrorCode();
      if (extended == SQLITE_CONSTRAINT_PRIMARYKEY || extended == SQLITE_CONSTRAINT_UNIQUE) {
        return absl::StatusCode::kAlreadyExists;
      }
      return absl::StatusCode::kInternal;
    }
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

// The errno of the system call behind SQLite's last I/O error, or 0 if unknown. SQLite 3.40 does
// not record it for an error while committing (sqlite3_system_errno() stays 0 for a WAL write
// that failed with EFBIG or ENOSPC), so `thread_errno`, the errno captured right after the
// failure, stands in: a failed system call sets errno, and callers clear it before they start.
int SystemErrno(sqlite3* db, int thread_errno) {
  const int recorded = db != nullptr ? sqlite3_system_errno(db) : 0;
  return recorded != 0 ? recorded : thread_errno;
}

// The Status for an exception thrown while doing `operation` on the database at `path`.
// `system_errno` is SystemErrno() at the failure, used only for an I/O error.
absl::Status StatusFor(const std::exception& e, int system_errno, std::string_view path,
                       std::string_view operation) {
  const auto* sqlite = dynamic_cast<const SQLite::Exception*>(&e);
  if (sqlite == nullptr) {
    return absl::InternalError(fmt::format("{} (database '{}'): {}", operation, path, e.what()));
  }
  const bool io_error =
      sqlite->getErrorCode() >= 0 && (sqlite->getErrorCode() & 0xff) == SQLITE_IOERR;
  // "disk I/O error" alone does not tell an operator what to fix.
  const std::string system =
      io_error && system_errno != 0
          ? fmt::format(" ({}, errno {})", std::strerror(system_errno), system_errno)
          : "";
  return {CodeFor(*sqlite, system_errno),
          fmt::format("{} (database '{}'): {}{}", operation, path, e.what(), system)};
}

absl::StatusOr<std::optional<std::string>> ReadKeyFingerprint(SQLite::Database& db,
                                                              std::string_view table,
                                                              std::string_view key) {
  return Guard(db.getHandle(), db.getFilename(), fmt::format("reading the {}'s fingerprint", key),
               [&]() -> absl::StatusOr<std::optional<std::string>> {
                 SQLite::Statement s(db, fmt::format("SELECT fingerprint FROM {}", table));
                 if (!s.executeStep()) {
                   return std::nullopt;
                 }
                 return s.getColumn(0).getString();
               });
}

absl::Status RecordKeyFingerprint(SQLite::Database& db, std::string_view table,
                                  std::string_view key, const std::string& fingerprint) {
  if (fingerprint.empty()) {
    return absl::InvalidArgumentError(fmt::format("the {}'s fingerprint is empty", key));
  }
  return Guard(db.getHandle(), db.getFilename(), fmt::format("recording the {}'s fingerprint", key),
               [&]() -> absl::Status {
                 SQLite::Statement s(
                     db, fmt::format("INSERT OR IGNORE INTO {} (id, fingerprint, recorded_at) "
                                     "VALUES (1, :f, {})",
                                     table, kNowMillisSql));
                 s.bind(":f", fingerprint);
                 if (s.exec() == 0) {
                   return absl::AlreadyExistsError(fmt::format(
                       "a {} fingerprint is recorded already; it is never replaced", key));
                 }
                 return absl::OkStatus();
               });
}

}  // namespace hotline::storage
