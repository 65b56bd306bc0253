// The little UTF-8 the desk's screen needs: typing a note one character at a time, erasing the
// last one, and walking text a character at a time to lay it out in columns. Vietnamese letters
// are one column each but two or three bytes; a combining mark (a tone typed as a separate code
// point) joins the letter before it.
//
// Thread-safe: pure functions.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace hotline::clients::desk {

// `c` as UTF-8 appended to `out`; surrogates and values past U+10FFFF are dropped.
inline void AppendUtf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    if (c >= 0xD800 && c <= 0xDFFF) {
      return;
    }
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c <= 0x10FFFF) {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// The byte length of the code point starting at `text[0]` (1 for a stray continuation byte).
inline size_t CodePointLength(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  size_t length = lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  length = std::min(length, text.size());
  for (size_t i = 1; i < length; ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      return i;
    }
  }
  return length;
}

// True for the combining marks that put a tone or a hat on the letter before them.
inline bool IsCombining(std::string_view code_point) {
  // U+0300..U+036F are CC 80..CD AF in UTF-8.
  if (code_point.size() != 2) {
    return false;
  }
  const auto b0 = static_cast<unsigned char>(code_point[0]);
  const auto b1 = static_cast<unsigned char>(code_point[1]);
  return b0 == 0xCC || (b0 == 0xCD && b1 <= 0xAF);
}

// Removes the last character of `text` (with any combining marks after it).
inline void EraseLastCharacter(std::string& text) {
  while (!text.empty()) {
    size_t start = text.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
      --start;
    }
    const bool combining = IsCombining(std::string_view(text).substr(start));
    text.erase(start);
    if (!combining) {
      return;
    }
  }
}

}  // namespace hotline::clients::desk
