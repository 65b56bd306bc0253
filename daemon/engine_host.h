// EngineHost: the routing engine on its own thread, with what it drives. It owns the Engine, the
// open desk, gateway and supervisor streams, the idempotency answers and the one Asio timer that
// wakes the engine by its next deadline (at it, or earlier for one that went away). It turns each
// input into a journal record, applies it, and carries out the effects: rows and the record go to
// the journal writer in one unit, with the acknowledgement, the answer and the messages to send
// once that unit is durable.
//
// Journal first: no event is acknowledged, no request answered, no queue view published and
// (while the store is healthy) no command sent to a gateway before the record that caused it is
// committed. A desk's Watch events (offers, revocations, state changes) go out before, at the end
// of the engine's wake-up: they acknowledge nothing, and whatever a desk does about them is a
// new input, answered once durable (docs/architecture.md, "What waits for the disk, and what
// does not"). While commits fail, routing goes on from memory (commands and offers are sent at
// once) but nothing is acknowledged; gateways resend, and the repeat gets the original answer
// once it is durable.
//
// Not thread-safe: every method runs on the engine thread. gRPC handlers reach it with
// Post(), never directly.
#pragma once

#include <asio/io_context.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/answer_cache.h"
#include "daemon/callback_key.h"
#include "daemon/caller_key.h"
#include "daemon/config.h"
#include "daemon/effects.h"
#include "daemon/limits.h"
#include "daemon/live_figures.h"
#include "daemon/metrics.h"
#include "daemon/plain_answers.h"
#include "daemon/queue_feed.h"
#include "daemon/streams.h"
#include "daemon/time_source.h"
#include "daemon/writer.h"
#include "hotline/v1/admin.pb.h"
#include "hotline/v1/journal.pb.h"
#include "hotline/v1/supervisor.pb.h"
#include "routing/engine.h"
#include "stats/report.h"
#include "storage/store.h"

namespace hotline::daemon {

// How long an answer to a request id is remembered (and repeats recognised), in memory and in
// the database's request_results.
inline constexpr routing::Millis kAnswerMemory{24 * 3'600'000};

// How a request is answered: once, with the response or the error.
template <class T>
using Reply = std::function<void(const absl::StatusOr<T>&)>;

class EngineHost final {
 public:
  // `store` is read here (recovery); every write goes through `writer`. Timers are scheduled on
  // `time`'s monotonic clock (see Now()).
  // `metrics` (may be null) gets the time each input takes and the calls finished.
  EngineHost(const Config& config, asio::io_context& io, storage::Store& store, Writer& writer,
             const CallerKeyer& keyer, TimeSource& time, Metrics* metrics = nullptr);
  EngineHost(const EngineHost&) = delete;
  EngineHost& operator=(const EngineHost&) = delete;

  // Restores the engine from the latest snapshot and the journal after it, loads desk tokens
  // and recent answers, and starts every desk's grace period (no desk is connected yet).
  // Start-up only, before any Post. DATA_LOSS if a journal record cannot be read.
  [[nodiscard]] absl::Status Recover();

  // Runs `fn` on the engine thread, then hands what it produced to the writer. Any thread.
  // Inputs posted while the engine is busy wait in an inbox; the engine takes the whole inbox in
  // one wake-up, runs each input in the order posted, and hands the writer ONE unit for all of
  // them (one Flush), so a burst costs one wake-up of the engine and one of the writer rather
  // than one each per input. Each input's effects keep their order within the unit.
  void Post(std::function<void(EngineHost&)> fn);

  // At a clean shutdown (on the engine thread, between inputs): a snapshot of the state now,
  // committed with what is pending, unless nothing was journaled since the last one. The next
  // start then replays only what came in the stop's last moments (inputs handled before the
  // streams closed), not the records before it.
  void SnapshotAtShutdown();

  // --- Gateways. ---
  void GatewayHello(std::shared_ptr<GatewayStream> stream, const v1::Hello& hello);
  void GatewayEvent(std::shared_ptr<GatewayStream> stream, const v1::CallEvent& event);
  void GatewayCommandResult(std::shared_ptr<GatewayStream> stream, const v1::CommandResult& result);
  void GatewayClosed(std::shared_ptr<GatewayStream> stream);
  // The gateway half-closed its stream (sent all it will, still reading): it is away from now on
  // (commands wait for its next Hello), and the stream ends OK once everything read on it before
  // has been answered, its Welcome and acks included.
  void GatewayWritesDone(std::shared_ptr<GatewayStream> stream);
  // A gateway message refused before the engine saw it (a malformed event): its answer goes out
  // in order with everything else, never ahead of the Welcome.
  void GatewayRefused(std::shared_ptr<GatewayStream> stream, v1::HotlineMessage answer);
  // A command result that failed validation (`why`) was ignored: logged, at most a line per
  // interval with the count.
  void GatewayResultIgnored(const std::string& gateway_id, const std::string& why);

  // --- Desks. `token` is the bearer token the request carried. ---
  void DeskOpened(std::shared_ptr<DeskStream> stream, const std::string& token);
  void DeskClosed(std::shared_ptr<DeskStream> stream);
  // The counsellor a token belongs to; UNAUTHENTICATED otherwise.
  absl::StatusOr<std::string> CounsellorFor(const std::string& token) const;

  // Requests carry a request id: a repeat from the same origin gets the original answer.
  // `origin` says who asked: "desk:<id>", or the supervisor's principal ("supervisor:<account>",
  // "supervisor:config"): ids are kept per desk or per supervisor account, never shared.
  void SetPresence(const std::string& origin, const std::string& request_id,
                   const std::string& counsellor_id, routing::CounsellorState state,
                   routing::BreakReason reason, Reply<v1::CounsellorStatus> reply);
  void AnswerOffer(const std::string& counsellor_id, const std::string& request_id,
                   const std::string& call_id, bool accept, Reply<v1::AnswerOfferResponse> reply);
  void SubmitDisposition(const std::string& counsellor_id, const std::string& request_id,
                         const std::string& call_id, const routing::Disposition& d,
                         bool ready_for_next, Reply<v1::SubmitDispositionResponse> reply);

  // `origin` as for SetPresence.
  void NeverRoute(const std::string& origin, const std::string& request_id,
                  const std::string& counsellor_id, const std::string& call_id,
                  Reply<v1::NeverRouteCallerResponse> reply);

  // Every offer made for a call, with its reason and result, read once everything before it is
  // written (on the writer thread, which owns the database connection).
  void ExplainCall(const std::string& call_id, Reply<v1::ExplainCallResponse> reply);

  // --- Supervisors. ---
  // A live queue watcher (WatchQueue, or the web page's event stream), resuming after
  // (epoch, after) when it can (supervisor.proto WatchQueue).
  void WatchOpened(std::shared_ptr<QueueSink> sink, const std::string& epoch, uint64_t after);
  void WatchClosed(const std::shared_ptr<QueueSink>& sink);
  // A watcher that fell behind (its unsent updates were dropped) has caught up: a full view.
  void WatchCaughtUp(const std::shared_ptr<QueueSink>& sink);
  // `origin` as for SetPresence.
  void ChangePriority(const std::string& origin, const std::string& request_id,
                      const std::string& call_id, routing::Priority priority,
                      Reply<v1::CallStatus> reply);
  // A supervisor ends a connected call its gateway cannot (routing::Engine::EndCall); the call's
  // reason becomes "ended by <origin>: <reason>", and the audit gets an `end_call` row.
  void EndCall(const std::string& origin, const std::string& request_id, const std::string& call_id,
               const std::string& reason, Reply<v1::EndCallResponse> reply);

  // --- Administrators. ---
  // Province codes are turned into today's (INVALID_ARGUMENT for unknown ones). ALREADY_EXISTS
  // for an id in use, or one whose removed counsellor still has calls, offers or presence rows.
  void CreateCounsellor(routing::CounsellorProfile profile,
                        Reply<v1::CreateCounsellorResponse> reply);
  void UpdateCounsellor(routing::CounsellorProfile profile,
                        Reply<v1::UpdateCounsellorResponse> reply);
  // `sign_out`: a signed-in counsellor is signed out first (journaled as a supervisor's
  // SetPresence OFFLINE), then removed, in one step.
  void RemoveCounsellor(const std::string& counsellor_id, bool sign_out,
                        Reply<v1::RemoveCounsellorResponse> reply);
  // A fresh desk token for the counsellor: the old one stops working at once and their open
  // desk is closed with UNAUTHENTICATED; the new hash is stored before the reply.
  void RotateCounsellorToken(const std::string& counsellor_id,
                             Reply<v1::RotateCounsellorTokenResponse> reply);
  // Runs `fn` on the writer thread, with the store, once everything handled before is durable
  // (accounts.h: account changes are written there, outside the journal).
  void RunOnStore(std::function<void(storage::Store&)> fn);
  v1::ListCounsellorsResponse ListCounsellors() const;
  // Reads the policy and regions files again and puts them in force (journaled).
  void ReloadPolicy(Reply<v1::ReloadPolicyResponse> reply);

  // Sets the metrics' waiting calls by priority and counsellors by state (walks every live call),
  // then runs `done`; on the engine thread, not timed as a decision. Any thread.
  void CountForMetrics(std::function<void()> done);

  // --- Children's data (daemon/engine_host_privacy.cc, docs/privacy.md). ---

  // The key callers' numbers are sealed with for callbacks; null keeps no number (tests that
  // build a host by hand). Before Recover; `sealer` outlives the host.
  void SetCallbackSealer(const CallbackSealer* sealer) { sealer_ = sealer; }

  // Records that `principal` (in `role`) viewed or exported `subject` by `action`: written once
  // everything before it is durable. `principal` is whoever the credential names: a counsellor
  // id, an account name, or the role's name for a shared token.
  void Audit(const std::string& role, const std::string& principal, const std::string& action,
             const std::string& subject);

  // SupervisorService's callback and audit RPCs, each audited as `principal`.
  void ListCallbacks(const std::string& principal, int64_t limit,
                     Reply<v1::ListCallbacksResponse> reply);
  void RevealCallback(const std::string& principal, int64_t callback_id,
                      Reply<v1::RevealCallbackResponse> reply);
  void CallbackDone(const std::string& principal, int64_t callback_id,
                    Reply<v1::CallbackDoneResponse> reply);
  void ListAudit(const std::string& principal, routing::Timestamp since, int64_t limit,
                 Reply<v1::ListAuditResponse> reply);

  // Runs `done` once everything handled so far is durable (its answers sent). For shutdown.
  void Barrier(std::function<void()> done);
  // Closes every stream with `status` and stops the timer; for shutdown. Journals nothing: the
  // desks are taken off at the next start, as after a crash.
  void CloseAll(const grpc::Status& status);

  // A digest of the engine's state (journal.h StateDigest): logged at shutdown and after
  // recovery replays the journal, so a test (or an operator) can check they agree.
  std::string StateDigest() const;
  // StateDigest() as the journal replay left it, before start-up's own inputs (settings, the
  // restart that takes the desks off, policy files, timers due).
  const std::string& recovered_digest() const { return recovered_digest_; }

  // What a report needs from the engine (stats/report.h): the region tree's centres, every
  // counsellor's home and served provinces, and the engine's time now. A copy, for the report
  // thread.
  stats::ReportContext ReportContextNow() const;

  // The engine's time: the system time read at start (never before the last journaled time),
  // then advanced by the monotonic clock. A step of the system clock moves neither timers nor
  // records while the daemon runs; it is logged, and taken up at the next start.
  routing::Timestamp Now() const;

 private:
  // The live figures survive a restart: today's (and the last quarter hour's) calls and presence
  // from the database, and the calls answered that are still going on.
  absl::Status LoadFigures();
  void CountForMetricsNow();
  // Logs when the system clock has stepped more than a second away from Now() since last said.
  void ReportClockStep();
  // Applies one input at the current time (timers due first, as their own record) and, when it
  // is accepted, journals it. Returns the engine's answer.
  absl::Status Apply(v1::JournalRecord record);
  // The same at a given time, never earlier than the last journaled one (recovery).
  absl::Status ApplyAt(v1::JournalRecord record, routing::Timestamp now);
  // Fires the timers due by `now`, journaling the tick whenever one was due (even if it produced
  // no effect: a ladder step changes state silently, and replay must see the same ticks).
  void TickTo(routing::Timestamp now);
  void Journal(const v1::JournalRecord& record);
  // Writes and sends what one input's effects call for, in the engine's order.
  void CarryOut(const std::vector<routing::Effect>& effects, routing::Timestamp at);
  // The engine's effects since the last take, in a buffer the host keeps between inputs: give it
  // back with KeepBuffer once carried out, and no input allocates for its effects.
  std::vector<routing::Effect> TakeEffects();
  void KeepBuffer(std::vector<routing::Effect> effects);
  // The calls whose disposition the last SubmitDisposition's effects recorded late (cleared
  // before each): how its answer knows it was late.
  std::set<std::string> late_recorded_;
  // Where the next snapshot's rows end (last_finished_call_, late_at_calls_).
  void NoteRowsEnd(const routing::Effect& effect);
  // How a recently finished call ended (Engine::FindFinished), for a gateway's Hello or a final
  // event resent; nullopt once a day has passed by Now(), even before the engine's next input.
  std::optional<routing::FinishedFate> RecentFate(std::string_view call_id) const;
  // After a snapshot that leaves the finished calls out (journal.proto FinishedInCalls): rebuilds
  // the engine's memory of them (how they ended included) from the `calls` rows it ends at.
  absl::Status RememberFinished(const v1::EngineSnapshot& snapshot);
  // Puts a rotated desk token's stored hash in force and closes the desk open with the old one;
  // false (nothing changed) when the counsellor was removed meanwhile.
  bool InstallDeskToken(const std::string& counsellor_id, const std::string& hash);
  // Sends once the current unit is durable, or as soon as the store is found failing.
  void Deliver(std::function<void()> send);
  // Sends on a desk's stream at once, on the engine thread, before its input is journaled or
  // durable: an offer reaches the counsellor without waiting for the disk, for the rest of its
  // input, or for the other inputs of the same wake-up. A desk event acknowledges
  // nothing: whatever the counsellor does about it is a new input, journaled after the one that
  // caused the event and answered only once that is durable; after a crash the desk reconnects
  // and gets the state the journal restored, first. Once the writer has stopped for good, none
  // goes out (it sends nothing more).
  void DeliverToDesk(std::shared_ptr<DeskStream> stream, v1::DeskEvent event);
  void Flush();
  // Runs every input in the inbox, in order, then Flush() once.
  void Drain();
  void MaybeSnapshot();
  // Puts a snapshot of the state now in the pending unit; the writer encodes it.
  void Snapshot();

  // The idempotent answer: a repeat of (principal, kind of request, request_id) gets the stored
  // answer (the kind is Response's type, but for a gateway's events). A new request is first put
  // to `refuse` (when given): a refusal from it is answered, not remembered and nothing is
  // journaled; otherwise `compute` answers and the answer is remembered.
  template <class Response>
  void Answer(const std::string& principal, const std::string& request_id,
              const std::function<absl::StatusOr<Response>()>& compute, Reply<Response> reply,
              const std::function<absl::Status()>& refuse = {});
  // Remembers an answer given (or reloaded) under its `fingerprint` (PlainAnswers::Fingerprint of
  // its origin and request id): a plain one as that fingerprint, any other whole.
  void RememberAnswer(const storage::RequestResult& answer, uint64_t fingerprint);
  // Forgets the answers older than their day as of `now`.
  void ForgetOldAnswers(routing::Timestamp now);

  void SendCommand(const std::string& gateway_id, v1::Command command);
  // The gateway's stream, or null while it is away. A stream Hotline has closed counts as away
  // at once (and is forgotten, as GatewayClosed does), though it has not ended yet.
  std::shared_ptr<GatewayStream> OpenGateway(const std::string& gateway_id);
  void SendDesk(const std::string& counsellor_id, v1::DeskEvent event);
  // The reconciliation contract of gateway.proto: fills `welcome` with a result per held call.
  void Reconcile(const std::string& gateway_id, const v1::Hello& hello, v1::Welcome& welcome);
  // `field` names the entry in refusals ("hello.held_calls[3]").
  v1::HeldCallResult ReconcileHeld(const std::string& gateway_id, const v1::HeldCall& held,
                                   const std::string& field,
                                   const std::set<std::string>& connect_pending);
  // The answer to an event; `ack_message` may carry words for an OK answer.
  absl::Status HandleEvent(const GatewayStream& stream, const v1::CallEvent& event,
                           std::string& ack_message);
  // An arrival as a journal record. Never refuses a child's call for the gateway's data: an
  // unknown province or a withheld number is marked on the call. `arrived_at` is bounded (see
  // gateway.proto HeldCall.arrived_at); absent means now.
  v1::JournalRecord ArrivalRecord(const std::string& gateway_id, const std::string& call_id,
                                  const v1::CallArrived& arrived,
                                  std::optional<routing::Timestamp> arrived_at);
  // The sealed number of the arrival being made into a record, until that record is accepted.
  void HoldCallbackNumber(const routing::CallInfo& info, const std::string& number);
  // The arrival of `call_id` was accepted: its held number is written with its journal record.
  void KeepHeldNumber(const std::string& call_id);
  // A call finished: its number becomes a pending callback, ended when the call ended (not when
  // the effect is carried out: recovery's first tick times out calls whose wait ran out while
  // the daemon was down), or is deleted.
  void EndHeldNumber(const routing::CallRecord& record);
  // The retention job: every config.retention.run_every_minutes on the engine's clock.
  void ArmRetention(MonotonicTime at);
  void RunRetention();
  // Applies the policy files if they differ from the policy in force.
  absl::Status LoadPolicyFiles();
  // Today's codes for a profile's provinces; INVALID_ARGUMENT naming the field for unknown ones.
  absl::Status Canonicalize(routing::CounsellorProfile& profile) const;
  // CreateCounsellor's second half, once the id is known to have no history.
  void InsertCounsellor(routing::CounsellorProfile profile,
                        Reply<v1::CreateCounsellorResponse> reply);
  // The queue summary now (walks every live call: at most once a second).
  v1::QueueSummary QueueSummaryNow();
  // Adds a chart point for every minute that ended since the last one.
  void SampleHistory();
  // While anyone watches the queue, a summary every second.
  void ArmSummaryTimer();
  void ArmTimer();
  void OnTimer();

  const Config& config_;
  asio::io_context& io_;
  Metrics* const metrics_;
  TimeSource& time_;
  std::unique_ptr<Timer> timer_;
  // Now() = wall_anchor_ + (monotonic now - mono_anchor_).
  routing::Timestamp wall_anchor_;
  MonotonicTime mono_anchor_;
  // The last system-clock difference logged, so a step is reported once.
  routing::Millis reported_skew_{0};
  storage::Store& store_;
  Writer& writer_;
  const CallerKeyer& keyer_;
  routing::Engine engine_;
  // See TakeEffects. Empty while taken (a nested take would start a buffer of its own).
  std::vector<routing::Effect> effects_buffer_;

  // Inputs posted and not yet run (Post, Drain). A Drain is queued on `io_` whenever this is not
  // empty.
  std::mutex inbox_mu_;
  std::vector<std::function<void(EngineHost&)>> inbox_;  // Guarded by inbox_mu_.
  // The inputs Drain is running (engine thread only): swapped with inbox_, so both keep their
  // capacity and a burst allocates nothing here.
  std::vector<std::function<void(EngineHost&)>> draining_;
  // What the inputs being handled produced; handed to the writer by Flush().
  Writer::Unit pending_;
  int64_t next_journal_seq_ = 1;
  int64_t records_since_snapshot_ = 0;
  // Whether the journal or the snapshot recovery read holds the engine's settings
  // (set_options, EngineSnapshot.options); if not, Recover records those in force.
  bool options_journaled_ = false;
  std::string recovered_digest_;

  std::map<std::string, std::string> counsellor_by_token_hash_;
  std::map<std::string, std::shared_ptr<DeskStream>> desks_;
  std::map<std::string, std::shared_ptr<GatewayStream>> gateways_;
  // Commands for live calls of a gateway that was not connected, sent when it says hello again.
  // A call's commands go when it finishes, so this holds at most the live calls' latest.
  // Bounded ([limits] undelivered_commands per gateway: the oldest goes first) and expired
  // ([limits] undelivered_command_ms), oldest first.
  struct Undelivered {
    routing::Timestamp at;
    v1::Command command;
  };
  std::map<std::string, std::deque<Undelivered>> undelivered_;
  // Drops a gateway's undelivered commands older than the limit allows; returns how many.
  size_t ExpireUndelivered(std::deque<Undelivered>& waiting, routing::Timestamp now);
  // One line per interval for commands held or dropped for absent gateways, and for arrivals
  // refused for a full queue, not one per command (a burst once wrote 91 MB of log).
  SummaryLog undelivered_log_;
  int64_t undelivered_dropped_ = 0;
  SummaryLog overflow_log_;
  // Events refused and command results ignored: a gateway sending nonsense as fast as it can
  // writes a line per interval, not per message.
  SummaryLog refused_log_;
  SummaryLog ignored_log_;
  // Whether the queue has room for one more arrival ([limits] max_waiting_calls); OK or
  // RESOURCE_EXHAUSTED saying what the gateway should do.
  absl::Status QueueRoom(const std::string& gateway_id, const std::string& call_id);
  // The id of the connect command in force for each connecting call: a result for any other
  // (an older connect's, repeated or late) must not fail the current one.
  std::map<std::string, std::string> connect_ids_;
  // While ReconcileHeld admits a call from a Hello, that call's commands, held back until it is
  // known whether the call stays live (then sent; so it does, even past its maximum wait, for
  // kHeldCallGrace) or was finished at once (then its Welcome result says how).
  const std::string* admitting_ = nullptr;
  std::vector<v1::Command> admitted_commands_;
  // The call finished last and when, and the late dispositions recorded at the engine's latest
  // time (late_at_): where a snapshot's rows end (journal.proto FinishedInCalls).
  std::string last_finished_call_;
  routing::Timestamp last_finished_at_{};
  routing::Timestamp late_at_{};
  std::vector<std::string> late_at_calls_;
  // Unknown province codes already logged (bounded), so a misconfigured gateway logs each once.
  std::set<std::string> unknown_provinces_logged_;

  // The answers of the last day: the plain ones (OK, no message, no reply; most of them) as
  // fingerprints, every other one whole. A key is in one or the other: it is remembered only
  // when neither holds it, and the rows reloaded at start have one answer a key.
  AnswerCache answers_;
  PlainAnswers plain_answers_;

  // The number of the next command id (FirstCommandNumber in engine_host.cc: random per process).
  uint64_t next_command_;
  // The supervisors' live queue. `view_changed_`: an input was handled since the feed last
  // looked (it compares once per Flush: once per engine wake-up, however many inputs it took);
  // the counsellors whose status it may have changed.
  QueueFeed feed_;
  LiveFigures figures_;
  bool view_changed_ = false;
  std::set<std::string> touched_counsellors_;
  std::unique_ptr<Timer> summary_timer_;
  bool summary_armed_ = false;
  // One point a minute over the last hour; the minute (Unix minutes) of the newest.
  std::deque<v1::HistoryPoint> history_;
  int64_t history_minute_ = 0;
  // The engine deadline the timer is armed for: the next one, or an earlier one that went away
  // (ArmTimer leaves it). A completion for another deadline is stale.
  std::optional<routing::Timestamp> armed_for_;
  const CallbackSealer* sealer_ = nullptr;
  std::optional<storage::CallbackHeld> held_number_;
  std::unique_ptr<Timer> retention_timer_;
  // Set by CloseAll: the timer is not armed again, so the engine thread can run out of work.
  bool stopping_ = false;
};

}  // namespace hotline::daemon
