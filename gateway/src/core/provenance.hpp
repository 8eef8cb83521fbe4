#pragma once
// Where an event came from, checkably: the node that originates events signs them, and every
// tier above verifies the signature against that node's public key (docs/federation.md,
// "Signed events"). Pure functions and plain data; thread-safe.
//
// An event's signed form (version 1) is its fields, each as `<byte length>:<bytes>\n`, in this
// order: "simpul-event-1", event_id, complaint_id, origin, at (Unix ms, decimal), kind, the
// actor's role, agency and name (the name "" where it is the reporter's), and the payload as
// compact JSON with the reporter removed (core/redact.hpp). The reporter is left out because it
// travels only where the complaint is public, so one signature verifies at every tier; the hops
// are left out because each tier appends to them. Its leaf is the SHA-256 of that form.
//
// Signing one event costs a verification per event at every tier (about 130 us with OpenSSL on
// this project's 2-core reference machine, against a sync rate of 7,000 events/s), so the
// origin signs a batch: a manifest of the leaves of the events it pushes at once, signed with
// its key. Each event carries `sig: {"batch": <manifest id>, "leaf": <index>}`, and each push
// carries the manifests its events refer to; a tier verifies a manifest once, keeps it, and
// checks each event by its leaf. The manifest's signed text is
//   "simpul-batch-1\n" origin "\n" key_id "\n" <count> "\n" <the leaves, 32 bytes each>
// and its id the first 16 bytes of that text's SHA-256, in hex.

#include <optional>
#include <string>
#include <vector>

#include "core/ed25519.hpp"
#include "simpul/model.hpp"

namespace simpul {

std::string signed_form(const Event& e);
std::string event_leaf(const Event& e);  // 32 bytes

struct SignedBatch {
  std::string id;      // 32 hex
  std::string origin;  // the node that signed it: every event it covers has this origin
  std::string key_id;
  std::vector<std::string> leaves;  // 32 bytes each
  std::string signature;            // 64 bytes
};

std::string batch_text(const std::string& origin, const std::string& key_id,
                       const std::vector<std::string>& leaves);
// The manifest of `events` (all of origin `origin`), signed with `key`; event i is leaf i.
SignedBatch sign_batch(const std::string& origin, const std::vector<Event>& events,
                       const crypto::SigningKey& key);
// Whether the manifest is `public_key`'s signature over its leaves, and its id matches them.
bool verify_batch(const SignedBatch& b, const std::string& public_key);

// A node's key as its parent learns it: the node, its key, and from when on events it signed
// are refused (a compromised key; nullopt: never). The voucher is the signature of the node
// that sends the registration over `key_text` (for the sender's own key, its own signature:
// proof that it holds the key).
struct KeyRegistration {
  std::string node, key_id, public_key;  // public_key: 32 raw bytes
  std::optional<TimeMs> revoked_from;
  std::string voucher;  // 64 bytes
};
std::string key_text(const KeyRegistration& k);

}  // namespace simpul
