#include "daemon/journal.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "daemon/convert.h"

namespace hotline::daemon {

namespace {

using routing::Timestamp;

// An unset Timestamp field means "no time" for the optional ones. Presence is data: the field is
// touched (mutable_*) only when there is a time, so `mutable` is called lazily.
template <class Mutable>
void SetTime(Mutable&& mutable_field, const std::optional<Timestamp>& t) {
  if (t) {
    *mutable_field() = ToProto(*t);
  }
}

std::optional<Timestamp> GetTime(bool has, const google::protobuf::Timestamp& t) {
  if (!has) {
    return std::nullopt;
  }
  return FromProto(t);
}

v1::CallRecordRecord RecordOfCall(const routing::CallRecord& r) {
  v1::CallRecordRecord out;
  *out.mutable_call() = ToRecord(r.call);
  out.set_outcome(static_cast<v1::CallOutcome>(r.outcome));
  out.set_counsellor_id(r.counsellor_id);
  SetTime([&] { return out.mutable_first_offered_at(); }, r.first_offered_at);
  SetTime([&] { return out.mutable_accepted_at(); }, r.accepted_at);
  SetTime([&] { return out.mutable_answered_at(); }, r.answered_at);
  *out.mutable_ended_at() = ToProto(r.ended_at);
  SetTime([&] { return out.mutable_wrap_up_done_at(); }, r.wrap_up_done_at);
  out.set_offers(r.offers);
  out.set_final_step(r.final_step);
  if (r.disposition) {
    *out.mutable_disposition() = ToRecord(*r.disposition);
  }
  out.set_reason(r.reason);
  out.set_ended_by_supervisor(r.ended_by_supervisor);
  return out;
}

routing::CallRecord CallOfRecord(const v1::CallRecordRecord& r) {
  routing::CallRecord out;
  out.call = FromRecord(r.call());
  out.outcome = static_cast<routing::Outcome>(r.outcome());
  out.counsellor_id = r.counsellor_id();
  out.first_offered_at = GetTime(r.has_first_offered_at(), r.first_offered_at());
  out.accepted_at = GetTime(r.has_accepted_at(), r.accepted_at());
  out.answered_at = GetTime(r.has_answered_at(), r.answered_at());
  out.ended_at = FromProto(r.ended_at());
  out.wrap_up_done_at = GetTime(r.has_wrap_up_done_at(), r.wrap_up_done_at());
  out.offers = r.offers();
  out.final_step = r.final_step();
  if (r.has_disposition()) {
    out.disposition = FromRecord(r.disposition());
  }
  out.reason = r.reason();
  out.ended_by_supervisor = r.ended_by_supervisor();
  return out;
}

}  // namespace

v1::CallInfoRecord ToRecord(const routing::CallInfo& call) {
  v1::CallInfoRecord r;
  r.set_call_id(call.call_id);
  r.set_gateway_id(call.gateway_id);
  r.set_caller_key(call.caller_key);
  r.set_caller_masked(call.caller_masked);
  r.set_province(call.province);
  r.set_language(call.language);
  r.set_topic(static_cast<v1::Topic>(call.topic));
  r.set_priority(static_cast<v1::Priority>(call.priority));
  r.set_gender_preference(static_cast<v1::Gender>(call.gender_preference));
  *r.mutable_arrived_at() = ToProto(call.arrived_at);
  r.set_repeat_caller(call.repeat_caller);
  r.set_province_unknown(call.province_unknown);
  r.set_caller_withheld(call.caller_withheld);
  return r;
}

routing::CallInfo FromRecord(const v1::CallInfoRecord& r) {
  routing::CallInfo call;
  call.call_id = r.call_id();
  call.gateway_id = r.gateway_id();
  call.caller_key = r.caller_key();
  call.caller_masked = r.caller_masked();
  call.province = r.province();
  call.language = r.language();
  call.topic = static_cast<routing::Topic>(r.topic());
  call.priority = static_cast<routing::Priority>(r.priority());
  call.gender_preference = static_cast<routing::Gender>(r.gender_preference());
  call.arrived_at = FromProto(r.arrived_at());
  call.repeat_caller = r.repeat_caller();
  call.province_unknown = r.province_unknown();
  call.caller_withheld = r.caller_withheld();
  return call;
}

v1::DispositionRecord ToRecord(const routing::Disposition& d) {
  v1::DispositionRecord r;
  r.set_category(d.category);
  r.set_action(d.action);
  for (const auto& flag : d.flags) {
    r.add_flags(flag);
  }
  r.set_heavy(d.heavy);
  r.set_note(d.note);
  return r;
}

routing::Disposition FromRecord(const v1::DispositionRecord& r) {
  return routing::Disposition{
      r.category(), r.action(), {r.flags().begin(), r.flags().end()}, r.heavy(), r.note()};
}

routing::CounsellorProfile FromRecord(const v1::Counsellor& c) {
  routing::CounsellorProfile p;
  p.id = c.counsellor_id();
  p.display_name = c.display_name();
  p.home_province = c.home_province();
  p.provinces.assign(c.provinces().begin(), c.provinces().end());
  for (const auto& skill : c.skills()) {
    p.skills[static_cast<routing::Topic>(skill.topic())] = skill.proficiency();
  }
  p.languages.assign(c.languages().begin(), c.languages().end());
  p.gender = static_cast<routing::Gender>(c.gender());
  p.endpoint = c.endpoint();
  return p;
}

namespace {

v1::LadderRecord LadderToRecord(const routing::Ladder& ladder) {
  v1::LadderRecord r;
  for (const auto& step : ladder.steps) {
    auto* s = r.add_steps();
    s->set_scope(static_cast<int>(step.scope));
    s->set_min_proficiency(step.min_proficiency);
    s->set_language(static_cast<int>(step.language));
    s->set_gender(static_cast<int>(step.gender));
    s->set_duration_ms(step.duration_ms.count());
  }
  return r;
}

routing::Ladder LadderFromRecord(const v1::LadderRecord& r) {
  routing::Ladder ladder;
  for (const auto& s : r.steps()) {
    ladder.steps.push_back(routing::LadderStep{
        static_cast<routing::Scope>(s.scope()), s.min_proficiency(),
        static_cast<routing::Need>(s.language()), static_cast<routing::Need>(s.gender()),
        routing::Millis(s.duration_ms())});
  }
  return ladder;
}

}  // namespace

v1::EngineOptionsRecord ToRecord(const routing::EngineOptions& o) {
  v1::EngineOptionsRecord r;
  r.set_max_wait_ms(o.max_wait_ms.count());
  r.set_offer_timeout_ms(o.offer_timeout_ms.count());
  r.set_connect_timeout_ms(o.connect_timeout_ms.count());
  r.set_wrap_up_ms(o.wrap_up_ms.count());
  r.set_missed_offers_before_break(o.missed_offers_before_break);
  r.set_desk_grace_ms(o.desk_grace_ms.count());
  r.set_announce_every_ms(o.announce_every_ms.count());
  r.set_handling_sample_size(o.handling_sample_size);
  r.set_finished_call_memory_ms(o.finished_call_memory_ms.count());
  r.set_late_disposition_ms(o.late_disposition_ms.count());
  return r;
}

// A field the record lacks (0: every setting is at least 1) keeps routing::EngineOptions' default,
// the value a daemon that wrote no such field ran with: a setting added later then decodes from
// an older record as it behaved, instead of as 0, which Engine::SetOptions refuses. Logged, since
// no record written so far lacks one.
routing::EngineOptions FromRecord(const v1::EngineOptionsRecord& r) {
  routing::EngineOptions o;
  const auto absent = [](const char* name, int64_t value) {
    spdlog::warn("a routing settings record has no {}: its default, {}, applies", name, value);
  };
  const auto millis = [&](const char* name, int64_t recorded, routing::Millis& field) {
    if (recorded != 0) {
      field = routing::Millis(recorded);
    } else {
      absent(name, field.count());
    }
  };
  const auto count = [&](const char* name, int32_t recorded, int& field) {
    if (recorded != 0) {
      field = recorded;
    } else {
      absent(name, field);
    }
  };
  millis("max_wait_ms", r.max_wait_ms(), o.max_wait_ms);
  millis("offer_timeout_ms", r.offer_timeout_ms(), o.offer_timeout_ms);
  millis("connect_timeout_ms", r.connect_timeout_ms(), o.connect_timeout_ms);
  millis("wrap_up_ms", r.wrap_up_ms(), o.wrap_up_ms);
  count("missed_offers_before_break", r.missed_offers_before_break(), o.missed_offers_before_break);
  millis("desk_grace_ms", r.desk_grace_ms(), o.desk_grace_ms);
  millis("announce_every_ms", r.announce_every_ms(), o.announce_every_ms);
  count("handling_sample_size", r.handling_sample_size(), o.handling_sample_size);
  millis("finished_call_memory_ms", r.finished_call_memory_ms(), o.finished_call_memory_ms);
  millis("late_disposition_ms", r.late_disposition_ms(), o.late_disposition_ms);
  return o;
}

v1::PolicyRecord ToRecord(const routing::Policy& policy) {
  v1::PolicyRecord r;
  for (const auto& c : policy.regions.centres) {
    auto* centre = r.add_centres();
    centre->set_id(c.id);
    centre->set_name(c.name);
  }
  for (const auto& p : policy.regions.provinces) {
    auto* province = r.add_provinces();
    province->set_code(p.code);
    province->set_name(p.name);
    province->set_centre(p.centre);
    for (const auto& old : p.old_codes) {
      province->add_old_codes(old);
    }
  }
  *r.mutable_default_ladder() = LadderToRecord(policy.default_ladder);
  for (const auto& [priority, ladder] : policy.priority_ladders) {
    (*r.mutable_priority_ladders())[static_cast<int>(priority)] = LadderToRecord(ladder);
  }
  for (const auto& [topic, ladder] : policy.topic_ladders) {
    (*r.mutable_topic_ladders())[static_cast<int>(topic)] = LadderToRecord(ladder);
  }
  r.set_strategy(static_cast<int>(policy.strategy));
  for (const auto& [topic, ms] : policy.wrap_up_ms) {
    (*r.mutable_wrap_up_ms())[static_cast<int>(topic)] = ms.count();
  }
  r.set_cool_down_ms(policy.cool_down_ms.count());
  r.set_max_heavy_in_row(policy.max_heavy_in_row);
  r.set_repeat_window_ms(policy.repeat_window_ms.count());
  r.set_repeat_wait_ms(policy.repeat_wait_ms.count());
  return r;
}

routing::Policy FromRecord(const v1::PolicyRecord& r) {
  routing::Policy policy;
  for (const auto& c : r.centres()) {
    policy.regions.centres.push_back({c.id(), c.name()});
  }
  for (const auto& p : r.provinces()) {
    policy.regions.provinces.push_back(
        {p.code(), p.name(), p.centre(), {p.old_codes().begin(), p.old_codes().end()}});
  }
  policy.default_ladder = LadderFromRecord(r.default_ladder());
  for (const auto& [priority, ladder] : r.priority_ladders()) {
    policy.priority_ladders[static_cast<routing::Priority>(priority)] = LadderFromRecord(ladder);
  }
  for (const auto& [topic, ladder] : r.topic_ladders()) {
    policy.topic_ladders[static_cast<routing::Topic>(topic)] = LadderFromRecord(ladder);
  }
  policy.strategy = static_cast<routing::Strategy>(r.strategy());
  for (const auto& [topic, ms] : r.wrap_up_ms()) {
    policy.wrap_up_ms[static_cast<routing::Topic>(topic)] = routing::Millis(ms);
  }
  policy.cool_down_ms = routing::Millis(r.cool_down_ms());
  policy.max_heavy_in_row = r.max_heavy_in_row();
  policy.repeat_window_ms = routing::Millis(r.repeat_window_ms());
  policy.repeat_wait_ms = routing::Millis(r.repeat_wait_ms());
  return policy;
}

absl::Status ApplyRecord(routing::Engine& engine, const v1::JournalRecord& record) {
  const Timestamp at = FromProto(record.at());
  switch (record.input_case()) {
    case v1::JournalRecord::kAddCounsellor:
      return engine.AddCounsellor(FromRecord(record.add_counsellor()), at);
    case v1::JournalRecord::kUpdateCounsellor:
      return engine.UpdateCounsellor(FromRecord(record.update_counsellor()), at);
    case v1::JournalRecord::kRemoveCounsellor:
      return engine.RemoveCounsellor(record.remove_counsellor(), at);
    case v1::JournalRecord::kDeskConnected:
      return engine.DeskConnected(record.desk_connected(), at);
    case v1::JournalRecord::kDeskDisconnected:
      return engine.DeskDisconnected(record.desk_disconnected(), at);
    case v1::JournalRecord::kSetPresence: {
      const auto& in = record.set_presence();
      return engine.SetPresence(in.counsellor_id(),
                                static_cast<routing::CounsellorState>(in.state()),
                                static_cast<routing::BreakReason>(in.reason()), at);
    }
    case v1::JournalRecord::kAnswerOffer: {
      const auto& in = record.answer_offer();
      return engine.AnswerOffer(in.counsellor_id(), in.call_id(), in.accept(), at);
    }
    case v1::JournalRecord::kSubmitDisposition: {
      const auto& in = record.submit_disposition();
      return engine.SubmitDisposition(in.counsellor_id(), in.call_id(),
                                      FromRecord(in.disposition()), in.ready_for_next(), at);
    }
    case v1::JournalRecord::kCallArrived: {
      const v1::CallInfoRecord& in = record.call_arrived();
      return engine.CallArrived(FromRecord(in), at,
                                in.has_times_out_not_before() ? FromProto(in.times_out_not_before())
                                                              : routing::Timestamp{});
    }
    case v1::JournalRecord::kCallerHungUp:
      return engine.CallerHungUp(record.caller_hung_up(), at);
    case v1::JournalRecord::kCallbackRequested:
      return engine.CallbackRequested(record.callback_requested(), at);
    case v1::JournalRecord::kCallConnected:
      return engine.CallConnected(record.call_connected(), at);
    case v1::JournalRecord::kCallEnded:
      return engine.CallEnded(record.call_ended(), at);
    case v1::JournalRecord::kCallFailed:
      return engine.CallFailed(record.call_failed().call_id(), record.call_failed().reason(), at,
                               record.call_failed().times_out_past_max_wait());
    case v1::JournalRecord::kConnectFailed:
      return engine.ConnectFailed(record.connect_failed().call_id(),
                                  record.connect_failed().reason(), at);
    case v1::JournalRecord::kChangePriority:
      return engine.ChangePriority(
          record.change_priority().call_id(),
          static_cast<routing::Priority>(record.change_priority().priority()), at);
    case v1::JournalRecord::kEndCall:
      return engine.EndCall(record.end_call().call_id(), record.end_call().reason(), at);
    case v1::JournalRecord::kTick:
      engine.Tick(at);
      return absl::OkStatus();
    case v1::JournalRecord::kNeverRoute:
      return engine.NeverRoute(record.never_route().counsellor_id(), record.never_route().call_id(),
                               record.never_route().caller_key(), at,
                               record.never_route().withdraws_offer());
    case v1::JournalRecord::kSetPolicy:
      return engine.SetPolicy(FromRecord(record.set_policy()), at);
    case v1::JournalRecord::kRestarted:
      return engine.Restarted(FromProto(record.restarted().at()), at,
                              routing::Millis(record.restarted().held_calls_grace_ms()),
                              record.restarted().due_by_timer(),
                              record.restarted().past_due_in_grace(),
                              record.restarted().retime_shortened_wait());
    case v1::JournalRecord::kSetOptions:
      return engine.SetOptions(FromRecord(record.set_options()), at);
    case v1::JournalRecord::INPUT_NOT_SET:
      break;
  }
  return absl::DataLossError("journal record without an input");
}

namespace {

void CallToRecord(const routing::CallEntry& call, v1::CallEntryRecord* r) {
  *r->mutable_info() = ToRecord(call.info);
  r->set_state(static_cast<v1::CallState>(call.state));
  r->set_step(call.step);
  r->set_admission_seq(call.admission_seq);
  r->set_in_queue(call.in_queue);
  r->set_counsellor_id(call.counsellor_id);
  for (const auto& id : call.tried) {
    r->add_tried(id);
  }
  r->set_expired(call.expired);
  r->set_generation(call.generation);
  *r->mutable_record() = RecordOfCall(call.record);
  r->set_ladder_generation(call.ladder_generation);
  r->set_preferred_counsellor(call.preferred_counsellor);
  *r->mutable_hold_until() = ToProto(call.hold_until);
  if (call.times_out_not_before != routing::Timestamp{}) {
    *r->mutable_times_out_not_before() = ToProto(call.times_out_not_before);
  }
  r->set_due_in_grace(call.due_in_grace);
}

// The snapshot of `state`, its live calls only if `with_calls`.
v1::EngineSnapshot Snapshot(const routing::EngineState& state, bool with_calls) {
  v1::EngineSnapshot s;
  *s.mutable_policy() = ToRecord(state.policy);
  if (state.options) {
    *s.mutable_options() = ToRecord(*state.options);
  }
  *s.mutable_now() = ToProto(state.now);
  s.set_next_seq(state.next_seq);
  for (const auto& c : state.counsellors) {
    auto* r = s.add_counsellors();
    *r->mutable_profile() = ToProto(c.profile);
    r->set_state(static_cast<v1::CounsellorState>(c.state));
    r->set_break_reason(static_cast<v1::BreakReason>(c.break_reason));
    *r->mutable_since() = ToProto(c.since);
    *r->mutable_idle_since() = ToProto(c.idle_since);
    r->set_call_id(c.call_id);
    r->set_desk_connected(c.desk_connected);
    r->set_desk_drops(c.desk_drops);
    r->set_missed_in_row(c.missed_in_row);
    r->set_generation(c.generation);
    r->set_calls_today(c.calls_today);
    r->set_calls_day(c.calls_day);
    r->set_last_offer_seq(c.last_offer_seq);
    r->set_heavy_in_row(c.heavy_in_row);
    *r->mutable_cool_down_until() = ToProto(c.cool_down_until);
  }
  if (with_calls) {
    for (const auto& call : state.calls) {
      CallToRecord(call, s.add_calls());
    }
  }
  for (const auto& t : state.timers) {
    auto* r = s.add_timers();
    *r->mutable_at() = ToProto(t.at);
    r->set_seq(t.seq);
    r->set_kind(static_cast<int>(t.kind));
    r->set_key(t.key);
    r->set_generation(t.generation);
  }
  for (routing::Millis m : state.recent_handling) {
    s.add_recent_handling_ms(m.count());
  }
  for (const auto& [key, contact] : state.contacts) {
    auto* r = s.add_last_contacts();
    r->set_caller_key(key);
    r->set_counsellor_id(contact.counsellor_id);
    *r->mutable_at() = ToProto(contact.answered_at);
    r->set_call_id(contact.call_id);
    r->set_category(contact.category);
  }
  for (const routing::OwedDisposition& owed : state.owed_dispositions) {
    auto* r = s.add_owed_dispositions();
    *r->mutable_since() = ToProto(owed.since);
    r->set_call_id(owed.call_id);
    r->set_counsellor_id(owed.counsellor_id);
    r->set_caller_key(owed.caller_key);
  }
  for (const auto& [call_id, key] : state.finished_callers) {
    auto* r = s.add_finished_callers();
    r->set_call_id(call_id);
    r->set_caller_key(key);
  }
  for (const routing::FinishedFate& fate : state.finished_fates) {
    auto* r = s.add_gateway_fates();
    r->set_call_id(fate.call_id);
    r->set_gateway_id(fate.gateway_id);
    r->set_outcome(static_cast<v1::CallOutcome>(fate.outcome));
    *r->mutable_finished_at() = ToProto(fate.finished_at);
    r->set_offer_callback(fate.offer_callback);
  }
  for (const auto& [counsellor, key] : state.never_route) {
    auto* r = s.add_never_route();
    r->set_counsellor_id(counsellor);
    r->set_call_id(key);  // Holds the caller key in a snapshot.
  }
  *s.mutable_next_contact_sweep() = ToProto(state.next_contact_sweep);
  *s.mutable_contacts_forgotten_through() = ToProto(state.contacts_forgotten_through);
  for (const auto& [at, id] : state.finished) {
    auto* r = s.add_finished();
    *r->mutable_at() = ToProto(at);
    r->set_call_id(id);
  }
  return s;
}

}  // namespace

v1::EngineSnapshot ToSnapshot(const routing::EngineState& state) { return Snapshot(state, true); }

std::string EncodeSnapshot(const routing::EngineState& state, const v1::FinishedInCalls& rows) {
  v1::EngineSnapshot head = Snapshot(state, false);
  *head.mutable_finished_in_calls() = rows;
  std::string bytes = head.SerializeAsString();
  v1::CallEntryRecord record;  // One call's at a time, its storage used again for the next.
  if (!state.calls.empty()) {
    // Room for every call at once, guessed from the first (before the streams below point into
    // the string): one allocation, not a string doubling as it grows.
    CallToRecord(state.calls.front(), &record);
    bytes.reserve(bytes.size() + state.calls.size() * (record.ByteSizeLong() * 5 / 4 + 16));
  }
  {
    // A message's fields may come in any order, and a repeated field's elements may be spread
    // over the bytes: the calls appended one by one parse as the same snapshot.
    google::protobuf::io::StringOutputStream out(&bytes);  // Appends.
    google::protobuf::io::CodedOutputStream coded(&out);
    // The calls field's tag, length-delimited (wire type 2).
    constexpr uint32_t kCallsTag = (v1::EngineSnapshot::kCallsFieldNumber << 3) | 2;
    for (const routing::CallEntry& call : state.calls) {
      record.Clear();
      CallToRecord(call, &record);
      coded.WriteTag(kCallsTag);
      coded.WriteVarint32(static_cast<uint32_t>(record.ByteSizeLong()));
      record.SerializeWithCachedSizes(&coded);
    }
  }
  return bytes;
}

routing::EngineState FromSnapshot(const v1::EngineSnapshot& s) {
  routing::EngineState state;
  // Snapshots from before policies were journaled carry none: they ran the defaults.
  state.policy = s.has_policy() ? FromRecord(s.policy()) : routing::Policy::Default();
  if (s.has_options()) {
    state.options = FromRecord(s.options());
  }
  state.now = FromProto(s.now());
  state.next_seq = s.next_seq();
  for (const auto& r : s.counsellors()) {
    routing::CounsellorEntry c;
    c.profile = FromRecord(r.profile());
    c.state = static_cast<routing::CounsellorState>(r.state());
    c.break_reason = static_cast<routing::BreakReason>(r.break_reason());
    c.since = FromProto(r.since());
    c.idle_since = FromProto(r.idle_since());
    c.call_id = r.call_id();
    c.desk_connected = r.desk_connected();
    c.desk_drops = r.desk_drops();
    c.missed_in_row = r.missed_in_row();
    c.generation = r.generation();
    c.calls_today = r.calls_today();
    c.calls_day = r.calls_day();
    c.last_offer_seq = r.last_offer_seq();
    c.heavy_in_row = r.heavy_in_row();
    c.cool_down_until = FromProto(r.cool_down_until());
    state.counsellors.push_back(std::move(c));
  }
  for (const auto& r : s.calls()) {
    routing::CallEntry call;
    call.info = FromRecord(r.info());
    call.state = static_cast<routing::CallState>(r.state());
    call.step = r.step();
    call.admission_seq = r.admission_seq();
    call.in_queue = r.in_queue();
    call.counsellor_id = r.counsellor_id();
    call.tried.insert(r.tried().begin(), r.tried().end());
    call.expired = r.expired();
    call.generation = r.generation();
    call.record = CallOfRecord(r.record());
    call.ladder_generation = r.ladder_generation();
    call.preferred_counsellor = r.preferred_counsellor();
    call.hold_until = FromProto(r.hold_until());
    if (r.has_times_out_not_before()) {
      call.times_out_not_before = FromProto(r.times_out_not_before());
    }
    call.due_in_grace = r.due_in_grace();
    state.calls.push_back(std::move(call));
  }
  for (const auto& r : s.timers()) {
    state.timers.push_back(routing::TimerEntry{FromProto(r.at()), r.seq(),
                                               static_cast<routing::TimerKind>(r.kind()), r.key(),
                                               r.generation()});
  }
  for (const auto& r : s.finished()) {
    state.finished.emplace_back(FromProto(r.at()), r.call_id());
  }
  for (int64_t ms : s.recent_handling_ms()) {
    state.recent_handling.push_back(routing::Millis(ms));
  }
  for (const auto& r : s.last_contacts()) {
    state.contacts.emplace_back(
        r.caller_key(), routing::Contact{r.call_id(), r.counsellor_id(), FromProto(r.at()),
                                         r.category()});
  }
  for (const auto& r : s.owed_dispositions()) {
    state.owed_dispositions.push_back(routing::OwedDisposition{
        FromProto(r.since()), r.call_id(), r.counsellor_id(), r.caller_key()});
  }
  for (const auto& r : s.finished_callers()) {
    state.finished_callers.emplace_back(r.call_id(), r.caller_key());
  }
  for (const auto& r : s.gateway_fates()) {
    state.finished_fates.push_back(
        routing::FinishedFate{r.call_id(), FromProto(r.finished_at()), r.gateway_id(),
                              static_cast<routing::Outcome>(r.outcome()), r.offer_callback()});
  }
  for (const auto& r : s.never_route()) {
    state.never_route.emplace_back(r.counsellor_id(), r.call_id());
  }
  state.next_contact_sweep = FromProto(s.next_contact_sweep());
  if (s.has_contacts_forgotten_through()) {
    state.contacts_forgotten_through = FromProto(s.contacts_forgotten_through());
  } else if (state.next_contact_sweep != routing::Timestamp{}) {
    // Written before it was kept: the last sweep ran an hour before the next, with this window.
    state.contacts_forgotten_through =
        state.next_contact_sweep - routing::Millis(3'600'000) - state.policy.repeat_window_ms;
  }
  return state;
}

std::string StateDigest(const routing::EngineState& state) {
  routing::EngineState copy = state;
  copy.now = {};
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);  // Map fields in key order.
    ToSnapshot(copy).SerializeToCodedStream(&coded);
  }
  unsigned char hash[16];
  crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size(), nullptr, 0);
  char hex[2 * sizeof hash + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  return hex;
}

}  // namespace hotline::daemon
