#include "core/redact.hpp"

#include "core/json.hpp"

namespace simpul {

bool strip_reporter(rapidjson::Value& payload, EventKind kind) {
  if (!payload.IsObject()) return false;
  if (kind == EventKind::created) return payload.RemoveMember("reporter");
  if (kind == EventKind::amended) {
    auto it = payload.FindMember("fields");
    if (it != payload.MemberEnd() && it->value.IsObject())
      return it->value.RemoveMember("reporter");
  }
  return false;
}

bool actor_identifies_reporter(const Event& e) {
  return e.kind == EventKind::citizen_replied || e.actor.role == "citizen";
}

void redact_reporter(Event& e) {
  if (actor_identifies_reporter(e)) e.actor.name.clear();
  if (e.kind != EventKind::created && e.kind != EventKind::amended) return;
  auto doc = json::parse(e.payload);
  if (!doc) return;
  if (strip_reporter(*doc, e.kind)) e.payload = json::stringify(*doc);
}

}  // namespace simpul
