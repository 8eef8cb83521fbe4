#pragma once
// Simpul's error vocabulary.
//
// Three kinds of failure, handled three ways (see docs/architecture.md, "Errors"):
//  - broken invariants: SIMPUL_CHECK logs and aborts, in every build;
//  - startup and configuration errors: exceptions (ConfigError), caught once in main, exit 78;
//  - runtime errors (bad input, storage, network): values, as `simpul::errc` codes inside
//    boost::system::result, or a Problem when the caller needs a JSON Pointer and a rule.
// Every errc maps to one message, one HTTP status and one retry class.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace simpul {

enum class errc {
  ok = 0,
  invalid_json = 1,        // the body is not JSON
  schema_violation,        // JSON, but not of the declared shape
  invalid_utf8,            // a string is not valid UTF-8
  invalid_value,           // a value that normalization cannot read (phone, timestamp, ...)
  not_found,               // no such complaint, route or token
  transition_not_allowed,  // the state machine does not allow this action now
  idempotency_mismatch,    // an Idempotency-Key or event_id reused for a different request
  unauthenticated,         // no or unknown credential
  forbidden,               // credential lacks the scope
  payload_too_large,       // body over the configured limit
  unsupported_media_type,  // not application/json
  method_not_allowed,
  storage_busy,      // SQLITE_BUSY after the busy timeout
  storage_full,      // disk full
  storage_failure,   // any other storage error
  timeout,           // a peer was too slow
  unavailable,       // shutting down, or a dependency is not ready
  config_invalid,    // config or mapping is wrong
  already_exists,    // a complaint with this id exists and is not the same record
  invalid_query,     // a query parameter this endpoint cannot read (limit, cursor, ...)
  bad_request,       // not a valid HTTP/1.1 request or request target
  header_too_large,  // the request header exceeds the limit
  rate_limited,      // too many failed credentials from this address: wait (Retry-After)
};

// What a caller should do about an error.
enum class retry_class {
  none,       // success
  transient,  // retry with backoff (network, busy, 5xx)
  permanent,  // the data is wrong: retrying cannot help; dead letter
  auth,       // credential problem: pause the link, do not dead-letter
  config,     // operator must fix configuration
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;
int http_status(errc e) noexcept;
retry_class retry_of(errc e) noexcept;
// Stable machine-readable name, used as the problem+json `type` suffix and in metrics.
const char* code_name(errc e) noexcept;

// A runtime error about a specific place in a document: what went wrong, where, which rule.
// `detail` never contains request bodies or personal data.
struct Problem {
  errc code = errc::ok;
  std::string pointer;    // JSON Pointer into the offending document, "" for the whole document
  std::string rule;       // the schema keyword or normalization rule, e.g. "required", "phone"
  std::string detail;     // one human sentence
  int retry_after_s = 0;  // rate_limited: seconds to wait before trying again (Retry-After)
};

// For diagnostics (tests, logs): code, pointer, rule and detail.
std::ostream& operator<<(std::ostream& os, const Problem& p);

template <class T>
using Result = boost::system::result<T, Problem>;

inline Problem make_problem(errc code, std::string pointer, std::string rule, std::string detail) {
  return Problem{code, std::move(pointer), std::move(rule), std::move(detail)};
}

// Startup/configuration failure: the file, the JSON Pointer and the reason. Exit code 78.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::string pointer, std::string reason);
  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, pointer_, reason_;
};

[[noreturn]] void check_failed(const char* cond, const char* msg, const char* file, int line);

}  // namespace simpul

namespace boost::system {
template <>
struct is_error_code_enum<simpul::errc> : std::true_type {};
}  // namespace boost::system

// A broken invariant: log and abort in every build. Never for bad input.
#define SIMPUL_CHECK(cond, msg) \
  ((cond) ? (void)0 : ::simpul::check_failed(#cond, (msg), __FILE__, __LINE__))
