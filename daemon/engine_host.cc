#include "daemon/engine_host.h"

#include <asio/post.hpp>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "daemon/convert.h"
#include "daemon/status.h"

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

}  // namespace

EngineHost::EngineHost(const Config& config, asio::io_context& io,
                       std::unique_ptr<storage::Store> store, const CallerKeyer& keyer,
                       const Clock& clock)
    : config_(config),
      io_(io),
      timer_(io),
      store_(std::move(store)),
      keyer_(keyer),
      clock_(clock),
      engine_(config.engine),
      // Command ids stay unique across restarts without remembering a counter.
      command_prefix_(absl::StrCat("cmd-", routing::ToUnixMillis(clock.Now()), "-")) {}

absl::Status EngineHost::Load() {
  auto stored = store_->LoadCounsellors();
  if (!stored.ok()) {
    return stored.status();
  }
  const routing::Timestamp now = clock_.Now();
  for (const auto& c : *stored) {
    if (absl::Status s = engine_.AddCounsellor(c.profile, now); !s.ok()) {
      return s;
    }
    counsellor_by_token_hash_[c.token_hash] = c.profile.id;
  }
  spdlog::info("loaded {} counsellors", stored->size());
  return absl::OkStatus();
}

void EngineHost::Post(std::function<void(EngineHost&)> fn) {
  asio::post(io_, [this, fn = std::move(fn)] { fn(*this); });
}

absl::Status EngineHost::Apply(
    const std::function<absl::Status(routing::Engine&, routing::Timestamp)>& input) {
  absl::Status status = input(engine_, clock_.Now());
  // Timers due before the input fire inside it, so there may be effects even on error.
  CarryOut(engine_.TakeEffects());
  ArmTimer();
  return status;
}

// --- Effects. ---

void EngineHost::CarryOut(const std::vector<routing::Effect>& effects) {
  if (effects.empty()) {
    return;
  }
  for (const routing::Effect& effect : effects) {
    std::visit(
        Overloaded{
            [&](const routing::OfferMade& e) {
              spdlog::info("offer call={} counsellor={} step={} eligible={} rule='{}'",
                           e.call.call_id, e.counsellor_id, e.step, e.eligible, e.rule);
              v1::DeskEvent ev = DeskEventAt(clock_.Now());
              *ev.mutable_offer()->mutable_call() = ToSummary(e.call);
              *ev.mutable_offer()->mutable_expires_at() = ToProto(e.expires_at);
              SendDesk(e.counsellor_id, std::move(ev));
            },
            [&](const routing::OfferRevoked& e) {
              v1::DeskEvent ev = DeskEventAt(clock_.Now());
              ev.mutable_offer_revoked()->set_call_id(e.call_id);
              ev.mutable_offer_revoked()->set_reason(ToProto(e.reason));
              SendDesk(e.counsellor_id, std::move(ev));
            },
            [&](const routing::ConnectRequested& e) {
              v1::Command cmd;
              cmd.set_call_id(e.call_id);
              cmd.mutable_connect()->set_counsellor_id(e.counsellor_id);
              cmd.mutable_connect()->set_endpoint(e.endpoint);
              SendCommand(e.gateway_id, std::move(cmd));
            },
            [&](const routing::PositionAnnounced& e) {
              v1::Command cmd;
              cmd.set_call_id(e.call_id);
              // No estimated wait yet: the estimator comes with the full routing engine.
              cmd.mutable_announce()->set_position(e.position);
              SendCommand(e.gateway_id, std::move(cmd));
            },
            [&](const routing::CallbackOffered& e) {
              v1::Command cmd;
              cmd.set_call_id(e.call_id);
              cmd.mutable_offer_callback();
              SendCommand(e.gateway_id, std::move(cmd));
            },
            [&](const routing::DeskCallConnected& e) {
              v1::DeskEvent ev = DeskEventAt(clock_.Now());
              ev.mutable_call_connected()->set_call_id(e.call_id);
              SendDesk(e.counsellor_id, std::move(ev));
            },
            [&](const routing::DeskCallEnded& e) {
              v1::DeskEvent ev = DeskEventAt(clock_.Now());
              ev.mutable_call_ended()->set_call_id(e.call_id);
              ev.mutable_call_ended()->set_outcome(ToProto(e.outcome));
              SendDesk(e.counsellor_id, std::move(ev));
            },
            [&](const routing::WrapUpStarted& e) {
              v1::DeskEvent ev = DeskEventAt(clock_.Now());
              ev.mutable_wrap_up_started()->set_call_id(e.call_id);
              *ev.mutable_wrap_up_started()->mutable_deadline() = ToProto(e.deadline);
              SendDesk(e.counsellor_id, std::move(ev));
            },
            [&](const routing::PresenceChanged& e) {
              if (absl::Status s = store_->RecordPresence(e.change); !s.ok()) {
                spdlog::error("recording presence of {}: {}", e.change.counsellor_id,
                              s.ToString());
              }
              auto view = engine_.FindCounsellor(e.change.counsellor_id);
              if (view) {
                v1::DeskEvent ev = DeskEventAt(e.change.at);
                *ev.mutable_presence_changed()->mutable_status() = ToProto(*view);
                // The view is the state after every effect of this input; report the state of
                // this change, so the desk sees each step in order.
                auto* status = ev.mutable_presence_changed()->mutable_status();
                status->set_state(static_cast<v1::CounsellorState>(e.change.state));
                status->set_break_reason(static_cast<v1::BreakReason>(e.change.reason));
                status->set_call_id(e.change.call_id);
                *status->mutable_since() = ToProto(e.change.at);
                SendDesk(e.change.counsellor_id, std::move(ev));
              }
            },
            [&](const routing::CallFinished& e) {
              const routing::CallRecord& r = e.record;
              spdlog::info("call {} finished: {} counsellor={} offers={}", r.call.call_id,
                           routing::Name(r.outcome), r.counsellor_id, r.offers);
              if (r.outcome == routing::Outcome::kCompleted) {
                ++answered_today_;
              } else if (r.outcome == routing::Outcome::kAbandoned) {
                ++abandoned_today_;
              }
              if (absl::Status s = store_->RecordCall(r); !s.ok()) {
                spdlog::error("recording call {}: {}", r.call.call_id, s.ToString());
              }
            },
        },
        effect);
  }
  PublishView();
}

void EngineHost::SendCommand(const std::string& gateway_id, v1::Command command) {
  command.set_command_id(absl::StrCat(command_prefix_, next_command_++));
  auto it = gateways_.find(gateway_id);
  if (it == gateways_.end()) {
    // The gateway will reconcile its calls when it reconnects.
    spdlog::warn("gateway '{}' is not connected: command {} for call {} not delivered",
                 gateway_id, command.command_id(), command.call_id());
    return;
  }
  commands_[command.command_id()] = PendingCommand{command.call_id(), command.kind_case()};
  v1::HotlineMessage msg;
  *msg.mutable_command() = std::move(command);
  it->second->Send(std::move(msg));
}

void EngineHost::SendDesk(const std::string& counsellor_id, v1::DeskEvent event) {
  auto it = desks_.find(counsellor_id);
  if (it != desks_.end()) {
    it->second->Send(std::move(event));
  }
}

v1::QueueView EngineHost::View() {
  const routing::Timestamp now = clock_.Now();
  v1::QueueView view;
  view.set_sequence(++view_sequence_);
  *view.mutable_at() = ToProto(now);
  int waiting = 0;
  routing::Millis longest{0};
  for (const auto& call : engine_.Calls()) {
    *view.add_calls() = ToProto(call, now);
    if (call.state == routing::CallState::kWaiting) {
      ++waiting;
      longest = std::max(longest, now - call.info.arrived_at);
    }
  }
  int available = 0;
  for (const auto& c : engine_.Counsellors()) {
    *view.add_counsellors() = ToProto(c);
    available += c.state == routing::CounsellorState::kAvailable ? 1 : 0;
  }
  auto* figures = view.mutable_figures();
  figures->set_waiting(waiting);
  figures->set_available_counsellors(available);
  *figures->mutable_longest_wait() = ToProtoDuration(longest);
  figures->set_answered_today(answered_today_);
  figures->set_abandoned_today(abandoned_today_);
  return view;
}

void EngineHost::PublishView() {
  if (watchers_.empty()) {
    return;
  }
  const v1::QueueView view = View();
  for (const auto& w : watchers_) {
    w->Send(view);
  }
}

// --- Time. ---

void EngineHost::ArmTimer() {
  if (stopping_) {
    return;
  }
  const std::optional<routing::Timestamp> next = engine_.NextDeadline();
  if (next == armed_for_) {
    return;
  }
  armed_for_ = next;
  if (!next) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*next);
  timer_.async_wait([this](const std::error_code& ec) {
    if (ec) {
      return;  // Re-armed or cancelled.
    }
    armed_for_.reset();
    OnTimer();
  });
}

void EngineHost::OnTimer() {
  // The clock may read a hair before the deadline the timer was set for; the engine needs the
  // deadline itself to have passed.
  const routing::Timestamp now = std::max(clock_.Now(), engine_.NextDeadline().value_or(
                                                            routing::Timestamp{}));
  engine_.Tick(now);
  CarryOut(engine_.TakeEffects());
  ArmTimer();
}

// --- Gateways. ---

void EngineHost::GatewayHello(std::shared_ptr<GatewayStream> stream, const v1::Hello& hello) {
  auto& slot = gateways_[hello.gateway_id()];
  if (slot != nullptr && slot != stream) {
    slot->Close(grpc::Status(grpc::StatusCode::ABORTED,
                             "replaced by a newer stream for the same gateway_id"));
  }
  slot = stream;
  spdlog::info("gateway '{}' connected, holding {} calls", hello.gateway_id(),
               hello.held_calls_size());
  v1::HotlineMessage msg;
  msg.mutable_welcome()->set_gateway_id(hello.gateway_id());
  stream->Send(std::move(msg));
}

void EngineHost::GatewayEvent(std::shared_ptr<GatewayStream> stream, const v1::CallEvent& event) {
  const absl::Status status = HandleEvent(*stream, event);
  if (!status.ok()) {
    spdlog::warn("gateway '{}' event {} refused: {}", stream->gateway_id, event.event_id(),
                 status.ToString());
  }
  v1::HotlineMessage msg;
  msg.mutable_ack()->set_event_id(event.event_id());
  msg.mutable_ack()->set_code(static_cast<int>(status.code()));
  msg.mutable_ack()->set_message(std::string(status.message()));
  stream->Send(std::move(msg));
}

absl::Status EngineHost::HandleEvent(const GatewayStream& stream, const v1::CallEvent& event) {
  const std::string& call_id = event.call_id();
  switch (event.kind_case()) {
    case v1::CallEvent::kArrived: {
      auto info = ParseArrival(event.arrived());
      if (!info.ok()) {
        return info.status();
      }
      // The raw number stops here: only its keyed hash and masked form go on.
      info->caller_key = keyer_.Key(event.arrived().caller_number());
      info->caller_masked = CallerKeyer::Mask(event.arrived().caller_number());
      info->call_id = call_id;
      info->gateway_id = stream.gateway_id;
      return Apply([&](routing::Engine& e, routing::Timestamp now) {
        info->arrived_at = now;
        return e.CallArrived(*info, now);
      });
    }
    case v1::CallEvent::kCallerHungUp:
      return Apply([&](routing::Engine& e, routing::Timestamp now) {
        return e.CallerHungUp(call_id, now);
      });
    case v1::CallEvent::kConnected:
      return Apply([&](routing::Engine& e, routing::Timestamp now) {
        return e.CallConnected(call_id, now);
      });
    case v1::CallEvent::kEnded:
      return Apply(
          [&](routing::Engine& e, routing::Timestamp now) { return e.CallEnded(call_id, now); });
    case v1::CallEvent::kFailed:
      return Apply([&](routing::Engine& e, routing::Timestamp now) {
        return e.CallFailed(call_id, event.failed().reason(), now);
      });
    case v1::CallEvent::kCallbackRequested:
      return Apply([&](routing::Engine& e, routing::Timestamp now) {
        return e.CallbackRequested(call_id, now);
      });
    case v1::CallEvent::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("event.kind: is required");
}

void EngineHost::GatewayCommandResult(std::shared_ptr<GatewayStream> stream,
                                      const v1::CommandResult& result) {
  auto it = commands_.find(result.command_id());
  if (it == commands_.end()) {
    spdlog::warn("gateway '{}' answered unknown command '{}'", stream->gateway_id,
                 result.command_id());
    return;
  }
  const PendingCommand command = it->second;
  commands_.erase(it);
  if (command.kind != v1::Command::kConnect || result.has_done()) {
    return;
  }
  const std::string reason = result.has_unreachable()
                                 ? absl::StrCat("unreachable: ", result.unreachable().reason())
                                 : absl::StrCat("connect failed: ", result.error().reason());
  const absl::Status s = Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.ConnectFailed(command.call_id, reason, now);
  });
  if (!s.ok()) {
    spdlog::warn("connect result for call {}: {}", command.call_id, s.ToString());
  }
}

void EngineHost::GatewayClosed(std::shared_ptr<GatewayStream> stream) {
  auto it = gateways_.find(stream->gateway_id);
  if (it != gateways_.end() && it->second == stream) {
    gateways_.erase(it);
    spdlog::info("gateway '{}' disconnected", stream->gateway_id);
  }
}

// --- Desks. ---

absl::StatusOr<std::string> EngineHost::CounsellorFor(const std::string& token) const {
  if (!token.empty()) {
    auto it = counsellor_by_token_hash_.find(TokenHash(token));
    if (it != counsellor_by_token_hash_.end()) {
      return it->second;
    }
  }
  return absl::UnauthenticatedError("authorization: no valid counsellor bearer token");
}

void EngineHost::DeskOpened(std::shared_ptr<DeskStream> stream, const std::string& token) {
  auto id = CounsellorFor(token);
  if (!id.ok()) {
    stream->Close(ToGrpc(id.status()));
    return;
  }
  stream->principal = *id;
  auto& slot = desks_[*id];
  if (slot != nullptr && slot != stream) {
    slot->Close(grpc::Status(grpc::StatusCode::ABORTED, "replaced by a newer desk"));
  }
  slot = stream;
  const absl::Status s = Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.DeskConnected(*id, now);
  });
  if (!s.ok()) {
    stream->Close(ToGrpc(s));
    desks_.erase(*id);
    return;
  }
  spdlog::info("desk of '{}' connected", *id);
  v1::DeskEvent ev = DeskEventAt(clock_.Now());
  *ev.mutable_presence_changed()->mutable_status() = ToProto(*engine_.FindCounsellor(*id));
  stream->Send(std::move(ev));
}

void EngineHost::DeskClosed(std::shared_ptr<DeskStream> stream) {
  auto it = desks_.find(stream->principal);
  if (it == desks_.end() || it->second != stream) {
    return;  // Never signed in, or already replaced.
  }
  desks_.erase(it);
  spdlog::info("desk of '{}' disconnected", stream->principal);
  const absl::Status s = Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.DeskDisconnected(stream->principal, now);
  });
  if (!s.ok()) {
    spdlog::warn("desk of '{}' closing: {}", stream->principal, s.ToString());
  }
}

absl::StatusOr<v1::CounsellorStatus> EngineHost::SetPresence(const std::string& counsellor_id,
                                                             routing::CounsellorState state,
                                                             routing::BreakReason reason) {
  const absl::Status s = Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.SetPresence(counsellor_id, state, reason, now);
  });
  if (!s.ok()) {
    return s;
  }
  return ToProto(*engine_.FindCounsellor(counsellor_id));
}

absl::Status EngineHost::AnswerOffer(const std::string& counsellor_id, const std::string& call_id,
                                     bool accept) {
  return Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.AnswerOffer(counsellor_id, call_id, accept, now);
  });
}

absl::StatusOr<v1::CounsellorStatus> EngineHost::SubmitDisposition(
    const std::string& counsellor_id, const std::string& call_id, const routing::Disposition& d,
    bool ready_for_next) {
  const absl::Status s = Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.SubmitDisposition(counsellor_id, call_id, d, ready_for_next, now);
  });
  if (!s.ok()) {
    return s;
  }
  return ToProto(*engine_.FindCounsellor(counsellor_id));
}

// --- Supervisors. ---

void EngineHost::WatchOpened(std::shared_ptr<QueueWatch> stream) {
  watchers_.insert(stream);
  stream->Send(View());
}

void EngineHost::WatchClosed(std::shared_ptr<QueueWatch> stream) { watchers_.erase(stream); }

absl::StatusOr<v1::CallStatus> EngineHost::ChangePriority(const std::string& call_id,
                                                          routing::Priority priority) {
  const absl::Status s = Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.ChangePriority(call_id, priority, now);
  });
  if (!s.ok()) {
    return s;
  }
  auto view = engine_.FindCall(call_id);
  if (!view) {
    return absl::NotFoundError(absl::StrCat("call '", call_id, "' ended"));
  }
  return ToProto(*view, clock_.Now());
}

// --- Administrators. ---

absl::StatusOr<v1::CreateCounsellorResponse> EngineHost::CreateCounsellor(
    const routing::CounsellorProfile& profile) {
  if (engine_.FindCounsellor(profile.id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("counsellor.counsellor_id: '", profile.id, "' already exists"));
  }
  const std::string token = NewToken();
  const std::string hash = TokenHash(token);
  // The database first: a counsellor the engine knows but the database lost would vanish on
  // restart.
  if (absl::Status s = store_->InsertCounsellor({profile, hash}); !s.ok()) {
    return s;
  }
  if (absl::Status s = Apply([&](routing::Engine& e, routing::Timestamp now) {
        return e.AddCounsellor(profile, now);
      });
      !s.ok()) {
    return s;
  }
  counsellor_by_token_hash_[hash] = profile.id;
  spdlog::info("counsellor '{}' created", profile.id);
  v1::CreateCounsellorResponse response;
  *response.mutable_counsellor() = ToProto(profile);
  response.set_token(token);
  return response;
}

absl::Status EngineHost::UpdateCounsellor(const routing::CounsellorProfile& profile) {
  if (!engine_.FindCounsellor(profile.id)) {
    return absl::NotFoundError(absl::StrCat("counsellor '", profile.id, "' not found"));
  }
  if (absl::Status s = store_->UpdateCounsellor(profile); !s.ok()) {
    return s;
  }
  return Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.UpdateCounsellor(profile, now);
  });
}

absl::Status EngineHost::RemoveCounsellor(const std::string& counsellor_id) {
  auto view = engine_.FindCounsellor(counsellor_id);
  if (!view) {
    return absl::NotFoundError(absl::StrCat("counsellor '", counsellor_id, "' not found"));
  }
  if (view->state != routing::CounsellorState::kOffline || view->desk_connected) {
    return absl::FailedPreconditionError(absl::StrCat(
        "counsellor '", counsellor_id, "' is signed in; sign them out first"));
  }
  if (absl::Status s = store_->RemoveCounsellor(counsellor_id); !s.ok()) {
    return s;
  }
  for (auto it = counsellor_by_token_hash_.begin(); it != counsellor_by_token_hash_.end();) {
    it = it->second == counsellor_id ? counsellor_by_token_hash_.erase(it) : std::next(it);
  }
  return Apply([&](routing::Engine& e, routing::Timestamp now) {
    return e.RemoveCounsellor(counsellor_id, now);
  });
}

v1::ListCounsellorsResponse EngineHost::ListCounsellors() const {
  v1::ListCounsellorsResponse response;
  for (const auto& c : engine_.Counsellors()) {
    *response.add_counsellors() = ToProto(c.profile);
    *response.add_statuses() = ToProto(c);
  }
  return response;
}

void EngineHost::CloseAll(const grpc::Status& status) {
  for (auto& [id, desk] : desks_) {
    desk->Close(status);
  }
  for (auto& [id, gateway] : gateways_) {
    gateway->Close(status);
  }
  for (const auto& w : watchers_) {
    w->Close(status);
  }
  stopping_ = true;
  timer_.cancel();
  armed_for_.reset();
}

}  // namespace hotline::daemon
