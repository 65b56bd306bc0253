#include "clients/desk/taxonomy.h"

#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "clients/common/enum_names.h"
#include "hotline/v1/common.pb.h"
#include "stats/dispositions.h"

namespace hotline::clients::desk {
namespace {

namespace v1 = hotline::v1;

std::string ShippedText() {
  std::ifstream file(HOTLINE_SOURCE_DIR "/deploy/taxonomy.toml");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// The shipped text with its first `from` replaced by `to`.
std::string Edited(const std::string& from, const std::string& to) {
  std::string text = ShippedText();
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

std::string ErrorOf(const std::string& text) {
  absl::StatusOr<Taxonomy> taxonomy = ParseTaxonomy(text, "taxonomy.toml");
  REQUIRE_FALSE(taxonomy.ok());
  return std::string(taxonomy.status().message());
}

TEST_CASE("the shipped taxonomy labels every category, action and flag in both languages",
          "[desk]") {
  absl::StatusOr<Taxonomy> taxonomy = ParseTaxonomy(ShippedText(), "deploy/taxonomy.toml");
  REQUIRE(taxonomy.ok());
  CHECK(taxonomy->categories.size() ==
        static_cast<size_t>(v1::Category_descriptor()->value_count() - 1));
  CHECK(taxonomy->actions.size() ==
        static_cast<size_t>(v1::Action_descriptor()->value_count() - 1));
  CHECK(taxonomy->flags.size() ==
        static_cast<size_t>(v1::DispositionFlag_descriptor()->value_count() - 1));
  for (const auto* list : {&taxonomy->categories, &taxonomy->actions, &taxonomy->flags}) {
    for (const TaxonomyEntry& entry : *list) {
      INFO(entry.name);
      CHECK_FALSE(entry.vi.empty());
      CHECK_FALSE(entry.en.empty());
    }
  }
  // The file's order, not the alphabet's: violence first, as the form lists it.
  CHECK(taxonomy->categories.front().name == "CATEGORY_VIOLENCE_PHYSICAL");
  CHECK(taxonomy->categories.back().name == "CATEGORY_OTHER");
  CHECK(taxonomy->categories.front().vi == "Bạo lực thể chất");
}

TEST_CASE("the built-in taxonomy is the shipped file", "[desk]") {
  CHECK(BuiltInTaxonomyText() == ShippedText());
}

TEST_CASE("the taxonomy's CHI labels are the disposition export's", "[desk]") {
  absl::StatusOr<Taxonomy> taxonomy = ParseTaxonomy(ShippedText(), "deploy/taxonomy.toml");
  REQUIRE(taxonomy.ok());
  for (const TaxonomyEntry& category : taxonomy->categories) {
    INFO(category.name);
    routing::Disposition disposition;
    disposition.category = EnumName(static_cast<v1::Category>(category.number));
    disposition.action = "counselled";
    const stats::ChiLabels labels = stats::ChiLabelsFor(disposition);
    CHECK(labels.category == category.chi_category);
    CHECK(labels.sub_category == category.chi_sub_category);
  }
  for (const TaxonomyEntry& action : taxonomy->actions) {
    INFO(action.name);
    routing::Disposition disposition;
    disposition.category = "other";
    disposition.action = EnumName(static_cast<v1::Action>(action.number));
    CHECK(stats::ChiLabelsFor(disposition).action == action.chi_label);
  }
  for (const TaxonomyEntry& flag : taxonomy->flags) {
    INFO(flag.name);
    routing::Disposition disposition;
    disposition.category = "other";
    disposition.action = "counselled";
    disposition.flags = {EnumName(static_cast<v1::DispositionFlag>(flag.number))};
    const stats::ChiLabels labels = stats::ChiLabelsFor(disposition);
    if (flag.chi_category.empty()) {
      CHECK(labels.category == "Other");  // Counted under the call's own category.
    } else {
      CHECK(labels.category == flag.chi_category);
      CHECK(labels.sub_category == flag.chi_sub_category);
    }
  }
}

TEST_CASE("a taxonomy missing an enum value is refused, naming it", "[desk]") {
  const std::string error = ErrorOf(Edited("[action.ACTION_NONE]", "[action.ACTION_NONE_X]"));
  CHECK_THAT(error, Catch::Contains("taxonomy.toml:"));
  CHECK_THAT(error, Catch::Contains("ACTION_NONE_X"));
  const std::string text = ShippedText();
  const size_t start = text.find("[flag.DISPOSITION_FLAG_PRANK]");
  const size_t end = text.find("[flag.DISPOSITION_FLAG_ABUSIVE]");
  std::string without_prank = text;
  without_prank.erase(start, end - start);
  const std::string missing = ErrorOf(without_prank);
  CHECK_THAT(missing, Catch::Contains("flag.DISPOSITION_FLAG_PRANK: missing"));
}

TEST_CASE("a bad key in the taxonomy is refused with its file, line and key", "[desk]") {
  const std::string text = Edited("en = \"Neglect\"", "english = \"Neglect\"");
  const std::string error = ErrorOf(text);
  // The line of the bad key, counted in the edited text.
  const size_t at = text.find("english =");
  const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<long>(at), '\n');
  CHECK_THAT(error, Catch::Contains(fmt::format("taxonomy.toml:{}:", line)));
  CHECK_THAT(error, Catch::Contains("category.CATEGORY_NEGLECT.english: unknown key"));
}

TEST_CASE("an empty or missing label and a TOML syntax error are refused", "[desk]") {
  CHECK_THAT(ErrorOf(Edited("vi = \"Khác\"", "vi = \"\"")),
             Catch::Contains("category.CATEGORY_OTHER.vi: must be a non-empty string"));
  CHECK_THAT(ErrorOf(Edited("vi = \"Khác\"", "")),
             Catch::Contains("category.CATEGORY_OTHER.vi: is required"));
  CHECK_THAT(ErrorOf(Edited("[category.CATEGORY_OTHER]", "[category.CATEGORY_OTHER")),
             Catch::Contains("taxonomy.toml:"));
  CHECK_THAT(ErrorOf(ShippedText() + "\n[colour]\nvi = \"x\"\n"),
             Catch::Contains("colour: unknown table"));
}

TEST_CASE("an unreadable taxonomy file is named", "[desk]") {
  absl::StatusOr<Taxonomy> taxonomy = LoadTaxonomy("/nonexistent/taxonomy.toml");
  REQUIRE_FALSE(taxonomy.ok());
  CHECK_THAT(std::string(taxonomy.status().message()),
             Catch::Contains("cannot read '/nonexistent/taxonomy.toml'"));
}

}  // namespace
}  // namespace hotline::clients::desk
