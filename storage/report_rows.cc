#include "storage/report_rows.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <utility>

#include "routing/check.h"
#include "storage/names.h"
#include "storage/sqlite_support.h"

namespace hotline::storage {
namespace {

// calls.province_unknown came in migration 4.
constexpr int kFirstReadableVersion = 4;

// Two ranges, one per expression index of migration 5 (SQLite's multi-index OR).
constexpr const char* kCallsSql = R"sql(
SELECT call_id, province, province_unknown, topic, priority, counsellor_id, arrived_at,
       answered_at, ended_at, wrap_up_done_at, outcome, category, action, flags, heavy
FROM calls
WHERE (COALESCE(answered_at, ended_at) >= :from AND COALESCE(answered_at, ended_at) < :to)
   OR (COALESCE(wrap_up_done_at, ended_at) >= :from AND COALESCE(wrap_up_done_at, ended_at) < :to)
)sql";

// Each counsellor in turn, found by a seek on presence_by_counsellor instead of a scan of every
// row for DISTINCT.
constexpr const char* kNextCounsellorSql =
    "SELECT MIN(counsellor_id) FROM presence WHERE counsellor_id > :after";
constexpr const char* kStateAtFromSql = R"sql(
SELECT counsellor_id, state, at FROM presence
WHERE counsellor_id = :counsellor_id AND at < :from
ORDER BY at DESC, id DESC LIMIT 1
)sql";
constexpr const char* kChangesSql = R"sql(
SELECT counsellor_id, state, at FROM presence
WHERE counsellor_id = :counsellor_id AND at >= :from AND at < :to
ORDER BY at, id
)sql";

constexpr const char* kShiftOffersSql = R"sql(
SELECT result, COUNT(*) FROM offers
WHERE counsellor_id = :counsellor_id AND ended_at >= :from AND result IS NOT NULL
  AND offered_at >= :from - 86400000  -- an offer rings seconds: the index's range, not a filter
GROUP BY result
)sql";
constexpr const char* kShiftCallsSql = R"sql(
SELECT COUNT(*), COALESCE(SUM(talk_ms), 0), COALESCE(SUM(heavy = 1), 0),
       COALESCE(SUM(category IS NULL), 0), COALESCE(SUM(late_disposition_at IS NOT NULL), 0)
FROM calls
WHERE counsellor_id = :counsellor_id AND answered_at IS NOT NULL
  AND COALESCE(wrap_up_done_at, ended_at) >= :from
)sql";

routing::CallRecord ReadReportCall(const RowReader& row) {
  routing::CallRecord r;
  r.call.call_id = row.Text("call_id");
  r.call.province = row.Text("province");
  r.call.province_unknown = row.SmallInt("province_unknown") != 0;
  r.call.topic = row.Enum("topic", &ParseTopic);
  r.call.priority = row.Enum("priority", &ParsePriority);
  r.call.arrived_at = row.Time("arrived_at");
  r.counsellor_id = row.TextOrEmpty("counsellor_id");
  r.answered_at = row.OptionalTime("answered_at");
  r.ended_at = row.Time("ended_at");
  r.wrap_up_done_at = row.OptionalTime("wrap_up_done_at");
  r.outcome = row.Enum("outcome", &ParseOutcome);
  // `heavy` is NULL exactly when there is no disposition (Store writes them together).
  if (row.OptionalInt("heavy")) {
    routing::Disposition d;
    d.category = row.Text("category");
    d.action = row.Text("action");
    d.flags = row.List("flags");
    r.disposition = std::move(d);
  }
  return r;
}

routing::PresenceChange ReadReportPresence(const RowReader& row) {
  routing::PresenceChange p;
  p.counsellor_id = row.Text("counsellor_id");
  p.state = row.Enum("state", &ParseCounsellorState);
  p.at = row.Time("at");
  return p;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReportReader>> ReportReader::Open(const std::string& path) {
  return Guard(
      nullptr, path, "opening for a report",
      [&]() -> absl::StatusOr<std::unique_ptr<ReportReader>> {
        auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READONLY, kBusyTimeoutMs);
        db->exec("PRAGMA query_only = 1");
        const int version = db->execAndGet("PRAGMA user_version").getInt();
        if (version < kFirstReadableVersion) {
          return absl::FailedPreconditionError(
              fmt::format("database '{}' has schema version {}; reports need version {} or later "
                          "(start hotlined once to migrate it)",
                          path, version, kFirstReadableVersion));
        }
        return std::unique_ptr<ReportReader>(new ReportReader(std::move(db)));
      });
}

ReportReader::ReportReader(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}

ReportReader::~ReportReader() = default;

void ReportReader::Interrupt() {
  interrupted_ = true;
  sqlite3_interrupt(db_->getHandle());
}

absl::Status ReportReader::CheckInterrupted() const {
  if (interrupted_) {
    return absl::CancelledError("the report was interrupted");
  }
  return absl::OkStatus();
}

absl::Status ReportReader::Read(routing::Timestamp from, routing::Timestamp to,
                                const CallFn& on_call, const PresenceFn& on_presence) {
  HOTLINE_CHECK(from < to);
  const int64_t from_ms = routing::ToUnixMillis(from);
  const int64_t to_ms = routing::ToUnixMillis(to);
  const std::string operation =
      fmt::format("reading calls and presence in [{}, {}) for a report", from_ms, to_ms);
  const absl::Status status =
      Guard(db_->getHandle(), db_->getFilename(), operation, [&]() -> absl::Status {
        SQLite::Transaction transaction(*db_);  // Deferred: a read snapshot, never a lock.
        if (absl::Status s = ReadCalls(from_ms, to_ms, on_call); !s.ok()) {
          return s;
        }
        return on_presence ? ReadPresence(from_ms, to_ms, on_presence) : absl::OkStatus();
        // The transaction rolls back: it wrote nothing.
      });
  // sqlite3_interrupt surfaces as SQLite's own error; say what happened instead.
  return interrupted_ ? CheckInterrupted() : status;
}

absl::StatusOr<ReportReader::ShiftCounts> ReportReader::ReadShift(
    const std::string& counsellor_id, routing::Timestamp from) {
  const int64_t from_ms = routing::ToUnixMillis(from);
  ShiftCounts counts;
  const absl::Status status = Guard(
      db_->getHandle(), db_->getFilename(),
      fmt::format("reading the shift figures of '{}' since {}", counsellor_id, from_ms),
      [&]() -> absl::Status {
        SQLite::Transaction transaction(*db_);  // One read snapshot for both queries.
        SQLite::Statement offers(*db_, kShiftOffersSql);
        offers.bind(":counsellor_id", counsellor_id);
        offers.bind(":from", from_ms);
        while (offers.executeStep()) {
          const std::string result = offers.getColumn(0).getString();
          const int n = offers.getColumn(1).getInt();
          counts.offers += n;
          if (result == "accepted") {
            counts.accepted += n;
          } else if (result == "declined") {
            counts.declined += n;
          } else if (result == "timed_out") {
            counts.missed += n;
          }
        }
        SQLite::Statement calls(*db_, kShiftCallsSql);
        calls.bind(":counsellor_id", counsellor_id);
        calls.bind(":from", from_ms);
        calls.executeStep();
        counts.calls = calls.getColumn(0).getInt();
        counts.talk_ms = calls.getColumn(1).getInt64();
        counts.heavy = calls.getColumn(2).getInt();
        counts.without_disposition = calls.getColumn(3).getInt();
        counts.late = calls.getColumn(4).getInt();
        return absl::OkStatus();
      });
  if (!status.ok()) {
    return status;
  }
  return counts;
}

absl::Status ReportReader::ReadCalls(int64_t from_ms, int64_t to_ms, const CallFn& on_call) {
  SQLite::Statement s(*db_, kCallsSql);
  s.bind(":from", from_ms);
  s.bind(":to", to_ms);
  const RowReader row(s, "calls");
  while (s.executeStep()) {
    if (absl::Status st = CheckInterrupted(); !st.ok()) {
      return st;
    }
    if (absl::Status st = on_call(ReadReportCall(row)); !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

absl::Status ReportReader::ReadPresence(int64_t from_ms, int64_t to_ms,
                                        const PresenceFn& on_presence) {
  SQLite::Statement next(*db_, kNextCounsellorSql);
  SQLite::Statement state_at_from(*db_, kStateAtFromSql);
  SQLite::Statement changes(*db_, kChangesSql);
  std::string counsellor;
  while (true) {
    next.reset();
    next.bind(":after", counsellor);
    if (!next.executeStep() || next.getColumn(0).isNull()) {
      return absl::OkStatus();
    }
    counsellor = next.getColumn(0).getString();
    if (absl::Status st = CheckInterrupted(); !st.ok()) {
      return st;
    }
    for (SQLite::Statement* s : {&state_at_from, &changes}) {
      s->reset();
      s->bind(":counsellor_id", counsellor);
      s->bind(":from", from_ms);
      if (s == &changes) {
        s->bind(":to", to_ms);
      }
      const RowReader row(*s, "presence");
      while (s->executeStep()) {
        if (absl::Status st = on_presence(ReadReportPresence(row)); !st.ok()) {
          return st;
        }
      }
    }
  }
}

}  // namespace hotline::storage
