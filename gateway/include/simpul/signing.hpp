#pragma once
// How Simpul and an app sign HTTP deliveries to each other, in one place: the webhook
// connector checks it, the callback connector and the Ape Kesah stand-in produce it.
//
//   X-Simpul-Timestamp: <Unix seconds>
//   X-Simpul-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>

#include <string>
#include <string_view>

namespace simpul {

std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body);

// Whether `presented` is the signature of this delivery, compared in constant time.
bool signature_matches(std::string_view presented, std::string_view secret,
                       std::string_view timestamp, std::string_view body);

}  // namespace simpul
