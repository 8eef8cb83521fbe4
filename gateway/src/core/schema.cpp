#include "core/schema.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "core/json.hpp"
#include "core/resources.hpp"

namespace simpul {
namespace resources {

std::string_view get(std::string_view path) {
  for (const auto& r : all())
    if (path == r.path) return {r.data, r.size};
  SIMPUL_CHECK(false, "resource not compiled in");
  return {};
}

}  // namespace resources

namespace {

// How many single-character edits turn `a` into `b` (Levenshtein).
std::size_t edits(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "unknown field", and the field the schema has that it most likely meant (a typo or two away).
std::string unknown_field(std::string_view name, const rapidjson::Value* schema_node) {
  std::string out = "unknown field";
  if (!schema_node || !schema_node->IsObject() || !schema_node->HasMember("properties")) return out;
  std::string best;
  std::size_t best_edits = std::max<std::size_t>(2, name.size() / 3) + 1;
  for (const auto& p : (*schema_node)["properties"].GetObject()) {
    const std::size_t e = edits(name, {p.name.GetString(), p.name.GetStringLength()});
    if (e < best_edits) {
      best_edits = e;
      best = p.name.GetString();
    }
  }
  return best.empty() ? out : out + "; did you mean \"" + best + "\"?";
}

std::string type_name(const rapidjson::Value& v) {
  if (v.IsObject()) return "an object";
  if (v.IsArray()) return "an array";
  if (v.IsString()) return "a string";
  if (v.IsBool()) return "a boolean";
  if (v.IsNumber()) return "a number";
  return "null";
}

}  // namespace

JsonSchema::JsonSchema(std::string_view schema_text) {
  doc_.Parse(schema_text.data(), schema_text.size());
  SIMPUL_CHECK(!doc_.HasParseError(), "a compiled-in JSON Schema does not parse");
  schema_ = std::make_unique<rapidjson::SchemaDocument>(doc_);
}

const JsonSchema& JsonSchema::builtin(std::string_view path) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<JsonSchema>, std::less<>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(path);
  if (it == cache.end())
    it = cache.emplace(std::string(path), std::make_unique<JsonSchema>(resources::get(path))).first;
  return *it->second;
}

std::optional<Problem> JsonSchema::validate(const rapidjson::Value& doc) const {
  rapidjson::SchemaValidator validator(*schema_);
  if (doc.Accept(validator)) return std::nullopt;

  // The pointer is built from the tokens here: RapidJSON's own Stringify validates UTF-8 by
  // reading a token as a NUL-terminated string, past its end when a member name holds invalid
  // UTF-8 (a heap overflow `make fuzz` found with a config file).
  const auto& invalid = validator.GetInvalidDocumentPointer();
  auto pointer_of = [&](std::size_t tokens) {  // the first `tokens` tokens of the pointer
    std::string out;
    for (std::size_t i = 0; i < tokens; ++i) {
      const auto& t = invalid.GetTokens()[i];
      out += "/" + json::pointer_token(std::string_view(t.name, t.length));
    }
    return out;
  };
  std::string doc_ptr = pointer_of(invalid.GetTokenCount());
  std::string keyword = validator.GetInvalidSchemaKeyword();
  const rapidjson::Value* schema_node = validator.GetInvalidSchemaPointer().Get(doc_);
  const rapidjson::Value* doc_node = invalid.Get(doc);

  Problem p{errc::schema_violation, doc_ptr, keyword, ""};
  if (keyword == "required" && schema_node && doc_node && doc_node->IsObject() &&
      schema_node->HasMember("required")) {
    for (const auto& r : (*schema_node)["required"].GetArray()) {
      if (!doc_node->HasMember(r.GetString())) {
        p.pointer = doc_ptr + "/" + json::pointer_token(r.GetString());
        p.detail = "missing required field";
        return p;
      }
    }
  }
  // Inside personal data ("x-personal" in the schema) a member name may itself be personal (a
  // reporter's name used as a key): it is never repeated in the answer or the log. The pointer
  // stops at the personal object.
  if (keyword == "additionalProperties" && schema_node && schema_node->IsObject() &&
      schema_node->HasMember("x-personal")) {
    const bool at_member = !(doc_node && doc_node->IsObject()) && invalid.GetTokenCount() > 0;
    p.pointer = at_member ? pointer_of(invalid.GetTokenCount() - 1) : doc_ptr;
    p.detail = "an unknown field (its name is not repeated here)";
    return p;
  }
  if (keyword == "additionalProperties" && schema_node && doc_node && doc_node->IsObject()) {
    const rapidjson::Value* props =
        schema_node->HasMember("properties") ? &(*schema_node)["properties"] : nullptr;
    for (const auto& m : doc_node->GetObject()) {
      if (!props || !props->HasMember(m.name)) {
        p.pointer =
            doc_ptr + "/" + json::pointer_token({m.name.GetString(), m.name.GetStringLength()});
        p.detail = unknown_field({m.name.GetString(), m.name.GetStringLength()}, schema_node);
        return p;
      }
    }
  }
  // The pointer names the unknown member itself: its name is the pointer's last token.
  if (keyword == "additionalProperties" && invalid.GetTokenCount() > 0) {
    const auto& last = invalid.GetTokens()[invalid.GetTokenCount() - 1];
    p.detail = unknown_field({last.name, last.length}, schema_node);
    return p;
  }
  // A pattern an operator cannot be expected to read: the schema says in words what it wants.
  if (keyword == "pattern" && schema_node && schema_node->IsObject() &&
      schema_node->HasMember("x-expected") && (*schema_node)["x-expected"].IsString()) {
    p.detail = std::string("expected ") + (*schema_node)["x-expected"].GetString();
    return p;
  }
  if (keyword == "enum" && schema_node && schema_node->HasMember("enum")) {
    std::string allowed;
    for (const auto& v : (*schema_node)["enum"].GetArray()) {
      if (!allowed.empty()) allowed += ", ";
      allowed += v.IsString() ? v.GetString() : json::stringify(v);
    }
    p.detail = "value is not one of: " + allowed;
    return p;
  }
  if (keyword == "type" && schema_node && schema_node->HasMember("type")) {
    p.detail = "expected type " + json::stringify((*schema_node)["type"]) +
               (doc_node ? ", got " + type_name(*doc_node) : "");
    return p;
  }
  if (schema_node && schema_node->IsObject() && schema_node->HasMember(keyword.c_str())) {
    p.detail = "violates " + keyword + " " + json::stringify((*schema_node)[keyword.c_str()]);
  } else {
    p.detail = "violates " + keyword;
  }
  return p;
}

}  // namespace simpul
