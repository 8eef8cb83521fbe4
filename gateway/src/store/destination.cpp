#include "store/store.hpp"

namespace simpul {

namespace {
constexpr const char* kUpstream = "upstream";
constexpr const char* kChildPrefix = "child:";
constexpr const char* kConnectorPrefix = "connector:";
}  // namespace

std::string Destination::name() const {
  switch (kind) {
    case Kind::upstream:
      return kUpstream;
    case Kind::child:
      return kChildPrefix + id;
    case Kind::connector:
      return kConnectorPrefix + id;
  }
  return kUpstream;
}

std::optional<Destination> Destination::parse(const std::string& name) {
  if (name == kUpstream) return upstream();
  auto tail = [&](const char* prefix) -> std::optional<std::string> {
    const std::string p(prefix);
    if (name.size() > p.size() && name.compare(0, p.size(), p) == 0) return name.substr(p.size());
    return std::nullopt;
  };
  if (auto id = tail(kChildPrefix)) return child(*id);
  if (auto id = tail(kConnectorPrefix)) return connector(*id);
  return std::nullopt;
}

}  // namespace simpul
