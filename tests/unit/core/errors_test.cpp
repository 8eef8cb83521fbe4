#include "simpul/errors.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace simpul;

TEST_CASE("every errc has its own message - HTTP status and retry class") {
  std::set<std::string> names, messages;
  constexpr int kLast = static_cast<int>(errc::rate_limited);
  CHECK(std::string(code_name(static_cast<errc>(kLast + 1))) == "unknown");  // kLast is the last
  for (int i = 1; i <= kLast; ++i) {
    auto e = static_cast<errc>(i);
    boost::system::error_code ec = e;  // implicit through is_error_code_enum
    CHECK(ec.category() == error_category());
    CHECK(std::string(ec.category().name()) == "simpul");
    CHECK(names.insert(code_name(e)).second);
    CHECK(messages.insert(ec.message()).second);
    CHECK(http_status(e) >= 400);
  }
  CHECK(retry_of(errc::storage_busy) == retry_class::transient);
  CHECK(retry_of(errc::schema_violation) == retry_class::permanent);
  CHECK(retry_of(errc::unauthenticated) == retry_class::auth);
  CHECK(retry_of(errc::config_invalid) == retry_class::config);
  CHECK(http_status(errc::payload_too_large) == 413);
  CHECK(http_status(errc::transition_not_allowed) == 409);
  // A query parameter is the request's, a value in the body the document's.
  CHECK(http_status(errc::invalid_query) == 400);
  CHECK(http_status(errc::invalid_value) == 422);
}
