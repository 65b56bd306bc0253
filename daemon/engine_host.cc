#include "daemon/engine_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/post.hpp>
#include <random>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "daemon/convert.h"
#include "daemon/journal.h"
#include "daemon/policy_file.h"
#include "daemon/queue_summary.h"
#include "daemon/services.h"
#include "daemon/status.h"
#include "daemon/text_checks.h"
#include "storage/report_rows.h"

namespace hotline::daemon {

namespace {

// The earliest arrival time a gateway may give, before now (gateway.proto HeldCall.arrived_at).
constexpr routing::Millis kLongestBackdate{24 * 3'600'000};
// The answer to what comes after every stream was closed for shutdown (CloseAll).
absl::Status ShuttingDown() { return absl::UnavailableError("hotlined is shutting down"); }

// How long a call admitted from a Hello has, past its maximum wait, before it times out: the
// gateway resends its unacknowledged events (a caller's hang-up) right after the Welcome, and a
// hang-up that comes first ends the call as the caller did (routing::Engine::CallArrived).
constexpr routing::Millis kHeldCallGrace{10'000};
// How many distinct unknown province codes are logged (one line each).
constexpr size_t kUnknownProvincesLogged = 100;
// An unknown province code with this many digits or more is neither kept on the row nor logged:
// province codes have two, and such a value may be a caller's number (or part of it) sent in the
// wrong field by a misconfigured gateway. A code like "VN-44" or "HCM" is kept, to be diagnosed.
constexpr size_t kFewestDigitsHidden = 4;

v1::CallOutcome ToProtoOutcome(routing::Outcome o) { return static_cast<v1::CallOutcome>(o); }

bool IsFinalEvent(const v1::CallEvent& event) {
  return event.has_caller_hung_up() || event.has_ended() || event.has_failed() ||
         event.has_callback_requested();
}

std::string CommandKind(v1::Command::KindCase kind) {
  switch (kind) {
    case v1::Command::kConnect:
      return "connect";
    case v1::Command::kAnnounce:
      return "announce";
    case v1::Command::kOfferCallback:
      return "offer_callback";
    case v1::Command::kReject:
      return "reject";
    case v1::Command::KIND_NOT_SET:
      break;
  }
  return "unknown";
}

// Answers are stored as (code, message, serialized response); these turn them back.
template <class Response>
absl::StatusOr<Response> Decode(const storage::RequestResult& r) {
  if (r.code != 0) {
    return absl::Status(static_cast<absl::StatusCode>(r.code), r.message);
  }
  Response response;
  if (!response.ParseFromString(r.response)) {
    return absl::DataLossError("a stored answer could not be read");
  }
  return response;
}

}  // namespace

namespace {

// A new epoch of the queue feed for every start: a watcher's resume from another run gets a full
// view (supervisor.proto WatchQueue).
std::string NewEpoch() {
  std::random_device random;
  return absl::StrFormat("%08x%08x", random(), random());
}

// Where this process's command numbers start: at random below 2^48, not at 1, so an id it sends
// is never one an earlier process sent. A result for an earlier process's command (late, or
// answered again by a gateway that remembers its results) then matches none of this one's, as
// gateway.md promises, instead of failing the connect that took its id. Two processes' ranges
// overlap with odds of about 2n in 2^48 for n commands a run (1 in 10^7 at ten million).
uint64_t FirstCommandNumber() {
  std::random_device random;
  const uint64_t bits = (uint64_t{random()} << 32) | random();
  return (bits >> 16) + 1;
}

}  // namespace

EngineHost::EngineHost(const Config& config, asio::io_context& io, storage::Store& store,
                       Writer& writer, const CallerKeyer& keyer, TimeSource& time,
                       Metrics* metrics)
    : config_(config),
      io_(io),
      metrics_(metrics),
      time_(time),
      timer_(time.MakeTimer(io)),
      wall_anchor_(time.SystemTime()),
      mono_anchor_(time.MonotonicNow()),
      store_(store),
      writer_(writer),
      keyer_(keyer),
      engine_(config.engine),
      next_command_(FirstCommandNumber()),
      feed_(QueueFeed::Options{.view_calls = static_cast<size_t>(config.view_calls)}, NewEpoch(),
            [this](std::function<void()> send) { Deliver(std::move(send)); },
            [this] { return QueueSummaryNow(); }),
      summary_timer_(time.MakeTimer(io)),
      retention_timer_(time.MakeTimer(io)) {}

routing::Timestamp EngineHost::Now() const {
  return wall_anchor_ +
         std::chrono::duration_cast<routing::Millis>(time_.MonotonicNow() - mono_anchor_);
}

void EngineHost::ReportClockStep() {
  const routing::Millis skew =
      std::chrono::duration_cast<routing::Millis>(time_.SystemTime() - Now());
  if (std::chrono::abs(skew - reported_skew_) > std::chrono::seconds(1)) {
    reported_skew_ = skew;
    spdlog::warn(
        "the system clock differs from hotlined's by {} ms (a clock step?): timers and records "
        "keep hotlined's clock until the next start",
        skew.count());
  }
}

std::string EngineHost::StateDigest() const { return daemon::StateDigest(engine_.SaveState()); }

// --- Recovery. ---

absl::Status EngineHost::Recover() {
  int64_t last_seq = 0;
  routing::Timestamp last_time{};
  auto snapshot = store_.LoadSnapshot();
  if (!snapshot.ok()) {
    return snapshot.status();
  }
  if (*snapshot) {
    v1::EngineSnapshot state;
    if (!state.ParseFromString((*snapshot)->state)) {
      return absl::DataLossError(
          absl::StrCat("the snapshot after journal record ", (*snapshot)->seq, " is unreadable"));
    }
    routing::EngineState restored = FromSnapshot(state);
    options_journaled_ = restored.options.has_value();
    last_time = restored.now;
    engine_.RestoreState(std::move(restored));
    if (state.has_finished_in_calls()) {
      if (absl::Status s = RememberFinished(state); !s.ok()) {
        return s;
      }
      // Late dispositions recorded in the snapshot's last millisecond: a snapshot this process
      // takes in that same millisecond (recovery's own records, a desk opening) must name them
      // too, or the next recovery takes them for ones made after it.
      const auto& late = state.finished_in_calls().late_at_now();
      if (!late.empty()) {
        late_at_ = last_time;
        late_at_calls_.assign(late.begin(), late.end());
      }
    }
    last_seq = (*snapshot)->seq;
  }
  int64_t replayed = 0;
  const absl::Status read = store_.ReadJournal(last_seq, [&](const storage::JournalEntry& entry) {
    v1::JournalRecord record;
    if (!record.ParseFromString(entry.record)) {
      return absl::DataLossError(absl::StrCat("journal record ", entry.seq, " is unreadable"));
    }
    options_journaled_ = options_journaled_ || record.has_set_options();
    // The record was accepted when it was written; a refusal now means the replay diverged.
    if (absl::Status s = ApplyRecord(engine_, record); !s.ok()) {
      spdlog::error("journal record {} replayed with a different answer: {}", entry.seq,
                    s.ToString());
    }
    // Their rows and messages went out when the record was written; only where the next
    // snapshot's rows end is the daemon's own.
    const routing::Timestamp at = FromProto(record.at());
    std::vector<routing::Effect> effects = TakeEffects();
    for (const routing::Effect& effect : effects) {
      NoteRowsEnd(effect);
    }
    KeepBuffer(std::move(effects));
    last_time = std::max(last_time, at);
    last_seq = entry.seq;
    ++replayed;
    return absl::OkStatus();
  });
  if (!read.ok()) {
    return read;
  }
  next_journal_seq_ = last_seq + 1;
  records_since_snapshot_ = replayed;
  // Every row committed came with the journal records just replayed: the newest is the call the
  // engine finished last.
  auto last_finished = store_.LastFinishedCall();
  if (!last_finished.ok()) {
    return last_finished.status();
  }
  if (*last_finished) {
    last_finished_call_ = (*last_finished)->first;
    last_finished_at_ = routing::FromUnixMillis((*last_finished)->second);
  }
  recovered_digest_ = StateDigest();
  spdlog::info("state digest after recovery: {}", recovered_digest_);
  if (Now() < last_time) {
    // The system clock is behind the journal (stepped back while we were down): journal times
    // never go back, so this run's clock starts where the journal ended.
    spdlog::warn(
        "the system clock is {} ms behind the journal; hotlined's clock starts at the "
        "journal's last time",
        (last_time - Now()).count());
    wall_anchor_ += last_time - Now();
  }
  if (absl::Status s = LoadFigures(); !s.ok()) {
    // Only the supervisors' figures are missing: never a reason not to take calls.
    spdlog::error("the live figures start from zero: {}", s.ToString());
  }
  // Settings changed while the daemon was down (hotline.toml's [routing]), or never journaled (a
  // new database, or one from before they were): journaled before anything this start decides
  // (the desks taken off, the grace and connect timers from the restart), dated at the
  // journal's end, so a replay after a crash decides each record under the settings that
  // decided it.
  if (!options_journaled_ || !(config_.engine == engine_.options())) {
    v1::JournalRecord record;
    *record.mutable_set_options() = ToRecord(config_.engine);
    if (absl::Status s = ApplyAt(record, last_seq == 0 ? Now() : last_time); !s.ok()) {
      return s;
    }
    if (options_journaled_) {
      spdlog::info("routing settings changed since the last run: in force from now");
    }
    options_journaled_ = true;
  }
  // No desk is connected to a process that just started, and none was while it was down: the
  // restart takes the desks off as of the journal's last time, before the timers of the downtime
  // fire, so no call is offered to a desk that died with the process (routing::Engine::Restarted).
  // Every counsellor waiting for their desk gets the whole grace period from now. Regression: the
  // grace counted from the journal's last time, so after a quiet spell longer than it every
  // counsellor was signed out before a desk could reconnect (and the sign-out rows were dated while
  // they were still connected). And no gateway could say Hello: a call whose maximum wait passed
  // meanwhile, or passes within kHeldCallGrace, waits that grace before it times out, so that the
  // hang-up its gateway resends after the Hello ends it first, as for a held call admitted late
  // (GatewayHello). A journal without counsellors or calls (a new database) has no one to wait for,
  // and no time of its own to date the record at.
  if (!engine_.Counsellors().empty() || !engine_.Calls().empty()) {
    v1::JournalRecord record;
    *record.mutable_restarted()->mutable_at() = ToProto(std::max(Now(), last_time));
    record.mutable_restarted()->set_held_calls_grace_ms(kHeldCallGrace.count());
    record.mutable_restarted()->set_due_by_timer(true);
    record.mutable_restarted()->set_past_due_in_grace(true);
    record.mutable_restarted()->set_retime_shortened_wait(true);
    if (absl::Status s = ApplyAt(record, last_time); !s.ok()) {
      return s;
    }
  }
  spdlog::info(
      "recovered {} waiting or live calls and {} counsellors from {} and {} journal "
      "records",
      engine_.Calls().size(), engine_.Counsellors().size(),
      *snapshot ? "a snapshot" : "no snapshot", replayed);

  auto stored = store_.LoadCounsellors();
  if (!stored.ok()) {
    return stored.status();
  }
  for (const auto& c : *stored) {
    counsellor_by_token_hash_[c.token_hash] = c.profile.id;
    if (!engine_.FindCounsellor(c.profile.id)) {
      // Created before the journal existed: bring them into the engine through it.
      v1::JournalRecord record;
      *record.mutable_add_counsellor() = ToProto(c.profile);
      if (absl::Status s = Apply(record); !s.ok()) {
        return s;
      }
    }
  }

  const int64_t since = routing::ToUnixMillis(Now() - kAnswerMemory);
  auto answers = store_.LoadRequestResults(since);
  if (!answers.ok()) {
    return answers.status();
  }
  for (const storage::RequestResult& answer : *answers) {
    RememberAnswer(answer, plain_answers_.Fingerprint(answer.origin, answer.request_id));
  }

  if (absl::Status s = LoadPolicyFiles(); !s.ok()) {
    return s;
  }
  TickTo(Now());
  ArmTimer();
  ArmRetention(time_.MonotonicNow());  // Once at start, then periodically.
  Flush();
  return absl::OkStatus();
}

absl::Status EngineHost::LoadPolicyFiles() {
  auto policy = LoadPolicy(config_.policy_file, config_.regions_file);
  if (!policy.ok()) {
    return policy.status();
  }
  // Repeat callers are remembered no longer than their hashes are kept on disk (retention's
  // callers_days, counted from the answer, as the engine's window is; from the arrival for a call
  // never answered, which is nobody's repeat call). Otherwise the engine would keep a caller the
  // retention has erased, and forget them at the next restart, which rebuilds its memory from
  // the rows. The cut keeps the margin it had when rows were cleared by their arrival: a maximum
  // wait and an offer's ring.
  const routing::Millis kept = std::chrono::duration_cast<routing::Millis>(
                                   std::chrono::hours(24) * config_.retention.callers_days) -
                               config_.engine.max_wait_ms - config_.engine.offer_timeout_ms;
  if (policy->repeat_window_ms > kept) {
    spdlog::warn(
        "repeat_callers.window_ms ({} ms) is longer than retention.callers_days ({} days) keeps "
        "callers' hashes: the window is shortened to {} ms",
        policy->repeat_window_ms.count(), config_.retention.callers_days,
        std::max(kept, routing::Millis(0)).count());
    policy->repeat_window_ms = std::max(kept, routing::Millis(0));
  }
  if (*policy == engine_.policy()) {
    return absl::OkStatus();
  }
  v1::JournalRecord record;
  *record.mutable_set_policy() = ToRecord(*policy);
  if (absl::Status s = Apply(std::move(record)); !s.ok()) {
    return s;
  }
  spdlog::info("policy in force: {}", Summary(engine_.policy()));
  return absl::OkStatus();
}

void EngineHost::ReloadPolicy(Reply<v1::ReloadPolicyResponse> reply) {
  if (absl::Status s = LoadPolicyFiles(); !s.ok()) {
    spdlog::warn("policy reload refused, the policy in force stays: {}", s.ToString());
    pending_.answers.push_back([reply, s] { reply(s); });
    return;
  }
  v1::ReloadPolicyResponse response;
  response.set_summary(Summary(engine_.policy()));
  pending_.answers.push_back([reply, response] { reply(response); });
}

absl::Status EngineHost::Canonicalize(routing::CounsellorProfile& profile) const {
  const routing::Regions& regions = engine_.regions();
  if (regions.empty()) {
    return absl::OkStatus();
  }
  auto canonical = regions.Canonical(profile.home_province);
  if (!canonical) {
    return absl::InvalidArgumentError(absl::StrCat(
        "counsellor.home_province: unknown province code '", profile.home_province, "'"));
  }
  profile.home_province = *canonical;
  std::vector<std::string> provinces;
  for (size_t i = 0; i < profile.provinces.size(); ++i) {
    auto code = regions.Canonical(profile.provinces[i]);
    if (!code) {
      return absl::InvalidArgumentError(absl::StrCat(
          "counsellor.provinces[", i, "]: unknown province code '", profile.provinces[i], "'"));
    }
    if (*code != profile.home_province &&
        std::find(provinces.begin(), provinces.end(), *code) == provinces.end()) {
      provinces.push_back(*code);
    }
  }
  profile.provinces = std::move(provinces);
  return absl::OkStatus();
}

// --- The input path. ---

void EngineHost::Post(std::function<void(EngineHost&)> fn) {
  bool wake = false;
  {
    std::lock_guard lock(inbox_mu_);
    wake = inbox_.empty();  // Otherwise a Drain is queued already and will take this too.
    inbox_.push_back(std::move(fn));
  }
  if (wake) {
    asio::post(io_, [this] { Drain(); });
  }
}

void EngineHost::Drain() {
  {
    std::lock_guard lock(inbox_mu_);
    draining_.swap(inbox_);
  }
  std::vector<std::function<void(EngineHost&)>>& inputs = draining_;
  auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < inputs.size(); ++i) {
    SampleHistory();  // The minutes that ended before this input, as they were.
    inputs[i](*this);
    if (i + 1 == inputs.size()) {
      Flush();  // Its cost is the batch's; counted in the last input's time.
    }
    if (metrics_ != nullptr) {
      const auto now = std::chrono::steady_clock::now();
      metrics_->ObserveDecision(now - started);
      started = now;
    }
  }
  inputs.clear();
}

absl::Status EngineHost::Apply(v1::JournalRecord record) {
  return ApplyAt(std::move(record), Now());
}

absl::Status EngineHost::ApplyAt(v1::JournalRecord record, routing::Timestamp now) {
  if (stopping_) {
    // After CloseAll the streams are closed but the engine still has the desks connected (the
    // next start takes them off): an input in flight as the server stops (a command result, a
    // request) could offer a call to a closed desk, or time a ringing offer out as missed.
    // Neither applied nor journaled: its sender tries again with the next process.
    return ShuttingDown();
  }
  TickTo(now);
  *record.mutable_at() = ToProto(now);
  const absl::Status status = ApplyRecord(engine_, record);
  std::vector<routing::Effect> effects = TakeEffects();
  if (status.ok()) {
    switch (record.input_case()) {  // Counsellors whose status may change with no effect.
      case v1::JournalRecord::kAddCounsellor:
        touched_counsellors_.insert(record.add_counsellor().counsellor_id());
        break;
      case v1::JournalRecord::kUpdateCounsellor:
        touched_counsellors_.insert(record.update_counsellor().counsellor_id());
        break;
      case v1::JournalRecord::kRemoveCounsellor:
        touched_counsellors_.insert(record.remove_counsellor());
        break;
      case v1::JournalRecord::kDeskConnected:
        touched_counsellors_.insert(record.desk_connected());
        break;
      case v1::JournalRecord::kDeskDisconnected:
        touched_counsellors_.insert(record.desk_disconnected());
        break;
      case v1::JournalRecord::kNeverRoute:
        // Journaled with the caller the rule was just made for (the engine is at the record's
        // time, the call still known): a replay needs neither the call remembered nor its row's
        // caller, which retention may clear first.
        if (std::optional<std::string> caller = engine_.CallerOf(record.never_route().call_id());
            caller && record.never_route().caller_key().empty()) {
          record.mutable_never_route()->set_caller_key(*std::move(caller));
        }
        break;
      default:
        break;
    }
    view_changed_ = true;
    if (record.has_call_arrived()) {
      KeepHeldNumber(record.call_arrived().call_id());
    }
    for (const routing::Effect& effect : effects) {
      NoteRowsEnd(effect);  // Before Journal(), which may snapshot: where its rows end.
    }
    Journal(record);
  } else {
    if (!effects.empty()) {
      // An input the engine refuses must change nothing, or the journal would miss a change.
      spdlog::critical("BUG: a refused input had effects: {}", status.ToString());
    }
    // Refused, but the engine came to `now` first, and coming to a time does its housekeeping
    // (forgetting old contacts and finished ids): a tick at the same time replays exactly that.
    v1::JournalRecord tick;
    *tick.mutable_at() = ToProto(now);
    tick.mutable_tick();
    Journal(tick);
  }
  held_number_.reset();  // A refused arrival keeps nothing.
  CarryOut(effects, now);
  KeepBuffer(std::move(effects));
  ArmTimer();
  return status;
}

void EngineHost::TickTo(routing::Timestamp now) {
  const std::optional<routing::Timestamp> due = engine_.NextDeadline();
  if (!due || *due > now) {
    return;  // Nothing due: the engine's state does not change, so nothing to journal.
  }
  engine_.Tick(now);
  view_changed_ = true;  // A ladder step changes a call with no effect.
  std::vector<routing::Effect> effects = TakeEffects();
  for (const routing::Effect& effect : effects) {
    NoteRowsEnd(effect);
  }
  v1::JournalRecord tick;
  *tick.mutable_at() = ToProto(now);
  tick.mutable_tick();
  Journal(tick);
  CarryOut(effects, now);
  KeepBuffer(std::move(effects));
}

std::vector<routing::Effect> EngineHost::TakeEffects() {
  std::vector<routing::Effect> effects = std::move(effects_buffer_);
  effects_buffer_ = {};
  engine_.TakeEffects(effects);
  return effects;
}

void EngineHost::KeepBuffer(std::vector<routing::Effect> effects) {
  effects.clear();
  effects_buffer_ = std::move(effects);
}

void EngineHost::Journal(const v1::JournalRecord& record) {
  pending_.batch.journal.push_back(
      storage::JournalEntry{next_journal_seq_++, routing::ToUnixMillis(FromProto(record.at())),
                            record.SerializeAsString()});
  ++records_since_snapshot_;
  MaybeSnapshot();
}

void EngineHost::MaybeSnapshot() {
  if (records_since_snapshot_ < config_.snapshot_every_records) {
    return;
  }
  Snapshot();
}

void EngineHost::SnapshotAtShutdown() {
  if (records_since_snapshot_ > 0) {
    Snapshot();
  }
}

void EngineHost::Snapshot() {
  // Effects of the current record are taken already, so the state is complete. The engine thread
  // only copies the live state (calls, counsellors, timers: no finished call, whose memory is
  // rebuilt from the `calls` rows this commit ends at); the writer encodes it.
  const routing::Timestamp now = Now();
  auto state = std::make_shared<const routing::EngineState>(engine_.SaveLiveState());
  v1::FinishedInCalls rows;
  rows.set_last_call_id(last_finished_call_);
  *rows.mutable_last_finished_at() = ToProto(last_finished_at_);
  if (late_at_ == state->now) {
    for (const std::string& call_id : late_at_calls_) {
      rows.add_late_at_now(call_id);
    }
  }
  pending_.batch.snapshot =
      storage::Snapshot{next_journal_seq_ - 1, routing::ToUnixMillis(now), std::string()};
  pending_.encode_snapshot = [state, rows = std::move(rows)] {
    return EncodeSnapshot(*state, rows);
  };
  pending_.batch.forget_results_before_ms = routing::ToUnixMillis(now - kAnswerMemory);
  records_since_snapshot_ = 0;
}

void EngineHost::Deliver(std::function<void()> send) { pending_.sends.push_back(std::move(send)); }

void EngineHost::DeliverToDesk(std::shared_ptr<DeskStream> stream, v1::DeskEvent event) {
  if (!writer_.stopped_for_good()) {
    stream->Send(std::move(event));
  }
}

void EngineHost::Flush() {
  ReportClockStep();  // Once per handled input, not at every read of the time.
  const routing::Timestamp now = Now();
  ForgetOldAnswers(now);
  // The desks' events have gone out already (DeliverToDesk). The supervisors' view walks up to
  // supervision.view_calls waiting calls, and its messages go out once these inputs are durable
  // (the writer delivers them after the commit).
  if (view_changed_) {
    view_changed_ = false;
    feed_.Changed(engine_, now, touched_counsellors_);
    touched_counsellors_.clear();
  }
  if (pending_.empty()) {
    return;
  }
  writer_.Submit(std::exchange(pending_, Writer::Unit()));
}

void EngineHost::Barrier(std::function<void()> done) {
  pending_.answers.push_back(std::move(done));
}

// --- Answers. ---

template <class Response>
void EngineHost::Answer(const std::string& principal, const std::string& request_id,
                        const std::function<absl::StatusOr<Response>()>& compute,
                        Reply<Response> reply, const std::function<absl::Status()>& refuse) {
  // Forgotten here too, not only after each input: the first request after a quiet spell must
  // not get an answer older than its day.
  ForgetOldAnswers(Now());
  // A desk's or supervisor's answer is kept under the kind of request too ("desk:lan
  // SubmitDispositionResponse"; each kind has a response type of its own): an id reused for
  // another kind is that request, not a repeat given the first one's answer (read as the wrong
  // type: an empty OK, and nothing done). A gateway's events are one kind, kept as they were.
  const std::string origin = std::is_same_v<Response, v1::EventAck>
                                 ? principal
                                 : absl::StrCat(principal, " ", Response::descriptor()->name());
  const uint64_t fingerprint = plain_answers_.Fingerprint(origin, request_id);
  std::optional<storage::RequestResult> seen;
  if (plain_answers_.Contains(fingerprint)) {
    // OK, no message, no reply: decodes to the default reply. When it was given is not kept.
    seen = storage::RequestResult{origin, request_id, 0, 0, "", ""};
  } else {
    seen = answers_.Find(origin, request_id);
  }
  if (seen) {
    // A repeat: the original answer, once everything before it is durable, and no change.
    pending_.answers.push_back([reply, answer = Decode<Response>(*seen)] { reply(answer); });
    return;
  }
  if (stopping_) {  // Not applied (ApplyAt), and not kept as the request's answer either.
    pending_.answers.push_back([reply] { reply(ShuttingDown()); });
    return;
  }
  if (refuse) {
    if (absl::Status refused = refuse(); !refused.ok()) {
      pending_.answers.push_back([reply, refused] { reply(refused); });
      return;
    }
  }
  const absl::StatusOr<Response> result = compute();
  storage::RequestResult stored{origin,
                                request_id,
                                routing::ToUnixMillis(Now()),
                                static_cast<int>(result.status().code()),
                                std::string(result.status().message()),
                                result.ok() ? result->SerializeAsString() : ""};
  RememberAnswer(stored, fingerprint);
  pending_.batch.results.push_back(std::move(stored));
  pending_.answers.push_back([reply, result] { reply(result); });
}

void EngineHost::RememberAnswer(const storage::RequestResult& answer, uint64_t fingerprint) {
  if (PlainAnswers::IsPlain(answer)) {
    plain_answers_.Remember(fingerprint, answer.at_ms);
  } else {
    answers_.Remember(answer);
  }
}

void EngineHost::ForgetOldAnswers(routing::Timestamp now) {
  const int64_t cut = routing::ToUnixMillis(now - kAnswerMemory);
  answers_.ForgetBefore(cut);
  plain_answers_.ForgetBefore(cut);
}

// --- Effects. ---

void EngineHost::CarryOut(const std::vector<routing::Effect>& effects, routing::Timestamp at) {
  if (effects.empty()) {
    return;
  }
  for (const routing::Effect& effect : effects) {
    std::visit(
        [this](const auto& e) {
          using E = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<E, routing::PresenceChanged>) {
            touched_counsellors_.insert(e.change.counsellor_id);
          } else if constexpr (std::is_same_v<E, routing::CallFinished>) {
            touched_counsellors_.insert(e.record.counsellor_id);
          } else if constexpr (requires { e.counsellor_id; }) {
            touched_counsellors_.insert(e.counsellor_id);
          }
        },
        effect);
    if (const auto* late = std::get_if<routing::DispositionLate>(&effect)) {
      late_recorded_.insert(late->call_id);
    }
    if (const auto* e = std::get_if<routing::OfferMade>(&effect)) {
      spdlog::info("offer call={} counsellor={} step={} eligible={} rule='{}'", e->call.call_id,
                   e->counsellor_id, e->step, e->eligible, e->rule);
    } else if (const auto* f = std::get_if<routing::CallFinished>(&effect)) {
      const routing::CallRecord& r = f->record;
      spdlog::info("call {} finished: {} counsellor={} offers={}", r.call.call_id,
                   routing::Name(r.outcome), r.counsellor_id, r.offers);
      connect_ids_.erase(r.call.call_id);
      EndHeldNumber(r);
      if (metrics_ != nullptr) {
        metrics_->CountFinished(r.outcome);
      }
      if (auto waiting = undelivered_.find(r.call.gateway_id); waiting != undelivered_.end()) {
        std::erase_if(waiting->second,
                      [&](const Undelivered& u) { return u.command.call_id() == r.call.call_id; });
      }
    }
  }
  figures_.Count(effects, at, engine_);
  Translation out = Translate(effects, at, engine_);
  auto append = [](auto& into, auto& from) {
    into.insert(into.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
  };
  append(pending_.batch.calls, out.calls);
  append(pending_.batch.presence, out.presence);
  append(pending_.batch.offers, out.offers);
  append(pending_.batch.late_dispositions, out.late_dispositions);
  for (Message& message : out.messages) {
    if (auto* desk = std::get_if<DeskMessage>(&message)) {
      SendDesk(desk->counsellor_id, std::move(desk->event));
    } else {
      auto& cmd = std::get<GatewayCommand>(message);
      SendCommand(cmd.gateway_id, std::move(cmd.command));
    }
  }
  view_changed_ = true;  // Published once per Flush (per engine wake-up).
}

void EngineHost::NoteRowsEnd(const routing::Effect& effect) {
  if (const auto* f = std::get_if<routing::CallFinished>(&effect)) {
    const routing::CallRecord& r = f->record;
    // When the engine finished it, as its row says (a timer's deadline, not the late tick's
    // time).
    last_finished_call_ = r.call.call_id;
    last_finished_at_ = r.wrap_up_done_at.value_or(r.ended_at);
  } else if (const auto* late = std::get_if<routing::DispositionLate>(&effect)) {
    if (late->at != late_at_) {
      late_at_ = late->at;
      late_at_calls_.clear();
    }
    late_at_calls_.push_back(late->call_id);
  }
}

absl::Status EngineHost::RememberFinished(const v1::EngineSnapshot& snapshot) {
  const v1::FinishedInCalls& through = snapshot.finished_in_calls();
  if (through.last_call_id().empty()) {
    engine_.RememberFinished({});  // No call had finished.
    return absl::OkStatus();
  }
  const routing::Timestamp now = FromProto(snapshot.now());
  const routing::Millis memory = engine_.options().finished_call_memory_ms;
  // What the engine may still remember: ids and fates, owed dispositions, contacts.
  const routing::Timestamp since =
      std::min({now - memory, now - engine_.options().late_disposition_ms,
                FromProto(snapshot.contacts_forgotten_through())});
  auto rows = store_.LoadFinishedCalls(through.last_call_id(),
                                       routing::ToUnixMillis(FromProto(through.last_finished_at())),
                                       routing::ToUnixMillis(since));
  if (!rows.ok()) {
    return absl::DataLossError(absl::StrCat("the snapshot's finished calls cannot be read back: ",
                                            rows.status().message()));
  }
  const std::set<std::string> late_at_now(through.late_at_now().begin(),
                                          through.late_at_now().end());
  const int64_t now_ms = routing::ToUnixMillis(now);
  std::vector<routing::FinishedCall> calls;
  calls.reserve(rows->size());
  for (const storage::FinishedRow& row : *rows) {
    const routing::CallRecord& r = row.record;
    routing::FinishedCall& f = calls.emplace_back();
    f.finished_at = r.wrap_up_done_at.value_or(r.ended_at);
    f.call_id = r.call.call_id;
    f.caller_key = r.call.caller_key;
    f.gateway_id = r.call.gateway_id;
    f.outcome = r.outcome;
    f.counsellor_id = r.counsellor_id;
    f.answered_at = r.answered_at;
    f.wrap_up_done_at = r.wrap_up_done_at;
    // A disposition recorded late after the snapshot is in the row already: the journal
    // replays it.
    const std::optional<int64_t> late = row.late_disposition_at_ms;
    const bool after =
        late && (*late > now_ms || (*late == now_ms && !late_at_now.contains(f.call_id)));
    if (r.disposition && !after) {
      f.category = r.disposition->category;
    }
  }
  engine_.RememberFinished(calls);
  return absl::OkStatus();
}

std::optional<routing::FinishedFate> EngineHost::RecentFate(std::string_view call_id) const {
  std::optional<routing::FinishedFate> fate = engine_.FindFinished(call_id);
  // The engine forgets a call a day after it finished, but only at its next input: answered now
  // as the engine would answer at this time.
  if (fate && fate->finished_at <= Now() - engine_.options().finished_call_memory_ms) {
    return std::nullopt;
  }
  return fate;
}

void EngineHost::SendCommand(const std::string& gateway_id, v1::Command command) {
  if (admitting_ != nullptr && command.call_id() == *admitting_) {
    admitted_commands_.push_back(std::move(command));  // ReconcileHeld decides.
    return;
  }
  // The id names the kind and the call, so a result is understood even after a restart.
  command.set_command_id(
      absl::StrCat(CommandKind(command.kind_case()), "/", command.call_id(), "/", next_command_++));
  if (command.has_connect()) {
    connect_ids_[command.call_id()] = command.command_id();
  }
  const std::shared_ptr<GatewayStream> gateway = OpenGateway(gateway_id);
  if (gateway == nullptr) {
    const routing::Timestamp now = Now();
    if (!command.has_offer_callback()) {
      // (An offer_callback's call is finished: its fate, callback included, answers the
      // gateway's next Hello.)
      auto& waiting = undelivered_[gateway_id];
      undelivered_dropped_ += static_cast<int64_t>(ExpireUndelivered(waiting, now));
      if (command.has_announce()) {
        // Only the latest position is worth telling a caller.
        std::erase_if(waiting, [&](const Undelivered& u) {
          return u.command.has_announce() && u.command.call_id() == command.call_id();
        });
      }
      if (waiting.size() >= static_cast<size_t>(config_.limits.undelivered_commands)) {
        waiting.pop_front();
        ++undelivered_dropped_;
      }
      waiting.push_back({now, std::move(command)});
    }
    if (int64_t n = undelivered_log_.Count(now); n > 0) {
      spdlog::warn(
          "gateway '{}' is not connected: {} command(s) since the last such line wait for gateways "
          "to say hello ({} held for it; {} dropped, past [limits] undelivered_commands or "
          "undelivered_command_ms)",
          gateway_id, n, undelivered_[gateway_id].size(), std::exchange(undelivered_dropped_, 0));
    }
    return;
  }
  v1::HotlineMessage msg;
  *msg.mutable_command() = std::move(command);
  Deliver([stream = gateway, msg = std::move(msg)] { stream->Send(msg); });
}

std::shared_ptr<GatewayStream> EngineHost::OpenGateway(const std::string& gateway_id) {
  auto it = gateways_.find(gateway_id);
  if (it == gateways_.end()) {
    return nullptr;
  }
  if (it->second->closing()) {
    // Revoked, rotated out or cut off, and not yet ended: a gateway that does not read holds its
    // end up for good (the final status waits behind the write in flight). It is away: what it
    // would be sent waits for its next Hello, not in a stream that will never carry it.
    GatewayClosed(it->second);
    return nullptr;
  }
  return it->second;
}

size_t EngineHost::ExpireUndelivered(std::deque<Undelivered>& waiting, routing::Timestamp now) {
  const routing::Timestamp oldest = now - routing::Millis(config_.limits.undelivered_command_ms);
  size_t expired = 0;
  while (!waiting.empty() && waiting.front().at < oldest) {
    waiting.pop_front();
    ++expired;
  }
  return expired;
}

absl::Status EngineHost::QueueRoom(const std::string& gateway_id, const std::string& call_id) {
  int64_t waiting = 0;
  for (auto p : {routing::Priority::kLow, routing::Priority::kNormal, routing::Priority::kHigh,
                 routing::Priority::kEmergency}) {
    waiting += engine_.CountWaiting(p);
  }
  if (waiting < config_.limits.max_waiting_calls) {
    return absl::OkStatus();
  }
  if (int64_t n = overflow_log_.Count(Now()); n > 0) {
    spdlog::warn("the queue is full ({} waiting, [limits] max_waiting_calls): {} arrival(s) "
                 "refused since the last such line, the latest call {} of gateway '{}'",
                 waiting, n, call_id, gateway_id);
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "the queue is full (", config_.limits.max_waiting_calls,
      " calls waiting): the call is not queued; play the overflow message"));
}

void EngineHost::SendDesk(const std::string& counsellor_id, v1::DeskEvent event) {
  auto it = desks_.find(counsellor_id);
  if (it != desks_.end()) {
    DeliverToDesk(it->second, std::move(event));
  }
}

v1::QueueSummary EngineHost::QueueSummaryNow() {
  return BuildSummary(SummaryInput{.engine = engine_,
                                   .now = Now(),
                                   .view_calls = static_cast<size_t>(config_.view_calls),
                                   .storage_serving = writer_.healthy(),
                                   .figures = figures_.Figures(Now()),
                                   .history = history_});
}

void EngineHost::SampleHistory() {
  const int64_t minute = routing::ToUnixMillis(Now()) / 60'000;
  if (history_minute_ == 0) {
    history_minute_ = minute;  // The first minute is not over yet.
    return;
  }
  if (minute <= history_minute_) {
    return;
  }
  // Nothing was handled since the last point, so every minute since ended as the state is now.
  int waiting = 0;
  for (auto p : {routing::Priority::kLow, routing::Priority::kNormal, routing::Priority::kHigh,
                 routing::Priority::kEmergency}) {
    waiting += engine_.CountWaiting(p);
  }
  for (int64_t m = std::max(history_minute_ + 1, minute - static_cast<int64_t>(kHistoryPoints));
       m <= minute; ++m) {
    v1::HistoryPoint point;
    *point.mutable_at() = ToProto(routing::FromUnixMillis(m * 60'000));
    point.set_waiting(waiting);
    if (const auto level = figures_.ServiceLevel(routing::FromUnixMillis(m * 60'000))) {
      point.set_service_level(*level);
    }
    history_.push_back(std::move(point));
  }
  while (history_.size() > kHistoryPoints) {
    history_.pop_front();
  }
  history_minute_ = minute;
}

absl::Status EngineHost::LoadFigures() {
  const routing::Timestamp now = Now();
  const routing::Timestamp from =
      std::min(LocalMidnight(now), stats::MinuteStart(now) - routing::Millis(15 * 60'000));
  auto reader = storage::ReportReader::Open(config_.database);
  if (!reader.ok()) {
    return reader.status();
  }
  std::map<std::string, routing::CounsellorProfile> profiles;
  for (routing::CounsellorView& c : engine_.Counsellors()) {
    profiles.emplace(c.profile.id, std::move(c.profile));
  }
  auto profile = [&](const std::string& id) -> const routing::CounsellorProfile* {
    auto it = profiles.find(id);
    return it == profiles.end() ? nullptr : &it->second;
  };
  int calls = 0;
  absl::Status read = (*reader)->Read(
      from, now + routing::Millis(1),
      [&](const routing::CallRecord& r) {
        if (r.answered_at && *r.answered_at >= from) {
          figures_.CountAnswer(r.call, *r.answered_at, profile(r.counsellor_id),
                               engine_.regions());
        }
        figures_.CountFinished(r);  // Its handling or unanswered wait: in the period.
        ++calls;
        return absl::OkStatus();
      },
      [&](const routing::PresenceChange& change) {
        figures_.CountPresence(change.counsellor_id, change.state, change.at);
        return absl::OkStatus();
      });
  if (!read.ok()) {
    return read;
  }
  // Answered before the restart and not finished: in the engine, not yet in the database.
  for (const routing::CallView& call : engine_.Calls(0)) {
    if (call.answered_at && *call.answered_at >= from) {
      figures_.CountAnswer(call.info, *call.answered_at, profile(call.counsellor_id),
                           engine_.regions());
    }
  }
  spdlog::info("live figures: {} calls of today from the database", calls);
  return absl::OkStatus();
}

void EngineHost::CountForMetrics(std::function<void()> done) {
  // Not through Post: a scrape is not an input, and must not count as a decision.
  asio::post(io_, [this, done = std::move(done)] {
    CountForMetricsNow();
    done();
  });
}

void EngineHost::CountForMetricsNow() {
  if (metrics_ == nullptr) {
    return;
  }
  for (auto p : {routing::Priority::kLow, routing::Priority::kNormal, routing::Priority::kHigh,
                 routing::Priority::kEmergency}) {
    metrics_->SetWaiting(p, engine_.CountWaiting(p));
  }
  std::map<routing::CounsellorState, int64_t> states;
  for (auto s : {routing::CounsellorState::kOffline, routing::CounsellorState::kAvailable,
                 routing::CounsellorState::kReserved, routing::CounsellorState::kOnCall,
                 routing::CounsellorState::kWrapUp, routing::CounsellorState::kBreak}) {
    states[s] = 0;
  }
  for (const routing::CounsellorView& c : engine_.Counsellors()) {
    ++states[c.state];
  }
  for (const auto& [state, n] : states) {
    metrics_->SetCounsellors(state, n);
  }
}

void EngineHost::ArmSummaryTimer() {
  if (stopping_ || summary_armed_ || !feed_.watched()) {
    return;
  }
  summary_armed_ = true;
  summary_timer_->ArmAt(time_.MonotonicNow() + std::chrono::seconds(1), [this] {
    summary_armed_ = false;
    if (stopping_ || !feed_.watched()) {
      return;
    }
    SampleHistory();
    feed_.Summarize(QueueSummaryNow(), Now());
    Flush();
    ArmSummaryTimer();
  });
}

// --- Time. ---

void EngineHost::ArmTimer() {
  if (stopping_) {
    return;
  }
  const std::optional<routing::Timestamp> next = engine_.NextDeadline();
  // Armed for the same deadline or an earlier one: left as it is. Most inputs end the timers of
  // a call (its announcements, its ladder, its wait) or add later ones, and re-arming for each
  // costs a system call; a timer that fires before anything is due finds nothing to do (TickTo)
  // and arms for the deadline then next (OnTimer).
  if (!next || (armed_for_ && *armed_for_ <= *next)) {
    return;
  }
  armed_for_ = next;
  // Scheduled on the monotonic clock: the engine's time advances with it (see Now()), so a step
  // of the system clock neither delays nor hastens a timer.
  const MonotonicTime at =
      mono_anchor_ + std::chrono::duration_cast<MonotonicTime::duration>(*next - wall_anchor_);
  timer_->ArmAt(at, [this, deadline = *next] {
    // A completion already queued when the timer was re-armed or cancelled still runs: only the
    // one for the deadline armed now counts.
    if (armed_for_ != deadline) {
      return;
    }
    armed_for_.reset();
    SampleHistory();  // The minutes that ended before the timers change anything.
    OnTimer();
    Flush();
  });
}

void EngineHost::OnTimer() {
  // Never past the clock: the engine's time is the daemon's, which has reached the deadline.
  TickTo(Now());
  ArmTimer();
}

// --- Gateways. ---

void EngineHost::GatewayHello(std::shared_ptr<GatewayStream> stream, const v1::Hello& hello) {
  const std::string& gateway_id = hello.gateway_id();
  if (stopping_) {  // Said after every stream was closed for shutdown: it says it again later.
    stream->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "hotlined is shutting down"));
    return;
  }
  if (stream->closing()) {
    // Dropped, revoked or rotated since its Hello was read: the gateway says it again on its
    // next stream, and is reconciled then.
    return;
  }
  auto& slot = gateways_[gateway_id];
  if (slot != nullptr && slot != stream) {
    slot->Close(grpc::Status(grpc::StatusCode::ABORTED,
                             "replaced by a newer stream for the same gateway_id"));
  }
  slot = stream;
  spdlog::info("gateway '{}' connected, holding {} calls", gateway_id, hello.held_calls_size());
  // The welcome goes first, and carries what reconciliation decides: its place in the sends is
  // taken now, its content filled in below (before the unit reaches the writer).
  auto welcome = std::make_shared<v1::HotlineMessage>();
  welcome->mutable_welcome()->set_gateway_id(gateway_id);
  Deliver([stream, welcome] { stream->Send(*welcome); });
  Reconcile(gateway_id, hello, *welcome->mutable_welcome());
}

void EngineHost::Reconcile(const std::string& gateway_id, const v1::Hello& hello,
                           v1::Welcome& welcome) {
  std::set<std::string> held;
  for (const auto& call : hello.held_calls()) {
    held.insert(call.call_id());
  }
  // Calls only we know: the gateway lost them (a call whose final event is unacknowledged is
  // still listed, so this is never a hang-up that got lost on the way), or carried out a final
  // command we lost: an offer_callback sent while the database refused commits, whose time-out
  // was lost with a stop. So one whose maximum wait passed while the restart's grace put its
  // time-out off (routing::Engine::CallFailed, due_in_grace) ends TIMED_OUT, its callback owed.
  for (const auto& call : engine_.Calls()) {
    if (call.info.gateway_id != gateway_id || call.state == routing::CallState::kEnded ||
        held.contains(call.info.call_id)) {
      continue;
    }
    v1::JournalRecord record;
    record.mutable_call_failed()->set_call_id(call.info.call_id);
    record.mutable_call_failed()->set_reason("reconciled: the gateway no longer holds the call");
    record.mutable_call_failed()->set_times_out_past_max_wait(true);
    if (absl::Status s = Apply(record); !s.ok()) {
      spdlog::warn("reconciling call {}: {}", call.info.call_id, s.ToString());
    }
  }
  // Commands that waited for this gateway, for calls still live. A connect only while it is its
  // call's connect: one that timed out meanwhile would ring a counsellor the call has left.
  std::set<std::string> connect_pending;
  auto waiting = std::exchange(undelivered_[gateway_id], {});
  undelivered_.erase(gateway_id);
  ExpireUndelivered(waiting, Now());
  std::erase_if(waiting, [&](const Undelivered& u) {
    if (!u.command.has_connect()) {
      return false;
    }
    const std::optional<routing::CallView> call = engine_.FindCall(u.command.call_id());
    const auto current = connect_ids_.find(u.command.call_id());
    return !call || call->state != routing::CallState::kConnecting ||
           call->counsellor_id != u.command.connect().counsellor_id() ||
           current == connect_ids_.end() || current->second != u.command.command_id();
  });
  // The stream may have closed during the reconciliation above: the commands wait on for its
  // next Hello.
  const std::shared_ptr<GatewayStream> gateway = OpenGateway(gateway_id);
  if (gateway == nullptr) {
    for (const Undelivered& u : waiting) {
      if (u.command.has_connect()) {
        connect_pending.insert(u.command.call_id());  // Held, not asked for again below.
      }
    }
    undelivered_[gateway_id] = std::move(waiting);
    waiting.clear();
  }
  for (auto& [at, command] : waiting) {
    if (!engine_.FindCall(command.call_id())) {
      continue;  // Finished meanwhile: its fate answers the Hello instead.
    }
    if (command.has_connect()) {
      connect_pending.insert(command.call_id());
    }
    v1::HotlineMessage msg;
    *msg.mutable_command() = std::move(command);
    Deliver([stream = gateway, msg] { stream->Send(msg); });
  }
  for (int i = 0; i < hello.held_calls_size(); ++i) {
    *welcome.add_held_calls() = ReconcileHeld(
        gateway_id, hello.held_calls(i), absl::StrCat("hello.held_calls[", i, "]"), connect_pending);
  }
}

v1::HeldCallResult EngineHost::ReconcileHeld(const std::string& gateway_id,
                                             const v1::HeldCall& held,
                                             const std::string& field,
                                             const std::set<std::string>& connect_pending) {
  v1::HeldCallResult result;
  const std::string& call_id = held.call_id();
  result.set_call_id(EchoId(call_id, kLongestCallId));
  auto refuse = [&](const absl::Status& status) {
    spdlog::warn("gateway '{}' holds a call that cannot be taken: {}", gateway_id,
                 status.ToString());
    result.set_fate(v1::HeldCallResult::FATE_REFUSED);
    result.set_code(static_cast<int>(status.code()));
    result.set_message(std::string(status.message()));
    return result;
  };
  // The envelope, checked as an event's is (ValidateEvent): an id Hotline cannot key refuses
  // the entry, and so does an arrival time that is no timestamp, but only for a call to admit
  // (below): a call Hotline knows is answered whatever the gateway says it arrived at, since
  // refusing a live call would leave it routed while the gateway gives it up. Its `arrived` is
  // never refused: it is read like a CallArrived event's, with defaults for what is malformed.
  if (absl::Status s = ValidateId(call_id, field + ".call_id", kLongestCallId); !s.ok()) {
    return refuse(s);
  }
  if (auto known = engine_.FindCall(call_id)) {
    if (known->info.gateway_id != gateway_id) {
      return refuse(absl::PermissionDeniedError(
          absl::StrCat(field, ".call_id: '", call_id, "' belongs to another gateway")));
    }
    if (known->state == routing::CallState::kConnecting && !connect_pending.contains(call_id)) {
      // The connect may have been lost with the old stream or process: ask again (a gateway
      // treats a repeated connect for the same counsellor as done).
      auto counsellor = engine_.FindCounsellor(known->counsellor_id);
      v1::Command cmd;
      cmd.set_call_id(call_id);
      cmd.mutable_connect()->set_counsellor_id(known->counsellor_id);
      cmd.mutable_connect()->set_endpoint(counsellor ? counsellor->profile.endpoint : "");
      SendCommand(gateway_id, std::move(cmd));
    }
    result.set_fate(v1::HeldCallResult::FATE_LIVE);
    result.set_state(static_cast<v1::CallState>(known->state));
    return result;
  }
  // How the call ended, and the callback to offer when its maximum wait passed.
  auto finished = [&](const routing::FinishedFate& fate) {
    result.set_fate(v1::HeldCallResult::FATE_FINISHED);
    result.set_outcome(ToProtoOutcome(fate.outcome));
    if (fate.offer_callback) {
      v1::Command* cmd = result.mutable_command();
      cmd->set_call_id(call_id);
      cmd->mutable_offer_callback();
      cmd->set_command_id(absl::StrCat("offer_callback/", call_id, "/", next_command_++));
    }
    return result;
  };
  if (auto fate = RecentFate(call_id)) {
    if (fate->gateway_id != gateway_id) {
      return refuse(absl::PermissionDeniedError(
          absl::StrCat(field, ".call_id: '", call_id, "' belongs to another gateway")));
    }
    return finished(*fate);
  }
  // Only the gateway knows the call: admitted with its original arrival time, room permitting.
  if (held.has_arrived_at()) {
    if (absl::Status s = ValidateTimestamp(held.arrived_at(), field + ".arrived_at"); !s.ok()) {
      return refuse(s);
    }
  }
  if (absl::Status room = QueueRoom(gateway_id, call_id); !room.ok()) {
    result.set_fate(v1::HeldCallResult::FATE_REFUSED);
    result.set_code(static_cast<int>(room.code()));
    result.set_message(std::string(room.message()));
    return result;
  }
  std::optional<routing::Timestamp> arrived_at;
  if (held.has_arrived_at()) {
    arrived_at = FromProto(held.arrived_at());  // Bounded by ArrivalRecord.
  }
  // The gateway may list the call because its caller's hang-up is not acknowledged yet, and
  // resend that right after the Welcome: the call does not time out before kHeldCallGrace, even
  // when its maximum wait has passed, so the hang-up ends it as the caller did. Timed out at
  // once, such a call was recorded timed out with a callback nobody asked for.
  v1::JournalRecord arrival = ArrivalRecord(gateway_id, call_id, held.arrived(), arrived_at);
  *arrival.mutable_call_arrived()->mutable_times_out_not_before() = ToProto(Now() + kHeldCallGrace);
  // The call's commands wait until it is known whether it stays: one the engine finished at once
  // has its Welcome result carry how, so no announcement is sent for it.
  admitting_ = &call_id;
  const absl::Status s = Apply(std::move(arrival));
  admitting_ = nullptr;
  std::vector<v1::Command> held_back = std::exchange(admitted_commands_, {});
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    // Not live, so finished within the engine's memory, but its fate is not known (it finished
    // before this daemon kept fates): finished, outcome unknown, nothing to carry out.
    result.set_fate(v1::HeldCallResult::FATE_FINISHED);
    return result;
  }
  if (!s.ok()) {
    return refuse(s);
  }
  if (auto admitted = engine_.FindCall(call_id)) {
    for (v1::Command& command : held_back) {
      SendCommand(gateway_id, std::move(command));
    }
    result.set_fate(v1::HeldCallResult::FATE_ADMITTED);
    result.set_state(static_cast<v1::CallState>(admitted->state));
    return result;
  }
  // Finished at once by the engine (none does today: even past its maximum wait, an admitted
  // call waits kHeldCallGrace): the Welcome says how.
  auto fate = RecentFate(call_id);
  if (!fate) {
    spdlog::critical("BUG: call {} admitted from a hello is neither live nor finished", call_id);
    result.set_fate(v1::HeldCallResult::FATE_ADMITTED);
    return result;
  }
  return finished(*fate);
}

v1::JournalRecord EngineHost::ArrivalRecord(const std::string& gateway_id,
                                            const std::string& call_id,
                                            const v1::CallArrived& arrived,
                                            std::optional<routing::Timestamp> arrived_at) {
  std::vector<std::string> defaulted;
  routing::CallInfo info = ParseArrival(arrived, &defaulted);
  if (!defaulted.empty()) {
    spdlog::warn("gateway '{}' call {}: {} malformed or unset; routed with defaults", gateway_id,
                 call_id, absl::StrJoin(defaulted, ", "));
  }
  // Gateways may still send a pre-2025 code: it means today's province that absorbed it.
  if (!engine_.regions().empty() && !info.province_unknown) {
    if (auto province = engine_.regions().Canonical(info.province)) {
      info.province = *province;
    } else {
      info.province_unknown = true;
    }
  }
  if (info.province_unknown &&
      static_cast<size_t>(std::count_if(info.province.begin(), info.province.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) >= kFewestDigitsHidden) {
    // Its length alone is logged, once for each gateway and length.
    const std::string length = absl::StrCat(info.province.size(), " characters");
    if (unknown_provinces_logged_.size() < kUnknownProvincesLogged &&
        unknown_provinces_logged_.insert(absl::StrCat(gateway_id, "\n", length)).second) {
      spdlog::warn(
          "gateway '{}' sent a province of {}, not a province code (not kept or shown: it may be "
          "a caller's number in the wrong field): such calls route at national scope and are "
          "marked on their row",
          gateway_id, length);
    }
    info.province.clear();
  } else if (info.province_unknown && unknown_provinces_logged_.size() < kUnknownProvincesLogged &&
             unknown_provinces_logged_.insert(absl::StrCat(gateway_id, "\n", info.province))
                 .second) {
    spdlog::warn(
        "gateway '{}' sent unknown province code '{}' (deploy/regions.toml lists the "
        "codes): such calls route at national scope and are marked on their row",
        gateway_id, info.province);
  }
  // The raw number stops here: only its keyed hash and masked form go on.
  if (!info.caller_withheld) {
    info.caller_key = keyer_.Key(arrived.caller_number());
    info.caller_masked = CallerKeyer::Mask(arrived.caller_number());
  }
  info.call_id = call_id;
  info.gateway_id = gateway_id;
  // A gateway's clock may be wrong: never after ours, never more than a day before it.
  const routing::Timestamp now = Now();
  info.arrived_at = std::clamp(arrived_at.value_or(now), now - kLongestBackdate, now);
  held_number_.reset();
  if (!info.caller_withheld) {
    HoldCallbackNumber(info, arrived.caller_number());  // Sealed: the number goes no further.
  }
  v1::JournalRecord record;
  *record.mutable_call_arrived() = ToRecord(info);
  return record;
}

void EngineHost::GatewayEvent(std::shared_ptr<GatewayStream> stream, const v1::CallEvent& event) {
  const std::string origin = absl::StrCat("gateway:", stream->gateway_id);
  Answer<v1::EventAck>(
      origin, event.event_id(),
      [&]() -> absl::StatusOr<v1::EventAck> {
        std::string note;
        const absl::Status status = HandleEvent(*stream, event, note);
        if (!status.ok()) {
          if (int64_t n = refused_log_.Count(Now()); n > 0) {
            spdlog::warn("gateway '{}' event {} refused: {} ({} event(s) refused since the last "
                         "such line)",
                         stream->gateway_id, event.event_id(), status.ToString(), n);
          }
          return status;
        }
        v1::EventAck ack;
        ack.set_message(note);
        return ack;
      },
      [stream, event_id = event.event_id()](const absl::StatusOr<v1::EventAck>& result) {
        v1::HotlineMessage msg;
        msg.mutable_ack()->set_event_id(event_id);
        msg.mutable_ack()->set_code(static_cast<int>(result.status().code()));
        msg.mutable_ack()->set_message(result.ok() ? result->message()
                                                   : std::string(result.status().message()));
        stream->Send(std::move(msg));
      },
      // A new arrival when the queue is full: refused, and not remembered (a resend once there
      // is room is taken), so a flood of refusals grows nothing. A repeat of an arrival already
      // answered, or an arrival of a call already known, is answered as before whatever the
      // queue's length.
      [&]() -> absl::Status {
        if (!event.has_arrived() || engine_.FindCall(event.call_id())) {
          return absl::OkStatus();
        }
        return QueueRoom(stream->gateway_id, event.call_id());
      });
}

absl::Status EngineHost::HandleEvent(const GatewayStream& stream, const v1::CallEvent& event,
                                     std::string& ack_message) {
  const std::string& call_id = event.call_id();
  v1::JournalRecord record;
  switch (event.kind_case()) {
    case v1::CallEvent::kArrived: {
      std::optional<routing::Timestamp> occurred_at;
      if (event.has_occurred_at()) {
        occurred_at = FromProto(event.occurred_at());
      }
      record = ArrivalRecord(stream.gateway_id, call_id, event.arrived(), occurred_at);
      break;
    }
    case v1::CallEvent::kCallerHungUp:
      record.set_caller_hung_up(call_id);
      break;
    case v1::CallEvent::kConnected:
      record.set_call_connected(call_id);
      break;
    case v1::CallEvent::kEnded:
      record.set_call_ended(call_id);
      break;
    case v1::CallEvent::kFailed:
      record.mutable_call_failed()->set_call_id(call_id);
      record.mutable_call_failed()->set_reason(event.failed().reason());
      break;
    case v1::CallEvent::kCallbackRequested:
      record.set_callback_requested(call_id);
      break;
    case v1::CallEvent::KIND_NOT_SET:
      return absl::InvalidArgumentError("event.kind: is required");
  }
  if (!record.has_call_arrived()) {
    // The timers due by now fire first, as Apply would fire them: the call is looked at as the
    // event will find it. Regression (a black-box crash test, 1 run in 34): a hang-up read after
    // the call's maximum wait but before its timer ran found the call live, so its fate was not
    // asked; Apply's tick then timed the call out and the hang-up was refused NOT_FOUND "no live
    // call" (and kept as the event's answer) instead of acknowledged as already finished.
    TickTo(Now());
    // Only the gateway that owns a call may report on it.
    auto call = engine_.FindCall(call_id);
    if (call && call->info.gateway_id != stream.gateway_id) {
      return absl::PermissionDeniedError(
          absl::StrCat("call_id: '", call_id, "' belongs to another gateway"));
    }
    if (call && call->state == routing::CallState::kEnded && IsFinalEvent(event)) {
      // The line is closed and the counsellor is writing it up: a second word of its end (resent
      // under a new event id) changes nothing.
      ack_message = absl::StrCat("call '", call_id, "' had already ended");
      return absl::OkStatus();
    }
    std::optional<routing::FinishedFate> fate;
    if (!call && IsFinalEvent(event)) {
      fate = RecentFate(call_id);
    }
    if (fate && fate->gateway_id == stream.gateway_id) {
      // Resent after a reconnect, or overtaken by a time-out while the gateway was away: the
      // call is over either way, and the answer it would have had is OK.
      ack_message = absl::StrCat(
          "call '", call_id, "' had already finished: ", std::string(routing::Name(fate->outcome)));
      return absl::OkStatus();
    }
  }
  return Apply(std::move(record));
}

void EngineHost::GatewayCommandResult(std::shared_ptr<GatewayStream> stream,
                                      const v1::CommandResult& result) {
  // "<kind>/<call_id>/<n>": see SendCommand.
  const std::vector<std::string> parts = absl::StrSplit(result.command_id(), '/');
  if (parts.size() != 3) {
    spdlog::warn("gateway '{}' answered unknown command '{}'", stream->gateway_id,
                 Excerpt(result.command_id()));
    return;
  }
  if (parts[0] != "connect") {
    return;
  }
  if (auto current = connect_ids_.find(parts[1]);
      current == connect_ids_.end() || current->second != result.command_id()) {
    spdlog::info("gateway '{}' answered connect {}, which is no longer the call's connect; ignored",
                 stream->gateway_id, Excerpt(result.command_id()));
    return;
  }
  if (result.has_done()) {
    return;
  }
  if (auto call = engine_.FindCall(parts[1]); call && call->info.gateway_id != stream->gateway_id) {
    spdlog::warn("gateway '{}' answered a command for call {} of another gateway; ignored",
                 stream->gateway_id, parts[1]);
    return;
  }
  v1::JournalRecord record;
  record.mutable_connect_failed()->set_call_id(parts[1]);
  record.mutable_connect_failed()->set_reason(ConnectFailureReason(result));
  if (absl::Status s = Apply(std::move(record)); !s.ok()) {
    spdlog::warn("connect result for call {}: {}", parts[1], s.ToString());
  }
}

void EngineHost::GatewayRefused(std::shared_ptr<GatewayStream> stream, v1::HotlineMessage answer) {
  if (int64_t n = refused_log_.Count(Now()); n > 0) {
    spdlog::warn("gateway '{}' event refused: {} ({} event(s) refused since the last such line)",
                 stream->gateway_id, answer.ack().message(), n);
  }
  // An answer like any ack: after the acks of the events before it, even while writes fail.
  pending_.answers.push_back([stream, answer = std::move(answer)] { stream->Send(answer); });
}

void EngineHost::GatewayResultIgnored(const std::string& gateway_id, const std::string& why) {
  if (int64_t n = ignored_log_.Count(Now()); n > 0) {
    spdlog::warn("gateway '{}' sent a command result that was ignored: {} ({} ignored since the "
                 "last such line)",
                 gateway_id, why, n);
  }
}

void EngineHost::GatewayClosed(std::shared_ptr<GatewayStream> stream) {
  auto it = gateways_.find(stream->gateway_id);
  if (it != gateways_.end() && it->second == stream) {
    gateways_.erase(it);
    spdlog::info("gateway '{}' disconnected", stream->gateway_id);
  }
}

void EngineHost::GatewayWritesDone(std::shared_ptr<GatewayStream> stream) {
  GatewayClosed(stream);
  // Answers go out in order, after the commit of all before them: the end comes after the last.
  pending_.answers.push_back([stream] { stream->Close(grpc::Status::OK); });
}

// --- Desks. ---

absl::StatusOr<std::string> EngineHost::CounsellorFor(const std::string& token) const {
  if (!token.empty()) {
    auto it = counsellor_by_token_hash_.find(TokenHash(token));
    if (it != counsellor_by_token_hash_.end()) {
      return it->second;
    }
  }
  // The same words as every other role's refusal (services.cc): a desk's answer must not tell
  // a token of another role, or one revoked, from one nobody has.
  return absl::UnauthenticatedError(kUnauthenticated.error_message());
}

void EngineHost::DeskOpened(std::shared_ptr<DeskStream> stream, const std::string& token) {
  if (stopping_) {  // Opened after every stream was closed for shutdown: not signed in.
    stream->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "hotlined is shutting down"));
    return;
  }
  auto id = CounsellorFor(token);
  if (!id.ok()) {
    stream->Close(ToGrpc(id.status()));
    return;
  }
  stream->principal = *id;
  auto& slot = desks_[*id];
  if (slot != nullptr && slot != stream) {
    slot->Close(grpc::Status(grpc::StatusCode::ABORTED, "replaced by a newer desk"));
    // An offer ringing on the old desk cannot be shown on this one (the presence below names
    // the call but carries no offer): it is withdrawn as if that desk had gone first, not
    // missed, and the connection below offers again. The disconnection also lets the repeat
    // callers held for the counsellor go on to others, as a dropped desk does. Any other state
    // the presence shows whole, so there the desk is replaced without a disconnection.
    const auto c = engine_.FindCounsellor(*id);
    if (c && c->state == routing::CounsellorState::kReserved) {
      v1::JournalRecord gone;
      gone.set_desk_disconnected(*id);
      if (absl::Status s = Apply(std::move(gone)); !s.ok()) {
        spdlog::warn("desk of '{}' replaced: {}", *id, s.ToString());
      }
    }
  }
  slot = stream;
  // The current state first: effects of connecting (a new offer) follow it.
  v1::DeskEvent ev;
  *ev.mutable_at() = ToProto(Now());
  *ev.mutable_presence_changed()->mutable_status() = ToProto(*engine_.FindCounsellor(*id));
  ev.mutable_presence_changed()->mutable_status()->set_desk_connected(true);
  DeliverToDesk(stream, std::move(ev));
  v1::JournalRecord record;
  record.set_desk_connected(*id);
  if (absl::Status s = Apply(std::move(record)); !s.ok()) {
    stream->Close(ToGrpc(s));
    desks_.erase(*id);
    return;
  }
  spdlog::info("desk of '{}' connected", *id);
  // After the input: it fired the timers due by now, a wrap-up's deadline among them.
  for (const routing::OwedDisposition& owed : engine_.OwedBy(*id)) {
    v1::DeskEvent owes;
    *owes.mutable_at() = ToProto(Now());
    owes.mutable_disposition_owed()->set_call_id(owed.call_id);
    *owes.mutable_disposition_owed()->mutable_wrap_up_ended_at() = ToProto(owed.since);
    *owes.mutable_disposition_owed()->mutable_accepted_until() =
        ToProto(owed.since + engine_.options().late_disposition_ms);
    DeliverToDesk(stream, std::move(owes));
  }
}

void EngineHost::DeskClosed(std::shared_ptr<DeskStream> stream) {
  auto it = desks_.find(stream->principal);
  if (it == desks_.end() || it->second != stream) {
    return;  // Never signed in, already replaced, or closed for shutdown (CloseAll).
  }
  desks_.erase(it);
  spdlog::info("desk of '{}' disconnected", stream->principal);
  v1::JournalRecord record;
  record.set_desk_disconnected(stream->principal);
  if (absl::Status s = Apply(std::move(record)); !s.ok()) {
    spdlog::warn("desk of '{}' closing: {}", stream->principal, s.ToString());
  }
}

void EngineHost::SetPresence(const std::string& origin, const std::string& request_id,
                             const std::string& counsellor_id, routing::CounsellorState state,
                             routing::BreakReason reason, Reply<v1::CounsellorStatus> reply) {
  Answer<v1::CounsellorStatus>(
      origin, request_id,
      [&]() -> absl::StatusOr<v1::CounsellorStatus> {
        v1::JournalRecord record;
        auto* in = record.mutable_set_presence();
        in->set_counsellor_id(counsellor_id);
        in->set_state(static_cast<v1::CounsellorState>(state));
        in->set_reason(static_cast<v1::BreakReason>(reason));
        if (absl::Status s = Apply(std::move(record)); !s.ok()) {
          return s;
        }
        return ToProto(*engine_.FindCounsellor(counsellor_id));
      },
      std::move(reply));
}

void EngineHost::AnswerOffer(const std::string& counsellor_id, const std::string& request_id,
                             const std::string& call_id, bool accept,
                             Reply<v1::AnswerOfferResponse> reply) {
  Answer<v1::AnswerOfferResponse>(
      absl::StrCat("desk:", counsellor_id), request_id,
      [&]() -> absl::StatusOr<v1::AnswerOfferResponse> {
        v1::JournalRecord record;
        auto* in = record.mutable_answer_offer();
        in->set_counsellor_id(counsellor_id);
        in->set_call_id(call_id);
        in->set_accept(accept);
        if (absl::Status s = Apply(std::move(record)); !s.ok()) {
          return s;
        }
        return v1::AnswerOfferResponse();
      },
      std::move(reply));
}

void EngineHost::SubmitDisposition(const std::string& counsellor_id, const std::string& request_id,
                                   const std::string& call_id, const routing::Disposition& d,
                                   bool ready_for_next,
                                   Reply<v1::SubmitDispositionResponse> reply) {
  Answer<v1::SubmitDispositionResponse>(
      absl::StrCat("desk:", counsellor_id), request_id,
      [&]() -> absl::StatusOr<v1::SubmitDispositionResponse> {
        // Late when the engine says so (DispositionLate among the input's effects): the state
        // before the input cannot tell, as the input may first fire the wrap-up's deadline.
        late_recorded_.clear();
        v1::JournalRecord record;
        auto* in = record.mutable_submit_disposition();
        in->set_counsellor_id(counsellor_id);
        in->set_call_id(call_id);
        *in->mutable_disposition() = ToRecord(d);
        in->set_ready_for_next(ready_for_next);
        if (absl::Status s = Apply(std::move(record)); !s.ok()) {
          return s;
        }
        const bool late = late_recorded_.contains(call_id);
        if (late) {
          spdlog::info("late disposition of call {} by {}", call_id, counsellor_id);
        }
        v1::SubmitDispositionResponse response;
        *response.mutable_status() = ToProto(*engine_.FindCounsellor(counsellor_id));
        response.set_late(late);
        return response;
      },
      std::move(reply));
}

void EngineHost::NeverRoute(const std::string& origin, const std::string& request_id,
                            const std::string& counsellor_id, const std::string& call_id,
                            Reply<v1::NeverRouteCallerResponse> reply) {
  Answer<v1::NeverRouteCallerResponse>(
      origin, request_id,
      [&]() -> absl::StatusOr<v1::NeverRouteCallerResponse> {
        v1::JournalRecord record;
        record.mutable_never_route()->set_counsellor_id(counsellor_id);
        record.mutable_never_route()->set_call_id(call_id);
        record.mutable_never_route()->set_withdraws_offer(true);
        if (absl::Status s = Apply(std::move(record)); !s.ok()) {
          return s;
        }
        spdlog::info("the caller of call {} will not be routed to {} again", call_id,
                     counsellor_id);
        return v1::NeverRouteCallerResponse();
      },
      std::move(reply));
}

void EngineHost::ExplainCall(const std::string& call_id, Reply<v1::ExplainCallResponse> reply) {
  pending_.answers.push_back([this, call_id, reply] {
    auto rows = store_.ListOffers(call_id);
    if (!rows.ok()) {
      return reply(rows.status());
    }
    if (rows->empty()) {
      return reply(absl::NotFoundError(
          absl::StrCat("call_id: no offer was ever made for call '", call_id, "'")));
    }
    v1::ExplainCallResponse response;
    for (const auto& row : *rows) {
      auto* offer = response.add_offers();
      offer->set_counsellor_id(row.counsellor_id);
      *offer->mutable_offered_at() = ToProto(routing::FromUnixMillis(row.offered_at_ms));
      offer->set_step(row.step);
      offer->set_scope(row.scope);
      offer->set_eligible(row.eligible);
      offer->set_rule(row.rule);
      offer->set_result(row.result);
      if (!row.result.empty()) {
        *offer->mutable_ended_at() = ToProto(routing::FromUnixMillis(row.ended_at_ms));
      }
    }
    reply(response);
  });
}

// --- Supervisors. ---

void EngineHost::WatchOpened(std::shared_ptr<QueueSink> sink, const std::string& epoch,
                             uint64_t after) {
  if (stopping_) {  // Opened after every stream was closed for shutdown.
    sink->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "hotlined is shutting down"));
    return;
  }
  feed_.Add(std::move(sink), epoch, after, engine_, Now());
  ArmSummaryTimer();
}

void EngineHost::WatchClosed(const std::shared_ptr<QueueSink>& sink) { feed_.Remove(sink); }

void EngineHost::WatchCaughtUp(const std::shared_ptr<QueueSink>& sink) {
  feed_.Refresh(sink, Now());
}

void EngineHost::ChangePriority(const std::string& origin, const std::string& request_id,
                                const std::string& call_id, routing::Priority priority,
                                Reply<v1::CallStatus> reply) {
  Answer<v1::CallStatus>(
      origin, request_id,
      [&]() -> absl::StatusOr<v1::CallStatus> {
        v1::JournalRecord record;
        record.mutable_change_priority()->set_call_id(call_id);
        record.mutable_change_priority()->set_priority(static_cast<v1::Priority>(priority));
        if (absl::Status s = Apply(std::move(record)); !s.ok()) {
          return s;
        }
        auto view = engine_.FindCall(call_id);
        if (!view) {
          return absl::NotFoundError(absl::StrCat("call_id: call '", call_id, "' ended"));
        }
        return ToProto(*view, Now(), &engine_.regions());
      },
      std::move(reply));
}

void EngineHost::EndCall(const std::string& origin, const std::string& request_id,
                         const std::string& call_id, const std::string& reason,
                         Reply<v1::EndCallResponse> reply) {
  Answer<v1::EndCallResponse>(
      origin, request_id,
      [&]() -> absl::StatusOr<v1::EndCallResponse> {
        v1::JournalRecord record;
        record.mutable_end_call()->set_call_id(call_id);
        record.mutable_end_call()->set_reason(absl::StrCat("ended by ", origin, ": ", reason));
        if (absl::Status s = Apply(std::move(record)); !s.ok()) {
          return s;
        }
        Audit("supervisor", origin, "end_call", call_id);
        spdlog::info("call {} ended by {}", call_id, origin);
        v1::EndCallResponse response;
        if (auto view = engine_.FindCall(call_id)) {
          *response.mutable_call() = ToProto(*view, Now(), &engine_.regions());
          if (auto counsellor = engine_.FindCounsellor(view->counsellor_id)) {
            *response.mutable_counsellor() = ToProto(*counsellor);
          }
        }
        return response;
      },
      std::move(reply));
}

// --- Administrators. ---

void EngineHost::CreateCounsellor(routing::CounsellorProfile profile,
                                  Reply<v1::CreateCounsellorResponse> reply) {
  if (absl::Status s = Canonicalize(profile); !s.ok()) {
    reply(s);
    return;
  }
  if (engine_.FindCounsellor(profile.id)) {
    reply(absl::AlreadyExistsError(
        absl::StrCat("counsellor.counsellor_id: '", profile.id, "' already exists")));
    return;
  }
  // A removed counsellor's id stays theirs while their calls, offers and presence are kept:
  // another person under it would take over their figures in every report. Looked up on the
  // writer thread, after everything before is written; then created here, checked again.
  RunOnStore([this, profile = std::move(profile), reply](storage::Store& store) mutable {
    const absl::StatusOr<bool> used = store.CounsellorHasHistory(profile.id);
    Post([profile = std::move(profile), reply, used](EngineHost& h) mutable {
      if (!used.ok()) {
        return reply(used.status());
      }
      if (*used) {
        return reply(absl::AlreadyExistsError(absl::StrCat(
            "counsellor.counsellor_id: '", profile.id,
            "' belonged to a removed counsellor whose calls and presence are kept; ids are not "
            "reused, so that reports stay theirs: choose another")));
      }
      h.InsertCounsellor(std::move(profile), std::move(reply));
    });
  });
}

void EngineHost::InsertCounsellor(routing::CounsellorProfile profile,
                                  Reply<v1::CreateCounsellorResponse> reply) {
  // Again: a policy reloaded meanwhile may have changed the regions.
  if (absl::Status s = Canonicalize(profile); !s.ok()) {
    reply(s);
    return;
  }
  if (engine_.FindCounsellor(profile.id)) {  // Created meanwhile.
    reply(absl::AlreadyExistsError(
        absl::StrCat("counsellor.counsellor_id: '", profile.id, "' already exists")));
    return;
  }
  const std::string token = NewToken();
  const std::string hash = TokenHash(token);
  v1::JournalRecord record;
  *record.mutable_add_counsellor() = ToProto(profile);
  if (absl::Status s = Apply(std::move(record)); !s.ok()) {
    reply(s);
    return;
  }
  // The profile and token hash in the same commit as the journal record.
  pending_.batch.counsellors.push_back(
      storage::CounsellorOp{storage::CounsellorOp::Kind::kInsert, {profile, hash}});
  counsellor_by_token_hash_[hash] = profile.id;
  spdlog::info("counsellor '{}' created", profile.id);
  v1::CreateCounsellorResponse response;
  *response.mutable_counsellor() = ToProto(profile);
  response.set_token(token);
  pending_.answers.push_back([reply, response] { reply(response); });
}

void EngineHost::UpdateCounsellor(routing::CounsellorProfile profile,
                                  Reply<v1::UpdateCounsellorResponse> reply) {
  if (absl::Status s = Canonicalize(profile); !s.ok()) {
    reply(s);
    return;
  }
  v1::JournalRecord record;
  *record.mutable_update_counsellor() = ToProto(profile);
  if (absl::Status s = Apply(std::move(record)); !s.ok()) {
    reply(s);
    return;
  }
  pending_.batch.counsellors.push_back(
      storage::CounsellorOp{storage::CounsellorOp::Kind::kUpdate, {profile, ""}});
  v1::UpdateCounsellorResponse response;
  *response.mutable_counsellor() = ToProto(profile);
  pending_.answers.push_back([reply, response] { reply(response); });
}

void EngineHost::RunOnStore(std::function<void(storage::Store&)> fn) {
  pending_.answers.push_back([this, fn = std::move(fn)] { fn(store_); });
}

void EngineHost::RotateCounsellorToken(const std::string& counsellor_id,
                                       Reply<v1::RotateCounsellorTokenResponse> reply) {
  if (!engine_.FindCounsellor(counsellor_id)) {
    reply(absl::NotFoundError(absl::StrCat("counsellor_id: no counsellor '", counsellor_id, "'")));
    return;
  }
  // The new hash is stored first (on the writer thread, after everything before it), and only
  // then put in force here: a token is never handed out that a restart would forget.
  const std::string token = NewToken();
  const std::string hash = TokenHash(token);
  pending_.answers.push_back([this, counsellor_id, hash, token, reply] {
    if (absl::Status s = store_.SetCounsellorTokenHash(counsellor_id, hash); !s.ok()) {
      return reply(s);
    }
    Post([counsellor_id, hash, token, reply](EngineHost& h) {
      if (!h.InstallDeskToken(counsellor_id, hash)) {
        return reply(absl::NotFoundError(
            absl::StrCat("counsellor_id: counsellor '", counsellor_id, "' was removed")));
      }
      v1::RotateCounsellorTokenResponse response;
      response.set_token(token);
      reply(response);
    });
  });
}

bool EngineHost::InstallDeskToken(const std::string& counsellor_id, const std::string& hash) {
  if (!engine_.FindCounsellor(counsellor_id)) {
    return false;  // Removed meanwhile: their desk token is no one's.
  }
  for (auto it = counsellor_by_token_hash_.begin(); it != counsellor_by_token_hash_.end();) {
    it = it->second == counsellor_id ? counsellor_by_token_hash_.erase(it) : std::next(it);
  }
  counsellor_by_token_hash_[hash] = counsellor_id;
  // The desk open with the old token closes; its closing signs nobody out by itself (grace).
  // It is gone now, not when its stream ends: a desk that does not read holds that end up for
  // good (the final status waits behind the write in flight), and meanwhile the counsellor would
  // be offered calls no one sees.
  if (auto desk = desks_.find(counsellor_id); desk != desks_.end()) {
    auto stream = desk->second;
    stream->Close(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                               "authorization: this desk token was rotated out"));
    DeskClosed(stream);
  }
  spdlog::info("desk token of counsellor '{}' rotated", counsellor_id);
  return true;
}

void EngineHost::RemoveCounsellor(const std::string& counsellor_id, bool sign_out,
                                  Reply<v1::RemoveCounsellorResponse> reply) {
  if (auto c = engine_.FindCounsellor(counsellor_id);
      sign_out && c && c->state != routing::CounsellorState::kOffline) {
    v1::JournalRecord off;
    auto* in = off.mutable_set_presence();
    in->set_counsellor_id(counsellor_id);
    in->set_state(static_cast<v1::CounsellorState>(routing::CounsellorState::kOffline));
    in->set_reason(static_cast<v1::BreakReason>(routing::BreakReason::kSupervisor));
    if (absl::Status s = Apply(std::move(off)); !s.ok()) {
      reply(s);
      return;
    }
  }
  v1::JournalRecord record;
  record.set_remove_counsellor(counsellor_id);
  if (absl::Status s = Apply(std::move(record)); !s.ok()) {
    reply(s);
    return;
  }
  storage::CounsellorOp op{storage::CounsellorOp::Kind::kRemove, {}};
  op.counsellor.profile.id = counsellor_id;
  pending_.batch.counsellors.push_back(std::move(op));
  for (auto it = counsellor_by_token_hash_.begin(); it != counsellor_by_token_hash_.end();) {
    it = it->second == counsellor_id ? counsellor_by_token_hash_.erase(it) : std::next(it);
  }
  // A desk still open (signed out by a supervisor) closes: its token is no longer anyone's.
  if (auto desk = desks_.find(counsellor_id); desk != desks_.end()) {
    auto stream = desk->second;
    desks_.erase(desk);  // So its closing is not an input for a counsellor who is gone.
    Deliver([stream, counsellor_id] {
      stream->Close(grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                 absl::StrCat("counsellor '", counsellor_id,
                                              "' was removed: this desk token is no longer valid")));
    });
  }
  spdlog::info("counsellor '{}' removed", counsellor_id);
  pending_.answers.push_back([reply] { reply(v1::RemoveCounsellorResponse()); });
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
  // The desks are closed, not signed off: the next start takes them off as of the journal's last
  // time, as after a kill -9 (routing::Engine::Restarted), so a stop is recovered like a crash.
  // Signed off here, a call whose maximum wait passed while its offer rang timed out at the stop,
  // called back though its caller might hang up before the gateway said Hello again.
  for (auto& [id, desk] : std::exchange(desks_, {})) {
    desk->Close(status);
  }
  for (auto& [id, gateway] : gateways_) {
    gateway->Close(status);
  }
  feed_.CloseAll(status);
  stopping_ = true;
  timer_->Cancel();
  summary_timer_->Cancel();
  retention_timer_->Cancel();
  armed_for_.reset();
}

stats::ReportContext EngineHost::ReportContextNow() const {
  stats::ReportContext context;
  context.centre_of_province = engine_.regions().centres_by_province();
  for (const routing::CounsellorView& c : engine_.Counsellors()) {
    stats::CounsellorRegions& regions = context.counsellors[c.profile.id];
    regions.home_province = c.profile.home_province;
    regions.provinces = c.profile.provinces;
    if (std::find(regions.provinces.begin(), regions.provinces.end(), regions.home_province) ==
        regions.provinces.end()) {
      regions.provinces.push_back(regions.home_province);
    }
  }
  context.now = Now();
  return context;
}

}  // namespace hotline::daemon
