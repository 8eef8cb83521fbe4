#include "simpul/errors.hpp"

#include <cstdio>
#include <cstdlib>
#include <ostream>

namespace simpul {
namespace {

struct Info {
  const char* name;
  const char* message;
  int http;
  retry_class retry;
};

Info info(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return {"ok", "success", 200, retry_class::none};
    case errc::invalid_json:
      return {"invalid-json", "the body is not valid JSON", 400, retry_class::permanent};
    case errc::schema_violation:
      return {"schema-violation", "the document does not match its schema", 422,
              retry_class::permanent};
    case errc::invalid_utf8:
      return {"invalid-utf8", "a string is not valid UTF-8", 400, retry_class::permanent};
    case errc::invalid_value:
      return {"invalid-value", "a value could not be normalized", 422, retry_class::permanent};
    case errc::not_found:
      return {"not-found", "no such resource", 404, retry_class::permanent};
    case errc::transition_not_allowed:
      return {"transition-not-allowed", "the complaint's state does not allow this action", 409,
              retry_class::permanent};
    case errc::idempotency_mismatch:
      return {"idempotency-mismatch", "the key was already used for a different request", 422,
              retry_class::permanent};
    case errc::unauthenticated:
      return {"unauthenticated", "missing or unknown credential", 401, retry_class::auth};
    case errc::forbidden:
      return {"forbidden", "the credential lacks the required scope", 403, retry_class::auth};
    case errc::payload_too_large:
      return {"payload-too-large", "the body exceeds the configured limit", 413,
              retry_class::permanent};
    case errc::unsupported_media_type:
      return {"unsupported-media-type", "the body must be application/json", 415,
              retry_class::permanent};
    case errc::method_not_allowed:
      return {"method-not-allowed", "method not allowed on this resource", 405,
              retry_class::permanent};
    case errc::storage_busy:
      return {"storage-busy", "the store is busy", 503, retry_class::transient};
    case errc::storage_full:
      return {"storage-full", "the disk is full", 507, retry_class::transient};
    case errc::storage_failure:
      return {"storage-failure", "the store failed", 500, retry_class::transient};
    case errc::timeout:
      return {"timeout", "the operation timed out", 504, retry_class::transient};
    case errc::unavailable:
      return {"unavailable", "the service is not available", 503, retry_class::transient};
    case errc::config_invalid:
      return {"config-invalid", "the configuration is invalid", 500, retry_class::config};
    case errc::already_exists:
      return {"already-exists", "a different complaint with this id already exists", 409,
              retry_class::permanent};
    case errc::invalid_query:
      return {"invalid-query", "a query parameter is not valid", 400, retry_class::permanent};
    case errc::bad_request:
      return {"bad-request", "the request is not valid HTTP/1.1", 400, retry_class::permanent};
    case errc::header_too_large:
      return {"header-too-large", "the request header exceeds the limit", 431,
              retry_class::permanent};
    case errc::rate_limited:
      return {"rate-limited", "too many failed credentials from this address", 429,
              retry_class::transient};
  }
  return {"unknown", "unknown error", 500, retry_class::transient};
}

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "simpul"; }
  std::string message(int ev) const override { return info(static_cast<errc>(ev)).message; }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const Category kCategory;
  return kCategory;
}

boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

int http_status(errc e) noexcept { return info(e).http; }
retry_class retry_of(errc e) noexcept { return info(e).retry; }
const char* code_name(errc e) noexcept { return info(e).name; }

std::ostream& operator<<(std::ostream& os, const Problem& p) {
  return os << code_name(p.code) << " at '" << p.pointer << "' (" << p.rule << "): " << p.detail;
}

ConfigError::ConfigError(std::string file, std::string pointer, std::string reason)
    : std::runtime_error(file + ": " + (pointer.empty() ? std::string("(document)") : pointer) +
                         ": " + reason),
      file_(std::move(file)),
      pointer_(std::move(pointer)),
      reason_(std::move(reason)) {}

void check_failed(const char* cond, const char* msg, const char* file, int line) {
  std::fprintf(stderr,
               "{\"level\":\"fatal\",\"msg\":\"invariant broken\",\"check\":\"%s\",\"why\":\"%s\","
               "\"file\":\"%s\",\"line\":%d}\n",
               cond, msg, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace simpul
