// Builders of desk events for the model and screen tests, at times given in seconds since a fixed
// moment, and a model loaded with the shipped taxonomy.
#pragma once

#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "clients/desk/desk_model.h"
#include "clients/desk/taxonomy.h"
#include "hotline/v1/desk.pb.h"

namespace hotline::clients::desk::testing {

namespace v1 = ::hotline::v1;

// 2025-06-02 10:00:00 UTC: every time in these tests is this plus some seconds.
inline constexpr int64_t kBaseSeconds = 1'748'858'400;

inline google::protobuf::Timestamp At(int64_t seconds) {
  return google::protobuf::util::TimeUtil::SecondsToTimestamp(kBaseSeconds + seconds);
}

inline TimePoint Time(double seconds) {
  return TimePoint(
      std::chrono::milliseconds(static_cast<int64_t>((kBaseSeconds + seconds) * 1000)));
}

inline Taxonomy ShippedTaxonomy() {
  absl::StatusOr<Taxonomy> taxonomy = LoadTaxonomy(HOTLINE_SOURCE_DIR "/deploy/taxonomy.toml");
  REQUIRE(taxonomy.ok());
  return *taxonomy;
}

inline DeskModel NewModel(Lang lang = Lang::kVi) {
  return DeskModel(ShippedTaxonomy(), lang, "127.0.0.1:50051");
}

inline v1::DeskEvent Presence(int64_t at, v1::CounsellorState state,
                              const std::string& call_id = "",
                              v1::BreakReason reason = v1::BREAK_REASON_UNSPECIFIED) {
  v1::DeskEvent event;
  *event.mutable_at() = At(at);
  v1::CounsellorStatus& status = *event.mutable_presence_changed()->mutable_status();
  status.set_counsellor_id("lan");
  status.set_display_name("Nguyễn Thị Lan");
  status.set_state(state);
  status.set_break_reason(reason);
  *status.mutable_since() = At(at);
  status.set_call_id(call_id);
  status.set_desk_connected(true);
  return event;
}

// An offer of `call_id` at `at` that arrived 20 s earlier and expires 15 s later.
inline v1::DeskEvent Offer(int64_t at, const std::string& call_id,
                           v1::Priority priority = v1::PRIORITY_NORMAL,
                           const std::string& province_name = "Thanh Hóa") {
  v1::DeskEvent event;
  *event.mutable_at() = At(at);
  v1::OfferEvent& offer = *event.mutable_offer();
  v1::CallSummary& call = *offer.mutable_call();
  call.set_call_id(call_id);
  call.set_caller_masked("**********78");
  call.set_province("38");
  call.set_province_name(province_name);
  call.set_language("vi");
  call.set_topic(v1::TOPIC_COUNSELLING);
  call.set_priority(priority);
  *call.mutable_arrived_at() = At(at - 20);
  *offer.mutable_expires_at() = At(at + 15);
  return event;
}

// Makes `offer` a repeat caller's: `contacts` calls, the last about `last`, and the recent ones
// `days_ago` (with you for the first), most recent first.
inline void RepeatCaller(v1::DeskEvent& offer, int contacts, v1::Category last,
                         std::initializer_list<double> days_ago) {
  offer.mutable_offer()->mutable_call()->set_repeat_caller(true);
  v1::CallerHistory& history = *offer.mutable_offer()->mutable_caller_history();
  history.set_contacts(contacts);
  history.set_spoke_with_you(true);
  history.set_last_category(last);
  for (double days : days_ago) {
    v1::PastContact& contact = *history.add_recent();
    *contact.mutable_answered_at() = At(static_cast<int64_t>(-days * 86400));
    contact.set_with_you(history.recent_size() == 1);
  }
}

inline v1::DeskEvent Connected(int64_t at, const std::string& call_id) {
  v1::DeskEvent event;
  *event.mutable_at() = At(at);
  event.mutable_call_connected()->set_call_id(call_id);
  return event;
}

inline v1::DeskEvent Ended(int64_t at, const std::string& call_id) {
  v1::DeskEvent event;
  *event.mutable_at() = At(at);
  event.mutable_call_ended()->set_call_id(call_id);
  event.mutable_call_ended()->set_outcome(v1::CALL_OUTCOME_COMPLETED);
  return event;
}

// Wrap-up of `call_id` from `at`, with `seconds` to record it.
inline v1::DeskEvent WrapUp(int64_t at, const std::string& call_id, int64_t seconds = 45) {
  v1::DeskEvent event;
  *event.mutable_at() = At(at);
  event.mutable_wrap_up_started()->set_call_id(call_id);
  *event.mutable_wrap_up_started()->mutable_deadline() = At(at + seconds);
  return event;
}

inline Key Char(char c) { return Key::Char(static_cast<char32_t>(c)); }
inline Key Press(Key::Kind kind) { return Key::Of(kind); }

}  // namespace hotline::clients::desk::testing
