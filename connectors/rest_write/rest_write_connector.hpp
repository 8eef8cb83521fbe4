#pragma once
// `rest_write` (outbound): for apps that take status updates through their own API. Each
// status change or answer becomes one request built from templates: the URL (values
// percent-encoded), a JSON body whose string values may hold placeholders (values inserted as
// JSON strings, never spliced into JSON text) and extra headers. Answers are classified as for
// `callback`. See README.md next to this file.

#include <memory>

#include "simpul/connector.hpp"

namespace simpul::connectors {

std::unique_ptr<Connector> make_rest_write(const ConnectorSettings& s);

}  // namespace simpul::connectors
