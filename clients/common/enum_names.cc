#include "clients/common/enum_names.h"

#include <algorithm>

#include "clients/common/text.h"

namespace hotline::clients::internal {
namespace {

constexpr std::string_view kUnspecified = "UNSPECIFIED";

// "CATEGORY_" for Category, read off CATEGORY_UNSPECIFIED. Empty if an enum breaks the
// convention, so its full names are used rather than mangled ones.
std::string_view Prefix(const google::protobuf::EnumDescriptor& descriptor) {
  const google::protobuf::EnumValueDescriptor* zero = descriptor.FindValueByNumber(0);
  if (zero == nullptr || !zero->name().ends_with(kUnspecified)) {
    return {};
  }
  return std::string_view(zero->name()).substr(0, zero->name().size() - kUnspecified.size());
}

}  // namespace

std::string ShortName(const google::protobuf::EnumDescriptor& descriptor, int number) {
  const google::protobuf::EnumValueDescriptor* value = descriptor.FindValueByNumber(number);
  if (value == nullptr) {
    return std::to_string(number);
  }
  std::string_view name = value->name();
  name.remove_prefix(Prefix(descriptor).size());
  return AsciiLower(name);
}

std::optional<int> ParseShortName(const google::protobuf::EnumDescriptor& descriptor,
                                  std::string_view text) {
  const std::string prefix(Prefix(descriptor));
  std::string name = AsciiUpper(text);
  std::replace(name.begin(), name.end(), '-', '_');
  if (!name.starts_with(prefix)) {
    name = prefix + name;
  }
  const google::protobuf::EnumValueDescriptor* value = descriptor.FindValueByName(name);
  if (value == nullptr || value->number() == 0) {
    return std::nullopt;
  }
  return value->number();
}

std::string ShortNames(const google::protobuf::EnumDescriptor& descriptor,
                       std::string_view separator) {
  std::string names;
  for (int i = 0; i < descriptor.value_count(); ++i) {
    const int number = descriptor.value(i)->number();
    if (number == 0) {
      continue;
    }
    if (!names.empty()) {
      names += separator;
    }
    names += ShortName(descriptor, number);
  }
  return names;
}

}  // namespace hotline::clients::internal
