#include "daemon/effects.h"

#include "daemon/convert.h"

#include <absl/strings/ascii.h>

namespace hotline::daemon {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

v1::DeskEvent DeskEventAt(routing::Timestamp at) {
  v1::DeskEvent e;
  *e.mutable_at() = ToProto(at);
  return e;
}

// The enum value of a routing category name ("sexual_abuse"); UNSPECIFIED when unknown.
v1::Category CategoryFromName(const std::string& name) {
  v1::Category category = v1::CATEGORY_UNSPECIFIED;
  if (!v1::Category_Parse("CATEGORY_" + absl::AsciiStrToUpper(name), &category)) {
    return v1::CATEGORY_UNSPECIFIED;
  }
  return category;
}

// What `counsellor_id`'s desk is told of a repeat caller's earlier calls (`contacts`, oldest
// first).
v1::CallerHistory ToHistory(const std::vector<routing::Contact>& contacts,
                            const std::string& counsellor_id) {
  constexpr int kRecentShown = 5;
  v1::CallerHistory h;
  h.set_contacts(static_cast<int32_t>(contacts.size()));
  for (auto it = contacts.rbegin(); it != contacts.rend(); ++it) {
    const bool with_you = it->counsellor_id == counsellor_id;
    h.set_spoke_with_you(h.spoke_with_you() || with_you);
    const v1::Category category =
        it->category.empty() ? v1::CATEGORY_UNSPECIFIED : CategoryFromName(it->category);
    if (h.last_category() == v1::CATEGORY_UNSPECIFIED) {
      h.set_last_category(category);
    }
    if (h.recent_size() < kRecentShown) {
      v1::PastContact* past = h.add_recent();
      *past->mutable_answered_at() = ToProto(it->answered_at);
      past->set_with_you(with_you);
      past->set_category(category);
    }
  }
  return h;
}

}  // namespace

std::string RevokeName(routing::RevokeReason r) {
  switch (r) {
    case routing::RevokeReason::kTimedOut:
      return "timed_out";
    case routing::RevokeReason::kCallerHungUp:
      return "caller_hung_up";
    case routing::RevokeReason::kDeclined:
      return "declined";
    case routing::RevokeReason::kWithdrawn:
      return "withdrawn";
  }
  return "";
}

Translation Translate(const std::vector<routing::Effect>& effects, routing::Timestamp at,
                      const routing::Engine& engine) {
  Translation out;
  auto desk = [&](const std::string& counsellor_id, v1::DeskEvent event) {
    out.messages.emplace_back(DeskMessage{counsellor_id, std::move(event)});
  };
  auto command = [&](const std::string& gateway_id, v1::Command cmd) {
    out.messages.emplace_back(GatewayCommand{gateway_id, std::move(cmd)});
  };
  // An effect's own decision time when it has one (a timer's deadline), else the input's.
  auto when = [&](routing::Timestamp own) { return own == routing::Timestamp{} ? at : own; };
  auto ms = [&](routing::Timestamp own) { return routing::ToUnixMillis(when(own)); };
  for (const routing::Effect& effect : effects) {
    std::visit(Overloaded{
                   [&](const routing::OfferMade& e) {
                     out.offers.emplace_back(storage::OfferRow{
                         e.call.call_id, e.counsellor_id, ms(e.at), e.step,
                         std::string(routing::Name(e.scope)), e.eligible, e.rule, "", 0});
                     v1::DeskEvent ev = DeskEventAt(when(e.at));
                     *ev.mutable_offer()->mutable_call() = ToSummary(e.call, &engine.regions());
                     *ev.mutable_offer()->mutable_expires_at() = ToProto(e.expires_at);
                     if (!e.history.empty()) {
                       *ev.mutable_offer()->mutable_caller_history() =
                           ToHistory(e.history, e.counsellor_id);
                     }
                     desk(e.counsellor_id, std::move(ev));
                   },
                   [&](const routing::OfferRevoked& e) {
                     out.offers.emplace_back(storage::OfferResult{e.call_id, e.counsellor_id,
                                                                  RevokeName(e.reason), ms(e.at)});
                     v1::DeskEvent ev = DeskEventAt(when(e.at));
                     ev.mutable_offer_revoked()->set_call_id(e.call_id);
                     ev.mutable_offer_revoked()->set_reason(ToProto(e.reason));
                     desk(e.counsellor_id, std::move(ev));
                   },
                   [&](const routing::ConnectRequested& e) {
                     out.offers.emplace_back(
                         storage::OfferResult{e.call_id, e.counsellor_id, "accepted", ms(e.at)});
                     v1::Command cmd;
                     cmd.set_call_id(e.call_id);
                     cmd.mutable_connect()->set_counsellor_id(e.counsellor_id);
                     cmd.mutable_connect()->set_endpoint(e.endpoint);
                     command(e.gateway_id, std::move(cmd));
                   },
                   [&](const routing::PositionAnnounced& e) {
                     v1::Command cmd;
                     cmd.set_call_id(e.call_id);
                     cmd.mutable_announce()->set_position(e.position);
                     if (e.estimated_wait) {
                       *cmd.mutable_announce()->mutable_estimated_wait() =
                           ToProtoDuration(*e.estimated_wait);
                     }
                     command(e.gateway_id, std::move(cmd));
                   },
                   [&](const routing::CallbackOffered& e) {
                     v1::Command cmd;
                     cmd.set_call_id(e.call_id);
                     cmd.mutable_offer_callback();
                     command(e.gateway_id, std::move(cmd));
                   },
                   [&](const routing::DeskCallConnected& e) {
                     v1::DeskEvent ev = DeskEventAt(at);
                     ev.mutable_call_connected()->set_call_id(e.call_id);
                     desk(e.counsellor_id, std::move(ev));
                   },
                   [&](const routing::DeskCallEnded& e) {
                     v1::DeskEvent ev = DeskEventAt(at);
                     ev.mutable_call_ended()->set_call_id(e.call_id);
                     ev.mutable_call_ended()->set_outcome(ToProto(e.outcome));
                     desk(e.counsellor_id, std::move(ev));
                   },
                   [&](const routing::WrapUpStarted& e) {
                     v1::DeskEvent ev = DeskEventAt(at);
                     ev.mutable_wrap_up_started()->set_call_id(e.call_id);
                     *ev.mutable_wrap_up_started()->mutable_deadline() = ToProto(e.deadline);
                     desk(e.counsellor_id, std::move(ev));
                   },
                   [&](const routing::PresenceChanged& e) {
                     out.presence.push_back(e.change);
                     // In place, not FindCounsellor's copy of the whole profile: this runs
                     // for every change of every counsellor (issue 11).
                     const routing::CounsellorEntry* c =
                         engine.PeekCounsellor(e.change.counsellor_id);
                     if (c == nullptr) {
                       return;  // Removed: nobody to tell.
                     }
                     // The entry is the state after every effect of this input; report the state
                     // of this change, so the desk sees each step in order.
                     v1::DeskEvent ev = DeskEventAt(e.change.at);
                     auto* status = ev.mutable_presence_changed()->mutable_status();
                     *status = ToProto(*c);
                     status->set_state(static_cast<v1::CounsellorState>(e.change.state));
                     status->set_break_reason(static_cast<v1::BreakReason>(e.change.reason));
                     status->set_call_id(e.change.call_id);
                     *status->mutable_since() = ToProto(e.change.at);
                     desk(e.change.counsellor_id, std::move(ev));
                   },
                   [&](const routing::CallFinished& e) { out.calls.push_back(e.record); },
                   [&](const routing::DispositionLate& e) {
                     out.late_dispositions.push_back(storage::LateDisposition{
                         e.call_id, e.counsellor_id, e.disposition, ms(e.at)});
                   },
               },
               effect);
  }
  return out;
}

}  // namespace hotline::daemon
