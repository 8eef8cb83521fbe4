#pragma once
// What an answer means for something sent to a peer, the one rule every link uses (outbound
// connectors, the lapor link): 2xx delivered; 408, 429 and 5xx retry (after Retry-After when
// given); 401/403 auth (pause, fix the credential, nothing dead-lettered); any other status
// rejected (sending the same again cannot help: dead letter).

#include <string_view>

namespace simpul {

enum class DeliveryOutcome { delivered, retry, rejected, auth };
std::string_view to_string(DeliveryOutcome o) noexcept;

DeliveryOutcome delivery_outcome(int http_status) noexcept;

}  // namespace simpul
