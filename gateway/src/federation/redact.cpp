#include "federation/redact.hpp"

#include "core/json.hpp"

namespace simpul {

void redact_for_hop(Event& e, Privacy current) {
  if (e.kind != EventKind::created && e.kind != EventKind::amended) return;
  auto doc = json::parse(e.payload);
  if (!doc || !doc->IsObject()) return;
  bool changed = false;
  if (e.kind == EventKind::created) {
    auto flag = parse_privacy(json::get_string(*doc, "privacy", "anonim"));
    bool is_public = flag == Privacy::public_ && current == Privacy::public_;
    if (!is_public && doc->HasMember("reporter")) changed = doc->RemoveMember("reporter");
  } else {
    auto it = doc->FindMember("fields");
    if (current != Privacy::public_ && it != doc->MemberEnd() && it->value.IsObject())
      changed = it->value.RemoveMember("reporter");
  }
  if (changed) e.payload = json::stringify(*doc);
}

}  // namespace simpul
