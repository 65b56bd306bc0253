#include "daemon/report_thread.h"

#include <memory>
#include <utility>

#include "absl/status/statusor.h"

namespace hotline::daemon {
namespace {

absl::Status Stopping() { return absl::UnavailableError("hotlined is shutting down"); }

}  // namespace

ReportThread::ReportThread(std::string database)
    : database_(std::move(database)), thread_([this] { Loop(); }) {}

ReportThread::~ReportThread() { Stop(); }

bool ReportThread::TryClaim() { return !claimed_.exchange(true); }

void ReportThread::Submit(Job job, Refuse refuse) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      pending_.emplace(Pending{std::move(job), std::move(refuse)});
      return;
    }
  }
  claimed_ = false;
  refuse(Stopping());
}

void ReportThread::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (reader_ != nullptr) {
      reader_->Interrupt();
    }
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
  }
}

bool ReportThread::HasWork() const { return stopping_ || pending_.has_value(); }

void ReportThread::Loop() {
  while (true) {
    Pending next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &ReportThread::HasWork));
      if (stopping_) {
        if (pending_) {
          pending_->refuse(Stopping());
          pending_.reset();
        }
        return;
      }
      next = *std::move(pending_);
      pending_.reset();
    }
    const Reply reply = Run(next);
    claimed_ = false;
    reply();
  }
}

ReportThread::Reply ReportThread::Run(Pending& next) {
  // A fresh connection per report: nothing stays open (or holds a WAL snapshot) between them.
  absl::StatusOr<std::unique_ptr<storage::ReportReader>> reader =
      database_ == ":memory:"
          ? absl::FailedPreconditionError(
                "reports read the database file, and this hotlined keeps its database in memory")
          : storage::ReportReader::Open(database_);
  const auto refusal = [&next](absl::Status why) {
    return [refuse = std::move(next.refuse), why = std::move(why)] { refuse(why); };
  };
  if (!reader.ok()) {
    return refusal(reader.status());
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return refusal(Stopping());
    }
    reader_ = reader->get();
  }
  Reply reply = next.job(**reader);
  absl::MutexLock lock(&mu_);
  reader_ = nullptr;
  return reply;
}

}  // namespace hotline::daemon
