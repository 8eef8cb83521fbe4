#include "http/multipart.hpp"

#include <cctype>

#include "core/crypto.hpp"

namespace simpul::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of `key` in a header parameter list: name="x"; filename="y".
std::string param(std::string_view header, std::string_view key) {
  std::string h = lower(header);
  std::string k = std::string(key) + "=";
  for (std::size_t at = h.find(k); at != std::string::npos; at = h.find(k, at + 1)) {
    if (at > 0 && h[at - 1] != ' ' && h[at - 1] != ';') continue;
    std::size_t v = at + k.size();
    if (v < header.size() && header[v] == '"') {
      auto end = header.find('"', v + 1);
      if (end == std::string::npos) return "";
      return std::string(header.substr(v + 1, end - v - 1));
    }
    auto end = header.find_first_of("; \t", v);
    return std::string(
        header.substr(v, end == std::string::npos ? std::string_view::npos : end - v));
  }
  return "";
}

}  // namespace

std::pair<std::string, std::string> build_multipart(const std::vector<FormPart>& parts) {
  std::string boundary;
  for (;;) {
    boundary = "simpul-" + crypto::random_token(18);
    bool clash = false;
    for (const auto& p : parts) clash = clash || p.data.find(boundary) != std::string::npos;
    if (!clash) break;
  }
  std::string body;
  for (const auto& p : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
    if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"";
    body += "\r\n";
    if (!p.content_type.empty()) body += "Content-Type: " + p.content_type + "\r\n";
    body += "\r\n" + p.data + "\r\n";
  }
  body += "--" + boundary + "--\r\n";
  return {body, "multipart/form-data; boundary=" + boundary};
}

std::optional<std::vector<FormPart>> parse_multipart(std::string_view content_type,
                                                     std::string_view body) {
  if (lower(content_type).rfind("multipart/form-data", 0) != 0) return std::nullopt;
  std::string boundary = param(content_type, "boundary");
  if (boundary.empty()) return std::nullopt;
  const std::string delim = "--" + boundary;
  std::vector<FormPart> parts;
  std::size_t at = body.find(delim);
  if (at == std::string::npos) return std::nullopt;
  for (;;) {
    at += delim.size();
    if (body.substr(at, 2) == "--") return parts;  // the closing delimiter
    if (body.substr(at, 2) != "\r\n") return std::nullopt;
    at += 2;
    auto head_end = body.find("\r\n\r\n", at);
    if (head_end == std::string::npos) return std::nullopt;
    FormPart part;
    std::string_view head = body.substr(at, head_end - at);
    std::size_t line_start = 0;
    while (line_start <= head.size()) {
      auto line_end = head.find("\r\n", line_start);
      std::string_view line =
          head.substr(line_start, line_end == std::string_view::npos ? std::string_view::npos
                                                                     : line_end - line_start);
      auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name = lower(line.substr(0, colon));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (name == "content-disposition") {
          part.name = param(value, "name");
          part.filename = param(value, "filename");
        } else if (name == "content-type") {
          part.content_type = std::string(value);
        }
      }
      if (line_end == std::string_view::npos) break;
      line_start = line_end + 2;
    }
    std::size_t data_start = head_end + 4;
    auto next = body.find("\r\n" + delim, data_start);
    if (next == std::string::npos) return std::nullopt;
    part.data = std::string(body.substr(data_start, next - data_start));
    if (part.name.empty()) return std::nullopt;
    parts.push_back(std::move(part));
    at = next + 2;
  }
}

}  // namespace simpul::http
