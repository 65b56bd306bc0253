// How the clients write for people: masked caller numbers, times of day, durations, and whole
// lines to stdout and stderr.
//
// Thread-safe: PrintLine and PrintErrorLine serialise on one process-wide mutex, so lines from a
// stream's reader thread and the main thread never interleave mid-line.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace hotline::clients {

// The number with every character but the last two replaced by '*': "+84901234567" becomes
// "**********67". Screens and logs never show more (DESIGN.md §6).
std::string MaskNumber(std::string_view number);

// Local time of day with milliseconds, "12:00:01.234".
std::string TimeOfDay(std::chrono::system_clock::time_point at);
// The same for a proto timestamp; `now` stands in for an unset one.
std::string TimeOfDay(const google::protobuf::Timestamp& at);

// A duration for people: "45s", "2m05s", "1h02m"; negative ones clamp to "0s".
std::string HumanDuration(std::chrono::milliseconds duration);
std::string HumanDuration(const google::protobuf::Duration& duration);
// Time from now until `at` in the same form ("0s" when already past).
std::string TimeUntil(const google::protobuf::Timestamp& at);

// ASCII case conversion. (Debian's Abseil has its own string_view type, which std::string_view
// does not convert to, hence these few std-only string helpers.)
std::string AsciiLower(std::string_view text);
std::string AsciiUpper(std::string_view text);
// `text` split at every `separator`; pieces view `text`. "a,,b" gives "a", "", "b".
std::vector<std::string_view> Split(std::string_view text, char separator);
// `text` without leading/trailing ASCII whitespace.
std::string_view Trim(std::string_view text);

// `rows` as lines of left-aligned columns two spaces apart, each column as wide as its widest
// cell. Widths count UTF-8 code points: names carry Vietnamese letters, one column each but two
// or three bytes. Trailing spaces are not added to the last cell.
std::vector<std::string> TableLines(const std::vector<std::vector<std::string>>& rows);

// Writes `line` and a newline to stdout and flushes, so a tee or a test sees it at once.
void PrintLine(std::string_view line);
// The same on stderr.
void PrintErrorLine(std::string_view line);

}  // namespace hotline::clients
