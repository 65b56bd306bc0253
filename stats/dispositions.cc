#include "stats/dispositions.h"

#include <algorithm>
#include <array>

#include "routing/check.h"
#include "stats/report.h"

namespace hotline::stats {
namespace {

// Our categories and CHI's labels for them. CHI groups violence (physical, emotional, sexual,
// neglect, online) under one category with sub-categories; the other main reasons for contact
// are categories of their own, and where our category does not say more, the sub-category is
// "Not specified". Check the labels against CHI's current data framework glossary before a
// submission; this table is the one place to change them.
struct CategoryRow {
  std::string_view ours;
  std::string_view category;
  std::string_view sub_category;
};
constexpr std::array<CategoryRow, 15> kChiCategories = {{
    {"violence_physical", "Violence", "Physical violence"},
    {"violence_emotional", "Violence", "Emotional violence"},
    {"neglect", "Violence", "Neglect"},
    {"sexual_abuse", "Violence", "Sexual violence"},
    {"online_safety", "Violence", "Online violence and exploitation"},
    {"commercial_exploitation", "Commercial exploitation", "Not specified"},
    {"mental_health", "Mental health", "Not specified"},
    {"family_relationships", "Family relationships", "Not specified"},
    {"peer_relationships", "Peer relationships", "Not specified"},
    {"education", "Education", "Not specified"},
    {"physical_health", "Physical health", "Not specified"},
    {"sexuality", "Sexuality", "Not specified"},
    {"discrimination", "Discrimination", "Not specified"},
    {"legal_information", "Legal matters", "Information"},
    {"other", "Other", "Not specified"},
}};

// Flags that make a call a non-counselling contact, in precedence order when several are set.
struct FlagRow {
  std::string_view flag;
  std::string_view sub_category;
};
constexpr std::string_view kNonCounselling = "Non-counselling contact";
constexpr std::array<FlagRow, 3> kNonCounsellingFlags = {{
    {"silent", "Silent"},
    {"prank", "Prank or testing"},
    {"abusive", "Abusive"},
}};

struct ActionRow {
  std::string_view ours;
  std::string_view label;
};
constexpr std::array<ActionRow, 8> kChiActions = {{
    {"counselled", "Counselling"},
    {"information_given", "Information provided"},
    {"referred_police", "Referral: police"},
    {"referred_child_protection", "Referral: child protection services"},
    {"referred_health", "Referral: health services"},
    {"referred_school", "Referral: school"},
    {"referred_other", "Referral: other services"},
    {"none", "No further action"},
}};

constexpr std::string_view kNotRecorded = "Not recorded";

std::string Unmapped(std::string_view name) { return "unmapped: " + std::string(name); }

}  // namespace

ChiLabels ChiLabelsFor(const routing::Disposition& d) {
  ChiLabels labels;
  const auto action = std::find_if(kChiActions.begin(), kChiActions.end(),
                                   [&](const ActionRow& row) { return row.ours == d.action; });
  labels.action = action != kChiActions.end() ? std::string(action->label) : Unmapped(d.action);
  for (const FlagRow& row : kNonCounsellingFlags) {
    if (std::find(d.flags.begin(), d.flags.end(), row.flag) != d.flags.end()) {
      labels.category = kNonCounselling;
      labels.sub_category = row.sub_category;
      return labels;
    }
  }
  const auto category =
      std::find_if(kChiCategories.begin(), kChiCategories.end(),
                   [&](const CategoryRow& row) { return row.ours == d.category; });
  if (category == kChiCategories.end()) {
    labels.category = "Other";
    labels.sub_category = Unmapped(d.category);
  } else {
    labels.category = category->category;
    labels.sub_category = category->sub_category;
  }
  return labels;
}

DispositionCounter::DispositionCounter(Timestamp from, Timestamp to) : from_(from), to_(to) {
  HOTLINE_CHECK(from < to);
}

void DispositionCounter::AddCall(const routing::CallRecord& call) {
  if (!call.answered_at) {
    return;
  }
  const Timestamp end = HandlingEnd(call);
  if (end < from_ || end >= to_) {
    return;
  }
  const ChiLabels labels = call.disposition
                               ? ChiLabelsFor(*call.disposition)
                               : ChiLabels{std::string(kNotRecorded), std::string(kNotRecorded),
                                           std::string(kNotRecorded)};
  ++counts_[labels];
}

std::vector<DispositionCount> DispositionCounter::Counts() const {
  std::vector<DispositionCount> counts;
  counts.reserve(counts_.size());
  for (const auto& [labels, count] : counts_) {
    counts.push_back(DispositionCount{labels, count});
  }
  return counts;
}

}  // namespace hotline::stats
