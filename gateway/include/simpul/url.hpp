#pragma once
// Building request targets: one percent-encoder for query values and path segments
// (Boost.URL's, everything but the unreserved characters of RFC 3986).

#include <string>
#include <string_view>

namespace simpul {

std::string percent_encode(std::string_view value);

}  // namespace simpul
