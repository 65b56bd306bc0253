#include "clients/common/text.h"

#include <absl/base/const_init.h>
#include <absl/synchronization/mutex.h>
#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <utility>

namespace hotline::clients {
namespace {

ABSL_CONST_INIT absl::Mutex console_mutex(absl::kConstInit);

void WriteLine(std::FILE* stream, std::string_view line) {
  absl::MutexLock lock(&console_mutex);
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
}

}  // namespace

std::string MaskNumber(std::string_view number) {
  constexpr size_t kShown = 2;
  if (number.size() <= kShown) {
    // Too short to show any of it and still hide something.
    return std::string(number.size(), '*');
  }
  std::string masked(number.size() - kShown, '*');
  masked.append(number.substr(number.size() - kShown));
  return masked;
}

std::string TimeOfDay(std::chrono::system_clock::time_point at) {
  const auto since_epoch = at.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds);
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm local{};
  localtime_r(&t, &local);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min, local.tm_sec,
                     millis.count());
}

std::string TimeOfDay(const google::protobuf::Timestamp& at) {
  if (at.seconds() == 0 && at.nanos() == 0) {
    return TimeOfDay(std::chrono::system_clock::now());
  }
  const auto millis = google::protobuf::util::TimeUtil::TimestampToMilliseconds(at);
  return TimeOfDay(std::chrono::system_clock::time_point(std::chrono::milliseconds(millis)));
}

std::string HumanDuration(std::chrono::milliseconds duration) {
  // Round to the nearest second: callers and counsellors think in seconds.
  const int64_t total = (std::max<int64_t>(duration.count(), 0) + 500) / 1000;
  const int64_t hours = total / 3600;
  const int64_t minutes = total % 3600 / 60;
  const int64_t seconds = total % 60;
  if (hours > 0) {
    return fmt::format("{}h{:02}m", hours, minutes);
  }
  if (minutes > 0) {
    return fmt::format("{}m{:02}s", minutes, seconds);
  }
  return fmt::format("{}s", seconds);
}

std::string HumanDuration(const google::protobuf::Duration& duration) {
  return HumanDuration(std::chrono::milliseconds(
      google::protobuf::util::TimeUtil::DurationToMilliseconds(duration)));
}

std::string TimeUntil(const google::protobuf::Timestamp& at) {
  const auto at_ms =
      std::chrono::milliseconds(google::protobuf::util::TimeUtil::TimestampToMilliseconds(at));
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return HumanDuration(at_ms - now_ms);
}

std::string AsciiLower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

std::string AsciiUpper(std::string_view text) {
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  while (true) {
    const size_t at = text.find(separator);
    pieces.push_back(text.substr(0, at));
    if (at == std::string_view::npos) {
      return pieces;
    }
    text.remove_prefix(at + 1);
  }
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return {};
  }
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

void PrintLine(std::string_view line) { WriteLine(stdout, line); }

void PrintErrorLine(std::string_view line) { WriteLine(stderr, line); }

size_t Width(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::vector<std::string> TableLines(const std::vector<std::vector<std::string>>& rows,
                                    size_t first_right_aligned) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], Width(row[i]));
    }
  }
  std::vector<std::string> lines;
  lines.reserve(rows.size());
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const size_t padding = widths[i] - Width(row[i]);
      if (i >= first_right_aligned) {
        line.append(padding, ' ');
        line += row[i];
      } else {
        line += row[i];
        if (i + 1 < row.size()) {
          line.append(padding, ' ');
        }
      }
      if (i + 1 < row.size()) {
        line.append(2, ' ');
      }
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows, size_t first_right_aligned) {
  for (const std::string& line : TableLines(rows, first_right_aligned)) {
    PrintLine(line);
  }
}

}  // namespace hotline::clients
