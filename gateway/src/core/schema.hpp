#pragma once
// A compiled JSON Schema (draft-04, RapidJSON's validator) whose failures come back as a
// Problem naming the offending JSON Pointer, the schema keyword and a sentence a person can act
// on. Immutable after construction; validate() may run on many threads at once.

#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include <memory>
#include <optional>
#include <string>

#include "simpul/errors.hpp"

namespace simpul {

class JsonSchema {
 public:
  explicit JsonSchema(std::string_view schema_text);
  // One of the schemas compiled in from schema/, e.g. "schema/complaint.schema.json".
  static const JsonSchema& builtin(std::string_view path);

  std::optional<Problem> validate(const rapidjson::Value& doc) const;

 private:
  rapidjson::Document doc_;
  std::unique_ptr<rapidjson::SchemaDocument> schema_;
};

}  // namespace simpul
