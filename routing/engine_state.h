// The routing engine's whole state as plain values: what a snapshot saves and restores.
// Engine keeps its state in these same types, so a snapshot cannot miss a field the engine
// grows (Engine::SaveState copies them; Engine::RestoreState puts them back).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "routing/policy.h"
#include "routing/types.h"

namespace hotline::routing {

// The engine's settings ([routing] in hotline.toml), journaled when they change
// (Engine::SetOptions).
struct EngineOptions {
  // The longest a call waits in the queue; then the gateway is told to offer a callback.
  Millis max_wait_ms{300'000};
  // How long an offer rings on a desk before it goes to someone else.
  Millis offer_timeout_ms{15'000};
  // How long a gateway has to bridge an accepted call (its `connected` event) or say it could
  // not: then the call goes back in its place and the counsellor back to AVAILABLE, so a gateway
  // that never answers strands neither the caller nor the counsellor. Counted again from a
  // restart.
  Millis connect_timeout_ms{60'000};
  // How long a counsellor has after a call to record its outcome.
  Millis wrap_up_ms{45'000};
  // Offers left unanswered in a row that put a counsellor on BREAK(missed offers).
  int missed_offers_before_break = 2;
  // How long a counsellor whose desk dropped keeps their state (AVAILABLE or BREAK) for the desk
  // to come back; they get no offers meanwhile. Then they are signed out (OFFLINE).
  Millis desk_grace_ms{30'000};
  // How often a waiting caller hears their position and estimated wait (also on arrival).
  Millis announce_every_ms{60'000};
  // How many recent calls' handling times the wait estimate averages.
  int handling_sample_size = 20;
  // How long a finished call's id is remembered, so a gateway reusing it is refused.
  Millis finished_call_memory_ms{24 * 3'600'000};
  // How long after a wrap-up ended without a disposition its counsellor may still record one.
  Millis late_disposition_ms{24 * 3'600'000};

  bool operator==(const EngineOptions&) const = default;
};

struct CounsellorEntry {
  CounsellorProfile profile;
  CounsellorState state = CounsellorState::kOffline;
  BreakReason break_reason = BreakReason::kNone;
  Timestamp since{};
  // When they last became AVAILABLE after work or a break: "longest idle" orders by this. An
  // offer that comes back (declined, missed) does not reset it.
  Timestamp idle_since{};
  std::string call_id;
  bool desk_connected = false;
  // Bumped each time the desk drops; a grace timer from an earlier drop is stale.
  uint64_t desk_drops = 0;
  int missed_in_row = 0;
  // Bumped on every state change; a timer set under an older generation is stale.
  uint64_t generation = 0;
  // Calls accepted on `calls_day` (days since the epoch, Vietnam time), for fewest_calls_today.
  int calls_today = 0;
  int64_t calls_day = 0;
  // When they were last offered a call (the engine's sequence), for round_robin.
  uint64_t last_offer_seq = 0;
  // Heavy calls in a row since their last real break.
  int heavy_in_row = 0;
  // The end of a cool-down after a heavy call; before it they cannot make themselves available.
  Timestamp cool_down_until{};

  bool operator==(const CounsellorEntry&) const = default;
};

struct CallEntry {
  CallInfo info;
  CallState state = CallState::kWaiting;
  int step = 0;
  uint64_t admission_seq = 0;
  bool in_queue = false;
  std::string counsellor_id;
  // Counsellors this call was offered to: not offered again while someone else could take it.
  std::set<std::string> tried;
  // Max wait passed while an offer rang: time out when the offer comes back.
  bool expired = false;
  uint64_t generation = 0;
  // A repeat caller: the counsellor who answered them last, who is offered the call first, and
  // until when the call waits for them if they are busy.
  std::string preferred_counsellor;
  Timestamp hold_until{};
  // A call admitted from a gateway's Hello: not timed out before this (Engine::CallArrived).
  Timestamp times_out_not_before{};
  // Its maximum wait passed while times_out_not_before put its time-out off (Engine::Call).
  bool due_in_grace = false;
  // Bumped when the call's ladder or step is re-derived (policy reload, priority change); a step
  // timer set under an older one is stale.
  uint64_t ladder_generation = 0;
  // The row-to-be. Its `call` stays empty while the call lives (`info` is the call, kept once);
  // the engine fills it when the call finishes.
  CallRecord record;

  bool operator==(const CallEntry&) const = default;
};

// One answered call of a caller, remembered for the policy's repeat window: it sends the
// caller's next call back to the counsellor who answered them, and tells that desk what it
// needs to continue the conversation.
struct Contact {
  std::string call_id;
  std::string counsellor_id;
  Timestamp answered_at{};
  // The disposition's category name, empty until one is recorded.
  std::string category;

  bool operator==(const Contact&) const = default;
};

// A call whose wrap-up ended without a disposition: its counsellor may still record one, late.
struct OwedDisposition {
  // When the wrap-up ended.
  Timestamp since{};
  std::string call_id;
  std::string counsellor_id;
  std::string caller_key;

  bool operator==(const OwedDisposition&) const = default;
};

enum class TimerKind {
  kStep = 1,
  kMaxWait = 2,
  kOfferTimeout = 3,
  kWrapUp = 4,
  kDeskGrace = 5,
  kCoolDown = 6,
  kAnnounce = 7,
  kRepeatHold = 8,
  kConnectTimeout = 9,
};

// How a finished call ended, for the gateway that held it: a gateway's Hello that still lists the
// call learns its fate, and a final event resent after a reconnect is answered OK
// (gateway.proto, reconciliation).
struct FinishedFate {
  std::string call_id;
  Timestamp finished_at{};
  std::string gateway_id;
  Outcome outcome = Outcome::kFailed;
  // The gateway was told to offer the caller a callback (the call timed out waiting).
  bool offer_callback = false;

  bool operator==(const FinishedFate&) const = default;
};

// Ordered by deadline, then by the order timers were set: the firing order is deterministic.
struct TimerEntry {
  Timestamp at{};
  uint64_t seq = 0;
  TimerKind kind = TimerKind::kStep;
  std::string key;
  uint64_t generation = 0;
  bool operator<(const TimerEntry& o) const { return std::tie(at, seq) < std::tie(o.at, o.seq); }
  bool operator==(const TimerEntry&) const = default;
};

struct EngineState {
  Policy policy;
  // The options in force. Absent in a state from a snapshot written before they were kept:
  // restoring it keeps the engine's own.
  std::optional<EngineOptions> options;
  Timestamp now{};
  uint64_t next_seq = 0;
  std::vector<CounsellorEntry> counsellors;  // by id
  std::vector<CallEntry> calls;              // by call id
  std::vector<TimerEntry> timers;            // in firing order
  // Ids of calls finished recently, oldest first, with when they finished.
  std::vector<std::pair<Timestamp, std::string>> finished;
  // Handling times (accepted to wrap-up done) of the most recent calls, oldest first.
  std::vector<Millis> recent_handling;
  // The answered calls of each caller (by caller key) in the repeat window, each caller's
  // oldest first.
  std::vector<std::pair<std::string, Contact>> contacts;
  // Dispositions still accepted late, oldest first.
  std::vector<OwedDisposition> owed_dispositions;
  // The caller key of each finished call still remembered (see `finished`).
  std::vector<std::pair<std::string, std::string>> finished_callers;
  // How each finished call still remembered ended, for the gateway that held it (see
  // `finished`); a call without one finished under an older daemon that did not keep it.
  std::vector<FinishedFate> finished_fates;
  // Callers (by key) never to be routed to a counsellor: (counsellor id, caller key).
  std::vector<std::pair<std::string, std::string>> never_route;
  Timestamp next_contact_sweep{};
  // Every contact answered at or before this was forgotten by a sweep (the latest sweep's time
  // less the repeat window it applied): what decides which contacts a rebuild brings back.
  Timestamp contacts_forgotten_through{};

  bool operator==(const EngineState&) const = default;
};

// A finished call as its row in the `calls` table keeps it: what Engine::RememberFinished
// rebuilds the finished-call memory (ids, callers, contacts, owed dispositions) from, so a
// snapshot need not carry it (docs/architecture.md, "Snapshots").
struct FinishedCall {
  // When the engine finished it: the end of its wrap-up, or else when it ended.
  Timestamp finished_at{};
  std::string call_id;
  std::string caller_key;
  // Who accepted it; empty if nobody did.
  std::string counsellor_id;
  std::optional<Timestamp> answered_at;
  std::optional<Timestamp> wrap_up_done_at;
  // The disposition's category, when one was recorded (in wrap-up or late) by the time the state
  // being rebuilt was saved; nullopt when none was.
  std::optional<std::string> category;
  // The gateway that held it, and how it ended.
  std::string gateway_id;
  Outcome outcome = Outcome::kFailed;

  bool operator==(const FinishedCall&) const = default;
};

}  // namespace hotline::routing
