// Reports: the figures of stats/figures.h over finished calls and presence history read from the
// database (storage/report_rows.h), grouped by centre, province, topic, priority, counsellor or
// hour of the day.
//
// Pure: the caller reads the rows and the directory (who serves where); nothing here does I/O
// or reads a clock. ReportBuilder holds one Tally per group and one open presence interval, so a
// year of rows streams through it in bounded memory.
//
// What counts where (docs/supervision.md):
//   - A call's wait counts in the group of the call when its decided time (answered_at, else
//     ended_at) is in [from, to); its handling (answered calls only: answer to wrap-up end, or to
//     the call's end without a wrap-up) when its handling end (wrap_up_done_at, else ended_at)
//     is. Calls whose gateway sent a province the region tree does not know group under
//     "(unknown)" by centre and province; calls nobody accepted under "(none)" by counsellor.
//   - HOUR is the hour of the day, "00".."23", in local time (Vietnam: UTC+7, no daylight
//     saving), of the time counted: a wait by its decided time, a handling by its end, presence
//     cut at local hour boundaries.
//   - Own province / own centre are judged with the counsellors' provinces as they are when the
//     report runs (profiles keep no history); a counsellor since removed serves none.
//   - Occupancy needs presence, which belongs to counsellors, not calls: by counsellor it is
//     theirs, by province and centre it is that of the counsellors whose HOME province is there,
//     by hour it is the hour's; by topic and priority rows have none (occupancy absent) and only
//     the total has it. Presence still open counts up to `now`, never past `to`.
//   - Rows hold only groups with something counted, in key order (priorities highest first).
//
// Thread-safety: not thread-safe; one owner.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/types.h"
#include "stats/figures.h"

namespace hotline::stats {

enum class GroupBy { kCentre, kProvince, kTopic, kPriority, kCounsellor, kHour };

// The keys of groups with no name of their own.
inline constexpr std::string_view kUnknownRegion = "(unknown)";
inline constexpr std::string_view kNoCounsellor = "(none)";

// A counsellor's provinces, for own province / own centre and for placing their presence.
struct CounsellorRegions {
  std::string home_province;
  // Every province they serve, the home province included.
  std::vector<std::string> provinces;
};

// Who serves where, as the daemon knows it when the report runs.
struct ReportContext {
  // Today's province code -> its centre id.
  std::map<std::string, std::string> centre_of_province;
  std::map<std::string, CounsellorRegions> counsellors;
  // When the report runs: presence still open counts up to here.
  Timestamp now{};
};

struct ReportOptions {
  // Local time's offset from UTC, for HOUR. Vietnam: +7 h.
  Millis utc_offset{7 * 60 * 60 * 1000};
  Targets targets;
};

struct ReportRow {
  std::string key;
  Tally tally;
};

struct Report {
  std::vector<ReportRow> rows;
  // Every call and all presence of the period, whatever its group.
  Tally total;
};

// When a call's wait was decided: answered_at, else ended_at.
Timestamp DecidedAt(const routing::CallRecord& call);
// When an answered call's handling ended: wrap_up_done_at, else ended_at.
Timestamp HandlingEnd(const routing::CallRecord& call);
// "00".."23": the hour of the day of `t` at `utc_offset`.
std::string LocalHour(Timestamp t, Millis utc_offset);

class ReportBuilder final {
 public:
  // REQUIRES: from < to.
  ReportBuilder(GroupBy by, Timestamp from, Timestamp to, ReportContext context,
                ReportOptions options = {});

  // A call as storage::ReportReader gives it; any order. A call neither decided nor handled in
  // the period adds nothing.
  void AddCall(const routing::CallRecord& call);
  // A presence change. REQUIRES: a counsellor's changes come together, in time order, the last
  // one before `from` first (as storage::ReportReader gives them).
  void AddPresence(const routing::PresenceChange& change);
  // Closes the last open interval and returns the rows and the total.
  Report Finish() &&;

 private:
  // The group keys of a call: its wait and handling group (for HOUR, of `at`).
  std::string CallKey(const routing::CallRecord& call, Timestamp at) const;
  // The group of a counsellor's presence; empty for groupings without one (topic, priority).
  std::string PresenceKey(const std::string& counsellor_id) const;
  // Counts [begin, end) in `state`, clipped to the period.
  void AddInterval(const std::string& counsellor_id, routing::CounsellorState state,
                   Timestamp begin, Timestamp end);
  bool InPeriod(Timestamp t) const { return from_ <= t && t < to_; }

  GroupBy by_;
  Timestamp from_;
  Timestamp to_;
  // Where open presence ends: `now` clamped to the period.
  Timestamp open_until_;
  ReportContext context_;
  ReportOptions options_;
  std::map<std::string, Tally> groups_;
  Tally total_;
  // The presence change whose interval is still open.
  std::optional<routing::PresenceChange> open_;
};

}  // namespace hotline::stats
