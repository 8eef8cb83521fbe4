#include "federation/signatures.hpp"

#include <algorithm>

#include "core/json.hpp"
#include "core/log.hpp"

namespace simpul {
namespace {

std::string b64(const std::string& raw) { return crypto::base64url(raw); }

std::optional<std::string> raw_of(const rapidjson::Value& v, const char* key, std::size_t size) {
  if (!v.HasMember(key) || !v[key].IsString()) return std::nullopt;
  auto raw = crypto::from_base64url(std::string_view(v[key].GetString(), v[key].GetStringLength()));
  if (!raw || raw->size() != size) return std::nullopt;
  return raw;
}

void audit_key(Store& store, TimeMs now, const std::string& child, const char* action,
               const KeyRegistration& k, const std::string& reason) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("node");
  w.String(k.node.c_str());
  w.Key("key");
  w.String(k.key_id.c_str());
  if (!reason.empty()) {
    w.Key("reason");
    w.String(reason.c_str());
  }
  if (k.revoked_from) {
    w.Key("revoked_from");
    w.String(format_utc(*k.revoked_from).c_str());
  }
  w.EndObject();
  store.audit(now, "node:" + child, action, k.node, std::string(buf.GetString(), buf.GetSize()));
}

}  // namespace

std::optional<SignaturePolicy> parse_signature_policy(std::string_view s) {
  if (s == "require") return SignaturePolicy::require;
  if (s == "verify") return SignaturePolicy::verify;
  if (s == "off") return SignaturePolicy::off;
  return std::nullopt;
}

void write_batch(json::Writer& w, const SignedBatch& b) {
  w.StartObject();
  w.Key("id");
  w.String(b.id.c_str());
  w.Key("origin");
  w.String(b.origin.c_str());
  w.Key("key");
  w.String(b.key_id.c_str());
  w.Key("leaves");
  w.StartArray();
  for (const auto& l : b.leaves) w.String(b64(l).c_str());
  w.EndArray();
  w.Key("signature");
  w.String(b64(b.signature).c_str());
  w.EndObject();
}

std::optional<SignedBatch> read_batch(const rapidjson::Value& v) {
  if (!v.IsObject()) return std::nullopt;
  SignedBatch b;
  b.id = json::get_string(v, "id");
  b.origin = json::get_string(v, "origin");
  b.key_id = json::get_string(v, "key");
  auto sig = raw_of(v, "signature", 64);
  if (b.id.empty() || b.origin.empty() || b.key_id.empty() || !sig) return std::nullopt;
  b.signature = std::move(*sig);
  if (!v.HasMember("leaves") || !v["leaves"].IsArray()) return std::nullopt;
  for (const auto& l : v["leaves"].GetArray()) {
    if (!l.IsString()) return std::nullopt;
    auto raw = crypto::from_base64url(std::string_view(l.GetString(), l.GetStringLength()));
    if (!raw || raw->size() != 32) return std::nullopt;
    b.leaves.push_back(std::move(*raw));
  }
  return b;
}

std::vector<std::optional<SignatureVerdict>> check_signatures(
    KeyRing& keys, SignaturePolicy policy, const std::string& self,
    const std::vector<std::string>& children, const std::string& child,
    const std::vector<Event>& events, const std::vector<SignedBatch>& batches,
    std::map<std::string, SignedBatch>& verified) {
  std::vector<std::optional<SignatureVerdict>> out(events.size());
  if (policy == SignaturePolicy::off) return out;
  std::map<std::string, const SignedBatch*> sent;
  for (const auto& b : batches) sent.emplace(b.id, &b);
  // Manifests this push refers to that did not verify, and why (asked once each).
  std::map<std::string, SignatureVerdict> failed;
  auto refuse = [](std::string why) {
    return SignatureVerdict{MergeResult::rejected, std::move(why)};
  };
  auto manifest = [&](const std::string& id) -> const SignedBatch* {
    if (auto it = verified.find(id); it != verified.end()) return &it->second;
    if (failed.count(id)) return nullptr;
    if (auto kept = keys.signed_batch(id))
      return &verified.emplace(id, std::move(*kept)).first->second;
    auto it = sent.find(id);
    if (it == sent.end()) {
      failed.emplace(id, refuse("its manifest " + id + " was not sent with it"));
      return nullptr;
    }
    const SignedBatch& b = *it->second;
    auto key = keys.node_key(b.origin, b.key_id);
    if (!key) {
      // The origin's registration may be on its way: the child sends the event again later.
      failed.emplace(id,
                     SignatureVerdict{MergeResult::retry, "key " + b.key_id + " of " + b.origin +
                                                              " is not registered here yet"});
      return nullptr;
    }
    if (!verify_batch(b, key->public_key)) {
      failed.emplace(id, refuse("the signature of manifest " + id + " does not verify under key " +
                                b.key_id + " of " + b.origin));
      return nullptr;
    }
    return &verified.emplace(id, b).first->second;
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    // Its origin must be below the sender: the sender itself, or registered through it.
    const bool own = e.origin == child;
    if (!own && (e.origin == self ||
                 std::find(children.begin(), children.end(), e.origin) != children.end())) {
      out[i] = refuse("origin " + e.origin + " is not in the subtree of " + child);
      continue;
    }
    const std::string via = own ? child : keys.node_via(e.origin);
    if (via.empty() && policy == SignaturePolicy::require) {
      // Nothing is known of the origin yet: its key may be on its way (the child registers
      // what it vouches for before it pushes what those keys signed).
      out[i] = SignatureVerdict{
          MergeResult::retry,
          "origin " + e.origin + " has no key registered here through " + child + " yet"};
      continue;
    }
    if (!via.empty() && via != child) {
      out[i] = refuse("origin " + e.origin + " is not in the subtree of " + child +
                      " (it is registered through " + via + ")");
      continue;
    }
    if (!e.proof) {
      if (policy == SignaturePolicy::require)
        out[i] = refuse("the event is not signed (federation.signatures is require)");
      continue;
    }
    const SignedBatch* b = manifest(e.proof->batch);
    if (!b) {
      out[i] = failed.at(e.proof->batch);
      continue;
    }
    if (b->origin != e.origin) {
      out[i] =
          refuse("its manifest was signed by " + b->origin + ", not by its origin " + e.origin);
      continue;
    }
    if (e.proof->leaf >= static_cast<int>(b->leaves.size()) ||
        b->leaves[static_cast<std::size_t>(e.proof->leaf)] != event_leaf(e)) {
      out[i] = refuse("the event is not what " + e.origin +
                      " signed (changed after signing, or signed for another event)");
      continue;
    }
    auto key = keys.node_key(b->origin, b->key_id);
    if (key && key->revoked_from && e.at >= *key->revoked_from) {
      out[i] = refuse("key " + b->key_id + " of " + e.origin + " is revoked from " +
                      format_utc(*key->revoked_from));
      continue;
    }
  }
  return out;
}

std::string keys_request_json(const std::vector<KeyRegistration>& keys) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("keys");
  w.StartArray();
  for (const auto& k : keys) {
    w.StartObject();
    w.Key("node");
    w.String(k.node.c_str());
    w.Key("key");
    w.String(k.key_id.c_str());
    w.Key("public_key");
    w.String(b64(k.public_key).c_str());
    if (k.revoked_from) {
      w.Key("revoked_from");
      w.Int64(*k.revoked_from);
    }
    w.Key("voucher");
    w.String(b64(k.voucher).c_str());
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::optional<std::vector<KeyRegistration>> read_keys_request(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject() || !doc->HasMember("keys") || !(*doc)["keys"].IsArray())
    return std::nullopt;
  const auto& arr = (*doc)["keys"];
  if (arr.Size() > 10'000) return std::nullopt;
  std::vector<KeyRegistration> out;
  for (const auto& v : arr.GetArray()) {
    if (!v.IsObject()) return std::nullopt;
    KeyRegistration k;
    k.node = json::get_string(v, "node");
    k.key_id = json::get_string(v, "key");
    auto pub = raw_of(v, "public_key", 32);
    auto voucher = raw_of(v, "voucher", 64);
    if (k.node.empty() || k.node.size() > 64 || k.key_id.size() != 16 || !pub || !voucher)
      return std::nullopt;
    k.public_key = std::move(*pub);
    k.voucher = std::move(*voucher);
    if (v.HasMember("revoked_from")) {
      if (!v["revoked_from"].IsInt64()) return std::nullopt;
      k.revoked_from = v["revoked_from"].GetInt64();
    }
    out.push_back(std::move(k));
  }
  return out;
}

std::vector<KeyOutcome> register_keys(Store& store, const std::string& self,
                                      const std::vector<std::string>& children,
                                      const std::string& child,
                                      const std::vector<KeyRegistration>& keys, TimeMs now) {
  std::vector<KeyOutcome> out;
  // The child's own keys first: they vouch for the rest.
  std::vector<const KeyRegistration*> order;
  for (const auto& k : keys)
    if (k.node == child) order.push_back(&k);
  for (const auto& k : keys)
    if (k.node != child) order.push_back(&k);
  for (const KeyRegistration* kp : order) {
    const KeyRegistration& k = *kp;
    KeyOutcome o{k.node, k.key_id, "refused", ""};
    auto refuse = [&](std::string why) {
      o.reason = std::move(why);
      audit_key(store, now, child, "fed.key_refused", k, o.reason);
    };
    if (crypto::key_id_of(k.public_key) != k.key_id) {
      refuse("the key id is not the public key's");
    } else if (k.node == self) {
      refuse("a child cannot register a key of this node");
    } else if (k.node != child &&
               std::find(children.begin(), children.end(), k.node) != children.end()) {
      refuse(k.node + " is another child of this node");
    } else {
      bool vouched = false;
      if (k.node == child) {
        vouched = crypto::verify(k.public_key, key_text(k), k.voucher);  // holds the key
      } else {
        for (const auto& own : store.node_keys(child))
          if (!own.revoked_from && crypto::verify(own.public_key, key_text(k), k.voucher))
            vouched = true;
      }
      if (!vouched) {
        refuse(k.node == child ? "the registration is not signed with the key it registers"
                               : "the registration is not signed with a key of " + child);
      } else {
        const bool known = store.node_key(k.node, k.key_id).has_value();
        KeyRing::NodeKey nk{k.node, k.key_id, k.public_key, child, k.voucher, now, k.revoked_from};
        if (!store.put_node_key(nk)) {
          refuse(k.node + " is known here through another child, or key " + k.key_id +
                 " with another public key");
        } else {
          o.outcome = known ? "known" : "registered";
          if (!known) audit_key(store, now, child, "fed.key_registered", k, "");
        }
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::string keys_answer_json(const std::vector<KeyOutcome>& out) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("results");
  w.StartArray();
  for (const auto& o : out) {
    w.StartObject();
    w.Key("node");
    w.String(o.node.c_str());
    w.Key("key");
    w.String(o.key_id.c_str());
    w.Key("outcome");
    w.String(o.outcome.c_str());
    if (!o.reason.empty()) {
      w.Key("reason");
      w.String(o.reason.c_str());
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::optional<std::vector<KeyOutcome>> read_keys_answer(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject() || !doc->HasMember("results") || !(*doc)["results"].IsArray())
    return std::nullopt;
  std::vector<KeyOutcome> out;
  for (const auto& v : (*doc)["results"].GetArray()) {
    if (!v.IsObject()) return std::nullopt;
    out.push_back({json::get_string(v, "node"), json::get_string(v, "key"),
                   json::get_string(v, "outcome"), json::get_string(v, "reason")});
  }
  return out;
}

std::vector<KeyRegistration> registrations_to_send(KeyRing& keys, const std::string& self,
                                                   const crypto::SigningKey& own) {
  std::vector<KeyRegistration> out;
  KeyRegistration mine{self, own.key_id(), own.public_key(), std::nullopt, ""};
  mine.voucher = own.sign(key_text(mine));
  out.push_back(std::move(mine));
  for (const auto& k : keys.node_keys()) {
    KeyRegistration r{k.node_id, k.key_id, k.public_key, k.revoked_from, ""};
    r.voucher = own.sign(key_text(r));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace simpul
