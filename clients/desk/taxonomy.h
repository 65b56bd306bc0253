// The wrap-up form's lists: a Vietnamese and an English label for every Category, Action and
// DispositionFlag of common.proto, read from a TOML file (deploy/taxonomy.toml) keyed by the enum
// value's name. Loading checks the file against the proto's descriptors, so a value added to the
// proto and not to the file is an error at start, never a hole in the form.
//
// Thread-safe: a Taxonomy is a value; the functions share nothing.
#pragma once

#include <absl/status/statusor.h>

#include <string>
#include <string_view>
#include <vector>

#include "clients/desk/lang.h"

namespace hotline::clients::desk {

// One value of an enum with its labels.
struct TaxonomyEntry {
  // The enum value's number and name ("CATEGORY_SEXUAL_ABUSE").
  int number = 0;
  std::string name;
  std::string vi;
  std::string en;
  // The disposition export's labels (stats/dispositions.cc), kept beside ours so a test can
  // check the two agree; empty where the export has none (chi_label is the actions' one label).
  std::string chi_category;
  std::string chi_sub_category;
  std::string chi_label;

  const std::string& Label(Lang lang) const { return lang == Lang::kVi ? vi : en; }
};

// Each list in the file's order, every non-UNSPECIFIED value of its enum exactly once.
struct Taxonomy {
  std::vector<TaxonomyEntry> categories;
  std::vector<TaxonomyEntry> actions;
  std::vector<TaxonomyEntry> flags;
};

// Parses `text`, naming `source` in errors. INVALID_ARGUMENT "<source>:<line>: <what>" for a
// TOML syntax error, an unknown table, value name or key, a label missing or empty, or an enum
// value the file does not cover (then the line of its table, or 1 when the table is missing).
absl::StatusOr<Taxonomy> ParseTaxonomy(std::string_view text, const std::string& source);

// The same from a file. INVALID_ARGUMENT naming the path when it cannot be read.
absl::StatusOr<Taxonomy> LoadTaxonomy(const std::string& path);

// deploy/taxonomy.toml as it was when hotline-desk was built.
std::string_view BuiltInTaxonomyText();
// How errors in the built-in copy name it.
inline constexpr char kBuiltInTaxonomySource[] = "deploy/taxonomy.toml (built in)";

}  // namespace hotline::clients::desk
