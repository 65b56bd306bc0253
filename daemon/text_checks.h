// Checks and renderings of untrusted text: the ids, reasons, notes, names and endpoints a peer
// sends, before any of it is logged, stored, echoed in an error or sent on to another peer.
//
// Why: a newline in a reason forges a log line, a control character or a broken UTF-8 sequence
// sent on breaks a peer's parser, and a 1 MB value echoed in an error is 1 MB sent back.
//
// Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace hotline::daemon {

// OK when `text` is valid UTF-8 without control characters: U+0000-U+001F, U+007F-U+009F, and
// the separators and bidirectional controls that change how text reads (U+2028, U+2029,
// U+202A-U+202E, U+2066-U+2069);
// otherwise INVALID_ARGUMENT naming `field` and where: "reason: contains a control character
// (U+000A) at byte 12", "note: is not valid UTF-8 at byte 3". Says nothing about the length.
[[nodiscard]] absl::Status ValidateText(std::string_view text, std::string_view field);

// The offset of the first byte of `text` that does not begin a well-formed UTF-8 sequence, or
// std::string_view::npos when all of it is UTF-8 (control characters allowed).
size_t FirstBadUtf8Byte(std::string_view text);

// `text` when it is 1 to `max_bytes` bytes of valid text (ValidateText); otherwise
// INVALID_ARGUMENT naming `field`: "<field>: is required" when empty, "<field>: must be 1-<max>
// bytes" when too long, or ValidateText's message.
[[nodiscard]] absl::Status ValidateRequiredText(std::string_view text, std::string_view field,
                                                size_t max_bytes);
// As ValidateRequiredText, but empty is allowed: "<field>: must be at most <max> bytes".
[[nodiscard]] absl::Status ValidateOptionalText(std::string_view text, std::string_view field,
                                                size_t max_bytes);

// How much of an untrusted value a log line or an error message quotes.
inline constexpr size_t kExcerptBytes = 64;

// `text` made fit to quote in a log line or an error message: at most its first kExcerptBytes
// bytes (cut on a character boundary), each control character, byte of broken UTF-8 and
// backslash escaped ("\x0a", "\x5c"), and, when cut, "…(N bytes)" after it with N the whole
// length. The result is valid UTF-8 on one line, whatever `text` is.
std::string Excerpt(std::string_view text);

}  // namespace hotline::daemon
