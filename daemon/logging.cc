#include "daemon/logging.h"

#include <google/protobuf/stubs/logging.h>
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <thread>

namespace hotline::daemon {

void RouteProtobufLog() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel level, const char* /*file*/,
                                     int /*line*/, const std::string& message) {
    if (level == google::protobuf::LOGLEVEL_FATAL) {
      // Protobuf aborts right after: straight to stderr, as its own handler does, or the line
      // would die in the queue.
      std::fprintf(stderr, "protobuf: %s\n", message.c_str());
      return;
    }
    spdlog::logger* log = spdlog::default_logger_raw();
    if (log == nullptr) {
      return;  // The log has ended (EndLogging).
    }
    // A peer's string that is not UTF-8 ("... when parsing ..."): already answered by name.
    // Anything else (our own serializing of a bad string, a size past 2 GB) is ours to see.
    const bool peers = message.find("when parsing") != std::string::npos;
    log->log(peers ? spdlog::level::debug : spdlog::level::warn, "protobuf: {}", message);
  });
}

void LogThroughQueue(std::size_t lines) {
  spdlog::init_thread_pool(lines, 1);
  const spdlog::level::level_enum level = spdlog::get_level();
  // The name stays empty, as the default logger's: the lines read as before.
  auto logger = std::make_shared<spdlog::async_logger>(
      "", std::make_shared<spdlog::sinks::stdout_color_sink_mt>(), spdlog::thread_pool(),
      spdlog::async_overflow_policy::overrun_oldest);
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(level);
}

uint64_t LogLinesDropped() {
  const std::shared_ptr<spdlog::details::thread_pool> pool = spdlog::thread_pool();
  return pool == nullptr ? 0 : static_cast<uint64_t>(pool->overrun_counter());
}

int EndLogging(int code, std::chrono::milliseconds patience) {
  // The log's last line says it is incomplete, so whoever reads or searches it knows (the
  // counter is gone with the process). Queued last, after every other thread has stopped: the
  // queue drops older lines, never this one ("at least": queuing it may drop one more). Written
  // only if the reader catches up within `patience`, as every line still queued.
  if (const uint64_t dropped = LogLinesDropped(); dropped > 0) {
    spdlog::warn(
        "at least {} log lines were dropped: the log's reader fell behind (--log-queue-lines)",
        dropped);
  }
  // spdlog::shutdown writes out the queue and joins the log thread; with a reader that does not
  // read it would wait for ever, so it runs on a thread of its own, waited for a while.
  auto written = std::make_shared<std::promise<void>>();
  std::future<void> done = written->get_future();
  std::thread([written] {
    spdlog::shutdown();
    written->set_value();
  }).detach();
  if (done.wait_for(patience) == std::future_status::ready) {
    return code;
  }
  std::_Exit(code);  // Everything else has stopped already: only log lines are left behind.
}

}  // namespace hotline::daemon
