#pragma once
// `callback` (outbound): for each status change or answer of a complaint that came from the app,
// POSTs a signed JSON document to the app's URL:
//   {"complaint_id", "source_id", "event_id", "kind", "at", "status", "app_status", "text"}
// signed as webhooks are (simpul/signing.hpp). 2xx = delivered; 429/503
// (Retry-After honoured), 5xx and transport errors = retry; 401/403 = auth (the relay pauses);
// any other 4xx = the app refuses this update (dead letter): classify_delivery in
// simpul/connector.hpp. See README.md next to this file.

#include <memory>

#include "simpul/connector.hpp"

namespace simpul::connectors {

std::unique_ptr<Connector> make_callback(const ConnectorSettings& s);

}  // namespace simpul::connectors
