#pragma once
// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits. Sorts by creation
// time, so event ids double as a tie-breaker with a meaning. Thread-safe.

#include <string>
#include <string_view>

#include "simpul/time.hpp"

namespace simpul {

std::string make_uuid_v7(TimeMs now);
std::string make_uuid_v7();
// The same id for the same (at, name) on every node and every run: a fact that must be written
// once however often it is decided (an SLA breach) carries it, so a second writing is the same
// event, a duplicate.
std::string derived_uuid_v7(TimeMs at, std::string_view name);
// Lowercase canonical 8-4-4-4-12 form with version 7 and the RFC variant.
bool is_uuid_v7(std::string_view s) noexcept;

}  // namespace simpul
