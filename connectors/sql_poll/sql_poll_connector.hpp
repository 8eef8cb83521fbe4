#pragma once
// `sql_poll` (inbound): reads a legacy app's table in MariaDB/MySQL or PostgreSQL, page by page,
// in the order of (change time, key).
//
// The change time is the `updated` column, or the first of several that is not NULL (an app
// that leaves `updated_at` NULL on insert: ["diperbarui", "dibuat"]). Each page is read below an
// upper bound from the database's own clock minus `delay_s`, so a transaction still open has
// time to commit. The cursor keeps the last row's change time as the database wrote it (bound
// back unchanged: no fractional second is lost) and its key, so rows sharing one time across a
// page boundary are all read. Each new cycle reads again from `lookback_s` before the cursor:
// a row committed late with an older time is found, and what was read before is found
// unchanged by the intake. Database calls run on the instance's worker thread. See README.md.

#include <memory>

#include "simpul/connector.hpp"

namespace simpul::connectors {

std::unique_ptr<Connector> make_sql_poll(const ConnectorSettings& s);

}  // namespace simpul::connectors
