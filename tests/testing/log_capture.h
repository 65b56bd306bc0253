// What spdlog's default logger writes during a test, for checks on the lines the daemon logs.
//
// Thread-safety: lines may be logged from any thread; Lines() may be called from any thread.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace hotline::testing {

// Everything the daemon logs while it lives, for checks on what a log line quotes.
class CapturedLog final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // The lines logged so far.
  std::vector<std::string> Lines() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> lines;
    std::istringstream in(text_);
    for (std::string line; std::getline(in, line);) {
      lines.push_back(line);
    }
    return lines;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    text_.append(formatted.data(), formatted.size());
  }
  void flush_() override {}

 private:
  std::string text_;
};

// Sends spdlog's default logger to a CapturedLog for the test's lifetime.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()), log_(std::make_shared<CapturedLog>()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", log_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::vector<std::string> Lines() { return log_->Lines(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<CapturedLog> log_;
};

}  // namespace hotline::testing
