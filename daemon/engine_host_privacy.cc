// EngineHost's children's-data side (docs/privacy.md): callers' numbers sealed for callbacks,
// the audit of who viewed or exported what, and the retention job. Reads and the writes that
// answer a request run on the journal writer's thread once everything before them is durable
// (as ExplainCall does), since the writer owns the database connection.
#include <spdlog/spdlog.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "daemon/convert.h"
#include "daemon/data_files.h"
#include "daemon/engine_host.h"

namespace hotline::daemon {

namespace {

constexpr routing::Millis kDay{24LL * 3'600'000};

v1::PendingCallback ToProto(const storage::PendingCallback& c) {
  v1::PendingCallback out;
  out.set_callback_id(c.id);
  out.set_call_id(c.call_id);
  out.set_gateway_id(c.gateway_id);
  out.set_caller_masked(c.caller_masked);
  out.set_outcome(c.outcome == "callback_requested" ? v1::CALL_OUTCOME_CALLBACK_REQUESTED
                                                    : v1::CALL_OUTCOME_TIMED_OUT);
  *out.mutable_arrived_at() = daemon::ToProto(routing::FromUnixMillis(c.arrived_at_ms));
  *out.mutable_ended_at() = daemon::ToProto(routing::FromUnixMillis(c.ended_at_ms));
  return out;
}

}  // namespace

void EngineHost::HoldCallbackNumber(const routing::CallInfo& info, const std::string& number) {
  if (sealer_ == nullptr) {
    return;
  }
  held_number_ = storage::CallbackHeld{info.call_id, info.gateway_id, info.caller_masked,
                                       sealer_->Seal(number), routing::ToUnixMillis(info.arrived_at)};
}

void EngineHost::KeepHeldNumber(const std::string& call_id) {
  if (held_number_ && held_number_->call_id == call_id) {
    pending_.batch.callbacks.emplace_back(*std::move(held_number_));
  }
  held_number_.reset();
}

void EngineHost::EndHeldNumber(const routing::CallRecord& record) {
  if (sealer_ == nullptr || record.call.caller_withheld) {
    return;  // No number was kept.
  }
  std::string outcome;
  if (record.outcome == routing::Outcome::kCallbackRequested) {
    outcome = "callback_requested";
  } else if (record.outcome == routing::Outcome::kTimedOut) {
    // The gateway was told to offer a callback: the engine offers one just before every
    // time-out. From the record, not the engine's memory of the call: a call timed out by the
    // first tick after a day's outage is forgotten in that same tick.
    outcome = "timed_out";
  }
  if (!outcome.empty()) {
    spdlog::info("call {} needs a callback ({})", record.call.call_id, outcome);
  }
  pending_.batch.callbacks.emplace_back(
      storage::CallbackEnded{record.call.call_id, outcome, routing::ToUnixMillis(record.ended_at)});
}

void EngineHost::Audit(const std::string& role, const std::string& principal,
                       const std::string& action, const std::string& subject) {
  pending_.answers.push_back(
      [this, row = storage::AuditRow{routing::ToUnixMillis(Now()), role, principal, action,
                                     subject}] {
        if (absl::Status s = store_.RecordAudit(row); !s.ok()) {
          spdlog::error("cannot record in the audit that {} '{}' did {} on '{}': {}", row.role,
                        row.principal, row.action, row.subject, s.ToString());
        }
      });
}

void EngineHost::ListCallbacks(const std::string& principal, int64_t limit,
                               Reply<v1::ListCallbacksResponse> reply) {
  Audit("supervisor", principal, "list_callbacks", "");
  pending_.answers.push_back([this, limit, reply] {
    auto rows = store_.ListCallbacks(limit);
    if (!rows.ok()) {
      return reply(rows.status());
    }
    v1::ListCallbacksResponse response;
    for (const auto& row : *rows) {
      *response.add_callbacks() = ToProto(row);
    }
    reply(response);
  });
}

void EngineHost::RevealCallback(const std::string& principal, int64_t callback_id,
                                Reply<v1::RevealCallbackResponse> reply) {
  pending_.answers.push_back(
      [this, principal, callback_id, reply, at = routing::ToUnixMillis(Now())] {
        if (sealer_ == nullptr) {
          return reply(absl::FailedPreconditionError("this daemon keeps no callback numbers"));
        }
        // Audited first: a number nobody could later see was revealed is never revealed.
        if (absl::Status s = store_.RecordAudit(
                {at, "supervisor", principal, "reveal_callback", absl::StrCat(callback_id)});
            !s.ok()) {
          return reply(absl::UnavailableError(
              absl::StrCat("the reveal cannot be audited, so the number is not revealed: ",
                           s.message())));
        }
        auto row = store_.SealedCallback(callback_id);
        if (!row.ok()) {
          return reply(row.status());
        }
        absl::StatusOr<std::string> number = sealer_->Open(row->second);
        if (!number.ok()) {
          return reply(number.status());
        }
        spdlog::info("callback {} (call {}) revealed to {}", callback_id, row->first.call_id,
                     principal);
        v1::RevealCallbackResponse response;
        *response.mutable_callback() = ToProto(row->first);
        response.set_caller_number(*number);
        reply(response);
      });
}

void EngineHost::CallbackDone(const std::string& principal, int64_t callback_id,
                              Reply<v1::CallbackDoneResponse> reply) {
  Audit("supervisor", principal, "callback_done", absl::StrCat(callback_id));
  pending_.answers.push_back([this, callback_id, reply] {
    absl::StatusOr<bool> marked = store_.MarkCallbackDone(callback_id);
    if (!marked.ok()) {
      return reply(marked.status());
    }
    if (*marked) {
      spdlog::info("callback {} done: its sealed number is deleted", callback_id);
    }  // Else done already: a retry, answered as the first was.
    reply(v1::CallbackDoneResponse());
  });
}

void EngineHost::ListAudit(const std::string& principal, routing::Timestamp since, int64_t limit,
                           Reply<v1::ListAuditResponse> reply) {
  Audit("supervisor", principal, "list_audit",
        absl::StrCat("since ", routing::ToUnixMillis(since)));
  pending_.answers.push_back([this, since, limit, reply] {
    auto rows = store_.ListAudit(routing::ToUnixMillis(since), limit);
    if (!rows.ok()) {
      return reply(rows.status());
    }
    v1::ListAuditResponse response;
    for (const auto& row : *rows) {
      auto* e = response.add_entries();
      *e->mutable_at() = daemon::ToProto(routing::FromUnixMillis(row.at_ms));
      e->set_role(row.role);
      e->set_principal(row.principal);
      e->set_action(row.action);
      e->set_subject(row.subject);
    }
    reply(response);
  });
}

void EngineHost::ArmRetention(MonotonicTime at) {
  if (stopping_) {
    return;
  }
  retention_timer_->ArmAt(at, [this] {
    if (stopping_) {
      return;
    }
    RunRetention();
    Flush();
    // From now, not from `at`: after a long stop (or a test's jump in time) one run catches up.
    ArmRetention(time_.MonotonicNow() + std::chrono::minutes(config_.retention.run_every_minutes));
  });
}

void EngineHost::RunRetention() {
  const Config::Retention& r = config_.retention;
  // A snapshot first, when records wait for one, committed before this run changes a row. A
  // replay after a crash then never starts before the caller keys the run clears: the records it
  // replays were decided by an engine that had forgotten those callers already, as the one the
  // rows rebuild has. And the journal keeps an input's caller hash, masked number or note no
  // longer than its period and one run's interval.
  if (records_since_snapshot_ > 0) {
    Snapshot();
  }
  const routing::Timestamp now = Now();
  const auto before = [&](int64_t days) { return routing::ToUnixMillis(now - days * kDay); };
  storage::RetentionCut cut;
  cut.callers_before_ms = before(r.callers_days);
  cut.notes_before_ms = before(r.notes_days);
  cut.callbacks_before_ms = before(r.callback_days);
  cut.audit_before_ms = before(r.audit_days);
  cut.history_before_ms = before(r.history_days);
  // Stored answers (a supervisor's ChangeCallPriority and EndCall answers hold a masked number) are
  // kept a day: deleted here as well as at each snapshot, which a quiet line may not reach for
  // days.
  pending_.batch.forget_results_before_ms = routing::ToUnixMillis(now - kAnswerMemory);
  pending_.answers.push_back([this, cut, every = r.run_every_minutes] {
    // A hard link made since the start (a backup by `cp -al`, say) is refused at the next start:
    // said now, while the daemon still runs, rather than when it is restarted.
    std::error_code error;
    const std::filesystem::path real = std::filesystem::weakly_canonical(config_.database, error);
    if (absl::Status names =
            OneNameOnly(error ? config_.database : real.string(), config_.database);
        !names.ok()) {
      spdlog::error("{}; hotlined runs on, but will refuse to start until the others are removed",
                    std::string(names.message()));
    }
    absl::StatusOr<storage::RetentionCounts> counts = store_.ApplyRetention(cut);
    if (!counts.ok()) {
      spdlog::error("the retention job failed (it runs again later): {}",
                    counts.status().ToString());
      return;
    }
    if (!counts->wal_emptied) {
      // Not waited for: the writer would hold every acknowledgement meanwhile.
      spdlog::warn(
          "retention: another connection (a backup, a report) was in a transaction on the "
          "database, so the "
          "old values stay in its WAL and pages until the next run empties it (in {} minutes)",
          every);
      counts->wal_emptied = true;  // The counts' line below: only if rows changed.
    }
    if (*counts != storage::RetentionCounts{}) {
      spdlog::info(
          "retention: {} callers anonymised, {} notes cleared, {} callbacks deleted, {} audit "
          "rows, {} offers and {} presence rows deleted",
          counts->callers_anonymised, counts->notes_cleared, counts->callbacks_deleted,
          counts->audit_deleted, counts->offers_deleted, counts->presence_deleted);
    }
  });
}

}  // namespace hotline::daemon
