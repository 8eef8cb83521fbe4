#pragma once
// multipart/form-data (RFC 7578), both ways: the national hub's report and follow-up endpoints
// take form fields and photo files this way. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace simpul::http {

struct FormPart {
  std::string name;
  std::string filename;      // "" for a plain field
  std::string content_type;  // "" for a plain field
  std::string data;
};

// The body and the Content-Type header value (with a random boundary that occurs in no part).
std::pair<std::string, std::string> build_multipart(const std::vector<FormPart>& parts);

// Parses a body sent with `content_type` ("multipart/form-data; boundary=..."). nullopt when it
// is not well-formed multipart.
std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body);

}  // namespace simpul::http
