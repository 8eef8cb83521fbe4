#pragma once
// `rest_poll` (inbound): polls the app's JSON API for records changed since a cursor.
//
// Cursor "<ms>:<skip>:<mode>": the app is asked for records with updated_at >= <ms>, ordered by
// (updated_at, id), from offset <skip>. A full page continues at once with the offset moved on;
// records sharing one updated_at across page boundaries are all read because the offset counts
// within that timestamp. A page that is not full ends the cycle; the next cycle (mode n) starts
// overlap_s before the cursor, so records written late or with a skewed clock are read again.
// Repeats are harmless: the core's intake finds them unchanged. See README.md next to this file.

#include <memory>

#include "simpul/connector.hpp"

namespace simpul::connectors {

std::unique_ptr<Connector> make_rest_poll(const ConnectorSettings& s);

}  // namespace simpul::connectors
