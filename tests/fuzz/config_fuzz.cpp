// Config files: any bytes as a node's config (JSON with comments, schema, every cross-field
// check, the lapor dialect's section, connector settings against their type's schema, mappings
// named by path). A ConfigError naming a pointer, or a config, never a crash. Secrets are read from
// the environment only here
// ("env:" names that are not set are errors like any other).

#include <cstdint>

#include "core/config.hpp"
#include "fuzz_support.hpp"
#include "intake/registry.hpp"
#include "lapor/lapor_settings.hpp"

using namespace simpul;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)fuzz::node();  // sets the env secrets the seeds name
  try {
    Config cfg =
        parse_config(fuzz::as_view(data, size), "fuzz.json", SIMPUL_SOURCE_DIR "/config/demo");
    // The lapor dialect's section, as load_node_config reads it (node/ is not in this build).
    if (cfg.upstream.enabled && cfg.upstream.dialect == "lapor") (void)lapor::read_settings(cfg);
    (void)build_connectors(cfg);
  } catch (const ConfigError&) {
  }
  return 0;
}
