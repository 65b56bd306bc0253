// Proto enum values as people type and read them: CATEGORY_FAMILY_RELATIONSHIPS is
// "family_relationships", OfferRevokedEvent::REASON_TIMED_OUT is "timed_out".
//
// The names come from the generated enum descriptors (the same ones the generated Category_Name
// and Category_Parse helpers read), and the prefix to strip is taken from each enum's
// *_UNSPECIFIED value, which every Hotline enum has by convention. So there is no hand-written
// table, and a value added to the proto works here at once.
//
// Thread-safe: descriptors are immutable.
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/generated_enum_reflection.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace hotline::clients {
namespace internal {

std::string ShortName(const google::protobuf::EnumDescriptor& descriptor, int number);
std::optional<int> ParseShortName(const google::protobuf::EnumDescriptor& descriptor,
                                  std::string_view text);
std::string ShortNames(const google::protobuf::EnumDescriptor& descriptor,
                       std::string_view separator);

}  // namespace internal

// "family_relationships" for CATEGORY_FAMILY_RELATIONSHIPS; the number for a value this build
// does not know (a newer daemon may send one).
template <typename Enum>
std::string EnumName(Enum value) {
  return internal::ShortName(*google::protobuf::GetEnumDescriptor<Enum>(), static_cast<int>(value));
}

// The value named by `text`: the short name in any case, '-' accepted for '_', or the full
// proto name. nullopt for anything else, including "unspecified", which is never valid input.
template <typename Enum>
std::optional<Enum> ParseEnum(std::string_view text) {
  const std::optional<int> number =
      internal::ParseShortName(*google::protobuf::GetEnumDescriptor<Enum>(), text);
  if (!number) {
    return std::nullopt;
  }
  return static_cast<Enum>(*number);
}

// Every valid input name joined by `separator`, e.g. "low|normal|high|emergency".
template <typename Enum>
std::string EnumNames(std::string_view separator = "|") {
  return internal::ShortNames(*google::protobuf::GetEnumDescriptor<Enum>(), separator);
}

// A CLI11 validator accepting what ParseEnum<Enum> accepts; --help shows the choices.
template <typename Enum>
CLI::Validator EnumValidator() {
  const std::string names = EnumNames<Enum>();
  return CLI::Validator(
      [names](std::string& text) -> std::string {
        if (ParseEnum<Enum>(text)) {
          return {};
        }
        return "'" + text + "' is not one of " + names;
      },
      names);
}

}  // namespace hotline::clients
