#include "core/provenance.hpp"

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/redact.hpp"

namespace simpul {
namespace {

void field(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
  out += '\n';
}

}  // namespace

std::string signed_form(const Event& e) {
  std::string payload = "{}";
  auto doc = json::parse(e.payload);
  if (doc && doc->IsObject()) {
    strip_reporter(*doc, e.kind);
    payload = json::stringify(*doc);
  }
  std::string out;
  out.reserve(200 + payload.size());
  field(out, "simpul-event-1");
  field(out, e.event_id);
  field(out, e.complaint_id);
  field(out, e.origin);
  field(out, std::to_string(e.at));
  field(out, to_string(e.kind));
  field(out, e.actor.role);
  field(out, e.actor.agency);
  field(out, actor_identifies_reporter(e) ? std::string() : e.actor.name);
  field(out, payload);
  return out;
}

std::string event_leaf(const Event& e) { return crypto::sha256_raw(signed_form(e)); }

std::string batch_text(const std::string& origin, const std::string& key_id,
                       const std::vector<std::string>& leaves) {
  std::string out =
      "simpul-batch-1\n" + origin + "\n" + key_id + "\n" + std::to_string(leaves.size()) + "\n";
  for (const auto& l : leaves) out += l;
  return out;
}

namespace {

std::string batch_id(const std::string& text) {
  const std::string md = crypto::sha256_raw(text);
  return crypto::to_hex(reinterpret_cast<const unsigned char*>(md.data()), 16);
}

}  // namespace

SignedBatch sign_batch(const std::string& origin, const std::vector<Event>& events,
                       const crypto::SigningKey& key) {
  SignedBatch b;
  b.origin = origin;
  b.key_id = key.key_id();
  b.leaves.reserve(events.size());
  for (const auto& e : events) b.leaves.push_back(event_leaf(e));
  const std::string text = batch_text(origin, b.key_id, b.leaves);
  b.id = batch_id(text);
  b.signature = key.sign(text);
  return b;
}

bool verify_batch(const SignedBatch& b, const std::string& public_key) {
  for (const auto& l : b.leaves)
    if (l.size() != 32) return false;
  const std::string text = batch_text(b.origin, b.key_id, b.leaves);
  return batch_id(text) == b.id && crypto::key_id_of(public_key) == b.key_id &&
         crypto::verify(public_key, text, b.signature);
}

std::string key_text(const KeyRegistration& k) {
  return "simpul-key-1\n" + k.node + "\n" + k.key_id + "\n" + k.public_key + "\n" +
         (k.revoked_from ? std::to_string(*k.revoked_from) : std::string());
}

}  // namespace simpul
