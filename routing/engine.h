// The routing engine: a deterministic state machine that owns the queue of waiting calls and the
// state of every counsellor, and decides who takes which call and when.
//
// Inputs (call events, desk and supervisor commands, the passage of time) go in with the time
// they happen; decisions come out as Effects, collected until the owner takes them with
// TakeEffects(). The engine never reads a clock: every input carries `now`, and timers are
// deadlines the owner asks about with NextDeadline() and delivers with Tick(). The same inputs
// with the same times always give the same effects.
//
// Every input first fires the timers due at or before its `now`, so a late Tick never changes a
// decision.
//
// Not thread-safe: called only on the daemon's engine thread (or a test's).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "routing/call_memory.h"
#include "routing/engine_state.h"
#include "routing/laned_heap.h"
#include "routing/node_cache.h"
#include "routing/string_hash.h"
#include "routing/types.h"

namespace hotline::routing {

// --- Effects: what the engine decided. The daemon carries them out in order. ---

// Ring this call on this counsellor's desk until `expires_at`.
struct OfferMade {
  // The call as its desk is shown it: everything but `caller_key`, which is left empty (no desk
  // is shown it, and copying 64 bytes into every offer was an allocation each: issue 11).
  CallInfo call;
  std::string counsellor_id;
  Timestamp expires_at{};
  // Why: the ladder step and its scope, how many counsellors were eligible, the rule that chose.
  int step = 0;
  Scope scope = Scope::kNational;
  int eligible = 0;
  std::string rule;
  // When it was decided (a timer's own deadline when a timer caused it).
  Timestamp at{};
  // A repeat caller's answered calls in the repeat window, oldest first (at most
  // kMaxContactsPerCaller); empty for anyone else.
  std::vector<Contact> history;
};

// The offer of `call_id` to `counsellor_id` is gone.
struct OfferRevoked {
  std::string call_id;
  std::string counsellor_id;
  RevokeReason reason = RevokeReason::kTimedOut;
  Timestamp at{};  // When it was decided.
};

// Tell the call's gateway to bridge the caller to the counsellor's endpoint.
struct ConnectRequested {
  std::string call_id;
  std::string gateway_id;
  std::string counsellor_id;
  std::string endpoint;
  Timestamp at{};  // When it was decided.
};

// Tell the caller where they stand in the queue (1-based) and, when there is a basis for it,
// how long they may still wait: position x average handling time / counsellors staffed for the
// call (signed in, with its topic and language), from the last calls' handling times.
struct PositionAnnounced {
  std::string call_id;
  std::string gateway_id;
  int position = 0;
  std::optional<Millis> estimated_wait;
};

// The call waited past the maximum: the gateway should offer a callback.
struct CallbackOffered {
  std::string call_id;
  std::string gateway_id;
};

// The counsellor's call is connected / has ended.
struct DeskCallConnected {
  std::string call_id;
  std::string counsellor_id;
};
struct DeskCallEnded {
  std::string call_id;
  std::string counsellor_id;
  Outcome outcome = Outcome::kCompleted;
};

// The counsellor is in wrap-up for `call_id` until `deadline`.
struct WrapUpStarted {
  std::string call_id;
  std::string counsellor_id;
  Timestamp deadline{};
};

// A counsellor changed state; record it and tell their desk.
struct PresenceChanged {
  PresenceChange change;
};

// A call is finished and fully known: write its row.
struct CallFinished {
  CallRecord record;
};

// The counsellor recorded the disposition of a call whose wrap-up had ended without one (its
// row is already written): add it to the row, marked late.
struct DispositionLate {
  std::string call_id;
  std::string counsellor_id;
  Disposition disposition;
  Timestamp at{};
};

using Effect =
    std::variant<OfferMade, OfferRevoked, ConnectRequested, PositionAnnounced, CallbackOffered,
                 DeskCallConnected, DeskCallEnded, WrapUpStarted, PresenceChanged, CallFinished,
                 DispositionLate>;

// --- Read-only views, for the supervisor's queue view and for tests. ---

struct CounsellorView {
  CounsellorProfile profile;
  CounsellorState state = CounsellorState::kOffline;
  BreakReason break_reason = BreakReason::kNone;
  Timestamp since{};
  std::string call_id;
  bool desk_connected = false;
};

struct CallView {
  CallInfo info;
  CallState state = CallState::kWaiting;
  int step = 0;
  std::string counsellor_id;
  // 1-based queue position while waiting, else 0.
  int position = 0;
  // The order the call entered the queue in: waiting calls are served by priority, then by it.
  uint64_t admission = 0;
  // When caller and counsellor were connected, once they were.
  std::optional<Timestamp> answered_at;
};

class Engine final {
 public:
  explicit Engine(EngineOptions options = {}, Policy policy = Policy::Default());
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  // --- Counsellors (administrator). ---

  // Adds a counsellor, OFFLINE. ALREADY_EXISTS if the id is known.
  [[nodiscard]] absl::Status AddCounsellor(const CounsellorProfile& profile, Timestamp now);
  // Replaces a profile; the next decision uses it. NOT_FOUND if unknown.
  [[nodiscard]] absl::Status UpdateCounsellor(const CounsellorProfile& profile, Timestamp now);
  // Removes an OFFLINE counsellor, whether or not their desk is still open (its owner closes it).
  // NOT_FOUND; FAILED_PRECONDITION while they are signed in.
  [[nodiscard]] absl::Status RemoveCounsellor(const std::string& counsellor_id, Timestamp now);

  // --- Desks. ---

  // The counsellor's desk stream opened / closed. Closing revokes a ringing offer (the call goes
  // back in its place); an AVAILABLE or BREAK counsellor keeps that state, without offers, for
  // desk_grace_ms, then is signed out unless the desk came back; a held call goes on (the phone
  // is on the gateway) and the desk may come back to finish the wrap-up.
  [[nodiscard]] absl::Status DeskConnected(const std::string& counsellor_id, Timestamp now);
  [[nodiscard]] absl::Status DeskDisconnected(const std::string& counsellor_id, Timestamp now);
  // The daemon started again at `restarted_at` (not before `now`, the journal's last time).
  // No desk is connected to a process that just started: every desk still connected is taken
  // off at `now`, all before any call goes back (so none is offered to a desk about to go), each
  // as DeskDisconnected does, its ringing offer withdrawn, not missed. Every AVAILABLE or BREAK
  // counsellor without a desk gets desk_grace_ms from `restarted_at` to come back, instead of
  // what was left of it, since no desk could reconnect while the daemon was down; and every call
  // still connecting gets connect_timeout_ms from `restarted_at`, since its gateway is asked
  // again once it is back. And every call waiting or ringing whose maximum wait passed
  // meanwhile, or passes within `calls_grace` of `restarted_at`, times out no sooner than
  // `restarted_at + calls_grace`: a caller who hung up while the daemon was down is not called
  // back, as the hang-up the gateway resends after its Hello ends the call first. That includes
  // a call whose maximum wait passed while its offer rang (0: no grace, as before it was
  // journaled; such a call then times out as its offer is withdrawn). Records from before the
  // desks were taken off here follow the daemon's own desk_disconnected records, so they find no
  // desk connected. A call is due by its maximum wait now or by its kMaxWait timer, set at
  // arrival, whichever is first (a maximum wait lengthened since leaves the timer earlier) when
  // `due_by_timer`; by its maximum wait alone in records from before it was journaled (false),
  // which replay as they were decided. With `past_due_in_grace` (journaled since), a call already
  // due at `restarted_at` is taken as past its maximum wait (Call::due_in_grace) at once, not only
  // when its kMaxWait timer fires in the grace (under older records a maximum wait shortened at a
  // start left that timer late, while the call could time out by ReturnToQueue before the stop).
  // With `retime_shortened_wait` (journaled since), a call waiting or connecting whose timer lies
  // past its maximum wait now (shortened at this start) gets a timer at it, so that it waits no
  // longer than configured. INVALID_ARGUMENT if it is before `now`.
  [[nodiscard]] absl::Status Restarted(Timestamp restarted_at, Timestamp now,
                                       Millis calls_grace = Millis(0), bool due_by_timer = false,
                                       bool past_due_in_grace = false,
                                       bool retime_shortened_wait = false);

  // Sets AVAILABLE, BREAK or OFFLINE. `reason` is the break reason (CHOSEN or a named one from
  // the desk, SUPERVISOR from a supervisor). NOT_FOUND for an unknown counsellor;
  // INVALID_ARGUMENT for another state; FAILED_PRECONDITION for AVAILABLE without an open desk,
  // AVAILABLE or another break reason during a timed cool-down (but from a supervisor), BREAK
  // for a signed-out counsellor without one (nothing would ever end that break), or while an
  // offer rings or a call is held. A counsellor left AVAILABLE or on BREAK with a closed desk (it
  // dropped, or they came out of a call after it dropped) is signed out desk_grace_ms later.
  [[nodiscard]] absl::Status SetPresence(const std::string& counsellor_id, CounsellorState state,
                                         BreakReason reason, Timestamp now);

  // Accepts or declines the offer of `call_id` ringing on this counsellor's desk. NOT_FOUND if
  // no such offer rings.
  [[nodiscard]] absl::Status AnswerOffer(const std::string& counsellor_id,
                                         const std::string& call_id, bool accept, Timestamp now);

  // Records the outcome of the call in wrap-up and frees the counsellor: AVAILABLE when
  // `ready_for_next`, else BREAK(chosen). Or, late, of a call this counsellor answered whose
  // wrap-up ended without one in the last late_disposition_ms (once; DispositionLate): a heavy
  // one counts in the heavy run; an AVAILABLE counsellor goes on BREAK(chosen) for
  // !ready_for_next, or cools down for a heavy call; any other state is left alone.
  // FAILED_PRECONDITION for any other call.
  [[nodiscard]] absl::Status SubmitDisposition(const std::string& counsellor_id,
                                               const std::string& call_id,
                                               const Disposition& disposition, bool ready_for_next,
                                               Timestamp now);

  // --- Gateway events. ---

  // Queues a new call and offers it if someone can take it. ALREADY_EXISTS if the call id is
  // live or was finished recently (the engine remembers ids it finished this run). A province
  // that is missing or unknown is no reason to refuse a call: it routes at national scope on
  // every step of its ladder (see ScopeOf). Taken by value: a caller done with it moves it in,
  // and its strings are never copied (issue 11). `times_out_not_before`: the call does not time
  // out before then, even past its maximum wait. Set for a call admitted from a gateway's Hello
  // (reconciliation), which the gateway may list because its caller's hang-up is not yet
  // acknowledged: the hang-up, resent right after the Welcome, then ends it as the caller did,
  // where timing it out at once recorded a timed-out call with a callback nobody asked for.
  [[nodiscard]] absl::Status CallArrived(CallInfo call, Timestamp now,
                                         Timestamp times_out_not_before = {});
  // The caller hung up before being connected. NOT_FOUND; FAILED_PRECONDITION once connected.
  [[nodiscard]] absl::Status CallerHungUp(const std::string& call_id, Timestamp now);
  // The caller chose a callback instead of waiting. Same errors as CallerHungUp.
  [[nodiscard]] absl::Status CallbackRequested(const std::string& call_id, Timestamp now);
  // The gateway bridged the call: CONNECTED when it was CONNECTING. A call WAITING or OFFERED
  // was bridged by a connect this engine no longer has (sent before a crash and never journaled,
  // or carried out after its connect timed out here): it is finished FAILED, its ringing offer
  // withdrawn, so that it is neither offered to another counsellor while the caller talks nor
  // timed out with a callback. FAILED_PRECONDITION when it was CONNECTED already.
  [[nodiscard]] absl::Status CallConnected(const std::string& call_id, Timestamp now);
  // The connected call ended: wrap-up, outcome COMPLETED. A call still CONNECTING (its
  // `connected` lost) is taken as connected first; one WAITING or OFFERED is finished FAILED as in
  // CallConnected. FAILED_PRECONDITION in wrap-up.
  [[nodiscard]] absl::Status CallEnded(const std::string& call_id, Timestamp now);
  // The gateway lost the call. NOT_FOUND for an unknown call. With `times_out_past_max_wait`
  // (a gateway's Hello that no longer holds the call), one waiting or ringing whose maximum wait
  // has passed while a restart's grace put its time-out off (`due_in_grace`) ends
  // TIMED_OUT, its callback owed, rather than FAILED: the gateway may have carried out the
  // offer_callback of a time-out that was lost with a stop while the database refused commits.
  // No CallbackOffered: the gateway holds no call to offer it on.
  [[nodiscard]] absl::Status CallFailed(const std::string& call_id, const std::string& reason,
                                        Timestamp now, bool times_out_past_max_wait = false);
  // The gateway could not reach the counsellor's endpoint: the call goes back in its place and
  // the counsellor on BREAK(unreachable). FAILED_PRECONDITION unless it was CONNECTING. The
  // engine puts a call still connecting options.connect_timeout_ms after it was accepted (or
  // after a restart) back the same way, with the reason "connect timed out after N ms", but the
  // counsellor AVAILABLE: silence does not say their phone is at fault.
  [[nodiscard]] absl::Status ConnectFailed(const std::string& call_id, const std::string& reason,
                                           Timestamp now);

  // Never offers this caller (the caller of `call_id`, live or finished within the repeat
  // window) to this counsellor again; an offer of theirs ringing on that counsellor's desk is
  // withdrawn (OfferRevoked, kWithdrawn) and goes to someone else. NOT_FOUND if the call is
  // unknown.
  [[nodiscard]] absl::Status NeverRoute(const std::string& counsellor_id,
                                        const std::string& call_id, Timestamp now) {
    return NeverRoute(counsellor_id, call_id, "", now);
  }
  // The same for `caller_key`, the caller CallerOf(call_id) found when the rule was first made,
  // whether or not the call is still known: a replay then makes the same rule after the call is
  // forgotten. Empty: the caller is looked up as above.
  // `withdraw_ringing_offer` false: the ringing offer stays, as engines before the withdrawal
  // decided (a replay of their journal records).
  [[nodiscard]] absl::Status NeverRoute(const std::string& counsellor_id,
                                        const std::string& call_id, std::string caller_key,
                                        Timestamp now, bool withdraw_ringing_offer = true);
  // The caller of a live call or of a finished one still remembered (empty when withheld);
  // nullopt when the call is unknown.
  std::optional<std::string> CallerOf(const std::string& call_id) const;

  // --- Supervisor. ---

  // Changes a waiting or offered call's priority at once. NOT_FOUND; FAILED_PRECONDITION once
  // it is connecting or connected.
  [[nodiscard]] absl::Status ChangePriority(const std::string& call_id, Priority priority,
                                            Timestamp now);
  // Ends a connected call whose gateway cannot (its link is gone, or it lost the call): as a
  // gateway's `failed`, the call ends kFailed with `reason` and its counsellor goes to wrap-up.
  // NOT_FOUND for a call not live; FAILED_PRECONDITION for one not connected (waiting, ringing
  // and connecting calls have timers of their own) or already ended.
  [[nodiscard]] absl::Status EndCall(const std::string& call_id, const std::string& reason,
                                     Timestamp now);

  // --- Policy. ---

  // Replaces the policy at once. Waiting calls keep their place in the queue; each (and each
  // ringing or connecting call, which may come back to it) goes to the step of its new ladder
  // that its wait so far reaches, and is offered if someone can now take it. INVALID_ARGUMENT
  // (see Validate) leaves the old policy in force.
  [[nodiscard]] absl::Status SetPolicy(Policy policy, Timestamp now);
  const Policy& policy() const { return policy_; }

  // Replaces the options at `now` (time advanced to it first). What is decided from then on uses
  // them; timers already set keep their times (an offer ringing keeps its expiry, a waiting
  // call's maximum-wait timer its time, though a call that comes back to the queue is checked
  // against the new max_wait_ms). Journaled, so a replay switches at the same point: a snapshot
  // carries the options in force, and the daemon records a change of settings at start.
  // INVALID_ARGUMENT for a duration or count below 1 (nothing changes).
  [[nodiscard]] absl::Status SetOptions(const EngineOptions& options, Timestamp now);
  const EngineOptions& options() const { return options_; }
  const Regions& regions() const { return regions_; }

  // --- Time. ---

  // Fires every timer due at or before `now`.
  void Tick(Timestamp now);
  // The earliest pending timer that can still do something, if any. The owner calls Tick() at
  // (or after) it. Not const: it first drops the dead timers on top (IsDead), which changes no
  // decision and nothing SaveState() returns.
  std::optional<Timestamp> NextDeadline();

  // Effects decided since the last call, in order.
  std::vector<Effect> TakeEffects();
  // The same into `into`, whose old contents are dropped: the engine keeps `into`'s storage for
  // the next input's effects, so an owner that passes the same vector every time allocates
  // nothing for effects once both buffers have grown to an input's worth. Storage for more than
  // kKeptEffects effects is not kept (a tick after downtime can decide thousands at once): it
  // goes back to the allocator the next time it is passed in.
  void TakeEffects(std::vector<Effect>& into);
  static constexpr size_t kKeptEffects = 64;

  // --- Snapshots. ---

  // The whole state, for a snapshot. Pending effects are not part of it: take them first.
  EngineState SaveState() const;
  // Replaces the whole state with a saved one. The engine then decides exactly as the engine
  // that saved it would have. REQUIRES: `state` came from SaveState() with the same options.
  void RestoreState(EngineState state);

  // The state without the memory of finished calls (`finished`, `finished_callers`,
  // `finished_fates`, `owed_dispositions` and `contacts` left empty): its size follows the live
  // calls and the counsellors, not the calls of the last day. Restore it with RestoreState and then
  // RememberFinished, which rebuilds that memory from the calls' rows.
  EngineState SaveLiveState() const;
  // Rebuilds the memory of finished calls after RestoreState(SaveLiveState()): `calls` are the
  // calls finished before that state was saved, in the order they finished (at least those in
  // the finished-call, late-disposition and repeat windows; older ones are ignored). Afterwards
  // the engine decides exactly as the one that saved the state, and SaveState() equals its own
  // (but for the order of contacts a caller made in the same millisecond).
  void RememberFinished(const std::vector<FinishedCall>& calls);

  // --- Views. ---
  std::vector<CounsellorView> Counsellors() const;
  // Live calls: waiting ones first in queue order, then the rest by call id.
  std::vector<CallView> Calls() const;
  // The same, but at most `waiting_limit` of the waiting ones (the first in queue order): the
  // rest are all held by a counsellor or ringing, so bounded by the counsellors.
  std::vector<CallView> Calls(size_t waiting_limit) const;
  // Calls waiting for a counsellor (in the queue, or ringing on a desk) of priority `p`, in
  // O(log waiting + counsellors): for metrics scraped at any rate.
  int CountWaiting(Priority p) const;
  // Visits every live call (no copies), in no particular order: for counting.
  void ForEachCall(const std::function<void(const CallInfo&, CallState)>& visit) const;
  std::optional<CounsellorView> FindCounsellor(const std::string& counsellor_id) const;
  // The same counsellor's profile and state in place, not copied (FindCounsellor copies the whole
  // profile: a node for each skill, its provinces, languages and longer strings an allocation
  // each): for the daemon's work at every effect (a desk's presence event, the live figures, the
  // queue feed). nullptr if there is none. Valid while the engine is not changed: until its next
  // input at the latest.
  const CounsellorEntry* PeekCounsellor(std::string_view counsellor_id) const;
  // The calls whose disposition this counsellor may still record late, oldest first. O(every
  // call owed by anyone): for a desk that opens.
  std::vector<OwedDisposition> OwedBy(const std::string& counsellor_id) const;
  std::optional<CallView> FindCall(const std::string& call_id) const;
  // A live call's info in place, not copied; nullptr if there is none. Valid while the engine is
  // not changed: until its next input at the latest.
  const CallInfo* PeekCall(std::string_view call_id) const;
  // How a finished call the engine still remembers ended (a day, finished_call_memory_ms, as of
  // its latest input); nullopt if it does not, or if it finished under an older daemon that did
  // not keep it. A timed-out call's caller was offered a callback.
  std::optional<FinishedFate> FindFinished(std::string_view call_id) const {
    return memory_.FateOf(call_id);
  }

  // Checks the engine's invariants (for tests; a failure is a bug): every held call and its
  // counsellor point at each other, the queue holds exactly the waiting calls, no waiting call
  // could be taken by a counsellor who is available with a connected desk (work conservation),
  // a repeat call's hold is in force only while its counsellor is busy and could take it, and
  // every counsellor AVAILABLE or on BREAK with a closed desk has a grace timer pending.
  // Returns INTERNAL describing the first broken one.
  absl::Status CheckInvariants() const;

 private:
  // A counsellor as the engine holds them: their saved entry, and their handle in
  // counsellor_names_ (their timers name them by it), kept with them so that setting a timer of
  // theirs, or asking whether one is dead, hashes no id (issue 11: two string hashes a cycle).
  struct Counsellor : CounsellorEntry {
    uint32_t handle = 0;
    // profile.skills by topic, made by KeepSkills whenever the profile is set: Qualified reads a
    // skill at every match, and the map's nodes lie elsewhere on the heap; with 10,000
    // counsellors taken in turn they were most of Qualified's 4.0 cache misses a cycle of the
    // busy line (issue 11; docs/performance.md, twenty-third session). kNotTaken for a topic
    // they do not take. A profile with a topic or a level outside it (none the contract allows)
    // is read from the map instead.
    static constexpr int8_t kNotTaken = std::numeric_limits<int8_t>::min();
    static constexpr size_t kTopicSlots = static_cast<size_t>(Topic::kOther) + 1;
    std::array<int8_t, kTopicSlots> skill_of{};
    bool skills_kept = false;
    void KeepSkills() { std::tie(skill_of, skills_kept) = SkillsOf(profile); }
    static std::pair<std::array<int8_t, kTopicSlots>, bool> SkillsOf(
        const CounsellorProfile& profile) {
      std::pair<std::array<int8_t, kTopicSlots>, bool> kept;
      kept.first.fill(kNotTaken);
      kept.second = true;
      for (const auto& [topic, level] : profile.skills) {
        const auto t = static_cast<size_t>(topic);
        if (t < kept.first.size() && level > kNotTaken &&
            level <= std::numeric_limits<int8_t>::max()) {
          kept.first[t] = static_cast<int8_t>(level);
        } else {
          kept.second = false;
        }
      }
      return kept;
    }
    // Whether they take `topic` at `min_level` or above: profile.skills, as kept.
    bool Takes(Topic topic, int min_level) const {
      if (const auto t = static_cast<size_t>(topic); skills_kept && t < skill_of.size()) {
        return skill_of[t] != kNotTaken && skill_of[t] >= min_level;
      }
      const auto it = profile.skills.find(topic);
      return it != profile.skills.end() && it->second >= min_level;
    }
  };
  // Queue order of waiting calls. Invariants: higher priority first, then earlier admission
  // (admission sequence number, which follows arrival order); each waiting call appears once.
  using QueueKey = std::tuple<int, uint64_t>;  // (-priority, admission seq)
  // A bucket of the matching indexes (below) is (topic, scope, code): code is a province for
  // kProvince, a centre for kCentre, kNationalCode for kNational, each as its number in
  // region_codes_ (issue 11: a bucket is looked up, hashed and compared at every change of a
  // counsellor or a waiting call; as a string it was copied into every slot, as a number it is
  // a word). A call's province that no policy and no counsellor has ever named is kNoCode: no
  // counsellor's bucket has it, as no counsellor's had the string.
  using Bucket = std::tuple<Topic, Scope, uint32_t>;
  static constexpr uint32_t kNationalCode = 0;  // region_codes_'s first name, "".
  static constexpr uint32_t kNoCode = ~uint32_t{0};
  // Where a waiting call is in the matching indexes (Indexes::calls, and Indexes::preferring
  // when it has a preferred counsellor), as it was put there: what ReindexCall takes it out by,
  // after the step, priority or policy that placed it has changed.
  struct CallSlot {
    Bucket bucket;
    QueueKey key;
    bool operator==(const CallSlot&) const = default;
  };
  // Where a call is in the region tree, by number, so that a bucket or a scope hashes no
  // province (issue 11: three lookups of the province's centre a decision). Either no province
  // the call can be routed by, so it is routed nationally at every step (ScopeOf): both codes
  // kUnroutable. Or the province's number in region_codes_ (kNoCode if nobody has named it) and
  // its centre's (kNoCode without a region tree). 8 bytes in every live call. Follows the regions
  // and the numbers: PlaceOf at admission and at every RebuildIndexes, which follows every change
  // of either that can move a call (a policy; a profile's new code without a region tree).
  static constexpr uint32_t kUnroutable = kNoCode - 1;  // No table holds 4 billion codes.
  struct RegionPlace {
    uint32_t province_code = kUnroutable;
    uint32_t centre_code = kUnroutable;
    bool no_province() const { return province_code == kUnroutable; }
    bool operator==(const RegionPlace&) const = default;
  };
  static_assert(sizeof(RegionPlace) == 8);
  // An optional time in 8 bytes, not std::optional's 16 (issue 11: four in every live call):
  // Timestamp::min(), a time no clock gives, stands for none. Converts to and from
  // std::optional<Timestamp>, the type of CallRecord's times.
  class MaybeTime {
   public:
    MaybeTime() = default;
    MaybeTime(std::optional<Timestamp> at)  // NOLINT(google-explicit-constructor): as optional.
        : at_(at.value_or(kNone)) {}
    MaybeTime& operator=(Timestamp at) {
      at_ = at;
      return *this;
    }
    explicit operator bool() const { return at_ != kNone; }
    Timestamp operator*() const { return at_; }
    void reset() { at_ = kNone; }
    operator std::optional<Timestamp>() const {  // NOLINT(google-explicit-constructor)
      return at_ == kNone ? std::nullopt : std::optional<Timestamp>(at_);
    }
    bool operator==(const MaybeTime&) const = default;

   private:
    static constexpr Timestamp kNone = Timestamp::min();
    Timestamp at_ = kNone;
  };
  // What a live call's row needs beyond `info` before the call finishes: CallRecord without its
  // copy of the call and without the disposition (which comes with the input that finishes
  // the call). A third of a CallRecord's size, for every waiting call.
  struct LiveRecord {
    Outcome outcome = Outcome::kFailed;
    int offers = 0;
    int final_step = 0;
    std::string counsellor_id;
    MaybeTime first_offered_at;
    MaybeTime accepted_at;
    MaybeTime answered_at;
    Timestamp ended_at{};
    MaybeTime wrap_up_done_at;
    std::string reason;
    bool ended_by_supervisor = false;
    bool operator==(const LiveRecord&) const = default;
  };
  // A live call as the engine keeps it: CallEntry (the saved form, see ToEntry / FromEntry)
  // with a LiveRecord instead of a whole CallRecord.
  struct Call {
    // What matching reads of every waiting call it weighs (StepOf, Qualified, HeldForAnother,
    // Tried), together and first, followed by `info`, whose matching fields come first too
    // (issue 11: at 100,000 waiting each line read is a cache miss; docs/performance.md,
    // twenty-fourth session). At national scope, with no never-route rule and a short language
    // code, matching reads only a call's first 128 bytes (the language's characters end at byte
    // 112 plus its length); at province or centre scope the province follows, at bytes 128-159.
    // A preferred counsellor's hold (hold_until) and a never-route rule's caller key lie further
    // on. Not asserted: offsetof is not defined for a type that holds strings.
    CallState state = CallState::kWaiting;
    int step = 0;
    bool in_queue = false;
    bool expired = false;
    bool indexed = false;  // See `slot`.
    // Its maximum wait passed while a restart's grace (times_out_not_before) put its time-out
    // off: a Hello that no longer holds it ends it TIMED_OUT (CallFailed). (A call a Hello
    // admitted past its maximum wait has its one timer at the grace's end: nothing put off.)
    bool due_in_grace = false;
    // The caller, held in memory_ until the row: from the arrival if memory_ knew them, else
    // from the answer (CallMemory::HoldKnown, Hold). kNoCaller until then, and for a withheld
    // number. Not saved: a restore holds the known ones again (HoldCallers).
    uint32_t caller = CallMemory::kNoCaller;
    RegionPlace region;  // PlaceOf(info), kept.
    // Few (the counsellors it rang on), so a vector: 24 bytes empty, not a set's 48.
    std::vector<std::string> tried;
    std::string preferred_counsellor;  // Its hold (hold_until) is read only when it has one.
    CallInfo info;
    Timestamp hold_until{};
    // Not timed out before this, even past its maximum wait (CallArrived): the kMaxWait timer is
    // set for it, and ReturnToQueue honours it when an offer comes back meanwhile.
    Timestamp times_out_not_before{};
    uint64_t admission_seq = 0;
    std::string counsellor_id;
    uint64_t generation = 0;
    uint64_t ladder_generation = 0;
    LiveRecord record;
    // Where the call is in index_, set exactly while it is in the queue (by ReindexCall and
    // RebuildIndexes): held in the call rather than in a hash map beside index_ (issue 11: a map
    // slot of 64 bytes and its table's spare room, for every waiting call). `indexed` says
    // whether `slot` holds anything; it sits in the padding after the flags above.
    CallSlot slot;
    std::optional<CallSlot> IndexedAt() const {
      return indexed ? std::optional<CallSlot>(slot) : std::nullopt;
    }
    void SetIndexedAt(std::optional<CallSlot> at) {
      indexed = at.has_value();
      slot = at ? std::move(*at) : CallSlot{};
    }
  };
  static CallEntry ToEntry(Call call);
  // The row of a call's record; its `call` and `disposition` are left to the caller.
  static CallRecord ToRecord(LiveRecord live);
  // The same, into `r` (a row already in place among the effects: nothing moved twice).
  static void FillRecord(LiveRecord&& live, CallRecord& r);
  // Adds a live call to calls_ (its id must be new there), placed in the regions (PlaceOf).
  Call& AddCall(Call call);
  Call& AddCall(CallInfo&& info);
  Call& AddCall(std::unique_ptr<Call> owned);
  static Call FromEntry(CallEntry entry);
  // A pending timer: TimerEntry (the saved form) naming its subject by number, not by a copy of
  // an id: a call by its admission sequence number (calls_by_seq_), a counsellor by their handle
  // in counsellor_names_. A timer whose call is gone finds nothing, as before.
  // 32 bytes, not 40 (issue 11: two to four for every waiting call): the subject and the kind
  // share a word, 56 bits and 8. A counsellor's handle is 32 bits; an admission sequence number
  // is taken from next_seq_, which advances a few times per input (each admission, timer and
  // offer) from 0: 2^56 of them is centuries at a million inputs a second.
  struct Timer {
    Timestamp at{};
    uint64_t seq = 0;
    uint64_t generation = 0;
    uint64_t subject : 56 = 0;
    TimerKind kind : 8 = TimerKind::kStep;
  };
  static_assert(sizeof(Timer) == 32);
  // The order of timers_: the earliest (at, seq) first. (at, seq) is unique.
  static bool TimerAfter(const Timer& a, const Timer& b) {
    return std::tie(b.at, b.seq) < std::tie(a.at, a.seq);
  }
  // The same as a type, so the comparisons are inlined rather than called through a pointer.
  struct TimerOrder {
    bool operator()(const Timer& a, const Timer& b) const { return TimerAfter(a, b); }
  };
  static constexpr uint64_t kNoCall = (uint64_t{1} << 56) - 1;  // The largest subject.
  static bool IsCallTimer(TimerKind kind) {
    return kind != TimerKind::kWrapUp && kind != TimerKind::kDeskGrace &&
           kind != TimerKind::kCoolDown;
  }
  // The counsellor's handle (interned on first use; ids are few and come from the administrator).
  uint64_t CounsellorHandle(const std::string& counsellor_id);
  // Gives a counsellor just put in counsellors_ their handle, and counsellor_by_handle_ them.
  void TrackHandle(Counsellor& c);
  Call* CallOfTimer(const Timer& timer);
  // The counsellor a counsellor's timer names, or null if they are gone: an array read.
  Counsellor* CounsellorOfTimer(const Timer& timer) const;
  // Whether firing `timer`, now or at any later time, would do nothing whatever comes: its call
  // is gone; or a ladder step, an offer timeout or a connect timeout of a generation the call has
  // left (generations only grow), or a connect timeout of a call no longer connecting; or a wait,
  // announcement or repeat-caller hold of a call that is connected or ended (neither ever waits
  // again); a counsellor's timer of a generation (or desk drop) they have left, or whose counsellor
  // is gone. Dead timers are left out of SaveState() and dropped from timers_ (DropDeadTimers), so
  // a finished call's timers neither wake the owner nor fill snapshots.
  bool IsDead(const Timer& timer) const;
  // Pops dead timers off the front; and when timers_ has doubled since the last sweep, sweeps it
  // whole (amortised O(1) per timer set).
  void DropDeadTimers();
  // Removes every dead timer: O(timers).
  void SweepDeadTimers();
  TimerEntry ToEntry(const Timer& timer) const;
  Timer FromEntry(const TimerEntry& entry);

  // The matching indexes. Matching never scans every counsellor or every call: a call looks only
  // at the available counsellors who could take a call of its topic where it is on its ladder,
  // and a freed counsellor only at the waiting calls of its topics where they could take them.
  // A bucket is (topic, scope, code): see Bucket above.
  // Order within a counsellor bucket: the strategy's key, then the id.
  // Invariants: a counsellor is in the buckets of every topic they hold, for every province they
  // serve, every centre of those, and national, exactly while AVAILABLE with a connected desk;
  // a waiting call is in the one bucket of its topic and current step's scope, exactly while it
  // is in the queue, and its Call::slot says where. CheckInvariants rebuilds both and compares.
  // The counsellor by pointer into counsellors_ (a std::map: stable while they exist; they leave
  // every index before they are erased), ordered by their id: no copy of the id per bucket, and
  // no lookup by id to reach them.
  struct RankKey {
    int64_t first = 0;
    int64_t second = 0;
    const Counsellor* counsellor = nullptr;
    bool operator<(const RankKey& o) const {
      if (first != o.first) {
        return first < o.first;
      }
      if (second != o.second) {
        return second < o.second;
      }
      // A counsellor's own key, which every erase and lookup of it meets: no compare of the id
      // with itself.
      if (counsellor == o.counsellor) {
        return false;
      }
      return counsellor->profile.id < o.counsellor->profile.id;
    }
    bool operator==(const RankKey&) const = default;
  };
  struct Indexes {
    // Hash maps: only looked up, never walked in an order that could reach a decision.
    // B-trees: a bucket's entries in a few contiguous nodes, not a tree node (an allocation)
    // per entry; the same order as std::set and std::map.
    // Their nodes through NodeCacheAllocator: a bucket empties and refills at every call.
    using CounsellorTree = absl::btree_set<RankKey, std::less<>, NodeCacheAllocator<RankKey>>;
    using CallTree = absl::btree_map<QueueKey, const Call*>;
    // Node maps for the buckets' trees: a tree stays where it is while its map grows, and no
    // bucket is ever erased (see below), so a counsellor's cached buckets hold their trees by
    // address (BucketTrees).
    absl::node_hash_map<Bucket, CounsellorTree> counsellors;
    // Keyed by the counsellor (a pointer into counsellors_, like RankKey): no hash of their id.
    absl::flat_hash_map<const Counsellor*, std::vector<std::pair<Bucket, RankKey>>>
        counsellor_slots;
    // The buckets each counsellor's profile and the region tree give (CounsellorBuckets), made at
    // their first indexing and kept while the profile is: a counsellor is indexed afresh at every
    // call they take and finish, and deriving them hashed each province and its centre by name
    // each time. A new profile drops theirs (Unindex), a new region tree all (RebuildIndexes
    // makes new Indexes). A cache, so not compared by operator==: CheckInvariants compares each
    // with a fresh derivation instead.
    // With each bucket, its trees in `counsellors` and `calls` (an empty one made for a bucket
    // with no call yet): a counsellor leaves and rejoins their buckets, and looks through their
    // calls, at every call they take, and hashing each bucket to find its trees was a tenth of
    // the engine's instructions (issue 11).
    struct BucketTrees {
      std::vector<Bucket> buckets;
      std::vector<CounsellorTree*> counsellors;
      std::vector<CallTree*> calls;
    };
    absl::flat_hash_map<const Counsellor*, BucketTrees> counsellor_buckets;
    // Calls by pointer into calls_ (a node map: stable while the call lives; a call leaves
    // every index before it is erased).
    // Where each call is: Call::slot.
    absl::node_hash_map<Bucket, CallTree> calls;
    // Waiting repeat calls by the counsellor they were last answered by.
    StringMap<absl::btree_map<QueueKey, const Call*>> preferring;
    // Counsellors signed in (desk connected, not OFFLINE or on BREAK) by (topic, language), for
    // the wait estimate, and what each one counts for.
    absl::flat_hash_map<std::pair<Topic, std::string>, int> staffed;
    absl::flat_hash_map<const Counsellor*, std::vector<std::pair<Topic, std::string>>>
        staffed_slots;
    // Equal entries, an empty bucket or counsellor list counting as none: one emptied stays,
    // since a counsellor leaves their buckets (and a bucket empties) at every call, where erasing
    // them removed and re-made a map entry and the counsellor's list (its allocation) each time.
    // An emptied bucket's b-tree still frees its last node (Abseil does). The buckets kept are
    // bounded as the buckets are: by topics, scopes and region_codes_.
    // Moved, never copied: BucketTrees holds the addresses of this one's trees.
    Indexes() = default;
    Indexes(Indexes&&) = default;
    Indexes& operator=(Indexes&&) = default;
    Indexes(const Indexes&) = delete;
    Indexes& operator=(const Indexes&) = delete;
    bool operator==(const Indexes& other) const;
  };
  // Puts the counsellor in (or takes them out of) the buckets their current state calls for;
  // with `join_buckets` false, out of them whatever their state (Release: they join once they
  // have found no call).
  void Reindex(const Counsellor& c, bool join_buckets = true);
  void Unindex(const Counsellor& c);
  void UnindexStaffed(const Counsellor& c);
  void UnindexBuckets(const Counsellor& c);
  void AddStaffedSlots(Indexes& index, const Counsellor& c) const;
  void AddBucketSlots(Indexes& index, const Counsellor& c) const;
  // The counsellor's buckets and their trees in `index`, made at their first use under this
  // profile.
  Indexes::BucketTrees& BucketTreesOf(Indexes& index, const Counsellor& c) const;
  // Whether the counsellor is in their buckets now.
  bool InBuckets(const Counsellor& c) const;
  void ReindexCall(Call& call);
  void RebuildIndexes();
  Indexes BuildIndexes() const;
  void AddCounsellorSlots(Indexes& index, const Counsellor& c) const;
  // Where a call belongs in the matching indexes now: nullopt when it is not in the queue.
  std::optional<CallSlot> SlotOf(const Call& call) const;
  void AddCallSlot(Indexes& index, const Call& call, const CallSlot& slot) const;
  Bucket CallBucket(const Call& call) const;
  // The number of a province or centre code in region_codes_, or kNoCode if it has none.
  uint32_t CodeOf(const std::string& code) const;
  // Where `info`'s province puts a call, for Call::region.
  RegionPlace PlaceOf(const CallInfo& info) const;
  // Gives the policy's provinces and centres, and the profile's provinces, their numbers.
  // Returns whether any was new: a waiting call of that province was indexed under kNoCode, so
  // the caller rebuilds the indexes once counsellors name it.
  bool InternCodes(const Policy& policy);
  bool InternCodes(const CounsellorProfile& profile);
  std::vector<Bucket> CounsellorBuckets(const Counsellor& c) const;
  RankKey Rank(const Counsellor& c, Topic topic) const;

  void AdvanceTo(Timestamp now);
  // Re-ranks everyone when now_ has entered a new Vietnamese day and the strategy counts calls
  // per day; the ranks must never be a day behind a decision.
  void StartNewDay();
  void FireTimer(const Timer& timer);
  void SetTimer(TimerKind kind, const Call& call, Timestamp at, uint64_t generation);
  void SetTimer(TimerKind kind, const Counsellor& c, Timestamp at, uint64_t generation);

  void Enqueue(Call& call);
  void Dequeue(Call& call);
  int PositionOf(const Call& call) const;

  // Matching, in both directions. Each makes at most one offer.
  void MatchCall(Call& call);
  void MatchCounsellor(Counsellor& counsellor);
  // True if `c` may take `call` now: AVAILABLE, desk open, and Qualified.
  bool Eligible(const Counsellor& c, const Call& call) const;
  // True if `c` meets the rules of `call`'s step (topic skill, language, gender, scope) and is
  // not barred from its caller, whatever their state.
  bool Qualified(const Counsellor& c, const Call& call) const;
  // True while a repeat call waits for its last counsellor (other than `counsellor_id`), who is
  // signed in, busy, and qualified for it. Invariants: a waiting call whose hold is in force is
  // held; the hold ends for good at the call's first offer (to anyone), or when MatchCall finds
  // its counsellor cannot take it soon.
  bool HeldForAnother(const Call& call, const std::string& counsellor_id) const;
  // Re-matches the calls held for the counsellors in holds_to_review_ that are held no longer.
  // Called at the end of every input and timer that can change a counsellor's state, desk,
  // profile or never-route list, so such calls go on at that same instant.
  void ReviewHolds();
  // The step of `call`'s ladder it is on now.
  const LadderStep& StepOf(const Call& call) const;
  // The scope the call is matched at now: its step's, or national for a call whose province is
  // missing, unknown to the region tree, or marked unknown by the daemon.
  Scope ScopeOf(const Call& call) const;
  // Puts `call` on the step its wait reaches and sets the timer for the next one.
  void PlaceOnLadder(Call& call);
  // How many preferences (language, gender) `c` misses for `call` at its step.
  int Misses(const Counsellor& c, const Call& call) const;
  std::string Explain(const Counsellor& c, const Call& call) const;
  void Offer(Call& call, Counsellor& c, int eligible, const std::string& rule);
  // Ends the ringing offer of `call`, putting the call back in its place.
  void RevokeOffer(Call& call, RevokeReason reason);

  // Ends a call's tie to a counsellor before it finishes unconnected: revokes a ringing offer
  // (the counsellor goes back to AVAILABLE) or tells a connecting desk the call ended. Returns
  // the counsellor to Resume() once the call is finished, or null.
  Counsellor* DetachCounsellor(Call& call, RevokeReason reason, Outcome outcome);
  // Looks for new work for a counsellor freed by DetachCounsellor.
  void Resume(Counsellor* c);
  // Finishes a call that is not connected, FAILED for `reason`, with no callback: its ringing
  // offer withdrawn, a counsellor it was connecting to freed.
  absl::Status EndUnrouted(Call& call, const std::string& reason);
  // The caller left (hung up, asked for a callback) before being connected.
  absl::Status LeaveBeforeConnected(const std::string& call_id, Outcome outcome);
  // A call came back from an offer or a failed connect: time it out if past the maximum wait,
  // else look for someone to take it.
  void ReturnToQueue(Call& call);
  // A counsellor's desk went away: no offers to it from now. REQUIRES: c.desk_connected.
  void MarkDeskGone(Counsellor& c);
  // The offer ringing on the gone desk of `c` (RESERVED) is withdrawn, not missed; they wait for
  // their desk as an AVAILABLE counsellor does. Returns the call, not yet back in the queue.
  Call& WithdrawFromGoneDesk(Counsellor& c);
  // When `call` times out: its maximum wait from arrival, not before its times_out_not_before.
  Timestamp TimesOutAt(const Call& call) const {
    return std::max(call.info.arrived_at + options_.max_wait_ms, call.times_out_not_before);
  }
  // A connect failed: the call back in its place; its counsellor on BREAK(unreachable) when the
  // gateway said their phone could not be reached, else AVAILABLE (connect_timeout_ms passed).
  void FailConnect(Call& call, const std::string& reason, bool unreachable);
  // Times the connect of `call` (CONNECTING): connect_timeout_ms from `from`.
  void TimeConnect(Call& call, Timestamp from);
  // The connected call is over: the counsellor goes to WRAP_UP with a deadline.
  void StartWrapUp(Call& call, Outcome outcome, const std::string& reason);

  // BREAK(cool-down) after a heavy call: timed, unless heavy_in_row reached the policy's
  // maximum (then until they say they are ready).
  void CoolDown(Counsellor& c);
  // `join_buckets`: as Reindex's.
  void ChangeState(Counsellor& c, CounsellorState state, BreakReason reason,
                   const std::string& call_id, bool join_buckets = true);
  // Makes a counsellor AVAILABLE (or OFFLINE if their desk is closed) and looks for work.
  void Release(Counsellor& c);
  void Announce(const Call& call);
  // The wait a caller at `position` in the queue can expect: the recent handling time's mean
  // times the position, over the counsellors staffed for the call's topic and language.
  std::optional<Millis> Estimate(const Call& call, int position) const;
  void Finish(Call& call, Outcome outcome, const std::string& reason);
  void Record(Call& call, std::optional<Disposition> disposition = std::nullopt);
  // Holds every live call's caller that memory_ knows again, once it was cleared and rebuilt.
  void HoldCallers();
  // The caller's contacts still inside the repeat window.
  std::vector<Contact> HistoryOf(const std::string& caller_key) const;
  // Built in place in effects_: one move of the effect, not two.
  template <class E>
  void Emit(E&& effect) {
    effects_.emplace_back(std::in_place_type<std::decay_t<E>>, std::forward<E>(effect));
  }

  Call* LookupCall(const std::string& call_id);
  // A call the indexes point at, to change: they hold const pointers into calls_, which this
  // engine owns.
  static Call& Mutable(const Call* call) { return const_cast<Call&>(*call); }
  static Counsellor& Mutable(const Counsellor* c) { return const_cast<Counsellor&>(*c); }
  static bool Tried(const Call& call, const std::string& counsellor_id) {
    return std::find(call.tried.begin(), call.tried.end(), counsellor_id) != call.tried.end();
  }
  Counsellor* LookupCounsellor(const std::string& counsellor_id);
  // The counsellor, who must exist.
  Counsellor& CounsellorAt(const std::string& counsellor_id);
  // SaveState(), without the finished-call memory unless `with_finished`.
  EngineState Save(bool with_finished) const;

  EngineOptions options_;
  Policy policy_;
  Regions regions_;
  Timestamp now_{};
  // std::map, not unordered: iteration order is part of determinism.
  std::map<std::string, Counsellor> counsellors_;
  // The same counsellors by id, hashed: for lookups (a tree's string compares cost more), never
  // walked.
  StringMap<Counsellor*> counsellor_by_id_;
  // Hashed for speed, each call on the heap (a Call& stays valid while others come and go), keyed
  // by a view of the call's own id (one copy of the id per call). Whatever walks it where order
  // could reach a decision or a saved state sorts by id first.
  // Its keys carry their hashes, so a rehash reads no call's id (string_hash.h, HashedView).
  ViewMap<std::unique_ptr<Call>> calls_;
  // The same calls by admission sequence number (unique per call): call timers name their call
  // by it, 8 bytes instead of a copy of its id.
  absl::flat_hash_map<uint64_t, Call*> calls_by_seq_;
  // Finished calls remembered for finished_call_memory_ms (a call id there is refused by
  // CallArrived, and NeverRoute finds the caller of a finished call), and each caller's answered
  // calls in the policy's repeat window, oldest first.
  CallMemory memory_;
  std::deque<Millis> recent_handling_;
  // Their sum, kept as they come and go (issue 11: Estimate summed them at every announcement).
  Millis recent_handling_total_{0};
  // Dispositions still accepted late, by call id, and the same oldest first for expiry.
  StringMap<OwedDisposition> owed_;
  std::deque<OwedDisposition> owed_order_;
  std::set<std::pair<std::string, std::string>> never_route_;
  Timestamp next_contact_sweep_{};
  // See EngineState::contacts_forgotten_through.
  Timestamp contacts_forgotten_through_{};
  // The queue: waiting calls by QueueKey, in a tree that knows ranks, so a caller's position
  // costs O(log n), not a walk of the queue. Defined in engine.cc: its GCC-only type stays out
  // of this header.
  struct QueueRanks;
  std::unique_ptr<QueueRanks> queue_ranks_;
  Indexes index_;
  // The Vietnamese day the ranks of fewest_calls_today were computed for.
  int64_t index_day_ = 0;
  // The pending timers, earliest (at, seq) first: a lane per kind for those set in order, a 4-ary
  // heap for the rest (laned_heap.h). (at, seq) is unique, so the firing order is the same as a
  // sorted set's, without a tree node per timer.
  static constexpr size_t kTimerKinds = 9;
  static constexpr size_t LaneOf(TimerKind kind) { return static_cast<size_t>(kind) - 1; }
  static_assert(static_cast<size_t>(TimerKind::kStep) == 1 &&
                static_cast<size_t>(TimerKind::kConnectTimeout) == kTimerKinds);
  LanedHeap<Timer, TimerOrder, kTimerKinds> timers_;
  // timers_.size() after the last whole sweep (DropDeadTimers sweeps again once there are
  // twice that, and at least twice its floor of 1,024).
  size_t timers_swept_at_ = 0;
  // Counsellor ids by handle, and the handles by id: never shrinks (bounded by the counsellors
  // the administrator ever added); a handle never reaches a decision, only finds an id.
  NameTable counsellor_names_;
  // The counsellors by handle (pointers into counsellors_), null for a handle whose counsellor
  // was removed or never added (a restored timer's). Grows with counsellor_names_.
  std::vector<Counsellor*> counsellor_by_handle_;
  // Province and centre codes by number, for Bucket: those of the policies and of counsellors'
  // profiles (sets the administrator bounds), never a code only a gateway sent. Never shrinks.
  NameTable region_codes_;
  uint64_t next_seq_ = 0;
  std::vector<Effect> effects_;
  // Counsellors who stopped being busy, lost their desk, profile or a caller during the current
  // input: the calls held for them are reviewed before it returns. Empty between inputs, so not
  // part of the saved state.
  std::vector<std::string> holds_to_review_;
};

}  // namespace hotline::routing
