// Building configured connectors: the type must exist, settings must match the type's schema
// (wrong type, missing key), secrets must resolve and inbound types need a mapping. Every
// problem names the config file and the pointer.

#include <doctest/doctest.h>

#include "connectors/registry.hpp"
#include "support/test_support.hpp"

using namespace simpul;

namespace {

std::string pointer_of(const std::string& connectors) {
  test::TempDir dir;
  setenv("SIMPUL_TEST_WEBHOOK", "0123456789abcdef-secret", 1);
  try {
    auto cfg = test::node_config(dir, "kota-batam", R"("connectors": )" + connectors + ",");
    auto slots = build_connectors(cfg);
    return "built " + std::to_string(slots.size());
  } catch (const ConfigError& e) {
    return e.pointer();
  }
}

const std::string kMapping = std::string(SIMPUL_SOURCE_DIR) + "/config/mappings/apekesah.json";

std::string webhook(const std::string& settings, const std::string& mapping = kMapping) {
  return R"([{"id": "apekesah", "type": "webhook", )" +
         (mapping.empty() ? "" : R"("mapping": ")" + mapping + R"(", )") + R"("settings": )" + settings + "}]";
}

}  // namespace

TEST_CASE("connectors: good settings build - wrong types and missing keys name their pointer") {
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK"})")) == "built 1");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK", "window_s": "5m"})")) ==
        "/connectors/0/settings/window_s");
  CHECK(pointer_of(webhook(R"({"window_s": 60})")) == "/connectors/0/settings/secret");  // missing
  CHECK(pointer_of(webhook(R"({"secret": "hunter2hunter2hunter2"})")) == "/connectors/0/settings/secret");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_UNSET_VARIABLE"})")) == "/connectors/0/settings/secret");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK", "extra": 1})")) == "/connectors/0/settings/extra");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK"})", "")) == "/connectors/0");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK"})", "/nonexistent/mapping.json")) == "");
  CHECK(pointer_of(R"([{"id": "x", "type": "carrier_pigeon"}])") == "/connectors/0/type");
  CHECK(pointer_of(R"([{"id": "x", "type": "file_import", "mapping": ")" + kMapping + R"(", "settings": {"format": "xlsx"}}])") ==
        "/connectors/0/settings/format");
  CHECK(pointer_of(R"([{"id": "x", "type": "file_import", "mapping": ")" + kMapping + R"(", "settings": {"format": "csv"}},
                      {"id": "x", "type": "file_import", "mapping": ")" + kMapping + R"(", "settings": {"format": "csv"}}])") ==
        "/connectors/1/id");
}
