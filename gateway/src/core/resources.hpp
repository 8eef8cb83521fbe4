#pragma once
// Files compiled into the binary at build time (cmake/embed_resources.cmake): the JSON
// Schemas and SQL migrations under schema/, and the dashboard's files under web/. Keyed by their
// path in the source tree.

#include <string_view>
#include <vector>

namespace simpul::resources {

struct Resource {
  const char* path;
  const char* data;
  std::size_t size;
};

const std::vector<Resource>& all();
// The resource's bytes; a missing resource is a build error, so this aborts.
std::string_view get(std::string_view path);

}  // namespace simpul::resources
