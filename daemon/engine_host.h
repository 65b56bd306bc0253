// EngineHost: the routing engine on its own thread, with what it drives. It owns the Engine, the
// open desk, gateway and supervisor streams, the idempotency answers and the one Asio timer that
// wakes the engine at its next deadline. It turns each input into a journal record, applies it,
// and carries out the effects: rows and the record go to the journal writer in one unit, with
// the acknowledgement, the answer and the messages to send once that unit is durable.
//
// Journal first: no event is acknowledged, no request answered and (while the store is healthy)
// no command or desk event sent before the record that caused it is committed. While commits
// fail, routing goes on from memory (commands and offers are sent at once) but nothing is
// acknowledged; gateways resend, and the repeat gets the original answer once it is durable.
//
// Not thread-safe: every method runs on the engine thread. gRPC handlers reach it with
// Post(), never directly.
#pragma once

#include <asio/io_context.hpp>
#include <asio/system_timer.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/caller_key.h"
#include "daemon/config.h"
#include "daemon/streams.h"
#include "daemon/writer.h"
#include "hotline/v1/admin.pb.h"
#include "hotline/v1/journal.pb.h"
#include "routing/engine.h"
#include "storage/store.h"

namespace hotline::daemon {

// The daemon's source of time: the seam where tests could substitute a manual clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual routing::Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  routing::Timestamp Now() const override {
    return std::chrono::time_point_cast<routing::Millis>(std::chrono::system_clock::now());
  }
};

// How a request is answered: once, with the response or the error.
template <class T>
using Reply = std::function<void(const absl::StatusOr<T>&)>;

class EngineHost final {
 public:
  // `store` is read here (recovery); every write goes through `writer`.
  EngineHost(const Config& config, asio::io_context& io, storage::Store& store, Writer& writer,
             const CallerKeyer& keyer, const Clock& clock);
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  // Restores the engine from the latest snapshot and the journal after it, loads desk tokens
  // and recent answers, and starts every desk's grace period (no desk is connected yet).
  // Start-up only, before any Post. DATA_LOSS if a journal record cannot be read.
  [[nodiscard]] absl::Status Recover();

  // Runs `fn` on the engine thread, then hands what it produced to the writer.
  void Post(std::function<void(EngineHost&)> fn);

  // --- Gateways. ---
  void GatewayHello(std::shared_ptr<GatewayStream> stream, const v1::Hello& hello);
  void GatewayEvent(std::shared_ptr<GatewayStream> stream, const v1::CallEvent& event);
  void GatewayCommandResult(std::shared_ptr<GatewayStream> stream, const v1::CommandResult& result);
  void GatewayClosed(std::shared_ptr<GatewayStream> stream);

  // --- Desks. `token` is the bearer token the request carried. ---
  void DeskOpened(std::shared_ptr<DeskStream> stream, const std::string& token);
  void DeskClosed(std::shared_ptr<DeskStream> stream);
  // The counsellor a token belongs to; UNAUTHENTICATED otherwise.
  absl::StatusOr<std::string> CounsellorFor(const std::string& token) const;

  // Requests carry a request id: a repeat from the same origin gets the original answer.
  // `origin` says who asked: "desk:<id>" or "supervisor".
  void SetPresence(const std::string& origin, const std::string& request_id,
                   const std::string& counsellor_id, routing::CounsellorState state,
                   routing::BreakReason reason, Reply<v1::CounsellorStatus> reply);
  void AnswerOffer(const std::string& counsellor_id, const std::string& request_id,
                   const std::string& call_id, bool accept, Reply<v1::AnswerOfferResponse> reply);
  void SubmitDisposition(const std::string& counsellor_id, const std::string& request_id,
                         const std::string& call_id, const routing::Disposition& d,
                         bool ready_for_next, Reply<v1::CounsellorStatus> reply);

  // `origin` as for SetPresence.
  void NeverRoute(const std::string& origin, const std::string& request_id,
                  const std::string& counsellor_id, const std::string& call_id,
                  Reply<v1::NeverRouteCallerResponse> reply);

  // Every offer made for a call, with its reason and result, read once everything before it is
  // written (on the writer thread, which owns the database connection).
  void ExplainCall(const std::string& call_id, Reply<v1::ExplainCallResponse> reply);

  // --- Supervisors. ---
  void WatchOpened(std::shared_ptr<QueueWatch> stream);
  void WatchClosed(std::shared_ptr<QueueWatch> stream);
  void ChangePriority(const std::string& request_id, const std::string& call_id,
                      routing::Priority priority, Reply<v1::CallStatus> reply);

  // --- Administrators. ---
  // Province codes are turned into today's (INVALID_ARGUMENT for unknown ones).
  void CreateCounsellor(routing::CounsellorProfile profile,
                        Reply<v1::CreateCounsellorResponse> reply);
  void UpdateCounsellor(routing::CounsellorProfile profile,
                        Reply<v1::UpdateCounsellorResponse> reply);
  void RemoveCounsellor(const std::string& counsellor_id,
                        Reply<v1::RemoveCounsellorResponse> reply);
  v1::ListCounsellorsResponse ListCounsellors() const;
  // Reads the policy and regions files again and puts them in force (journaled).
  void ReloadPolicy(Reply<v1::ReloadPolicyResponse> reply);

  // Runs `done` once everything handled so far is durable (its answers sent). For shutdown.
  void Barrier(std::function<void()> done);
  // Closes every stream with `status` and stops the timer; for shutdown.
  void CloseAll(const grpc::Status& status);

 private:
  // Applies one input at the current time (timers due first, as their own record) and, when it
  // is accepted, journals it. Returns the engine's answer.
  absl::Status Apply(v1::JournalRecord record);
  // Fires the timers due by `now`, journaling the tick if it changed anything.
  void TickTo(routing::Timestamp now);
  void Journal(const v1::JournalRecord& record);
  void CarryOut(const std::vector<routing::Effect>& effects);
  // Sends once the current unit is durable, or as soon as the store is found failing.
  void Deliver(std::function<void()> send);
  void Flush();
  void MaybeSnapshot();

  // The idempotent answer: a repeat of (origin, request_id) gets the stored answer.
  template <class Response>
  void Answer(const std::string& origin, const std::string& request_id,
              const std::function<absl::StatusOr<Response>()>& compute, Reply<Response> reply);
  // The stored answer of (origin, request_id), if any.
  const storage::RequestResult* FindAnswer(const std::string& origin,
                                           const std::string& request_id) const;
  void RememberAnswer(storage::RequestResult result);

  void SendCommand(const std::string& gateway_id, v1::Command command);
  void SendDesk(const std::string& counsellor_id, v1::DeskEvent event);
  void Reconcile(const std::string& gateway_id, const v1::Hello& hello);
  absl::Status HandleEvent(const GatewayStream& stream, const v1::CallEvent& event);
  absl::StatusOr<v1::JournalRecord> ArrivalRecord(const std::string& gateway_id,
                                                  const std::string& call_id,
                                                  const v1::CallArrived& arrived,
                                                  routing::Timestamp arrived_at) const;
  // Applies the policy files if they differ from the policy in force.
  absl::Status LoadPolicyFiles();
  // Today's codes for a profile's provinces; INVALID_ARGUMENT naming the field for unknown ones.
  absl::Status Canonicalize(routing::CounsellorProfile& profile) const;
  void PublishView();
  v1::QueueView View();
  void ArmTimer();
  void OnTimer();

  const Config& config_;
  asio::io_context& io_;
  asio::system_timer timer_;
  storage::Store& store_;
  Writer& writer_;
  const CallerKeyer& keyer_;
  const Clock& clock_;
  routing::Engine engine_;

  // What the input being handled produced; handed to the writer by Flush().
  Writer::Unit pending_;
  int64_t next_journal_seq_ = 1;
  int64_t records_since_snapshot_ = 0;

  std::map<std::string, std::string> counsellor_by_token_hash_;
  std::map<std::string, std::shared_ptr<DeskStream>> desks_;
  std::map<std::string, std::shared_ptr<GatewayStream>> gateways_;
  std::set<std::shared_ptr<QueueWatch>> watchers_;
  // Commands for a gateway that was not connected, sent when it says hello again.
  std::map<std::string, std::vector<v1::Command>> undelivered_;

  // Answers by "origin\nrequest_id", and the same keys oldest first for forgetting.
  std::map<std::string, storage::RequestResult> answers_;
  std::deque<std::pair<int64_t, std::string>> answer_order_;

  uint64_t next_command_ = 1;
  uint64_t view_sequence_ = 0;
  // Something changed since the last queue view was sent: building one walks every call, so
  // it is done once per handled input, not once per effect batch.
  bool view_changed_ = false;
  int answered_today_ = 0;
  int abandoned_today_ = 0;
  std::optional<routing::Timestamp> armed_for_;
  // Set by CloseAll: the timer is not armed again, so the engine thread can run out of work.
  bool stopping_ = false;
};

}  // namespace hotline::daemon
