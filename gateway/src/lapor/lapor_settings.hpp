#pragma once
// The settings of dialect `lapor` (`upstream.lapor` in the node config; docs/lapor.md): the
// national hub's surface as names, so an operator can follow the live API without a rebuild.
// The defaults are what `simpul lapor-sim` speaks. The config file's schema checks the shape;
// read_settings checks the names against the defaults' and fills in the rest.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "simpul/model.hpp"

namespace simpul::lapor {

struct Settings {
  std::string client_id;          // who asks for a KEYTOKEN (the secret is `credential`)
  std::string source = "simpul";  // the channel name sent with every report and claim
  int poll_interval_ms = 5'000;   // notifications
  int sweep_interval_s = 300;     // re-read the detail of open linked reports
  int sweep_batch = 50;           // reports per sweep step
  // Every poll round, the hub's list of this client's reports changed since the last round
  // (endpoint `list`, by last activity): a close, which the hub does not notify, arrives within a
  // round. One request a round, and 2 for each report the hub moved further than this node has it.
  bool activity_poll = true;
  // For a hub without that list: every poll round, re-read up to hot_batch linked open reports
  // among the complaints that changed here in the last hot_window_s (oldest change first): at most
  // 2 x hot_batch requests a round. 0: off (the default, with activity_poll).
  int hot_batch = 0;
  int hot_window_s = 86'400;
  int topics_refresh_s = 86'400;  // the topic tree
  // Reconciliation (reconcile/reconcile.hpp, docs/lapor.md "Reconciliation"): reports per page of
  // the hub's list, and the most requests a run makes in a minute (the hub serves the country).
  int list_page = 100;
  int reconcile_requests_per_minute = 60;
  int max_attachment_bytes = 5 << 20;  // larger files are sent as links in the content
  std::string default_topic = "0";     // topik_nid when the record has no topic id
  int expired_status = -1;             // the `status` value meaning "KEYTOKEN expired"
  // endpoint name -> path: token create detail lookup claims claim notifications topics list
  std::map<std::string, std::string> endpoints;
  // role -> the hub's field name (request and answer fields; docs/lapor.md lists the roles)
  std::map<std::string, std::string> fields;
  // endpoint name -> the `status` value that means success there
  std::map<std::string, int> success;
  // the hub's status code -> canonical status
  std::map<std::string, Status> status_codes;
  // The hub's agency names -> this region's agency codes (upstream.lapor.agencies), the names
  // folded (agency_key): the hub spells one OPD several ways, and per-agency numbers must not
  // split it.
  std::map<std::string, std::string> agencies;
  // The hub's topic ids -> this region's category codes (upstream.lapor.topics): a report
  // entered on the hub and pulled here gets the region's category.
  std::map<std::string, std::string> topics;
  // The code the table gives `hub_name`; nullopt when no entry names it.
  std::optional<std::string> agency_code(const std::string& hub_name) const;
  const std::string& endpoint(const std::string& name) const { return endpoints.at(name); }
  const std::string& field(const std::string& role) const { return fields.at(role); }
};

Settings default_settings();

// An agency name as the table compares it: lower case, runs of spaces and punctuation one space.
std::string agency_key(std::string_view name);

// `upstream.lapor` of a config whose dialect is lapor, over the defaults. Throws ConfigError
// naming /upstream/lapor/... for a missing block, an unknown name, two spellings of one name
// mapped to two agencies, or (with reference.agencies) an agency code the reference lacks.
Settings read_settings(const Config& cfg);

}  // namespace simpul::lapor
