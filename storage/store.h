// The daemon's SQLite database: the journal and its snapshot, call records, counsellor presence
// history, counsellor profiles and the answers given to request ids, behind one Store that owns
// the connection and is the daemon's Sink (storage/batch.h).
//
// Store owns its one SQLite connection (DESIGN §5: one writer connection) and the prepared
// statements it reuses. Times are stored as INTEGER Unix milliseconds and enums as their lowercase
// routing::Name() strings, so reports read `outcome = 'abandoned'`. Journal records, snapshot
// states and responses are BLOBs storage never parses. The schema lives in numbered migrations
// (storage/migrations.h) tracked by `PRAGMA user_version`.
//
// Every write goes through Commit: the single-item functions (RecordCall, InsertCounsellor, ...)
// commit a one-item Batch, so there is one code path and one transaction per call.
//
// No exception leaves this module: every SQLite error becomes an absl::Status. The mapping:
//   UNAVAILABLE         the file cannot be opened, read or written now (missing directory,
//                       permissions, I/O error, database busy past the 5 s busy timeout);
//   RESOURCE_EXHAUSTED  the disk or the database is full: SQLITE_FULL, or an I/O error whose
//                       system error is ENOSPC, EDQUOT or EFBIG (a file size limit);
//   DATA_LOSS           SQLite reports the file corrupt;
//   FAILED_PRECONDITION the file is not a SQLite database, or its schema is newer than this build;
//                       a journal seq or snapshot out of order;
//   INTERNAL            anything else, including a stored value this build cannot parse
//                       ("corrupt value ... in column ...").
// Messages carry SQLite's own message, the database path and the item that failed.
//
// Thread-safety: not thread-safe. One owner thread (the daemon's journal writer, or the engine
// thread before there is one) creates the Store and makes every call on it. The connection is
// opened without SQLite's own locking (SQLITE_OPEN_NOMUTEX): two threads calling at once would
// corrupt it, where SQLite would otherwise serialize them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/types.h"
#include "storage/batch.h"
#include "storage/privacy.h"

struct sqlite3;

namespace hotline::storage {
class NamedStatement;  // storage/sqlite_support.h
}  // namespace hotline::storage

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace hotline::storage {

struct OpenOptions {
  // PRAGMA synchronous: "NORMAL" (a commit is durable once the WAL is checkpointed or the next
  // commit's fsync ran; a power loss may lose the last commits, a process crash loses nothing)
  // or "FULL" (an fsync of the WAL on every commit: a power loss loses nothing acknowledged).
  std::string synchronous = "NORMAL";
};

// A row of `calls`, as recovery rebuilds the memory of finished calls from it.
struct FinishedRow {
  // Only these fields are read: call.call_id, call.gateway_id, call.caller_key, counsellor_id,
  // outcome, answered_at, ended_at, wrap_up_done_at and the disposition's category.
  routing::CallRecord record;
  // When its disposition was recorded after the wrap-up ended; nullopt for none, or in wrap-up.
  std::optional<int64_t> late_disposition_at_ms;
  bool operator==(const FinishedRow&) const = default;
};

// Sets SQLite up for the whole process: its memory statistics off, which hotline never reads and
// which take a global mutex at every allocation SQLite makes (about 5 % of a call's rows' CPU in
// storage_bench's BM_CommitCalls; docs/performance.md). Call it at the start of main, before any
// thread starts and before any database is opened; SQLite refuses the change once it has started,
// and then nothing changes (correct, only slower).
void ConfigureSqliteForProcess();

// Owns the SQLite database. Not thread-safe: one owner thread calls it.
class Store final : public Sink {
 public:
  // Opens or creates the database at `path` (":memory:" allowed), sets journal_mode=WAL,
  // synchronous as `options` says, foreign_keys=ON, a busy wait of up to 5 s for another
  // connection's lock (OnBusy, counted in busy_waits), and applies the pending
  // numbered migrations, each in its own transaction.
  // Errors: INVALID_ARGUMENT if options.synchronous is not "NORMAL" or "FULL" (nothing is
  // opened); UNAVAILABLE (cannot open, e.g. the directory does not exist) or INTERNAL, with the
  // SQLite message and the path; FAILED_PRECONDITION if the file is not a database or its schema
  // is newer than this build knows; see the file comment for the rest.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path,
                                                     const OpenOptions& options = {});

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store() override;

  // Writes the whole batch in one IMMEDIATE transaction with the reused prepared statements:
  // calls, presence, results, counsellor ops in order, offers, offer results in order, journal
  // entries, the snapshot (which then
  // deletes the journal entries it covers), the pruning of old results. All or nothing.
  // Errors, with nothing stored:
  //   INVALID_ARGUMENT    an item the database could not give back as written (as for
  //                       RecordCall, RecordPresence, InsertCounsellor, UpdateCounsellor), a
  //                       result with an empty origin or request_id or a code outside 0..16,
  //                       journal seqs not strictly increasing from 1, a negative snapshot seq,
  //                       an offer or offer result with an empty call_id or counsellor_id, an
  //                       offer result with an empty result;
  //                       checked before the database is touched;
  //   FAILED_PRECONDITION the first journal seq is not above every stored seq (journal and
  //                       snapshot); the snapshot's seq is below the stored snapshot's or above
  //                       the last journal seq;
  //   ALREADY_EXISTS      a kInsert counsellor op whose id or token hash is taken;
  //   NOT_FOUND           a kUpdate or kRemove counsellor op for a counsellor not stored;
  //   RESOURCE_EXHAUSTED, UNAVAILABLE, ...: see the file comment.
  [[nodiscard]] absl::Status Commit(const Batch& batch) override;

  // The latest snapshot, or nullopt if none was ever committed.
  absl::StatusOr<std::optional<Snapshot>> LoadSnapshot();

  // Calls `fn` with each journal entry whose seq is above `after_seq`, in seq order. Stops at
  // the first error `fn` returns and returns it unchanged; otherwise OK, or a database error.
  // `fn` must not call this Store.
  [[nodiscard]] absl::Status ReadJournal(
      int64_t after_seq, const std::function<absl::Status(const JournalEntry&)>& fn);

  // The highest seq stored: of the journal entries and of the snapshot (a snapshot deletes the
  // entries it covers). 0 when there is neither. The next journal entry must be above it.
  absl::StatusOr<int64_t> LastJournalSeq();

  // The stored request results answered at or after `since_ms`, by at_ms, then origin, then
  // request_id.
  absl::StatusOr<std::vector<RequestResult>> LoadRequestResults(int64_t since_ms);

  // Writes one row of `calls` for a finished call, with wait_ms and talk_ms derived from its
  // timestamps. An empty counsellor_id or reason is stored as NULL. A call_id may be recorded
  // more than once (gateways reuse ids after a while): each record gets its own row.
  // Errors: INVALID_ARGUMENT if call_id is empty, an enum has no known value, or a disposition
  // flag is empty or contains ','.
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

  // Inserts or replaces the account named `a.name` (issue, rotation, revocation), in its own
  // transaction. Errors: INVALID_ARGUMENT for an empty name or role or a token hash that is not
  // lowercase hex; ALREADY_EXISTS if another account has the token hash.
  [[nodiscard]] absl::Status SaveAccount(const StoredAccount& a);
  // Every account, revoked ones included, ordered by name.
  absl::StatusOr<std::vector<StoredAccount>> LoadAccounts();
  // Sets the desk token hash of counsellor `counsellor_id` (a rotation), in its own transaction.
  // Errors: NOT_FOUND for an unknown counsellor; INVALID_ARGUMENT for a hash that is not hex.
  [[nodiscard]] absl::Status SetCounsellorTokenHash(const std::string& counsellor_id,
                                                    const std::string& token_hash);

  // Returns the latest record of `call_id` (by arrival, then by insertion), or nullopt if there
  // is none.
  absl::StatusOr<std::optional<routing::CallRecord>> FindCall(const std::string& call_id);

  // The number of rows of `calls` for `call_id`.
  absl::StatusOr<int> CountCalls(const std::string& call_id);

  // The call that finished last (the newest row of `calls`): its id and when it finished
  // (wrap_up_done_at, else ended_at), or nullopt when there is no row.
  absl::StatusOr<std::optional<std::pair<std::string, int64_t>>> LastFinishedCall();
  // The rows of the calls that finished after `since_ms`, up to and including the newest row of
  // `last_call_id` that finished at `last_finished_ms`, oldest first: rows are written in the
  // order calls finish, so these are the calls finished by then. Reads only those rows (from the
  // last one back, while they finished after `since_ms`). NOT_FOUND when that row is missing.
  absl::StatusOr<std::vector<FinishedRow>> LoadFinishedCalls(const std::string& last_call_id,
                                                             int64_t last_finished_ms,
                                                             int64_t since_ms);

  // Returns the presence changes of one counsellor in the order they happened (by `at`, then by
  // insertion). Empty for an unknown counsellor.
  absl::StatusOr<std::vector<routing::PresenceChange>> PresenceHistory(
      const std::string& counsellor_id);

  // The offers of `call_id`, with their explanations and results, in the order they were made
  // (offered_at, then insertion). Empty for an unknown call. A reused call id lists the offers of
  // every call that had it.
  // Thread-safety: like every call here, on the owner thread; the daemon calls it on the journal
  // writer thread (the one that calls Commit), after a commit.
  absl::StatusOr<std::vector<OfferRow>> ListOffers(const std::string& call_id);

  // The fingerprint of the caller key recorded in the database, or nullopt if none was recorded.
  absl::StatusOr<std::optional<std::string>> CallerKeyFingerprint();

  // Records the fingerprint of the caller key (never the key itself).
  // Errors: ALREADY_EXISTS if a fingerprint is recorded already (it is never replaced);
  // INVALID_ARGUMENT if `fingerprint` is empty.
  [[nodiscard]] absl::Status RecordCallerKeyFingerprint(const std::string& fingerprint);

  // Whether rows of `calls`, `offers` or `presence` name `counsellor_id`: the history of a
  // counsellor, kept after they are removed (their id is then not given to anyone else).
  absl::StatusOr<bool> CounsellorHasHistory(const std::string& counsellor_id);

  // Whether the database may hold caller keys: a row of `calls` with one, or any journal record
  // or snapshot (either may carry them).
  absl::StatusOr<bool> HoldsCallerKeys();

  // --- Children's data (storage/privacy.h; defined in storage/privacy.cc). ---

  // The pending callbacks, oldest end first, at most `limit`.
  absl::StatusOr<std::vector<PendingCallback>> ListCallbacks(int64_t limit);

  // The pending callback `id` and its sealed number. NOT_FOUND when there is none (never was,
  // done, or deleted past its retention).
  absl::StatusOr<std::pair<PendingCallback, std::string>> SealedCallback(int64_t id);

  // Marks the pending callback `id` done: its sealed number and masked number are erased securely
  // (the freed bytes are zeroed, and the WAL checkpointed into the file and emptied unless a
  // reader holds it) and its row stays, without them, until its retention, so that
  // marking it done again (a retry after a lost reply) is answered OK. Returns true if it was
  // pending, false if it was done already. NOT_FOUND when there is no such callback (never was,
  // still live, or deleted past its retention). Ids are never given again (AUTOINCREMENT).
  absl::StatusOr<bool> MarkCallbackDone(int64_t id);

  // The fingerprint of the callback key, or nullopt if none was recorded.
  absl::StatusOr<std::optional<std::string>> CallbackKeyFingerprint();
  // Records it once. ALREADY_EXISTS if one is recorded; INVALID_ARGUMENT if empty.
  [[nodiscard]] absl::Status RecordCallbackKeyFingerprint(const std::string& fingerprint);
  // Whether any sealed number is stored (live or pending).
  absl::StatusOr<bool> HoldsCallbacks();

  // Appends one audit row. INVALID_ARGUMENT as CheckAuditRow says.
  [[nodiscard]] absl::Status RecordAudit(const AuditRow& row);
  // The audit rows at or after `since_ms`, oldest first, at most `limit`.
  absl::StatusOr<std::vector<AuditRow>> ListAudit(int64_t since_ms, int64_t limit);

  // Anonymises and deletes what `cut` says in one transaction with secure_delete on (freed
  // pages zeroed), then checkpoints and truncates the WAL so no old page image stays in it.
  // Returns what changed. The checkpoint waits for no other connection: with a reader in a
  // transaction it leaves the WAL as it is (wal_emptied false) at once, where the busy wait would
  // have held the writer, and every acknowledgement behind it, for 5 s.
  absl::StatusOr<RetentionCounts> ApplyRetention(const RetentionCut& cut);

  // How many times this connection has waited for a lock another connection held (each wait up
  // to 5 s, then the operation fails busy). Any thread may read it.
  int64_t busy_waits() const { return busy_waits_.load(std::memory_order_relaxed); }

  // SQLite's auto-checkpoint runs inside a COMMIT, so the commit that takes the WAL past 1,000
  // pages waited for a copy of every page into the database file and, at synchronous = NORMAL,
  // two fsyncs, and so did every acknowledgement of its batch. Here it is off: commits only
  // append to the WAL, and this checkpoints it (PASSIVE: it waits for no reader and copies what
  // no reader still needs) once a commit has left kCheckpointFrames pages or more in it. The
  // writer calls it after answering each batch, on the one connection that writes (DESIGN.md:
  // one writer connection). Durability is unchanged: a commit is in the WAL either way.
  // Whether a checkpoint ran. Errors (UNAVAILABLE, RESOURCE_EXHAUSTED, ...) leave the frames in
  // the WAL; the next call tries again.
  // When the writer has been quiet (Moment::kQuiet) the bar is kQuietCheckpointFrames: a
  // checkpoint then holds no unit, and a small WAL is cheap to copy. Under sparse load the WAL
  // is emptied in the gaps and never reaches the 1,000 pages whose checkpoint, right after an
  // answer, held the gateway's next event 5-10 ms (docs/performance.md, "Call ids hashed once,
  // checkpoints in the quiet moments"). A quiet checkpoint that copied every frame then starts
  // the WAL over with a commit of one page (the `wal_restarts` row), so that the restart's sync
  // falls in the gap, not in the next caller's arrival.
  absl::StatusOr<bool> CheckpointIfDue(Moment moment) override;
  // Run by the busy handler before each pause of a wait on the thread that set it (the writer's:
  // its commits, and the writes its answers make, such as audit rows and counsellors' tokens).
  void SetLockWaitHook(std::function<void()> hook) override {
    lock_wait_hook_ = std::move(hook);
    lock_wait_thread_ = std::this_thread::get_id();
  }
  // SQLite's own auto-checkpoint threshold, kept for checkpoints right after answers.
  static constexpr int kCheckpointFrames = 1000;
  // The bar once the writer has been quiet: a few calls' commits (a call that arrives and hangs
  // up, two commits, writes about 22 pages).
  static constexpr int kQuietCheckpointFrames = 100;
  // The page size of a database Open creates; one made earlier keeps its own (SQLite's default,
  // 4,096, before issue 11's fourteenth session). Every commit writes each page it touched to the
  // WAL whole, about 30 of them a commit (the last page of each table and index it appends to),
  // and a checkpoint's fdatasync of the WAL costs in proportion to those bytes, not to the
  // ~160 distinct pages it copies: half the page, half the bytes synced (docs/performance.md,
  // "Checkpoints: where the time goes").
  static constexpr int kNewPageBytes = 2048;
  // Frames in the WAL after the last commit; checkpoints run by CheckpointIfDue.
  int wal_frames() const { return wal_frames_; }
  int64_t checkpoints() const { return checkpoints_; }
  // Quiet checkpoints that copied every frame and then started the WAL over (CheckpointIfDue).
  int64_t wal_restarts() const { return wal_restarts_; }

  // PRAGMA synchronous as this connection has it: 1 for NORMAL, 2 for FULL.
  absl::StatusOr<int> SynchronousLevel();

  // The schema version after migrations: the number of migrations applied.
  int schema_version() const;

 private:
  Store(std::unique_ptr<SQLite::Database> db, int schema_version);

  // The writes of Commit, inside its transaction. Each throws SQLite::Exception on a database
  // error; the Status ones return a refusal that rolls the batch back.
  void WriteCall(const routing::CallRecord& r);
  void WritePresence(const routing::PresenceChange& change);
  void WriteResult(const RequestResult& result);
  [[nodiscard]] absl::Status WriteCounsellorOp(const CounsellorOp& op);
  void WriteOffer(const OfferRow& offer);
  void WriteOfferResult(const OfferResult& result);
  void WriteLateDisposition(const LateDisposition& late);
  // REQUIRES: secure_delete ON when `change` deletes (Commit turns it on for the batch).
  void WriteCallbackChange(const CallbackChange& change);  // storage/privacy.cc
  // `slot`, prepared from `sql` on first use: statements of tables a later migration added.
  NamedStatement& Prepared(std::unique_ptr<NamedStatement>& slot, std::string_view sql);
  [[nodiscard]] absl::Status WriteJournal(const std::vector<JournalEntry>& entries);
  [[nodiscard]] absl::Status WriteSnapshot(const Snapshot& snapshot);
  int64_t QueryLastSeq();
  // The connection's busy handler: waits in growing pauses, 5 s in all (kBusyTimeoutMs), as
  // sqlite3_busy_timeout would, counting each wait in busy_waits_; at once gives up while
  // wait_when_busy_ is false. It runs lock_wait_hook_ before each pause (SetLockWaitHook).
  static int OnBusy(void* store, int tries);
  // The WAL hook: after each commit, the frames the WAL now holds (wal_frames_).
  static int OnWalCommit(void* store, sqlite3* db, const char* name, int frames);
  // Checkpoints and truncates the WAL without waiting for readers; whether it was emptied.
  // Throws SQLite::Exception (callers run it inside Guard).
  bool EmptyWal();

  // Declared first so it is destroyed last, after the statements prepared on it.
  std::unique_ptr<SQLite::Database> db_;
  int schema_version_;
  std::atomic<int64_t> busy_waits_ = 0;
  bool wait_when_busy_ = true;
  int busy_waited_ms_ = 0;  // In the current wait.
  // SetLockWaitHook's; run only on lock_wait_thread_, the thread that set it.
  std::function<void()> lock_wait_hook_;
  std::thread::id lock_wait_thread_;
  int wal_frames_ = 0;      // Frames in the WAL after the last commit (OnWalCommit).
  int64_t checkpoints_ = 0;
  int64_t wal_restarts_ = 0;
  // Prepared once and reused (re-preparing per row costs about 7x).
  std::unique_ptr<NamedStatement> insert_call_;
  std::unique_ptr<NamedStatement> insert_presence_;
  std::unique_ptr<NamedStatement> insert_journal_;
  std::unique_ptr<NamedStatement> upsert_result_;
  std::unique_ptr<NamedStatement> counsellor_exists_;
  std::unique_ptr<NamedStatement> insert_counsellor_;
  std::unique_ptr<NamedStatement> update_counsellor_;
  std::unique_ptr<NamedStatement> remove_counsellor_;
  std::unique_ptr<NamedStatement> last_seq_;
  std::unique_ptr<NamedStatement> snapshot_seq_;
  std::unique_ptr<NamedStatement> delete_snapshots_;
  std::unique_ptr<NamedStatement> insert_snapshot_;
  std::unique_ptr<NamedStatement> delete_journal_through_;
  std::unique_ptr<NamedStatement> forget_results_;
  std::unique_ptr<NamedStatement> insert_offer_;
  std::unique_ptr<NamedStatement> end_offer_;
  std::unique_ptr<NamedStatement> late_disposition_;
  // Prepared on first use (Prepared): a call's callback row, written in every arrival's commit.
  std::unique_ptr<NamedStatement> insert_callback_;
  std::unique_ptr<NamedStatement> delete_callback_;
  std::unique_ptr<NamedStatement> pend_callback_;
};

}  // namespace hotline::storage
