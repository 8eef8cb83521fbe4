#pragma once
// `sql_write` (outbound): writes each decision (status change, disposition, answer) into a
// legacy app's own tables in MariaDB/MySQL or PostgreSQL, by the statements the operator
// writes, in one transaction per event. Values reach the statements only as bound parameters
// (`:source_id`, `:app_status`, `:text`, ...), never spliced into the SQL. Delivered through the
// outbox like every outbound type (retries, breaker, dead letters). See README.md.

#include <memory>

#include "simpul/connector.hpp"

namespace simpul::connectors {

std::unique_ptr<Connector> make_sql_write(const ConnectorSettings& s);

}  // namespace simpul::connectors
