#pragma once
// `webhook` (inbound): the app POSTs records to /v1/ingest/<connector-id>. Each delivery is
// signed: header X-Simpul-Signature: sha256=HEX(HMAC-SHA256(secret, "<timestamp>.<body>")) and
// X-Simpul-Timestamp: <Unix seconds>, within window_s of the node's clock. The signature is
// compared in constant time (simpul/signing.hpp). See README.md next to this file.

#include <memory>

#include "simpul/connector.hpp"

namespace simpul::connectors {

std::unique_ptr<Connector> make_webhook(const ConnectorSettings& s);

}  // namespace simpul::connectors
