// Personal data at rest, through a running node: the database, its WAL and a backup made while
// it serves hold none of a reporter's canaries; the store key is rotated by a restart with the
// new key and the old one as previous (the sealer brings every row under the new key, simpul
// status shows it), and after that the old key can go.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/json.hpp"
#include "core/seal.hpp"
#include "support/test_support.hpp"

using namespace simpul;
using test::eventually;
using test::run_simpul;

namespace {

const char* const kCanaries[] = {"CANARY-NAME-7731", "+6281270001234", "2171010101900001"};

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// kota-batam's config with store.encryption_key `key` and previous keys `previous`.
std::string write_config(const test::TempDir& dir, const std::string& key,
                         const std::vector<std::string>& previous = {}) {
  setenv("SIMPUL_TEST_ADMIN", test::kAdminToken, 1);
  std::string text = test::config_json(dir, "kota-batam");
  std::string keys = R"(, "encryption_key": "file:)" + key + "\"";
  if (!previous.empty()) {
    keys += R"(, "previous_encryption_keys": [)";
    for (std::size_t i = 0; i < previous.size(); ++i)
      keys += (i ? ",\"file:" : "\"file:") + previous[i] + "\"";
    keys += "]";
  }
  const std::string store = "\"store\": {\"path\": \"" + dir.file("kota-batam.db") + "\"";
  text.replace(text.find(store) + store.size(), 0, keys);
  std::ofstream(dir.file("kota-batam.json")) << text;
  return dir.file("kota-batam.json");
}

std::string new_key_file(const test::TempDir& dir, const std::string& name) {
  std::ofstream(dir.file(name)) << crypto::seal_key_text(crypto::generate_seal_key());
  ::chmod(dir.file(name).c_str(), 0600);
  return dir.file(name);
}

std::string key_id(const std::string& file) { return crypto::parse_seal_key(bytes_of(file)).id; }

std::string reporter_of(std::uint16_t port, const std::string& id) {
  http::Client c("127.0.0.1", port, 5000);
  return c.request("GET", "/v1/complaints/" + id, "", test::TestNode::auth()).body;
}

}  // namespace

TEST_CASE("at rest: a serving node's database - WAL and backup hold no reporter canary") {
  test::TempDir dir;
  const std::string cfg = write_config(dir, new_key_file(dir, "store-key"));
  test::ServeProcess node(cfg, dir.file("ready"));
  http::Client c("127.0.0.1", node.port(), 5000);
  std::string id;
  for (int i = 0; i < 20; ++i) {
    auto r = c.request("POST", "/v1/complaints",
                       test::sample_complaint("Jalan rusak " + std::to_string(i)),
                       test::TestNode::auth());
    REQUIRE(r.status == 201);
    id = json::get_string(*json::parse(r.body), "id");
  }
  CHECK(reporter_of(node.port(), id).find("CANARY-NAME-7731") != std::string::npos);
  std::string out;
  REQUIRE(run_simpul({"db", "backup", "--config", cfg, dir.file("backup.db")}, &out) == 0);
  const std::string db = dir.file("kota-batam.db");
  for (const std::string& f : {db, db + "-wal", dir.file("backup.db")}) {
    const std::string raw = bytes_of(f);
    for (const char* canary : kCanaries) {
      const std::string where = std::string(canary) + " in the bytes of " + f;
      CHECK_MESSAGE(raw.find(canary) == std::string::npos, where);
    }
  }
  CHECK(node.terminate() == 0);
}

TEST_CASE(
    "at rest: a key rotation by restart reads the old rows - seals them again - the old key can "
    "go") {
  test::TempDir dir;
  const std::string k1 = new_key_file(dir, "key-1");
  std::string cfg = write_config(dir, k1);
  std::string id;
  {
    test::ServeProcess node(cfg, dir.file("ready"));
    http::Client c("127.0.0.1", node.port(), 5000);
    auto r = c.request("POST", "/v1/complaints", test::sample_complaint(), test::TestNode::auth());
    REQUIRE(r.status == 201);
    id = json::get_string(*json::parse(r.body), "id");
    CHECK(node.terminate() == 0);
  }
  const std::string k2 = new_key_file(dir, "key-2");
  cfg = write_config(dir, k2, {k1});
  std::string out;
  {
    test::ServeProcess node(cfg, dir.file("ready"));
    CHECK(reporter_of(node.port(), id).find("CANARY-NAME-7731") != std::string::npos);
    CHECK(eventually(
        [&] {
          run_simpul({"status", "--config", cfg}, &out);
          return out.find("under key " + key_id(k1)) == std::string::npos &&
                 out.find("under key " + key_id(k2) + " (current)") != std::string::npos;
        },
        15));
    CHECK(node.terminate() == 0);
  }
  // The old key gone from the config: everything still reads.
  cfg = write_config(dir, k2);
  {
    test::ServeProcess node(cfg, dir.file("ready"));
    CHECK(reporter_of(node.port(), id).find("CANARY-NAME-7731") != std::string::npos);
    CHECK(node.terminate() == 0);
  }
  // Opened with the first key alone, the store says which key it needs.
  run_simpul({"status", "--config", write_config(dir, k1)}, &out);
  CHECK(out.find(key_id(k2) + " (NOT CONFIGURED)") != std::string::npos);
}

TEST_CASE("at rest: a node without store.encryption_key makes its key beside the store - 0600") {
  test::TempDir dir;
  test::node_config(dir, "kota-batam", "");
  {
    test::ServeProcess node(dir.file("kota-batam.json"), dir.file("ready"));
    CHECK(node.terminate() == 0);
  }
  struct stat st {};
  REQUIRE(::stat(dir.file("kota-batam.store-key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_NOTHROW(crypto::parse_seal_key(bytes_of(dir.file("kota-batam.store-key"))));
}

TEST_CASE("at rest: simpul check names a store key that is missing or not a key") {
  test::TempDir dir;
  std::string out;
  const std::string cfg = write_config(dir, dir.file("no-such-key"));
  CHECK(run_simpul({"check", "--config", cfg}, &out) == 78);
  CHECK(out.find("/store/encryption_key") != std::string::npos);
  std::ofstream(dir.file("short-key")) << "abc123\n";
  CHECK(run_simpul({"check", "--config", write_config(dir, dir.file("short-key"))}, &out) == 78);
  CHECK(out.find("/store/encryption_key: a store key is 64 hex characters") != std::string::npos);
  CHECK(run_simpul({"check", "--config", write_config(dir, new_key_file(dir, "good"))}, &out) == 0);
}
