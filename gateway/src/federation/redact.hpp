#pragma once
// Privacy per hop: what an event may carry when it leaves this node (and what a node keeps of
// an event it receives, as a second line of defence). `anonim` and `rahasia` reporters never
// leave the node that received them; `rahasia` travels as the record's privacy flag so no tier
// lists it publicly. Pure functions.

#include "simpul/model.hpp"

namespace simpul {

// Removes the reporter from `created` payloads and from `amended` fields unless the complaint
// is public (by the stricter of the payload's flag and `current`).
void redact_for_hop(Event& e, Privacy current);

}  // namespace simpul
