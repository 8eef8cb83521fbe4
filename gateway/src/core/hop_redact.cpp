#include "core/hop_redact.hpp"

#include "core/json.hpp"
#include "core/redact.hpp"

namespace simpul {

void redact_for_hop(Event& e, Privacy current) {
  bool is_public = current == Privacy::public_;
  if (is_public && e.kind == EventKind::created) {
    auto doc = json::parse(e.payload);
    is_public =
        doc && parse_privacy(json::get_string(*doc, "privacy", "anonim")) == Privacy::public_;
  }
  if (!is_public) redact_reporter(e);
}

}  // namespace simpul
