// Fuzz target: daemon/text_checks over arbitrary bytes.
//
// Checks what text_checks.h promises, whatever the bytes:
//   - Excerpt's result is valid text (ValidateText accepts it), on one line, and bounded: at most
//     kExcerptBytes of input, each byte escaped to at most 4 bytes, plus the "…(N bytes)" tail;
//   - valid text of at most kExcerptBytes without a backslash is quoted unchanged;
//   - ValidateRequiredText / ValidateOptionalText agree with ValidateText and the length bound,
//     and their errors are INVALID_ARGUMENT messages that are themselves valid, short text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "daemon/text_checks.h"

namespace {

using hotline::daemon::Excerpt;
using hotline::daemon::kExcerptBytes;
using hotline::daemon::ValidateOptionalText;
using hotline::daemon::ValidateRequiredText;
using hotline::daemon::ValidateText;

// Longer than any message these functions write about a field named "field".
constexpr size_t kLongestMessage = 200;

[[noreturn]] void Fail(const char* what, std::string_view text) {
  std::fprintf(stderr, "text_checks_fuzz: %s (input of %zu bytes)\n", what, text.size());
  std::abort();
}

void CheckError(const absl::Status& s, std::string_view text) {
  if (s.ok()) {
    return;
  }
  if (s.code() != absl::StatusCode::kInvalidArgument) {
    Fail("an error that is not INVALID_ARGUMENT", text);
  }
  const std::string message(s.message());
  if (!ValidateText(message, "message").ok() || message.size() > kLongestMessage) {
    Fail("an error message that is not short, valid text", text);
  }
  if (message.substr(0, 7) != "field: ") {
    Fail("an error message that does not start with the field", text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const absl::Status valid = ValidateText(text, "field");
  CheckError(valid, text);

  const std::string quoted = Excerpt(text);
  if (!ValidateText(quoted, "excerpt").ok()) {
    Fail("Excerpt returned text ValidateText refuses", text);
  }
  // Each kept byte becomes at most 4 ("\xNN"); the tail "…(N bytes)" is under 40.
  if (quoted.size() > 4 * kExcerptBytes + 40) {
    Fail("Excerpt returned more than its bound", text);
  }
  if (valid.ok() && size <= kExcerptBytes && text.find('\\') == std::string_view::npos &&
      quoted != text) {
    Fail("Excerpt changed short valid text", text);
  }

  for (size_t max : {size_t{1}, size_t{16}, size_t{500}}) {
    const absl::Status required = ValidateRequiredText(text, "field", max);
    const absl::Status optional = ValidateOptionalText(text, "field", max);
    CheckError(required, text);
    CheckError(optional, text);
    const bool fits = size <= max;
    if (required.ok() != (valid.ok() && fits && size > 0)) {
      Fail("ValidateRequiredText disagrees with ValidateText and its bound", text);
    }
    if (optional.ok() != (valid.ok() && fits)) {
      Fail("ValidateOptionalText disagrees with ValidateText and its bound", text);
    }
  }
  return 0;
}
