// EngineHost: the routing engine on its own thread, with what it drives. It owns the Engine, the
// Store, the open desk, gateway and supervisor streams, and the one Asio timer that wakes the
// engine at its next deadline. It turns each input into engine calls, then carries out the
// effects in order: database rows, desk events, gateway commands, queue views.
//
// Not thread-safe: every method runs on the engine thread. gRPC handlers reach it with
// Post(), never directly.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <asio/io_context.hpp>
#include <asio/system_timer.hpp>

#include "absl/status/status.h"
#include "daemon/caller_key.h"
#include "daemon/config.h"
#include "daemon/streams.h"
#include "hotline/v1/admin.pb.h"
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

class EngineHost final {
 public:
  EngineHost(const Config& config, asio::io_context& io, std::unique_ptr<storage::Store> store,
             const CallerKeyer& keyer, const Clock& clock);
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  // Loads the counsellors from the database into the engine. Start-up only.
  [[nodiscard]] absl::Status Load();

  // Runs `fn` on the engine thread.
  void Post(std::function<void(EngineHost&)> fn);

  // --- Gateways. ---
  void GatewayHello(std::shared_ptr<GatewayStream> stream, const v1::Hello& hello);
  void GatewayEvent(std::shared_ptr<GatewayStream> stream, const v1::CallEvent& event);
  void GatewayCommandResult(std::shared_ptr<GatewayStream> stream,
                            const v1::CommandResult& result);
  void GatewayClosed(std::shared_ptr<GatewayStream> stream);

  // --- Desks. `token` is the bearer token the request carried. ---
  void DeskOpened(std::shared_ptr<DeskStream> stream, const std::string& token);
  void DeskClosed(std::shared_ptr<DeskStream> stream);
  // The counsellor a token belongs to; UNAUTHENTICATED otherwise.
  absl::StatusOr<std::string> CounsellorFor(const std::string& token) const;
  absl::StatusOr<v1::CounsellorStatus> SetPresence(const std::string& counsellor_id,
                                                   routing::CounsellorState state,
                                                   routing::BreakReason reason);
  absl::Status AnswerOffer(const std::string& counsellor_id, const std::string& call_id,
                           bool accept);
  absl::StatusOr<v1::CounsellorStatus> SubmitDisposition(const std::string& counsellor_id,
                                                         const std::string& call_id,
                                                         const routing::Disposition& d,
                                                         bool ready_for_next);

  // --- Supervisors. ---
  void WatchOpened(std::shared_ptr<QueueWatch> stream);
  void WatchClosed(std::shared_ptr<QueueWatch> stream);
  absl::StatusOr<v1::CallStatus> ChangePriority(const std::string& call_id,
                                                routing::Priority priority);

  // --- Administrators. ---
  absl::StatusOr<v1::CreateCounsellorResponse> CreateCounsellor(
      const routing::CounsellorProfile& profile);
  absl::Status UpdateCounsellor(const routing::CounsellorProfile& profile);
  absl::Status RemoveCounsellor(const std::string& counsellor_id);
  v1::ListCounsellorsResponse ListCounsellors() const;

  // Closes every stream with `status` and stops the timer; for shutdown.
  void CloseAll(const grpc::Status& status);

 private:
  // Runs one engine input at the current time, then carries out its effects.
  absl::Status Apply(const std::function<absl::Status(routing::Engine&, routing::Timestamp)>& in);
  void CarryOut(const std::vector<routing::Effect>& effects);
  void SendCommand(const std::string& gateway_id, v1::Command command);
  void SendDesk(const std::string& counsellor_id, v1::DeskEvent event);
  void PublishView();
  v1::QueueView View();
  void ArmTimer();
  void OnTimer();
  absl::Status HandleEvent(const GatewayStream& stream, const v1::CallEvent& event);

  const Config& config_;
  asio::io_context& io_;
  asio::system_timer timer_;
  std::unique_ptr<storage::Store> store_;
  const CallerKeyer& keyer_;
  const Clock& clock_;
  routing::Engine engine_;

  std::map<std::string, std::string> counsellor_by_token_hash_;
  std::map<std::string, std::shared_ptr<DeskStream>> desks_;
  std::map<std::string, std::shared_ptr<GatewayStream>> gateways_;
  std::set<std::shared_ptr<QueueWatch>> watchers_;

  struct PendingCommand {
    std::string call_id;
    v1::Command::KindCase kind;
  };
  std::map<std::string, PendingCommand> commands_;
  const std::string command_prefix_;
  uint64_t next_command_ = 1;
  uint64_t view_sequence_ = 0;
  int answered_today_ = 0;
  int abandoned_today_ = 0;
  std::optional<routing::Timestamp> armed_for_;
  // Set by CloseAll: the timer is not armed again, so the engine thread can run out of work.
  bool stopping_ = false;
};

}  // namespace hotline::daemon
