#include "daemon/text_checks.h"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

namespace hotline::daemon {

namespace {

// One character decoded from the front of some UTF-8.
struct Decoded {
  char32_t code_point;
  size_t bytes;
};

// The character at the front of `s` (not empty), or nothing when it is not well-formed UTF-8:
// a stray continuation byte, a truncated sequence, an overlong form, a surrogate or a value past
// U+10FFFF (RFC 3629).
std::optional<Decoded> DecodeFront(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) {
    return Decoded{lead, 1};
  }
  // The sequence's length, the lead byte's payload bits, and the smallest code point that
  // needs that length (anything below is an overlong form).
  struct Form {
    uint8_t mask, tag;
    size_t size;
    char32_t smallest;
  };
  static constexpr Form kForms[] = {
      {0xE0, 0xC0, 2, 0x80}, {0xF0, 0xE0, 3, 0x800}, {0xF8, 0xF0, 4, 0x10000}};
  const Form* form = nullptr;
  for (const Form& f : kForms) {
    if ((lead & f.mask) == f.tag) {
      form = &f;
    }
  }
  if (form == nullptr) {
    return std::nullopt;
  }
  const size_t size = form->size;
  const char32_t smallest = form->smallest;
  char32_t cp = lead & static_cast<uint8_t>(~form->mask);
  if (s.size() < size) {
    return std::nullopt;
  }
  for (size_t i = 1; i < size; ++i) {
    if ((byte(i) & 0xC0) != 0x80) {
      return std::nullopt;
    }
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  if (cp < smallest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return std::nullopt;
  }
  return Decoded{cp, size};
}

// The C0 and C1 controls and DEL, and the format characters that change how the text around
// them reads: the line and paragraph separators (a new line to many viewers) and the
// bidirectional embeddings, overrides and isolates (text shown in another order than stored).
bool IsControl(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", field, what));
}

}  // namespace

size_t FirstBadUtf8Byte(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    const std::optional<Decoded> c = DecodeFront(text.substr(at));
    if (!c) {
      return at;
    }
    at += c->bytes;
  }
  return std::string_view::npos;
}

absl::Status ValidateText(std::string_view text, std::string_view field) {
  for (size_t at = 0; at < text.size();) {
    const std::optional<Decoded> c = DecodeFront(text.substr(at));
    if (!c) {
      return Invalid(field, fmt::format("is not valid UTF-8 at byte {}", at));
    }
    if (IsControl(c->code_point)) {
      return Invalid(field, fmt::format("contains a control character (U+{:04X}) at byte {}",
                                        static_cast<uint32_t>(c->code_point), at));
    }
    at += c->bytes;
  }
  return absl::OkStatus();
}

absl::Status ValidateRequiredText(std::string_view text, std::string_view field,
                                  size_t max_bytes) {
  if (text.empty()) {
    return Invalid(field, "is required");
  }
  if (text.size() > max_bytes) {
    return Invalid(field, fmt::format("must be 1-{} bytes", max_bytes));
  }
  return ValidateText(text, field);
}

absl::Status ValidateOptionalText(std::string_view text, std::string_view field,
                                  size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Invalid(field, fmt::format("must be at most {} bytes", max_bytes));
  }
  return ValidateText(text, field);
}

std::string Excerpt(std::string_view text) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    const std::optional<Decoded> c = DecodeFront(text.substr(at));
    const size_t bytes = c ? c->bytes : 1;
    if (at + bytes > kExcerptBytes) {
      break;  // Cut before a character that would not fit whole.
    }
    if (!c || IsControl(c->code_point) || c->code_point == '\\') {
      // Each byte of it, so a C1 control (two bytes) reads as what was sent.
      for (size_t i = 0; i < bytes; ++i) {
        out += fmt::format("\\x{:02x}", static_cast<uint8_t>(text[at + i]));
      }
    } else {
      out.append(text.substr(at, bytes));
    }
    at += bytes;
  }
  if (at < text.size()) {
    out += fmt::format("…({} bytes)", text.size());
  }
  return out;
}

}  // namespace hotline::daemon
