// Building configured connectors: the type must exist, settings must match the type's schema
// (wrong type, missing key), secrets must resolve and inbound types need a mapping. Every
// problem names the config file and the pointer.

#include "intake/registry.hpp"

#include <doctest/doctest.h>

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
         (mapping.empty() ? "" : R"("mapping": ")" + mapping + R"(", )") + R"("settings": )" +
         settings + "}]";
}

}  // namespace

TEST_CASE("connectors: good settings build - wrong types and missing keys name their pointer") {
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK"})")) == "built 1");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK", "window_s": "5m"})")) ==
        "/connectors/0/settings/window_s");
  CHECK(pointer_of(webhook(R"({"window_s": 60})")) == "/connectors/0/settings/secret");  // missing
  CHECK(pointer_of(webhook(R"({"secret": "hunter2hunter2hunter2"})")) ==
        "/connectors/0/settings/secret");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_UNSET_VARIABLE"})")) ==
        "/connectors/0/settings/secret");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK", "extra": 1})")) ==
        "/connectors/0/settings/extra");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK"})", "")) == "/connectors/0");
  CHECK(pointer_of(webhook(R"({"secret": "env:SIMPUL_TEST_WEBHOOK"})",
                           "/nonexistent/mapping.json")) == "");
  CHECK(pointer_of(R"([{"id": "x", "type": "carrier_pigeon"}])") == "/connectors/0/type");
  CHECK(pointer_of(R"([{"id": "x", "type": "file_import", "mapping": ")" + kMapping +
                   R"(", "settings": {"format": "xlsx"}}])") == "/connectors/0/settings/format");
  CHECK(pointer_of(R"([{"id": "x", "type": "file_import", "mapping": ")" + kMapping +
                   R"(", "settings": {"format": "csv"}},
                      {"id": "x", "type": "file_import", "mapping": ")" +
                   kMapping + R"(", "settings": {"format": "csv"}}])") == "/connectors/1/id");
}

TEST_CASE("connectors: outbound and polling types check their settings too") {
  setenv("SIMPUL_TEST_CALLBACK", "0123456789abcdef-callback", 1);
  auto one = [](const std::string& type, const std::string& settings) {
    return pointer_of(R"([{"id": "x", "type": ")" + type + R"(", "mapping": ")" + kMapping +
                      R"(", "settings": )" + settings + "}]");
  };
  CHECK(one("callback",
            R"({"url": "https://apekesah.example/cb", "secret": "env:SIMPUL_TEST_CALLBACK"})") ==
        "built 1");
  CHECK(one("callback",
            R"({"url": "ftp://apekesah.example/cb", "secret": "env:SIMPUL_TEST_CALLBACK"})") ==
        "/connectors/0/settings/url");
  CHECK(one("callback", R"({"secret": "env:SIMPUL_TEST_CALLBACK"})") ==
        "/connectors/0/settings/url");
  CHECK(
      one("rest_write",
          R"({"url": "https://a.example/aduan/{source_id}", "body": {"status": "{app_status}"}})") ==
      "built 1");
  CHECK(one("rest_write", R"({"url": "https://a.example/aduan/{sourceid}", "body": {}})") ==
        "/connectors/0/settings/url");
  CHECK(one("rest_write", R"({"url": "https://a.example/x", "body": {"s": "{stat}"}})") ==
        "/connectors/0/settings/body/s");
  CHECK(one("rest_write", R"({"url": "https://a.example/x", "body": "status"})") ==
        "/connectors/0/settings/body");
  CHECK(one("rest_write", R"({"url": "https://a.example/x"})") == "/connectors/0/settings/body");
  CHECK(one("rest_poll",
            R"({"url": "https://a.example/api", "updated_at": "/diperbarui", "page_size": 50})") ==
        "built 1");
  CHECK(one("rest_poll",
            R"({"url": "https://a.example/api", "updated_at": "/d", "page_size": "50"})") ==
        "/connectors/0/settings/page_size");
  CHECK(one("rest_poll", R"({"url": "https://a.example/api"})") ==
        "/connectors/0/settings/updated_at");
  CHECK(
      one("rest_poll",
          R"({"url": "https://a.example/api", "updated_at": "/d", "updated_at_format": "%d/%b"})") ==
      "/connectors/0/settings/updated_at_format");
}
