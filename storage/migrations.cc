#include "storage/migrations.h"

#include <array>

namespace hotline::storage {
namespace {

// Tables are STRICT so a value of the wrong type is refused on write instead of read back wrong.
// Enums are stored as their routing::Name() strings without CHECK constraints: SQLite cannot
// alter a CHECK in place, and a new enum value must not need a table rebuild.
// There are no foreign keys from calls or presence to counsellors on purpose: removing a
// counsellor keeps the history of their calls and presence.
constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE calls (
  call_id           TEXT PRIMARY KEY NOT NULL,
  gateway_id        TEXT NOT NULL,
  caller_key        TEXT NOT NULL,  -- keyed hash of the caller's number, never the number
  caller_masked     TEXT NOT NULL,
  province          TEXT NOT NULL,
  language          TEXT NOT NULL,
  topic             TEXT NOT NULL,
  priority          TEXT NOT NULL,
  gender_preference TEXT NOT NULL,
  arrived_at        INTEGER NOT NULL,  -- Unix milliseconds, like every *_at column
  first_offered_at  INTEGER,
  accepted_at       INTEGER,
  answered_at       INTEGER,
  ended_at          INTEGER NOT NULL,
  wrap_up_done_at   INTEGER,
  outcome           TEXT NOT NULL,
  counsellor_id     TEXT,              -- NULL when nobody accepted the call
  wait_ms           INTEGER NOT NULL,  -- answered_at - arrived_at, or ended_at - arrived_at
  talk_ms           INTEGER,           -- ended_at - answered_at; NULL when never answered
  offers            INTEGER NOT NULL,
  final_step        INTEGER NOT NULL,
  category          TEXT,              -- category..note: NULL without a disposition
  action            TEXT,
  flags             TEXT,              -- comma-separated
  heavy             INTEGER CHECK (heavy IN (0, 1)),
  note              TEXT,
  reason            TEXT               -- why FAILED or REJECTED; NULL when none
) STRICT;
CREATE INDEX calls_by_arrival ON calls (arrived_at);
CREATE INDEX calls_by_counsellor ON calls (counsellor_id);

CREATE TABLE presence (
  id            INTEGER PRIMARY KEY,
  counsellor_id TEXT NOT NULL,
  state         TEXT NOT NULL,
  reason        TEXT,     -- break reason; NULL when none
  call_id       TEXT,     -- the call held in this state; NULL when none
  at            INTEGER NOT NULL
) STRICT;
CREATE INDEX presence_by_counsellor ON presence (counsellor_id, at);

CREATE TABLE counsellors (
  counsellor_id TEXT PRIMARY KEY NOT NULL,
  display_name  TEXT NOT NULL,
  home_province TEXT NOT NULL,
  provinces     TEXT NOT NULL,  -- comma-separated
  skills        TEXT NOT NULL,  -- "topic:level" comma-separated: "abuse_report:4,counselling:3"
  languages     TEXT NOT NULL,  -- comma-separated
  gender        TEXT NOT NULL,
  endpoint      TEXT NOT NULL,
  token_hash    TEXT NOT NULL UNIQUE,  -- hex hash of the desk token, never the token
  created_at    INTEGER NOT NULL
                DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)),
  updated_at    INTEGER NOT NULL
                DEFAULT (CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER))
) STRICT;
)sql";

// The journal (DESIGN §4, "Journal first"), the snapshot it restarts from, and the answers given
// to request ids. `calls` is rebuilt with a surrogate key because a gateway may reuse a call id
// after a long time, and a second finished call must never be refused or lost; the old rowid
// becomes `id`, so insertion order survives.
constexpr std::string_view kMigration2 = R"sql(
CREATE TABLE journal (
  seq    INTEGER PRIMARY KEY,  -- strictly increasing, never reused
  at     INTEGER NOT NULL,
  record BLOB NOT NULL         -- one accepted engine input, serialized by the daemon
) STRICT;

CREATE TABLE snapshots (       -- at most one row: the latest
  seq   INTEGER PRIMARY KEY,   -- the state after journal entry `seq`
  at    INTEGER NOT NULL,
  state BLOB NOT NULL
) STRICT;

CREATE TABLE request_results (
  origin     TEXT NOT NULL,    -- "gateway:gw-1", "desk:lan", "supervisor"
  request_id TEXT NOT NULL,
  at         INTEGER NOT NULL,
  code       INTEGER NOT NULL, -- google.rpc.Code
  message    TEXT NOT NULL,
  response   BLOB NOT NULL,    -- the serialized reply; may be empty
  PRIMARY KEY (origin, request_id)
) STRICT;
CREATE INDEX request_results_by_at ON request_results (at);

CREATE TABLE calls_v2 (
  id                INTEGER PRIMARY KEY,
  call_id           TEXT NOT NULL,     -- the gateway's; may repeat across a long time
  gateway_id        TEXT NOT NULL,
  caller_key        TEXT NOT NULL,  -- keyed hash of the caller's number, never the number
  caller_masked     TEXT NOT NULL,
  province          TEXT NOT NULL,
  language          TEXT NOT NULL,
  topic             TEXT NOT NULL,
  priority          TEXT NOT NULL,
  gender_preference TEXT NOT NULL,
  arrived_at        INTEGER NOT NULL,  -- Unix milliseconds, like every *_at column
  first_offered_at  INTEGER,
  accepted_at       INTEGER,
  answered_at       INTEGER,
  ended_at          INTEGER NOT NULL,
  wrap_up_done_at   INTEGER,
  outcome           TEXT NOT NULL,
  counsellor_id     TEXT,              -- NULL when nobody accepted the call
  wait_ms           INTEGER NOT NULL,  -- answered_at - arrived_at, or ended_at - arrived_at
  talk_ms           INTEGER,           -- ended_at - answered_at; NULL when never answered
  offers            INTEGER NOT NULL,
  final_step        INTEGER NOT NULL,
  category          TEXT,              -- category..note: NULL without a disposition
  action            TEXT,
  flags             TEXT,              -- comma-separated
  heavy             INTEGER CHECK (heavy IN (0, 1)),
  note              TEXT,
  reason            TEXT               -- why FAILED or REJECTED; NULL when none
) STRICT;
INSERT INTO calls_v2 (
  id, call_id, gateway_id, caller_key, caller_masked, province, language, topic, priority,
  gender_preference, arrived_at, first_offered_at, accepted_at, answered_at, ended_at,
  wrap_up_done_at, outcome, counsellor_id, wait_ms, talk_ms, offers, final_step,
  category, action, flags, heavy, note, reason)
SELECT
  rowid, call_id, gateway_id, caller_key, caller_masked, province, language, topic, priority,
  gender_preference, arrived_at, first_offered_at, accepted_at, answered_at, ended_at,
  wrap_up_done_at, outcome, counsellor_id, wait_ms, talk_ms, offers, final_step,
  category, action, flags, heavy, note, reason
FROM calls ORDER BY rowid;
DROP TABLE calls;  -- and its indexes
ALTER TABLE calls_v2 RENAME TO calls;
CREATE INDEX calls_by_call_id ON calls (call_id, arrived_at);
CREATE INDEX calls_by_arrival ON calls (arrived_at);
CREATE INDEX calls_by_counsellor ON calls (counsellor_id);
CREATE INDEX calls_by_caller ON calls (caller_key, arrived_at);  -- repeat callers
)sql";

// Each offer of a call with why it was made, so a supervisor can ask "why did this call go to
// her?". result and ended_at stay NULL while the offer rings.
constexpr std::string_view kMigration3 = R"sql(
CREATE TABLE offers (
  id            INTEGER PRIMARY KEY,
  call_id       TEXT NOT NULL,
  counsellor_id TEXT NOT NULL,
  offered_at    INTEGER NOT NULL,
  step          INTEGER NOT NULL,  -- 0-based ladder step
  scope         TEXT NOT NULL,     -- "province", "centre", "national"
  eligible      INTEGER NOT NULL,  -- how many counsellors could have taken it
  rule          TEXT NOT NULL,     -- e.g. "longest idle (42 s)"
  result        TEXT,              -- "accepted", "declined", ...; NULL while it rings
  ended_at      INTEGER            -- NULL while it rings
) STRICT;
CREATE INDEX offers_by_call ON offers (call_id, offered_at);
CREATE INDEX offers_by_counsellor ON offers (counsellor_id, offered_at);
)sql";

// Gateway data errors are marked on the call, never refused (DESIGN §6): a province code not in
// the region tree (routed at national scope) and a withheld or malformed number (an unknown
// caller, caller_key empty).
constexpr std::string_view kMigration4 = R"sql(
ALTER TABLE calls ADD COLUMN province_unknown INTEGER NOT NULL DEFAULT 0
  CHECK (province_unknown IN (0, 1));
ALTER TABLE calls ADD COLUMN caller_withheld INTEGER NOT NULL DEFAULT 0
  CHECK (caller_withheld IN (0, 1));
)sql";

// Reports (storage/report_rows.h) read the calls whose wait was decided (answered, or left the
// queue) or whose handling ended in a period: an index on each of those two times, as the
// expressions the report's query uses, so a month's report does not scan years of calls.
constexpr std::string_view kMigration5 = R"sql(
CREATE INDEX calls_by_decision ON calls (COALESCE(answered_at, ended_at));
CREATE INDEX calls_by_handling_end ON calls (COALESCE(wrap_up_done_at, ended_at));
)sql";

// Late dispositions (recorded after the wrap-up ended, desk.proto SubmitDisposition), and the
// indexes a counsellor's own shift figures read (DeskService.ShiftFigures).
constexpr std::string_view kMigration6 = R"sql(
ALTER TABLE calls ADD COLUMN late_disposition_at INTEGER;
CREATE INDEX calls_by_counsellor_handling
  ON calls (counsellor_id, COALESCE(wrap_up_done_at, ended_at));
)sql";

// The fingerprint of the caller key this database's caller keys (calls, journal, snapshots) were
// made with: a keyed hash of a fixed text, never the key. The daemon refuses to start with another
// key, or none, rather than making every repeat-caller link and never-route rule silently wrong.
// At most one row.
constexpr std::string_view kMigration7 = R"sql(
CREATE TABLE caller_key (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  fingerprint TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
) STRICT;
)sql";

// Named accounts of the gateway, supervisor and admin roles (docs/security.md): the hash of each
// account's current token, never the token. A revoked account keeps its row (revoked_at set) so
// its name is never reused. A gateway account names the one gateway it may say Hello as.
constexpr std::string_view kMigrationAccounts = R"sql(
CREATE TABLE accounts (
  name        TEXT PRIMARY KEY NOT NULL,
  role        TEXT NOT NULL,           -- "gateway" | "supervisor" | "admin"
  gateway_id  TEXT,                    -- gateway accounts only
  token_hash  TEXT NOT NULL UNIQUE,    -- hex hash of the current token
  issued_at   INTEGER NOT NULL,        -- when the current token was issued, Unix milliseconds
  revoked_at  INTEGER                  -- NULL while active
) STRICT;
)sql";

// Children's data kept only as long as needed (docs/privacy.md):
// - callbacks: the caller's number sealed (crypto_secretbox, key in its own file, never in the
//   database) for a call that may need a callback: 'live' from arrival while the call goes on
//   (deleted when it ends without needing one), 'pending' once it ended TIMED_OUT with a callback
//   offered or CALLBACK_REQUESTED, deleted when marked done or past its retention;
// - callback_key: the fingerprint of that key, as caller_key has the caller key's;
// - audit: who viewed or exported what, kept for its own retention.
// Self-contained: it only adds tables.
constexpr std::string_view kMigrationPrivacy = R"sql(
CREATE TABLE callbacks (
  id            INTEGER PRIMARY KEY,
  call_id       TEXT NOT NULL,
  gateway_id    TEXT NOT NULL,
  caller_masked TEXT NOT NULL,
  sealed        BLOB NOT NULL,     -- nonce || secretbox(number); never the number
  arrived_at    INTEGER NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('live', 'pending')),
  outcome       TEXT,              -- 'timed_out' | 'callback_requested' once pending
  ended_at      INTEGER            -- NULL while live
) STRICT;
CREATE INDEX callbacks_by_call ON callbacks (call_id, state);
CREATE INDEX callbacks_by_arrival ON callbacks (arrived_at);

CREATE TABLE callback_key (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  fingerprint TEXT NOT NULL,
  recorded_at INTEGER NOT NULL
) STRICT;

CREATE TABLE audit (
  id        INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  role      TEXT NOT NULL,  -- 'supervisor', 'admin', 'counsellor', 'web'
  principal TEXT NOT NULL,  -- who: an account or counsellor id, or the role for a shared token
  action    TEXT NOT NULL,  -- 'explain_call', 'watch_queue_start', 'reveal_callback', ...
  subject   TEXT NOT NULL   -- what: a call id, a report's period, a callback id; may be empty
) STRICT;
CREATE INDEX audit_by_at ON audit (at);

-- What the retention job reads each run (storage/privacy.cc ApplyRetention): the rows it has
-- already cleared drop out of the partial indexes, so a run costs what it changes, not the
-- years of history before it.
CREATE INDEX calls_with_caller ON calls (arrived_at)
  WHERE caller_key != '' OR caller_masked != '';
CREATE INDEX calls_with_note ON calls (arrived_at) WHERE note != '';
CREATE INDEX offers_by_time ON offers (offered_at);
CREATE INDEX presence_by_time ON presence (at);
)sql";

// Two indexes no query uses, dropped because every call's row paid for them (issue 11): each
// keeps its entries in an order the rows do not come in (by counsellor, by caller hash), so each
// row's entry lands on another page and every commit wrote that page whole to the WAL.
// - calls_by_counsellor (counsellor_id) is a prefix of calls_by_counsellor_handling, which
//   serves every lookup by counsellor;
// - calls_by_caller (caller_key, arrived_at) served repeat callers once; the engine now keeps
//   them in memory and rebuilds them from rows read by id (Store::LoadFinishedCalls).
constexpr std::string_view kMigrationLeanerCalls = R"sql(
DROP INDEX calls_by_counsellor;
DROP INDEX calls_by_caller;
)sql";

// A callback's id names one child's callback for good (left by stop 29's review):
// - AUTOINCREMENT: a plain INTEGER PRIMARY KEY gives a deleted highest id to the next row, so a
//   supervisor's list, a retried CallbackDone or RevealCallback could name another child's
//   callback once the first was done or past its retention;
// - 'done': a callback marked done keeps its row, without its sealed number or masked number,
//   until its retention, so a repeated CallbackDone (a retry after a lost reply) is answered OK
//   instead of NOT_FOUND.
// The rows keep their ids. The sequence starts after the highest id still stored or named in the
// audit (a reveal or a done: the ids supervisors have used); an id deleted before this migration
// and never audited (a call that needed no callback, or a pending one past its retention that
// nobody opened) may be given once more.
constexpr std::string_view kMigrationCallbackIds = R"sql(
PRAGMA secure_delete = ON;  -- the old table's pages are zeroed as they are freed
CREATE TABLE callbacks_v2 (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  call_id       TEXT NOT NULL,
  gateway_id    TEXT NOT NULL,
  caller_masked TEXT NOT NULL,     -- '' once done
  sealed        BLOB NOT NULL,     -- nonce || secretbox(number); never the number; empty once done
  arrived_at    INTEGER NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('live', 'pending', 'done')),
  outcome       TEXT,              -- 'timed_out' | 'callback_requested' once pending
  ended_at      INTEGER            -- NULL while live
) STRICT;
INSERT INTO callbacks_v2 (id, call_id, gateway_id, caller_masked, sealed, arrived_at, state,
                          outcome, ended_at)
SELECT id, call_id, gateway_id, caller_masked, sealed, arrived_at, state, outcome, ended_at
FROM callbacks ORDER BY id;
DROP TABLE callbacks;  -- and its indexes
ALTER TABLE callbacks_v2 RENAME TO callbacks;
CREATE INDEX callbacks_by_call ON callbacks (call_id, state);
CREATE INDEX callbacks_by_arrival ON callbacks (arrived_at);
INSERT INTO sqlite_sequence (name, seq)
SELECT 'callbacks', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'callbacks');
UPDATE sqlite_sequence
SET seq = MAX(seq, (SELECT COALESCE(MAX(CAST(subject AS INTEGER)), 0) FROM audit
                    WHERE action IN ('reveal_callback', 'callback_done')))
WHERE name = 'callbacks';
PRAGMA secure_delete = FAST;
)sql";

// One row the writer rewrites right after a quiet checkpoint has copied the whole WAL
// (Store::CheckpointIfDue). Its commit starts the WAL over, and pays the restart's sync, in the
// quiet gap; otherwise the next commit, the next caller's arrival, paid it before its ack.
constexpr std::string_view kMigrationWalRestarts = R"sql(
CREATE TABLE wal_restarts (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  restarts INTEGER NOT NULL        -- quiet checkpoints that rewrote it to start the WAL over
) STRICT;
INSERT INTO wal_restarts (id, restarts) VALUES (1, 0);
)sql";

constexpr std::array<std::string_view, 12> kMigrations = {
    kMigration1,       kMigration2,           kMigration3,           kMigration4,
    kMigration5,       kMigration6,           kMigration7,           kMigrationAccounts,
    kMigrationPrivacy, kMigrationLeanerCalls, kMigrationCallbackIds, kMigrationWalRestarts};

}  // namespace

std::span<const std::string_view> Migrations() { return kMigrations; }

}  // namespace hotline::storage
