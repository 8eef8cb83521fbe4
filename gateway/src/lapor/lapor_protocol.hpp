#pragma once
// The reading of SP4N-LAPOR! answers (upstream dialect `lapor`), apart from any I/O so that it
// can be tested and fuzzed on its own: what an answer means (decided, success, the hub's error),
// which reports a notifications page names, and which events a report's detail and claims make
// here. Field names, success flags and status codes come from Settings (lapor_settings.hpp).

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lapor/lapor_settings.hpp"
#include "simpul/model.hpp"

namespace simpul::lapor {

// A number or a string member as text ("" when absent or of another type): the hub sends ids
// both ways. Numbers out of the 64-bit range read as "".
std::string text_of(const rapidjson::Value& obj, const std::string& key);

// A UUIDv7 that is a function of `key`: the same hub fact read twice gives the same event id, so
// merging it twice stores it once. The time bits are `t` (a time the hub gave, when known).
std::string stable_event_id(TimeMs t, const std::string& key);

// A hub time ("2026-05-01 10:00:00", naive times are WIB); `fallback` when absent or unreadable.
TimeMs hub_time(const std::string& text, TimeMs fallback);

// One answer from the hub with an HTTP status (transport failures never get here).
struct Reply {
  rapidjson::Document doc;     // the body when it is a JSON object, else null
  bool answered = false;       // a JSON object with the status member, not a 401/403/429/5xx
  bool ok = false;             // ... and its status is `endpoint`'s success flag
  bool token_expired = false;  // 401, or the configured "KEYTOKEN expired" status
  std::string error;           // when not ok: "http N" and the hub's error text (at most 200 bytes)
};
Reply read_reply(const Settings& L, const std::string& endpoint, int http_status,
                 std::string_view body);

// The token endpoint's request body (JSON: the client id and its secret).
std::string token_request(const Settings& L, const std::string& secret);
// The KEYTOKEN a token answer issued and its lifetime in seconds (3600 when the hub does not say,
// at least 60); nullopt when it issued none.
std::optional<std::pair<std::string, std::int64_t>> read_token(const Settings& L, const Reply& r);

// The reports a notifications page names (each once, in order) and the highest notification id
// in it (at least `cursor`). nullopt when the page has no data array.
struct Notifications {
  std::vector<std::string> nids;
  std::int64_t last = 0;
};
std::optional<Notifications> read_notifications(const Settings& L, const Reply& page,
                                                std::int64_t cursor);

// What this node knows of a linked complaint.
struct LocalState {
  std::string complaint_id;
  Status status = Status::received;
  TimeMs updated_at = 0;
};

// The events that bring a complaint from where it is here to where the hub has it, from a
// report's detail (ok) and claims (`claims` null when the hub did not give them): held,
// verified, disposed, responded (claims not from our own source), progressed, closed, with ids
// that are stable for the same hub facts; the steps between are only where the state machine
// allows them.
// Origin and first hop: `hub_node`. An unknown hub status code yields nothing (logged).
// The hub's agency name becomes this region's agency code through upstream.lapor.agencies; a
// name the table does not map is kept as the hub wrote it and added to `unmapped` (when given).
// A decision the state machine refuses (a close of a report never answered here, an answer
// after a close) is returned too: the fold keeps it as a conflict for an admin.
std::vector<Event> hub_events(const Settings& L, const std::string& hub_node,
                              const std::string& nid, const LocalState& local, const Reply& detail,
                              const Reply* claims, TimeMs now,
                              std::vector<std::string>* unmapped = nullptr);

// One report as the hub shows it (detail, or an item of the list of this client's reports).
struct HubReport {
  std::string nid, ext_id, status_code, agency, topic, subject, content, date, activity;
  bool rahasia = false;
};
HubReport read_report(const Settings& L, const rapidjson::Value& report);
// The report a detail answer carries (its data member, or the answer itself).
const rapidjson::Value& report_of(const Settings& L, const Reply& detail);

// A page of the list of this client's reports (endpoint `list`): nullopt when it has no data
// array. `more`: the hub has reports after the last one.
struct HubList {
  std::vector<HubReport> reports;
  bool more = false;
};
std::optional<HubList> read_hub_list(const Settings& L, const Reply& page);

// The `created` event of a report entered on the hub itself (its web or app channel) that this
// region never had: channel lapor, the tracking id as its ref, the hub's topic (and the region's
// category for it, upstream.lapor.topics), rahasia when the hub says so, the region `region`.
// Origin and first hop `hub_node`: it is marked as entered upstream. Its complaint id is a
// function of the tracking id, so pulling it twice makes one complaint. nullopt when the report
// has no tracking id.
std::optional<Event> hub_created_event(const Settings& L, const std::string& hub_node,
                                       const std::string& region, const HubReport& report,
                                       TimeMs now);

// How far a status has gone, for comparing the hub's with ours: received/pending 0, verified 1,
// disposed 2, in_progress 3, responded 4, closed/archived/cancelled 5.
int status_rank(Status s);

}  // namespace simpul::lapor
