#include "daemon/report_service.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "daemon/convert.h"
#include "daemon/live_figures.h"
#include "daemon/report_thread.h"
#include "daemon/rpc.h"
#include "stats/dispositions.h"
#include "stats/report.h"
#include "storage/report_rows.h"

namespace hotline::daemon {

using v1::SupervisorService;

Reports::Reports(std::shared_ptr<ReportThread> thread) : thread_(std::move(thread)) {}

Reports::~Reports() { thread_->Stop(); }

namespace {

// Vietnam's time, UTC+7 all year (no daylight saving): the hours of a report by HOUR.
constexpr routing::Millis kLocalUtcOffset{7 * 60 * 60 * 1000};

const grpc::Status kBusy(grpc::StatusCode::RESOURCE_EXHAUSTED,
                         "a report is already running, try again");

// Passes each call of the period to `builder`, and each presence change if it takes them.
template <class Builder>
absl::Status ReadInto(storage::ReportReader& reader, const ReportPeriod& period, Builder& builder) {
  storage::ReportReader::PresenceFn presence;
  if constexpr (requires(const routing::PresenceChange& c) { builder.AddPresence(c); }) {
    presence = [&builder](const routing::PresenceChange& change) {
      builder.AddPresence(change);
      return absl::OkStatus();
    };
  }
  return reader.Read(
      period.from, period.to,
      [&builder](const routing::CallRecord& call) {
        builder.AddCall(call);
        return absl::OkStatus();
      },
      presence);
}

// The checks both RPCs start with: the supervisor token, then the request (`invalid`: the first
// error found in it), then the one place for a report. False, with the RPC failed, when one
// fails; true when the RPC holds the place and must Submit.
template <class Call>
bool Admit(Call& call, const Services& services, ReportThread& thread,
           const absl::Status& invalid) {
  if (!Authorized(services, call.ctx, Role::kSupervisor)) {
    call.Fail(kUnauthenticated);
    return false;
  }
  if (!invalid.ok()) {
    call.Fail(invalid);
    return false;
  }
  if (!thread.TryClaim()) {
    call.Fail(kBusy);
    return false;
  }
  return true;
}

v1::ReportResponse ToResponse(const stats::Report& report) {
  v1::ReportResponse response;
  for (const stats::ReportRow& row : report.rows) {
    v1::ReportRow* r = response.add_rows();
    r->set_key(row.key);
    *r->mutable_figures() = ToProto(stats::Derive(row.tally));
  }
  *response.mutable_total() = ToProto(stats::Derive(report.total));
  return response;
}

v1::ExportDispositionsResponse ToResponse(const std::vector<stats::DispositionCount>& counts) {
  v1::ExportDispositionsResponse response;
  for (const stats::DispositionCount& c : counts) {
    v1::DispositionCount* out = response.add_counts();
    out->set_category(c.labels.category);
    out->set_sub_category(c.labels.sub_category);
    out->set_action(c.labels.action);
    out->set_count(
        static_cast<int32_t>(std::min<int64_t>(c.count, std::numeric_limits<int32_t>::max())));
  }
  return response;
}

// A report's period as the audit names it: Unix milliseconds from..to.
std::string PeriodText(const ReportPeriod& p) {
  return absl::StrCat(routing::ToUnixMillis(p.from), "..", routing::ToUnixMillis(p.to));
}

}  // namespace

std::unique_ptr<Reports> ServeReports(v1::SupervisorService::AsyncService& service,
                                      Services services) {
  auto thread = std::make_shared<ReportThread>(services.config.database);

  using Report = rpc::UnaryCall<v1::ReportRequest, v1::ReportResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::ReportRequest, v1::ReportResponse>(
      &service, &SupervisorService::AsyncService::RequestReport, services.cq,
      [services, thread](std::shared_ptr<Report> call) {
        const absl::StatusOr<ReportPeriod> period = ParsePeriod(call->request);
        const absl::StatusOr<stats::GroupBy> by = ParseGroupBy(call->request.by(), "by");
        if (!Admit(*call, services, *thread, FirstError({period.status(), by.status()}))) {
          return;
        }
        // The directory and the time come from the engine; the reading happens on the report
        // thread.
        services.host.Post([call, thread, period = *period, by = *by,
                            who = services.accounts.PrincipalNameFor(call->ctx, Role::kSupervisor)](
                               EngineHost& h) {
          h.Audit("supervisor", who, "report", PeriodText(period));
          thread->Submit(
              [call, period, by, context = h.ReportContextNow()](
                  storage::ReportReader& reader) -> ReportThread::Reply {
                stats::ReportOptions options;
                options.utc_offset = kLocalUtcOffset;
                stats::ReportBuilder builder(by, period.from, period.to, context, options);
                if (absl::Status s = ReadInto(reader, period, builder); !s.ok()) {
                  return [call, s] { call->Fail(s); };
                }
                return [call, response = ToResponse(std::move(builder).Finish())] {
                  call->Reply(response);
                };
              },
              [call](const absl::Status& why) { call->Fail(why); });
        });
      });

  using Export = rpc::UnaryCall<v1::ExportDispositionsRequest, v1::ExportDispositionsResponse>;
  rpc::ServeUnary<SupervisorService::AsyncService, v1::ExportDispositionsRequest,
                  v1::ExportDispositionsResponse>(
      &service, &SupervisorService::AsyncService::RequestExportDispositions, services.cq,
      [services, thread](std::shared_ptr<Export> call) {
        const absl::StatusOr<ReportPeriod> period = ParsePeriod(call->request);
        if (!Admit(*call, services, *thread, period.status())) {
          return;
        }
        services.host.Post([subject = PeriodText(*period),
                            who = services.accounts.PrincipalNameFor(call->ctx, Role::kSupervisor)](
                               EngineHost& h) {
          h.Audit("supervisor", who, "export_dispositions", subject);
        });
        thread->Submit(
            [call, period = *period](storage::ReportReader& reader) -> ReportThread::Reply {
              stats::DispositionCounter counter(period.from, period.to);
              if (absl::Status s = ReadInto(reader, period, counter); !s.ok()) {
                return [call, s] { call->Fail(s); };
              }
              return [call, response = ToResponse(counter.Counts())] { call->Reply(response); };
            },
            [call](const absl::Status& why) { call->Fail(why); });
      });

  return std::make_unique<Reports>(std::move(thread));
}

namespace {

// How far back a desk may ask for its own figures.
constexpr routing::Millis kLongestShift{7 * 24 * 60 * 60 * 1000};

absl::StatusOr<routing::Timestamp> ShiftStart(const v1::ShiftFiguresRequest& request,
                                              routing::Timestamp now) {
  if (!request.has_since()) {
    return LocalMidnight(now);
  }
  if (absl::Status s = ValidateTimestamp(request.since(), "since"); !s.ok()) {
    return s;
  }
  const routing::Timestamp since = FromProto(request.since());
  if (since > now) {
    return absl::InvalidArgumentError("since: is in the future");
  }
  if (since < now - kLongestShift) {
    return absl::InvalidArgumentError("since: is more than 7 days ago");
  }
  return since;
}

v1::ShiftFiguresResponse ToResponse(const storage::ReportReader::ShiftCounts& c,
                                    routing::Timestamp since) {
  v1::ShiftFiguresResponse r;
  *r.mutable_since() = ToProto(since);
  r.set_offers(c.offers);
  r.set_accepted(c.accepted);
  r.set_declined(c.declined);
  r.set_missed(c.missed);
  r.set_calls_answered(c.calls);
  *r.mutable_talk_time() = ToProtoDuration(routing::Millis(c.talk_ms));
  if (c.calls > 0) {
    *r.mutable_mean_talk_time() = ToProtoDuration(routing::Millis(c.talk_ms / c.calls));
  }
  r.set_heavy(c.heavy);
  r.set_without_disposition(c.without_disposition);
  r.set_late_dispositions(c.late);
  return r;
}

}  // namespace

std::unique_ptr<Reports> ServeShiftFigures(v1::DeskService::AsyncService& service,
                                           Services services) {
  auto thread = std::make_shared<ReportThread>(services.config.database);
  using Figures = rpc::UnaryCall<v1::ShiftFiguresRequest, v1::ShiftFiguresResponse>;
  rpc::ServeUnary<v1::DeskService::AsyncService, v1::ShiftFiguresRequest,
                  v1::ShiftFiguresResponse>(
      &service, &v1::DeskService::AsyncService::RequestShiftFigures, services.cq,
      [services, thread](std::shared_ptr<Figures> call) {
        // The token and the time are the engine's; the reading happens on the figures thread.
        services.host.Post([call, thread, token = rpc::BearerToken(call->ctx)](EngineHost& h) {
          const absl::StatusOr<std::string> id = h.CounsellorFor(token);
          if (!id.ok()) {
            return call->Fail(id.status());
          }
          const absl::StatusOr<routing::Timestamp> since = ShiftStart(call->request, h.Now());
          if (!since.ok()) {
            return call->Fail(since.status());
          }
          if (!thread->TryClaim()) {
            return call->Fail(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                           "another desk's figures are being read, try again"));
          }
          h.Audit("counsellor", *id, "shift_figures", "");
          // Read once everything the engine handled before is committed: the desk hears that a
          // call ended (on Watch) before its row is written, and asks for its figures then.
          h.Barrier([call, thread, id = *id, since = *since] {
            thread->Submit(
                [call, id, since](storage::ReportReader& reader) -> ReportThread::Reply {
                  absl::StatusOr<storage::ReportReader::ShiftCounts> counts =
                      reader.ReadShift(id, since);
                  if (!counts.ok()) {
                    return [call, s = counts.status()] { call->Fail(s); };
                  }
                  return [call, response = ToResponse(*counts, since)] { call->Reply(response); };
                },
                [call](const absl::Status& why) { call->Fail(why); });
          });
        });
      });
  return std::make_unique<Reports>(std::move(thread));
}

}  // namespace hotline::daemon
