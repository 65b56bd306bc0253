// SupervisorService.Report and ExportDispositions: figures and the disposition export over the
// database, for the supervisor token only.
//
// Reports never run on the engine thread or the journal writer's: they run on a report thread of
// their own, one at a time, reading through their own read-only connection (storage/
// report_rows.h). A request that comes while one runs is refused with RESOURCE_EXHAUSTED ("a
// report is already running, try again"), so a year's report cannot queue up a second one or
// hold the daemon's memory. A report reads what is committed: everything acknowledged before it
// was asked.
//
// Thread-safety: ServeReports is called once, at start, like the Serve* of services.h; the
// returned handle is destroyed once, at shutdown.
#pragma once

#include <memory>

#include "daemon/services.h"

namespace hotline::daemon {

class ReportThread;

// Owns the report thread. Destroying it refuses a report not yet started (UNAVAILABLE),
// interrupts a running one (which then fails with CANCELLED) and joins the thread; a report
// that comes later is refused with UNAVAILABLE. Destroy it after the gRPC server's Shutdown and
// before the completion queue's: every reply must be started while the queue still takes them.
class Reports final {
 public:
  explicit Reports(std::shared_ptr<ReportThread> thread);
  Reports(const Reports&) = delete;
  Reports& operator=(const Reports&) = delete;
  ~Reports();

 private:
  std::shared_ptr<ReportThread> thread_;
};

// Serves Report and ExportDispositions of `service` (the same AsyncService ServeSupervisor
// serves the other methods of).
std::unique_ptr<Reports> ServeReports(v1::SupervisorService::AsyncService& service,
                                      Services services);

// Serves DeskService.ShiftFigures on a thread of its own, so a desk's figures never wait behind
// a supervisor's year-long report. The same bound: one read at a time (each an index seek,
// milliseconds); a desk that asks meanwhile is refused RESOURCE_EXHAUSTED and asks again.
std::unique_ptr<Reports> ServeShiftFigures(v1::DeskService::AsyncService& service,
                                           Services services);

}  // namespace hotline::daemon
