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

// Display width of UTF-8 text in columns, counting code points: names carry Vietnamese letters,
// which are one column each but two or three bytes.
size_t Width(std::string_view text);

// `rows` (the first is the header) as the lines of a table: columns two spaces apart, each as
// wide as its widest cell (by Width). Columns from `first_right_aligned` on are right-aligned
// (numbers); no spaces trail a left-aligned last cell.
std::vector<std::string> TableLines(const std::vector<std::vector<std::string>>& rows,
                                    size_t first_right_aligned = static_cast<size_t>(-1));
// Prints TableLines(rows, first_right_aligned), a line at a time.
void PrintTable(const std::vector<std::vector<std::string>>& rows,
                size_t first_right_aligned = static_cast<size_t>(-1));

// Writes `line` and a newline to stdout and flushes, so a tee or a test sees it at once.
void PrintLine(std::string_view line);
// The same on stderr.
void PrintErrorLine(std::string_view line);

}  // namespace hotline::clients
