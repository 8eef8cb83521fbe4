// The parts of the connector interface (gateway/include/simpul) that are code: header lookup,
// delivery classification, signing, percent-encoding and cursor formats.

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include "core/crypto.hpp"
#include "simpul/connector.hpp"
#include "simpul/cursor.hpp"
#include "simpul/json.hpp"
#include "simpul/signing.hpp"
#include "simpul/url.hpp"

namespace simpul {

std::string_view to_string(ConnectorHealth h) noexcept {
  switch (h) {
    case ConnectorHealth::ok:
      return "ok";
    case ConnectorHealth::degraded:
      return "degraded";
    case ConnectorHealth::failing:
      return "failing";
  }
  return "failing";
}

std::string_view to_string(DeliveryOutcome o) noexcept {
  switch (o) {
    case DeliveryOutcome::delivered:
      return "delivered";
    case DeliveryOutcome::retry:
      return "retry";
    case DeliveryOutcome::rejected:
      return "rejected";
    case DeliveryOutcome::auth:
      return "auth";
  }
  return "rejected";
}

namespace {
std::string header_of(const HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return v;
  }
  return "";
}
}  // namespace

std::string FetchResponse::header(std::string_view name) const { return header_of(headers, name); }
std::string WebhookRequest::header(std::string_view name) const { return header_of(headers, name); }

namespace {
// A document with an allocator of its own whose first block fits the record: RapidJSON's
// default block is 64 KB, which a batch of 500 small rows held at once made 30 MB.
struct SizedDocument {
  explicit SizedDocument(std::size_t bytes) : pool(bytes), doc(&pool) {}
  rapidjson::MemoryPoolAllocator<> pool;
  rapidjson::Document doc;
};
}  // namespace

Result<SourceRecord> SourceRecord::parse(std::string text) {
  auto owned = std::make_shared<SizedDocument>(text.size() * 3 + 256);
  if (auto p = json::parse_into(owned->doc, text)) return *p;
  if (!owned->doc.IsObject())
    return make_problem(errc::schema_violation, "", "type", "a record must be a JSON object");
  const rapidjson::Value& v = owned->doc;
  return SourceRecord(std::shared_ptr<const void>(owned, owned.get()), v, std::move(text));
}

SourceRecord SourceRecord::of(rapidjson::Document doc, std::string text) {
  auto shared = std::make_shared<const rapidjson::Document>(std::move(doc));
  const rapidjson::Value& v = *shared;
  return SourceRecord(std::move(shared), v, std::move(text));
}

DeliveryOutcome delivery_outcome(int status) noexcept {
  if (status >= 200 && status < 300) return DeliveryOutcome::delivered;
  if (status == 408 || status == 429 || status >= 500) return DeliveryOutcome::retry;
  if (status == 401 || status == 403) return DeliveryOutcome::auth;
  return DeliveryOutcome::rejected;
}

DeliveryResult classify_delivery(const Result<FetchResponse>& r) {
  if (!r) return {DeliveryOutcome::retry, r.error().detail, -1};
  const int status = r->status;
  const std::string code = "http " + std::to_string(status);
  switch (delivery_outcome(status)) {
    case DeliveryOutcome::delivered:
      return {DeliveryOutcome::delivered, "", -1};
    case DeliveryOutcome::retry: {
      int retry_after = -1;
      if (auto ra = r->header("retry-after"); !ra.empty()) retry_after = std::atoi(ra.c_str());
      return {DeliveryOutcome::retry, code, retry_after};
    }
    case DeliveryOutcome::auth:
      return {DeliveryOutcome::auth, code, -1};
    case DeliveryOutcome::rejected:
      break;
  }
  return {DeliveryOutcome::rejected, "the app refused the update: " + code, -1};
}

std::string webhook_signature(std::string_view secret, std::string_view timestamp,
                              std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text.append(timestamp).append(".").append(body);
  return "sha256=" + crypto::hmac_sha256_hex(secret, signed_text);
}

bool signature_matches(std::string_view presented, std::string_view secret,
                       std::string_view timestamp, std::string_view body) {
  return crypto::constant_time_equal(presented, webhook_signature(secret, timestamp, body));
}

std::string percent_encode(std::string_view value) {
  return boost::urls::encode(value, boost::urls::unreserved_chars);
}

std::string cursor_text(int format, std::string_view body) {
  std::string out = "v" + std::to_string(format) + ":";
  out.append(body);
  return out;
}

CursorText read_cursor_text(std::string_view text) {
  // "v", one to four digits, ":": anything else is a cursor from before formats were numbered.
  std::size_t i = 1;
  while (i < text.size() && i <= 4 && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (text.size() < 3 || text[0] != 'v' || i == 1 || i >= text.size() || text[i] != ':')
    return CursorText{0, std::string(text)};
  return CursorText{std::atoi(std::string(text.substr(1, i - 1)).c_str()),
                    std::string(text.substr(i + 1))};
}

Result<CursorText> read_cursor_text(std::string_view text, int newest, std::string_view what) {
  CursorText c = read_cursor_text(text);
  if (c.format > newest)
    return make_problem(errc::config_invalid, "", "cursor-format",
                        "the stored " + std::string(what) + " cursor is in format v" +
                            std::to_string(c.format) + ", newer than this Simpul reads (v" +
                            std::to_string(newest) + "): was the node downgraded?");
  return c;
}

std::string cursor_body(std::string_view text, int newest, std::string_view what) {
  auto c = read_cursor_text(text, newest, what);
  if (!c) throw std::runtime_error(c.error().detail);
  return std::move(c->body);
}

}  // namespace simpul
