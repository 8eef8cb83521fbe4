#pragma once
// Every place a complaint's reporter can sit in an event, and their removal: the one rule the API
// (tokens without `pii`) and the federation (hops past the receiving node) both apply, so a new
// place is covered everywhere at once. Pure functions; RapidJSON stays private to core/.
//
// The places: a `created` record's `reporter`; an `amended` event's `fields.reporter` (an
// officer's correction, a connector's redelivery); and the actor of the citizen's own action
// (`citizen_replied`, or any actor with role `citizen`), whose name is the reporter's.

#include <rapidjson/document.h>

#include "simpul/model.hpp"

namespace simpul {

// Removes the reporter from a payload of `kind`; true when something was removed.
bool strip_reporter(rapidjson::Value& payload, EventKind kind);
// Whether the event's actor names the reporter.
bool actor_identifies_reporter(const Event& e);
// Removes the reporter from the event's payload and, where it is the citizen, the actor's name.
void redact_reporter(Event& e);

}  // namespace simpul
