#pragma once
// Turns a complaint as a source sent it into the canonical record (schema/complaint.schema.json):
// every string valid UTF-8 (the problem names the field), whitespace trimmed, phone numbers in
// +62 form, timestamps read in an explicit or the node's zone and written as UTC, and the
// common Indonesian and English spellings of type, privacy and channel mapped to canonical ones.
// Pure functions; thread-safe.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>

#include "simpul/errors.hpp"
#include "simpul/model.hpp"

namespace simpul {

struct NormalizeOptions {
  Zone zone;                   // how naive timestamps are read (node.timezone)
  std::string default_region;  // node.region, when the source does not say
  TimeMs now = 0;              // received_at when the source does not say
};

// "0812-3456-789", "62 812 3456 789", "+62 (21) 555-1234" -> "+628123456789" ...
Result<std::string> normalize_phone(std::string_view raw);
std::optional<ComplaintType> normalize_type(std::string_view raw);
std::optional<Privacy> normalize_privacy(std::string_view raw);
std::optional<Channel> normalize_channel(std::string_view raw);
std::string trim(std::string_view s);

// Checks every string (and member name) is valid UTF-8 without NUL, trims them, and drops
// optional members left empty. The problem names the JSON Pointer of the first bad string.
std::optional<Problem> check_strings(rapidjson::Document& doc);

// Normalizes `doc` in place. Returns the first problem found.
std::optional<Problem> normalize_complaint_doc(rapidjson::Document& doc,
                                               const NormalizeOptions& opt);

// The whole intake of one complaint: parse, reject derived fields, normalize, validate against
// the schema, read the record. The id is left empty for the store to mint unless supplied.
Result<Complaint> read_complaint(std::string_view body, const NormalizeOptions& opt);
// The same for a document already parsed (a mapped record): normalized in place.
Result<Complaint> read_complaint(rapidjson::Document& doc, const NormalizeOptions& opt);

}  // namespace simpul
