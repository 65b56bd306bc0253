#include "storage/store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <charconv>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/migrations.h"
#include "storage/names.h"

namespace hotline::storage {
namespace {

using routing::CallRecord;
using routing::CounsellorProfile;
using routing::PresenceChange;
using routing::Timestamp;

constexpr int kBusyTimeoutMs = 5000;

// Milliseconds since the Unix epoch, in SQL. julianday() keeps the milliseconds that
// strftime('%s') drops, and SQLite 3.40 has no unixepoch('subsec').
constexpr std::string_view kNowMillisSql =
    "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";

// Thrown while reading a row whose stored value this build cannot parse; caught in Guard like the
// SQLite exceptions, so the parsing code can stay linear.
class CorruptValue : public std::runtime_error {
 public:
  CorruptValue(std::string_view table, std::string_view column, std::string_view value)
      : std::runtime_error(
            fmt::format("corrupt value '{}' in column {}.{}", value, table, column)) {}
};

absl::StatusCode CodeFor(const SQLite::Exception& e) {
  const int code = e.getErrorCode();
  if (code < 0) {
    return absl::StatusCode::kInternal;  // SQLiteCpp's own error, not SQLite's.
  }
  switch (code & 0xff) {  // The primary result code, in case extended codes are on.
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
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

// The module edge: runs `body` and turns any exception into a Status that names the operation
// and the database, so no exception leaves storage.
template <typename F>
auto Guard(std::string_view path, std::string_view operation, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const SQLite::Exception& e) {
    return absl::Status(CodeFor(e),
                        fmt::format("{} (database '{}'): {}", operation, path, e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(fmt::format("{} (database '{}'): {}", operation, path, e.what()));
  }
}

// Leaves a reused statement ready for its next use whatever happens in between: after a failed
// step SQLite keeps the statement in its error state until it is reset.
class StatementUse final {
 public:
  explicit StatementUse(SQLite::Statement& statement) : statement_(statement) {
    statement_.tryReset();
    statement_.clearBindings();
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  ~StatementUse() { statement_.tryReset(); }

  SQLite::Statement& operator*() { return statement_; }

 private:
  SQLite::Statement& statement_;
};

// --- Writing ---------------------------------------------------------------------------------

template <typename E>
bool IsKnown(E value) {
  return routing::Name(value) != "?";
}

template <typename E>
absl::Status CheckKnown(E value, std::string_view what) {
  if (!IsKnown(value)) {
    return absl::InvalidArgumentError(
        fmt::format("{} has no known value ({})", what, static_cast<int>(value)));
  }
  return absl::OkStatus();
}

// Lists are stored comma-separated, so an item that is empty or contains a comma would not read
// back as written.
absl::Status CheckList(const std::vector<std::string>& items, std::string_view what) {
  for (const std::string& item : items) {
    if (item.empty() || item.find(',') != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("{} '{}' is empty or contains ','", what, item));
    }
  }
  return absl::OkStatus();
}

std::string Join(const std::vector<std::string>& items) {
  std::string joined;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      joined += ',';
    }
    joined += items[i];
  }
  return joined;
}

std::string JoinSkills(const std::map<routing::Topic, int>& skills) {
  std::string joined;
  for (const auto& [topic, level] : skills) {
    if (!joined.empty()) {
      joined += ',';
    }
    joined += fmt::format("{}:{}", routing::Name(topic), level);
  }
  return joined;
}

absl::Status CheckRecord(const CallRecord& r) {
  if (r.call.call_id.empty()) {
    return absl::InvalidArgumentError("call record has an empty call_id");
  }
  for (absl::Status s :
       {CheckKnown(r.call.topic, "call topic"), CheckKnown(r.call.priority, "call priority"),
        CheckKnown(r.call.gender_preference, "call gender_preference"),
        CheckKnown(r.outcome, "call outcome")}) {
    if (!s.ok()) {
      return s;
    }
  }
  if (r.disposition) {
    return CheckList(r.disposition->flags, "disposition flag");
  }
  return absl::OkStatus();
}

absl::Status CheckProfile(const CounsellorProfile& p) {
  if (p.id.empty()) {
    return absl::InvalidArgumentError("counsellor has an empty id");
  }
  if (absl::Status s = CheckKnown(p.gender, "counsellor gender"); !s.ok()) {
    return s;
  }
  for (const auto& [topic, level] : p.skills) {
    if (absl::Status s = CheckKnown(topic, "skill topic"); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = CheckList(p.provinces, "province"); !s.ok()) {
    return s;
  }
  return CheckList(p.languages, "language");
}

// A desk token must never be stored; insisting on the shape of a hex digest catches a caller that
// passes the token itself in most cases.
absl::Status CheckTokenHash(const std::string& token_hash) {
  const bool hex =
      !token_hash.empty() && token_hash.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!hex) {
    return absl::InvalidArgumentError("token_hash must be a non-empty lowercase hex digest");
  }
  return absl::OkStatus();
}

void BindName(SQLite::Statement& s, const char* parameter, std::string_view name) {
  s.bind(parameter, std::string(name));
}

// The domain uses "" for "none"; the database uses NULL so reports can say IS NULL.
void BindTextOrNull(SQLite::Statement& s, const char* parameter, const std::string& value) {
  if (value.empty()) {
    s.bind(parameter);
  } else {
    s.bind(parameter, value);
  }
}

void BindTime(SQLite::Statement& s, const char* parameter, Timestamp t) {
  s.bind(parameter, routing::ToUnixMillis(t));
}

void BindTime(SQLite::Statement& s, const char* parameter, const std::optional<Timestamp>& t) {
  if (t) {
    BindTime(s, parameter, *t);
  } else {
    s.bind(parameter);
  }
}

// Binds every profile column except token_hash and the row times.
void BindProfile(SQLite::Statement& s, const CounsellorProfile& p) {
  s.bind(":counsellor_id", p.id);
  s.bind(":display_name", p.display_name);
  s.bind(":home_province", p.home_province);
  s.bind(":provinces", Join(p.provinces));
  s.bind(":skills", JoinSkills(p.skills));
  s.bind(":languages", Join(p.languages));
  BindName(s, ":gender", routing::Name(p.gender));
  s.bind(":endpoint", p.endpoint);
}

// --- Reading ---------------------------------------------------------------------------------

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

  Timestamp Time(const char* column) const { return routing::FromUnixMillis(Int(column)); }

  std::optional<Timestamp> OptionalTime(const char* column) const {
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

CounsellorProfile ReadProfile(const RowReader& row) {
  CounsellorProfile p;
  p.id = row.Text("counsellor_id");
  p.display_name = row.Text("display_name");
  p.home_province = row.Text("home_province");
  p.provinces = row.List("provinces");
  p.skills = row.Skills("skills");
  p.languages = row.List("languages");
  p.gender = row.Enum("gender", &ParseGender);
  p.endpoint = row.Text("endpoint");
  return p;
}

// --- Migrations ------------------------------------------------------------------------------

// Applies the missing migrations, each with its user_version bump in one IMMEDIATE transaction,
// so a concurrent opener waits instead of applying the same migration twice. Returns the version.
absl::StatusOr<int> Migrate(SQLite::Database& db, const std::string& path) {
  const std::span<const std::string_view> migrations = Migrations();
  const int known = static_cast<int>(migrations.size());
  while (true) {
    SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version < 0 || version > known) {
      return absl::FailedPreconditionError(fmt::format(
          "database '{}' has schema version {}, but this build knows versions up to {}; "
          "run a newer hotlined",
          path, version, known));
    }
    if (version == known) {
      return version;  // The transaction rolls back; it wrote nothing.
    }
    db.exec(std::string(migrations[static_cast<std::size_t>(version)]));
    db.exec(fmt::format("PRAGMA user_version = {}", version + 1));
    transaction.commit();
  }
}

constexpr const char* kInsertCallSql = R"sql(
INSERT INTO calls (
  call_id, gateway_id, caller_key, caller_masked, province, language, topic, priority,
  gender_preference, arrived_at, first_offered_at, accepted_at, answered_at, ended_at,
  wrap_up_done_at, outcome, counsellor_id, wait_ms, talk_ms, offers, final_step,
  category, action, flags, heavy, note, reason)
VALUES (
  :call_id, :gateway_id, :caller_key, :caller_masked, :province, :language, :topic, :priority,
  :gender_preference, :arrived_at, :first_offered_at, :accepted_at, :answered_at, :ended_at,
  :wrap_up_done_at, :outcome, :counsellor_id, :wait_ms, :talk_ms, :offers, :final_step,
  :category, :action, :flags, :heavy, :note, :reason)
)sql";

constexpr const char* kInsertPresenceSql = R"sql(
INSERT INTO presence (counsellor_id, state, reason, call_id, at)
VALUES (:counsellor_id, :state, :reason, :call_id, :at)
)sql";

constexpr const char* kCounsellorColumns =
    "counsellor_id, display_name, home_province, provinces, skills, languages, gender, endpoint";

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  return Guard(path, "opening", [&]() -> absl::StatusOr<std::unique_ptr<Store>> {
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
                                                 kBusyTimeoutMs);
    // An in-memory database answers "memory": it has no file to keep a WAL beside.
    const std::string mode = db->execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal" && mode != "memory") {
      return absl::InternalError(
          fmt::format("database '{}' refused WAL journal mode (it stays '{}')", path, mode));
    }
    db->exec("PRAGMA synchronous = NORMAL");
    db->exec("PRAGMA foreign_keys = ON");
    absl::StatusOr<int> version = Migrate(*db, path);
    if (!version.ok()) {
      return version.status();
    }
    return std::unique_ptr<Store>(new Store(std::move(db), *version));
  });
}

// Open catches what this throws: the statements are prepared inside its Guard.
Store::Store(std::unique_ptr<SQLite::Database> db, int schema_version)
    : db_(std::move(db)),
      schema_version_(schema_version),
      insert_call_(std::make_unique<SQLite::Statement>(*db_, kInsertCallSql)),
      insert_presence_(std::make_unique<SQLite::Statement>(*db_, kInsertPresenceSql)) {}

Store::~Store() = default;

int Store::schema_version() const { return schema_version_; }

absl::Status Store::RecordCall(const CallRecord& r) {
  if (absl::Status s = CheckRecord(r); !s.ok()) {
    return s;
  }
  const std::string operation = fmt::format("recording call '{}'", r.call.call_id);
  return Guard(db_->getFilename(), operation, [&]() -> absl::Status {
    StatementUse use(*insert_call_);
    SQLite::Statement& s = *use;
    const routing::CallInfo& c = r.call;
    s.bind(":call_id", c.call_id);
    s.bind(":gateway_id", c.gateway_id);
    s.bind(":caller_key", c.caller_key);
    s.bind(":caller_masked", c.caller_masked);
    s.bind(":province", c.province);
    s.bind(":language", c.language);
    BindName(s, ":topic", routing::Name(c.topic));
    BindName(s, ":priority", routing::Name(c.priority));
    BindName(s, ":gender_preference", routing::Name(c.gender_preference));
    BindTime(s, ":arrived_at", c.arrived_at);
    BindTime(s, ":first_offered_at", r.first_offered_at);
    BindTime(s, ":accepted_at", r.accepted_at);
    BindTime(s, ":answered_at", r.answered_at);
    BindTime(s, ":ended_at", r.ended_at);
    BindTime(s, ":wrap_up_done_at", r.wrap_up_done_at);
    BindName(s, ":outcome", routing::Name(r.outcome));
    BindTextOrNull(s, ":counsellor_id", r.counsellor_id);
    // A caller waits until answered, or until the call ends unanswered.
    const Timestamp wait_end = r.answered_at.value_or(r.ended_at);
    s.bind(":wait_ms", static_cast<int64_t>((wait_end - c.arrived_at).count()));
    if (r.answered_at) {
      s.bind(":talk_ms", static_cast<int64_t>((r.ended_at - *r.answered_at).count()));
    } else {
      s.bind(":talk_ms");
    }
    s.bind(":offers", r.offers);
    s.bind(":final_step", r.final_step);
    if (r.disposition) {
      const routing::Disposition& d = *r.disposition;
      s.bind(":category", d.category);
      s.bind(":action", d.action);
      s.bind(":flags", Join(d.flags));
      s.bind(":heavy", d.heavy ? 1 : 0);
      s.bind(":note", d.note);
    } else {
      for (const char* parameter : {":category", ":action", ":flags", ":heavy", ":note"}) {
        s.bind(parameter);
      }
    }
    BindTextOrNull(s, ":reason", r.reason);
    s.exec();
    return absl::OkStatus();
  });
}

absl::Status Store::RecordPresence(const PresenceChange& change) {
  if (change.counsellor_id.empty()) {
    return absl::InvalidArgumentError("presence change has an empty counsellor_id");
  }
  if (absl::Status s = CheckKnown(change.state, "presence state"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckKnown(change.reason, "break reason"); !s.ok()) {
    return s;
  }
  const std::string operation = fmt::format("recording presence of '{}'", change.counsellor_id);
  return Guard(db_->getFilename(), operation, [&]() -> absl::Status {
    StatementUse use(*insert_presence_);
    SQLite::Statement& s = *use;
    s.bind(":counsellor_id", change.counsellor_id);
    BindName(s, ":state", routing::Name(change.state));
    if (change.reason == routing::BreakReason::kNone) {
      s.bind(":reason");
    } else {
      BindName(s, ":reason", routing::Name(change.reason));
    }
    BindTextOrNull(s, ":call_id", change.call_id);
    BindTime(s, ":at", change.at);
    s.exec();
    return absl::OkStatus();
  });
}

absl::Status Store::InsertCounsellor(const StoredCounsellor& c) {
  if (absl::Status s = CheckProfile(c.profile); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckTokenHash(c.token_hash); !s.ok()) {
    return s;
  }
  const std::string operation = fmt::format("inserting counsellor '{}'", c.profile.id);
  return Guard(db_->getFilename(), operation, [&]() -> absl::Status {
    // SQLite may report the token_hash conflict first when both the id and the hash are taken, so
    // the id is checked on its own to say which one it is.
    SQLite::Statement exists(*db_,
                             "SELECT 1 FROM counsellors WHERE counsellor_id = :counsellor_id");
    exists.bind(":counsellor_id", c.profile.id);
    if (exists.executeStep()) {
      return absl::AlreadyExistsError(fmt::format("counsellor '{}' already exists", c.profile.id));
    }
    SQLite::Statement s(
        *db_, fmt::format("INSERT INTO counsellors ({}, token_hash) VALUES (:counsellor_id, "
                          ":display_name, :home_province, :provinces, :skills, :languages, "
                          ":gender, :endpoint, :token_hash)",
                          kCounsellorColumns));
    BindProfile(s, c.profile);
    s.bind(":token_hash", c.token_hash);
    s.exec();
    return absl::OkStatus();
  });
}

absl::Status Store::UpdateCounsellor(const CounsellorProfile& p) {
  if (absl::Status s = CheckProfile(p); !s.ok()) {
    return s;
  }
  const std::string operation = fmt::format("updating counsellor '{}'", p.id);
  return Guard(db_->getFilename(), operation, [&]() -> absl::Status {
    SQLite::Statement s(*db_,
                        fmt::format("UPDATE counsellors SET display_name = :display_name, "
                                    "home_province = :home_province, provinces = :provinces, "
                                    "skills = :skills, languages = :languages, gender = :gender, "
                                    "endpoint = :endpoint, updated_at = {} "
                                    "WHERE counsellor_id = :counsellor_id",
                                    kNowMillisSql));
    BindProfile(s, p);
    if (s.exec() == 0) {
      return absl::NotFoundError(fmt::format("no counsellor '{}'", p.id));
    }
    return absl::OkStatus();
  });
}

absl::Status Store::RemoveCounsellor(const std::string& counsellor_id) {
  const std::string operation = fmt::format("removing counsellor '{}'", counsellor_id);
  return Guard(db_->getFilename(), operation, [&]() -> absl::Status {
    SQLite::Statement s(*db_, "DELETE FROM counsellors WHERE counsellor_id = :counsellor_id");
    s.bind(":counsellor_id", counsellor_id);
    if (s.exec() == 0) {
      return absl::NotFoundError(fmt::format("no counsellor '{}'", counsellor_id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<StoredCounsellor>> Store::LoadCounsellors() {
  return Guard(
      db_->getFilename(), "loading counsellors",
      [&]() -> absl::StatusOr<std::vector<StoredCounsellor>> {
        SQLite::Statement s(*db_, fmt::format("SELECT {}, token_hash FROM counsellors "
                                              "ORDER BY counsellor_id",
                                              kCounsellorColumns));
        const RowReader row(s, "counsellors");
        std::vector<StoredCounsellor> counsellors;
        while (s.executeStep()) {
          counsellors.push_back(StoredCounsellor{ReadProfile(row), row.Text("token_hash")});
        }
        return counsellors;
      });
}

absl::StatusOr<std::optional<CallRecord>> Store::FindCall(const std::string& call_id) {
  const std::string operation = fmt::format("finding call '{}'", call_id);
  return Guard(db_->getFilename(), operation, [&]() -> absl::StatusOr<std::optional<CallRecord>> {
    SQLite::Statement s(*db_, R"sql(
SELECT call_id, gateway_id, caller_key, caller_masked, province, language, topic, priority,
  gender_preference, arrived_at, first_offered_at, accepted_at, answered_at, ended_at,
  wrap_up_done_at, outcome, counsellor_id, offers, final_step,
  category, action, flags, heavy, note, reason
FROM calls WHERE call_id = :call_id
)sql");
    s.bind(":call_id", call_id);
    if (!s.executeStep()) {
      return std::optional<CallRecord>();
    }
    const RowReader row(s, "calls");
    CallRecord r;
    r.call.call_id = row.Text("call_id");
    r.call.gateway_id = row.Text("gateway_id");
    r.call.caller_key = row.Text("caller_key");
    r.call.caller_masked = row.Text("caller_masked");
    r.call.province = row.Text("province");
    r.call.language = row.Text("language");
    r.call.topic = row.Enum("topic", &ParseTopic);
    r.call.priority = row.Enum("priority", &ParsePriority);
    r.call.gender_preference = row.Enum("gender_preference", &ParseGender);
    r.call.arrived_at = row.Time("arrived_at");
    r.first_offered_at = row.OptionalTime("first_offered_at");
    r.accepted_at = row.OptionalTime("accepted_at");
    r.answered_at = row.OptionalTime("answered_at");
    r.ended_at = row.Time("ended_at");
    r.wrap_up_done_at = row.OptionalTime("wrap_up_done_at");
    r.outcome = row.Enum("outcome", &ParseOutcome);
    r.counsellor_id = row.TextOrEmpty("counsellor_id");
    r.offers = row.SmallInt("offers");
    r.final_step = row.SmallInt("final_step");
    // `heavy` is NULL exactly when there is no disposition (RecordCall writes them together).
    if (const std::optional<int64_t> heavy = row.OptionalInt("heavy")) {
      routing::Disposition d;
      d.category = row.Text("category");
      d.action = row.Text("action");
      d.flags = row.List("flags");
      d.heavy = *heavy != 0;
      d.note = row.Text("note");
      r.disposition = std::move(d);
    }
    r.reason = row.TextOrEmpty("reason");
    return std::optional<CallRecord>(std::move(r));
  });
}

absl::StatusOr<std::vector<PresenceChange>> Store::PresenceHistory(
    const std::string& counsellor_id) {
  const std::string operation = fmt::format("reading presence of '{}'", counsellor_id);
  return Guard(db_->getFilename(), operation, [&]() -> absl::StatusOr<std::vector<PresenceChange>> {
    // `id` breaks ties between changes in the same millisecond: insertion order.
    SQLite::Statement s(*db_,
                        "SELECT counsellor_id, state, reason, call_id, at FROM presence "
                        "WHERE counsellor_id = :counsellor_id ORDER BY at, id");
    s.bind(":counsellor_id", counsellor_id);
    const RowReader row(s, "presence");
    std::vector<PresenceChange> history;
    while (s.executeStep()) {
      PresenceChange change;
      change.counsellor_id = row.Text("counsellor_id");
      change.state = row.Enum("state", &ParseCounsellorState);
      if (row.OptionalText("reason")) {
        change.reason = row.Enum("reason", &ParseBreakReason);
      }
      change.call_id = row.TextOrEmpty("call_id");
      change.at = row.Time("at");
      history.push_back(std::move(change));
    }
    return history;
  });
}

}  // namespace hotline::storage
