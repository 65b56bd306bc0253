#include "storage/store.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "storage/migrations.h"
#include "storage/names.h"
#include "storage/privacy.h"
#include "storage/sqlite_support.h"
#include "storage/store_sql.h"
#include "storage/wal_vfs.h"

namespace hotline::storage {
namespace {

using routing::CallRecord;
using routing::CounsellorProfile;
using routing::PresenceChange;
using routing::Timestamp;

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

// Names the call in a refusal, since a batch holds many.
absl::Status CheckRecord(const CallRecord& r) {
  if (r.call.call_id.empty()) {
    return absl::InvalidArgumentError("call record has an empty call_id");
  }
  for (const absl::Status& s :
       {CheckKnown(r.call.topic, "call topic"), CheckKnown(r.call.priority, "call priority"),
        CheckKnown(r.call.gender_preference, "call gender_preference"),
        CheckKnown(r.outcome, "call outcome"),
        r.disposition ? CheckList(r.disposition->flags, "disposition flag") : absl::OkStatus()}) {
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("call '{}': {}", r.call.call_id, std::string(s.message())));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPresence(const PresenceChange& change) {
  if (change.counsellor_id.empty()) {
    return absl::InvalidArgumentError("presence change has an empty counsellor_id");
  }
  if (absl::Status s = CheckKnown(change.state, "presence state"); !s.ok()) {
    return s;
  }
  return CheckKnown(change.reason, "break reason");
}

// Blobs are bound with an int size.
absl::Status CheckBlob(const std::string& bytes, std::string_view what) {
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(
        fmt::format("{} has {} bytes, more than a BLOB can hold", what, bytes.size()));
  }
  return absl::OkStatus();
}

absl::Status CheckResult(const RequestResult& r) {
  if (r.origin.empty() || r.request_id.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("request result needs an origin and a request_id (got '{}' and '{}')", r.origin,
                    r.request_id));
  }
  // google.rpc.Code runs from OK (0) to UNAUTHENTICATED (16).
  if (r.code < 0 || r.code > 16) {
    return absl::InvalidArgumentError(
        fmt::format("request result {} '{}' has code {}, not a google.rpc.Code", r.origin,
                    r.request_id, r.code));
  }
  return CheckBlob(r.response, "request result response");
}

absl::Status CheckJournal(const std::vector<JournalEntry>& journal) {
  int64_t previous = 0;
  for (const JournalEntry& entry : journal) {
    if (entry.seq <= previous) {
      return absl::InvalidArgumentError(
          previous == 0 ? fmt::format("journal seq {} is below 1", entry.seq)
                        : fmt::format("journal seq {} follows seq {} in the batch; seqs must "
                                      "strictly increase",
                                      entry.seq, previous));
    }
    if (absl::Status s = CheckBlob(entry.record, "journal record"); !s.ok()) {
      return s;
    }
    previous = entry.seq;
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

absl::Status CheckCounsellorOp(const CounsellorOp& op) {
  switch (op.kind) {
    case CounsellorOp::Kind::kInsert:
      if (absl::Status s = CheckProfile(op.counsellor.profile); !s.ok()) {
        return s;
      }
      return CheckTokenHash(op.counsellor.token_hash);
    case CounsellorOp::Kind::kUpdate:
      return CheckProfile(op.counsellor.profile);
    case CounsellorOp::Kind::kRemove:
      return absl::OkStatus();  // An unknown id is NOT_FOUND, found by trying.
  }
  return absl::InvalidArgumentError(
      fmt::format("counsellor op has no known kind ({})", static_cast<int>(op.kind)));
}

absl::Status CheckOfferIds(const std::string& call_id, const std::string& counsellor_id,
                           std::string_view what) {
  if (call_id.empty() || counsellor_id.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{} needs a call_id and a counsellor_id (got '{}' and '{}')", what, call_id,
                    counsellor_id));
  }
  return absl::OkStatus();
}

absl::Status CheckOfferResult(const OfferResult& r) {
  if (absl::Status s = CheckOfferIds(r.call_id, r.counsellor_id, "offer result"); !s.ok()) {
    return s;
  }
  if (r.result.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "offer result of call '{}' to '{}' has an empty result", r.call_id, r.counsellor_id));
  }
  return absl::OkStatus();
}

// Everything about a batch that can be checked without the database, so a batch refused here
// never begins a transaction.
absl::Status CheckBatch(const Batch& batch) {
  if (absl::Status s = CheckJournal(batch.journal); !s.ok()) {
    return s;
  }
  for (const CallRecord& r : batch.calls) {
    if (absl::Status s = CheckRecord(r); !s.ok()) {
      return s;
    }
  }
  for (const PresenceChange& change : batch.presence) {
    if (absl::Status s = CheckPresence(change); !s.ok()) {
      return s;
    }
  }
  for (const RequestResult& r : batch.results) {
    if (absl::Status s = CheckResult(r); !s.ok()) {
      return s;
    }
  }
  for (const CounsellorOp& op : batch.counsellors) {
    if (absl::Status s = CheckCounsellorOp(op); !s.ok()) {
      return s;
    }
  }
  for (const LateDisposition& late : batch.late_dispositions) {
    if (late.call_id.empty() || late.counsellor_id.empty()) {
      return absl::InvalidArgumentError("late disposition has an empty call_id or counsellor_id");
    }
    if (absl::Status s = CheckList(late.disposition.flags, "disposition flag"); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("late disposition of call '{}': {}", late.call_id, std::string(s.message())));
    }
  }
  for (const CallbackChange& change : batch.callbacks) {
    if (absl::Status s = CheckCallbackChange(change); !s.ok()) {
      return s;
    }
  }
  for (const OfferChange& change : batch.offers) {
    const absl::Status s =
        std::holds_alternative<OfferRow>(change)
            ? CheckOfferIds(std::get<OfferRow>(change).call_id,
                            std::get<OfferRow>(change).counsellor_id, "offer")
            : CheckOfferResult(std::get<OfferResult>(change));
    if (!s.ok()) {
      return s;
    }
  }
  if (batch.snapshot) {
    if (batch.snapshot->seq < 0) {
      return absl::InvalidArgumentError(
          fmt::format("snapshot seq {} is negative", batch.snapshot->seq));
    }
    return CheckBlob(batch.snapshot->state, "snapshot state");
  }
  return absl::OkStatus();
}

void BindName(NamedStatement& s, ParameterName parameter, std::string_view name) {
  s.bind(parameter, std::string(name));
}

// The domain uses "" for "none"; the database uses NULL so reports can say IS NULL.
void BindTextOrNull(NamedStatement& s, ParameterName parameter, const std::string& value) {
  if (value.empty()) {
    s.bind(parameter);
  } else {
    s.bind(parameter, value);
  }
}

// Without a copy: the batch outlives the statement's use (StatementUse clears the bindings).
void BindBlob(NamedStatement& s, ParameterName parameter, const std::string& bytes) {
  s.bindNoCopy(parameter, static_cast<const void*>(bytes.data()), static_cast<int>(bytes.size()));
}

void BindTime(NamedStatement& s, ParameterName parameter, Timestamp t) {
  s.bind(parameter, routing::ToUnixMillis(t));
}

void BindTime(NamedStatement& s, ParameterName parameter, const std::optional<Timestamp>& t) {
  if (t) {
    BindTime(s, parameter, *t);
  } else {
    s.bind(parameter);
  }
}

// Binds every profile column except token_hash and the row times.
void BindProfile(NamedStatement& s, const CounsellorProfile& p) {
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
  category, action, flags, heavy, note, reason, province_unknown, caller_withheld)
VALUES (
  :call_id, :gateway_id, :caller_key, :caller_masked, :province, :language, :topic, :priority,
  :gender_preference, :arrived_at, :first_offered_at, :accepted_at, :answered_at, :ended_at,
  :wrap_up_done_at, :outcome, :counsellor_id, :wait_ms, :talk_ms, :offers, :final_step,
  :category, :action, :flags, :heavy, :note, :reason, :province_unknown, :caller_withheld)
)sql";

constexpr const char* kInsertPresenceSql = R"sql(
INSERT INTO presence (counsellor_id, state, reason, call_id, at)
VALUES (:counsellor_id, :state, :reason, :call_id, :at)
)sql";

constexpr const char* kInsertJournalSql =
    "INSERT INTO journal (seq, at, record) VALUES (:seq, :at, :record)";

constexpr const char* kUpsertResultSql = R"sql(
INSERT OR REPLACE INTO request_results (origin, request_id, at, code, message, response)
VALUES (:origin, :request_id, :at, :code, :message, :response)
)sql";

constexpr const char* kCounsellorColumns =
    "counsellor_id, display_name, home_province, provinces, skills, languages, gender, endpoint";

// Both maxima come from the end of an integer primary key: no scan.
constexpr const char* kLastSeqSql =
    "SELECT MAX((SELECT IFNULL(MAX(seq), 0) FROM journal), "
    "(SELECT IFNULL(MAX(seq), 0) FROM snapshots))";

constexpr const char* kCallColumns = R"sql(
call_id, gateway_id, caller_key, caller_masked, province, language, topic, priority,
gender_preference, arrived_at, first_offered_at, accepted_at, answered_at, ended_at,
wrap_up_done_at, outcome, counsellor_id, offers, final_step,
category, action, flags, heavy, note, reason, province_unknown, caller_withheld
)sql";

CallRecord ReadCall(const RowReader& row) {
  CallRecord r;
  r.call.call_id = row.Text("call_id");
  r.call.gateway_id = row.Text("gateway_id");
  r.call.caller_key = row.Text("caller_key");
  r.call.caller_masked = row.Text("caller_masked");
  r.call.province = row.Text("province");
  r.call.province_unknown = row.SmallInt("province_unknown") != 0;
  r.call.caller_withheld = row.SmallInt("caller_withheld") != 0;
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
  // `heavy` is NULL exactly when there is no disposition (WriteCall writes them together).
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
  return r;
}

// The newest open offer (by offered_at, then insertion) of the call to the counsellor;
// offers_by_call finds the call's few rows.
// :category, :action, :flags, :heavy and :note: all NULL without a disposition.
void BindDisposition(NamedStatement& s, const routing::Disposition* d) {
  if (d == nullptr) {
    for (const ParameterName parameter :
         {ParameterName(":category"), ParameterName(":action"), ParameterName(":flags"),
          ParameterName(":heavy"), ParameterName(":note")}) {
      s.bind(parameter);
    }
    return;
  }
  s.bind(":category", d->category);
  s.bind(":action", d->action);
  s.bind(":flags", Join(d->flags));
  s.bind(":heavy", d->heavy ? 1 : 0);
  s.bind(":note", d->note);
}

constexpr const char* kEndOfferSql = R"sql(
UPDATE offers SET result = :result, ended_at = :ended_at
WHERE id = (SELECT id FROM offers
            WHERE call_id = :call_id AND counsellor_id = :counsellor_id AND result IS NULL
            ORDER BY offered_at DESC, id DESC LIMIT 1)
)sql";

// What Commit was writing when it failed, for the message; formatted only on failure.
struct Step {
  enum class Kind {
    kBegin,
    kCall,
    kPresence,
    kResult,
    kCounsellor,
    kOffer,
    kLate,
    kCallback,
    kJournal,
    kSnapshot,
    kForget,
    kCommit
  };
  Kind kind = Kind::kBegin;
  std::size_t index = 0;
};

std::string Describe(const Batch& batch, const Step& step) {
  switch (step.kind) {
    case Step::Kind::kBegin:
      return "beginning a transaction";
    case Step::Kind::kCall:
      return fmt::format("recording call '{}'", batch.calls[step.index].call.call_id);
    case Step::Kind::kPresence:
      return fmt::format("recording presence of '{}'", batch.presence[step.index].counsellor_id);
    case Step::Kind::kResult: {
      const RequestResult& r = batch.results[step.index];
      return fmt::format("recording the result of {} request '{}'", r.origin, r.request_id);
    }
    case Step::Kind::kCounsellor: {
      const CounsellorOp& op = batch.counsellors[step.index];
      const char* verb = op.kind == CounsellorOp::Kind::kInsert   ? "inserting"
                         : op.kind == CounsellorOp::Kind::kUpdate ? "updating"
                                                                  : "removing";
      return fmt::format("{} counsellor '{}'", verb, op.counsellor.profile.id);
    }
    case Step::Kind::kOffer: {
      if (const auto* o = std::get_if<OfferRow>(&batch.offers[step.index])) {
        return fmt::format("recording the offer of call '{}' to '{}'", o->call_id,
                           o->counsellor_id);
      }
      const auto& r = std::get<OfferResult>(batch.offers[step.index]);
      return fmt::format("ending the offer of call '{}' to '{}'", r.call_id, r.counsellor_id);
    }
    case Step::Kind::kLate:
      return fmt::format("recording the late disposition of call '{}'",
                         batch.late_dispositions[step.index].call_id);
    case Step::Kind::kCallback:
      return "keeping or ending a callback's sealed number";
    case Step::Kind::kJournal:
      return fmt::format("appending journal entries {} to {}", batch.journal.front().seq,
                         batch.journal.back().seq);
    case Step::Kind::kSnapshot:
      return fmt::format("writing the snapshot after journal entry {}", batch.snapshot->seq);
    case Step::Kind::kForget:
      return fmt::format("forgetting request results before {}", *batch.forget_results_before_ms);
    case Step::Kind::kCommit:
      break;
  }
  return fmt::format(
      "committing a batch (journal entries: {}, calls: {}, presence changes: {}, results: {}, "
      "counsellor ops: {}, offer changes: {}, snapshot: {})",
      batch.journal.size(), batch.calls.size(), batch.presence.size(), batch.results.size(),
      batch.counsellors.size(), batch.offers.size(),
      batch.snapshot ? "yes" : "no");
}

absl::Status CheckSynchronous(const std::string& synchronous) {
  if (synchronous != "NORMAL" && synchronous != "FULL") {
    return absl::InvalidArgumentError(
        fmt::format("synchronous must be 'NORMAL' or 'FULL', not '{}'", synchronous));
  }
  return absl::OkStatus();
}

}  // namespace

void ConfigureSqliteForProcess() {
  // SQLITE_MISUSE after sqlite3_initialize: the statistics then stay on, as the header says.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const OpenOptions& options) {
  if (absl::Status s = CheckSynchronous(options.synchronous); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<SQLite::Database>> opened =
      Guard(nullptr, path, "opening", [&]() -> absl::StatusOr<std::unique_ptr<SQLite::Database>> {
        return std::make_unique<SQLite::Database>(
            path.c_str(),
            // NOMUTEX: one thread at a time uses the Store (store.h), so SQLite's lock of the
            // connection at every call (bind, step, reset: 4 % of a commit's instructions) is off.
            SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs,
            WalBufferVfs());
      });
  if (!opened.ok()) {
    return opened.status();
  }
  std::unique_ptr<SQLite::Database> db = *std::move(opened);
  sqlite3* handle = db->getHandle();
  return Guard(handle, path, "opening", [&]() -> absl::StatusOr<std::unique_ptr<Store>> {
    // Only a new file takes it: SQLite sets the page size before the first table is made, and
    // ignores this for a database that has one (an existing file keeps the size it was made with).
    db->exec(fmt::format("PRAGMA page_size = {}", kNewPageBytes));
    // An in-memory database answers "memory": it has no file to keep a WAL beside.
    const std::string mode = db->execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal" && mode != "memory") {
      return absl::InternalError(
          fmt::format("database '{}' refused WAL journal mode (it stays '{}')", path, mode));
    }
    db->exec(fmt::format("PRAGMA synchronous = {}", options.synchronous));
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
    : db_(std::move(db)), schema_version_(schema_version) {
  sqlite3_busy_handler(db_->getHandle(), &Store::OnBusy, this);  // In place of the timeout.
  // In place of SQLite's auto-checkpoint (which is itself a WAL hook): CheckpointIfDue. Never
  // run `PRAGMA wal_autocheckpoint` (or sqlite3_wal_autocheckpoint) on this connection: it puts
  // SQLite's hook back in place of this one, and checkpoints inside commits again.
  sqlite3_wal_hook(db_->getHandle(), &Store::OnWalCommit, this);
  const auto prepare = [&](std::string_view sql) {
    return std::make_unique<NamedStatement>(*db_, std::string(sql));
  };
  insert_call_ = prepare(kInsertCallSql);
  insert_presence_ = prepare(kInsertPresenceSql);
  insert_journal_ = prepare(kInsertJournalSql);
  upsert_result_ = prepare(kUpsertResultSql);
  counsellor_exists_ = prepare("SELECT 1 FROM counsellors WHERE counsellor_id = :counsellor_id");
  insert_counsellor_ = prepare(fmt::format(
      "INSERT INTO counsellors ({}, token_hash) VALUES (:counsellor_id, :display_name, "
      ":home_province, :provinces, :skills, :languages, :gender, :endpoint, :token_hash)",
      kCounsellorColumns));
  update_counsellor_ = prepare(fmt::format(
      "UPDATE counsellors SET display_name = :display_name, home_province = :home_province, "
      "provinces = :provinces, skills = :skills, languages = :languages, gender = :gender, "
      "endpoint = :endpoint, updated_at = {} WHERE counsellor_id = :counsellor_id",
      kNowMillisSql));
  remove_counsellor_ = prepare("DELETE FROM counsellors WHERE counsellor_id = :counsellor_id");
  last_seq_ = prepare(kLastSeqSql);
  snapshot_seq_ = prepare("SELECT MAX(seq) FROM snapshots");
  delete_snapshots_ = prepare("DELETE FROM snapshots");
  insert_snapshot_ = prepare("INSERT INTO snapshots (seq, at, state) VALUES (:seq, :at, :state)");
  delete_journal_through_ = prepare("DELETE FROM journal WHERE seq <= :seq");
  forget_results_ = prepare("DELETE FROM request_results WHERE at < :before");
  insert_offer_ = prepare(
      "INSERT INTO offers (call_id, counsellor_id, offered_at, step, scope, eligible, rule, "
      "result, ended_at) VALUES (:call_id, :counsellor_id, :offered_at, :step, :scope, "
      ":eligible, :rule, :result, :ended_at)");
  end_offer_ = prepare(kEndOfferSql);
  late_disposition_ = prepare(sql::kLateDisposition);
}

Store::~Store() = default;

int Store::schema_version() const { return schema_version_; }

int Store::OnBusy(void* store, int tries) {
  Store& self = *static_cast<Store*>(store);
  if (!self.wait_when_busy_) {
    return 0;
  }
  if (tries == 0) {
    self.busy_waited_ms_ = 0;
    self.busy_waits_.fetch_add(1, std::memory_order_relaxed);
  }
  const int left = kBusyTimeoutMs - self.busy_waited_ms_;
  if (left <= 0) {
    return 0;  // SQLITE_BUSY for the caller.
  }
  if (self.lock_wait_hook_ && std::this_thread::get_id() == self.lock_wait_thread_) {
    self.lock_wait_hook_();
  }
  // 1, 2, 4 ... 64 ms, then 100 ms at a time: a short lock is waited for briefly.
  const int pause = std::min({1 << std::min(tries, 7), 100, left});
  std::this_thread::sleep_for(std::chrono::milliseconds(pause));
  self.busy_waited_ms_ += pause;
  return 1;
}

int Store::OnWalCommit(void* store, sqlite3* /*db*/, const char* /*name*/, int frames) {
  static_cast<Store*>(store)->wal_frames_ = frames;
  return SQLITE_OK;
}

absl::StatusOr<bool> Store::CheckpointIfDue(Moment moment) {
  if (wal_frames_ < (moment == Moment::kQuiet ? kQuietCheckpointFrames : kCheckpointFrames)) {
    return false;
  }
  const absl::StatusOr<bool> ran = Guard(
      db_->getHandle(), db_->getFilename(), "checkpointing the WAL", [&]() -> absl::StatusOr<bool> {
        int frames = 0;
        int copied = 0;
        const int rc = sqlite3_wal_checkpoint_v2(db_->getHandle(), nullptr,
                                                 SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
        if (rc != SQLITE_OK) {
          throw SQLite::Exception(db_->getHandle(), rc);
        }
        ++checkpoints_;
        // Every frame copied: the next commit starts the WAL over from its beginning. A
        // reader still in an older snapshot keeps some: the next commit's count is over
        // the bar again, and the next call copies more, as SQLite's own auto-checkpoint
        // would.
        wal_frames_ = copied == frames ? 0 : frames;
        return true;
      });
  if (!ran.ok() || !*ran || moment != Moment::kQuiet || wal_frames_ != 0) {
    return ran;
  }
  // Every frame copied in a quiet moment: the WAL is started over now, by a commit of one
  // page, so that the restart's sync of the WAL falls in the gap. Left to the next commit, the
  // next caller's arrival waited for it before its ack (docs/performance.md, "Sparse load: an
  // arrival's commit syncs the restarted WAL"). A reader still in a snapshot taken before the
  // checkpoint keeps the WAL from restarting; the page is then only appended, as any commit's
  // would be, and not counted.
  // Only a gain, never needed: it waits for no other connection's lock, and a failure (busy,
  // disk full) changes nothing (SQLite rolls the statement back) and leaves the restart to the
  // next commit, as before. The checkpoint ran either way.
  wait_when_busy_ = false;
  const absl::Status restarted =
      Guard(db_->getHandle(), db_->getFilename(), "starting the WAL over", [&]() -> absl::Status {
        db_->exec(
            "INSERT INTO wal_restarts (id, restarts) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET restarts = restarts + 1");
        return absl::OkStatus();
      });
  wait_when_busy_ = true;
  if (restarted.ok() && wal_frames_ == 1) {
    ++wal_restarts_;
  }
  return ran;
}

bool Store::EmptyWal() {
  wait_when_busy_ = false;
  struct WaitAgain {
    Store& store;
    ~WaitAgain() { store.wait_when_busy_ = true; }
  } wait_again{*this};
  // The pragma answers busy in its row (busy, log frames, checkpointed frames), not as an error.
  SQLite::Statement checkpoint(*db_, "PRAGMA wal_checkpoint(TRUNCATE)");
  const bool emptied = !checkpoint.executeStep() || checkpoint.getColumn(0).getInt() == 0;
  if (emptied) {
    wal_frames_ = 0;
  }
  return emptied;
}

// --- Commit ----------------------------------------------------------------------------------

absl::Status Store::Commit(const Batch& batch) {
  if (batch.empty()) {
    return absl::OkStatus();
  }
  if (absl::Status s = CheckBatch(batch); !s.ok()) {
    return s;
  }
  Step step;
  const auto at = [&](Step::Kind kind, std::size_t index) { step = Step{kind, index}; };
  // Writes everything but the COMMIT. A refusal returned from here rolls the batch back.
  const auto write = [&]() -> absl::Status {
    for (std::size_t i = 0; i < batch.calls.size(); ++i) {
      at(Step::Kind::kCall, i);
      WriteCall(batch.calls[i]);
    }
    for (std::size_t i = 0; i < batch.presence.size(); ++i) {
      at(Step::Kind::kPresence, i);
      WritePresence(batch.presence[i]);
    }
    for (std::size_t i = 0; i < batch.results.size(); ++i) {
      at(Step::Kind::kResult, i);
      WriteResult(batch.results[i]);
    }
    for (std::size_t i = 0; i < batch.counsellors.size(); ++i) {
      at(Step::Kind::kCounsellor, i);
      if (absl::Status s = WriteCounsellorOp(batch.counsellors[i]); !s.ok()) {
        return s;
      }
    }
    for (std::size_t i = 0; i < batch.offers.size(); ++i) {
      at(Step::Kind::kOffer, i);
      if (const auto* offer = std::get_if<OfferRow>(&batch.offers[i])) {
        WriteOffer(*offer);
      } else {
        WriteOfferResult(std::get<OfferResult>(batch.offers[i]));
      }
    }
    for (std::size_t i = 0; i < batch.late_dispositions.size(); ++i) {
      at(Step::Kind::kLate, i);
      WriteLateDisposition(batch.late_dispositions[i]);
    }
    // A callback number deleted (its call needed no callback) is zeroed in the file: secure_delete
    // ON for the batch's callback rows, once, then back to FAST, so the journal's own deletes
    // cost no extra writes.
    const bool deletes = std::any_of(batch.callbacks.begin(), batch.callbacks.end(),
                                     [](const CallbackChange& c) {
                                       const auto* ended = std::get_if<CallbackEnded>(&c);
                                       return ended != nullptr && ended->outcome.empty();
                                     });
    {
      std::optional<SecureDelete> secure;
      if (deletes) {
        secure.emplace(*db_);
      }
      for (std::size_t i = 0; i < batch.callbacks.size(); ++i) {
        at(Step::Kind::kCallback, i);
        WriteCallbackChange(batch.callbacks[i]);
      }
    }
    if (!batch.journal.empty()) {
      at(Step::Kind::kJournal, 0);
      if (absl::Status s = WriteJournal(batch.journal); !s.ok()) {
        return s;
      }
    }
    if (batch.snapshot) {
      at(Step::Kind::kSnapshot, 0);
      if (absl::Status s = WriteSnapshot(*batch.snapshot); !s.ok()) {
        return s;
      }
    }
    if (batch.forget_results_before_ms) {
      at(Step::Kind::kForget, 0);
      StatementUse use(*forget_results_);
      (*use).bind(":before", *batch.forget_results_before_ms);
      (*use).exec();
    }
    return absl::OkStatus();
  };

  errno = 0;  // So the errno seen after a failure is the failure's (see SystemErrno).
  int failure_errno = 0;
  try {
    // IMMEDIATE takes the write lock up front, so a batch never fails half-way on a lock another
    // process took (a backup, hotlinectl) after it began. Leaving this scope without commit()
    // rolls everything back.
    SQLite::Transaction transaction(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    try {
      if (absl::Status s = write(); !s.ok()) {
        return s;
      }
      at(Step::Kind::kCommit, 0);
      transaction.commit();
      return absl::OkStatus();
    } catch (...) {
      failure_errno = errno;  // Before the rollback's own system calls can change it.
      throw;
    }
  } catch (const std::exception& e) {
    return StatusFor(e, SystemErrno(db_->getHandle(), failure_errno != 0 ? failure_errno : errno),
                     db_->getFilename(), Describe(batch, step));
  }
}

void Store::WriteCall(const CallRecord& r) {
  StatementUse use(*insert_call_);
  NamedStatement& s = *use;
  const routing::CallInfo& c = r.call;
  s.bind(":call_id", c.call_id);
  s.bind(":gateway_id", c.gateway_id);
  s.bind(":caller_key", c.caller_key);
  s.bind(":caller_masked", c.caller_masked);
  s.bind(":province", c.province);
  s.bind(":province_unknown", c.province_unknown ? 1 : 0);
  s.bind(":caller_withheld", c.caller_withheld ? 1 : 0);
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
  BindDisposition(s, r.disposition ? &*r.disposition : nullptr);
  BindTextOrNull(s, ":reason", r.reason);
  s.exec();
}

void Store::WritePresence(const PresenceChange& change) {
  StatementUse use(*insert_presence_);
  NamedStatement& s = *use;
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
}

void Store::WriteResult(const RequestResult& r) {
  StatementUse use(*upsert_result_);
  NamedStatement& s = *use;
  s.bind(":origin", r.origin);
  s.bind(":request_id", r.request_id);
  s.bind(":at", r.at_ms);
  s.bind(":code", r.code);
  s.bind(":message", r.message);
  BindBlob(s, ":response", r.response);
  s.exec();
}

absl::Status Store::WriteCounsellorOp(const CounsellorOp& op) {
  const CounsellorProfile& p = op.counsellor.profile;
  switch (op.kind) {
    case CounsellorOp::Kind::kInsert: {
      // SQLite may report the token_hash conflict first when both the id and the hash are
      // taken, so the id is checked on its own to say which one it is.
      {
        StatementUse exists(*counsellor_exists_);
        (*exists).bind(":counsellor_id", p.id);
        if ((*exists).executeStep()) {
          return absl::AlreadyExistsError(fmt::format("counsellor '{}' already exists", p.id));
        }
      }
      StatementUse use(*insert_counsellor_);
      BindProfile(*use, p);
      (*use).bind(":token_hash", op.counsellor.token_hash);
      (*use).exec();
      return absl::OkStatus();
    }
    case CounsellorOp::Kind::kUpdate: {
      StatementUse use(*update_counsellor_);
      BindProfile(*use, p);
      if ((*use).exec() == 0) {
        return absl::NotFoundError(fmt::format("no counsellor '{}'", p.id));
      }
      return absl::OkStatus();
    }
    case CounsellorOp::Kind::kRemove: {
      StatementUse use(*remove_counsellor_);
      (*use).bind(":counsellor_id", p.id);
      if ((*use).exec() == 0) {
        return absl::NotFoundError(fmt::format("no counsellor '{}'", p.id));
      }
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("counsellor op has no known kind");  // CheckBatch refused it.
}

void Store::WriteOffer(const OfferRow& o) {
  StatementUse use(*insert_offer_);
  NamedStatement& s = *use;
  s.bind(":call_id", o.call_id);
  s.bind(":counsellor_id", o.counsellor_id);
  s.bind(":offered_at", o.offered_at_ms);
  s.bind(":step", o.step);
  s.bind(":scope", o.scope);
  s.bind(":eligible", o.eligible);
  s.bind(":rule", o.rule);
  // A ringing offer has neither; an offer that already ended has both.
  if (o.result.empty()) {
    s.bind(":result");
    s.bind(":ended_at");
  } else {
    s.bind(":result", o.result);
    s.bind(":ended_at", o.ended_at_ms);
  }
  s.exec();
}

void Store::WriteLateDisposition(const LateDisposition& late) {
  StatementUse use(*late_disposition_);
  NamedStatement& s = *use;
  s.bind(":call_id", late.call_id);
  s.bind(":counsellor_id", late.counsellor_id);
  BindDisposition(s, &late.disposition);
  s.bind(":at", late.at_ms);
  s.exec();
}

// No open offer is not an error: the offer may have been recorded before storage kept offers.
void Store::WriteOfferResult(const OfferResult& r) {
  StatementUse use(*end_offer_);
  NamedStatement& s = *use;
  s.bind(":call_id", r.call_id);
  s.bind(":counsellor_id", r.counsellor_id);
  s.bind(":result", r.result);
  s.bind(":ended_at", r.ended_at_ms);
  s.exec();
}

int64_t Store::QueryLastSeq() {
  StatementUse use(*last_seq_);
  (*use).executeStep();
  return (*use).getColumn(0).getInt64();
}

// REQUIRES: `entries` is non-empty with strictly increasing seqs (CheckBatch).
absl::Status Store::WriteJournal(const std::vector<JournalEntry>& entries) {
  // A seq at or below a stored one means two writers, or a daemon that lost count: appending
  // would put entries out of order for replay.
  const int64_t last = QueryLastSeq();
  if (entries.front().seq <= last) {
    return absl::FailedPreconditionError(
        fmt::format("journal entry {} is not after the last stored seq {} (database '{}')",
                    entries.front().seq, last, db_->getFilename()));
  }
  StatementUse use(*insert_journal_);
  NamedStatement& s = *use;
  for (const JournalEntry& entry : entries) {
    s.bind(":seq", entry.seq);
    s.bind(":at", entry.at_ms);
    BindBlob(s, ":record", entry.record);
    s.exec();
    s.reset();
  }
  return absl::OkStatus();
}

absl::Status Store::WriteSnapshot(const Snapshot& snapshot) {
  std::optional<int64_t> stored;
  {
    StatementUse use(*snapshot_seq_);
    (*use).executeStep();
    if (!(*use).getColumn(0).isNull()) {
      stored = (*use).getColumn(0).getInt64();
    }
  }
  // An older snapshot would need journal entries the stored one already let go of.
  if (stored && snapshot.seq < *stored) {
    return absl::FailedPreconditionError(
        fmt::format("snapshot after journal entry {} is older than the stored one after {} "
                    "(database '{}')",
                    snapshot.seq, *stored, db_->getFilename()));
  }
  const int64_t last = QueryLastSeq();
  if (snapshot.seq > last) {
    return absl::FailedPreconditionError(
        fmt::format("snapshot after journal entry {}, but the journal ends at {} (database '{}')",
                    snapshot.seq, last, db_->getFilename()));
  }
  {
    StatementUse use(*delete_snapshots_);
    (*use).exec();
  }
  {
    StatementUse use(*insert_snapshot_);
    (*use).bind(":seq", snapshot.seq);
    (*use).bind(":at", snapshot.at_ms);
    BindBlob(*use, ":state", snapshot.state);
    (*use).exec();
  }
  StatementUse use(*delete_journal_through_);
  (*use).bind(":seq", snapshot.seq);
  (*use).exec();
  return absl::OkStatus();
}

absl::Status Store::RecordCall(const CallRecord& r) {
  Batch batch;
  batch.calls.push_back(r);
  return Commit(batch);
}

absl::Status Store::RecordPresence(const PresenceChange& change) {
  Batch batch;
  batch.presence.push_back(change);
  return Commit(batch);
}

absl::Status Store::InsertCounsellor(const StoredCounsellor& c) {
  Batch batch;
  batch.counsellors.push_back({CounsellorOp::Kind::kInsert, c});
  return Commit(batch);
}

absl::Status Store::UpdateCounsellor(const CounsellorProfile& p) {
  Batch batch;
  batch.counsellors.push_back({CounsellorOp::Kind::kUpdate, StoredCounsellor{p, ""}});
  return Commit(batch);
}

absl::Status Store::RemoveCounsellor(const std::string& counsellor_id) {
  Batch batch;
  CounsellorOp op{CounsellorOp::Kind::kRemove, {}};
  op.counsellor.profile.id = counsellor_id;
  batch.counsellors.push_back(std::move(op));
  return Commit(batch);
}

// --- Queries ---------------------------------------------------------------------------------

absl::StatusOr<std::optional<Snapshot>> Store::LoadSnapshot() {
  return Guard(
      db_->getHandle(), db_->getFilename(), "loading the snapshot",
      [&]() -> absl::StatusOr<std::optional<Snapshot>> {
        SQLite::Statement s(*db_, "SELECT seq, at, state FROM snapshots ORDER BY seq DESC LIMIT 1");
        if (!s.executeStep()) {
          return std::optional<Snapshot>();
        }
        const RowReader row(s, "snapshots");
        return std::optional<Snapshot>(Snapshot{row.Int("seq"), row.Int("at"), row.Text("state")});
      });
}

absl::Status Store::ReadJournal(int64_t after_seq,
                                const std::function<absl::Status(const JournalEntry&)>& fn) {
  const std::string operation = fmt::format("reading the journal after entry {}", after_seq);
  return Guard(db_->getHandle(), db_->getFilename(), operation, [&]() -> absl::Status {
    SQLite::Statement s(*db_,
                        "SELECT seq, at, record FROM journal WHERE seq > :after ORDER BY seq");
    s.bind(":after", after_seq);
    const RowReader row(s, "journal");
    JournalEntry entry;
    while (s.executeStep()) {
      entry.seq = row.Int("seq");
      entry.at_ms = row.Int("at");
      entry.record = row.Text("record");
      if (absl::Status status = fn(entry); !status.ok()) {
        return status;
      }
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<int64_t> Store::LastJournalSeq() {
  return Guard(db_->getHandle(), db_->getFilename(), "reading the last journal seq",
               [&]() -> absl::StatusOr<int64_t> { return QueryLastSeq(); });
}

absl::StatusOr<std::vector<RequestResult>> Store::LoadRequestResults(int64_t since_ms) {
  const std::string operation = fmt::format("loading request results since {}", since_ms);
  return Guard(db_->getHandle(), db_->getFilename(), operation,
               [&]() -> absl::StatusOr<std::vector<RequestResult>> {
                 SQLite::Statement s(*db_,
                                     "SELECT origin, request_id, at, code, message, response "
                                     "FROM request_results WHERE at >= :since "
                                     "ORDER BY at, origin, request_id");
                 s.bind(":since", since_ms);
                 const RowReader row(s, "request_results");
                 std::vector<RequestResult> results;
                 while (s.executeStep()) {
                   results.push_back(RequestResult{row.Text("origin"), row.Text("request_id"),
                                                   row.Int("at"), row.SmallInt("code"),
                                                   row.Text("message"), row.Text("response")});
                 }
                 return results;
               });
}

absl::StatusOr<std::vector<StoredCounsellor>> Store::LoadCounsellors() {
  return Guard(
      db_->getHandle(), db_->getFilename(), "loading counsellors",
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

absl::Status Store::SaveAccount(const StoredAccount& a) {
  if (a.name.empty() || a.role.empty()) {
    return absl::InvalidArgumentError("account: name and role are required");
  }
  if (absl::Status s = CheckTokenHash(a.token_hash); !s.ok()) {
    return s;
  }
  const std::string operation = fmt::format("saving account '{}'", a.name);
  return Guard(db_->getHandle(), db_->getFilename(), operation, [&]() -> absl::Status {
    SQLite::Statement taken(*db_, "SELECT 1 FROM accounts WHERE token_hash = :h AND name != :n");
    taken.bind(":h", a.token_hash);
    taken.bind(":n", a.name);
    if (taken.executeStep()) {
      return absl::AlreadyExistsError("account: the token hash belongs to another account");
    }
    SQLite::Statement s(*db_,
                        "INSERT OR REPLACE INTO accounts (name, role, gateway_id, token_hash, "
                        "issued_at, revoked_at) VALUES (:name, :role, :gateway_id, :token_hash, "
                        ":issued_at, :revoked_at)");
    s.bind(":name", a.name);
    s.bind(":role", a.role);
    if (a.gateway_id.empty()) {
      s.bind(":gateway_id");
    } else {
      s.bind(":gateway_id", a.gateway_id);
    }
    s.bind(":token_hash", a.token_hash);
    s.bind(":issued_at", a.issued_at_ms);
    if (a.revoked_at_ms == 0) {
      s.bind(":revoked_at");
    } else {
      s.bind(":revoked_at", a.revoked_at_ms);
    }
    s.exec();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<StoredAccount>> Store::LoadAccounts() {
  return Guard(db_->getHandle(), db_->getFilename(), "loading accounts",
               [&]() -> absl::StatusOr<std::vector<StoredAccount>> {
                 SQLite::Statement s(*db_,
                                     "SELECT name, role, gateway_id, token_hash, issued_at, "
                                     "revoked_at FROM accounts ORDER BY name");
                 const RowReader row(s, "accounts");
                 std::vector<StoredAccount> accounts;
                 while (s.executeStep()) {
                   accounts.push_back(StoredAccount{
                       row.Text("name"), row.Text("role"), row.TextOrEmpty("gateway_id"),
                       row.Text("token_hash"), row.Int("issued_at"),
                       row.OptionalInt("revoked_at").value_or(0)});
                 }
                 return accounts;
               });
}

absl::Status Store::SetCounsellorTokenHash(const std::string& counsellor_id,
                                           const std::string& token_hash) {
  if (absl::Status s = CheckTokenHash(token_hash); !s.ok()) {
    return s;
  }
  const std::string operation = fmt::format("rotating the token of counsellor '{}'", counsellor_id);
  return Guard(db_->getHandle(), db_->getFilename(), operation, [&]() -> absl::Status {
    SQLite::Statement s(*db_,
                        "UPDATE counsellors SET token_hash = :h WHERE counsellor_id = :id");
    s.bind(":h", token_hash);
    s.bind(":id", counsellor_id);
    if (s.exec() == 0) {
      return absl::NotFoundError(fmt::format("no counsellor '{}'", counsellor_id));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<CallRecord>> Store::FindCall(const std::string& call_id) {
  const std::string operation = fmt::format("finding call '{}'", call_id);
  return Guard(db_->getHandle(), db_->getFilename(), operation,
               [&]() -> absl::StatusOr<std::optional<CallRecord>> {
                 // A reused call id has several rows: the latest arrival is the call meant now.
                 SQLite::Statement s(*db_, fmt::format("SELECT {} FROM calls WHERE call_id = "
                                                       ":call_id ORDER BY arrived_at DESC, id "
                                                       "DESC LIMIT 1",
                                                       kCallColumns));
                 s.bind(":call_id", call_id);
                 if (!s.executeStep()) {
                   return std::optional<CallRecord>();
                 }
                 return std::optional<CallRecord>(ReadCall(RowReader(s, "calls")));
               });
}

absl::StatusOr<std::optional<std::pair<std::string, int64_t>>> Store::LastFinishedCall() {
  using Last = std::optional<std::pair<std::string, int64_t>>;
  return Guard(db_->getHandle(), db_->getFilename(), "reading the last finished call",
               [&]() -> absl::StatusOr<Last> {
                 SQLite::Statement s(*db_,
                                     "SELECT call_id, COALESCE(wrap_up_done_at, ended_at) AS "
                                     "finished FROM calls ORDER BY id DESC LIMIT 1");
                 if (!s.executeStep()) {
                   return Last();
                 }
                 const RowReader row(s, "calls");
                 return Last(std::pair(row.Text("call_id"), row.Int("finished")));
               });
}

absl::StatusOr<std::vector<FinishedRow>> Store::LoadFinishedCalls(const std::string& last_call_id,
                                                                  int64_t last_finished_ms,
                                                                  int64_t since_ms) {
  const std::string operation =
      fmt::format("reading the calls finished through '{}' at {}", last_call_id, last_finished_ms);
  return Guard(
      db_->getHandle(), db_->getFilename(), operation,
      [&]() -> absl::StatusOr<std::vector<FinishedRow>> {
        SQLite::Statement last(*db_,
                               "SELECT MAX(id) FROM calls WHERE call_id = :call_id AND "
                               "COALESCE(wrap_up_done_at, ended_at) = :finished");
        last.bind(":call_id", last_call_id);
        last.bind(":finished", last_finished_ms);
        if (!last.executeStep() || last.getColumn(0).isNull()) {
          return absl::NotFoundError(
              fmt::format("no row of call '{}' finished at {} in calls (database '{}')",
                          last_call_id, last_finished_ms, db_->getFilename()));
        }
        // Backwards along the primary key from the last row: the finish times fall as the ids
        // do, so the scan stops at the first row finished too long ago.
        // Only what the memory needs (it may be a week of rows, for the repeat window).
        SQLite::Statement s(*db_,
                            "SELECT call_id, gateway_id, caller_key, counsellor_id, outcome, "
                            "answered_at, ended_at, wrap_up_done_at, category, heavy, "
                            "late_disposition_at FROM calls WHERE id <= :last ORDER BY id DESC");
        s.bind(":last", last.getColumn(0).getInt64());
        const RowReader row(s, "calls");
        std::vector<FinishedRow> rows;
        while (s.executeStep()) {
          FinishedRow r;
          r.record.call.call_id = row.Text("call_id");
          r.record.call.gateway_id = row.Text("gateway_id");
          r.record.call.caller_key = row.Text("caller_key");
          r.record.counsellor_id = row.TextOrEmpty("counsellor_id");
          r.record.outcome = row.Enum("outcome", &ParseOutcome);
          r.record.answered_at = row.OptionalTime("answered_at");
          r.record.ended_at = row.Time("ended_at");
          r.record.wrap_up_done_at = row.OptionalTime("wrap_up_done_at");
          // `heavy` is NULL exactly when there is no disposition (see ReadCall).
          if (row.OptionalInt("heavy")) {
            r.record.disposition.emplace().category = row.Text("category");
          }
          r.late_disposition_at_ms = row.OptionalInt("late_disposition_at");
          if (routing::ToUnixMillis(r.record.wrap_up_done_at.value_or(r.record.ended_at)) <=
              since_ms) {
            break;
          }
          rows.push_back(std::move(r));
        }
        std::reverse(rows.begin(), rows.end());
        return rows;
      });
}

absl::StatusOr<int> Store::CountCalls(const std::string& call_id) {
  const std::string operation = fmt::format("counting calls '{}'", call_id);
  return Guard(db_->getHandle(), db_->getFilename(), operation, [&]() -> absl::StatusOr<int> {
    SQLite::Statement s(*db_, "SELECT COUNT(*) FROM calls WHERE call_id = :call_id");
    s.bind(":call_id", call_id);
    s.executeStep();
    return s.getColumn(0).getInt();
  });
}

absl::StatusOr<std::vector<OfferRow>> Store::ListOffers(const std::string& call_id) {
  const std::string operation = fmt::format("listing the offers of call '{}'", call_id);
  return Guard(db_->getHandle(), db_->getFilename(), operation,
               [&]() -> absl::StatusOr<std::vector<OfferRow>> {
                 SQLite::Statement s(*db_,
                                     "SELECT call_id, counsellor_id, offered_at, step, scope, "
                                     "eligible, rule, result, ended_at FROM offers "
                                     "WHERE call_id = :call_id ORDER BY offered_at, id");
                 s.bind(":call_id", call_id);
                 const RowReader row(s, "offers");
                 std::vector<OfferRow> offers;
                 while (s.executeStep()) {
                   OfferRow o;
                   o.call_id = row.Text("call_id");
                   o.counsellor_id = row.Text("counsellor_id");
                   o.offered_at_ms = row.Int("offered_at");
                   o.step = row.SmallInt("step");
                   o.scope = row.Text("scope");
                   o.eligible = row.SmallInt("eligible");
                   o.rule = row.Text("rule");
                   o.result = row.TextOrEmpty("result");
                   o.ended_at_ms = row.OptionalInt("ended_at").value_or(0);
                   offers.push_back(std::move(o));
                 }
                 return offers;
               });
}

absl::StatusOr<std::optional<std::string>> Store::CallerKeyFingerprint() {
  return ReadKeyFingerprint(*db_, "caller_key", "caller key");
}

absl::Status Store::RecordCallerKeyFingerprint(const std::string& fingerprint) {
  return RecordKeyFingerprint(*db_, "caller_key", "caller key", fingerprint);
}

absl::StatusOr<bool> Store::CounsellorHasHistory(const std::string& counsellor_id) {
  const std::string operation = fmt::format("looking for the history of '{}'", counsellor_id);
  return Guard(db_->getHandle(), db_->getFilename(), operation, [&]() -> absl::StatusOr<bool> {
    // Each through its table's index by counsellor.
    SQLite::Statement s(*db_,
                        "SELECT EXISTS (SELECT 1 FROM presence WHERE counsellor_id = :id) "
                        "OR EXISTS (SELECT 1 FROM calls WHERE counsellor_id = :id) "
                        "OR EXISTS (SELECT 1 FROM offers WHERE counsellor_id = :id)");
    s.bind(":id", counsellor_id);
    return s.executeStep() && s.getColumn(0).getInt() != 0;
  });
}

absl::StatusOr<bool> Store::HoldsCallerKeys() {
  return Guard(db_->getHandle(), db_->getFilename(), "looking for caller keys",
               [&]() -> absl::StatusOr<bool> {
                 return db_
                            ->execAndGet(
                                "SELECT EXISTS (SELECT 1 FROM calls WHERE caller_key != '') "
                                "OR EXISTS (SELECT 1 FROM journal) "
                                "OR EXISTS (SELECT 1 FROM snapshots)")
                            .getInt() != 0;
               });
}

absl::StatusOr<int> Store::SynchronousLevel() {
  return Guard(
      db_->getHandle(), db_->getFilename(), "reading PRAGMA synchronous",
      [&]() -> absl::StatusOr<int> { return db_->execAndGet("PRAGMA synchronous").getInt(); });
}

absl::StatusOr<std::vector<PresenceChange>> Store::PresenceHistory(
    const std::string& counsellor_id) {
  const std::string operation = fmt::format("reading presence of '{}'", counsellor_id);
  return Guard(db_->getHandle(), db_->getFilename(), operation,
               [&]() -> absl::StatusOr<std::vector<PresenceChange>> {
                 // `id` breaks ties between changes in the same millisecond: insertion order.
                 SQLite::Statement s(*db_,
                                     "SELECT counsellor_id, state, reason, call_id, at FROM "
                                     "presence WHERE counsellor_id = :counsellor_id "
                                     "ORDER BY at, id");
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
