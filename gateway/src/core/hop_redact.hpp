#pragma once
// Privacy per hop: what an event may carry when it leaves this node (and what a node keeps of
// an event it receives, as a second line of defence). `anonim` and `rahasia` reporters never
// leave the node that received them; `rahasia` travels as the record's privacy flag so no tier
// lists it publicly. Pure functions.

#include "simpul/model.hpp"

namespace simpul {

// Removes the reporter wherever it sits (core/redact.hpp: `created` record, `amended` fields,
// the citizen's name as actor) unless the complaint is public (by the stricter of a `created`
// payload's flag and `current`). `current` is the projected flag, which no node but the
// receiving one can lower (the fold refuses it).
void redact_for_hop(Event& e, Privacy current);

}  // namespace simpul
