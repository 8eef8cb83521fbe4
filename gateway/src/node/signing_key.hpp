#pragma once
// The node's Ed25519 signing key (core/provenance.hpp): read from `node.signing_key`, or from
// `<node id>.signing.pem` beside the store, which the first start makes (mode 0600). A store
// that is not a file (":memory:", a "file:" URI) gets a key of the process's own. Rotating the
// key is replacing the file: the parent keeps every key it learned, so what the old one signed
// still verifies (docs/federation.md).

#include <string>

#include "core/config.hpp"
#include "core/ed25519.hpp"

namespace simpul {

// Where the key is read from ("" when the store is not a file and none is configured).
std::string signing_key_path(const Config& cfg);
// Reads (or, at the default path, makes) the key. Throws ConfigError naming /node/signing_key.
crypto::SigningKey load_signing_key(const Config& cfg);

}  // namespace simpul
