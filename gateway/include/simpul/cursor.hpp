#pragma once
// Every persisted cursor (a connector's poll position, an uplink's feed position, an import's
// checkpoint) says which format it is written in: "v<N>:<body>". A reader that meets a format
// newer than it knows stops with a clear error instead of reading it as something else and
// polling from the start. Text without the prefix was written before formats were numbered:
// format 0, whose meaning each reader keeps.

#include <optional>
#include <string>
#include <string_view>

#include "simpul/errors.hpp"

namespace simpul {

struct CursorText {
  int format = 0;
  std::string body;
};

// "v<format>:<body>"; format >= 1.
std::string cursor_text(int format, std::string_view body);

// Reads a stored cursor. "" is format 0 with an empty body (nothing stored yet).
CursorText read_cursor_text(std::string_view text);

// Reads a stored cursor that `what` (for the message) writes in formats up to `newest`; a newer
// format is a config_invalid problem naming both.
Result<CursorText> read_cursor_text(std::string_view text, int newest, std::string_view what);

// The body of a stored cursor in a format up to `newest`; throws std::runtime_error with that
// problem's detail otherwise (for the node's own loops: the supervisor logs it and the loop
// shows as failing, it never starts over from the beginning).
std::string cursor_body(std::string_view text, int newest, std::string_view what);

}  // namespace simpul
