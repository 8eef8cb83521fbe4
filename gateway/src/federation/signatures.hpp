#pragma once
// Signed events between nodes (core/provenance.hpp; docs/federation.md, "Signed events"): what
// travels (manifests, key registrations) and what a parent checks.
//
//   - A child pushes its own events with a manifest it signs, and forwards its subtree's events
//     with the manifests their origins signed (POST /fed/v1/events, member `batches`).
//   - A child registers its keys, and vouches for the keys of its subtree, with
//     POST /fed/v1/keys. Its own key's registration is signed with that key (it holds it); a
//     key of a node below it is signed with the child's own key (it vouches).
//   - The parent checks each event: its origin is the sender or a node registered through it
//     (its subtree), its manifest verifies under the origin's key, the key is not revoked from a
//     time at or before the event's, and the event is the leaf it claims. A manifest is verified
//     once and kept.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/provenance.hpp"
#include "ledger/ledger.hpp"
#include "simpul/json.hpp"
#include "simpul/model.hpp"
#include "store/store.hpp"

namespace simpul {

enum class SignaturePolicy { off, verify, require };
std::optional<SignaturePolicy> parse_signature_policy(std::string_view s);

// JSON of a manifest in a push, and its reading (nullopt: not as the schema says).
void write_batch(json::Writer& w, const SignedBatch& b);
std::optional<SignedBatch> read_batch(const rapidjson::Value& v);

// What the parent makes of one event of a push, before it is merged (nullopt: go on).
using SignatureVerdict = ChildEvents::Verdict;

// Checks a push from `child` to the node `self` (whose children are `children`) against what
// `keys` holds. An origin that is `self`, another child, or registered through another child
// is refused; one of which nothing is known yet is `retry` (its key may be on its way).
// `batches` are the manifests the push carried; those that verified (or were kept here
// already) are put in `verified` by id, to be kept with the events that refer to them. Runs
// on the io thread with its reader.
std::vector<std::optional<SignatureVerdict>> check_signatures(
    KeyRing& keys, SignaturePolicy policy, const std::string& self,
    const std::vector<std::string>& children, const std::string& child,
    const std::vector<Event>& events, const std::vector<SignedBatch>& batches,
    std::map<std::string, SignedBatch>& verified);

// POST /fed/v1/keys: the body, the parent's reading of it, and the answer.
std::string keys_request_json(const std::vector<KeyRegistration>& keys);
std::optional<std::vector<KeyRegistration>> read_keys_request(std::string_view body);

struct KeyOutcome {
  std::string node, key_id;
  std::string outcome;  // registered, known, refused
  std::string reason;
};
// Takes the registrations `child` sent (in the writer's transaction): its own keys (signed with
// themselves), and keys of nodes below it signed with one of its own unrevoked keys. A node
// this parent has as another child, this node itself, a node registered through another child,
// or a key known with another public key is refused; each new key and each refusal audited.
std::vector<KeyOutcome> register_keys(Store& store, const std::string& self,
                                      const std::vector<std::string>& children,
                                      const std::string& child,
                                      const std::vector<KeyRegistration>& keys, TimeMs now);
std::string keys_answer_json(const std::vector<KeyOutcome>& out);
std::optional<std::vector<KeyOutcome>> read_keys_answer(std::string_view body);

// What a child sends its parent: its own key and every key it holds of its subtree, each
// vouched for with `own` (revocations included, so they reach the tiers above).
std::vector<KeyRegistration> registrations_to_send(KeyRing& keys, const std::string& self,
                                                   const crypto::SigningKey& own);

}  // namespace simpul
