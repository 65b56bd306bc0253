// What one group commit writes, and the Sink the daemon's journal writer writes it to.
//
// The daemon's writer thread gathers everything a run of accepted engine inputs caused (the
// inputs themselves as journal entries, the finished calls, the presence changes, the answers
// given to request ids, the counsellor changes, now and then a snapshot of the engine) into one
// Batch and hands it to Sink::Commit, which stores all of it in one transaction or none of it
// (DESIGN §4, "Journal first"). Recovery is the latest snapshot plus the journal entries after it.
//
// Journal records and snapshot states are bytes the daemon serialized (protobuf); storage never
// looks inside them.
//
// Thread-safety: the structs are plain values. A Sink is not thread-safe unless an implementation
// says so: one thread (the journal writer) calls Commit.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "routing/types.h"

namespace hotline::storage {

// A counsellor as stored: the profile plus the hash of their desk token.
struct StoredCounsellor {
  routing::CounsellorProfile profile;
  // Hex hash of the desk token; never the token itself.
  std::string token_hash;

  bool operator==(const StoredCounsellor&) const = default;
};

// One accepted engine input, serialized by the daemon; opaque here.
struct JournalEntry {
  // Position in the journal, from 1; strictly increasing and never reused.
  int64_t seq = 0;
  // When the input was accepted, Unix milliseconds.
  int64_t at_ms = 0;
  std::string record;

  bool operator==(const JournalEntry&) const = default;
};

// The answer once given to a request id, so a repeat gets the same answer (idempotency).
struct RequestResult {
  std::string origin;      // e.g. "gateway:gw-1", "desk:lan", "supervisor"
  std::string request_id;  // the gateway's event_id or a desk/supervisor request_id
  int64_t at_ms = 0;       // when it was answered, Unix milliseconds
  int code = 0;            // google.rpc.Code, 0..16
  std::string message;
  std::string response;  // serialized reply, may be empty

  bool operator==(const RequestResult&) const = default;
};

// The engine's whole state after journal entry `seq`, serialized by the daemon.
struct Snapshot {
  int64_t seq = 0;
  int64_t at_ms = 0;  // when it was taken, Unix milliseconds
  std::string state;

  bool operator==(const Snapshot&) const = default;
};

// A named account (docs/security.md), as stored: never the token, only its hash.
struct StoredAccount {
  std::string name;
  std::string role;        // "gateway" | "supervisor" | "admin"
  std::string gateway_id;  // gateway accounts only; "" otherwise
  std::string token_hash;  // hex hash of the current token
  int64_t issued_at_ms = 0;
  int64_t revoked_at_ms = 0;  // 0 while active
  bool operator==(const StoredAccount&) const = default;
};

// One change to the counsellors table.
struct CounsellorOp {
  enum class Kind { kInsert, kUpdate, kRemove };
  Kind kind = Kind::kInsert;
  // kRemove uses counsellor.profile.id only; kUpdate keeps the stored token hash.
  StoredCounsellor counsellor;
};

// One offer of a call to a counsellor, with why it was made, so a supervisor can ask "why did this
// call go to her?".
struct OfferRow {
  std::string call_id;
  std::string counsellor_id;
  int64_t offered_at_ms = 0;
  int step = 0;       // 0-based ladder step
  std::string scope;  // "province" | "centre" | "national"
  int eligible = 0;   // how many counsellors could have taken it
  std::string rule;   // e.g. "longest idle (42 s)"
  // Filled when the offer ends (empty/0 while it rings); stored as NULL while result is empty,
  // so ended_at_ms is then ignored and reads back as 0.
  std::string result;  // "accepted" | "declined" | "timed_out" | "withdrawn" | "caller_hung_up"
  int64_t ended_at_ms = 0;

  bool operator==(const OfferRow&) const = default;
};

// The end of the open offer (result empty) of call_id to counsellor_id.
struct OfferResult {
  std::string call_id;
  std::string counsellor_id;
  std::string result;  // non-empty; one of OfferRow::result's values
  int64_t ended_at_ms = 0;

  bool operator==(const OfferResult&) const = default;
};

// A change to the offers table: a new offer, or the end of an open one. The engine can end an offer
// and make a new one to the same counsellor within one input (a decline when nobody else is
// eligible), so the changes are kept in the one order they happened, never split by kind.
using OfferChange = std::variant<OfferRow, OfferResult>;

// A disposition recorded after its call's wrap-up ended (its row written without one).
struct LateDisposition {
  std::string call_id;
  std::string counsellor_id;
  routing::Disposition disposition;
  int64_t at_ms = 0;  // when it was recorded, Unix milliseconds

  bool operator==(const LateDisposition&) const = default;
};

// A caller's sealed number for a call that may need a callback (storage/migrations.cc, the
// callbacks table): kept from its arrival, in the commit that journals the arrival, so it
// survives a restart exactly as the call does. Sealed by the daemon; opaque here.
struct CallbackHeld {
  std::string call_id;
  std::string gateway_id;
  std::string caller_masked;
  std::string sealed;  // non-empty
  int64_t arrived_at_ms = 0;

  bool operator==(const CallbackHeld&) const = default;
};

// The end of the live call `call_id`: its held number becomes a pending callback (`outcome`
// non-empty: "timed_out" or "callback_requested") or is deleted (`outcome` empty). Changes
// nothing when the call holds no number (a withheld caller).
struct CallbackEnded {
  std::string call_id;
  std::string outcome;
  int64_t ended_at_ms = 0;

  bool operator==(const CallbackEnded&) const = default;
};

using CallbackChange = std::variant<CallbackHeld, CallbackEnded>;

// Everything one group commit writes, applied in one transaction: all or nothing.
struct Batch {
  // seq strictly increasing, from 1, each greater than every stored seq (journal and snapshot).
  std::vector<JournalEntry> journal;
  std::vector<routing::CallRecord> calls;
  std::vector<routing::PresenceChange> presence;
  // (origin, request_id) new; a repeat replaces the stored answer (INSERT OR REPLACE).
  std::vector<RequestResult> results;
  // Applied in order, after calls, presence and results.
  std::vector<CounsellorOp> counsellors;
  // Applied in order, after the counsellor ops. An OfferRow is inserted; an OfferResult sets result
  // and ended_at on the newest row (by offered_at, then insertion) for its (call_id,
  // counsellor_id) whose result is NULL at that point; if there is none, it changes nothing and is
  // not an error.
  std::vector<OfferChange> offers;
  // Applied after the offers: each fills the disposition of the newest row of its call_id
  // answered by its counsellor_id that has none, and sets late_disposition_at; when there is
  // no such row it changes nothing and is not an error.
  std::vector<LateDisposition> late_dispositions;
  // Applied in order, after the late dispositions.
  std::vector<CallbackChange> callbacks;
  // Replaces the stored snapshot, after this batch's journal entries are written; journal entries
  // with seq <= snapshot->seq, this batch's included, are deleted. Its seq must be at least the
  // stored snapshot's and at most the last journal seq (this batch's included).
  std::optional<Snapshot> snapshot;
  // Deletes the request results with at_ms below this, this batch's included.
  std::optional<int64_t> forget_results_before_ms;

  // Appends a later batch to this one, so both commit in one transaction with the same effect
  // as committing this, then `later`. Keep it next to the fields: a field it misses is lost.
  void Absorb(Batch&& later) {
    auto append = [](auto& into, auto& from) {
      into.insert(into.end(), std::make_move_iterator(from.begin()),
                  std::make_move_iterator(from.end()));
    };
    append(journal, later.journal);
    append(calls, later.calls);
    append(presence, later.presence);
    append(results, later.results);
    append(counsellors, later.counsellors);
    append(offers, later.offers);
    append(late_dispositions, later.late_dispositions);
    append(callbacks, later.callbacks);
    if (later.snapshot) {
      snapshot = std::move(later.snapshot);  // A later snapshot covers an earlier one.
    }
    if (later.forget_results_before_ms) {
      forget_results_before_ms =
          std::max(forget_results_before_ms.value_or(0), *later.forget_results_before_ms);
    }
  }

  // True when committing the batch would write nothing.
  bool empty() const {
    return journal.empty() && calls.empty() && presence.empty() && results.empty() &&
           counsellors.empty() && offers.empty() && late_dispositions.empty() && callbacks.empty() &&
           !snapshot.has_value() && !forget_results_before_ms.has_value();
  }
};

// What the daemon writes to: the real Store, or in tests a wrapper that injects faults.
class Sink {
 public:
  virtual ~Sink() = default;

  // Writes the whole batch in one transaction. On any error nothing of it is stored (rollback)
  // and the Status says why, with the codes of store.h's mapping: INVALID_ARGUMENT for an item
  // the database could not give back as written (nothing was tried), RESOURCE_EXHAUSTED for a
  // full disk, UNAVAILABLE for a busy database or an I/O error, FAILED_PRECONDITION for a
  // journal seq or snapshot out of order, ALREADY_EXISTS / NOT_FOUND for a counsellor op that
  // conflicts with the stored counsellors, ... An empty batch succeeds without touching the
  // database.
  [[nodiscard]] virtual absl::Status Commit(const Batch& batch) = 0;

  // When the writer asks for the work commits left due (CheckpointIfDue): right after answering
  // a batch, when a unit may be waiting behind it, or once no unit has come for a quiet moment
  // (WriterOptions::quiet_checkpoint_after), when nothing is.
  enum class Moment { kAfterAnswers, kQuiet };

  // Work a commit left due that nobody needs to wait for: the writer calls it after it has
  // answered what it committed, and again once it has been quiet, never inside a commit. For
  // the Store, a checkpoint of the WAL once it holds Store::kCheckpointFrames pages after
  // answers, or Store::kQuietCheckpointFrames when quiet. Whether it ran; a sink with nothing to
  // do returns false. Errors change nothing stored; the work stays due and the next call tries
  // again. Pure: a sink that wraps the Store must pass it on, or the WAL grows for good.
  [[nodiscard]] virtual absl::StatusOr<bool> CheckpointIfDue(Moment moment) = 0;

  // What to run each time the sink, used on the thread that set the hook, pauses to wait for a
  // lock another connection holds (the Store: before each pause of its busy wait, 1-100 ms apart,
  // for up to 5 s an operation: a commit, or a write the writer's answers make); null: nothing.
  // The writer sends the gateways' commands meanwhile, so that routing never waits for another
  // process's transaction (writer.h). The hook must not call the sink. A sink that never waits
  // may ignore it; one that wraps another must pass it on.
  virtual void SetLockWaitHook(std::function<void()> hook) = 0;
};

}  // namespace hotline::storage
