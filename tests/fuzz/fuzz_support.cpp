#include "fuzz_support.hpp"

#include <cstdlib>

namespace simpul::fuzz {

Node& node() {
  static Node* n = [] {
    setenv("SIMPUL_FUZZ_ADMIN", "fuzz-admin-token-0123456789", 1);
    setenv("SIMPUL_FUZZ_WEBHOOK", "fuzz-webhook-secret-0123456789", 1);
    const std::string mapping = SIMPUL_SOURCE_DIR "/config/mappings/apekesah.json";
    const std::string text = R"({
      "node": {"id": "kota-batam", "name": "Fuzz", "tier": "kabkota", "region": "21.71", "timezone": "WIB"},
      "store": {"path": "/nonexistent/fuzz.db"},
      "http": {"listen": "127.0.0.1:0"},
      "auth": {"admin_token": "env:SIMPUL_FUZZ_ADMIN"},
      "upstream": {"url": "http://127.0.0.1:9", "node": "lapor", "dialect": "lapor", "credential": "env:SIMPUL_FUZZ_ADMIN",
                   "lapor": {"client_id": "kepri", "source": "simpul-kepri"}},
      "connectors": [
        {"id": "apekesah", "type": "webhook", "mapping": ")" +
                             mapping + R"(",
         "settings": {"secret": "env:SIMPUL_FUZZ_WEBHOOK"}},
        {"id": "csv", "type": "file_import", "mapping": ")" +
                             mapping + R"(", "settings": {"format": "csv"}},
        {"id": "csv-semicolon", "type": "file_import", "mapping": ")" +
                             mapping + R"(",
         "settings": {"format": "csv", "delimiter": ";"}},
        {"id": "jsonl", "type": "file_import", "mapping": ")" +
                             mapping + R"(", "settings": {"format": "jsonl"}}
      ]
    })";
    auto* made = new Node;
    made->cfg = parse_config(text, "fuzz.json", SIMPUL_SOURCE_DIR);
    made->connectors = build_connectors(made->cfg);
    return made;
  }();
  return *n;
}

}  // namespace simpul::fuzz
