#pragma once
// JSON for connectors and the core alike: the one hardened reader of untrusted JSON, the
// compact writer, and member access for documents already checked against a schema.
// RapidJSON is part of this interface (connector settings arrive as a rapidjson::Value).

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <optional>
#include <string>
#include <string_view>

#include "simpul/errors.hpp"

namespace simpul::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// The one reader of untrusted JSON: one value and nothing after it, valid UTF-8, nesting at
// most 64 deep (checked on the bytes, before anything recursive), no NUL in a string or member
// name, no member name twice in one object, no number beyond the 64-bit range. The problem
// names the byte offset or the pointer, never the content.
Result<rapidjson::Document> parse(std::string_view text);
// The same into a document the caller made (one with its own allocator, for example).
std::optional<Problem> parse_into(rapidjson::Document& doc, std::string_view text);
// Parses JSON with // and /* */ comments and trailing commas (config files).
Result<rapidjson::Document> parse_relaxed(std::string_view text);

// Compact JSON text of a value (member order kept).
std::string stringify(const rapidjson::Value& v);

// One JSON Pointer reference token (RFC 6901): "~" -> "~0", "/" -> "~1".
std::string pointer_token(std::string_view name);

// Member access that tolerates absence; the caller has validated types against a schema.
std::string get_string(const rapidjson::Value& obj, const char* key, std::string fallback = {});
std::optional<std::string> get_optional_string(const rapidjson::Value& obj, const char* key);

}  // namespace simpul::json
