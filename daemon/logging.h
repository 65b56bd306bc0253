// hotlined's log: every thread's lines go out through one thread of their own, from a bounded
// queue, so no routing thread ever waits for whoever reads the log.
//
// Why: spdlog's default logger writes each line to stdout on the thread that logs it, and the
// engine thread logs every offer and every finished call. With stdout a pipe its reader had
// stopped draining (a supervisor process that reads only the ready line, a stuck log collector),
// the pipe filled after about 64 KiB and the engine thread blocked in write(): no call was
// offered or acknowledged again until someone read (tests/integration/log_pipe_test.sh).
//
// The bound: kLogQueueLines lines waiting to be written (hotlined --log-queue-lines). Past it the
// oldest waiting line is dropped for the newest (counted: hotline_log_lines_dropped_total), never
// the caller blocked. A log line is never the record of a call: the database is (docs/storage.md).
//
// Thread-safety: LogThroughQueue and EndLogging from main only, before any other thread logs and
// after every other thread has stopped; LogLinesDropped from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hotline::daemon {

inline constexpr std::size_t kLogQueueLines = 8192;
// The most --log-queue-lines takes. spdlog sets aside each line's room at start (about 400
// bytes), so the default holds about 3 MB and this about 40 MB.
inline constexpr std::size_t kMostLogQueueLines = 100'000;

// Makes the default logger write through a queue of `lines` lines and a thread of its own, to
// stdout as before (the same format; colours only on a terminal).
void LogThroughQueue(std::size_t lines = kLogQueueLines);

// Sends protobuf's own log lines to spdlog, where protobuf writes them straight to stderr. It
// logs one for each request whose string is not UTF-8 ("String field '...' contains invalid
// UTF-8 data when parsing ..."): a stranger's bad bytes, already answered INVALID_ARGUMENT by
// name, would otherwise be an unbounded stream of unformatted lines past the log's queue. Those
// go at debug level; any other line at warn; a fatal one to stderr at once (protobuf aborts
// next). From main, as LogThroughQueue.
void RouteProtobufLog();
// Lines dropped because the queue was full (0 before LogThroughQueue, as in tests).
uint64_t LogLinesDropped();

// Writes what is queued, with a last line saying how many lines were dropped if any were ("at
// least N log lines were dropped: ..."), and stops the log thread, waiting at most `patience` for a
// reader that does not read; then ends the process with `code` without waiting any longer. Returns
// `code` when the log was written out.
int EndLogging(int code, std::chrono::milliseconds patience);

}  // namespace hotline::daemon
