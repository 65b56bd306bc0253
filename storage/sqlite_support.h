// What storage's SQLite code shares, internal to storage/ (included only by its .cc files, never
// by a public header: no SQLite type leaves the module): the mapping of SQLite's exceptions to
// absl::Status (the table is in storage/store.h), Guard at the module edge, and RowReader for the
// columns of a result row.
//
// Thread-safety: pure functions and a reader over one statement of the caller's.
#pragma once

#include <SQLiteCpp/Column.h>
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/types.h"
#include "storage/names.h"

struct sqlite3;

namespace hotline::storage {

// How long a connection waits for a lock another connection holds.
inline constexpr int kBusyTimeoutMs = 5000;

// Thrown while reading a row whose stored value this build cannot parse; caught in Guard like the
// SQLite exceptions, so the parsing code can stay linear.
class CorruptValue : public std::runtime_error {
 public:
  CorruptValue(std::string_view table, std::string_view column, std::string_view value)
      : std::runtime_error(
            fmt::format("corrupt value '{}' in column {}.{}", value, table, column)) {}
};

// The errno of the system call behind SQLite's last I/O error, or 0 if unknown (see the .cc).
int SystemErrno(sqlite3* db, int thread_errno);

// The Status for an exception thrown while doing `operation` on the database at `path`.
// `system_errno` is SystemErrno() at the failure, used only for an I/O error.
absl::Status StatusFor(const std::exception& e, int system_errno, std::string_view path,
                       std::string_view operation);

// The module edge: runs `body` and turns any exception into a Status that names the operation
// and the database, so no exception leaves storage. `db` is the connection, null before there is
// one.
template <typename F>
auto Guard(sqlite3* db, std::string_view path, std::string_view operation, F&& body)
    -> decltype(body()) {
  errno = 0;  // So the errno seen after a failure is the failure's (see SystemErrno).
  try {
    return body();
  } catch (const std::exception& e) {
    return StatusFor(e, SystemErrno(db, errno), path, operation);
  }
}

// The name of a statement's parameter, as a constant: NamedStatement remembers a name's index by
// the address of its text, so only text that never changes may name one (a string literal).
struct ParameterName {
  // NOLINTNEXTLINE(google-explicit-constructor): written as a string literal at every bind.
  consteval ParameterName(const char* name) : text(name) {}
  const char* text;
};

// A statement prepared once and bound by parameter name many times, without SQLite's search of
// the names at every bind (sqlite3_bind_parameter_index compares the name with each parameter's
// in turn: 11 % of the instructions of a commit of whole calls). Each name's index is looked up
// once and kept by the address of its text; as the binds of a row come in the same order every
// time, the next one is tried first.
class NamedStatement final : public SQLite::Statement {
 public:
  NamedStatement(SQLite::Database& db, const std::string& sql) : SQLite::Statement(db, sql) {}

  // As SQLite::Statement's bind by name, with the same values (none binds NULL). A name the SQL
  // does not have throws SQLite::Exception, as there.
  template <typename... Value>
  void bind(ParameterName name, Value&&... value) {
    SQLite::Statement::bind(Index(name), std::forward<Value>(value)...);
  }
  template <typename... Value>
  void bindNoCopy(ParameterName name, Value&&... value) {
    SQLite::Statement::bindNoCopy(Index(name), std::forward<Value>(value)...);
  }

 private:
  int Index(ParameterName name) {
    if (next_ < known_.size() && known_[next_].first == name.text) {
      return known_[next_++].second;
    }
    for (std::size_t i = 0; i < known_.size(); ++i) {
      if (known_[i].first == name.text) {
        next_ = i + 1;
        return known_[i].second;
      }
    }
    // 0 for a name the SQL lacks: binding index 0 then throws (SQLITE_RANGE), as by name.
    const int index = getIndex(name.text);
    if (index != 0) {
      known_.emplace_back(name.text, index);  // At most one per literal that names a parameter.
      next_ = known_.size();
    }
    return index;
  }

  std::vector<std::pair<const char*, int>> known_;
  std::size_t next_ = 0;
};

// Leaves a reused statement ready for its next use whatever happens in between: after a failed
// step SQLite keeps the statement in its error state until it is reset. `Statement` is
// SQLite::Statement or NamedStatement.
template <typename Statement>
class StatementUse final {
 public:
  // The bindings are clear already: every use clears them as it ends.
  explicit StatementUse(Statement& statement) : statement_(statement) { statement_.tryReset(); }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  // Blobs are bound without a copy, so the bindings are cleared too: no pointer into a caller's
  // string outlives the use.
  ~StatementUse() {
    statement_.tryReset();
    try {
      statement_.clearBindings();
    } catch (const SQLite::Exception&) {
      // sqlite3_clear_bindings() cannot fail on a valid statement.
    }
  }

  Statement& operator*() { return statement_; }

 private:
  Statement& statement_;
};

// Deleted rows' bytes are zeroed in the file while it is on; SQLite's default leaves them in
// free pages until reused. Off again after, so the journal's own deletes cost no extra writes.
class SecureDelete final {
 public:
  explicit SecureDelete(SQLite::Database& db) : db_(db) { db_.exec("PRAGMA secure_delete = ON"); }
  SecureDelete(const SecureDelete&) = delete;
  SecureDelete& operator=(const SecureDelete&) = delete;
  ~SecureDelete() {
    try {
      db_.exec("PRAGMA secure_delete = FAST");
    } catch (const SQLite::Exception&) {
      // Only the cost of later deletes depends on it.
    }
  }

 private:
  SQLite::Database& db_;
};

// Reads columns of the current row of `s`, reporting values it cannot use as corrupt `table`.
class RowReader final {
 public:
  RowReader(const SQLite::Statement& s, std::string_view table) : s_(s), table_(table) {}

  std::optional<std::string> OptionalText(const char* column) const {
    const SQLite::Column c = s_.getColumn(column);
    if (c.isNull()) {
      return std::nullopt;
    }
    return c.getString();
  }

  // A NOT NULL text column.
  std::string Text(const char* column) const {
    std::optional<std::string> value = OptionalText(column);
    if (!value) {
      throw CorruptValue(table_, column, "NULL");
    }
    return *std::move(value);
  }

  // A nullable text column where NULL means "none", which the domain spells "".
  std::string TextOrEmpty(const char* column) const { return OptionalText(column).value_or(""); }

  std::optional<int64_t> OptionalInt(const char* column) const {
    const SQLite::Column c = s_.getColumn(column);
    if (c.isNull()) {
      return std::nullopt;
    }
    return c.getInt64();
  }

  int64_t Int(const char* column) const {
    std::optional<int64_t> value = OptionalInt(column);
    if (!value) {
      throw CorruptValue(table_, column, "NULL");
    }
    return *value;
  }

  int SmallInt(const char* column) const {
    const int64_t value = Int(column);
    if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
      throw CorruptValue(table_, column, std::to_string(value));
    }
    return static_cast<int>(value);
  }

  routing::Timestamp Time(const char* column) const { return routing::FromUnixMillis(Int(column)); }

  std::optional<routing::Timestamp> OptionalTime(const char* column) const {
    std::optional<int64_t> ms = OptionalInt(column);
    if (!ms) {
      return std::nullopt;
    }
    return routing::FromUnixMillis(*ms);
  }

  // An enum stored as its Name(); `parse` is one of storage/names.h.
  template <typename E>
  E Enum(const char* column, std::optional<E> (*parse)(std::string_view)) const {
    const std::string name = Text(column);
    std::optional<E> value = parse(name);
    if (!value) {
      throw CorruptValue(table_, column, name);
    }
    return *value;
  }

  std::vector<std::string> List(const char* column) const {
    const std::string joined = Text(column);
    std::vector<std::string> items;
    if (joined.empty()) {
      return items;
    }
    std::string_view rest = joined;
    while (true) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      if (item.empty()) {
        throw CorruptValue(table_, column, joined);
      }
      items.emplace_back(item);
      if (comma == std::string_view::npos) {
        return items;
      }
      rest.remove_prefix(comma + 1);
    }
  }

  std::map<routing::Topic, int> Skills(const char* column) const {
    std::map<routing::Topic, int> skills;
    for (const std::string& item : List(column)) {
      const std::size_t colon = item.find(':');
      if (colon == std::string::npos) {
        throw CorruptValue(table_, column, item);
      }
      const std::optional<routing::Topic> topic =
          ParseTopic(std::string_view(item).substr(0, colon));
      int level = 0;
      const char* first = item.data() + colon + 1;
      const char* last = item.data() + item.size();
      const auto [end, error] = std::from_chars(first, last, level);
      if (!topic || error != std::errc() || end != last || first == last ||
          !skills.emplace(*topic, level).second) {
        throw CorruptValue(table_, column, item);
      }
    }
    return skills;
  }

 private:
  const SQLite::Statement& s_;
  std::string_view table_;
};

// Milliseconds since the Unix epoch, in SQL. julianday() keeps the milliseconds that
// strftime('%s') drops, and SQLite 3.40 has no unixepoch('subsec').
inline constexpr std::string_view kNowMillisSql =
    "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";

// A key's fingerprint in its one-row table (`caller_key`, `callback_key`: id 1, fingerprint,
// recorded_at), or nullopt if none was recorded. `key` names the key in errors ("caller key").
absl::StatusOr<std::optional<std::string>> ReadKeyFingerprint(SQLite::Database& db,
                                                              std::string_view table,
                                                              std::string_view key);

// Records it once. Errors: ALREADY_EXISTS if one is recorded (it is never replaced);
// INVALID_ARGUMENT if `fingerprint` is empty.
absl::Status RecordKeyFingerprint(SQLite::Database& db, std::string_view table,
                                  std::string_view key, const std::string& fingerprint);

}  // namespace hotline::storage
