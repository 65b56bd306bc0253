// The Store's children's-data methods (storage/privacy.h): callbacks, the callback key's
// fingerprint, the audit and retention. Kept apart from store.cc so the schema's privacy side
// reads in one place.
#include "storage/privacy.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include "storage/sqlite_support.h"
#include "storage/store.h"

namespace hotline::storage {
namespace {


constexpr const char* kCallbackColumns =
    "id, call_id, gateway_id, caller_masked, outcome, arrived_at, ended_at";

PendingCallback ReadCallback(const RowReader& row) {
  PendingCallback c;
  c.id = row.Int("id");
  c.call_id = row.Text("call_id");
  c.gateway_id = row.Text("gateway_id");
  c.caller_masked = row.Text("caller_masked");
  c.outcome = row.TextOrEmpty("outcome");
  c.arrived_at_ms = row.Int("arrived_at");
  c.ended_at_ms = row.OptionalInt("ended_at").value_or(0);
  return c;
}


}  // namespace

absl::Status CheckCallbackChange(const CallbackChange& change) {
  if (const auto* held = std::get_if<CallbackHeld>(&change)) {
    if (held->call_id.empty() || held->sealed.empty()) {
      return absl::InvalidArgumentError("a held callback number has an empty call_id or sealed form");
    }
    return absl::OkStatus();
  }
  const auto& ended = std::get<CallbackEnded>(change);
  if (ended.call_id.empty()) {
    return absl::InvalidArgumentError("a callback's end has an empty call_id");
  }
  if (!ended.outcome.empty() && ended.outcome != "timed_out" &&
      ended.outcome != "callback_requested") {
    return absl::InvalidArgumentError(
        fmt::format("callback of call '{}': outcome '{}' needs no callback", ended.call_id,
                    ended.outcome));
  }
  return absl::OkStatus();
}

absl::Status CheckAuditRow(const AuditRow& row) {
  if (row.role.empty() || row.principal.empty() || row.action.empty()) {
    return absl::InvalidArgumentError("an audit row needs a role, a principal and an action");
  }
  return absl::OkStatus();
}

NamedStatement& Store::Prepared(std::unique_ptr<NamedStatement>& slot, std::string_view sql) {
  if (slot == nullptr) {
    slot = std::make_unique<NamedStatement>(*db_, std::string(sql));
  }
  return *slot;
}

void Store::WriteCallbackChange(const CallbackChange& change) {
  if (const auto* held = std::get_if<CallbackHeld>(&change)) {
    StatementUse use(Prepared(insert_callback_, R"sql(
INSERT INTO callbacks (call_id, gateway_id, caller_masked, sealed, arrived_at, state)
VALUES (:call_id, :gateway_id, :caller_masked, :sealed, :arrived_at, 'live'))sql"));
    NamedStatement& s = *use;
    s.bind(":call_id", held->call_id);
    s.bind(":gateway_id", held->gateway_id);
    s.bind(":caller_masked", held->caller_masked);
    s.bind(":sealed", held->sealed.data(), static_cast<int>(held->sealed.size()));
    s.bind(":arrived_at", held->arrived_at_ms);
    s.exec();
    return;
  }
  const auto& ended = std::get<CallbackEnded>(change);
  if (ended.outcome.empty()) {
    StatementUse use(Prepared(
        delete_callback_, "DELETE FROM callbacks WHERE call_id = :call_id AND state = 'live'"));
    (*use).bind(":call_id", ended.call_id);
    (*use).exec();
    return;
  }
  StatementUse use(Prepared(pend_callback_, R"sql(
UPDATE callbacks SET state = 'pending', outcome = :outcome, ended_at = :ended_at
WHERE call_id = :call_id AND state = 'live')sql"));
  NamedStatement& s = *use;
  s.bind(":call_id", ended.call_id);
  s.bind(":outcome", ended.outcome);
  s.bind(":ended_at", ended.ended_at_ms);
  s.exec();
}

absl::StatusOr<std::vector<PendingCallback>> Store::ListCallbacks(int64_t limit) {
  return Guard(db_->getHandle(), db_->getFilename(), "listing pending callbacks",
               [&]() -> absl::StatusOr<std::vector<PendingCallback>> {
                 SQLite::Statement s(
                     *db_, fmt::format("SELECT {} FROM callbacks WHERE state = 'pending' "
                                       "ORDER BY ended_at, id LIMIT :limit",
                                       kCallbackColumns));
                 s.bind(":limit", limit);
                 const RowReader row(s, "callbacks");
                 std::vector<PendingCallback> out;
                 while (s.executeStep()) {
                   out.push_back(ReadCallback(row));
                 }
                 return out;
               });
}

absl::StatusOr<std::pair<PendingCallback, std::string>> Store::SealedCallback(int64_t id) {
  return Guard(db_->getHandle(), db_->getFilename(), fmt::format("reading callback {}", id),
               [&]() -> absl::StatusOr<std::pair<PendingCallback, std::string>> {
                 SQLite::Statement s(
                     *db_, fmt::format("SELECT {}, sealed FROM callbacks WHERE id = :id AND "
                                       "state = 'pending'",
                                       kCallbackColumns));
                 s.bind(":id", id);
                 if (!s.executeStep()) {
                   return absl::NotFoundError(
                       fmt::format("callback_id: no pending callback {}", id));
                 }
                 const RowReader row(s, "callbacks");
                 const SQLite::Column sealed = s.getColumn("sealed");
                 return std::make_pair(
                     ReadCallback(row),
                     std::string(static_cast<const char*>(sealed.getBlob()),
                                 static_cast<std::size_t>(sealed.getBytes())));
               });
}

absl::StatusOr<bool> Store::MarkCallbackDone(int64_t id) {
  return Guard(db_->getHandle(), db_->getFilename(), fmt::format("marking callback {} done", id),
               [&]() -> absl::StatusOr<bool> {
                 SecureDelete secure(*db_);
                 SQLite::Statement done(*db_, R"sql(
UPDATE callbacks SET state = 'done', sealed = X'', caller_masked = ''
WHERE id = :id AND state = 'pending')sql");
                 done.bind(":id", id);
                 if (done.exec() == 1) {
                   // The page's old image, number included, stays in the database file until
                   // a checkpoint copies the new one over it: now, rather than at the next
                   // automatic checkpoint or retention run. A reader holding the WAL (a backup)
                   // leaves it to those, as for retention.
                   EmptyWal();
                   return true;
                 }
                 SQLite::Statement was(*db_,
                                       "SELECT 1 FROM callbacks WHERE id = :id AND state = 'done'");
                 was.bind(":id", id);
                 if (was.executeStep()) {
                   return false;
                 }
                 return absl::NotFoundError(fmt::format("callback_id: no pending callback {}", id));
               });
}

absl::StatusOr<std::optional<std::string>> Store::CallbackKeyFingerprint() {
  return ReadKeyFingerprint(*db_, "callback_key", "callback key");
}

absl::Status Store::RecordCallbackKeyFingerprint(const std::string& fingerprint) {
  return RecordKeyFingerprint(*db_, "callback_key", "callback key", fingerprint);
}

absl::StatusOr<bool> Store::HoldsCallbacks() {
  return Guard(
      db_->getHandle(), db_->getFilename(), "looking for sealed numbers",
      [&]() -> absl::StatusOr<bool> {
        return db_->execAndGet("SELECT EXISTS (SELECT 1 FROM callbacks WHERE state != 'done')")
                   .getInt() != 0;
      });
}

absl::Status Store::RecordAudit(const AuditRow& row) {
  if (absl::Status s = CheckAuditRow(row); !s.ok()) {
    return s;
  }
  return Guard(db_->getHandle(), db_->getFilename(), "recording an audit row",
               [&]() -> absl::Status {
                 SQLite::Statement s(*db_, R"sql(
INSERT INTO audit (at, role, principal, action, subject)
VALUES (:at, :role, :principal, :action, :subject))sql");
                 s.bind(":at", row.at_ms);
                 s.bind(":role", row.role);
                 s.bind(":principal", row.principal);
                 s.bind(":action", row.action);
                 s.bind(":subject", row.subject);
                 s.exec();
                 return absl::OkStatus();
               });
}

absl::StatusOr<std::vector<AuditRow>> Store::ListAudit(int64_t since_ms, int64_t limit) {
  return Guard(db_->getHandle(), db_->getFilename(), "reading the audit",
               [&]() -> absl::StatusOr<std::vector<AuditRow>> {
                 SQLite::Statement s(*db_,
                                     "SELECT id, at, role, principal, action, subject FROM audit "
                                     "WHERE at >= :since ORDER BY at, id LIMIT :limit");
                 s.bind(":since", since_ms);
                 s.bind(":limit", limit);
                 const RowReader row(s, "audit");
                 std::vector<AuditRow> out;
                 while (s.executeStep()) {
                   AuditRow a;
                   a.id = row.Int("id");
                   a.at_ms = row.Int("at");
                   a.role = row.Text("role");
                   a.principal = row.Text("principal");
                   a.action = row.Text("action");
                   a.subject = row.Text("subject");
                   out.push_back(std::move(a));
                 }
                 return out;
               });
}

absl::StatusOr<RetentionCounts> Store::ApplyRetention(const RetentionCut& cut) {
  return Guard(
      db_->getHandle(), db_->getFilename(), "applying the retention periods",
      [&]() -> absl::StatusOr<RetentionCounts> {
        RetentionCounts counts;
        {
          SecureDelete secure(*db_);
          SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
          const auto run = [&](const char* sql, const std::optional<int64_t>& before) -> int64_t {
            if (!before) {
              return 0;
            }
            SQLite::Statement s(*db_, sql);
            s.bind(":before", *before);
            return s.exec();
          };
          counts.callers_anonymised =
              // By when the call was answered, if it was: the router remembers a repeat caller
              // from then (a gateway may report an arrival up to a day late), and must forget
              // them no later than their row does, or a restart, which rebuilds the repeat
              // callers from these rows, would route differently. answered_at >= arrived_at, so
              // the first term keeps the index's range.
              run("UPDATE calls SET caller_key = '', caller_masked = '' WHERE arrived_at < :before "
                  "AND COALESCE(answered_at, arrived_at) < :before "
                  "AND (caller_key != '' OR caller_masked != '')",
                  cut.callers_before_ms);
          counts.notes_cleared =
              run("UPDATE calls SET note = '' WHERE arrived_at < :before AND note != ''",
                  cut.notes_before_ms);
          // A supervisor's own words in the reason of a call they ended ("ended by <who>:
          // <words>", EngineHost::EndCall) are kept as long as a note; who ended it stays. A
          // principal has no ": " in it (an account name is an id).
          counts.notes_cleared +=
              run("UPDATE calls SET reason = substr(reason, 1, instr(reason, ': ') - 1) "
                  "WHERE arrived_at < :before AND reason LIKE 'ended by %' "
                  "AND instr(reason, ': ') > 0",
                  cut.notes_before_ms);
          counts.callbacks_deleted =
              run("DELETE FROM callbacks WHERE (state IN ('pending', 'done') AND ended_at < "
                  ":before) OR "
                  "(state = 'live' AND arrived_at < :before)",
                  cut.callbacks_before_ms);
          counts.audit_deleted = run("DELETE FROM audit WHERE at < :before", cut.audit_before_ms);
          counts.offers_deleted =
              run("DELETE FROM offers WHERE offered_at < :before", cut.history_before_ms);
          counts.presence_deleted =
              run("DELETE FROM presence WHERE at < :before", cut.history_before_ms);
          transaction.commit();
        }
        // The WAL still holds the pages as they were before: copy them into the database and
        // empty it, so the old values are nowhere in the files. Not while a reader needs them:
        // the next run tries again.
        counts.wal_emptied = EmptyWal();
        return counts;
      });
}

}  // namespace hotline::storage
