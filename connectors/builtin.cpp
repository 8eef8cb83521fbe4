// The compiled-in connector types: the one list. Nothing registers itself (static
// registration gets dropped from static libraries); a new type is added here, with its settings
// schema in schema/connectors/<type>.schema.json and a README next to its code.

#include "callback/callback_connector.hpp"
#include "file_import/file_import_connector.hpp"
#include "rest_poll/rest_poll_connector.hpp"
#include "rest_write/rest_write_connector.hpp"
#include "simpul/connector.hpp"
#include "sql_poll/sql_poll_connector.hpp"
#include "sql_write/sql_write_connector.hpp"
#include "webhook/webhook_connector.hpp"

namespace simpul {

const std::vector<ConnectorFactory>& builtin_connectors() {
  static const std::vector<ConnectorFactory> types = {
      {"webhook", "the app POSTs signed records to /v1/ingest/<id> (HMAC-SHA256, 5-minute window)",
       true, false, true, &connectors::make_webhook},
      {"file_import", "migration from CSV or JSON Lines exports: simpul import --connector ID FILE",
       true, false, true, &connectors::make_file_import},
      {"rest_poll",
       "polls the app's JSON API with an (updated_at, id) cursor, overlap and de-duplication", true,
       false, true, &connectors::make_rest_poll},
      {"sql_poll",
       "reads a legacy app's table in MariaDB/MySQL or PostgreSQL by (change time, key), below the "
       "database's clock, with a lookback",
       true, false, true, &connectors::make_sql_poll},
      {"callback",
       "sends status changes and answers back to the app: a signed POST per event, with retries",
       false, true, true, &connectors::make_callback},
      {"sql_write",
       "writes status changes and answers into the app's tables (MariaDB/MySQL or PostgreSQL) "
       "with the operator's statements, values bound",
       false, true, true, &connectors::make_sql_write},
      {"rest_write",
       "writes status changes and answers through the app's own API (templated PUT/PATCH)", false,
       true, true, &connectors::make_rest_write},
  };
  return types;
}

}  // namespace simpul
