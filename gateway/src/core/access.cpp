#include "core/access.hpp"

namespace simpul {

bool Access::holds(const ComplaintState& s) const {
  return !s.record.agency.empty() && agencies.count(s.record.agency) > 0;
}

bool Access::sees(const ComplaintState& s) const {
  if (admin) return true;
  if (s.record.privacy == Privacy::rahasia) return holds(s);
  if (agencies.empty()) return true;
  for (const auto& a : s.agencies)
    if (agencies.count(a)) return true;
  return false;
}

std::string Access::acting_agency(const ComplaintState& s) const {
  if (agencies.empty()) return "";
  if (holds(s)) return s.record.agency;
  for (const auto& a : s.agencies)
    if (agencies.count(a)) return a;
  return *agencies.begin();
}

}  // namespace simpul
