// The disposition export: answered calls counted by category, sub-category and action, labelled
// after the Child Helpline International (CHI) data framework, for a helpline's yearly data
// submission. No personal data: no ids, numbers, provinces, times or notes, only counts.
//
// The mapping from our categories (proto/hotline/v1/common.proto Category) to CHI's labels is
// the table kChiCategories in dispositions.cc. A call marked silent, prank or abusive is a
// non-counselling contact whatever its category (CHI counts those apart); an answered call
// whose wrap-up ended without a disposition counts as "Not recorded", so the export's total is
// every call handled in the period.
//
// Pure; not thread-safe (one owner).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "routing/types.h"
#include "stats/figures.h"

namespace hotline::stats {

// CHI's labels for one of our dispositions.
struct ChiLabels {
  std::string category;
  std::string sub_category;
  std::string action;
  auto operator<=>(const ChiLabels&) const = default;
};

// The labels of a disposition (routing::Disposition names: "sexual_abuse", "referred_police",
// flags "silent", ...). A name the table does not know keeps its own name, marked
// "unmapped: <name>", so a new enum value shows up in the export instead of vanishing.
ChiLabels ChiLabelsFor(const routing::Disposition& disposition);

struct DispositionCount {
  ChiLabels labels;
  int64_t count = 0;
};

class DispositionCounter final {
 public:
  // REQUIRES: from < to.
  DispositionCounter(Timestamp from, Timestamp to);

  // Counts an answered call whose handling ended (HandlingEnd, stats/report.h) in [from, to);
  // any other call adds nothing.
  void AddCall(const routing::CallRecord& call);
  // By category, sub-category, then action.
  std::vector<DispositionCount> Counts() const;

 private:
  Timestamp from_;
  Timestamp to_;
  std::map<ChiLabels, int64_t> counts_;
};

}  // namespace hotline::stats
