#include "federation/fed_protocol.hpp"

#include "core/json.hpp"
#include "core/normalize.hpp"
#include "core/schema.hpp"

namespace simpul::fed {

std::optional<std::vector<PushResult>> read_push_results(std::string_view body,
                                                         const std::vector<std::string>& event_ids) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject()) return std::nullopt;
  auto it = doc->FindMember("results");
  if (it == doc->MemberEnd() || !it->value.IsArray() || it->value.Size() != event_ids.size()) return std::nullopt;
  std::vector<PushResult> out;
  out.reserve(event_ids.size());
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    const auto& r = it->value[i];
    PushResult p{json::get_string(r, "outcome"), json::get_string(r, "reason")};
    if (json::get_string(r, "event_id") != event_ids[i]) return std::nullopt;
    if (p.outcome != "accepted" && p.outcome != "duplicate" && p.outcome != "retry" && p.outcome != "rejected")
      return std::nullopt;
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<ChangesPage> read_changes(std::string_view body) {
  auto doc = json::parse(body);
  // check_strings drops empty members ("next": "" before anything was delivered), so `next` is
  // read tolerantly afterwards.
  if (!doc || !doc->IsObject() || check_strings(*doc)) return std::nullopt;
  auto events = doc->FindMember("events");
  if (events == doc->MemberEnd() || !events->value.IsArray()) return std::nullopt;
  auto next = doc->FindMember("next");
  if (next != doc->MemberEnd() && !next->value.IsString()) return std::nullopt;
  ChangesPage page;
  page.next = json::get_string(*doc, "next");
  if (events->value.Empty()) return page;
  rapidjson::Document batch(rapidjson::kObjectType);
  batch.AddMember("events", rapidjson::Value(events->value, batch.GetAllocator()), batch.GetAllocator());
  if (JsonSchema::builtin("schema/fed_events.schema.json").validate(batch)) return std::nullopt;
  for (const auto& v : events->value.GetArray()) {
    auto e = json::event_from_value(v);
    if (!e) return std::nullopt;
    page.events.push_back(std::move(*e));
  }
  return page;
}

}  // namespace simpul::fed
