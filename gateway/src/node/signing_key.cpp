#include "node/signing_key.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.hpp"
#include "core/log.hpp"

namespace simpul {

std::string signing_key_path(const Config& cfg) {
  if (!cfg.node.signing_key.empty()) return cfg.node.signing_key;
  const std::string& store = cfg.store.path;
  if (store.empty() || store == ":memory:" || store.rfind("file:", 0) == 0) return "";
  std::filesystem::path dir = std::filesystem::path(store).parent_path();
  return (dir / (cfg.node.id + ".signing.pem")).string();
}

crypto::SigningKey load_signing_key(const Config& cfg) {
  const std::string path = signing_key_path(cfg);
  if (path.empty()) return crypto::SigningKey::generate();
  std::error_code ec;
  if (cfg.node.signing_key.empty() && !std::filesystem::exists(path, ec)) {
    auto key = crypto::SigningKey::generate();
    try {
      write_file_atomically(path, key.to_pem(), 0600);
    } catch (const std::runtime_error& e) {
      throw ConfigError(cfg.file, "/node/signing_key",
                        std::string("a new signing key: ") + e.what());
    }
    log::info("node.signing_key_created", {{"path", path}, {"key_id", key.key_id()}});
    return key;
  }
  std::ifstream in(path);
  if (!in) throw ConfigError(cfg.file, "/node/signing_key", "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  try {
    return crypto::SigningKey::from_pem(text.str());
  } catch (const std::exception& e) {
    throw ConfigError(cfg.file, "/node/signing_key", path + ": " + e.what());
  }
}

}  // namespace simpul
