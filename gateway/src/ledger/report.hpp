#pragma once
// The numbers SP4N-LAPOR! evaluates, per agency (OPD), for a period of local dates: received
// (disposed or forwarded to it in the period), followed up, followed up within its followup
// clock, done, in process, working days to the first follow-up (median, p90), overdue now,
// forwarded out as not its authority, working days since its officers last acted, and reached
// the hub (holds a SP4N-LAPOR! tracking id). Every figure comes from folded complaints, so each
// tier computes the same numbers from the same events; every rate carries its N, and below
// `min_n` a rate reads as not enough data, never as a misleading 100%.
// docs/reports.md defines each column.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "simpul/errors.hpp"
#include "simpul/fold.hpp"
#include "simpul/model.hpp"

namespace simpul {

struct AgencyRow {
  std::string agency;
  int received = 0;
  int followed_up = 0;
  int followed_up_in_time = 0;
  int done = 0;
  int in_process = 0;
  std::vector<int> days_to_followup;  // working days, one per followed-up complaint
  int overdue_now = 0;
  int not_authority = 0;
  std::optional<TimeMs> last_action;
  std::optional<int> days_since_last_action;  // working days, to the report's `now`
  int reached_hub = 0;
};

struct AgencyReport {
  std::string from, to;  // YYYY-MM-DD, local
  TimeMs now = 0;
  std::string calendar;  // the calendar version the working days were counted with
  int min_n = 5;
  int followup_days = 5;
  std::vector<AgencyRow> rows;  // by agency id
};

class AgencyReportBuilder {
 public:
  // `from_day`..`to_day`: local dates (days since 1970-01-01) in the calendar's zone,
  // inclusive. `agencies`: the node's reference, so an agency with nothing still has its row.
  AgencyReportBuilder(std::string from, std::string to, std::int64_t from_day, std::int64_t to_day,
                      TimeMs now, const FoldContext& ctx, const std::set<std::string>& agencies,
                      int min_n);
  // One complaint: its events and their fold.
  void add(const std::vector<Event>& events, const ComplaintState& st);
  // Only these agencies' rows (an agency-bound credential); all when empty.
  AgencyReport finish(const std::set<std::string>& only = {}) const;

 private:
  bool in_period(TimeMs t) const;
  AgencyRow& row(const std::string& agency);
  int working_days(TimeMs from, TimeMs to) const;

  AgencyReport base_;
  std::int64_t from_day_, to_day_;
  const FoldContext& ctx_;
  std::map<std::string, AgencyRow> rows_;
};

class Store;

// The report for `from`..`to` (YYYY-MM-DD, local dates in the calendar's zone) over what
// `store` holds, at `now`. A period that is not two dates in order (at most 366 days apart)
// is errc::invalid_query naming the parameter. Reads only the complaints an agency had that
// changed since `from` or are overdue now.
Result<AgencyReport> agency_report(Store& store, const FoldContext& ctx,
                                   const std::set<std::string>& agencies, const std::string& from,
                                   const std::string& to, TimeMs now, int min_n,
                                   const std::set<std::string>& only = {});

// {"from", "to", "now", "calendar", "min_n", "agencies": [{...}]}: each rate as
// {"count", "n", "rate"} with "rate": null and "note": "not enough data" below min_n.
std::string report_json(const AgencyReport& r);
// One header line, then one line per agency; a rate below min_n is "NA".
std::string report_csv(const AgencyReport& r);

}  // namespace simpul
