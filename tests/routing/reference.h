// A brute-force reference of the routing rules, for the property tests: it follows an engine
// from the outside (the inputs it accepted and the effects it produced) and checks every offer
// against the rules as docs/routing.md and DESIGN.md §3 state them, by scanning every
// counsellor and every waiting call. Written from the documents, not from engine.cc: where the
// two disagree, one of them is wrong.
//
// The rules, as checked:
//   - Eligible: AVAILABLE with a desk open; the topic skill at the step's minimum proficiency;
//     the caller's language and counsellor gender where the step requires them; within the
//     step's scope (province: home or listed; centre: of the call's province, or anywhere
//     without a region tree; national), national on every step for a call whose province is
//     missing, unknown or marked unknown; not barred from the caller (never-route).
//   - A call looking for someone: back to the caller's last counsellor (repeat caller, within
//     the window) if the call still waits for them and they are eligible; no one while it waits
//     for them (they are busy, desk open, and would be eligible); else the eligible counsellor
//     first by fewest missed preferences (language, gender), then the strategy (longest idle;
//     most skilled; fewest calls today, Vietnam's day; round robin: least recently offered),
//     then longest idle, then the lower id; someone it was not offered yet if there is anyone.
//   - A freed counsellor: a repeat call waiting for them first; else the first call in queue
//     order (priority, then arrival) they are eligible for that waits for nobody else, leaving
//     calls they were already offered while someone else could take them.
//   - A repeat call waits for its last counsellor at most repeat_wait_ms, and no longer once it
//     has been offered to anyone or its counsellor cannot take it soon (not busy, desk closed,
//     not eligible but for being busy).
//   - Longest idle counts from becoming available after work or a break, not from an offer
//     that came back or a connect taken back (connect_timeout_ms).
//   - A connect not reported within connect_timeout_ms puts its call back in its place and the
//     counsellor back to AVAILABLE.
//
// Not thread-safe; test-only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "routing/engine.h"

namespace hotline::routing {

namespace reference_internal {

// Vietnam keeps UTC+7 all year.
inline int64_t VietnamDay(Timestamp t) {
  return (ToUnixMillis(t) + int64_t{7} * 3'600'000) / 86'400'000;
}

inline bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

inline bool Busy(CounsellorState s) {
  return s == CounsellorState::kReserved || s == CounsellorState::kOnCall ||
         s == CounsellorState::kWrapUp;
}

}  // namespace reference_internal

// Follows the engine from the outside: the inputs it accepted (what they change comes first)
// and the effects it produced, in order. Checks each offer against the state just before it.
class Reference {
 public:
  // How the engine explains the two decisions that are not a call choosing among counsellors.
  static constexpr std::string_view kFreedRule =
      "the first call in the queue this freed counsellor can take";
  static constexpr std::string_view kRepeatRule =
      "repeat caller: back to the counsellor who answered them last";

  // `offer_timeout` is the engine's EngineOptions::offer_timeout_ms: an offer's time is its
  // expiry less that.
  Reference(Policy policy, Millis offer_timeout) : offer_timeout_(offer_timeout) {
    SetPolicy(std::move(policy));
  }

  // How many offers were checked, by rule ("call", "freed", "repeat"), and how many could not
  // be (too many calls on a step boundary at once).
  const std::map<std::string, int>& checked() const { return checked_; }
  int unchecked() const { return unchecked_; }

  // --- What an accepted input changes before the engine decides anything. ---

  void SetPolicy(Policy policy) {
    policy_ = std::move(policy);
    centre_.clear();
    for (const auto& p : policy_.regions.provinces) {
      centre_[p.code] = p.centre;
    }
  }
  void Add(const CounsellorProfile& profile, Timestamp now) {
    counsellors_[profile.id] = Counsellor{profile};
    counsellors_[profile.id].idle_since = now;
  }
  void Update(const CounsellorProfile& profile) { counsellors_.at(profile.id).profile = profile; }
  void Remove(const std::string& id) { counsellors_.erase(id); }
  void Desk(const std::string& id, bool open) { counsellors_.at(id).desk = open; }
  void NeverRoute(const std::string& counsellor, const std::string& call_id) {
    never_.insert({counsellor, keys_.at(call_id)});
  }
  void ChangePriority(const std::string& call_id, Priority priority) {
    calls_.at(call_id).info.priority = priority;
  }
  void Arrive(const CallInfo& info, Timestamp now) {
    Call& call = calls_[info.call_id];
    call.info = info;
    call.admission = next_admission_++;
    keys_[info.call_id] = info.caller_key;
    // A caller answered within the window goes back to whoever answered them last, waiting
    // for them a while if they are busy.
    if (auto it = contacts_.find(info.caller_key);
        it != contacts_.end() && now < it->second.at + policy_.repeat_window_ms) {
      call.preferred = it->second.counsellor;
      call.hold_until = now + policy_.repeat_wait_ms;
    }
  }
  void ConnectFailed(const std::string& call_id) {
    Call& call = calls_.at(call_id);
    call.state = CallState::kWaiting;  // Back in its place.
    call.counsellor.clear();
  }

  // After the input's own change: a hold whose counsellor cannot take the call soon ends.
  void InputApplied(Timestamp now) { EndHolds(now); }

  // --- Then the effects, in order. Returns what was wrong with a decision, or "". ---
  // `input_now` is the time of the input (or tick) that produced them: accepting and
  // connecting, which carry no time of their own, only ever happen at an input.

  std::string Observe(const Effect& e, Timestamp input_now) {
    std::string wrong;
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, OfferMade>) {
            wrong = Offered(x);
          } else if constexpr (std::is_same_v<T, OfferRevoked>) {
            Call& call = calls_.at(x.call_id);
            call.state = CallState::kWaiting;
            call.counsellor.clear();
          } else if constexpr (std::is_same_v<T, ConnectRequested>) {
            calls_.at(x.call_id).state = CallState::kConnecting;
            Counsellor& c = counsellors_.at(x.counsellor_id);
            if (c.calls_day != reference_internal::VietnamDay(input_now)) {
              c.calls_day = reference_internal::VietnamDay(input_now);
              c.calls_today = 0;
            }
            ++c.calls_today;
          } else if constexpr (std::is_same_v<T, DeskCallConnected>) {
            Call& call = calls_.at(x.call_id);
            call.state = CallState::kConnected;
            if (!call.info.caller_key.empty()) {  // A withheld number is nobody's repeat call.
              // The last: the latest answered, of calls answered in one millisecond the one
              // with the greatest id.
              auto [it, added] = contacts_.try_emplace(call.info.caller_key);
              if (added ||
                  std::tie(it->second.at, it->second.call_id) <= std::tie(input_now, x.call_id)) {
                it->second = {x.counsellor_id, input_now, x.call_id};
              }
            }
          } else if constexpr (std::is_same_v<T, DeskCallEnded>) {
            calls_.at(x.call_id).state = CallState::kEnded;
          } else if constexpr (std::is_same_v<T, CallFinished>) {
            calls_.erase(x.record.call.call_id);
          } else if constexpr (std::is_same_v<T, PresenceChanged>) {
            // Straight from a connecting call to AVAILABLE: a connect not reported within
            // connect_timeout_ms, whose call goes back in its place. (A caller who left while
            // connecting is finished first: no connecting call is left to find then.)
            bool connect_taken_back = false;
            if (x.change.state == CounsellorState::kAvailable &&
                counsellors_.at(x.change.counsellor_id).state == CounsellorState::kOnCall) {
              for (auto& [id, call] : calls_) {
                if (call.state == CallState::kConnecting &&
                    call.counsellor == x.change.counsellor_id) {
                  ConnectFailed(id);
                  connect_taken_back = true;
                  break;
                }
              }
            }
            Counsellor& c = counsellors_.at(x.change.counsellor_id);
            // Longest idle counts from becoming available after work or a break; an offer that
            // came back, or a connect taken back, does not reset it.
            if (x.change.state == CounsellorState::kAvailable &&
                c.state != CounsellorState::kReserved && !connect_taken_back) {
              c.idle_since = x.change.at;
            }
            c.state = x.change.state;
            EndHolds(x.change.at);
          }
        },
        e);
    return wrong;
  }

  // --- Checks of the state between inputs (no call is on a step boundary then). ---

  // Nobody who could take a waiting call is left idle, unless it waits for someone else.
  std::string CheckIdle(Timestamp now) const {
    for (const auto& [id, call] : calls_) {
      if (call.state != CallState::kWaiting) {
        continue;
      }
      const int step = StepsAt(call, now).front();
      for (const auto& [cid, c] : counsellors_) {
        if (Eligible(c, call, step) && !Held(call, step, now, cid)) {
          return "call " + id + " waits while " + cid + " is available and could take it";
        }
      }
    }
    return "";
  }

  // The engine's views say what the reference believes.
  std::string Compare(const Engine& engine, Timestamp now) const {
    const auto views = engine.Counsellors();
    if (views.size() != counsellors_.size()) {
      return "the engine has " + std::to_string(views.size()) + " counsellors, the reference " +
             std::to_string(counsellors_.size());
    }
    for (const auto& v : views) {
      auto it = counsellors_.find(v.profile.id);
      if (it == counsellors_.end() || it->second.state != v.state ||
          it->second.desk != v.desk_connected) {
        return "counsellor " + v.profile.id + " is " + std::string(Name(v.state)) +
               (v.desk_connected ? " (desk open)" : " (desk closed)") +
               " in the engine, not in the reference";
      }
    }
    const auto calls = engine.Calls();
    if (calls.size() != calls_.size()) {
      return "the engine has " + std::to_string(calls.size()) + " live calls, the reference " +
             std::to_string(calls_.size());
    }
    for (const auto& v : calls) {
      auto it = calls_.find(v.info.call_id);
      if (it == calls_.end() || it->second.state != v.state ||
          (v.state == CallState::kWaiting && StepsAt(it->second, now).front() != v.step)) {
        return "call " + v.info.call_id + " is " + std::string(Name(v.state)) + " on step " +
               std::to_string(v.step) + " in the engine, not in the reference";
      }
    }
    return "";
  }

 private:
  struct Counsellor {
    CounsellorProfile profile;
    CounsellorState state = CounsellorState::kOffline;
    bool desk = false;
    Timestamp idle_since{};
    int64_t calls_day = 0;
    int calls_today = 0;
    uint64_t last_offer = 0;  // 0: never offered a call.
  };
  struct Call {
    CallInfo info;
    uint64_t admission = 0;
    CallState state = CallState::kWaiting;
    std::string counsellor;
    std::set<std::string> tried;
    std::string preferred;
    Timestamp hold_until{};
    bool hold_ended = false;
  };
  // A step for every waiting call, for the calls on a boundary: one of the two it may be on.
  using Placement = std::map<std::string, int>;

  const LadderStep& StepOf(const Call& call, int step) const {
    return policy_.LadderFor(call.info.priority, call.info.topic).steps.at(step);
  }

  // The steps the call may be on at `t`: one, or two at the very instant it climbs.
  std::vector<int> StepsAt(const Call& call, Timestamp t) const {
    const Ladder& ladder = policy_.LadderFor(call.info.priority, call.info.topic);
    const Millis waited = t - call.info.arrived_at;
    Millis end{0};
    for (int k = 0; k + 1 < static_cast<int>(ladder.steps.size()); ++k) {
      end += ladder.steps[k].duration_ms;
      if (waited < end) {
        return {k};
      }
      if (waited == end) {
        return {k, k + 1};
      }
    }
    return {static_cast<int>(ladder.steps.size()) - 1};
  }

  // Without a usable province (missing, unknown to the tree, or marked unknown), national.
  Scope ScopeAt(const Call& call, int step) const {
    const std::string& p = call.info.province;
    if (call.info.province_unknown || p.empty() || (!centre_.empty() && !centre_.contains(p))) {
      return Scope::kNational;
    }
    return StepOf(call, step).scope;
  }

  std::string CentreOf(const std::string& province) const {
    auto it = centre_.find(province);
    return it == centre_.end() ? "" : it->second;
  }

  // The step's rules, whatever the counsellor's state.
  bool Qualified(const Counsellor& c, const Call& call, int step) const {
    const CounsellorProfile& p = c.profile;
    const LadderStep& s = StepOf(call, step);
    if (never_.contains({p.id, call.info.caller_key})) {
      return false;
    }
    auto skill = p.skills.find(call.info.topic);
    if (skill == p.skills.end() || skill->second < s.min_proficiency) {
      return false;
    }
    if (s.language == Need::kRequired &&
        !reference_internal::Has(p.languages, call.info.language)) {
      return false;
    }
    if (s.gender == Need::kRequired && call.info.gender_preference != Gender::kUnspecified &&
        p.gender != call.info.gender_preference) {
      return false;
    }
    switch (ScopeAt(call, step)) {
      case Scope::kProvince:
        return p.home_province == call.info.province ||
               reference_internal::Has(p.provinces, call.info.province);
      case Scope::kCentre: {
        if (centre_.empty()) {
          return true;  // Without a region tree a centre is the whole country.
        }
        const std::string centre = CentreOf(call.info.province);
        if (CentreOf(p.home_province) == centre) {
          return true;
        }
        for (const auto& x : p.provinces) {
          if (CentreOf(x) == centre) {
            return true;
          }
        }
        return false;
      }
      case Scope::kNational:
        return true;
    }
    return false;
  }

  bool Eligible(const Counsellor& c, const Call& call, int step) const {
    return c.state == CounsellorState::kAvailable && c.desk && Qualified(c, call, step);
  }

  static bool HoldInForce(const Call& call, Timestamp t) {
    return !call.preferred.empty() && !call.hold_ended && t < call.hold_until &&
           !call.tried.contains(call.preferred);
  }

  // The call waits for its last counsellor (not `other`): signed in, busy, and able to take it.
  bool Held(const Call& call, int step, Timestamp t, const std::string& other) const {
    if (!HoldInForce(call, t) || call.preferred == other) {
      return false;
    }
    auto it = counsellors_.find(call.preferred);
    return it != counsellors_.end() && it->second.desk &&
           reference_internal::Busy(it->second.state) && Qualified(it->second, call, step);
  }

  // A hold ends for good once its counsellor can neither take the call now nor soon.
  void EndHolds(Timestamp t) {
    for (auto& [id, call] : calls_) {
      if (call.state != CallState::kWaiting || !HoldInForce(call, t)) {
        continue;
      }
      // Along a ladder the rules only widen: the later step, if two, decides the same.
      const int step = StepsAt(call, t).back();
      auto it = counsellors_.find(call.preferred);
      const bool can_now = it != counsellors_.end() && Eligible(it->second, call, step);
      if (!Held(call, step, t, "") && !can_now) {
        call.hold_ended = true;
      }
    }
  }

  int Misses(const Counsellor& c, const Call& call, int step) const {
    const LadderStep& s = StepOf(call, step);
    int misses = 0;
    if (s.language == Need::kPreferred &&
        !reference_internal::Has(c.profile.languages, call.info.language)) {
      ++misses;
    }
    if (s.gender == Need::kPreferred && call.info.gender_preference != Gender::kUnspecified &&
        c.profile.gender != call.info.gender_preference) {
      ++misses;
    }
    return misses;
  }

  // Smaller is chosen first: fewest missed preferences, the strategy, longest idle, lower id.
  std::tuple<int, int64_t, int64_t, std::string> Order(const Counsellor& c, const Call& call,
                                                       int step, Timestamp t) const {
    const int64_t idle = ToUnixMillis(c.idle_since);
    int64_t key = 0;
    switch (policy_.strategy) {
      case Strategy::kLongestIdle:
        break;
      case Strategy::kMostSkilled:
        key = -c.profile.skills.at(call.info.topic);
        break;
      case Strategy::kFewestCallsToday:
        key = c.calls_day == reference_internal::VietnamDay(t) ? c.calls_today : 0;
        break;
      case Strategy::kRoundRobin:
        key = static_cast<int64_t>(c.last_offer);
        break;
    }
    return {Misses(c, call, step), key, idle, c.profile.id};
  }

  std::vector<const Call*> Queue() const {
    std::vector<const Call*> queue;
    for (const auto& [id, call] : calls_) {
      if (call.state == CallState::kWaiting) {
        queue.push_back(&call);
      }
    }
    std::sort(queue.begin(), queue.end(), [](const Call* a, const Call* b) {
      return std::make_tuple(-static_cast<int>(a->info.priority), a->admission) <
             std::make_tuple(-static_cast<int>(b->info.priority), b->admission);
    });
    return queue;
  }

  int EligibleCount(const Call& call, int step) const {
    int n = 0;
    for (const auto& [id, c] : counsellors_) {
      n += Eligible(c, call, step) ? 1 : 0;
    }
    return n;
  }

  std::string Offered(const OfferMade& offer) {
    const Timestamp t = offer.expires_at - offer_timeout_;
    auto call_it = calls_.find(offer.call.call_id);
    auto c_it = counsellors_.find(offer.counsellor_id);
    if (call_it == calls_.end() || call_it->second.state != CallState::kWaiting ||
        c_it == counsellors_.end()) {
      return "offer of " + offer.call.call_id + " to " + offer.counsellor_id +
             ": no such waiting call or counsellor";
    }
    Call& call = call_it->second;
    Counsellor& c = c_it->second;
    const std::vector<int> steps = StepsAt(call, t);
    std::string wrong;
    if (std::find(steps.begin(), steps.end(), offer.step) == steps.end()) {
      wrong = "offered on step " + std::to_string(offer.step) + ", the call is on step " +
              std::to_string(steps.back());
    } else if (offer.scope != ScopeAt(call, offer.step)) {
      wrong = "offered at scope " + std::string(Name(offer.scope));
    } else if (offer.rule == kRepeatRule) {
      wrong = CheckRepeat(offer, call, c, t);
    } else if (offer.rule == kFreedRule) {
      wrong = CheckFreed(offer, call, c, t);
    } else {
      wrong = CheckForCall(offer, call, c, t);
    }
    if (!wrong.empty()) {
      wrong = "offer of " + call.info.call_id + " to " + c.profile.id + " (" + offer.rule +
              ") at " + std::to_string(ToUnixMillis(t)) + ": " + wrong;
    }
    // Apply it. An offer routes the call: whatever becomes of it, the hold is over.
    call.state = CallState::kOffered;
    call.counsellor = c.profile.id;
    call.tried.insert(c.profile.id);
    call.hold_ended = true;
    c.state = CounsellorState::kReserved;
    c.last_offer = ++offers_;
    return wrong;
  }

  // A repeat caller back to the counsellor who answered them last, who can take it now.
  std::string CheckRepeat(const OfferMade& offer, const Call& call, const Counsellor& c,
                          Timestamp t) {
    ++checked_["repeat"];
    if (call.preferred != c.profile.id) {
      return "the caller's last counsellor is '" + call.preferred + "'";
    }
    if (!HoldInForce(call, t)) {
      return "the call no longer waits for them";
    }
    if (!Eligible(c, call, offer.step)) {
      return "they cannot take it";
    }
    return offer.eligible == 1 ? "" : "eligible should be 1";
  }

  // A call looking for a counsellor: its last one if in force and able; else, if it is not
  // held, the best eligible one, someone it was not yet offered to if possible.
  std::string CheckForCall(const OfferMade& offer, const Call& call, const Counsellor& chosen,
                           Timestamp t) {
    ++checked_["call"];
    const int step = offer.step;
    if (Held(call, step, t, "")) {
      return "the call waits for " + call.preferred;
    }
    if (HoldInForce(call, t)) {
      auto p = counsellors_.find(call.preferred);
      if (p != counsellors_.end() && Eligible(p->second, call, step)) {
        return "it should go back to " + call.preferred + ", who answered the caller last";
      }
    }
    if (offer.eligible != EligibleCount(call, step)) {
      return std::to_string(offer.eligible) + " said eligible, " +
             std::to_string(EligibleCount(call, step)) + " are";
    }
    const Counsellor* best = nullptr;
    bool best_tried = true;
    for (const auto& [id, c] : counsellors_) {
      if (!Eligible(c, call, step)) {
        continue;
      }
      const bool tried = call.tried.contains(id);
      if (best == nullptr || (best_tried && !tried) ||
          (best_tried == tried && Order(c, call, step, t) < Order(*best, call, step, t))) {
        best = &c;
        best_tried = tried;
      }
    }
    if (best == nullptr) {
      return "nobody is eligible";
    }
    if (best != &chosen) {
      return "the rules choose " + best->profile.id;
    }
    const std::map<Strategy, std::string> says = {{Strategy::kLongestIdle, "longest idle"},
                                                  {Strategy::kMostSkilled, "most skilled"},
                                                  {Strategy::kFewestCallsToday, "fewest calls"},
                                                  {Strategy::kRoundRobin, "round robin"}};
    if (offer.rule.rfind(says.at(policy_.strategy), 0) != 0) {
      return "the rule should name the strategy " + says.at(policy_.strategy);
    }
    return "";
  }

  // A freed counsellor takes a repeat caller waiting for them first; else the first call in
  // queue order (priority, then admission) they may take that is not held for someone else, and
  // not one they were already offered while someone else could take it.
  std::string CheckFreed(const OfferMade& offer, const Call& call, const Counsellor& c,
                         Timestamp t) {
    // Calls at a boundary may be on either step: try every placement, up to a point.
    std::vector<std::pair<std::string, std::vector<int>>> open;
    Placement placement;
    for (const Call* w : Queue()) {
      std::vector<int> steps = StepsAt(*w, t);
      if (w == &call) {
        steps = {offer.step};
      }
      placement[w->info.call_id] = steps.front();
      if (steps.size() > 1) {
        open.emplace_back(w->info.call_id, steps);
      }
    }
    if (open.size() > 6) {
      ++unchecked_;
      return "";
    }
    ++checked_["freed"];
    std::string first_wrong;
    for (uint32_t bits = 0; bits < (1U << open.size()); ++bits) {
      for (size_t i = 0; i < open.size(); ++i) {
        placement[open[i].first] = open[i].second[(bits >> i) & 1];
      }
      std::string wrong = ExpectFreed(offer, call, c, t, placement);
      if (wrong.empty()) {
        return "";
      }
      if (first_wrong.empty()) {
        first_wrong = wrong;
      }
    }
    return first_wrong;
  }

  std::string ExpectFreed(const OfferMade& offer, const Call& call, const Counsellor& c,
                          Timestamp t, const Placement& placement) const {
    const std::string& id = c.profile.id;
    const auto queue = Queue();
    for (const Call* w : queue) {
      if (w->preferred == id && HoldInForce(*w, t) &&
          Eligible(c, *w, placement.at(w->info.call_id))) {
        return "they should first take " + w->info.call_id + ", whose caller they answered last";
      }
    }
    auto someone_else = [&](const Call& w, int step) {
      for (const auto& [other, o] : counsellors_) {
        if (other != id && Eligible(o, w, step)) {
          return true;
        }
      }
      return false;
    };
    for (const Call* w : queue) {
      const int step = placement.at(w->info.call_id);
      if (!Eligible(c, *w, step) || Held(*w, step, t, id) ||
          (w->tried.contains(id) && someone_else(*w, step))) {
        continue;
      }
      if (w != &call) {
        return "the first call in the queue they may take is " + w->info.call_id;
      }
      if (offer.eligible != EligibleCount(call, offer.step)) {
        return std::to_string(offer.eligible) + " said eligible, " +
               std::to_string(EligibleCount(call, offer.step)) + " are";
      }
      return "";
    }
    return "they may take no call in the queue";
  }

  const Millis offer_timeout_;
  std::map<std::string, int> checked_;
  int unchecked_ = 0;
  Policy policy_;
  std::map<std::string, std::string> centre_;  // Province code -> centre, from the tree.
  std::map<std::string, Counsellor> counsellors_;
  std::map<std::string, Call> calls_;        // Live calls.
  std::map<std::string, std::string> keys_;  // Caller key of every call ever admitted.
  struct LastContact {
    std::string counsellor;
    Timestamp at{};  // When they answered.
    std::string call_id;
  };
  std::map<std::string, LastContact> contacts_;                        // Caller key -> last.
  std::set<std::pair<std::string, std::string>> never_;                // (counsellor, caller key).
  uint64_t next_admission_ = 0;
  uint64_t offers_ = 0;
};

}  // namespace hotline::routing
