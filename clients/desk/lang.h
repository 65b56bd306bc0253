// The two languages of hotline-desk's screen. Every text on it is written in both, side by side
// where it is used, so a missing translation cannot compile.
//
// Thread-safe: constants only.
#pragma once

#include <string_view>

namespace hotline::clients::desk {

enum class Lang { kVi, kEn };

// One text in both languages.
struct Words {
  std::string_view vi;
  std::string_view en;
};

inline std::string_view Say(Lang lang, Words words) {
  return lang == Lang::kVi ? words.vi : words.en;
}

}  // namespace hotline::clients::desk
