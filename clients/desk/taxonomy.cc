#include "clients/desk/taxonomy.h"

#include <absl/status/status.h>
#include <fmt/format.h>
#include <google/protobuf/descriptor.h>
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "hotline/v1/common.pb.h"

namespace hotline::clients::desk {
namespace {

namespace v1 = hotline::v1;
using google::protobuf::EnumDescriptor;

// The keys an entry may hold, per list, so that a misspelt key is an error rather than a label
// silently missing.
const std::set<std::string>& AllowedKeys(std::string_view list) {
  static const std::set<std::string> kCategory = {"vi", "en", "chi_category", "chi_sub_category"};
  static const std::set<std::string> kAction = {"vi", "en", "chi_label"};
  return list == "action" ? kAction : kCategory;
}

absl::Status Error(const std::string& source, const toml::source_region& where,
                   std::string_view what) {
  return absl::InvalidArgumentError(
      fmt::format("{}:{}: {}", source, std::max<int64_t>(where.begin.line, 1), what));
}

// The string at `key` of `table` into `out`; `required` ones must be there and non-empty.
absl::Status ReadLabel(const toml::table& table, std::string_view key, bool required,
                       const std::string& source, const std::string& path, std::string& out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) {
    return required ? Error(source, table.source(), fmt::format("{}.{}: is required", path, key))
                    : absl::OkStatus();
  }
  const std::optional<std::string> value = node->value<std::string>();
  if (!value || value->empty()) {
    return Error(source, node->source(),
                 fmt::format("{}.{}: must be a non-empty string", path, key));
  }
  out = *value;
  return absl::OkStatus();
}

absl::StatusOr<TaxonomyEntry> ReadEntry(const toml::node& node, const EnumDescriptor& descriptor,
                                        std::string_view list, const std::string& name,
                                        const std::string& source) {
  const std::string path = fmt::format("{}.{}", list, name);
  const google::protobuf::EnumValueDescriptor* value = descriptor.FindValueByName(name);
  if (value == nullptr || value->number() == 0) {
    return Error(source, node.source(),
                 fmt::format("{}: '{}' is not a value of {}", path, name, descriptor.name()));
  }
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Error(source, node.source(), fmt::format("{}: must be a table", path));
  }
  for (const auto& [key, unused] : *table) {
    if (!AllowedKeys(list).contains(std::string(key.str()))) {
      return Error(source, unused.source(), fmt::format("{}.{}: unknown key", path, key.str()));
    }
  }
  TaxonomyEntry entry;
  entry.number = value->number();
  entry.name = name;
  for (auto [key, required, out] :
       {std::tuple{"vi", true, &entry.vi}, std::tuple{"en", true, &entry.en},
        std::tuple{"chi_category", false, &entry.chi_category},
        std::tuple{"chi_sub_category", false, &entry.chi_sub_category},
        std::tuple{"chi_label", false, &entry.chi_label}}) {
    if (absl::Status status = ReadLabel(*table, key, required, source, path, *out); !status.ok()) {
      return status;
    }
  }
  return entry;
}

// One list ("category") of the file: every value of `descriptor` but UNSPECIFIED, once, in the
// file's order.
absl::StatusOr<std::vector<TaxonomyEntry>> ReadList(const toml::table& root, std::string_view list,
                                                    const EnumDescriptor& descriptor,
                                                    const std::string& source) {
  const toml::node* node = root.get(list);
  const toml::table* table = node == nullptr ? nullptr : node->as_table();
  if (table == nullptr) {
    return Error(source, node == nullptr ? root.source() : node->source(),
                 fmt::format("{}: a table of {} values is required", list, descriptor.name()));
  }
  std::vector<std::pair<int64_t, TaxonomyEntry>> entries;
  for (const auto& [key, value] : *table) {
    absl::StatusOr<TaxonomyEntry> entry =
        ReadEntry(value, descriptor, list, std::string(key.str()), source);
    if (!entry.ok()) {
      return entry.status();
    }
    entries.emplace_back(value.source().begin.line, *std::move(entry));
  }
  for (int i = 0; i < descriptor.value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor& value = *descriptor.value(i);
    const bool covered = std::any_of(entries.begin(), entries.end(), [&](const auto& entry) {
      return entry.second.number == value.number();
    });
    if (value.number() != 0 && !covered) {
      return Error(source, table->source(),
                   fmt::format("{}.{}: missing: every {} value needs labels", list, value.name(),
                               descriptor.name()));
    }
  }
  // toml++ keeps a table's keys sorted; the form lists them as the file does.
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<TaxonomyEntry> ordered;
  ordered.reserve(entries.size());
  for (auto& [line, entry] : entries) {
    ordered.push_back(std::move(entry));
  }
  return ordered;
}

}  // namespace

absl::StatusOr<Taxonomy> ParseTaxonomy(std::string_view text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Error(source, e.source(), e.description());
  }
  for (const auto& [key, value] : root) {
    if (key != "category" && key != "action" && key != "flag") {
      return Error(source, value.source(),
                   fmt::format("{}: unknown table (category, action or flag)", key.str()));
    }
  }
  Taxonomy taxonomy;
  for (auto [list, descriptor, out] :
       {std::tuple{"category", v1::Category_descriptor(), &taxonomy.categories},
        std::tuple{"action", v1::Action_descriptor(), &taxonomy.actions},
        std::tuple{"flag", v1::DispositionFlag_descriptor(), &taxonomy.flags}}) {
    absl::StatusOr<std::vector<TaxonomyEntry>> entries = ReadList(root, list, *descriptor, source);
    if (!entries.ok()) {
      return entries.status();
    }
    *out = *std::move(entries);
  }
  return taxonomy;
}

absl::StatusOr<Taxonomy> LoadTaxonomy(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    return absl::InvalidArgumentError(fmt::format("--taxonomy: cannot read '{}'", path));
  }
  std::ostringstream text;
  text << file.rdbuf();
  return ParseTaxonomy(text.str(), path);
}

}  // namespace hotline::clients::desk
