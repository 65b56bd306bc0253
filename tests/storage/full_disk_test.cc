// A real full disk: a forked child commits batches to a database whose files may not grow past a
// limit (RLIMIT_FSIZE) until Commit fails, checks that every batch is whole or absent, and that
// the same Store takes the refused batch once the limit is raised.
//
// With SIGXFSZ ignored, a write(2) past the limit fails with EFBIG, as a full disk fails one with
// ENOSPC. The limit binds the whole process, so the test forks: the child runs under it and
// reports back through a pipe and its exit status; the parent, free of it, checks the file again
// from a new connection and commits one more batch.
#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "storage/batch.h"
#include "storage/store.h"
#include "tests/storage/storage_testing.h"

namespace hotline::storage {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the helpers of this directory.
using routing::BreakReason;
using routing::CounsellorState;

// Small enough to fill in a few dozen commits, large enough for the schema.
constexpr rlim_t kFileSizeLimit = rlim_t{512} * 1024;
constexpr int kEntriesPerBatch = 10;
constexpr int kMaxBatches = 10'000;

// Batch i (from 1): journal entries 10(i-1)+1 .. 10i, call "call-i" with its presence change, and
// the result of request "ev-i".
Batch NumberedBatch(int i) {
  Batch batch;
  for (int k = 1; k <= kEntriesPerBatch; ++k) {
    const int64_t seq = int64_t{kEntriesPerBatch} * (i - 1) + k;
    batch.journal.push_back(JournalEntry{seq, seq, std::string(200, static_cast<char>('a' + k))});
  }
  const std::string call_id = "call-" + std::to_string(i);
  batch.calls.push_back(CompletedCall(call_id));
  batch.presence.push_back({"c-lan", CounsellorState::kOnCall, BreakReason::kNone, At(i), call_id});
  batch.results.push_back(
      RequestResult{"gateway:gw-1", "ev-" + std::to_string(i), i, 0, "", std::string(64, 'r')});
  return batch;
}

// Checks through a separate connection that the file is intact and holds batches 1..committed
// whole and nothing of batch committed + 1. Returns "" or what is wrong. No Catch2 macros: the
// child calls it too.
std::string CheckBatches(const std::string& path, int committed) {
  try {
    SQLite::Database raw(path, SQLite::OPEN_READONLY);
    const std::string integrity = raw.execAndGet("PRAGMA integrity_check").getString();
    if (integrity != "ok") {
      return "integrity_check: " + integrity;
    }
    const auto count = [&](const std::string& sql, int i) {
      SQLite::Statement q(raw, sql);
      q.bind(1, i);
      q.executeStep();
      return q.getColumn(0).getInt();
    };
    for (int i = 1; i <= committed + 1; ++i) {
      const std::string call_id = "call-" + std::to_string(i);
      const int journal = count("SELECT COUNT(*) FROM journal WHERE (seq - 1) / 10 + 1 = ?", i);
      const int calls = count("SELECT COUNT(*) FROM calls WHERE call_id = 'call-' || ?", i);
      const int presence = count("SELECT COUNT(*) FROM presence WHERE call_id = 'call-' || ?", i);
      const int results =
          count("SELECT COUNT(*) FROM request_results WHERE request_id = 'ev-' || ?", i);
      const int want = i <= committed ? 1 : 0;
      if (journal != want * kEntriesPerBatch || calls != want || presence != want ||
          results != want) {
        return "batch " + std::to_string(i) + " has " + std::to_string(journal) +
               " journal entries, " + std::to_string(calls) + " calls, " +
               std::to_string(presence) + " presence rows and " + std::to_string(results) +
               " results; committed batches: " + std::to_string(committed);
      }
    }
    const int total = raw.execAndGet("SELECT COUNT(*) FROM journal").getInt();
    if (total != committed * kEntriesPerBatch) {
      return "the journal holds " + std::to_string(total) + " entries";
    }
    return "";
  } catch (const std::exception& e) {
    return std::string("reading the database: ") + e.what();
  }
}

void Report(int fd, const std::string& line) {
  const std::string text = line + "\n";
  // The parent prints it; nothing to do if it cannot be written.
  [[maybe_unused]] const ssize_t written = ::write(fd, text.data(), text.size());
}

// The child's part. Returns its exit status: 0 when everything held.
int RunUnderFileSizeLimit(const std::string& path, int report_fd) {
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit limit{};
  if (::getrlimit(RLIMIT_FSIZE, &limit) != 0) {
    Report(report_fd, "getrlimit failed");
    return 1;
  }
  limit.rlim_cur = kFileSizeLimit;
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
    Report(report_fd, "setrlimit failed");
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(path);
  if (!store.ok()) {
    Report(report_fd, "open: " + store.status().ToString());
    return 1;
  }
  int committed = 0;
  absl::Status failure;
  for (int i = 1; i <= kMaxBatches; ++i) {
    failure = (*store)->Commit(NumberedBatch(i));
    if (!failure.ok()) {
      break;
    }
    committed = i;
  }
  Report(report_fd, "committed before the limit=" + std::to_string(committed));
  Report(report_fd, "failure=" + failure.ToString());
  if (failure.ok()) {
    Report(report_fd, "Commit never failed");
    return 1;
  }
  if (failure.code() != absl::StatusCode::kResourceExhausted) {
    Report(report_fd, "want RESOURCE_EXHAUSTED");
    return 1;
  }
  // The same store keeps refusing, and keeps nothing of what it refused.
  const absl::Status again = (*store)->Commit(NumberedBatch(committed + 1));
  Report(report_fd, "again=" + again.ToString());
  if (again.ok()) {
    Report(report_fd, "a retry succeeded under the limit");
    return 1;
  }
  // The store that failed still reads, and a second connection sees every batch whole.
  absl::StatusOr<int64_t> last = (*store)->LastJournalSeq();
  if (!last.ok() || *last != int64_t{committed} * kEntriesPerBatch) {
    Report(report_fd,
           "LastJournalSeq: " + (last.ok() ? std::to_string(*last) : last.status().ToString()));
    return 1;
  }
  if (const std::string problem = CheckBatches(path, committed); !problem.empty()) {
    Report(report_fd, problem);
    return 1;
  }
  // Room again (an operator freed space): the same store takes the refused batch.
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
    Report(report_fd, "raising the limit failed");
    return 1;
  }
  if (const absl::Status retry = (*store)->Commit(NumberedBatch(committed + 1)); !retry.ok()) {
    Report(report_fd, "retry with room: " + retry.ToString());
    return 1;
  }
  ++committed;
  Report(report_fd, "committed=" + std::to_string(committed));
  if (const std::string problem = CheckBatches(path, committed); !problem.empty()) {
    Report(report_fd, problem);
    return 1;
  }
  return 0;
}

TEST_CASE("a full disk fails the commit with RESOURCE_EXHAUSTED and every batch stays whole",
          "[storage]") {
  TempDb db;
  std::array<int, 2> fds{};
  REQUIRE(::pipe(fds.data()) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(fds[0]);
    int status = 1;
    try {
      status = RunUnderFileSizeLimit(db.path(), fds[1]);
    } catch (...) {
      Report(fds[1], "exception in the child");
    }
    // No destructors, no Catch2 teardown: the parent owns the temporary files.
    ::_exit(status);
  }
  ::close(fds[1]);
  std::string report;
  std::array<char, 512> buffer{};
  ssize_t n = 0;
  while ((n = ::read(fds[0], buffer.data(), buffer.size())) > 0) {
    report.append(buffer.data(), static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int wait_status = 0;
  REQUIRE(::waitpid(child, &wait_status, 0) == child);
  INFO("child reported:\n" << report);
  REQUIRE(WIFEXITED(wait_status));
  REQUIRE(WEXITSTATUS(wait_status) == 0);

  const std::size_t at = report.rfind("\ncommitted=");
  REQUIRE(at != std::string::npos);
  const int committed = std::atoi(report.c_str() + at + 11);
  CHECK(committed > 1);

  // Another process, without the limit: the file is intact and takes the next batch.
  CHECK(CheckBatches(db.path(), committed).empty());
  std::unique_ptr<Store> store = OpenOrFail(db.path());
  REQUIRE_OK(store->Commit(NumberedBatch(committed + 1)));
  CHECK(CheckBatches(db.path(), committed + 1).empty());
}

}  // namespace
}  // namespace hotline::storage
