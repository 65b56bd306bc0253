// Unit tests of the checks and renderings of untrusted text (daemon/text_checks.h).
#include "daemon/text_checks.h"

#include <catch2/catch.hpp>

namespace hotline::daemon {
namespace {

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST_CASE("text with a control character is refused naming the field, the character and the byte",
          "[daemon]") {
  CHECK(ValidateText("Nguyễn Thị Lan, sip:lan@pbx", "name").ok());
  CHECK(Message(ValidateText("lost\nforged", "reason")) ==
        "reason: contains a control character (U+000A) at byte 4");
  CHECK(Message(ValidateText(std::string("a\0b", 3), "id")) ==
        "id: contains a control character (U+0000) at byte 1");
  CHECK(Message(ValidateText("x\x7f", "id")) ==
        "id: contains a control character (U+007F) at byte 1");
  CHECK(Message(ValidateText("é\xc2\x9b", "id")) ==  // C1: CSI.
        "id: contains a control character (U+009B) at byte 2");
  // Characters that change how the text reads. Regression (a black-box check): a reason with a
  // right-to-left override or a line separator was stored, and showed reordered or split.
  CHECK(Message(ValidateText("ok\xe2\x80\xae"
                             "daed",
                             "reason")) ==  // U+202E, RLO.
        "reason: contains a control character (U+202E) at byte 2");
  CHECK(Message(ValidateText("a\xe2\x80\xa8"
                             "b",
                             "reason")) ==  // U+2028, LINE SEPARATOR.
        "reason: contains a control character (U+2028) at byte 1");
  CHECK(Message(ValidateText("\xe2\x81\xa6x", "reason")) ==  // U+2066, LRI.
        "reason: contains a control character (U+2066) at byte 0");
  CHECK(ValidateText("a\xe2\x80\x8b"
                     "b",
                     "reason")
            .ok());  // U+200B, zero width: harmless.
}

TEST_CASE("text that is not UTF-8 is refused at the first bad byte", "[daemon]") {
  CHECK(Message(ValidateText("ab\xff", "note")) == "note: is not valid UTF-8 at byte 2");
  CHECK(Message(ValidateText("\xc3", "note")) == "note: is not valid UTF-8 at byte 0");  // Cut.
  CHECK(Message(ValidateText("\xc0\xaf", "note")) == "note: is not valid UTF-8 at byte 0");
  CHECK(Message(ValidateText("\xed\xa0\x80", "note")) ==  // A surrogate.
        "note: is not valid UTF-8 at byte 0");
  CHECK(Message(ValidateText("\xf4\x90\x80\x80", "note")) ==  // Past U+10FFFF.
        "note: is not valid UTF-8 at byte 0");
  CHECK(ValidateText("\xf0\x9f\x98\x80", "note").ok());  // An emoji.
}

TEST_CASE("required and optional text are bounded in bytes", "[daemon]") {
  CHECK(Message(ValidateRequiredText("", "reason", 5)) == "reason: is required");
  CHECK(Message(ValidateRequiredText("123456", "reason", 5)) == "reason: must be 1-5 bytes");
  CHECK(ValidateRequiredText("12345", "reason", 5).ok());
  CHECK(ValidateOptionalText("", "note", 5).ok());
  CHECK(Message(ValidateOptionalText("123456", "note", 5)) == "note: must be at most 5 bytes");
}

TEST_CASE("an excerpt escapes control characters, broken UTF-8 and backslashes", "[daemon]") {
  CHECK(Excerpt("call-1") == "call-1");
  CHECK(Excerpt("a\nb") == "a\\x0ab");
  CHECK(Excerpt("a\\x0ab") == "a\\x5cx0ab");  // A sent "\x0a" never reads as an escape.
  CHECK(Excerpt("\xff") == "\\xff");
  CHECK(Excerpt("\xc2\x85") == "\\xc2\\x85");
  CHECK(Excerpt("\xe2\x80\xae") == "\\xe2\\x80\\xae");
  CHECK(Excerpt("Hà Nội") == "Hà Nội");
}

TEST_CASE("an excerpt keeps a short prefix, cut on a character, and says how long it was",
          "[daemon]") {
  const std::string megabyte(1 << 20, 'x');
  CHECK(Excerpt(megabyte) == std::string(kExcerptBytes, 'x') + "…(1048576 bytes)");
  CHECK(Excerpt(std::string(kExcerptBytes, 'x')) == std::string(kExcerptBytes, 'x'));
  // The 'é' would straddle the bound: it is left out whole.
  const std::string straddling = std::string(kExcerptBytes - 1, 'a') + "é";
  CHECK(Excerpt(straddling) ==
        std::string(kExcerptBytes - 1, 'a') + "…(" + std::to_string(kExcerptBytes + 1) +
            " bytes)");
  CHECK(ValidateText(Excerpt(straddling), "excerpt").ok());
}

}  // namespace
}  // namespace hotline::daemon
