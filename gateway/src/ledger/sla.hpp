#pragma once
// What the SLA scheduler decides, as pure functions of a complaint's folded state: when this
// node next has something to do for it, and the events it writes at a given time. The node
// that owns a clock (the one whose event started it, SlaClock::origin) is the only one that
// acts on it, so two tiers holding the same complaint never both write a breach; each event's
// id is derived from the clock and its due time, so a restart or a replay that decides the
// same again writes the same event (a duplicate), never a second one.

#include <optional>
#include <string>
#include <vector>

#include "simpul/fold.hpp"
#include "simpul/model.hpp"

namespace simpul {

// The earliest time after which sla_events() has something to write for `s` on node `self`.
std::optional<TimeMs> sla_next_at(const ComplaintState& s, const std::string& self);

// The events due at `now` on node `self`: sla_warning (a clock is within its warning days),
// sla_breached (a clock passed due), closed with actor system (the autoclose clock passed due
// while the complaint waits on the citizen). Each with its derived id, origin `self`, at `now`.
std::vector<Event> sla_events(const ComplaintState& s, const std::string& self, TimeMs now);

}  // namespace simpul
