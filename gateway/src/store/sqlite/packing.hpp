#pragma once
// What the SQLite store does to keep a row small without losing a byte of it: a payload that
// repeats most of another value the store already keeps (a source's raw payload repeats the
// `created` record normalized from it) is stored as DEFLATE against that value as a preset
// dictionary, and given back whole by inflating it against the same value. Lossless and
// deterministic; the dictionary is part of the row's meaning, so it must never change once a
// row is written against it (events are append-only, so a `created` payload never does).

#include <optional>
#include <string>
#include <string_view>

namespace simpul::sqlite {

// The CRC-32 of `data`, then `data` deflated (raw DEFLATE) with `dictionary` preset.
std::string pack_against(std::string_view data, std::string_view dictionary);

// The bytes `pack_against(data, dictionary)` made, or nullopt when `packed` is not such a
// stream for that dictionary (a damaged row, or the wrong dictionary: the CRC tells).
std::optional<std::string> unpack_against(std::string_view packed, std::string_view dictionary);

// An event payload as the store keeps it: a JSON text deflated against a dictionary of the
// record's field names in the order the writer emits them, followed by what the row itself
// says elsewhere (`context`: the complaint id and the event's time, which a `created` record
// repeats). A 600-byte `created` record becomes about 240. Byte 0 is the dictionary's version;
// a version, once written, never changes.
std::string pack_payload(std::string_view json, std::string_view context);
// The JSON text of a packed payload, or nullopt when it is not one (unknown version, damaged,
// or packed with another row's context).
std::optional<std::string> unpack_payload(std::string_view packed, std::string_view context);

}  // namespace simpul::sqlite
