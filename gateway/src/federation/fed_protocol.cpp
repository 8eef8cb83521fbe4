#include "federation/fed_protocol.hpp"

#include "core/json.hpp"
#include "core/normalize.hpp"
#include "core/schema.hpp"

namespace simpul::fed {

std::optional<std::vector<PushResult>> read_push_results(
    std::string_view body, const std::vector<std::string>& event_ids) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject()) return std::nullopt;
  auto it = doc->FindMember("results");
  if (it == doc->MemberEnd() || !it->value.IsArray() || it->value.Size() != event_ids.size())
    return std::nullopt;
  std::vector<PushResult> out;
  out.reserve(event_ids.size());
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    const auto& r = it->value[i];
    if (json::get_string(r, "event_id") != event_ids[i]) return std::nullopt;
    auto outcome = parse_merge_result(json::get_string(r, "outcome"));
    if (!outcome) return std::nullopt;
    out.push_back(PushResult{*outcome, json::get_string(r, "reason")});
  }
  return out;
}

namespace {

// Events as the federation carries them: valid against schema/fed_events.schema.json.
std::optional<std::vector<Event>> read_events(const rapidjson::Value& events) {
  std::vector<Event> out;
  if (!events.IsArray()) return std::nullopt;
  if (events.Empty()) return out;
  rapidjson::Document batch(rapidjson::kObjectType);
  batch.AddMember("events", rapidjson::Value(events, batch.GetAllocator()), batch.GetAllocator());
  if (JsonSchema::builtin("schema/fed_events.schema.json").validate(batch)) return std::nullopt;
  for (const auto& v : events.GetArray()) {
    auto e = json::event_from_value(v);
    if (!e) return std::nullopt;
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace

std::optional<RecoveryPage> read_recovery(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc || !doc->IsObject() || check_strings(*doc)) return std::nullopt;
  auto events = doc->FindMember("events");
  auto next = doc->FindMember("next");
  auto more = doc->FindMember("more");
  auto acked = doc->FindMember("acked");
  if (events == doc->MemberEnd() || next == doc->MemberEnd() || more == doc->MemberEnd() ||
      acked == doc->MemberEnd() || !next->value.IsInt64() || !more->value.IsBool() ||
      !acked->value.IsInt64() || next->value.GetInt64() < 0 || acked->value.GetInt64() < 0)
    return std::nullopt;
  auto read = read_events(events->value);
  if (!read) return std::nullopt;
  return RecoveryPage{std::move(*read), next->value.GetInt64(), more->value.GetBool(),
                      acked->value.GetInt64()};
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
  auto read = read_events(events->value);
  if (!read) return std::nullopt;
  page.events = std::move(*read);
  return page;
}

}  // namespace simpul::fed
