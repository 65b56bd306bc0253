// The crash test's telephony gateway: it makes the calls, holds them "on a line", answers
// Hotline's commands as a real gateway does, and follows the reconciliation contract of
// proto/hotline/v1/gateway.proto across every dropped stream and daemon restart:
//  1. every Hello lists each call still on a line or whose final event is unacknowledged, and
//     for which no final command (offer_callback, reject) was carried out;
//  2. it checks the Welcome: one result per listed call, in order; FINISHED calls are forgotten
//     (their command carried out and answered), REFUSED ones are a failure;
//  4. then it resends every unacknowledged event with the same event_id, oldest first; a final
//     event acknowledged "had already finished" is fine.
// Whatever breaks the contract is reported in GatewayReport::contract_failures.
//
// The main thread can send it away (GoAway: the stream drops and it stays disconnected) and
// bring it back (ComeBack), naming the calls whose maximum wait passed meanwhile: the Welcome
// must report each FINISHED, TIMED_OUT, with an offer_callback command.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/crash/support.h"
#include "tests/testing/clients.h"

namespace hotline::crash {

// "TIMED_OUT" for CALL_OUTCOME_TIMED_OUT.
inline std::string OutcomeName(v1::CallOutcome o) {
  const std::string name = v1::CallOutcome_Name(o);
  return name.rfind("CALL_OUTCOME_", 0) == 0 ? name.substr(13) : name;
}

// What the gateway saw, for the report and the checks.
struct GatewayReport {
  // Calls Hotline acknowledged having, with their arrival sequence number (1, 2, ...: the order
  // the gateway made them): an arrival answered OK (or ALREADY_EXISTS after a Hello listed the
  // call), or a call a Welcome answered LIVE, ADMITTED or FINISHED.
  std::map<std::string, int> acknowledged;
  // Calls whose final event was acknowledged OK: Hotline must not bring them back.
  std::set<std::string> ended_acknowledged;
  // Calls Hotline sent a command for after their end had been acknowledged.
  std::set<std::string> commanded_after_end;
  // Calls Hotline told the gateway to connect to a second counsellor while the first one was
  // still talking to the caller, e.g. "crash-call-0007 (crash-c1, then crash-c2)".
  std::vector<std::string> connected_twice;
  // Every call the gateway made, by id, with its sequence number.
  std::map<std::string, int> seq_of;
  int arrivals = 0;
  // Arrivals answered ALREADY_EXISTS after the call had been listed in a Hello: Hotline admitted
  // it from the Hello, which acknowledges it as well.
  int reconciled = 0;
  int events_sent = 0;
  int events_resent = 0;
  int unacked = 0;
  int sessions = 0;
  // How its calls ended for it: "ended", "hung up", "timed out", "finished on hello (...)", ...
  std::map<std::string, int> finished;
  // The same, by call.
  std::map<std::string, std::string> ending_of;
  // Non-final events answered with an error, by code.
  std::map<std::string, int> other_refusals;

  // The reconciliation contract.
  int welcomes = 0;
  std::map<std::string, int> fates;  // "LIVE", "ADMITTED", "FINISHED TIMED_OUT", ...
  // Welcome results FINISHED, TIMED_OUT, with an offer_callback command ...
  int timed_out_on_hello = 0;
  // ... of which the database showed the call timed out while the gateway was away.
  int timed_out_while_away = 0;
  // Final events acknowledged OK with "had already finished".
  int already_finished_acks = 0;
  // What broke the contract, one line each.
  std::vector<std::string> contract_failures;
};

// One telephony gateway, "crash-gw", over one stream at a time. Generates kLoadDuration's worth
// of arrivals on its scheduler thread; its session thread (re)connects, sends the Hello, checks
// the Welcome, resends every unacknowledged event in order, and handles acks and commands.
// Every write to the stream and every change to the model happens under mu_, so events go out
// in the order they were made. Thread-safe.
class Gateway {
 public:
  Gateway(const Target& target, int calls, uint32_t seed)
      : target_(target),
        calls_(calls),
        mean_gap_ms_(static_cast<double>(kLoadDuration.count()) / std::max(calls, 1)),
        rng_(seed),
        backoff_seed_(rng_()) {}
  ~Gateway() { Stop(); }
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  void Start() {
    session_thread_ = std::thread([this] { SessionLoop(); });
    scheduler_.At(SteadyClock::now(), [this] { Arrive(); });
  }

  void Stop() {
    stop_.Set();
    scheduler_.Stop();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      if (session_ != nullptr) {
        session_->Cancel();
      }
    }
    cv_.notify_all();
    if (session_thread_.joinable()) {
      session_thread_.join();
    }
  }

  // Drops the stream and stays disconnected until ComeBack. Returns once no session is open;
  // false if one is still open at `deadline`.
  bool GoAway(SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    away_ = true;
    if (session_ != nullptr) {
      session_->Cancel();
    }
    return cv_.wait_until(lock, deadline, [&] { return !in_session_; });
  }

  // Reconnects after GoAway. The Welcome must answer every call of `timed_out` FINISHED,
  // TIMED_OUT, with an offer_callback command; those also in `while_away` are counted as timed
  // out while the gateway was away. Returns once a Welcome was handled; false at `deadline`.
  bool ComeBack(std::set<std::string> timed_out, std::set<std::string> while_away,
                SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    expect_timed_out_ = std::move(timed_out);
    while_away_ = std::move(while_away);
    away_ = false;
    const int welcomes = report_.welcomes;
    cv_.notify_all();
    return cv_.wait_until(lock, deadline, [&] { return report_.welcomes > welcomes; });
  }

  // The calls the next Hello will list.
  std::set<std::string> Held() const {
    std::lock_guard lock(mu_);
    std::set<std::string> held;
    for (const auto& [id, call] : model_) {
      if (call.phase != Phase::kOver) {
        held.insert(id);
      }
    }
    return held;
  }

  // Waits until `n` arrivals have been made (or all of them, or the deadline).
  void WaitForArrivals(int n, SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return next_call_ >= std::min(n, calls_); });
  }

  // Waits until the daemon says anything to this gateway, or `timeout` passes.
  void AwaitNews(Millis timeout) const {
    std::unique_lock lock(mu_);
    const uint64_t heard = heard_;
    cv_.wait_for(lock, timeout, [&] { return heard_ != heard; });
  }

  // Waits until every arrival has been made and every event acknowledged. False at the deadline.
  bool WaitUntilSettled(SteadyClock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return next_call_ >= calls_ && pending_.empty(); });
  }

  GatewayReport Report() const {
    std::lock_guard lock(mu_);
    GatewayReport r = report_;
    r.unacked = static_cast<int>(pending_.size());
    for (const auto& [id, call] : model_) {
      r.seq_of[id] = call.seq;
    }
    return r;
  }

  // Every caller number it used, digits only (for the disk scan; never printed).
  std::vector<std::string> CallerDigits() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, call] : model_) {
      out.push_back(call.arrived.caller_number().substr(1));
    }
    return out;
  }

  // A one-line picture for the killer's log.
  std::string Brief() const {
    std::lock_guard lock(mu_);
    int held = 0;
    for (const auto& [id, call] : model_) {
      held += call.phase != Phase::kOver ? 1 : 0;
    }
    std::ostringstream os;
    os << "arrivals=" << next_call_ << " acknowledged=" << report_.acknowledged.size()
       << " held=" << held << " unacked=" << pending_.size();
    return os.str();
  }

 private:
  // kEnding: its final event (hang-up, callback request, end) is sent but not acknowledged.
  enum class Phase { kWaiting, kTalking, kEnding, kOver };

  struct Call {
    int seq = 0;
    v1::CallArrived arrived;
    google::protobuf::Timestamp arrived_at;
    Phase phase = Phase::kWaiting;
    std::string counsellor_id;  // Who the caller talks (or talked) to.
    std::string ending;         // kEnding: how it ends once the final event is acknowledged.
    bool listed_in_hello = false;
  };

  struct Pending {
    v1::CallEvent event;
    bool written = false;  // Written on some stream: the next one resends it.
    bool resent = false;
  };

  void SessionLoop() {
    std::mt19937 backoff_rng(backoff_seed_);
    while (true) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !away_ || stopping_; });
        if (stopping_) {
          return;
        }
      }
      RunSession();
      if (!stop_.SleepFor(Millis(Uniform(backoff_rng, 50, 200)))) {
        return;
      }
    }
  }

  void RunSession() {
    const auto channel = target_.NewChannel();
    std::unique_ptr<testing::GatewayConnection> conn;
    std::vector<std::string> listed;
    {
      std::lock_guard lock(mu_);
      if (stopping_ || away_) {
        return;
      }
      // Rule 1: every call still on a line or whose final event is unacknowledged.
      v1::Hello hello = testing::HelloFor(kGatewayId);
      for (auto& [id, call] : model_) {
        if (call.phase == Phase::kOver) {
          continue;
        }
        auto* held = hello.add_held_calls();
        held->set_call_id(id);
        *held->mutable_arrived() = call.arrived;
        *held->mutable_arrived_at() = call.arrived_at;
        call.listed_in_hello = true;
        listed.push_back(id);
      }
      conn = std::make_unique<testing::GatewayConnection>(channel, kGatewayToken, hello);
      session_ = conn.get();
      in_session_ = true;
    }
    bool ended = false;  // The end marker was taken from the inbox.
    if (conn->hello_written() && AwaitWelcome(*conn, listed, ended)) {
      while (!ended) {
        auto msg = conn->inbox.Pop(1s);
        if (!msg) {
          continue;  // Stop and GoAway cancel the stream, so the end marker comes.
        }
        if (testing::IsEndOfStream(*msg)) {
          ended = true;
          break;
        }
        OnMessage(*conn, *msg);
      }
    }
    {
      std::lock_guard lock(mu_);
      live_ = nullptr;
      session_ = nullptr;
      in_session_ = false;
    }
    cv_.notify_all();
    conn->Cancel();
    while (!ended) {
      auto msg = conn->inbox.Pop(1s);
      ended = msg && testing::IsEndOfStream(*msg);
    }
    Debug("gateway: stream ended: ", Describe(conn->Finish()));
  }

  // Reads up to the Welcome and handles it (rule 2), then resends what is unacknowledged (rule
  // 4) and makes the stream the live one. False when the stream ended or no Welcome came.
  bool AwaitWelcome(testing::GatewayConnection& conn, const std::vector<std::string>& listed,
                    bool& ended) {
    const auto deadline = SteadyClock::now() + kWelcomeDeadline;
    while (true) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now());
      auto msg = conn.inbox.Pop(std::max(left, Millis(0)));
      if (!msg) {
        std::lock_guard lock(mu_);
        Fail("no Welcome within " + std::to_string(kWelcomeDeadline.count()) + " ms of the Hello");
        return false;
      }
      if (testing::IsEndOfStream(*msg)) {
        ended = true;
        return false;  // Killed or cancelled before it answered: the next session asks again.
      }
      if (!msg->has_welcome()) {
        std::lock_guard lock(mu_);
        Fail(std::string("a message came before the Welcome: ") +
             (msg->has_ack() ? "an ack" : "a command"));
        continue;
      }
      std::lock_guard lock(mu_);
      OnWelcome(conn, listed, msg->welcome());
      for (auto& [seq, pending] : pending_) {
        v1::GatewayMessage out;
        *out.mutable_event() = pending.event;
        if (!conn.Write(out)) {
          break;  // The stream broke: the next session resends.
        }
        if (pending.written) {
          pending.resent = true;
          ++report_.events_resent;
        }
        pending.written = true;
      }
      live_ = &conn;
      ++report_.sessions;
      ++heard_;
      cv_.notify_all();
      Debug("gateway: session ", report_.sessions, " open, held=", listed.size(),
            " unacked events written=", pending_.size());
      return true;
    }
  }

  // REQUIRES: mu_ held.
  void OnWelcome(testing::GatewayConnection& conn, const std::vector<std::string>& listed,
                 const v1::Welcome& welcome) {
    ++report_.welcomes;
    if (welcome.gateway_id() != kGatewayId) {
      Fail("the Welcome names gateway '" + welcome.gateway_id() + "'");
    }
    if (welcome.held_calls_size() != static_cast<int>(listed.size())) {
      Fail("the Welcome answers " + std::to_string(welcome.held_calls_size()) +
           " held calls; the Hello listed " + std::to_string(listed.size()));
    }
    std::map<std::string, const v1::HeldCallResult*> by_id;
    for (int i = 0; i < welcome.held_calls_size(); ++i) {
      const v1::HeldCallResult& r = welcome.held_calls(i);
      if (i < static_cast<int>(listed.size()) && r.call_id() != listed[i]) {
        Fail("the Welcome's result " + std::to_string(i) + " is for " + r.call_id() +
             "; the Hello listed " + listed[i] + " there");
      }
      by_id[r.call_id()] = &r;
      auto it = model_.find(r.call_id());
      if (it == model_.end()) {
        Fail("the Welcome answers " + r.call_id() + ", a call the gateway never made");
        continue;
      }
      Call& call = it->second;
      const std::string& id = r.call_id();
      switch (r.fate()) {
        case v1::HeldCallResult::FATE_LIVE:
          report_.acknowledged.emplace(id, call.seq);
          ++report_.fates["LIVE"];
          break;
        case v1::HeldCallResult::FATE_ADMITTED:
          report_.acknowledged.emplace(id, call.seq);
          ++report_.fates["ADMITTED"];
          break;
        case v1::HeldCallResult::FATE_FINISHED: {
          report_.acknowledged.emplace(id, call.seq);
          const std::string outcome = OutcomeName(r.outcome());
          ++report_.fates["FINISHED " + outcome];
          if (r.outcome() == v1::CALL_OUTCOME_TIMED_OUT) {
            if (!r.command().has_offer_callback()) {
              Fail(id + " finished TIMED_OUT on hello without an offer_callback command");
            } else {
              ++report_.timed_out_on_hello;
              report_.timed_out_while_away += while_away_.count(id) ? 1 : 0;
            }
          }
          if (call.phase == Phase::kTalking) {
            Fail(id + " finished " + outcome + " on hello while its caller talks to " +
                 call.counsellor_id);
          }
          if (r.has_command()) {
            if (r.command().call_id() != id) {
              Fail("the Welcome's command for " + id + " names call " + r.command().call_id());
            }
            // Carried out: the callback offered (or the call rejected), then answered.
            v1::GatewayMessage done;
            done.mutable_command_result()->set_command_id(r.command().command_id());
            done.mutable_command_result()->mutable_done();
            conn.Write(done);
          }
          Finish(call, id, "finished on hello (" + outcome + ")");
          break;
        }
        case v1::HeldCallResult::FATE_REFUSED:
          Fail(id + " refused on hello: " + CodeName(r.code()) + ": " + r.message());
          Finish(call, id, "refused on hello");
          break;
        default:
          Fail(id + " has no fate in the Welcome");
          break;
      }
    }
    for (const auto& id : expect_timed_out_) {
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        Fail(id + " timed out while the gateway was away, but the Welcome does not answer it");
        continue;
      }
      const v1::HeldCallResult& r = *it->second;
      if (r.fate() != v1::HeldCallResult::FATE_FINISHED ||
          r.outcome() != v1::CALL_OUTCOME_TIMED_OUT || !r.command().has_offer_callback()) {
        Fail(id + " timed out while the gateway was away, but the Welcome says " +
             v1::HeldCallResult::Fate_Name(r.fate()) + " " + OutcomeName(r.outcome()) +
             (r.command().has_offer_callback() ? " with" : " without") + " an offer_callback");
      }
    }
    expect_timed_out_.clear();
    while_away_.clear();
  }

  void OnMessage(testing::GatewayConnection& conn, const v1::HotlineMessage& msg) {
    std::lock_guard lock(mu_);
    switch (msg.kind_case()) {
      case v1::HotlineMessage::kAck:
        OnAck(msg.ack());
        break;
      case v1::HotlineMessage::kCommand:
        OnCommand(conn, msg.command());
        break;
      case v1::HotlineMessage::kWelcome:
        Fail("a second Welcome on one stream");
        break;
      case v1::HotlineMessage::KIND_NOT_SET:
        break;
    }
    ++heard_;
    cv_.notify_all();
  }

  // REQUIRES: mu_ held.
  void OnAck(const v1::EventAck& ack) {
    auto index = pending_by_id_.find(ack.event_id());
    if (index == pending_by_id_.end()) {
      return;  // A repeated ack: nothing waits for it.
    }
    auto it = pending_.find(index->second);
    const v1::CallEvent event = it->second.event;
    const bool resent = it->second.resent;
    pending_.erase(it);
    pending_by_id_.erase(index);
    Call& call = model_.at(event.call_id());
    const int code = ack.code();
    const std::string what = event.call_id() + (resent ? " (resent)" : "");
    switch (event.kind_case()) {
      case v1::CallEvent::kArrived:
        if (code == grpc::StatusCode::OK) {
          report_.acknowledged.emplace(event.call_id(), call.seq);
        } else if (code == grpc::StatusCode::ALREADY_EXISTS && call.listed_in_hello) {
          report_.acknowledged.emplace(event.call_id(), call.seq);
          ++report_.reconciled;
        } else {
          // A child's call is never refused for its data, and this gateway's protocol is sound.
          Fail("the arrival of " + what + " was refused: " + CodeName(code) + ": " + ack.message());
          Finish(call, event.call_id(), "refused");
        }
        break;
      case v1::CallEvent::kCallerHungUp:
      case v1::CallEvent::kCallbackRequested:
      case v1::CallEvent::kEnded:
      case v1::CallEvent::kFailed:
        if (code == grpc::StatusCode::OK) {
          report_.ended_acknowledged.insert(event.call_id());
          if (ack.message().find("had already finished") != std::string::npos) {
            ++report_.already_finished_acks;
            Debug("gateway: the end of ", what, " acknowledged: ", ack.message());
          }
        } else {
          Fail("the final event of " + what + " was refused: " + CodeName(code) + ": " +
               ack.message());
        }
        if (call.phase == Phase::kEnding) {
          Finish(call, event.call_id(), call.ending);
        }
        break;
      default:
        if (code != grpc::StatusCode::OK) {
          ++report_.other_refusals[CodeName(code)];
          Debug("gateway: event for ", what, " answered ", CodeName(code), ": ", ack.message());
        }
        break;
    }
  }

  // Answers a command as a real gateway does. REQUIRES: mu_ held.
  void OnCommand(testing::GatewayConnection& conn, const v1::Command& command) {
    auto it = model_.find(command.call_id());
    if (it == model_.end()) {
      Fail("a command for a call it never made: " + command.call_id());
      Result(conn, command, "unknown call");
      return;
    }
    Call& call = it->second;
    const std::string& id = command.call_id();
    if (report_.ended_acknowledged.count(id) > 0) {
      // Hotline acknowledged this call's end, yet acts on it again: it came back to life.
      Say("gateway: a command (", CommandName(command), ") for ", id,
          " after its end was acknowledged");
      report_.commanded_after_end.insert(id);
    }
    switch (command.kind_case()) {
      case v1::Command::kConnect: {
        const std::string& to = command.connect().counsellor_id();
        if (call.phase == Phase::kWaiting) {
          call.phase = Phase::kTalking;
          call.counsellor_id = to;
          Result(conn, command, "");
          SendEvent(id, [](v1::CallEvent& e) { e.mutable_connected(); });
          scheduler_.At(SteadyClock::now() + Millis(Uniform(rng_, 100, 600)),
                        [this, id] { EndCall(id); });
        } else if ((call.phase == Phase::kTalking || call.phase == Phase::kEnding) &&
                   call.counsellor_id == to) {
          Result(conn, command, "");  // A repeat after a reconnect: already bridged.
        } else if (call.phase == Phase::kTalking) {
          Say("gateway: ", id, " is talking to ", call.counsellor_id,
              " but the daemon connects it to ", to);
          report_.connected_twice.push_back(id + " (" + call.counsellor_id + ", then " + to + ")");
          Result(conn, command, "the caller is already talking to a counsellor");
        } else {
          Result(conn, command, "the caller is gone");
        }
        break;
      }
      case v1::Command::kAnnounce:
        Result(conn, command, "");
        break;
      case v1::Command::kOfferCallback:
        Result(conn, command, "");
        if (call.phase == Phase::kTalking ||
            (call.phase == Phase::kEnding && !call.counsellor_id.empty())) {
          Fail("a callback offered for " + id + " after it was connected to " + call.counsellor_id);
        }
        Finish(call, id, "timed out");
        break;
      case v1::Command::kReject:
        Result(conn, command, "");
        Finish(call, id, "rejected");
        break;
      case v1::Command::KIND_NOT_SET:
        Result(conn, command, "unknown command");
        break;
    }
  }

  // Scheduler task: the next caller comes through the menu.
  void Arrive() {
    std::lock_guard lock(mu_);
    if (next_call_ >= calls_) {
      return;
    }
    const int seq = ++next_call_;
    std::ostringstream id;
    id << "crash-call-" << std::setw(4) << std::setfill('0') << seq;
    Call& call = model_[id.str()];
    call.seq = seq;
    std::ostringstream number;
    number << "+849" << std::setw(8) << std::setfill('0') << Uniform(rng_, 0, 99'999'999);
    call.arrived = testing::Arrival(kProvince, number.str());
    call.arrived_at = WallNow();
    ++report_.arrivals;
    SendEvent(id.str(), [&](v1::CallEvent& e) {
      *e.mutable_arrived() = call.arrived;
      *e.mutable_occurred_at() = call.arrived_at;
    });
    const std::string call_id = id.str();
    const int dice = Uniform(rng_, 1, 100);
    if (dice <= 15) {
      scheduler_.At(SteadyClock::now() + Millis(Uniform(rng_, 300, 4000)),
                    [this, call_id] { LeaveQueue(call_id, false); });
    } else if (dice <= 18) {
      scheduler_.At(SteadyClock::now() + Millis(Uniform(rng_, 300, 2000)),
                    [this, call_id] { LeaveQueue(call_id, true); });
    }
    const double gap = std::exponential_distribution<double>(1.0 / mean_gap_ms_)(rng_);
    scheduler_.At(SteadyClock::now() + Millis(static_cast<int64_t>(gap)), [this] { Arrive(); });
    cv_.notify_all();
  }

  // Scheduler task: a waiting caller gives up, or asks the menu for a callback.
  void LeaveQueue(const std::string& call_id, bool callback) {
    std::lock_guard lock(mu_);
    Call& call = model_.at(call_id);
    if (call.phase != Phase::kWaiting) {
      return;
    }
    SendEvent(call_id, [callback](v1::CallEvent& e) {
      if (callback) {
        e.mutable_callback_requested();
      } else {
        e.mutable_caller_hung_up();
      }
    });
    call.phase = Phase::kEnding;
    call.ending = callback ? "callback requested" : "hung up";
  }

  // Scheduler task: the conversation is over.
  void EndCall(const std::string& call_id) {
    std::lock_guard lock(mu_);
    Call& call = model_.at(call_id);
    if (call.phase != Phase::kTalking) {
      return;
    }
    SendEvent(call_id, [](v1::CallEvent& e) { e.mutable_ended(); });
    call.phase = Phase::kEnding;
    call.ending = "ended";
  }

  // REQUIRES: mu_ held.
  void Finish(Call& call, const std::string& id, const std::string& how) {
    if (call.phase != Phase::kOver) {
      call.phase = Phase::kOver;
      ++report_.finished[how];
      report_.ending_of[id] = how;
    }
  }

  // REQUIRES: mu_ held.
  void Fail(const std::string& what) {
    Say("gateway: CONTRACT: ", what);
    report_.contract_failures.push_back(what);
  }

  // Gives the event the next event id, keeps it until acknowledged, and writes it if a stream
  // is live (otherwise the next session resends it). REQUIRES: mu_ held.
  void SendEvent(const std::string& call_id, const std::function<void(v1::CallEvent&)>& fill) {
    const uint64_t seq = ++next_event_;
    Pending& pending = pending_[seq];
    pending.event.set_event_id("crash-ev-" + std::to_string(seq));
    pending.event.set_call_id(call_id);
    *pending.event.mutable_occurred_at() = WallNow();
    fill(pending.event);
    pending_by_id_[pending.event.event_id()] = seq;
    ++report_.events_sent;
    if (live_ != nullptr) {
      v1::GatewayMessage msg;
      *msg.mutable_event() = pending.event;
      pending.written = true;
      if (!live_->Write(msg)) {
        Debug("gateway: write failed; the next session resends");
      }
    }
  }

  // Writes a CommandResult: done when `error` is empty. REQUIRES: mu_ held.
  void Result(testing::GatewayConnection& conn, const v1::Command& command,
              const std::string& error) {
    v1::GatewayMessage msg;
    msg.mutable_command_result()->set_command_id(command.command_id());
    if (error.empty()) {
      msg.mutable_command_result()->mutable_done();
    } else {
      msg.mutable_command_result()->mutable_error()->set_reason(error);
    }
    conn.Write(msg);
  }

  const Target& target_;
  const int calls_;
  const double mean_gap_ms_;
  StopFlag stop_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // Signalled on arrivals, sessions and daemon messages.
  uint64_t heard_ = 0;                  // Daemon messages received.
  std::mt19937 rng_;                    // Guarded by mu_, like everything below.
  const uint32_t backoff_seed_;         // Drawn from rng_ at construction.
  std::map<std::string, Call> model_;
  std::map<uint64_t, Pending> pending_;  // By event sequence: the resend order.
  std::map<std::string, uint64_t> pending_by_id_;
  uint64_t next_event_ = 0;
  int next_call_ = 0;
  GatewayReport report_;
  bool stopping_ = false;
  bool away_ = false;
  std::set<std::string> expect_timed_out_;  // For the next Welcome.
  std::set<std::string> while_away_;
  // The session's stream: open (session_, for cancelling) and, once welcomed, live (live_, for
  // writing events).
  testing::GatewayConnection* session_ = nullptr;
  testing::GatewayConnection* live_ = nullptr;
  bool in_session_ = false;

  std::thread session_thread_;
  Scheduler scheduler_;  // Last: destroyed (its thread joined) before what its tasks touch.
};

}  // namespace hotline::crash
