#include "routing/engine.h"

#include <algorithm>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <numeric>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "routing/check.h"

namespace hotline::routing {

namespace {

// Vietnam keeps UTC+7 all year: "today" for fewest_calls_today is the Vietnamese calendar day.
int64_t VietnamDay(Timestamp t) { return (ToUnixMillis(t) + 7 * 3'600'000) / 86'400'000; }

// The refusal for a counsellor id nobody has; `field` names where the request carried it.
absl::Status NoCounsellor(const std::string& id, const char* field = "counsellor_id") {
  return absl::NotFoundError(absl::StrCat(field, ": no counsellor '", id, "'"));
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool Serves(const CounsellorProfile& p, const std::string& province) {
  return p.home_province == province || Contains(p.provinces, province);
}

// A caller's contacts are kept in this order.
bool ContactBefore(const Contact& a, const Contact& b) {
  return std::tie(a.answered_at, a.call_id) < std::tie(b.answered_at, b.call_id);
}

// Pointers to the entries of a hash map, sorted by key: for walks whose order must not depend
// on hashing.
template <typename Map>
auto SortedByKey(Map& map) {
  std::vector<decltype(&*map.begin())> out;
  out.reserve(map.size());
  for (auto& entry : map) {
    out.push_back(&entry);
  }
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  return out;
}

}  // namespace

// GCC's policy-based data structures (header-only): a red-black tree whose nodes know their
// subtree sizes, so order_of_key is O(log n).
struct Engine::QueueRanks {
  __gnu_pbds::tree<QueueKey, const Call*, std::less<QueueKey>, __gnu_pbds::rb_tree_tag,
                   __gnu_pbds::tree_order_statistics_node_update>
      tree;
};

Engine::Engine(EngineOptions options, Policy policy)
    : options_(options), queue_ranks_(std::make_unique<QueueRanks>()) {
  HOTLINE_CHECK(Validate(policy).ok());
  const uint32_t national = region_codes_.Intern("");
  HOTLINE_CHECK(national == kNationalCode);
  regions_ = *Regions::Create(policy.regions);
  InternCodes(policy);
  policy_ = std::move(policy);
}

Engine::~Engine() = default;

// --- Policy. ---

absl::Status Engine::SetOptions(const EngineOptions& options, Timestamp now) {
  AdvanceTo(now);
  const std::pair<const char*, Millis> durations[] = {
      {"max_wait_ms", options.max_wait_ms},
      {"offer_timeout_ms", options.offer_timeout_ms},
      {"connect_timeout_ms", options.connect_timeout_ms},
      {"wrap_up_ms", options.wrap_up_ms},
      {"desk_grace_ms", options.desk_grace_ms},
      {"announce_every_ms", options.announce_every_ms},
      {"finished_call_memory_ms", options.finished_call_memory_ms},
      {"late_disposition_ms", options.late_disposition_ms}};
  for (const auto& [name, value] : durations) {
    if (value.count() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": ", value.count(), " is not positive"));
    }
  }
  if (options.missed_offers_before_break < 1 || options.handling_sample_size < 1) {
    return absl::InvalidArgumentError(
        "missed_offers_before_break and handling_sample_size must be at least 1");
  }
  options_ = options;
  return absl::OkStatus();
}

absl::Status Engine::SetPolicy(Policy policy, Timestamp now) {
  AdvanceTo(now);
  if (absl::Status s = Validate(policy); !s.ok()) {
    return s;
  }
  regions_ = *Regions::Create(policy.regions);
  InternCodes(policy);
  policy_ = std::move(policy);
  RebuildIndexes();  // Buckets follow the regions, ranks the strategy.
  // Queue order is priority then admission and does not depend on the policy: nobody moves.
  // A connecting call may come back to the queue (ConnectFailed): it moves to the new ladder too.
  // By call id: PlaceOnLadder sets timers, whose sequence numbers must not follow hashing.
  for (auto* entry : SortedByKey(calls_)) {
    Call& call = *entry->second;
    if (call.state == CallState::kWaiting || call.state == CallState::kOffered ||
        call.state == CallState::kConnecting) {
      PlaceOnLadder(call);
    }
  }
  // A copy: offering takes calls out of the queue.
  std::vector<Call*> queue;
  queue.reserve(queue_ranks_->tree.size());
  for (const auto& [key, call] : queue_ranks_->tree) {
    queue.push_back(&Mutable(call));
  }
  for (Call* call : queue) {
    MatchCall(*call);  // Calls only leave the queue here (offered), never the engine.
  }
  return absl::OkStatus();
}

// --- Counsellors. ---

absl::Status Engine::AddCounsellor(const CounsellorProfile& profile, Timestamp now) {
  AdvanceTo(now);
  if (counsellors_.contains(profile.id)) {
    return absl::AlreadyExistsError(absl::StrCat("counsellor '", profile.id, "' already exists"));
  }
  Counsellor& c = counsellors_[profile.id];
  counsellor_by_id_[profile.id] = &c;
  c.profile = profile;
  c.KeepSkills();
  TrackHandle(c);
  c.since = now_;
  c.idle_since = now_;
  // Calls waiting with a province only this profile names now have a bucket. With a region tree
  // a call has a province bucket only for a province of the tree, which had its number already.
  if (InternCodes(profile) && regions_.empty()) {
    RebuildIndexes();
  }
  return absl::OkStatus();
}

absl::Status Engine::UpdateCounsellor(const CounsellorProfile& profile, Timestamp now) {
  AdvanceTo(now);
  Counsellor* c = LookupCounsellor(profile.id);
  if (c == nullptr) {
    return NoCounsellor(profile.id, "counsellor.counsellor_id");
  }
  c->profile = profile;
  c->KeepSkills();
  Unindex(*c);  // Another profile: every slot afresh (Reindex keeps unchanged ones).
  if (InternCodes(profile) && regions_.empty()) {
    RebuildIndexes();  // As in AddCounsellor; it indexes them too.
  } else {
    Reindex(*c);
  }
  // New skills or provinces may make waiting calls theirs...
  if (c->state == CounsellorState::kAvailable) {
    MatchCounsellor(*c);
  }
  // ...and lost ones end the wait of calls held for them.
  holds_to_review_.push_back(profile.id);
  ReviewHolds();
  return absl::OkStatus();
}

absl::Status Engine::RemoveCounsellor(const std::string& counsellor_id, Timestamp now) {
  AdvanceTo(now);
  Counsellor* c = LookupCounsellor(counsellor_id);
  if (c == nullptr) {
    return NoCounsellor(counsellor_id);
  }
  if (c->state == CounsellorState::kReserved || c->state == CounsellorState::kOnCall ||
      c->state == CounsellorState::kWrapUp) {
    // Nobody can sign them out now (SetPresence refuses it): the call comes first.
    return absl::FailedPreconditionError(absl::StrCat(
        "counsellor '", counsellor_id, "' is ", std::string(Name(c->state)), " with call '",
        c->call_id, "'; remove them once the call and its wrap-up are over"));
  }
  if (c->state != CounsellorState::kOffline) {
    return absl::FailedPreconditionError(absl::StrCat(
        "counsellor '", counsellor_id, "' is signed in (", std::string(Name(c->state)),
        "); sign them out first (a supervisor can: hotlinectl presence ", counsellor_id,
        " offline)"));
  }
  Unindex(*c);
  counsellor_by_handle_[c->handle] = nullptr;
  counsellor_by_id_.erase(counsellor_id);
  counsellors_.erase(counsellor_id);
  SweepDeadTimers();  // Theirs: added again, they start from generation 0 (IsDead).
  // Signed out, so nothing should wait for them; should anything still, it goes on now.
  holds_to_review_.push_back(counsellor_id);
  ReviewHolds();
  return absl::OkStatus();
}

// --- Desks. ---

absl::Status Engine::DeskConnected(const std::string& counsellor_id, Timestamp now) {
  AdvanceTo(now);
  Counsellor* c = LookupCounsellor(counsellor_id);
  if (c == nullptr) {
    return NoCounsellor(counsellor_id);
  }
  c->desk_connected = true;
  Reindex(*c);
  // Back within the grace period: available again at once.
  MatchCounsellor(*c);
  return absl::OkStatus();
}

absl::Status Engine::Restarted(Timestamp restarted_at, Timestamp now, Millis calls_grace,
                               bool due_by_timer, bool past_due_in_grace,
                               bool retime_shortened_wait) {
  AdvanceTo(now);
  if (restarted_at < now_) {
    return absl::InvalidArgumentError("restarted_at: before the engine's time");
  }
  // Every desk off first, in id order (counsellors_ is ordered): then a call coming back from a
  // withdrawn offer finds no desk about to go.
  std::vector<Counsellor*> gone;
  for (auto& [id, c] : counsellors_) {
    if (c.desk_connected) {
      MarkDeskGone(c);
      gone.push_back(&c);
    }
  }
  const Timestamp not_before = restarted_at + calls_grace;
  for (Counsellor* c : gone) {
    if (c->state == CounsellorState::kReserved) {
      Call& call = WithdrawFromGoneDesk(*c);
      if (calls_grace > Millis(0) && (call.expired || now_ >= TimesOutAt(call))) {
        // Its maximum wait passed while the offer rang: it waits the grace, as a call whose
        // maximum wait passed while the daemon was down (below), with a timer of its own (the
        // one that expired it fired).
        call.expired = false;
        call.due_in_grace = true;
        call.times_out_not_before = not_before;
        SetTimer(TimerKind::kMaxWait, call, TimesOutAt(call), 0);
      }
      ReturnToQueue(call);
    }
    holds_to_review_.push_back(c->profile.id);
  }
  ReviewHolds();
  for (auto& [id, c] : counsellors_) {
    if ((c.state == CounsellorState::kAvailable || c.state == CounsellorState::kBreak) &&
        !c.desk_connected) {
      ++c.desk_drops;  // The old grace timer is void.
      SetTimer(TimerKind::kDeskGrace, c, restarted_at + options_.desk_grace_ms, c.desk_drops);
    }
  }
  // In admission order, so the timers are numbered alike in every replay (a hash map's order
  // is not the same in a restored engine).
  std::vector<Call*> connecting;
  for (auto& [seq, call] : calls_by_seq_) {
    if (call->state == CallState::kConnecting) {
      connecting.push_back(call);
    }
  }
  std::sort(connecting.begin(), connecting.end(),
            [](const Call* a, const Call* b) { return a->admission_seq < b->admission_seq; });
  for (Call* call : connecting) {
    ++call->generation;  // The old connect timer is void.
    TimeConnect(*call, restarted_at);
  }
  if (calls_grace > Millis(0)) {
    // A call's kMaxWait timer keeps the time it was set for, so a maximum wait lengthened since
    // (settings changed at this start are applied before this record) leaves it earlier than
    // TimesOutAt: the call is due by whichever comes first.
    absl::flat_hash_map<uint64_t, Timestamp> timer_due;
    if (due_by_timer) {
      timers_.ForEach([&](const Timer& timer) {
        if (timer.kind == TimerKind::kMaxWait) {
          auto [it, added] = timer_due.try_emplace(timer.subject, timer.at);
          it->second = std::min(it->second, timer.at);
        }
      });
    }
    std::vector<Call*> due;
    std::vector<Call*> late;
    for (auto& [seq, call] : calls_by_seq_) {
      const auto timer = timer_due.find(seq);
      if (call->state == CallState::kConnecting) {
        // A failed connect puts it back in the queue, where it must not wait past the maximum.
        if (retime_shortened_wait && timer != timer_due.end() &&
            timer->second > TimesOutAt(*call)) {
          late.push_back(call);
        }
        continue;
      }
      if ((call->state != CallState::kWaiting && call->state != CallState::kOffered) ||
          call->expired) {
        continue;
      }
      Timestamp due_at = TimesOutAt(*call);
      if (timer != timer_due.end()) {
        due_at = std::min(due_at, timer->second);
      }
      if (due_at < not_before) {
        due.push_back(call);
      } else if (retime_shortened_wait && timer != timer_due.end() && timer->second > due_at) {
        late.push_back(call);  // Its maximum wait was shortened: it must not wait longer.
      }
      if (past_due_in_grace && due_at <= restarted_at) {
        // Its time-out may have fired before the stop (the journal's last record, `now`, may be
        // older: commits refused), with a callback offered (by its timer, or
        // as an offer came back: ReturnToQueue judges by the maximum wait now, while a maximum
        // wait shortened at a start leaves the timer late, so that timer may not fire in the
        // grace to say so).
        call->due_in_grace = true;
      }
    }
    std::sort(due.begin(), due.end(),
              [](const Call* a, const Call* b) { return a->admission_seq < b->admission_seq; });
    for (Call* call : due) {
      // The earlier kMaxWait timer stays, and finds the call not yet due when it fires.
      call->times_out_not_before = not_before;
      SetTimer(TimerKind::kMaxWait, *call, not_before, 0);
    }
    std::sort(late.begin(), late.end(),
              [](const Call* a, const Call* b) { return a->admission_seq < b->admission_seq; });
    for (Call* call : late) {
      // The later timer stays, and finds the call gone when it fires.
      SetTimer(TimerKind::kMaxWait, *call, TimesOutAt(*call), 0);
    }
  }
  return absl::OkStatus();
}

absl::Status Engine::DeskDisconnected(const std::string& counsellor_id, Timestamp now) {
  AdvanceTo(now);
  Counsellor* c = LookupCounsellor(counsellor_id);
  if (c == nullptr) {
    return NoCounsellor(counsellor_id);
  }
  if (!c->desk_connected) {
    return absl::OkStatus();
  }
  MarkDeskGone(*c);
  switch (c->state) {
    case CounsellorState::kReserved:
      ReturnToQueue(WithdrawFromGoneDesk(*c));
      break;
    case CounsellorState::kAvailable:
    case CounsellorState::kBreak:
      SetTimer(TimerKind::kDeskGrace, *c, now_ + options_.desk_grace_ms, c->desk_drops);
      break;
    case CounsellorState::kOffline:
    case CounsellorState::kOnCall:
    case CounsellorState::kWrapUp:
      // The phone call lives on the gateway; the desk may come back to finish the wrap-up.
      break;
  }
  // Nobody knows when (or whether) the desk comes back: calls held for them go on.
  holds_to_review_.push_back(counsellor_id);
  ReviewHolds();
  return absl::OkStatus();
}

void Engine::MarkDeskGone(Counsellor& c) {
  c.desk_connected = false;
  ++c.desk_drops;
  Reindex(c);
}

Engine::Call& Engine::WithdrawFromGoneDesk(Counsellor& c) {
  Call& call = *calls_.at(c.call_id);
  RevokeOffer(call, RevokeReason::kWithdrawn);
  // Not a missed offer: the desk went away. They wait for it like an available one (the change
  // of state sets the grace timer).
  ChangeState(c, CounsellorState::kAvailable, BreakReason::kNone, "");
  return call;
}

absl::Status Engine::SetPresence(const std::string& counsellor_id, CounsellorState state,
                                 BreakReason reason, Timestamp now) {
  AdvanceTo(now);
  Counsellor* c = LookupCounsellor(counsellor_id);
  if (c == nullptr) {
    return NoCounsellor(counsellor_id);
  }
  if (state != CounsellorState::kAvailable && state != CounsellorState::kBreak &&
      state != CounsellorState::kOffline) {
    return absl::InvalidArgumentError("state: must be AVAILABLE, BREAK or OFFLINE");
  }
  if (c->state == CounsellorState::kReserved || c->state == CounsellorState::kOnCall ||
      c->state == CounsellorState::kWrapUp) {
    return absl::FailedPreconditionError(
        absl::StrCat("counsellor '", counsellor_id, "' is ", std::string(Name(c->state)),
                     " with call '", c->call_id, "'; answer the offer or finish the call first"));
  }
  if (reason == BreakReason::kSupervisor) {
    c->cool_down_until = Timestamp{};  // A supervisor's word ends a cool-down, whatever it says.
  }
  if (state == CounsellorState::kAvailable) {
    // Whatever the state: signing out and back in does not end a cool-down early.
    if (now_ < c->cool_down_until) {
      return absl::FailedPreconditionError(absl::StrCat(
          "counsellor '", counsellor_id, "' is cooling down after a heavy call for another ",
          std::chrono::duration_cast<std::chrono::seconds>(c->cool_down_until - now_).count(),
          " s"));
    }
    if (!c->desk_connected) {
      return absl::FailedPreconditionError(
          absl::StrCat("counsellor '", counsellor_id, "' has no desk connected; open Watch first"));
    }
    if (c->state != CounsellorState::kAvailable) {
      if (c->state == CounsellorState::kBreak) {
        c->heavy_in_row = 0;  // Back from a break: a new run.
      }
      Release(*c);
    }
    ReviewHolds();
    return absl::OkStatus();
  }
  if (state == CounsellorState::kBreak && c->state == CounsellorState::kOffline &&
      !c->desk_connected) {
    // With no desk there is nothing to end the break: they would show as on break for good.
    return absl::FailedPreconditionError(absl::StrCat(
        "counsellor '", counsellor_id, "' is signed out; a break needs their desk open"));
  }
  if (state == CounsellorState::kBreak && c->state == CounsellorState::kBreak &&
      c->break_reason == BreakReason::kCoolDown && now_ < c->cool_down_until) {
    // Another label would end the cool-down's timer, and AVAILABLE would then pass at once.
    return absl::FailedPreconditionError(absl::StrCat(
        "counsellor '", counsellor_id, "' is cooling down after a heavy call for another ",
        std::chrono::duration_cast<std::chrono::seconds>(c->cool_down_until - now_).count(),
        " s; the break's reason stays"));
  }
  const BreakReason new_reason =
      state == CounsellorState::kBreak
          ? (reason == BreakReason::kNone ? BreakReason::kChosen : reason)
          : BreakReason::kNone;
  if (c->state != state || c->break_reason != new_reason) {
    ChangeState(*c, state, new_reason, "");
  }
  ReviewHolds();
  return absl::OkStatus();
}

absl::Status Engine::AnswerOffer(const std::string& counsellor_id, const std::string& call_id,
                                 bool accept, Timestamp now) {
  AdvanceTo(now);
  Counsellor* c = LookupCounsellor(counsellor_id);
  Call* call = LookupCall(call_id);
  if (c == nullptr || call == nullptr || call->state != CallState::kOffered ||
      call->counsellor_id != counsellor_id) {
    return absl::NotFoundError(
        absl::StrCat("no offer of call '", call_id, "' is ringing for '", counsellor_id, "'"));
  }
  c->missed_in_row = 0;
  if (!accept) {
    RevokeOffer(*call, RevokeReason::kDeclined);
    ChangeState(*c, CounsellorState::kAvailable, BreakReason::kNone, "");
    ReturnToQueue(*call);
    if (c->state == CounsellorState::kAvailable) {
      MatchCounsellor(*c);
    }
    ReviewHolds();
    return absl::OkStatus();
  }
  call->state = CallState::kConnecting;
  ++call->generation;  // The offer timer is now stale.
  call->record.counsellor_id = counsellor_id;
  call->record.accepted_at = now_;
  if (c->calls_day != VietnamDay(now_)) {
    c->calls_day = VietnamDay(now_);
    c->calls_today = 0;
  }
  ++c->calls_today;
  ChangeState(*c, CounsellorState::kOnCall, BreakReason::kNone, call_id);
  Emit(ConnectRequested{call_id, call->info.gateway_id, counsellor_id, c->profile.endpoint, now_});
  TimeConnect(*call, now_);
  return absl::OkStatus();
}

absl::Status Engine::SubmitDisposition(const std::string& counsellor_id, const std::string& call_id,
                                       const Disposition& disposition, bool ready_for_next,
                                       Timestamp now) {
  AdvanceTo(now);
  Counsellor* c = LookupCounsellor(counsellor_id);
  if (c == nullptr) {
    return NoCounsellor(counsellor_id);
  }
  if (c->state != CounsellorState::kWrapUp || c->call_id != call_id) {
    auto owed = owed_.find(call_id);
    if (owed == owed_.end() || owed->second.counsellor_id != counsellor_id) {
      return absl::FailedPreconditionError(absl::StrCat(
          "counsellor '", counsellor_id, "' is not in wrap-up for call '", call_id,
          "' and owes it no disposition (another call, already recorded, or more than ",
          options_.late_disposition_ms.count() / 3'600'000, " hours ago)"));
    }
    // Late: the row is written; the disposition joins it. The counsellor may be on another
    // call by now, so their state changes only when they are idle: a break they ask for, or the
    // cool-down a heavy call calls for. A heavy call counts in the heavy run either way.
    memory_.NoteCategory(owed->second.caller_key, call_id, disposition.category);
    Emit(DispositionLate{call_id, counsellor_id, disposition, now_});
    owed_.erase(owed);
    if (disposition.heavy) {
      ++c->heavy_in_row;
    }
    if (c->state == CounsellorState::kAvailable) {
      if (!ready_for_next) {
        c->heavy_in_row = 0;
        ChangeState(*c, CounsellorState::kBreak, BreakReason::kChosen, "");
      } else if (disposition.heavy) {
        CoolDown(*c);
      }
    }
    ReviewHolds();
    return absl::OkStatus();
  }
  Call* call = LookupCall(call_id);
  memory_.NoteCategory(call->caller, call_id, disposition.category);
  call->record.wrap_up_done_at = now_;
  Record(*call, disposition);
  c->heavy_in_row = disposition.heavy ? c->heavy_in_row + 1 : 0;
  if (!ready_for_next) {
    // A break of their own choosing: a real break, so the heavy run starts again.
    c->heavy_in_row = 0;
    ChangeState(*c, CounsellorState::kBreak, BreakReason::kChosen, "");
  } else if (disposition.heavy) {
    CoolDown(*c);
  } else {
    Release(*c);
  }
  ReviewHolds();
  return absl::OkStatus();
}

void Engine::CoolDown(Counsellor& c) {
  ChangeState(c, CounsellorState::kBreak, BreakReason::kCoolDown, "");
  if (c.heavy_in_row < policy_.max_heavy_in_row) {
    c.cool_down_until = now_ + policy_.cool_down_ms;
    SetTimer(TimerKind::kCoolDown, c, c.cool_down_until, c.generation);
  }
  // Otherwise the cool-down lasts until they (or a supervisor) say they are ready.
}

// --- Gateway events. ---

absl::Status Engine::CallArrived(CallInfo info, Timestamp now, Timestamp times_out_not_before) {
  AdvanceTo(now);
  if (calls_.contains(info.call_id) || memory_.IsFinished(info.call_id)) {
    return absl::AlreadyExistsError(absl::StrCat("call_id: '", info.call_id, "' already exists"));
  }
  Call& call = AddCall(std::move(info));
  call.admission_seq = next_seq_++;
  calls_by_seq_[call.admission_seq] = &call;
  call.caller = memory_.HoldKnown(call.info.caller_key);  // Not known: no contact either.
  if (std::optional<Contact> last = memory_.LastContact(call.caller);
      last && now_ < last->answered_at + policy_.repeat_window_ms) {
    // Children often call many times before they disclose: back to the one they talked to.
    call.info.repeat_caller = true;
    call.preferred_counsellor = std::move(last->counsellor_id);
    call.hold_until = now_ + policy_.repeat_wait_ms;
    SetTimer(TimerKind::kRepeatHold, call, call.hold_until, 0);
  }
  PlaceOnLadder(call);
  call.times_out_not_before = times_out_not_before;
  SetTimer(TimerKind::kMaxWait, call, TimesOutAt(call), 0);
  Enqueue(call);
  MatchCall(call);
  if (call.state == CallState::kWaiting) {
    Announce(call);
  }
  SetTimer(TimerKind::kAnnounce, call, now_ + options_.announce_every_ms, 0);
  // A gateway's arrival time may lie in the past; fire whatever it has already made due.
  AdvanceTo(now_);
  return absl::OkStatus();
}

absl::Status Engine::CallerHungUp(const std::string& call_id, Timestamp now) {
  AdvanceTo(now);
  return LeaveBeforeConnected(call_id, Outcome::kAbandoned);
}

absl::Status Engine::CallbackRequested(const std::string& call_id, Timestamp now) {
  AdvanceTo(now);
  return LeaveBeforeConnected(call_id, Outcome::kCallbackRequested);
}

absl::Status Engine::LeaveBeforeConnected(const std::string& call_id, Outcome outcome) {
  Call* call = LookupCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(absl::StrCat("call_id: no live call '", call_id, "'"));
  }
  if (call->state == CallState::kConnected || call->state == CallState::kEnded) {
    return absl::FailedPreconditionError(absl::StrCat("call '", call_id, "' is ",
                                                      std::string(Name(call->state)),
                                                      "; send ended or failed instead"));
  }
  Counsellor* freed = DetachCounsellor(*call, RevokeReason::kCallerHungUp, outcome);
  Finish(*call, outcome, "");
  Resume(freed);
  ReviewHolds();
  return absl::OkStatus();
}

absl::Status Engine::CallConnected(const std::string& call_id, Timestamp now) {
  AdvanceTo(now);
  Call* call = LookupCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(absl::StrCat("call_id: no live call '", call_id, "'"));
  }
  if (call->state == CallState::kWaiting || call->state == CallState::kOffered) {
    // The gateway bridged it by a connect this engine no longer has: one sent before the daemon
    // stopped and never written (a crash, or a stop while the database was locked), or one that
    // timed out here as the gateway carried it out. Routed on, it would be offered to someone else
    // while the caller talks, and timed out with a callback; the gateway holds the phone call.
    return EndUnrouted(
        *call, absl::StrCat("the gateway connected the call while hotlined had it ",
                            std::string(Name(call->state)), " (a connect not recorded here)"));
  }
  if (call->state != CallState::kConnecting) {
    return absl::FailedPreconditionError(absl::StrCat(
        "call '", call_id, "' is ", std::string(Name(call->state)), ", not connecting"));
  }
  call->state = CallState::kConnected;
  call->record.answered_at = now_;
  if (!call->info.caller_key.empty()) {  // A withheld number is nobody's repeat call.
    // In the order (answered_at, call id): the order a rebuild from the calls' rows can give
    // (RememberFinished), however many of one caller's calls connect in the same millisecond.
    if (call->caller == CallMemory::kNoCaller) {
      call->caller = memory_.Hold(call->info.caller_key);
    }
    memory_.AddContact(call->caller, Contact{call_id, call->counsellor_id, now_, ""});
  }
  Emit(DeskCallConnected{call_id, call->counsellor_id});
  return absl::OkStatus();
}

absl::Status Engine::CallEnded(const std::string& call_id, Timestamp now) {
  AdvanceTo(now);
  Call* call = LookupCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(absl::StrCat("call_id: no live call '", call_id, "'"));
  }
  if (call->state == CallState::kConnecting) {
    // Its `connected` never came (lost in a restart): it was talked, with the counsellor the
    // connect named.
    if (absl::Status s = CallConnected(call_id, now); !s.ok()) {
      return s;
    }
  }
  if (call->state == CallState::kWaiting || call->state == CallState::kOffered) {
    // Connected by a connect not recorded here, as in CallConnected: not a call to route on.
    return EndUnrouted(
        *call, absl::StrCat("the gateway ended the call as connected while "
                            "hotlined had it ",
                            std::string(Name(call->state)), " (a connect not recorded here)"));
  }
  if (call->state != CallState::kConnected) {
    return absl::FailedPreconditionError(absl::StrCat(
        "call '", call_id, "' is ", std::string(Name(call->state)), ", not connected"));
  }
  StartWrapUp(*call, Outcome::kCompleted, "");
  return absl::OkStatus();
}

absl::Status Engine::EndUnrouted(Call& call, const std::string& reason) {
  Counsellor* freed = DetachCounsellor(call, RevokeReason::kWithdrawn, Outcome::kFailed);
  Finish(call, Outcome::kFailed, reason);
  Resume(freed);
  ReviewHolds();
  return absl::OkStatus();
}

absl::Status Engine::CallFailed(const std::string& call_id, const std::string& reason,
                                Timestamp now, bool times_out_past_max_wait) {
  AdvanceTo(now);
  Call* call = LookupCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(absl::StrCat("call_id: no live call '", call_id, "'"));
  }
  if (call->state == CallState::kEnded) {
    return absl::FailedPreconditionError(absl::StrCat("call '", call_id, "' has already ended"));
  }
  if (call->state == CallState::kConnected) {
    // They talked: the counsellor still records what they can.
    StartWrapUp(*call, Outcome::kFailed, reason);
    return absl::OkStatus();
  }
  if (times_out_past_max_wait &&
      (call->state == CallState::kWaiting || call->state == CallState::kOffered) &&
      call->due_in_grace) {
    Counsellor* freed = DetachCounsellor(*call, RevokeReason::kWithdrawn, Outcome::kTimedOut);
    Finish(*call, Outcome::kTimedOut, reason);
    Resume(freed);
    ReviewHolds();
    return absl::OkStatus();
  }
  return EndUnrouted(*call, reason);
}

absl::Status Engine::ConnectFailed(const std::string& call_id, const std::string& reason,
                                   Timestamp now) {
  AdvanceTo(now);
  Call* call = LookupCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(absl::StrCat("call_id: no live call '", call_id, "'"));
  }
  if (call->state != CallState::kConnecting) {
    return absl::FailedPreconditionError(absl::StrCat(
        "call '", call_id, "' is ", std::string(Name(call->state)), ", not connecting"));
  }
  FailConnect(*call, reason, /*unreachable=*/true);
  ReviewHolds();
  return absl::OkStatus();
}

void Engine::FailConnect(Call& call, const std::string& reason, bool unreachable) {
  Counsellor& c = CounsellorAt(call.counsellor_id);
  call.state = CallState::kWaiting;
  ++call.generation;  // The connect's timer is now stale.
  call.counsellor_id.clear();
  call.record.counsellor_id.clear();
  call.record.accepted_at.reset();
  call.record.reason = reason;
  if (unreachable) {
    ChangeState(c, CounsellorState::kBreak, BreakReason::kUnreachable, "");
  } else {
    ChangeState(c, CounsellorState::kAvailable, BreakReason::kNone, "");
  }
  Enqueue(call);
  ReturnToQueue(call);  // The call back in its place first, then any held for them.
  if (c.state == CounsellorState::kAvailable) {
    MatchCounsellor(c);
  }
}

void Engine::TimeConnect(Call& call, Timestamp from) {
  SetTimer(TimerKind::kConnectTimeout, call, from + options_.connect_timeout_ms, call.generation);
}

std::optional<std::string> Engine::CallerOf(const std::string& call_id) const {
  if (auto it = calls_.find(call_id); it != calls_.end()) {
    return it->second->info.caller_key;
  }
  return memory_.CallerOfFinished(call_id);
}

absl::Status Engine::NeverRoute(const std::string& counsellor_id, const std::string& call_id,
                                std::string caller_key, Timestamp now,
                                bool withdraw_ringing_offer) {
  AdvanceTo(now);
  if (LookupCounsellor(counsellor_id) == nullptr) {
    return NoCounsellor(counsellor_id);
  }
  if (caller_key.empty()) {
    std::optional<std::string> caller = CallerOf(call_id);
    if (!caller) {
      return absl::NotFoundError(absl::StrCat("call_id: no call '", call_id, "' in the last day"));
    }
    caller_key = *std::move(caller);
  }
  if (caller_key.empty()) {
    // Every withheld caller shares the empty key: blocking it would block them all.
    return absl::FailedPreconditionError(
        absl::StrCat("call_id: the caller of '", call_id, "' withheld their number"));
  }
  never_route_.insert({counsellor_id, caller_key});
  // An offer of this caller ringing on their desk now is withdrawn: accepting it would route the
  // caller to the counsellor the rule excludes. Not a missed offer; the call goes back in its
  // place for someone else, and the counsellor, still at their desk, is matched again. A call
  // already accepted (connecting or connected) is theirs: the rule is for the caller's next one.
  Counsellor& c = *LookupCounsellor(counsellor_id);
  if (withdraw_ringing_offer && c.state == CounsellorState::kReserved) {
    Call& call = *calls_.at(c.call_id);
    if (call.info.caller_key == caller_key) {
      RevokeOffer(call, RevokeReason::kWithdrawn);
      ChangeState(c, CounsellorState::kAvailable, BreakReason::kNone, "");
      ReturnToQueue(call);
      MatchCounsellor(c);
    }
  }
  holds_to_review_.push_back(counsellor_id);  // A call of this caller may be held for them.
  ReviewHolds();
  return absl::OkStatus();
}

// --- Supervisor. ---

absl::Status Engine::ChangePriority(const std::string& call_id, Priority priority, Timestamp now) {
  AdvanceTo(now);
  Call* call = LookupCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(absl::StrCat("call_id: no live call '", call_id, "'"));
  }
  if (call->state != CallState::kWaiting && call->state != CallState::kOffered) {
    return absl::FailedPreconditionError(absl::StrCat("call_id: call '", call_id, "' is ",
                                                      std::string(Name(call->state)),
                                                      "; only waiting calls change priority"));
  }
  const bool queued = call->in_queue;
  if (queued) {
    Dequeue(*call);
  }
  call->info.priority = priority;
  // Another priority may mean another ladder (an emergency starts national).
  PlaceOnLadder(*call);
  if (queued) {
    Enqueue(*call);
    MatchCall(*call);
  }
  return absl::OkStatus();
}

absl::Status Engine::EndCall(const std::string& call_id, const std::string& reason, Timestamp now) {
  AdvanceTo(now);
  Call* call = LookupCall(call_id);
  if (call == nullptr) {
    return absl::NotFoundError(absl::StrCat("call_id: no live call '", call_id, "'"));
  }
  if (call->state == CallState::kEnded) {
    return absl::FailedPreconditionError(
        absl::StrCat("call_id: call '", call_id, "' has already ended"));
  }
  if (call->state != CallState::kConnected) {
    return absl::FailedPreconditionError(
        absl::StrCat("call_id: call '", call_id, "' is ", std::string(Name(call->state)),
                     "; only a connected call can be ended (the others have timers of their own)"));
  }
  StartWrapUp(*call, Outcome::kFailed, reason);
  call->record.ended_by_supervisor = true;
  return absl::OkStatus();
}

// --- Time. ---

void Engine::Tick(Timestamp now) { AdvanceTo(now); }

std::optional<Timestamp> Engine::NextDeadline() {
  DropDeadTimers();
  if (timers_.empty()) {
    return std::nullopt;
  }
  return timers_.Front().at;
}

std::vector<Effect> Engine::TakeEffects() {
  std::vector<Effect> taken;
  taken.reserve(16);  // For the engine's next input: one allocation rather than a growth series.
  TakeEffects(taken);
  return taken;
}

void Engine::TakeEffects(std::vector<Effect>& into) {
  into.clear();
  into.swap(effects_);
  if (effects_.capacity() > kKeptEffects) {
    std::vector<Effect> small;  // Not `effects_ = {}`: assigning an empty list keeps the storage.
    small.reserve(16);
    effects_.swap(small);
  }
}

void Engine::AdvanceTo(Timestamp now) {
  // While a timer fires, the engine's time is the timer's deadline, so decisions carry the
  // exact time they were due, however late the owner ticks.
  while (!timers_.empty() && timers_.Front().at <= now) {
    Timer timer = timers_.Pop();
    now_ = std::max(now_, timer.at);
    StartNewDay();  // A timer past midnight decides by the new day's counts.
    FireTimer(timer);
    ReviewHolds();
  }
  now_ = std::max(now_, now);
  StartNewDay();
  while (!owed_order_.empty() &&
         owed_order_.front().since + options_.late_disposition_ms <= now_) {
    if (auto it = owed_.find(owed_order_.front().call_id);
        it != owed_.end() && it->second == owed_order_.front()) {
      owed_.erase(it);
    }
    owed_order_.pop_front();
  }
  memory_.ForgetFinishedThrough(now_ - options_.finished_call_memory_ms);
  // Contacts are few (at most kMaxContactsPerCaller per caller in the window); a full pass on the
  // rare ticks that pass an hour is cheap enough and keeps no second index to go stale.
  if (now_ >= next_contact_sweep_) {
    memory_.ForgetContactsThrough(now_ - policy_.repeat_window_ms);
    contacts_forgotten_through_ =
        std::max(contacts_forgotten_through_, now_ - policy_.repeat_window_ms);
    next_contact_sweep_ = now_ + Millis(3'600'000);
  }
}

void Engine::StartNewDay() {
  if (policy_.strategy == Strategy::kFewestCallsToday && VietnamDay(now_) != index_day_) {
    RebuildIndexes();  // A new day: everyone's count starts again.
  }
}

bool Engine::IsDead(const Timer& timer) const {
  if (!IsCallTimer(timer.kind)) {
    // Removing a counsellor sweeps their timers away, so a counsellor's generations only grow
    // while any timer of theirs exists: a mismatch is for good.
    const Counsellor* c = CounsellorOfTimer(timer);
    if (c == nullptr) {
      return true;
    }
    return (timer.kind == TimerKind::kDeskGrace ? c->desk_drops : c->generation) !=
           timer.generation;
  }
  auto it = calls_by_seq_.find(timer.subject);
  if (it == calls_by_seq_.end()) {
    return true;
  }
  const Call& call = *it->second;
  switch (timer.kind) {
    case TimerKind::kStep:
      return call.ladder_generation != timer.generation;
    case TimerKind::kOfferTimeout:
      return call.generation != timer.generation;
    case TimerKind::kConnectTimeout:
      // Only an accepted offer makes a call CONNECTING, and it starts a new generation.
      return call.generation != timer.generation || call.state != CallState::kConnecting;
    case TimerKind::kMaxWait:
    case TimerKind::kAnnounce:
    case TimerKind::kRepeatHold:
      return call.state == CallState::kConnected || call.state == CallState::kEnded;
    default:
      return false;
  }
}

void Engine::SweepDeadTimers() {
  timers_.EraseIf([&](const Timer& timer) { return IsDead(timer); });
  timers_swept_at_ = timers_.size();
}

void Engine::DropDeadTimers() {
  constexpr size_t kTimerSweepFloor = 1024;
  if (timers_.size() >= 2 * std::max(timers_swept_at_, kTimerSweepFloor)) {
    SweepDeadTimers();
  }
  while (!timers_.empty() && IsDead(timers_.Front())) {
    timers_.Pop();
  }
}

void Engine::SetTimer(TimerKind kind, const Call& call, Timestamp at, uint64_t generation) {
  HOTLINE_CHECK(IsCallTimer(kind));
  timers_.Push(Timer{at, next_seq_++, generation, call.admission_seq, kind}, LaneOf(kind));
  DropDeadTimers();
}

void Engine::SetTimer(TimerKind kind, const Counsellor& c, Timestamp at, uint64_t generation) {
  HOTLINE_CHECK(!IsCallTimer(kind));
  timers_.Push(Timer{at, next_seq_++, generation, c.handle, kind}, LaneOf(kind));
  DropDeadTimers();
}

uint64_t Engine::CounsellorHandle(const std::string& counsellor_id) {
  return counsellor_names_.Intern(counsellor_id);
}

Engine::Call* Engine::CallOfTimer(const Timer& timer) {
  auto it = calls_by_seq_.find(timer.subject);
  return it == calls_by_seq_.end() ? nullptr : it->second;
}

void Engine::TrackHandle(Counsellor& c) {
  c.handle = counsellor_names_.Intern(c.profile.id);
  if (counsellor_by_handle_.size() <= c.handle) {
    counsellor_by_handle_.resize(c.handle + 1, nullptr);
  }
  counsellor_by_handle_[c.handle] = &c;
}

Engine::Counsellor* Engine::CounsellorOfTimer(const Timer& timer) const {
  return timer.subject < counsellor_by_handle_.size() ? counsellor_by_handle_[timer.subject]
                                                      : nullptr;
}

TimerEntry Engine::ToEntry(const Timer& timer) const {
  std::string key;
  if (!IsCallTimer(timer.kind)) {
    key = counsellor_names_.Name(static_cast<uint32_t>(timer.subject));
  } else if (auto it = calls_by_seq_.find(timer.subject); it != calls_by_seq_.end()) {
    key = it->second->info.call_id;
  }
  // Else the call is gone: the timer would find nothing, and an empty key finds nothing either.
  return TimerEntry{timer.at, timer.seq, timer.kind, std::move(key), timer.generation};
}

Engine::Timer Engine::FromEntry(const TimerEntry& entry) {
  Timer timer{entry.at, entry.seq, entry.generation, 0, entry.kind};
  if (!IsCallTimer(entry.kind)) {
    timer.subject = CounsellorHandle(entry.key);
  } else if (const Call* call = LookupCall(entry.key)) {
    timer.subject = call->admission_seq;
  } else {
    // A call gone: a number no call is ever admitted with.
    timer.subject = kNoCall;
  }
  return timer;
}

void Engine::FireTimer(const Timer& timer) {
  switch (timer.kind) {
    case TimerKind::kStep: {
      Call* call = CallOfTimer(timer);
      if (call == nullptr || call->ladder_generation != timer.generation) {
        return;
      }
      PlaceOnLadder(*call);
      if (call->state == CallState::kWaiting) {
        MatchCall(*call);
      }
      return;
    }
    case TimerKind::kMaxWait: {
      Call* call = CallOfTimer(timer);
      if (call == nullptr) {
        return;
      }
      if (now_ < call->times_out_not_before) {
        // Put off since it was set (Restarted), and a timer at times_out_not_before times it out.
        // (Not TimesOutAt: a maximum wait lengthened at a restart leaves the call's one timer
        // where it was, and it must still time the call out.) Past its maximum wait now.
        if (call->state == CallState::kWaiting || call->state == CallState::kOffered) {
          call->due_in_grace = true;
        }
        return;
      }
      if (call->state == CallState::kWaiting) {
        Emit(CallbackOffered{call->info.call_id, call->info.gateway_id});
        Finish(*call, Outcome::kTimedOut, "");
      } else if (call->state == CallState::kOffered) {
        // Let the ringing offer run; if it comes back unanswered the call times out then.
        call->expired = true;
      }
      return;
    }
    case TimerKind::kOfferTimeout: {
      Call* call = CallOfTimer(timer);
      if (call == nullptr || call->state != CallState::kOffered ||
          call->generation != timer.generation) {
        return;
      }
      Counsellor& c = CounsellorAt(call->counsellor_id);
      RevokeOffer(*call, RevokeReason::kTimedOut);
      if (++c.missed_in_row >= options_.missed_offers_before_break) {
        c.missed_in_row = 0;
        ChangeState(c, CounsellorState::kBreak, BreakReason::kMissedOffers, "");
      } else {
        ChangeState(c, CounsellorState::kAvailable, BreakReason::kNone, "");
      }
      ReturnToQueue(*call);
      if (c.state == CounsellorState::kAvailable) {
        MatchCounsellor(c);
      }
      return;
    }
    case TimerKind::kConnectTimeout: {
      Call* call = CallOfTimer(timer);
      if (call == nullptr || call->state != CallState::kConnecting ||
          call->generation != timer.generation) {
        return;
      }
      // Silence says nothing about the counsellor's phone (the gateway may be away, or lost the
      // command): they are not put on break, and take the next call.
      FailConnect(
          *call,
          absl::StrCat("connect timed out after ", options_.connect_timeout_ms.count(), " ms"),
          /*unreachable=*/false);
      return;
    }
    case TimerKind::kDeskGrace: {
      Counsellor* c = CounsellorOfTimer(timer);
      if (c == nullptr || c->desk_connected || c->desk_drops != timer.generation ||
          (c->state != CounsellorState::kAvailable && c->state != CounsellorState::kBreak)) {
        return;
      }
      ChangeState(*c, CounsellorState::kOffline, BreakReason::kNone, "");
      return;
    }
    case TimerKind::kAnnounce: {
      Call* call = CallOfTimer(timer);
      if (call == nullptr || call->state == CallState::kConnected ||
          call->state == CallState::kEnded) {
        return;  // Connected or gone: nothing more to announce.
      }
      // Ringing a desk, or being connected: not announced, but still timed, since a connect
      // that fails puts the call back in the queue, where the caller hears the minute again.
      if (call->state == CallState::kWaiting) {
        Announce(*call);
      }
      SetTimer(TimerKind::kAnnounce, *call, now_ + options_.announce_every_ms, 0);
      return;
    }
    case TimerKind::kRepeatHold: {
      Call* call = CallOfTimer(timer);
      if (call != nullptr && call->state == CallState::kWaiting) {
        MatchCall(*call);  // Waited long enough for their last counsellor.
      }
      return;
    }
    case TimerKind::kCoolDown: {
      Counsellor* c = CounsellorOfTimer(timer);
      if (c == nullptr || c->state != CounsellorState::kBreak ||
          c->break_reason != BreakReason::kCoolDown || c->generation != timer.generation) {
        return;
      }
      Release(*c);
      return;
    }
    case TimerKind::kWrapUp: {
      Counsellor* c = CounsellorOfTimer(timer);
      if (c == nullptr || c->state != CounsellorState::kWrapUp ||
          c->generation != timer.generation) {
        return;
      }
      Call& call = *calls_.at(c->call_id);
      call.record.wrap_up_done_at = now_;
      // The desk keeps its form open: the disposition may still come, late.
      OwedDisposition owed{now_, call.info.call_id, c->profile.id, call.info.caller_key};
      owed_[owed.call_id] = owed;
      owed_order_.push_back(std::move(owed));
      Record(call);
      Release(*c);
      return;
    }
  }
}

// --- Queue. ---

void Engine::Enqueue(Call& call) {
  HOTLINE_CHECK(!call.in_queue);
  const QueueKey key{-static_cast<int>(call.info.priority), call.admission_seq};
  queue_ranks_->tree.insert({key, &call});
  call.in_queue = true;
  ReindexCall(call);
}

void Engine::Dequeue(Call& call) {
  HOTLINE_CHECK(call.in_queue);
  const QueueKey key{-static_cast<int>(call.info.priority), call.admission_seq};
  queue_ranks_->tree.erase(key);
  call.in_queue = false;
  ReindexCall(call);
}

int Engine::PositionOf(const Call& call) const {
  if (!call.in_queue) {
    return 0;
  }
  const QueueKey key{-static_cast<int>(call.info.priority), call.admission_seq};
  return static_cast<int>(queue_ranks_->tree.order_of_key(key)) + 1;
}

void Engine::ReturnToQueue(Call& call) {
  if (call.expired || now_ >= TimesOutAt(call)) {
    Emit(CallbackOffered{call.info.call_id, call.info.gateway_id});
    Finish(call, Outcome::kTimedOut, "");
    return;
  }
  MatchCall(call);
}

// --- Indexes. ---

Engine::Bucket Engine::CallBucket(const Call& call) const {
  switch (ScopeOf(call)) {
    case Scope::kProvince:
      return {call.info.topic, Scope::kProvince, call.region.province_code};
    case Scope::kCentre: {
      if (call.region.centre_code == kNoCode) {
        return {call.info.topic, Scope::kNational, kNationalCode};  // No region tree: see Eligible.
      }
      return {call.info.topic, Scope::kCentre, call.region.centre_code};
    }
    case Scope::kNational:
      break;
  }
  return {call.info.topic, Scope::kNational, kNationalCode};
}

uint32_t Engine::CodeOf(const std::string& code) const {
  return region_codes_.Find(code).value_or(kNoCode);
}

Engine::RegionPlace Engine::PlaceOf(const CallInfo& info) const {
  // A gateway data error must never keep a child waiting: with no province to route by, every
  // step is national. Without a region tree a province is still matched by its code.
  const std::string& centre = regions_.CentreOf(info.province);
  if (info.province_unknown || info.province.empty() || (!regions_.empty() && centre.empty())) {
    return RegionPlace{};
  }
  RegionPlace place{CodeOf(info.province), kNoCode};
  if (!centre.empty()) {
    place.centre_code = CodeOf(centre);
    HOTLINE_CHECK(place.centre_code != kNoCode);  // The policy's centres all have numbers.
  }
  return place;
}

bool Engine::InternCodes(const Policy& policy) {
  const size_t before = region_codes_.size();
  for (const auto& centre : policy.regions.centres) {
    region_codes_.Intern(centre.id);
  }
  for (const auto& province : policy.regions.provinces) {
    region_codes_.Intern(province.code);
  }
  return region_codes_.size() != before;
}

bool Engine::InternCodes(const CounsellorProfile& profile) {
  const size_t before = region_codes_.size();
  region_codes_.Intern(profile.home_province);
  for (const auto& province : profile.provinces) {
    region_codes_.Intern(province);
  }
  return region_codes_.size() != before;
}

std::vector<Engine::Bucket> Engine::CounsellorBuckets(const Counsellor& c) const {
  // Sorted, without duplicates (as sets would give), in vectors: this runs at every change of an
  // available counsellor, and small vectors allocate once. A profile's codes all have numbers
  // (InternCodes, whenever a profile is set or restored).
  absl::InlinedVector<uint32_t, 4> provinces;
  absl::InlinedVector<uint32_t, 4> centres;
  auto add = [&](const std::string& province) {
    const uint32_t code = CodeOf(province);
    HOTLINE_CHECK(code != kNoCode);
    provinces.push_back(code);
    if (const std::string& centre = regions_.CentreOf(province); !centre.empty()) {
      centres.push_back(CodeOf(centre));
    }
  };
  add(c.profile.home_province);
  for (const auto& p : c.profile.provinces) {
    add(p);
  }
  for (auto* codes : {&provinces, &centres}) {
    std::sort(codes->begin(), codes->end());
    codes->erase(std::unique(codes->begin(), codes->end()), codes->end());
  }
  std::vector<Bucket> buckets;
  buckets.reserve(c.profile.skills.size() * (provinces.size() + centres.size() + 1));
  for (const auto& [topic, level] : c.profile.skills) {
    for (uint32_t p : provinces) {
      buckets.emplace_back(topic, Scope::kProvince, p);
    }
    for (uint32_t centre : centres) {
      buckets.emplace_back(topic, Scope::kCentre, centre);
    }
    buckets.emplace_back(topic, Scope::kNational, kNationalCode);
  }
  return buckets;
}

Engine::RankKey Engine::Rank(const Counsellor& c, Topic topic) const {
  // The policy's order after missed preferences (which MatchCall weighs): the strategy's key,
  // then idle time, then id.
  const int64_t idle = ToUnixMillis(c.idle_since);
  switch (policy_.strategy) {
    case Strategy::kLongestIdle:
      return {idle, 0, &c};
    case Strategy::kMostSkilled:
      return {-c.profile.skills.at(topic), idle, &c};
    case Strategy::kFewestCallsToday:
      return {c.calls_day == VietnamDay(now_) ? c.calls_today : 0, idle, &c};
    case Strategy::kRoundRobin:
      return {static_cast<int64_t>(c.last_offer_seq), idle, &c};
  }
  return {idle, 0, &c};
}

void Engine::AddCounsellorSlots(Indexes& index, const Counsellor& c) const {
  if (c.desk_connected && c.state != CounsellorState::kOffline &&
      c.state != CounsellorState::kBreak) {
    AddStaffedSlots(index, c);
  }
  if (c.state == CounsellorState::kAvailable && c.desk_connected) {
    AddBucketSlots(index, c);
  }
}

void Engine::AddStaffedSlots(Indexes& index, const Counsellor& c) const {
  auto& staffed = index.staffed_slots[&c];
  for (const auto& [topic, level] : c.profile.skills) {
    for (const auto& language : c.profile.languages) {
      ++index.staffed[{topic, language}];
      staffed.emplace_back(topic, language);
    }
  }
}

Engine::Indexes::BucketTrees& Engine::BucketTreesOf(Indexes& index, const Counsellor& c) const {
  auto [cached, first] = index.counsellor_buckets.try_emplace(&c);
  Indexes::BucketTrees& trees = cached->second;
  if (first) {
    trees.buckets = CounsellorBuckets(c);
    trees.counsellors.reserve(trees.buckets.size());
    trees.calls.reserve(trees.buckets.size());
    for (const Bucket& bucket : trees.buckets) {
      trees.counsellors.push_back(&index.counsellors[bucket]);
      trees.calls.push_back(&index.calls[bucket]);
    }
  }
  return trees;
}

bool Engine::InBuckets(const Counsellor& c) const {
  auto slots = index_.counsellor_slots.find(&c);
  return slots != index_.counsellor_slots.end() && !slots->second.empty();
}

void Engine::AddBucketSlots(Indexes& index, const Counsellor& c) const {
  const Indexes::BucketTrees& trees = BucketTreesOf(index, c);
  auto& slots = index.counsellor_slots[&c];
  slots.reserve(trees.buckets.size());  // One allocation, not a growth series.
  for (size_t i = 0; i < trees.buckets.size(); ++i) {
    const RankKey rank = Rank(c, std::get<0>(trees.buckets[i]));
    trees.counsellors[i]->insert(rank);
    slots.emplace_back(trees.buckets[i], rank);
  }
}

std::optional<Engine::CallSlot> Engine::SlotOf(const Call& call) const {
  if (!call.in_queue) {
    return std::nullopt;
  }
  return CallSlot{CallBucket(call),
                  QueueKey{-static_cast<int>(call.info.priority), call.admission_seq}};
}

void Engine::AddCallSlot(Indexes& index, const Call& call, const CallSlot& slot) const {
  index.calls[slot.bucket].emplace(slot.key, &call);
  if (!call.preferred_counsellor.empty()) {
    index.preferring[call.preferred_counsellor].emplace(slot.key, &call);
  }
}

void Engine::Unindex(const Counsellor& c) {
  UnindexStaffed(c);
  UnindexBuckets(c);
  // Removed, or another profile: nothing of theirs is kept.
  index_.counsellor_slots.erase(&c);
  index_.counsellor_buckets.erase(&c);
}

void Engine::UnindexStaffed(const Counsellor& c) {
  if (auto staffed = index_.staffed_slots.find(&c);
      staffed != index_.staffed_slots.end()) {
    for (const auto& key : staffed->second) {
      if (--index_.staffed[key] == 0) {
        index_.staffed.erase(key);
      }
    }
    index_.staffed_slots.erase(staffed);
  }
}

void Engine::UnindexBuckets(const Counsellor& c) {
  auto slots = index_.counsellor_slots.find(&c);
  if (slots == index_.counsellor_slots.end()) {
    return;
  }
  // An emptied bucket keeps its place in the map, and the counsellor's emptied list its storage:
  // a counsellor leaves their buckets and comes back at every call (see Indexes).
  if (!slots->second.empty()) {
    // Their slots were made from these, in this order (AddBucketSlots), under this profile.
    const Indexes::BucketTrees& trees = index_.counsellor_buckets.find(&c)->second;
    HOTLINE_CHECK(trees.counsellors.size() == slots->second.size());
    for (size_t i = 0; i < slots->second.size(); ++i) {
      trees.counsellors[i]->erase(slots->second[i].second);
    }
  }
  slots->second.clear();
}

void Engine::Reindex(const Counsellor& c, bool join_buckets) {
  // The profile is the same (UpdateCounsellor unindexes first), so staffed slots still present
  // are still right: they change only when the counsellor starts or stops being staffed. Bucket
  // slots are redone whenever present or due (a rank follows idle time and calls today); most
  // changes of state (reserved, on a call, in wrap-up) have none to take out or put back.
  const bool staffed = c.desk_connected && c.state != CounsellorState::kOffline &&
                       c.state != CounsellorState::kBreak;
  const bool in_buckets = c.state == CounsellorState::kAvailable && c.desk_connected;
  if (index_.staffed_slots.contains(&c) != staffed) {
    if (staffed) {
      AddStaffedSlots(index_, c);
    } else {
      UnindexStaffed(c);
    }
  }
  UnindexBuckets(c);
  if (in_buckets && join_buckets) {
    AddBucketSlots(index_, c);
  }
}

void Engine::ReindexCall(Call& call) {
  if (call.indexed) {
    const auto& [bucket, key] = call.slot;
    index_.calls.find(bucket)->second.erase(key);  // Emptied, it keeps its place (see Indexes).
    if (!call.preferred_counsellor.empty()) {
      auto pref = index_.preferring.find(call.preferred_counsellor);
      pref->second.erase(key);
      if (pref->second.empty()) {
        index_.preferring.erase(pref);
      }
    }
  }
  std::optional<CallSlot> slot = SlotOf(call);
  if (slot) {
    AddCallSlot(index_, call, *slot);
  }
  call.SetIndexedAt(std::move(slot));
}

namespace {

// Whether two maps hold the same entries, leaving out those whose value is empty.
template <typename Map>
bool SameLeavingOutEmpty(const Map& a, const Map& b) {
  auto held = [](const Map& m) {
    return std::count_if(m.begin(), m.end(),
                         [](const auto& entry) { return !entry.second.empty(); });
  };
  if (held(a) != held(b)) {
    return false;
  }
  return std::all_of(a.begin(), a.end(), [&](const auto& entry) {
    if (entry.second.empty()) {
      return true;
    }
    auto other = b.find(entry.first);
    return other != b.end() && other->second == entry.second;
  });
}

}  // namespace

bool Engine::Indexes::operator==(const Indexes& other) const {
  return SameLeavingOutEmpty(counsellors, other.counsellors) &&
         SameLeavingOutEmpty(counsellor_slots, other.counsellor_slots) &&
         SameLeavingOutEmpty(calls, other.calls) && preferring == other.preferring &&
         staffed == other.staffed && staffed_slots == other.staffed_slots;
}

Engine::Indexes Engine::BuildIndexes() const {
  Indexes index;
  for (const auto& [id, c] : counsellors_) {
    AddCounsellorSlots(index, c);
  }
  for (const auto& [id, call] : calls_) {
    if (const std::optional<CallSlot> slot = SlotOf(*call)) {
      AddCallSlot(index, *call, *slot);
    }
  }
  return index;
}

void Engine::RebuildIndexes() {
  for (auto& [id, call] : calls_) {
    call->region = PlaceOf(call->info);
  }
  index_ = BuildIndexes();
  for (auto& [id, call] : calls_) {
    call->SetIndexedAt(SlotOf(*call));
  }
  index_day_ = VietnamDay(now_);
}

// --- Matching. ---

const LadderStep& Engine::StepOf(const Call& call) const {
  const Ladder& ladder = policy_.LadderFor(call.info.priority, call.info.topic);
  return ladder.steps[std::min<size_t>(call.step, ladder.steps.size() - 1)];
}

Scope Engine::ScopeOf(const Call& call) const {
  return call.region.no_province() ? Scope::kNational : StepOf(call).scope;
}

void Engine::PlaceOnLadder(Call& call) {
  const Ladder& ladder = policy_.LadderFor(call.info.priority, call.info.topic);
  const Millis waited = now_ - call.info.arrived_at;
  size_t step = 0;
  Millis step_end{0};
  for (; step + 1 < ladder.steps.size(); ++step) {
    step_end += ladder.steps[step].duration_ms;
    if (waited < step_end) {
      break;
    }
  }
  call.step = static_cast<int>(step);
  ++call.ladder_generation;
  ReindexCall(call);
  if (step + 1 < ladder.steps.size()) {
    SetTimer(TimerKind::kStep, call, call.info.arrived_at + step_end,
             call.ladder_generation);
  }
}

bool Engine::Eligible(const Counsellor& c, const Call& call) const {
  return c.state == CounsellorState::kAvailable && c.desk_connected && Qualified(c, call);
}

bool Engine::Qualified(const Counsellor& c, const Call& call) const {
  const CounsellorProfile& p = c.profile;
  // The lookup copies both strings into a key: skipped while nobody is barred from anyone.
  if (!never_route_.empty() && never_route_.contains({p.id, call.info.caller_key})) {
    return false;
  }
  const LadderStep& step = StepOf(call);
  if (!c.Takes(call.info.topic, step.min_proficiency)) {
    return false;
  }
  if (step.language == Need::kRequired && !Contains(p.languages, call.info.language)) {
    return false;
  }
  if (step.gender == Need::kRequired && call.info.gender_preference != Gender::kUnspecified &&
      p.gender != call.info.gender_preference) {
    return false;
  }
  switch (ScopeOf(call)) {
    case Scope::kProvince:
      return Serves(p, call.info.province);
    case Scope::kCentre: {
      if (call.region.centre_code == kNoCode) {
        return true;  // Without a region tree, a centre is the whole country.
      }
      const std::string& centre = regions_.CentreOf(call.info.province);
      if (regions_.CentreOf(p.home_province) == centre) {
        return true;
      }
      return std::any_of(p.provinces.begin(), p.provinces.end(),
                         [&](const std::string& x) { return regions_.CentreOf(x) == centre; });
    }
    case Scope::kNational:
      return true;
  }
  return false;
}

int Engine::Misses(const Counsellor& c, const Call& call) const {
  const LadderStep& step = StepOf(call);
  int misses = 0;
  if (step.language == Need::kPreferred && !Contains(c.profile.languages, call.info.language)) {
    ++misses;
  }
  if (step.gender == Need::kPreferred && call.info.gender_preference != Gender::kUnspecified &&
      c.profile.gender != call.info.gender_preference) {
    ++misses;
  }
  return misses;
}

std::string Engine::Explain(const Counsellor& c, const Call& call) const {
  const auto idle = std::chrono::duration_cast<std::chrono::seconds>(now_ - c.idle_since);
  switch (policy_.strategy) {
    case Strategy::kLongestIdle:
      return absl::StrCat("longest idle (", idle.count(), " s)");
    case Strategy::kMostSkilled:
      return absl::StrCat("most skilled (proficiency ", c.profile.skills.at(call.info.topic), ")");
    case Strategy::kFewestCallsToday:
      return absl::StrCat("fewest calls today (",
                          c.calls_day == VietnamDay(now_) ? c.calls_today : 0, ")");
    case Strategy::kRoundRobin:
      return "round robin";
  }
  return "";
}

bool Engine::HeldForAnother(const Call& call, const std::string& counsellor_id) const {
  if (call.preferred_counsellor.empty() || call.preferred_counsellor == counsellor_id ||
      now_ >= call.hold_until || Tried(call, call.preferred_counsellor)) {
    return false;
  }
  auto it = counsellor_by_id_.find(call.preferred_counsellor);
  if (it == counsellor_by_id_.end() || !it->second->desk_connected) {
    return false;
  }
  // Worth waiting for only if they are busy with a call, will be free soon, and could take this
  // one then: waiting for someone the step's rules (or a never-route) keep out only idles others.
  const CounsellorState s = it->second->state;
  return (s == CounsellorState::kReserved || s == CounsellorState::kOnCall ||
          s == CounsellorState::kWrapUp) &&
         Qualified(*it->second, call);
}

void Engine::MatchCall(Call& call) {
  if (call.state != CallState::kWaiting) {
    return;
  }
  if (!call.preferred_counsellor.empty() && now_ < call.hold_until &&
      !Tried(call, call.preferred_counsellor)) {
    Counsellor* last = LookupCounsellor(call.preferred_counsellor);
    if (last != nullptr && Eligible(*last, call)) {
      Offer(call, *last, 1, "repeat caller: back to the counsellor who answered them last");
      return;
    }
    if (HeldForAnother(call, "")) {
      return;  // Waits for them until hold_until.
    }
    // They cannot take it now and will not soon (on a break, signed out, desk gone, tried, or
    // kept out by the step's rules): the hold ends for good, so that their coming back busy
    // within hold_until cannot hold the call again after it was routed as usual.
    call.hold_until = now_;
  }
  // The policy's order (fewest missed preferences, then the strategy, then the lower id), over
  // the counsellors indexed where the call is, kept in the strategy's order.
  // Someone the call was already offered to is chosen only when nobody else could take it.
  Counsellor* fresh = nullptr;
  Counsellor* tried = nullptr;
  int fresh_misses = 0;
  int tried_misses = 0;
  int eligible = 0;
  if (auto bucket = index_.counsellors.find(CallBucket(call)); bucket != index_.counsellors.end()) {
    for (const RankKey& rank : bucket->second) {
      Counsellor& c = Mutable(rank.counsellor);
      if (!Eligible(c, call)) {
        continue;
      }
      ++eligible;
      const int misses = Misses(c, call);
      const bool was_tried = Tried(call, c.profile.id);
      Counsellor*& best = was_tried ? tried : fresh;
      int& best_misses = was_tried ? tried_misses : fresh_misses;
      if (best == nullptr || misses < best_misses) {
        best = &c;
        best_misses = misses;
      }
    }
  }
  Counsellor* chosen = fresh != nullptr ? fresh : tried;
  if (chosen != nullptr) {
    Offer(call, *chosen, eligible, Explain(*chosen, call));
  }
}

void Engine::MatchCounsellor(Counsellor& c) {
  if (c.state != CounsellorState::kAvailable || !c.desk_connected) {
    return;
  }
  const std::string& id = c.profile.id;
  // A repeat caller waiting for this counsellor first.
  if (auto waiting = index_.preferring.find(id); waiting != index_.preferring.end()) {
    for (const auto& [key, waiting_call] : waiting->second) {
      Call& call = Mutable(waiting_call);
      if (now_ < call.hold_until && !Tried(call, id) && Eligible(c, call)) {
        Offer(call, c, 1, "repeat caller: back to the counsellor who answered them last");
        return;
      }
    }
  }
  // Then the first call in queue order among the buckets of this counsellor, leaving calls that
  // wait for someone else, and calls they already had while someone else could take them.
  auto someone_else = [&](const Call& call) {
    auto bucket = index_.counsellors.find(CallBucket(call));
    if (bucket == index_.counsellors.end()) {
      return false;
    }
    return std::any_of(bucket->second.begin(), bucket->second.end(), [&](const RankKey& r) {
      return r.counsellor != &c && Eligible(*r.counsellor, call);
    });
  };
  std::optional<QueueKey> best;
  const Call* best_call = nullptr;
  // Their buckets under this profile, kept (whether or not they are in them now: Release looks
  // before they join): no second derivation of the buckets, no lookup of each, no allocation.
  for (const Indexes::CallTree* calls : BucketTreesOf(index_, c).calls) {
    for (const auto& [key, queued] : *calls) {
      if (best && !(key < *best)) {
        break;  // Nothing later in this bucket can beat the best found.
      }
      const Call& call = *queued;
      if (!Eligible(c, call) || HeldForAnother(call, id) ||
          (Tried(call, id) && someone_else(call))) {
        continue;
      }
      best = key;
      best_call = queued;
      break;
    }
  }
  if (!best) {
    return;
  }
  Call& call = Mutable(best_call);
  // They can take it, and the call's bucket is one of theirs: counted whether or not they have
  // joined it yet.
  int eligible = InBuckets(c) ? 0 : 1;
  if (auto bucket = index_.counsellors.find(CallBucket(call)); bucket != index_.counsellors.end()) {
    for (const RankKey& r : bucket->second) {
      eligible += Eligible(*r.counsellor, call) ? 1 : 0;
    }
  }
  Offer(call, c, eligible, "the first call in the queue this freed counsellor can take");
}

void Engine::Offer(Call& call, Counsellor& c, int eligible, const std::string& rule) {
  Dequeue(call);
  call.state = CallState::kOffered;
  call.counsellor_id = c.profile.id;
  if (!Tried(call, c.profile.id)) {
    call.tried.push_back(c.profile.id);
  }
  // Routed: whatever becomes of this offer, the call waits for nobody in particular again.
  call.hold_until = std::min(call.hold_until, now_);
  ++call.generation;
  ++call.record.offers;
  c.last_offer_seq = next_seq_++;
  if (!call.record.first_offered_at) {
    call.record.first_offered_at = now_;
  }
  const Timestamp expires = now_ + options_.offer_timeout_ms;
  SetTimer(TimerKind::kOfferTimeout, call, expires, call.generation);
  // The offer first, so a desk sees what it is reserved for before the state change.
  std::vector<Contact> history =
      call.info.repeat_caller ? HistoryOf(call.info.caller_key) : std::vector<Contact>{};
  {
    // The call's info without its caller key (see OfferMade): moved aside for the copy, not
    // copied, and put back however the copy ends (an allocation that throws included).
    std::string caller_key = std::move(call.info.caller_key);
    call.info.caller_key.clear();
    absl::Cleanup put_back = [&] { call.info.caller_key = std::move(caller_key); };
    Emit(OfferMade{call.info, c.profile.id, expires, call.step, ScopeOf(call), eligible, rule, now_,
                   std::move(history)});
  }
  ChangeState(c, CounsellorState::kReserved, BreakReason::kNone, call.info.call_id);
}

void Engine::RevokeOffer(Call& call, RevokeReason reason) {
  Emit(OfferRevoked{call.info.call_id, call.counsellor_id, reason, now_});
  call.state = CallState::kWaiting;
  call.counsellor_id.clear();
  ++call.generation;
  Enqueue(call);
}

Engine::Counsellor* Engine::DetachCounsellor(Call& call, RevokeReason reason, Outcome outcome) {
  if (call.state == CallState::kOffered) {
    Counsellor& c = CounsellorAt(call.counsellor_id);
    Emit(OfferRevoked{call.info.call_id, c.profile.id, reason, now_});
    // Back to where they were: an offer that went away is not work done.
    ChangeState(c, CounsellorState::kAvailable, BreakReason::kNone, "");
    call.counsellor_id.clear();
    Enqueue(call);  // Finish() takes it out again.
    return &c;
  }
  if (call.state == CallState::kConnecting) {
    Counsellor& c = CounsellorAt(call.counsellor_id);
    Emit(DeskCallEnded{call.info.call_id, c.profile.id, outcome});
    return &c;
  }
  return nullptr;
}

void Engine::Resume(Counsellor* c) {
  if (c == nullptr) {
    return;
  }
  if (c->state == CounsellorState::kAvailable) {
    MatchCounsellor(*c);  // Their offer went away; they did no work, so their idle time stands.
  } else {
    Release(*c);
  }
}

// --- Counsellor state. ---

void Engine::ChangeState(Counsellor& c, CounsellorState state, BreakReason reason,
                         const std::string& call_id, bool join_buckets) {
  const bool was_idle =
      c.state == CounsellorState::kAvailable || c.state == CounsellorState::kBreak;
  const bool idle = state == CounsellorState::kAvailable || state == CounsellorState::kBreak;
  if (idle && !was_idle && !c.desk_connected) {
    // Out of a call (or an offer) to a desk that dropped meanwhile: they get the grace period
    // from now, and are signed out if the desk does not come back; nothing else would.
    SetTimer(TimerKind::kDeskGrace, c, now_ + options_.desk_grace_ms, c.desk_drops);
  }
  c.state = state;
  c.break_reason = reason;
  c.call_id = call_id;
  c.since = now_;
  ++c.generation;
  Reindex(c, join_buckets);
  Emit(PresenceChanged{PresenceChange{c.profile.id, state, reason, now_, call_id}});
  if (state != CounsellorState::kReserved && state != CounsellorState::kOnCall &&
      state != CounsellorState::kWrapUp) {
    holds_to_review_.push_back(c.profile.id);  // No longer busy: calls held for them may go on.
  }
}

void Engine::ReviewHolds() {
  // By index and by copy: matching may add to the list (a range-for would then be undefined).
  for (size_t i = 0; i < holds_to_review_.size(); ++i) {  // NOLINT(modernize-loop-convert)
    const std::string counsellor_id = holds_to_review_[i];
    auto waiting = index_.preferring.find(counsellor_id);
    if (waiting == index_.preferring.end()) {
      continue;
    }
    // In queue order, and a copy: offering takes calls out of the index.
    std::vector<std::string> call_ids;
    for (const auto& [key, call] : waiting->second) {
      call_ids.push_back(call->info.call_id);
    }
    for (const std::string& call_id : call_ids) {
      Call* call = LookupCall(call_id);
      if (call != nullptr && call->state == CallState::kWaiting && now_ < call->hold_until &&
          !HeldForAnother(*call, "")) {
        MatchCall(*call);  // Offers it to them if they can take it now, else ends the hold.
      }
    }
  }
  holds_to_review_.clear();
}

void Engine::Release(Counsellor& c) {
  if (!c.desk_connected) {
    ChangeState(c, CounsellorState::kOffline, BreakReason::kNone, "");
    return;
  }
  // Idle from now: set first, so the reindexing below ranks them by it.
  c.idle_since = now_;
  // They look for a call before they join their buckets: on a busy line a freed counsellor finds
  // one at once, and joining every bucket of theirs (each topic at each scope) only to leave them
  // all again was a tenth of the engine's work (issue 11). MatchCounsellor passes them over in
  // their buckets anyway (someone_else), and counts them as eligible for the call it finds.
  if (c.state != CounsellorState::kAvailable) {
    ChangeState(c, CounsellorState::kAvailable, BreakReason::kNone, "", /*join_buckets=*/false);
  } else {
    Reindex(c, /*join_buckets=*/false);
  }
  MatchCounsellor(c);
  if (c.state == CounsellorState::kAvailable) {
    Reindex(c);  // Nothing for them yet: they wait in their buckets.
  }
}

void Engine::Announce(const Call& call) {
  const int position = PositionOf(call);  // Once: a walk of the queue's rank tree.
  Emit(PositionAnnounced{call.info.call_id, call.info.gateway_id, position,
                         Estimate(call, position)});
}

std::optional<Millis> Engine::Estimate(const Call& call, int position) const {
  if (recent_handling_.empty() || !call.in_queue) {
    return std::nullopt;
  }
  auto it = index_.staffed.find({call.info.topic, call.info.language});
  const int staffed = it == index_.staffed.end() ? 0 : it->second;
  if (staffed == 0) {
    return std::nullopt;
  }
  const Millis average = recent_handling_total_ / static_cast<int64_t>(recent_handling_.size());
  return average * position / staffed;
}

void Engine::StartWrapUp(Call& call, Outcome outcome, const std::string& reason) {
  Counsellor& c = CounsellorAt(call.counsellor_id);
  call.state = CallState::kEnded;
  call.record.outcome = outcome;
  call.record.reason = reason;
  call.record.ended_at = now_;
  call.record.final_step = call.step;
  Emit(DeskCallEnded{call.info.call_id, c.profile.id, outcome});
  ChangeState(c, CounsellorState::kWrapUp, BreakReason::kNone, call.info.call_id);
  const auto per_topic = policy_.wrap_up_ms.find(call.info.topic);
  const Timestamp deadline =
      now_ + (per_topic != policy_.wrap_up_ms.end() ? per_topic->second : options_.wrap_up_ms);
  SetTimer(TimerKind::kWrapUp, c, deadline, c.generation);
  Emit(WrapUpStarted{call.info.call_id, c.profile.id, deadline});
}

// --- Endings. ---

void Engine::Finish(Call& call, Outcome outcome, const std::string& reason) {
  if (call.in_queue) {
    Dequeue(call);
  }
  call.state = CallState::kEnded;
  call.record.outcome = outcome;
  if (!reason.empty()) {
    call.record.reason = reason;
  }
  call.record.ended_at = now_;
  call.record.final_step = call.step;
  Record(call);
}

void Engine::Record(Call& call, std::optional<Disposition> disposition) {
  // Found before the call's id moves into the row: the table's key is a view of it.
  const auto entry_it = calls_.find(call.info.call_id);
  calls_by_seq_.erase(call.admission_seq);
  // A call that timed out waiting is the only one whose caller is offered a callback
  // (CallbackOffered comes just before each such finish).
  if (call.caller != CallMemory::kNoCaller) {
    memory_.AddFinished(now_, call.info.call_id, call.caller, call.info.gateway_id,
                        call.record.outcome, call.record.outcome == Outcome::kTimedOut);
    memory_.LetGo(std::exchange(call.caller, CallMemory::kNoCaller));  // Named by the finish.
  } else {
    memory_.AddFinished(now_, call.info.call_id, call.info.caller_key, call.info.gateway_id,
                        call.record.outcome, call.record.outcome == Outcome::kTimedOut);
  }
  // A call a supervisor ended may have been stuck for hours: no measure of handling.
  if (call.record.accepted_at && call.record.wrap_up_done_at && !call.record.ended_by_supervisor) {
    recent_handling_.push_back(*call.record.wrap_up_done_at - *call.record.accepted_at);
    recent_handling_total_ += recent_handling_.back();
    while (static_cast<int>(recent_handling_.size()) > options_.handling_sample_size) {
      recent_handling_total_ -= recent_handling_.front();
      recent_handling_.pop_front();
    }
  }
  // The row is made once, here: while the call lives, `info` is the call and `record` the rest.
  // Only the row is made: not the whole saved form of the call (ToEntry) to take the row from.
  // Built where the effect lives: the call's strings move once, into the row.
  CallRecord& record =
      std::get<CallFinished>(effects_.emplace_back(std::in_place_type<CallFinished>)).record;
  FillRecord(std::move(call.record), record);
  record.call = std::move(call.info);
  record.disposition = std::move(disposition);
  calls_.erase(entry_it);
}

std::vector<OwedDisposition> Engine::OwedBy(const std::string& counsellor_id) const {
  std::vector<OwedDisposition> owed;
  for (const auto& [call_id, entry] : owed_) {
    if (entry.counsellor_id == counsellor_id) {
      owed.push_back(entry);
    }
  }
  // By call id among equals: owed_ is hashed, and its order must not show.
  std::sort(owed.begin(), owed.end(), [](const OwedDisposition& a, const OwedDisposition& b) {
    return std::tie(a.since, a.call_id) < std::tie(b.since, b.call_id);
  });
  return owed;
}

std::vector<Contact> Engine::HistoryOf(const std::string& caller_key) const {
  std::vector<Contact> history = memory_.ContactsOf(caller_key);
  std::erase_if(history, [&](const Contact& contact) {
    return now_ >= contact.answered_at + policy_.repeat_window_ms;
  });
  return history;
}

absl::Status Engine::CheckInvariants() const {
  if (!holds_to_review_.empty()) {
    return absl::InternalError(absl::StrCat("an input ended with the holds for ",
                                            holds_to_review_.front(), " not reviewed"));
  }
  // Emptied lists stay (see Indexes), so the comparison with rebuilt indexes below cannot see
  // one left behind by a counsellor who is gone.
  absl::flat_hash_set<const Counsellor*> live;
  for (const auto& [id, c] : counsellors_) {
    live.insert(&c);
    if (Counsellor::SkillsOf(c.profile) != std::pair(c.skill_of, c.skills_kept)) {
      return absl::InternalError(
          absl::StrCat("counsellor ", id, "'s kept skills are not their profile's"));
    }
    // Their timers find them by their handle (CounsellorOfTimer).
    if (c.handle >= counsellor_by_handle_.size() || counsellor_by_handle_[c.handle] != &c ||
        counsellor_names_.Name(c.handle) != id) {
      return absl::InternalError(
          absl::StrCat("counsellor ", id, " is not found by their handle ", c.handle));
    }
  }
  for (size_t handle = 0; handle < counsellor_by_handle_.size(); ++handle) {
    if (counsellor_by_handle_[handle] != nullptr && !live.contains(counsellor_by_handle_[handle])) {
      return absl::InternalError(
          absl::StrCat("handle ", handle, " names a counsellor who is gone"));
    }
  }
  if (!timers_.IsOrdered()) {
    return absl::InternalError("the timers are not in order");
  }
  // A live call holds its own caller or none (not yet), and nothing else holds one.
  std::vector<uint32_t> held;
  for (const auto& [id, call] : calls_) {
    if (call->caller != CallMemory::kNoCaller &&
        (call->info.caller_key.empty() || memory_.KeyOf(call->caller) != call->info.caller_key)) {
      return absl::InternalError(
          absl::StrCat("call ", call->info.call_id, " does not hold its own caller"));
    }
    if (call->caller != CallMemory::kNoCaller) {
      held.push_back(call->caller);
    }
  }
  if (absl::Status names = memory_.CheckNames(held); !names.ok()) {
    return names;
  }
  for (const auto& [c, slots] : index_.counsellor_slots) {
    if (!live.contains(c)) {
      return absl::InternalError("a bucket slot list is kept for a counsellor who is gone");
    }
  }
  for (const auto& [c, slots] : index_.staffed_slots) {
    if (!live.contains(c)) {
      return absl::InternalError("a staffed slot list is kept for a counsellor who is gone");
    }
  }
  for (const auto& [c, trees] : index_.counsellor_buckets) {
    if (!live.contains(c)) {
      return absl::InternalError("buckets are kept for a counsellor who is gone");
    }
    if (trees.buckets != CounsellorBuckets(*c)) {
      return absl::InternalError(absl::StrCat("the buckets kept for counsellor ", c->profile.id,
                                              " are not their profile's"));
    }
    if (trees.counsellors.size() != trees.buckets.size() ||
        trees.calls.size() != trees.buckets.size()) {
      return absl::InternalError(absl::StrCat("the bucket trees kept for counsellor ",
                                              c->profile.id, " are not one a bucket"));
    }
    for (size_t i = 0; i < trees.buckets.size(); ++i) {
      auto counsellors = index_.counsellors.find(trees.buckets[i]);
      auto calls = index_.calls.find(trees.buckets[i]);
      if (counsellors == index_.counsellors.end() || calls == index_.calls.end() ||
          trees.counsellors[i] != &counsellors->second || trees.calls[i] != &calls->second) {
        return absl::InternalError(absl::StrCat("the bucket trees kept for counsellor ",
                                                c->profile.id, " are not the index's"));
      }
    }
  }
  for (const auto& [id, c] : counsellors_) {
    const bool holds = c.state == CounsellorState::kReserved ||
                       c.state == CounsellorState::kOnCall || c.state == CounsellorState::kWrapUp;
    if (holds != !c.call_id.empty()) {
      return absl::InternalError(absl::StrCat("counsellor ", id, " is ", std::string(Name(c.state)),
                                              " with call '", c.call_id, "'"));
    }
    if (holds) {
      auto call = calls_.find(c.call_id);
      if (call == calls_.end() || call->second->counsellor_id != id) {
        return absl::InternalError(
            absl::StrCat("counsellor ", id, " holds call ", c.call_id, " that is not theirs"));
      }
    }
  }
  // Every counsellor idle with a closed desk is signed out when the grace period ends.
  std::set<std::pair<std::string, uint64_t>> grace;
  timers_.ForEach([&](const Timer& timer) {
    if (timer.kind == TimerKind::kDeskGrace) {
      grace.emplace(counsellor_names_.Name(static_cast<uint32_t>(timer.subject)), timer.generation);
    }
  });
  for (const auto& [id, c] : counsellors_) {
    if ((c.state == CounsellorState::kAvailable || c.state == CounsellorState::kBreak) &&
        !c.desk_connected && !grace.contains({id, c.desk_drops})) {
      return absl::InternalError(absl::StrCat("counsellor ", id, " is ", std::string(Name(c.state)),
                                              " with a closed desk and no grace timer"));
    }
  }
  size_t waiting = 0;
  for (const auto& [key, entry] : calls_) {
    const Call& call = *entry;
    const std::string& id = call.info.call_id;
    if (call.state == CallState::kWaiting) {
      ++waiting;
      if (!call.in_queue) {
        return absl::InternalError(absl::StrCat("waiting call ", id, " is not in the queue"));
      }
      if (!call.preferred_counsellor.empty() && now_ < call.hold_until &&
          !HeldForAnother(call, "")) {
        return absl::InternalError(absl::StrCat("call ", id, " is still held for ",
                                                call.preferred_counsellor,
                                                ", who cannot take it soon"));
      }
      for (const auto& [cid, c] : counsellors_) {
        if (Eligible(c, call) && !HeldForAnother(call, cid)) {
          return absl::InternalError(
              absl::StrCat("call ", id, " waits while ", cid, " is available and could take it"));
        }
      }
      continue;
    }
    if (call.in_queue) {
      return absl::InternalError(
          absl::StrCat("call ", id, " is queued while ", std::string(Name(call.state))));
    }
    if (call.state != CallState::kEnded || !call.counsellor_id.empty()) {
      auto c = counsellors_.find(call.counsellor_id);
      if (c == counsellors_.end() || c->second.call_id != id) {
        return absl::InternalError(absl::StrCat("call ", id, " (", std::string(Name(call.state)),
                                                ") is not held by ", call.counsellor_id));
      }
    }
  }
  if (waiting != queue_ranks_->tree.size()) {
    return absl::InternalError(absl::StrCat(queue_ranks_->tree.size(), " queued but ", waiting,
                                            " calls are waiting"));
  }
  if (recent_handling_total_ !=
      std::accumulate(recent_handling_.begin(), recent_handling_.end(), Millis{0})) {
    return absl::InternalError(absl::StrCat("the recent handling times' kept sum ",
                                            recent_handling_total_.count(), " is not their sum"));
  }
  // Checked first: the indexes below are built from the kept places.
  for (const auto& [id, call] : calls_) {
    if (call->region != PlaceOf(call->info)) {
      return absl::InternalError(absl::StrCat("call ", call->info.call_id,
                                              " keeps a place in the regions that is out of date"));
    }
  }
  if (!(BuildIndexes() == index_)) {
    return absl::InternalError("the matching indexes differ from the engine's state");
  }
  for (const auto& [id, call] : calls_) {
    if (call->IndexedAt() != SlotOf(*call)) {
      return absl::InternalError(absl::StrCat("call ", call->info.call_id,
                                              " is not in the queue's index where its slot says"));
    }
  }
  return absl::OkStatus();
}

// --- Snapshots. ---

EngineState Engine::SaveState() const { return Save(true); }

EngineState Engine::SaveLiveState() const { return Save(false); }

EngineState Engine::Save(bool with_finished) const {
  EngineState state;
  state.policy = policy_;
  state.options = options_;
  state.now = now_;
  state.next_seq = next_seq_;
  for (const auto& [id, c] : counsellors_) {
    state.counsellors.push_back(c);
  }
  state.calls.reserve(calls_.size());
  for (const auto* entry : SortedByKey(calls_)) {
    state.calls.push_back(ToEntry(*entry->second));
  }
  state.timers.reserve(timers_.size());
  timers_.ForEach([&](const Timer& timer) {
    if (!IsDead(timer)) {  // Whether or not DropDeadTimers got to it yet.
      state.timers.push_back(ToEntry(timer));
    }
  });
  std::sort(state.timers.begin(), state.timers.end());
  state.recent_handling.assign(recent_handling_.begin(), recent_handling_.end());
  state.never_route.assign(never_route_.begin(), never_route_.end());
  state.next_contact_sweep = next_contact_sweep_;
  state.contacts_forgotten_through = contacts_forgotten_through_;
  if (!with_finished) {
    return state;
  }
  // In the order they finished: deterministic without sorting a day of ids.
  state.finished.reserve(memory_.finished_count());
  state.finished_callers.reserve(memory_.finished_count());
  state.finished_fates.reserve(memory_.finished_count());
  memory_.ForEachFinished([&](Timestamp at, std::string_view id, std::string_view caller,
                              const std::optional<FinishedFate>& fate) {
    state.finished.emplace_back(at, id);
    state.finished_callers.emplace_back(id, caller);
    if (fate) {
      state.finished_fates.push_back(*fate);
    }
  });
  state.contacts = memory_.AllContacts();
  // The expiry order keeps entries already recorded (erased from owed_ only); those are gone.
  for (const OwedDisposition& owed : owed_order_) {
    if (auto it = owed_.find(owed.call_id); it != owed_.end() && it->second == owed) {
      state.owed_dispositions.push_back(owed);
    }
  }
  return state;
}

void Engine::RestoreState(EngineState state) {
  regions_ = *Regions::Create(state.policy.regions);
  policy_ = std::move(state.policy);
  if (state.options) {
    options_ = *state.options;
  }
  now_ = state.now;
  next_seq_ = state.next_seq;
  counsellors_.clear();
  counsellor_by_id_.clear();
  std::fill(counsellor_by_handle_.begin(), counsellor_by_handle_.end(), nullptr);
  InternCodes(policy_);
  for (auto& c : state.counsellors) {
    InternCodes(c.profile);
    const std::string id = c.profile.id;
    Counsellor& held = counsellors_.emplace(id, Counsellor{std::move(c)}).first->second;
    held.KeepSkills();
    counsellor_by_id_[id] = &held;
    TrackHandle(held);
  }
  index_ = {};  // Points into calls_.
  calls_.clear();
  calls_by_seq_.clear();
  queue_ranks_->tree.clear();
  for (auto& call : state.calls) {
    Call& restored = AddCall(FromEntry(std::move(call)));
    calls_by_seq_[restored.admission_seq] = &restored;
    if (restored.in_queue) {
      restored.in_queue = false;
      Enqueue(restored);
    }
  }
  std::vector<Timer> timers;
  timers.reserve(state.timers.size());
  for (const TimerEntry& timer : state.timers) {
    // SaveState() leaves dead timers out; older snapshots may hold some (IsDead).
    if (Timer restored = FromEntry(timer); !IsDead(restored)) {
      timers.push_back(restored);
    }
  }
  timers_.Assign(std::move(timers));  // All in the heap: they drain from it as they fire.
  timers_swept_at_ = timers_.size();
  recent_handling_.assign(state.recent_handling.begin(), state.recent_handling.end());
  recent_handling_total_ =
      std::accumulate(recent_handling_.begin(), recent_handling_.end(), Millis{0});
  memory_.Clear();
  for (const auto& [key, contact] : state.contacts) {
    memory_.RestoreContact(key, contact);  // As saved: order and number unchanged.
  }
  owed_order_.assign(state.owed_dispositions.begin(), state.owed_dispositions.end());
  owed_.clear();
  for (const OwedDisposition& owed : owed_order_) {
    owed_[owed.call_id] = owed;
  }
  {
    // A finished call is refused by its id whether or not its caller was saved with it.
    // So is one whose fate was not saved (an older daemon's): its gateway is not known.
    const absl::flat_hash_map<std::string, std::string> callers(state.finished_callers.begin(),
                                                                state.finished_callers.end());
    absl::flat_hash_map<std::string, const FinishedFate*> fates;
    for (const FinishedFate& fate : state.finished_fates) {
      fates.emplace(fate.call_id, &fate);
    }
    for (const auto& [at, id] : state.finished) {
      const auto caller = callers.find(id);
      const std::string caller_key = caller == callers.end() ? std::string() : caller->second;
      if (const auto fate = fates.find(id); fate != fates.end()) {
        const FinishedFate& f = *fate->second;
        memory_.AddFinished(at, id, caller_key, f.gateway_id, f.outcome, f.offer_callback);
      } else {
        memory_.AddFinished(at, id, caller_key);
      }
    }
  }
  HoldCallers();
  never_route_ = {state.never_route.begin(), state.never_route.end()};
  next_contact_sweep_ = state.next_contact_sweep;
  contacts_forgotten_through_ = state.contacts_forgotten_through;
  RebuildIndexes();
  effects_.clear();
}

// --- The saved form of a live call. ---

Engine::Call& Engine::AddCall(Call call) {
  return AddCall(std::make_unique<Call>(std::move(call)));
}

Engine::Call& Engine::AddCall(CallInfo&& info) {
  auto owned = std::make_unique<Call>();
  owned->info = std::move(info);
  return AddCall(std::move(owned));
}

Engine::Call& Engine::AddCall(std::unique_ptr<Call> owned) {
  Call& added = *owned;
  added.region = PlaceOf(added.info);
  // The key views the call's own id, which lives (and stays put) as long as the entry.
  const bool inserted = calls_.emplace(HashedView(added.info.call_id), std::move(owned)).second;
  HOTLINE_CHECK(inserted);
  return added;
}

CallEntry Engine::ToEntry(Call call) {
  CallEntry entry;
  entry.info = std::move(call.info);
  entry.state = call.state;
  entry.step = call.step;
  entry.admission_seq = call.admission_seq;
  entry.in_queue = call.in_queue;
  entry.counsellor_id = std::move(call.counsellor_id);
  entry.tried = {call.tried.begin(), call.tried.end()};
  entry.expired = call.expired;
  entry.generation = call.generation;
  entry.preferred_counsellor = std::move(call.preferred_counsellor);
  entry.hold_until = call.hold_until;
  entry.times_out_not_before = call.times_out_not_before;
  entry.due_in_grace = call.due_in_grace;
  entry.ladder_generation = call.ladder_generation;
  entry.record = ToRecord(std::move(call.record));  // Its `call` stays empty: `info` is the call.
  return entry;
}

CallRecord Engine::ToRecord(LiveRecord live) {
  CallRecord r;
  FillRecord(std::move(live), r);
  return r;
}

void Engine::FillRecord(LiveRecord&& live, CallRecord& r) {
  r.outcome = live.outcome;
  r.counsellor_id = std::move(live.counsellor_id);
  r.first_offered_at = live.first_offered_at;
  r.accepted_at = live.accepted_at;
  r.answered_at = live.answered_at;
  r.ended_at = live.ended_at;
  r.wrap_up_done_at = live.wrap_up_done_at;
  r.offers = live.offers;
  r.final_step = live.final_step;
  r.reason = std::move(live.reason);
  r.ended_by_supervisor = live.ended_by_supervisor;
}

Engine::Call Engine::FromEntry(CallEntry entry) {
  Call call;
  call.info = std::move(entry.info);
  call.state = entry.state;
  call.step = entry.step;
  call.admission_seq = entry.admission_seq;
  call.in_queue = entry.in_queue;
  call.counsellor_id = std::move(entry.counsellor_id);
  call.tried = {entry.tried.begin(), entry.tried.end()};
  call.expired = entry.expired;
  call.generation = entry.generation;
  call.preferred_counsellor = std::move(entry.preferred_counsellor);
  call.hold_until = entry.hold_until;
  call.times_out_not_before = entry.times_out_not_before;
  call.due_in_grace = entry.due_in_grace;
  call.ladder_generation = entry.ladder_generation;
  // A live call's record has no disposition (it comes with the input that finishes the call),
  // and snapshots before the engine kept one copy of a live call carry a second in
  // `record.call`: neither is kept.
  LiveRecord& r = call.record;
  r.outcome = entry.record.outcome;
  r.counsellor_id = std::move(entry.record.counsellor_id);
  r.first_offered_at = entry.record.first_offered_at;
  r.accepted_at = entry.record.accepted_at;
  r.answered_at = entry.record.answered_at;
  r.ended_at = entry.record.ended_at;
  r.wrap_up_done_at = entry.record.wrap_up_done_at;
  r.offers = entry.record.offers;
  r.final_step = entry.record.final_step;
  r.reason = std::move(entry.record.reason);
  r.ended_by_supervisor = entry.record.ended_by_supervisor;
  return call;
}

void Engine::RememberFinished(const std::vector<FinishedCall>& calls) {
  // Each part of the memory keeps what the engine that saved the state still kept: what its
  // expiry (in AdvanceTo, as of now_) and its sweeps had not forgotten yet.
  memory_.Clear();
  owed_order_.clear();
  owed_.clear();
  struct Answered {
    Timestamp at;
    const std::string* caller_key;
    Contact contact;
  };
  std::vector<Answered> answered;
  const auto remembered = [&](const std::string& caller_key, std::optional<Timestamp> at) {
    // A withheld number is nobody's repeat call.
    return at && !caller_key.empty() && *at > contacts_forgotten_through_;
  };
  for (const FinishedCall& f : calls) {
    if (now_ < f.finished_at + options_.finished_call_memory_ms) {
      memory_.AddFinished(f.finished_at, f.call_id, f.caller_key, f.gateway_id, f.outcome,
                          f.outcome == Outcome::kTimedOut);
    }
    // Owed: the wrap-up ended (by its deadline) without a disposition, none came late since.
    if (f.wrap_up_done_at && !f.category && !f.counsellor_id.empty() &&
        now_ < *f.wrap_up_done_at + options_.late_disposition_ms) {
      OwedDisposition owed{*f.wrap_up_done_at, f.call_id, f.counsellor_id, f.caller_key};
      owed_[owed.call_id] = owed;
      owed_order_.push_back(std::move(owed));
    }
    if (remembered(f.caller_key, f.answered_at)) {
      answered.push_back(
          Answered{*f.answered_at, &f.caller_key,
                   Contact{f.call_id, f.counsellor_id, *f.answered_at, f.category.value_or("")}});
    }
  }
  // Calls still live (connected, or in wrap-up) were contacts from the moment they connected.
  // (Any order: the sort below is total, call ids being unique.)
  for (const auto& [id, call] : calls_) {
    if (remembered(call->info.caller_key, call->record.answered_at)) {
      answered.push_back(Answered{
          *call->record.answered_at, &call->info.caller_key,
          Contact{call->info.call_id, call->counsellor_id, *call->record.answered_at, ""}});
    }
  }
  // In the order CallConnected keeps them, each caller's most recent kMaxContactsPerCaller.
  std::sort(answered.begin(), answered.end(), [](const Answered& a, const Answered& b) {
    return ContactBefore(a.contact, b.contact);
  });
  for (const Answered& a : answered) {
    memory_.AddContact(*a.caller_key, a.contact);
  }
  HoldCallers();
}

void Engine::HoldCallers() {
  for (auto& [id, call] : calls_) {
    call->caller = memory_.HoldKnown(call->info.caller_key);
  }
}

// --- Lookups and views. ---

Engine::Call* Engine::LookupCall(const std::string& call_id) {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : it->second.get();
}

Engine::Counsellor* Engine::LookupCounsellor(const std::string& counsellor_id) {
  auto it = counsellor_by_id_.find(counsellor_id);
  return it == counsellor_by_id_.end() ? nullptr : it->second;
}

Engine::Counsellor& Engine::CounsellorAt(const std::string& counsellor_id) {
  Counsellor* c = LookupCounsellor(counsellor_id);
  HOTLINE_CHECK(c != nullptr);
  return *c;
}

namespace {

CounsellorView ViewOf(const CounsellorProfile& p, CounsellorState state, BreakReason reason,
                      Timestamp since, const std::string& call_id, bool desk) {
  return CounsellorView{p, state, reason, since, call_id, desk};
}

}  // namespace

std::vector<CounsellorView> Engine::Counsellors() const {
  std::vector<CounsellorView> out;
  out.reserve(counsellors_.size());
  for (const auto& [id, c] : counsellors_) {
    out.push_back(ViewOf(c.profile, c.state, c.break_reason, c.since, c.call_id, c.desk_connected));
  }
  return out;
}

std::optional<CounsellorView> Engine::FindCounsellor(const std::string& counsellor_id) const {
  auto it = counsellor_by_id_.find(counsellor_id);
  if (it == counsellor_by_id_.end()) {
    return std::nullopt;
  }
  const Counsellor& c = *it->second;
  return ViewOf(c.profile, c.state, c.break_reason, c.since, c.call_id, c.desk_connected);
}

const CounsellorEntry* Engine::PeekCounsellor(std::string_view counsellor_id) const {
  auto it = counsellor_by_id_.find(counsellor_id);
  return it == counsellor_by_id_.end() ? nullptr : it->second;
}

const CallInfo* Engine::PeekCall(std::string_view call_id) const {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : &it->second->info;
}

std::vector<CallView> Engine::Calls() const { return Calls(queue_ranks_->tree.size()); }

std::vector<CallView> Engine::Calls(size_t waiting_limit) const {
  std::vector<CallView> out;
  int position = 0;
  for (const auto& [key, queued] : queue_ranks_->tree) {
    if (out.size() >= waiting_limit) {
      break;
    }
    const Call& call = *queued;
    out.push_back(CallView{call.info, call.state, call.step, call.counsellor_id, ++position,
                           call.admission_seq, call.record.answered_at});
  }
  // A call out of the queue is held (offered, connecting, connected) by the counsellor who
  // points at it (CheckInvariants), so walking the counsellors finds them all without a walk of
  // every waiting call.
  std::set<std::string> held;
  for (const auto& [id, c] : counsellors_) {
    if (!c.call_id.empty()) {
      held.insert(c.call_id);
    }
  }
  for (const std::string& id : held) {
    auto it = calls_.find(id);
    if (it != calls_.end() && !it->second->in_queue) {
      const Call& call = *it->second;
      out.push_back(CallView{call.info, call.state, call.step, call.counsellor_id, 0,
                             call.admission_seq, call.record.answered_at});
    }
  }
  return out;
}

int Engine::CountWaiting(Priority p) const {
  const int key = -static_cast<int>(p);
  int n = static_cast<int>(queue_ranks_->tree.order_of_key(QueueKey{key + 1, 0}) -
                           queue_ranks_->tree.order_of_key(QueueKey{key, 0}));
  for (const auto& [id, c] : counsellors_) {
    if (c.state == CounsellorState::kReserved && !c.call_id.empty()) {
      auto it = calls_.find(c.call_id);
      n += it != calls_.end() && it->second->info.priority == p &&
                   it->second->state == CallState::kOffered
               ? 1
               : 0;
    }
  }
  return n;
}

void Engine::ForEachCall(const std::function<void(const CallInfo&, CallState)>& visit) const {
  for (const auto& [id, call] : calls_) {
    visit(call->info, call->state);
  }
}

std::optional<CallView> Engine::FindCall(const std::string& call_id) const {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) {
    return std::nullopt;
  }
  const Call& call = *it->second;
  return CallView{call.info,          call.state,       call.step,
                  call.counsellor_id, PositionOf(call), call.admission_seq,
                  call.record.answered_at};
}

}  // namespace hotline::routing
